// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The index: an event meets only the rules that can match it. Rules are placed by the class_uid their
 * condition requires, then by activity where it pins one, then, when a top-level term compares a field
 * with constants (`process.file.path in (...)`, `dst_endpoint.port = 3333`, or every branch of an `or`
 * does so on one field), by those values: a hash
 * table per bucket and field maps a value to its rules, so a thousand such rules cost one lookup.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PIN_MAX 16

/* The classes a condition requires: a top-level `class_uid = N` / `in (...)` term, through and/or. */
struct pins {
	int64_t v[PIN_MAX];
	uint32_t n;
	bool any; /* not pinned: every class */
};

static bool pins_have(const struct pins *p, int64_t x)
{
	for (uint32_t i = 0; i < p->n; i++)
		if (p->v[i] == x)
			return true;
	return false;
}

static void pin_add(struct pins *p, int64_t x)
{
	if (pins_have(p, x))
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

/* ---- values -> rules ---- */

struct ks_kent {
	uint64_t h;
	bool used;
	struct ks_rstr s; /* string fields */
	int64_t i;        /* int fields */
	struct ks_rlist rules;
};

struct ks_kidx {
	uint16_t field;
	bool str;
	uint32_t mask, n;
	struct ks_kent *ent;
};

static uint64_t int_hash(int64_t i)
{
	return ks_rhash(&i, sizeof(i));
}

static struct ks_kent *kidx_find(const struct ks_kidx *k, uint64_t h, const char *s, uint32_t len, int64_t i)
{
	uint32_t j;

	for (j = (uint32_t)h & k->mask; k->ent[j].used; j = (j + 1) & k->mask) {
		struct ks_kent *e = &k->ent[j];

		if (e->h == h && (k->str ? e->s.len == len && !memcmp(e->s.s, s, len) : e->i == i))
			return e;
	}
	return &k->ent[j]; /* the free slot where it would go */
}

static int kidx_grow(struct ks_kidx *k)
{
	uint32_t cap = k->mask ? (k->mask + 1) * 2 : 16, old_mask = k->mask, j;
	struct ks_kent *old = k->ent, *ent = calloc(cap, sizeof(*ent));

	if (!ent)
		return -1;
	k->ent = ent;
	k->mask = cap - 1;
	for (j = 0; old && j <= old_mask; j++)
		if (old[j].used)
			*kidx_find(k, old[j].h, old[j].s.s, old[j].s.len, old[j].i) = old[j];
	free(old);
	return 0;
}

static int kidx_add(struct ks_kidx *k, const char *s, uint32_t len, int64_t i, uint32_t rule)
{
	uint64_t h = k->str ? ks_rhash(s, len) : int_hash(i);
	struct ks_kent *e;

	if (2 * (k->n + 1) > k->mask + 1 && kidx_grow(k))
		return -1;
	e = kidx_find(k, h, s, len, i);
	if (!e->used) {
		*e = (struct ks_kent){.h = h, .used = true, .s = {s, len}, .i = i};
		k->n++;
	}
	return list_add(&e->rules, rule);
}

/* The values a rule's condition requires of one field: `field = const` / `field in (consts)` terms. */
#define DISC_MAX 16
struct disc {
	const struct ks_node *v[DISC_MAX];
	uint32_t n;
};

/*
 * A field the condition cannot match without, on a string or int field other than the class and activity
 * (those place the rule already): a top-level term `field = const` or `field in (consts)`, or an `or`
 * whose every branch has one on the same field (`(name = curl and ...) or (name = wget and ...)`: keyed by
 * both values). Returns false when there is none.
 */
static bool discriminator(const struct ks_node *n, struct disc *d)
{
	struct disc k;
	uint32_t i, j;

	switch (n->kind) {
	case KS_N_AND:
		for (i = 0; i < n->n; i++)
			if (discriminator(n->kids[i], d))
				return true;
		return false;
	case KS_N_OR:
		d->n = 0;
		for (i = 0; i < n->n; i++) {
			if (!discriminator(n->kids[i], &k) || k.n + d->n > DISC_MAX ||
			    (d->n && k.v[0]->field != d->v[0]->field))
				return false;
			for (j = 0; j < k.n; j++)
				d->v[d->n++] = k.v[j];
		}
		return d->n > 0;
	case KS_N_CMP:
		if ((n->op != KS_OP_EQ && n->op != KS_OP_IN) || n->field == KS_RF_CLASS_UID ||
		    n->field == KS_RF_ACTIVITY_ID || n->field == KS_RF_ACTIVITY_NAME ||
		    (ks_rfield_type(n->field) != KS_RT_STR && ks_rfield_type(n->field) != KS_RT_INT))
			return false;
		d->v[0] = n;
		d->n = 1;
		return true;
	default:
		return false;
	}
}

static struct ks_kidx *bucket_kidx(struct ks_rbucket *b, uint16_t field)
{
	struct ks_kidx *nk;
	uint32_t i;

	for (i = 0; i < b->n_kidx; i++)
		if (b->kidx[i].field == field)
			return &b->kidx[i];
	nk = realloc(b->kidx, (b->n_kidx + 1) * sizeof(*nk));
	if (!nk)
		return NULL;
	b->kidx = nk;
	memset(&nk[b->n_kidx], 0, sizeof(*nk));
	nk[b->n_kidx].field = field;
	nk[b->n_kidx].str = ks_rfield_type(field) == KS_RT_STR;
	return &nk[b->n_kidx++];
}

static int bucket_add(struct ks_rbucket *b, uint32_t rule, const struct ks_node *cond)
{
	struct disc d;
	struct ks_kidx *k;
	uint32_t i, j;

	if (!cond || !discriminator(cond, &d))
		return list_add(&b->plain, rule);
	if (!(k = bucket_kidx(b, d.v[0]->field)))
		return -1;
	for (j = 0; j < d.n; j++) {
		const struct ks_node *v = d.v[j];

		if (v->op == KS_OP_EQ && kidx_add(k, v->str.s, v->str.len, v->i, rule))
			return -1;
		for (i = 0; v->op == KS_OP_IN && k->str && i <= v->set->mask; i++)
			if (v->set->slot[i].s && kidx_add(k, v->set->slot[i].s, v->set->slot[i].len, 0, rule))
				return -1;
		for (i = 0; v->op == KS_OP_IN && !k->str && i < v->n; i++)
			if (kidx_add(k, NULL, 0, v->ints[i], rule))
				return -1;
	}
	return 0;
}

/* The rules of the bucket this event can match: the plain list, and per keyed field the value's rules. */
void ks_bucket_eval(struct ks_rules *r, const struct ks_rbucket *b, struct ks_ectx *x, uint64_t now_ns, bool timed,
                    size_t *matches)
{
	uint32_t i, j;

	for (i = 0; i < b->plain.n; i++)
		ks_eval_rule(r, &r->rules[b->plain.v[i]], x, now_ns, timed, matches);
	for (i = 0; i < b->n_kidx; i++) {
		const struct ks_kidx *k = &b->kidx[i];
		const struct ks_rval *val = &x->v->f[k->field];
		const struct ks_kent *e;
		uint64_t h;

		if (!val->set) /* = and in are false on an absent field */
			continue;
		if (k->str) {
			if (!(x->hashed >> k->field & 1)) {
				x->hash[k->field] = ks_rhash(val->s, val->len);
				x->hashed |= 1ull << k->field;
			}
			h = x->hash[k->field];
		} else {
			h = int_hash(val->i);
		}
		e = kidx_find(k, h, val->s, val->len, val->i);
		for (j = 0; e->used && j < e->rules.n; j++)
			ks_eval_rule(r, &r->rules[e->rules.v[j]], x, now_ns, timed, matches);
	}
}

static void ks_bucket_free(struct ks_rbucket *b)
{
	uint32_t i, j;

	free(b->plain.v);
	for (i = 0; i < b->n_kidx; i++) {
		for (j = 0; b->kidx[i].ent && j <= b->kidx[i].mask; j++)
			free(b->kidx[i].ent[j].rules.v);
		free(b->kidx[i].ent);
	}
	free(b->kidx);
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

/* Into a class's buckets: those of the activities pinned, or its any bucket (also for an activity id
 * outside the table). */
static int class_add(struct ks_rclass *c, struct pins act, uint32_t idx, const struct ks_node *cond)
{
	uint32_t j;

	for (j = 0; j < act.n && !act.any; j++)
		act.any = act.v[j] < 0 || act.v[j] >= KS_R_ACT_MAX;
	if (act.any)
		return bucket_add(&c->any, idx, cond);
	for (j = 0; j < act.n; j++)
		if (bucket_add(&c->act[act.v[j]], idx, cond))
			return -1;
	return 0;
}

/* A plain or threshold rule: by class, activity and, where its condition allows, value. */
static int index_node(struct ks_rules *r, uint32_t idx, const struct ks_node *cond)
{
	struct pins cls = pin_int(cond, KS_RF_CLASS_UID);
	uint32_t i;

	if (cls.any) {
		r->rules[idx].info.any_class = true;
		return bucket_add(&r->global, idx, cond);
	}
	for (i = 0; i < cls.n; i++) {
		struct ks_rclass *c = class_get(r, cls.v[i]);

		if (!c || class_add(c, pin_activity(cond, cls.v[i]), idx, cond))
			return -1;
	}
	return 0;
}

/* The activities of one class that a sequence's steps pin (their union), or any. */
static struct pins sequence_activities(const struct ks_crule *cr, const struct pins *cls, int64_t class_uid)
{
	struct pins act = {0};
	uint32_t s, j;

	for (s = 0; s < cr->n_steps && !act.any; s++) {
		struct pins a;

		if (!pins_have(&cls[s], class_uid))
			continue;
		a = pin_activity(cr->steps[s], class_uid);
		act.any = a.any;
		for (j = 0; j < a.n; j++)
			pin_add(&act, a.v[j]);
	}
	return act;
}

/*
 * A sequence is evaluated on the events any of its steps can match (the state decides which step): placed
 * by the classes and activities its steps pin, in each bucket once. An event must meet it once only (twice,
 * it could take two steps), so a step that pins no class puts the whole rule in the global bucket alone,
 * and one that pins no activity puts it in its class's any bucket for every step of that class.
 */
static int index_sequence(struct ks_rules *r, uint32_t idx)
{
	struct ks_crule *cr = &r->rules[idx];
	struct pins cls[KS_RULES_SEQ_MAX], all = {0};
	uint32_t s, i;

	for (s = 0; s < cr->n_steps && !all.any; s++) {
		cls[s] = pin_int(cr->steps[s], KS_RF_CLASS_UID);
		all.any = cls[s].any;
		for (i = 0; i < cls[s].n; i++)
			pin_add(&all, cls[s].v[i]);
	}
	if (all.any) {
		cr->info.any_class = true;
		return bucket_add(&r->global, idx, NULL);
	}
	for (i = 0; i < all.n; i++) {
		struct ks_rclass *c = class_get(r, all.v[i]);

		if (!c || class_add(c, sequence_activities(cr, cls, all.v[i]), idx, NULL))
			return -1;
	}
	return 0;
}

int ks_index_rule(struct ks_rules *r, uint32_t idx)
{
	struct ks_crule *cr = &r->rules[idx];

	if (!cr->info.enabled)
		return 0;
	if (cr->kind != KS_RK_SEQUENCE)
		return index_node(r, idx, cr->cond);
	return index_sequence(r, idx);
}

void ks_index_free(struct ks_rules *r)
{
	size_t i, a;

	for (i = 0; i < r->n_classes; i++) {
		ks_bucket_free(&r->classes[i].any);
		for (a = 0; a < KS_R_ACT_MAX; a++)
			ks_bucket_free(&r->classes[i].act[a]);
	}
	free(r->classes);
	ks_bucket_free(&r->global);
}
