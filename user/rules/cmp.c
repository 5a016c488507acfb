// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Typed comparisons: the values of FIELD OP VALUE(S) converted once to what evaluation compares. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Values point into YAML documents that are freed after the build: the engine keeps its own copies. */
static int copy_strs(struct ks_pctx *c, const struct ks_rstr *vals, uint32_t n, struct ks_rstr **out)
{
	struct ks_rstr *v = ks_arena_alloc(&c->r->arena, (n ? n : 1) * sizeof(*v));
	uint32_t i;

	if (!v)
		return -1;
	for (i = 0; i < n; i++) {
		v[i].s = ks_arena_strndup(&c->r->arena, vals[i].s, vals[i].len);
		v[i].len = vals[i].len;
		if (!v[i].s)
			return -1;
	}
	*out = v;
	return 0;
}

static int parse_int(const struct ks_rstr *v, int64_t *out)
{
	char buf[32], *end;
	long long x;

	if (!v->len || v->len >= sizeof(buf))
		return -1;
	memcpy(buf, v->s, v->len);
	buf[v->len] = '\0';
	errno = 0;
	x = strtoll(buf, &end, 10);
	if (errno || *end)
		return -1;
	*out = x;
	return 0;
}

static int cmp_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int make_int(struct ks_pctx *c, struct ks_node *n, const struct ks_rstr *vals, uint32_t nv,
                    const struct ks_rpos *pos, size_t off)
{
	uint32_t i, o = 0;

	if (n->op != KS_OP_IN) {
		if (parse_int(&vals[0], &n->i))
			goto bad;
		return 0;
	}
	n->ints = ks_arena_alloc(&c->r->arena, (nv ? nv : 1) * sizeof(*n->ints));
	if (!n->ints)
		return -1;
	for (i = 0; i < nv; i++)
		if (parse_int(&vals[i], &n->ints[i]))
			goto bad_i;
	qsort(n->ints, nv, sizeof(*n->ints), cmp_int64);
	for (i = 0; i < nv; i++)
		if (!o || n->ints[o - 1] != n->ints[i])
			n->ints[o++] = n->ints[i];
	n->n = o;
	return 0;
bad_i:
	vals += i;
bad:
	ks_rerr(c->err, pos, off, "'%.*s' is not an integer, and '%s' is an int field",
	        (int)(vals->len > 60 ? 60 : vals->len), vals->s, ks_rfield_name(n->field));
	return -1;
}

static int make_ip(struct ks_pctx *c, struct ks_node *n, const struct ks_rstr *vals, uint32_t nv,
                   const struct ks_rpos *pos, size_t off)
{
	char buf[64];
	uint32_t i;

	n->cidrs = ks_arena_alloc(&c->r->arena, (nv ? nv : 1) * sizeof(*n->cidrs));
	if (!n->cidrs)
		return -1;
	for (i = 0; i < nv; i++) {
		bool ok = vals[i].len < sizeof(buf);

		if (ok) {
			memcpy(buf, vals[i].s, vals[i].len);
			buf[vals[i].len] = '\0';
			/* = and in compare addresses; in_cidr takes networks */
			ok = (n->op == KS_OP_IN_CIDR || !strchr(buf, '/')) && ks_cidr_parse(buf, &n->cidrs[i]);
		}
		if (!ok) {
			ks_rerr(c->err, pos, off, "'%.*s' is not an %s", (int)(vals[i].len > 60 ? 60 : vals[i].len),
			        vals[i].s,
			        n->op == KS_OP_IN_CIDR ? "address or network (10.0.0.0/8, fd00::/8)" : "IP address");
			return -1;
		}
	}
	n->n = nv;
	return 0;
}

static int make_str(struct ks_pctx *c, struct ks_node *n, const struct ks_rstr *vals, uint32_t nv,
                    const struct ks_rpos *pos, size_t off)
{
	struct ks_rstr *v;
	char msg[256];

	if (copy_strs(c, vals, nv, &v))
		return -1;
	switch (n->op) {
	case KS_OP_EQ:
	case KS_OP_NE:
		n->str = v[0];
		return 0;
	case KS_OP_IN:
		n->set = ks_strset_new(&c->r->arena, v, nv);
		return n->set ? 0 : -1;
	case KS_OP_MATCHES:
		if (nv != 1) {
			ks_rerr(c->err, pos, off, "'matches' takes one pattern (join alternatives with '|')");
			return -1;
		}
		n->re = ks_regex_compile(&c->r->regexes, v[0].s, v[0].len, msg, sizeof(msg));
		if (!n->re) {
			ks_rerr(c->err, pos, off, "%s", msg);
			return -1;
		}
		return 0;
	default: /* contains, startswith, endswith, glob: any of the values */
		n->strs = v;
		n->n = nv;
		return 0;
	}
}

struct ks_node *ks_make_cmp(struct ks_pctx *c, int field, enum ks_rop op, const struct ks_rstr *vals, uint32_t nv,
                            const struct ks_rpos *pos, size_t off)
{
	enum ks_rtype t = ks_rfield_type((enum ks_rfield)field);
	struct ks_node *n = ks_node_new(c, KS_N_CMP, 0);
	int rc = 0;

	if (!n)
		return NULL;
	n->op = (uint8_t)op;
	n->field = (uint16_t)field;
	c->r->needs[field / 64] |= 1ull << (field % 64);
	if (!ks_op_fits(t, op)) {
		ks_rerr(c->err, pos, off, "operator '%s' does not apply to '%s' (%s)", ks_rop_name(op),
		        ks_rfield_name((enum ks_rfield)field), ks_rtype_name(t));
		return NULL;
	}
	if (op == KS_OP_EXISTS)
		return n;
	if (!nv) {
		ks_rerr(c->err, pos, off, "'%s' needs at least one value", ks_rop_name(op));
		return NULL;
	}
	switch (t) {
	case KS_RT_INT:
		rc = make_int(c, n, vals, nv, pos, off);
		break;
	case KS_RT_IP:
		rc = make_ip(c, n, vals, nv, pos, off);
		break;
	case KS_RT_BOOL:
		if (vals[0].len == 4 && !memcmp(vals[0].s, "true", 4))
			n->b = true;
		else if (!(vals[0].len == 5 && !memcmp(vals[0].s, "false", 5))) {
			ks_rerr(c->err, pos, off, "'%s' is a bool field: compare it with true or false",
			        ks_rfield_name((enum ks_rfield)field));
			rc = -1;
		}
		break;
	case KS_RT_STR:
	case KS_RT_LIST:
		rc = make_str(c, n, vals, nv, pos, off);
		break;
	}
	if (rc && !c->err->msg[0])
		ks_rerr(c->err, pos, off, "out of memory");
	return rc ? NULL : n;
}
