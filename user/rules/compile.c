// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One rule definition (a YAML mapping) compiled: metadata checked, condition, exceptions, sequence,
 * threshold and output template built. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compile.h"

struct rctx {
	struct ks_pctx *c;
	yaml_document_t *d;
	const struct ks_rpos *doc; /* file and source of the rule's document */
	struct ks_crule *cr;
};

static struct ks_rpos pos_of(const struct rctx *x, const yaml_node_t *n)
{
	return ks_rpos_of(x->doc->file, x->doc->src, x->doc->src_len, n);
}

static int fail(const struct rctx *x, const yaml_node_t *n, const char *msg)
{
	struct ks_rpos p = pos_of(x, n);

	ks_rerr(x->c->err, &p, 0, "%s '%s': %s", x->cr->info.policy ? "policy" : "rule",
	        x->cr->info.id ? x->cr->info.id : "?", msg);
	return -1;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static char *dup_scalar(const struct rctx *x, const yaml_node_t *n)
{
	return ks_arena_strndup(&x->c->r->arena, (const char *)n->data.scalar.value, n->data.scalar.length);
}

int ks_parse_duration(const char *s, uint64_t *ns)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t unit;

	if (end == s)
		return -1;
	if (!*end || !strcmp(end, "s"))
		unit = 1000000000ull;
	else if (!strcmp(end, "ms"))
		unit = 1000000ull;
	else if (!strcmp(end, "m"))
		unit = 60000000000ull;
	else if (!strcmp(end, "h"))
		unit = 3600000000000ull;
	else
		return -1;
	if (v > KS_R_WINDOW_MAX_NS / unit) /* also keeps now + window from wrapping */
		return -1;
	*ns = v * unit;
	return *ns ? 0 : -1;
}

static const char *const severities[] = {"unknown", "informational", "low", "medium", "high", "critical", "fatal"};

static int set_severity(struct rctx *x, const yaml_node_t *n)
{
	const char *s = scalar(n);
	int i;

	for (i = 1; s && i <= 6; i++)
		if (!strcasecmp(s, severities[i]) || (i == 1 && !strcasecmp(s, "info"))) {
			x->cr->info.severity_id = i;
			x->cr->info.severity = severities[i];
			return 0;
		}
	return fail(x, n, "severity must be informational, low, medium, high, critical or fatal");
}

static int set_area(struct rctx *x, const yaml_node_t *n)
{
	static const char *const areas[] = {"device", "user", "system", "data"};
	const char *s = scalar(n);
	int i;

	for (i = 0; s && i < 4; i++)
		if (!strcmp(s, areas[i])) {
			x->cr->info.area = (enum ks_rarea)i;
			return 0;
		}
	return fail(x, n, "area must be device, user, system or data");
}

/* T1234 or T1234.567: anything else starting with T and a digit is a typo. */
static bool technique_ok(const char *s)
{
	size_t i;

	for (i = 1; i <= 4; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	if (!s[5])
		return true;
	return s[5] == '.' && isdigit((unsigned char)s[6]) && isdigit((unsigned char)s[7]) &&
	       isdigit((unsigned char)s[8]) && !s[9];
}

static int set_tags(struct rctx *x, yaml_node_t *n)
{
	yaml_node_item_t *it;
	const char **tags;
	uint32_t k = 0;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(x, n, "tags: a list ([T1003.008, credential_access])");
	if (n->data.sequence.items.top - n->data.sequence.items.start > KS_R_TAGS_MAX)
		return fail(x, n, "more than 32 tags");
	tags = ks_arena_alloc(&x->c->r->arena, KS_R_TAGS_MAX * sizeof(*tags));
	if (!tags)
		return -1;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *t = yaml_document_get_node(x->d, *it);
		const char *s = scalar(t);

		if (!s || !*s)
			return fail(x, t, "a tag is a non-empty string");
		if (s[0] == 'T' && isdigit((unsigned char)s[1]) && !technique_ok(s))
			return fail(x, t, "a MITRE ATT&CK technique id is T1234 or T1234.567");
		tags[k++] = dup_scalar(x, t);
	}
	x->cr->info.tags = tags;
	x->cr->info.n_tags = k;
	return 0;
}

static int set_bool(struct rctx *x, const yaml_node_t *n, bool *out)
{
	const char *s = scalar(n);

	if (s && (!strcmp(s, "true") || !strcmp(s, "yes")))
		*out = true;
	else if (s && (!strcmp(s, "false") || !strcmp(s, "no")))
		*out = false;
	else
		return fail(x, n, "enabled must be true or false");
	return 0;
}

static struct ks_node *cond_of(struct rctx *x, const yaml_node_t *n)
{
	struct ks_rpos p = pos_of(x, n);

	if (n->type != YAML_SCALAR_NODE) {
		fail(x, n, "a condition is a string");
		return NULL;
	}
	x->c->nodes = 0;
	return ks_parse_cond(x->c, (const char *)n->data.scalar.value, n->data.scalar.length, &p, 0);
}

/* One step: {condition, output}. */
static int add_step(struct rctx *x, yaml_node_t *s)
{
	uint32_t i = x->cr->n_steps;
	yaml_node_t *c = NULL, *o = NULL;
	yaml_node_pair_t *pr;

	if (i >= KS_RULES_SEQ_MAX)
		return fail(x, s, "a sequence has at most 4 steps");
	if (s->type != YAML_MAPPING_NODE)
		return fail(x, s, "a step is {condition: ..., output: ...}");
	for (pr = s->data.mapping.pairs.start; pr < s->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(x->d, pr->key);

		if (scalar(k) && !strcmp(scalar(k), "condition"))
			c = yaml_document_get_node(x->d, pr->value);
		else if (scalar(k) && !strcmp(scalar(k), "output"))
			o = yaml_document_get_node(x->d, pr->value);
		else
			return fail(x, k, "a step has condition and output only");
	}
	if (!c)
		return fail(x, s, "a step needs a condition");
	if (!(x->cr->steps[i] = cond_of(x, c)))
		return -1;
	if (o) {
		struct ks_rpos p = pos_of(x, o);

		if (!scalar(o))
			return fail(x, o, "output is a string");
		if (ks_tmpl_compile(x->c, scalar(o), o->data.scalar.length, &p, &x->cr->step_out[i]))
			return -1;
	}
	x->cr->n_steps++;
	return 0;
}

static int set_sequence(struct rctx *x, yaml_node_t *n)
{
	yaml_node_pair_t *pr;
	yaml_node_item_t *it;
	yaml_node_t *steps = NULL;

	if (n->type != YAML_MAPPING_NODE)
		return fail(x, n, "sequence: a mapping with within and steps");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(x->d, pr->key), *v = yaml_document_get_node(x->d, pr->value);
		const char *key = scalar(k);

		if (key && !strcmp(key, "within")) {
			if (!scalar(v) || ks_parse_duration(scalar(v), &x->cr->within_ns))
				return fail(x, v, "within: a duration up to 7 days (60s, 500ms, 10m, 1h)");
		} else if (key && !strcmp(key, "steps") && v->type == YAML_SEQUENCE_NODE) {
			steps = v;
		} else {
			return fail(x, k, "sequence has within and steps (a list of {condition, output})");
		}
	}
	if (!steps || !x->cr->within_ns)
		return fail(x, n, "sequence needs within and steps");
	for (it = steps->data.sequence.items.start; it < steps->data.sequence.items.top; it++)
		if (add_step(x, yaml_document_get_node(x->d, *it)))
			return -1;
	if (x->cr->n_steps < 2)
		return fail(x, steps, "a sequence has at least 2 steps");
	x->cr->kind = KS_RK_SEQUENCE;
	return 0;
}

static int set_threshold(struct rctx *x, yaml_node_t *n)
{
	yaml_node_pair_t *pr;

	if (n->type != YAML_MAPPING_NODE)
		return fail(x, n, "threshold: {count: N, within: T, by: process|FIELD}");
	x->cr->thr_by = -1;
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(x->d, pr->key), *v = yaml_document_get_node(x->d, pr->value);
		const char *key = scalar(k), *val = scalar(v);
		char *end;

		if (!key || !val)
			return fail(x, k, "threshold: {count: N, within: T, by: process|FIELD}");
		if (!strcmp(key, "count")) {
			unsigned long long c = strtoull(val, &end, 10);

			if (*end || c < 1 || c > 1000000000ull)
				return fail(x, v, "count: an integer from 1");
			x->cr->thr_count = c;
		} else if (!strcmp(key, "within")) {
			if (ks_parse_duration(val, &x->cr->within_ns))
				return fail(x, v, "within: a duration up to 7 days (10s, 500ms, 10m, 1h)");
		} else if (!strcmp(key, "by")) {
			if (strcmp(val, "process")) {
				x->cr->thr_by = ks_rfield_lookup(val, strlen(val));
				if (x->cr->thr_by < 0 || ks_rfield_type((enum ks_rfield)x->cr->thr_by) == KS_RT_LIST)
					return fail(
					    x, v,
					    "by: 'process' or a field that is not a list (docs/rules.md, Fields)");
				x->c->r->needs[x->cr->thr_by / 64] |= 1ull << (x->cr->thr_by % 64);
			}
		} else {
			return fail(x, k, "threshold has count, within and by");
		}
	}
	if (!x->cr->thr_count || !x->cr->within_ns)
		return fail(x, n, "threshold needs count and within");
	x->cr->kind = KS_RK_THRESHOLD;
	return 0;
}

/* The keys rules and policies share (metadata and output). Returns 1 when key is not one of them. */
static int set_meta(struct rctx *x, const char *key, yaml_node_t *v)
{
	struct ks_rule_info *in = &x->cr->info;
	bool str = v->type == YAML_SCALAR_NODE;

	if (!strcmp(key, "id"))
		return 0;
	if (!strcmp(key, "title") && str)
		return (in->title = dup_scalar(x, v)) ? 0 : -1;
	if (!strcmp(key, "description") && str)
		return (in->description = dup_scalar(x, v)) ? 0 : -1;
	if (!strcmp(key, "remediation") && str)
		return (in->remediation = dup_scalar(x, v)) ? 0 : -1;
	if (!strcmp(key, "severity"))
		return set_severity(x, v);
	if (!strcmp(key, "area"))
		return set_area(x, v);
	if (!strcmp(key, "tags"))
		return set_tags(x, v);
	if (!strcmp(key, "enabled"))
		return set_bool(x, v, &in->enabled);
	if (!strcmp(key, "output") && str) {
		struct ks_rpos p = pos_of(x, v);

		return ks_tmpl_compile(x->c, scalar(v), v->data.scalar.length, &p, &x->cr->out);
	}
	return 1;
}

int ks_compile_meta(struct ks_pctx *c, yaml_document_t *d, const struct ks_rpos *doc, struct ks_crule *cr,
                    const char *key, yaml_node_t *v)
{
	struct rctx x = {.c = c, .d = d, .doc = doc, .cr = cr};

	return set_meta(&x, key, v);
}

void ks_compile_defaults(struct ks_crule *cr, const struct ks_rpos *pos)
{
	cr->info.file = pos->file;
	cr->info.line = pos->line;
	cr->info.enabled = true;
	cr->info.severity_id = 3;
	cr->info.severity = severities[3];
	cr->info.area = KS_RAREA_SYSTEM;
}

/* The rule's keys, each with its handler. */
static int set_key(struct rctx *x, const char *key, yaml_node_t *k, yaml_node_t *v, yaml_node_t **cond)
{
	int rc;

	if (!strcmp(key, "condition")) {
		*cond = v;
		return 0;
	}
	if (!strcmp(key, "sequence"))
		return set_sequence(x, v);
	if (!strcmp(key, "threshold"))
		return set_threshold(x, v);
	if ((rc = set_meta(x, key, v)) <= 0)
		return rc;
	if (!strcmp(key, "exceptions"))
		return 0; /* after the condition: see ks_compile_rule */
	return fail(x, k,
	            "unknown key or wrong type (a rule has id, title, description, condition, sequence, threshold, "
	            "severity, tags, area, output, enabled, exceptions, remediation)");
}

static int check_id(struct rctx *x, const char *id, const yaml_node_t *n)
{
	size_t i, len = strlen(id);

	if (len > KS_R_ID_MAX)
		return fail(x, n, "an id is at most 64 bytes");
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("-_.", id[i]))
			return fail(x, n, "an id holds letters, digits, '-', '_' and '.'");
	return 0;
}

int ks_check_id(struct ks_pctx *c, yaml_document_t *d, const struct ks_rpos *doc, struct ks_crule *cr,
                const yaml_node_t *n)
{
	struct rctx x = {.c = c, .d = d, .doc = doc, .cr = cr};

	return check_id(&x, cr->info.id, n);
}

int ks_compile_rule(struct ks_pctx *c, const struct ks_rdef_rule *def, struct ks_crule *cr)
{
	struct rctx x = {.c = c, .d = def->doc, .doc = &def->pos, .cr = cr};
	yaml_node_t *cond = NULL, *exc = NULL;
	yaml_node_pair_t *pr;

	cr->info.id = ks_arena_strndup(&c->r->arena, def->id, strlen(def->id));
	ks_compile_defaults(cr, &def->pos);
	if (!cr->info.id || check_id(&x, def->id, def->node))
		return -1;
	for (pr = def->node->data.mapping.pairs.start; pr < def->node->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(x.d, pr->key), *v = yaml_document_get_node(x.d, pr->value);

		if (!scalar(k))
			return fail(&x, k, "keys are strings");
		if (!strcmp(scalar(k), "exceptions"))
			exc = v;
		if (set_key(&x, scalar(k), k, v, &cond))
			return -1;
	}
	if (!cr->info.title)
		return fail(&x, def->node, "a rule needs a title");
	if (cr->kind == KS_RK_SEQUENCE && cond)
		return fail(&x, cond, "a sequence rule has steps, not a condition");
	if (cr->kind != KS_RK_SEQUENCE && !cond)
		return fail(&x, def->node, "a rule needs a condition (or a sequence)");
	if (cond && !(cr->cond = cond_of(&x, cond)))
		return -1;
	if (cond && !(cr->info.condition = dup_scalar(&x, cond)))
		return -1;
	if (exc && ks_compile_exceptions(c, x.d, &def->pos, cr, exc))
		return -1;
	if (!cr->out.n && ks_tmpl_compile(c, cr->info.title, strlen(cr->info.title), &def->pos, &cr->out))
		return -1;
	return 0;
}
