// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Building an engine from what the builder read: every rule compiled, disabled ids checked, rules indexed
 * by class and activity. Any error frees the half-built engine: the caller's running one is untouched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

#define PIN_MAX 16

/* The classes a condition requires: a top-level `class_uid = N` / `in (...)` term, through and/or. */
struct pins {
	int64_t v[PIN_MAX];
	uint32_t n;
	bool any; /* not pinned: every class */
};

static void pin_add(struct pins *p, int64_t x)
{
	uint32_t i;

	for (i = 0; i < p->n; i++)
		if (p->v[i] == x)
			return;
	if (p->n < PIN_MAX)
		p->v[p->n++] = x;
	else
		p->any = true;
}

static struct pins pin_int(const struct ks_node *n, int field)
{
	struct pins p = {.any = true}, k;
	uint32_t i;

	switch (n->kind) {
	case KS_N_CMP:
		if (n->field != field || (n->op != KS_OP_EQ && n->op != KS_OP_IN))
			return p;
		p.any = false;
		if (n->op == KS_OP_EQ)
			pin_add(&p, n->i);
		for (i = 0; n->op == KS_OP_IN && i < n->n; i++)
			pin_add(&p, n->ints[i]);
		return p;
	case KS_N_AND: /* any term that pins is enough */
		for (i = 0; i < n->n; i++) {
			k = pin_int(n->kids[i], field);
			if (!k.any)
				return k;
		}
		return p;
	case KS_N_OR: /* every branch must pin */
		p.any = false;
		for (i = 0; i < n->n && !p.any; i++) {
			uint32_t j;

			k = pin_int(n->kids[i], field);
			p.any = k.any;
			for (j = 0; j < k.n; j++)
				pin_add(&p, k.v[j]);
		}
		return p;
	default:
		return p;
	}
}

/* Activities pinned for one class: activity_id terms, or activity_name terms mapped by the class's names. */
static struct pins pin_activity(const struct ks_node *n, int64_t class_uid)
{
	struct pins p = pin_int(n, KS_RF_ACTIVITY_ID), k = {.any = true};
	uint32_t i;

	if (!p.any)
		return p;
	switch (n->kind) {
	case KS_N_CMP:
		if (n->field != KS_RF_ACTIVITY_NAME || (n->op != KS_OP_EQ && n->op != KS_OP_IN))
			return k;
		k.any = false;
		if (n->op == KS_OP_EQ) {
			int a = ks_activity_id(class_uid, n->str.s, n->str.len);

			k.any = a < 0;
			pin_add(&k, a);
		}
		for (i = 0; n->op == KS_OP_IN && i <= n->set->mask && !k.any; i++) {
			int a;

			if (!n->set->slot[i].s)
				continue;
			a = ks_activity_id(class_uid, n->set->slot[i].s, n->set->slot[i].len);
			k.any = a < 0; /* a name this class does not know: do not guess */
			pin_add(&k, a);
		}
		return k;
	case KS_N_AND:
		for (i = 0; i < n->n; i++) {
			p = pin_activity(n->kids[i], class_uid);
			if (!p.any)
				return p;
		}
		return k;
	default:
		return k;
	}
}

static int list_add(struct ks_rlist *l, uint32_t idx)
{
	uint32_t *nv;

	if (l->n && l->v[l->n - 1] == idx)
		return 0;
	nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		return -1;
	l->v = nv;
	l->v[l->n++] = idx;
	return 0;
}

static struct ks_rclass *class_get(struct ks_rules *r, int64_t class_uid)
{
	struct ks_rclass *nc;
	size_t i;

	for (i = 0; i < r->n_classes; i++)
		if (r->classes[i].class_uid == class_uid)
			return &r->classes[i];
	nc = realloc(r->classes, (r->n_classes + 1) * sizeof(*nc));
	if (!nc)
		return NULL;
	r->classes = nc;
	memset(&nc[r->n_classes], 0, sizeof(*nc));
	nc[r->n_classes].class_uid = class_uid;
	return &nc[r->n_classes++];
}

static int index_node(struct ks_rules *r, uint32_t idx, const struct ks_node *cond, bool by_activity)
{
	struct pins cls = pin_int(cond, KS_RF_CLASS_UID);
	uint32_t i, j;

	if (cls.any) {
		r->rules[idx].info.any_class = true;
		return list_add(&r->global, idx);
	}
	for (i = 0; i < cls.n; i++) {
		struct ks_rclass *c = class_get(r, cls.v[i]);
		struct pins act = by_activity ? pin_activity(cond, cls.v[i]) : (struct pins){.any = true};

		if (!c)
			return -1;
		for (j = 0; j < act.n && !act.any; j++)
			if (act.v[j] < 0 || act.v[j] >= KS_R_ACT_MAX)
				act.any = true;
		if (act.any) {
			if (list_add(&c->any, idx))
				return -1;
			continue;
		}
		for (j = 0; j < act.n; j++)
			if (list_add(&c->act[act.v[j]], idx))
				return -1;
	}
	return 0;
}

static int index_rule(struct ks_rules *r, uint32_t idx)
{
	struct ks_crule *cr = &r->rules[idx];
	uint32_t s;

	if (!cr->info.enabled)
		return 0;
	if (cr->kind != KS_RK_SEQUENCE)
		return index_node(r, idx, cr->cond, true);
	for (s = 0; s < cr->n_steps; s++) /* evaluated when any step's class comes */
		if (index_node(r, idx, cr->steps[s], false))
			return -1;
	return 0;
}

static int apply_disable(struct ks_rules_builder *b, struct ks_rules *r, struct ks_rules_err *err)
{
	size_t i, j;

	for (i = 0; i < b->n_disabled; i++) {
		for (j = 0; j < r->n_rules && strcmp(r->rules[j].info.id, b->disabled[i]); j++)
			;
		if (j == r->n_rules) {
			snprintf(err->msg, sizeof(err->msg), "disable: no rule has the id '%.200s' (a typo?)",
			         b->disabled[i]);
			return -1;
		}
		r->rules[j].info.enabled = false;
	}
	return 0;
}

static void set_opts(struct ks_rules *r, const struct ks_rules_opts *o)
{
	if (o)
		r->opts = *o;
	if (!r->opts.state_max)
		r->opts.state_max = 65536;
	if (!r->opts.dedupe_ns)
		r->opts.dedupe_ns = 60000000000ull;
	if (!r->opts.rate_per_s)
		r->opts.rate_per_s = 10;
	if (!r->opts.rate_burst)
		r->opts.rate_burst = 100;
	if (!r->opts.cost_sample || (r->opts.cost_sample & (r->opts.cost_sample - 1)))
		r->opts.cost_sample = 64;
	if (!r->opts.dedupe_max)
		r->opts.dedupe_max = 4096;
	r->sample_mask = r->opts.cost_sample - 1;
}

struct ks_rules *ks_rules_build(struct ks_rules_builder *b, const struct ks_rules_opts *opts, struct ks_rules_err *err)
{
	struct ks_rules *r = calloc(1, sizeof(*r));
	struct ks_pctx c = {.b = b, .r = r, .err = err};
	size_t i;

	memset(err, 0, sizeof(*err));
	if (!r || !(r->rules = calloc(b->n_rules ? b->n_rules : 1, sizeof(*r->rules)))) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		goto fail;
	}
	set_opts(r, opts);
	for (i = 0; i < b->n_rules; i++) {
		r->rules[i].idx = (uint32_t)i;
		if (ks_compile_rule(&c, &b->rules[i], &r->rules[i]))
			goto fail;
		/* the builder's names go with it */
		r->rules[i].info.file = ks_arena_strndup(&r->arena, b->rules[i].pos.file, strlen(b->rules[i].pos.file));
		r->rules[i].tokens = r->opts.rate_burst;
		r->n_rules++;
	}
	if (apply_disable(b, r, err))
		goto fail;
	for (i = 0; i < r->n_rules; i++)
		if (index_rule(r, (uint32_t)i)) {
			snprintf(err->msg, sizeof(err->msg), "out of memory");
			goto fail;
		}
	if (ks_state_init(r)) {
		snprintf(err->msg, sizeof(err->msg), "out of memory for %u state entries (rules.state_max)",
		         r->opts.state_max);
		goto fail;
	}
	return r;
fail:
	if (!err->msg[0])
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	ks_rules_free(r);
	return NULL;
}

void ks_rules_free(struct ks_rules *r)
{
	size_t i, a;

	if (!r)
		return;
	ks_state_free(r);
	ks_regex_free_all(r->regexes);
	for (i = 0; i < r->n_classes; i++) {
		free(r->classes[i].any.v);
		for (a = 0; a < KS_R_ACT_MAX; a++)
			free(r->classes[i].act[a].v);
	}
	free(r->classes);
	free(r->global.v);
	free(r->rules);
	ks_arena_free(&r->arena);
	free(r);
}
