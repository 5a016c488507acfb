// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Per-event evaluation: the index picks the rules an event can meet, each is evaluated (1 in N timed for
 * its cost), and a match goes through dedupe and the per-rule rate limit to the sink. No allocation.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

struct ks_rdedupe {
	uint32_t rule_plus1; /* 0: free */
	uint32_t pid;
	uint64_t start_ns;
	uint64_t last_ns;
	uint64_t count;
};

#define DEDUPE_PROBES 8

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Log-scale histogram: 4 buckets per power of two, so p99 is within 25%. */
static unsigned cost_bucket(uint64_t ns)
{
	unsigned b, idx;

	if (ns < 4)
		return (unsigned)ns;
	b = 63u - (unsigned)__builtin_clzll(ns);
	idx = 4 * (b - 1) + (unsigned)((ns >> (b - 2)) & 3);
	return idx < KS_COST_BUCKETS ? idx : KS_COST_BUCKETS - 1;
}

static uint64_t bucket_upper(unsigned idx)
{
	unsigned b = idx / 4 + 1, sub = idx % 4;

	if (idx < 4)
		return idx + 1;
	return (uint64_t)(5 + sub) << (b - 2);
}

#define COST_OUTLIER_NS 1000000

static void cost_record(struct ks_crule *cr, uint64_t ns)
{
	if (ns > COST_OUTLIER_NS) { /* a time slice lost to another thread, not the rule's cost */
		cr->info.cost_outliers++;
		return;
	}
	cr->cost_hist[cost_bucket(ns)]++;
	cr->info.cost_samples++;
	cr->info.cost_sum_ns += ns;
}

int ks_dedupe_init(struct ks_rules *r)
{
	uint32_t cap = 64;

	while (cap < r->opts.dedupe_max)
		cap <<= 1;
	r->dd = calloc(cap, sizeof(*r->dd));
	r->dd_mask = cap - 1;
	r->state_bytes += cap * sizeof(*r->dd);
	return r->dd ? 0 : -1;
}

static bool quiet(const struct ks_rules *r, const struct ks_rdedupe *e, uint64_t now)
{
	return !e->rule_plus1 || now - e->last_ns > r->opts.dedupe_ns;
}

/* The finding this match belongs to: NULL when it is new (a free, quiet or else the least recently used of
 * the probed slots is taken for it). */
static struct ks_rdedupe *dedupe(struct ks_rules *r, uint32_t rule, const struct ks_rproc_id *p, uint64_t now)
{
	uint64_t h =
	    (ks_rhash(&p->start_ns, sizeof(p->start_ns)) ^ ((uint64_t)rule << 32 | p->pid)) * 0x9e3779b97f4a7c15ull;
	struct ks_rdedupe *free_slot = NULL, *lru = NULL, *e;
	uint32_t i;

	for (i = 0; i < DEDUPE_PROBES; i++) {
		e = &r->dd[((uint32_t)(h >> 32) + i) & r->dd_mask];
		if (quiet(r, e, now)) {
			if (!free_slot)
				free_slot = e;
			continue;
		}
		if (e->rule_plus1 == rule + 1 && e->pid == p->pid && e->start_ns == p->start_ns) {
			e->last_ns = now;
			e->count++;
			return e;
		}
		if (!lru || e->last_ns < lru->last_ns)
			lru = e;
	}
	e = free_slot ? free_slot : lru;
	*e = (struct ks_rdedupe){rule + 1, p->pid, p->start_ns, now, 1};
	return NULL;
}

static bool rate_ok(struct ks_rules *r, struct ks_crule *cr, uint64_t now)
{
	if (now > cr->refill_ns) {
		cr->tokens += (double)(now - cr->refill_ns) * r->opts.rate_per_s / 1e9;
		if (cr->tokens > r->opts.rate_burst)
			cr->tokens = r->opts.rate_burst;
	}
	cr->refill_ns = now;
	if (cr->tokens < 1.0)
		return false;
	cr->tokens -= 1.0;
	return true;
}

void ks_emit(struct ks_rules *r, struct ks_crule *cr, const struct ks_rview *v, uint64_t now_ns,
             const struct ks_rules_step *steps, uint32_t n_steps, uint64_t thr_count, size_t *matches)
{
	struct ks_rules_match m = {.rule = &cr->info,
	                           .steps = steps,
	                           .n_steps = n_steps,
	                           .threshold_count = thr_count,
	                           .proc = v->proc,
	                           .count = 1};
	struct ks_rdedupe *d = NULL;

	cr->info.matches++;
	if (r->opts.dedupe_ns != UINT64_MAX)
		d = dedupe(r, cr->idx, &v->proc, now_ns);
	if (d) {
		cr->info.deduped++;
		/* the finding grows; the sink hears of it at 2, 4, 8...: a storm makes log2(N) updates */
		if (d->count & (d->count - 1))
			return;
		m.count = d->count;
		m.update = true;
	} else if (!rate_ok(r, cr, now_ns)) {
		cr->info.rate_dropped++;
		return;
	}
	m.output = r->out_buf;
	m.output_len = ks_tmpl_render(&cr->out, v, r->out_buf, sizeof(r->out_buf));
	(*matches)++;
	if (r->sink)
		r->sink(r->sink_ctx, &m);
}

void ks_eval_rule(struct ks_rules *r, struct ks_crule *cr, struct ks_ectx *x, uint64_t now_ns, bool timed,
                  size_t *matches)
{
	uint64_t t0 = timed ? mono_ns() : 0;

	cr->info.evaluations++;
	x->rx_err = &cr->info.regex_errors;
	switch (cr->kind) {
	case KS_RK_PLAIN:
		if (ks_node_eval(cr->cond, x))
			ks_emit(r, cr, x->v, now_ns, NULL, 0, 0, matches);
		break;
	case KS_RK_THRESHOLD:
		ks_eval_threshold(r, cr, x, now_ns, matches);
		break;
	case KS_RK_SEQUENCE:
		ks_eval_sequence(r, cr, x, now_ns, matches);
		break;
	}
	if (timed)
		cost_record(cr, mono_ns() - t0);
}

/* The rules placed under a class, or NULL when none pins it. */
static const struct ks_rclass *class_of(const struct ks_rules *r, int64_t class_uid)
{
	size_t i;

	for (i = 0; i < r->n_classes; i++)
		if (r->classes[i].class_uid == class_uid)
			return &r->classes[i];
	return NULL;
}

size_t ks_rules_eval(struct ks_rules *r, const struct ks_rview *v, uint64_t now_ns)
{
	bool timed = ((++r->ev_seq) & r->sample_mask) == 0;
	const struct ks_rval *cls = &v->f[KS_RF_CLASS_UID], *act = &v->f[KS_RF_ACTIVITY_ID];
	struct ks_ectx x = {.v = v}; /* hash[] is written before it is read (the hashed bits) */
	const struct ks_rclass *c;
	size_t matches = 0;

	ks_bucket_eval(r, &r->global, &x, now_ns, timed, &matches);
	c = cls->set ? class_of(r, cls->i) : NULL;
	if (!c)
		return matches;
	ks_bucket_eval(r, &c->any, &x, now_ns, timed, &matches);
	if (act->set && act->i >= 0 && act->i < KS_R_ACT_MAX)
		ks_bucket_eval(r, &c->act[act->i], &x, now_ns, timed, &matches);
	return matches;
}

static bool bucket_empty(const struct ks_rbucket *b)
{
	return b->plain.n == 0 && b->n_kidx == 0;
}

bool ks_rules_may_match(const struct ks_rules *r, int64_t class_uid, int64_t activity_id)
{
	const struct ks_rclass *c = class_of(r, class_uid);

	if (!bucket_empty(&r->global))
		return true;
	return c && (!bucket_empty(&c->any) ||
	             (activity_id >= 0 && activity_id < KS_R_ACT_MAX && !bucket_empty(&c->act[activity_id])));
}

void ks_rules_set_sink(struct ks_rules *r, ks_rules_match_fn fn, void *ctx)
{
	r->sink = fn;
	r->sink_ctx = ctx;
}

void ks_rules_proc_exit(struct ks_rules *r, uint32_t pid, uint64_t start_ns)
{
	ks_state_proc_exit(r, pid, start_ns);
}

bool ks_rules_needs(const struct ks_rules *r, enum ks_rfield f)
{
	return (unsigned)f < KS_RF_MAX && (r->needs[f / 64] >> (f % 64) & 1);
}

size_t ks_rules_count(const struct ks_rules *r)
{
	return r->n_rules;
}

const struct ks_rule_info *ks_rules_info(struct ks_rules *r, size_t i)
{
	struct ks_crule *cr;
	uint64_t seen = 0, want;
	unsigned b;

	if (i >= r->n_rules)
		return NULL;
	cr = &r->rules[i];
	want = cr->info.cost_samples - cr->info.cost_samples / 100; /* the 99th percentile's rank */
	cr->info.cost_p99_ns = 0;
	for (b = 0; b < KS_COST_BUCKETS && cr->info.cost_samples; b++) {
		seen += cr->cost_hist[b];
		if (seen >= want) {
			cr->info.cost_p99_ns = bucket_upper(b);
			break;
		}
	}
	return &cr->info;
}

size_t ks_rules_state_bytes(const struct ks_rules *r)
{
	return r->state_bytes;
}

size_t ks_rules_state_used(const struct ks_rules *r)
{
	return ks_state_used(r);
}
