// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * State of stateful rules, in tables sized at load (no allocation per event): sequences keyed by (rule,
 * the process that did step 1) and thresholds keyed by (rule, key). Bounded probing: when every probed
 * slot is live, the new state is not tracked and the rule's state_full counts it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PROBES 8

struct ks_rstate {
	uint32_t rule_plus1; /* 0: free */
	uint32_t pid;
	uint64_t start_ns;           /* sequences: the process; thresholds: the key */
	uint64_t until_ns;           /* window end: a state past it is free */
	uint64_t count;              /* thresholds: events; sequences: the next step */
	struct ks_rules_step *steps; /* sequences: KS_RULES_SEQ_MAX records */
};

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t c = 64;

	while (c < n && c < (1u << 30))
		c <<= 1;
	return c;
}

int ks_dedupe_init(struct ks_rules *r);

static int table_new(struct ks_rules *r, struct ks_rstate **t, uint32_t *mask, uint32_t n, bool steps)
{
	uint32_t cap = pow2_at_least(n), i;

	*t = calloc(cap, sizeof(**t));
	if (!*t)
		return -1;
	*mask = cap - 1;
	r->state_bytes += cap * sizeof(**t);
	if (!steps)
		return 0;
	(*t)[0].steps = calloc((size_t)cap * KS_RULES_SEQ_MAX, sizeof(struct ks_rules_step));
	if (!(*t)[0].steps)
		return -1;
	for (i = 1; i < cap; i++)
		(*t)[i].steps = (*t)[0].steps + (size_t)i * KS_RULES_SEQ_MAX;
	r->state_bytes += (size_t)cap * KS_RULES_SEQ_MAX * sizeof(struct ks_rules_step);
	return 0;
}

int ks_state_init(struct ks_rules *r)
{
	bool seq = false, thr = false;
	size_t i;

	r->stateful = calloc(r->n_rules ? r->n_rules : 1, sizeof(*r->stateful));
	if (!r->stateful)
		return -1;
	for (i = 0; i < r->n_rules; i++) {
		struct ks_crule *cr = &r->rules[i];

		seq |= cr->kind == KS_RK_SEQUENCE;
		thr |= cr->kind == KS_RK_THRESHOLD;
		/* state that belongs to one process: freed when it exits */
		if (cr->kind == KS_RK_SEQUENCE || (cr->kind == KS_RK_THRESHOLD && cr->thr_by < 0))
			r->stateful[r->n_stateful++] = (uint32_t)i;
	}
	/* sequences carry their steps' records: fewer of them */
	if (seq && table_new(r, &r->seq, &r->seq_mask, r->opts.state_max / 16, true))
		return -1;
	if (thr && table_new(r, &r->thr, &r->thr_mask, r->opts.state_max, false))
		return -1;
	return ks_dedupe_init(r);
}

void ks_state_free(struct ks_rules *r)
{
	if (r->seq)
		free(r->seq[0].steps);
	free(r->seq);
	free(r->thr);
	free(r->dd);
	free(r->stateful);
}

static uint32_t slot_hash(uint32_t rule, uint32_t pid, uint64_t key)
{
	uint64_t h = (key ^ ((uint64_t)rule << 32 | pid)) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

/* The live state of (rule, pid, key) in the sequence or threshold table, or with create a free slot for
 * it (NULL when none is free). */
static struct ks_rstate *lookup(struct ks_rules *r, bool seq, uint32_t rule, uint32_t pid, uint64_t key, uint64_t now,
                                bool create)
{
	struct ks_rstate *t = seq ? r->seq : r->thr, *free_slot = NULL, *e;
	uint32_t mask = seq ? r->seq_mask : r->thr_mask, h = slot_hash(rule, pid, key), i;

	for (i = 0; i < PROBES; i++) {
		e = &t[(h + i) & mask];
		if (e->rule_plus1 && now > e->until_ns) { /* expired: free it as we pass */
			if (seq && r->rules[e->rule_plus1 - 1].active)
				r->rules[e->rule_plus1 - 1].active--;
			e->rule_plus1 = 0;
		}
		if (!e->rule_plus1) {
			if (!free_slot)
				free_slot = e;
			continue;
		}
		if (e->rule_plus1 == rule + 1 && e->pid == pid && e->start_ns == key)
			return e;
	}
	if (!create || !free_slot)
		return NULL;
	free_slot->rule_plus1 = rule + 1;
	free_slot->pid = pid;
	free_slot->start_ns = key;
	free_slot->count = 0;
	return free_slot;
}

/* A threshold's key: the process, or the value of the `by` field (absent: not counted). */
static bool thr_key(const struct ks_crule *cr, const struct ks_rview *v, uint32_t *pid, uint64_t *key)
{
	const struct ks_rval *x;

	if (cr->thr_by < 0) {
		*pid = v->proc.pid;
		*key = v->proc.start_ns;
		return true;
	}
	x = &v->f[cr->thr_by];
	if (!x->set)
		return false;
	*pid = 0;
	switch (ks_rfield_type((enum ks_rfield)cr->thr_by)) {
	case KS_RT_STR:
		*key = ks_rhash(x->s, x->len);
		break;
	case KS_RT_IP:
		*key = ks_rhash(x->ip.addr, sizeof(x->ip.addr)) ^ x->ip.family;
		break;
	default:
		*key = (uint64_t)x->i;
	}
	return true;
}

void ks_eval_threshold(struct ks_rules *r, struct ks_crule *cr, struct ks_ectx *x, uint64_t now_ns, size_t *matches)
{
	const struct ks_rview *v = x->v;
	struct ks_rstate *e;
	uint64_t key, count;
	uint32_t pid;

	if (!ks_node_eval(cr->cond, x) || !thr_key(cr, v, &pid, &key))
		return;
	e = lookup(r, false, cr->idx, pid, key, now_ns, true);
	if (!e) {
		cr->info.state_full++;
		return;
	}
	if (!e->count)
		e->until_ns = now_ns + cr->within_ns; /* the window opens at the first event */
	count = ++e->count;
	if (count < cr->thr_count)
		return;
	e->rule_plus1 = 0; /* fired: the next window starts afresh */
	ks_emit(r, cr, v, now_ns, NULL, 0, count, matches);
}

static void record_step(const struct ks_crule *cr, uint32_t k, const struct ks_rview *v, uint64_t now_ns,
                        struct ks_rules_step *s)
{
	const struct ks_rval *obj = &v->f[KS_RF_FILE_PATH];
	char where[300] = "";

	s->time_ns = v->time_ns ? v->time_ns : now_ns;
	s->class_uid = (int)v->f[KS_RF_CLASS_UID].i;
	s->activity_id = (int)v->f[KS_RF_ACTIVITY_ID].i;
	s->pid = v->proc.pid;
	s->event_seq = v->event_seq;
	if (cr->step_out[k].n) {
		ks_tmpl_render(&cr->step_out[k], v, s->text, sizeof(s->text));
		return;
	}
	/* a summary: what, by which executable, on which object */
	if (!obj->set)
		obj = v->f[KS_RF_DST_IP].set ? &v->f[KS_RF_DST_IP] : &v->f[KS_RF_QUERY_HOSTNAME];
	if (obj->set)
		ks_rval_format(obj == &v->f[KS_RF_FILE_PATH] ? KS_RF_FILE_PATH
		               : obj == &v->f[KS_RF_DST_IP]  ? KS_RF_DST_IP
		                                             : KS_RF_QUERY_HOSTNAME,
		               obj, where, sizeof(where));
	snprintf(s->text, sizeof(s->text), "%s by %s (pid %u)%s%s",
	         v->f[KS_RF_ACTIVITY_NAME].set ? v->f[KS_RF_ACTIVITY_NAME].s : "event",
	         v->f[KS_RF_PROC_EXE].set ? v->f[KS_RF_PROC_EXE].s : "?", v->proc.pid, where[0] ? ": " : "", where);
}

/* Advance a started sequence of this process or an ancestor; true when the event was used. */
static bool advance(struct ks_rules *r, struct ks_crule *cr, struct ks_ectx *x, uint64_t now_ns, size_t *matches)
{
	const struct ks_rview *v = x->v;
	signed char hit[KS_RULES_SEQ_MAX] = {-1, -1, -1, -1}; /* each step's verdict on this event, once */
	uint32_t i;

	for (i = 0; i <= v->n_ancestors; i++) {
		const struct ks_rproc_id *p = i ? &v->ancestors[i - 1] : &v->proc;
		struct ks_rstate *e = lookup(r, true, cr->idx, p->pid, p->start_ns, now_ns, false);
		uint32_t k;

		if (!e)
			continue;
		k = (uint32_t)e->count;
		if (hit[k] < 0)
			hit[k] = ks_node_eval(cr->steps[k], x);
		if (!hit[k])
			continue;
		record_step(cr, k, v, now_ns, &e->steps[k]);
		if (++e->count < cr->n_steps)
			return true;
		e->rule_plus1 = 0;
		cr->active--;
		ks_emit(r, cr, v, now_ns, e->steps, cr->n_steps, 0, matches);
		return true;
	}
	return false;
}

void ks_eval_sequence(struct ks_rules *r, struct ks_crule *cr, struct ks_ectx *x, uint64_t now_ns, size_t *matches)
{
	const struct ks_rview *v = x->v;
	struct ks_rstate *e;

	if (cr->active && advance(r, cr, x, now_ns, matches))
		return;
	if (!ks_node_eval(cr->steps[0], x))
		return;
	e = lookup(r, true, cr->idx, v->proc.pid, v->proc.start_ns, now_ns, true);
	if (!e) {
		cr->info.state_full++;
		return;
	}
	if (e->count)
		return; /* already under way: its window runs from its first step */
	e->count = 1;
	e->until_ns = now_ns + cr->within_ns;
	record_step(cr, 0, v, now_ns, &e->steps[0]);
	cr->active++;
}

void ks_state_proc_exit(struct ks_rules *r, uint32_t pid, uint64_t start_ns)
{
	size_t i;

	for (i = 0; i < r->n_stateful; i++) {
		struct ks_crule *cr = &r->rules[r->stateful[i]];
		bool seq = cr->kind == KS_RK_SEQUENCE;
		struct ks_rstate *e = lookup(r, seq, cr->idx, pid, start_ns, 0, false);

		if (!e)
			continue;
		e->rule_plus1 = 0;
		if (seq && cr->active)
			cr->active--;
	}
}

size_t ks_state_used(const struct ks_rules *r)
{
	size_t n = 0, i;

	for (i = 0; r->seq && i <= r->seq_mask; i++)
		n += r->seq[i].rule_plus1 != 0;
	for (i = 0; r->thr && i <= r->thr_mask; i++)
		n += r->thr[i].rule_plus1 != 0;
	return n;
}
