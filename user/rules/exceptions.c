// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Falco-style exceptions: named field tuples with value lists. Each becomes an `or` of tuples, each tuple
 * an `and` of typed comparisons; the rule's condition becomes `cond and not (exceptions)`.
 */
#include <stdio.h>
#include <string.h>

#include "compile.h"

#define EXC_FIELDS_MAX 8

struct exc {
	struct ks_pctx *c;
	yaml_document_t *d;
	const struct ks_rpos *doc; /* file and source of the rule's document */
	const char *rule;
	int fields[EXC_FIELDS_MAX];
	enum ks_rop comps[EXC_FIELDS_MAX];
	uint32_t n;
};

static struct ks_rpos pos_of(const struct exc *e, const yaml_node_t *n)
{
	return ks_rpos_of(e->doc->file, e->doc->src, e->doc->src_len, n);
}

static int fail(const struct exc *e, const yaml_node_t *n, const char *msg)
{
	struct ks_rpos p = pos_of(e, n);

	ks_rerr(e->c->err, &p, 0, "rule '%s': exception: %s", e->rule, msg);
	return -1;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *get(const struct exc *e, yaml_node_t *m, const char *key)
{
	yaml_node_pair_t *pr;

	for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++)
		if (scalar(yaml_document_get_node(e->d, pr->key)) &&
		    !strcmp(scalar(yaml_document_get_node(e->d, pr->key)), key))
			return yaml_document_get_node(e->d, pr->value);
	return NULL;
}

static int add_field(struct exc *e, yaml_node_t *f)
{
	const char *s = scalar(f);

	if (!s || (e->fields[e->n] = ks_rfield_lookup(s, strlen(s))) < 0)
		return fail(e, f, "unknown field (docs/rules.md, Fields)");
	e->comps[e->n++] = KS_OP_EQ;
	return 0;
}

/* fields: F or [F, ...]; comps: OP or [OP, ...] (default '='). */
static int read_fields(struct exc *e, yaml_node_t *fields, yaml_node_t *comps)
{
	yaml_node_item_t *it;
	uint32_t i = 0;
	int op;

	if (fields->type == YAML_SCALAR_NODE) {
		if (add_field(e, fields))
			return -1;
	} else if (fields->type == YAML_SEQUENCE_NODE) {
		for (it = fields->data.sequence.items.start; it < fields->data.sequence.items.top; it++) {
			if (e->n >= EXC_FIELDS_MAX)
				return fail(e, fields, "at most 8 fields");
			if (add_field(e, yaml_document_get_node(e->d, *it)))
				return -1;
		}
	}
	if (!e->n)
		return fail(e, fields, "fields: a field or a list of fields");
	if (!comps)
		return 0;
	if (comps->type == YAML_SCALAR_NODE) {
		op = ks_rop_lookup(scalar(comps), comps->data.scalar.length);
		if (op < 0 || op == KS_OP_EXISTS)
			return fail(e, comps, "comps: an operator such as =, in, startswith");
		for (i = 0; i < e->n; i++)
			e->comps[i] = (enum ks_rop)op;
		return 0;
	}
	if (comps->type != YAML_SEQUENCE_NODE ||
	    comps->data.sequence.items.top - comps->data.sequence.items.start != e->n)
		return fail(e, comps, "comps: one operator per field");
	for (it = comps->data.sequence.items.start; it < comps->data.sequence.items.top; it++, i++) {
		yaml_node_t *o = yaml_document_get_node(e->d, *it);

		op = scalar(o) ? ks_rop_lookup(scalar(o), o->data.scalar.length) : -1;
		if (op < 0 || op == KS_OP_EXISTS)
			return fail(e, o, "comps: an operator such as =, in, startswith");
		e->comps[i] = (enum ks_rop)op;
	}
	return 0;
}

/* One field's comparison; a value that is a YAML list gives several values (for in, startswith...). */
static struct ks_node *one_cmp(struct exc *e, uint32_t i, yaml_node_t *v)
{
	struct ks_rstr vals[64];
	struct ks_rpos p = pos_of(e, v);
	yaml_node_item_t *it;
	uint32_t n = 0;

	if (v->type == YAML_SCALAR_NODE) {
		vals[n].s = scalar(v);
		vals[n++].len = (uint32_t)v->data.scalar.length;
	} else if (v->type == YAML_SEQUENCE_NODE) {
		for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *x = yaml_document_get_node(e->d, *it);

			if (!scalar(x) || n >= 64) {
				fail(e, v, "a value list holds at most 64 scalars");
				return NULL;
			}
			vals[n].s = scalar(x);
			vals[n++].len = (uint32_t)x->data.scalar.length;
		}
	}
	if (!n) {
		fail(e, v, "a value is a scalar or a list of scalars");
		return NULL;
	}
	if (n > 1 && e->comps[i] <= KS_OP_GE) {
		fail(e, v, "a list of values needs comps 'in' (or startswith, contains...)");
		return NULL;
	}
	return ks_make_cmp(e->c, e->fields[i], e->comps[i], vals, n, &p, 0);
}

/* A tuple: [v1, v2, ...] for several fields; a bare value for one field. */
static struct ks_node *tuple(struct exc *e, yaml_node_t *t)
{
	struct ks_node *n;
	yaml_node_item_t *it;
	uint32_t i = 0;

	if (e->n == 1)
		return one_cmp(e, 0, t);
	if (t->type != YAML_SEQUENCE_NODE || t->data.sequence.items.top - t->data.sequence.items.start != e->n) {
		fail(e, t, "each value is a tuple with one value per field");
		return NULL;
	}
	n = ks_node_new(e->c, KS_N_AND, e->n);
	if (!n)
		return NULL;
	for (it = t->data.sequence.items.start; it < t->data.sequence.items.top; it++, i++)
		if (!(n->kids[i] = one_cmp(e, i, yaml_document_get_node(e->d, *it))))
			return NULL;
	return n;
}

static struct ks_node *one_exception(struct exc *e, yaml_node_t *x)
{
	yaml_node_t *fields, *values;
	yaml_node_item_t *it;
	struct ks_node *n;
	uint32_t i = 0;

	e->n = 0;
	if (x->type != YAML_MAPPING_NODE || !(fields = get(e, x, "fields")) || !scalar(get(e, x, "name"))) {
		fail(e, x, "an exception is {name, fields, comps, values}");
		return NULL;
	}
	if (read_fields(e, fields, get(e, x, "comps")))
		return NULL;
	values = get(e, x, "values");
	if (!values || values->type != YAML_SEQUENCE_NODE) {
		fail(e, x, "values: a list of tuples");
		return NULL;
	}
	n = ks_node_new(e->c, KS_N_OR, (uint32_t)(values->data.sequence.items.top - values->data.sequence.items.start));
	if (!n)
		return NULL;
	for (it = values->data.sequence.items.start; it < values->data.sequence.items.top; it++, i++)
		if (!(n->kids[i] = tuple(e, yaml_document_get_node(e->d, *it))))
			return NULL;
	return n;
}

int ks_compile_exceptions(struct ks_pctx *c, yaml_document_t *d, const struct ks_rpos *doc, struct ks_crule *cr,
                          yaml_node_t *exc)
{
	struct exc e = {.c = c, .d = d, .doc = doc, .rule = cr->info.id};
	struct ks_node *any, *not, *both;
	yaml_node_item_t *it;
	uint32_t i = 0;

	if (exc->type != YAML_SEQUENCE_NODE)
		return fail(&e, exc, "exceptions: a list of {name, fields, comps, values}");
	if (!cr->cond)
		return fail(&e, exc, "exceptions apply to rules with a condition");
	any = ks_node_new(c, KS_N_OR, (uint32_t)(exc->data.sequence.items.top - exc->data.sequence.items.start));
	not = ks_node_new(c, KS_N_NOT, 1);
	both = ks_node_new(c, KS_N_AND, 2);
	if (!any || !not || !both)
		return -1;
	for (it = exc->data.sequence.items.start; it < exc->data.sequence.items.top; it++, i++)
		if (!(any->kids[i] = one_exception(&e, yaml_document_get_node(d, *it))))
			return -1;
	not ->kids[0] = any;
	both->kids[0] = cr->cond;
	both->kids[1] = not ;
	cr->cond = both;
	return 0;
}
