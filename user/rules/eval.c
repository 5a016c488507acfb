// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Evaluating a compiled condition against a view: the per-event hot path, so no allocation here. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct ks_regex {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jstack;
	struct ks_regex *next;
};

struct ks_regex *ks_regex_compile(struct ks_regex **all, const char *pat, size_t len, char *msg, size_t msglen)
{
	struct ks_regex *re;
	PCRE2_SIZE erroff;
	int errcode;

	if (len > KS_R_REGEX_MAX) {
		snprintf(msg, msglen, "regex of %zu bytes is longer than the limit of %d", len, KS_R_REGEX_MAX);
		return NULL;
	}
	re = calloc(1, sizeof(*re));
	if (!re) {
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	/* bytes, not UTF-8: paths and argv may hold any byte */
	re->code = pcre2_compile((PCRE2_SPTR)pat, len, 0, &errcode, &erroff, NULL);
	if (!re->code) {
		PCRE2_UCHAR buf[160];

		pcre2_get_error_message(errcode, buf, sizeof(buf));
		snprintf(msg, msglen, "bad regex '%.*s': %s at offset %zu", (int)(len > 80 ? 80 : len), pat,
		         (const char *)buf, (size_t)erroff);
		free(re);
		return NULL;
	}
	re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
	re->mctx = pcre2_match_context_create(NULL);
	if (!re->md || !re->mctx) {
		snprintf(msg, msglen, "out of memory");
		goto fail;
	}
	/* bounded work per match whatever the pattern (the JIT honours the match limit) */
	pcre2_set_match_limit(re->mctx, KS_R_REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(re->mctx, KS_R_REGEX_DEPTH_LIMIT);
	if (pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0) {
		re->jstack = pcre2_jit_stack_create(32 * 1024, 256 * 1024, NULL);
		if (re->jstack)
			pcre2_jit_stack_assign(re->mctx, NULL, re->jstack);
	}
	re->next = *all;
	*all = re;
	return re;
fail:
	pcre2_match_data_free(re->md);
	pcre2_match_context_free(re->mctx);
	pcre2_code_free(re->code);
	free(re);
	return NULL;
}

void ks_regex_free_all(struct ks_regex *all)
{
	struct ks_regex *next;

	for (; all; all = next) {
		next = all->next;
		pcre2_jit_stack_free(all->jstack);
		pcre2_match_data_free(all->md);
		pcre2_match_context_free(all->mctx);
		pcre2_code_free(all->code);
		free(all);
	}
}

static bool regex_match(struct ks_regex *re, const char *s, uint32_t len, uint64_t *errors)
{
	int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, re->md, re->mctx);

	if (rc >= 0)
		return true;
	if (rc != PCRE2_ERROR_NOMATCH)
		(*errors)++; /* match or depth limit, JIT stack: no match, counted */
	return false;
}

bool ks_ip_parse(const char *s, struct ks_rip *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->addr) == 1) {
		out->family = 4;
		return true;
	}
	if (inet_pton(AF_INET6, s, out->addr) == 1) {
		out->family = 6;
		return true;
	}
	return false;
}

bool ks_cidr_parse(const char *s, struct ks_cidr *out)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	char *end;
	long bits;

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!ks_ip_parse(buf, &out->net))
		return false;
	bits = out->net.family == 4 ? 32 : 128;
	if (slash) {
		long b = strtol(slash + 1, &end, 10);

		if (!slash[1] || *end || b < 0 || b > bits)
			return false;
		bits = b;
	}
	out->bits = (uint8_t)bits;
	return true;
}

static bool cidr_has(const struct ks_cidr *c, const struct ks_rip *ip)
{
	unsigned full = c->bits / 8, rest = c->bits % 8;

	if (c->net.family != ip->family || memcmp(c->net.addr, ip->addr, full))
		return false;
	if (!rest)
		return true;
	return ((c->net.addr[full] ^ ip->addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* One '/'-free segment: '*' any run, '?' one byte; the classic backtrack-to-last-star walk (linear). */
static bool glob_segment(const char *p, uint32_t pn, const char *s, uint32_t sn)
{
	uint32_t pi = 0, si = 0, star_p = UINT32_MAX, star_s = 0;

	while (si < sn) {
		if (pi < pn && (p[pi] == '?' || p[pi] == s[si])) {
			pi++;
			si++;
		} else if (pi < pn && p[pi] == '*') {
			star_p = pi++;
			star_s = si;
		} else if (star_p != UINT32_MAX) {
			pi = star_p + 1;
			si = ++star_s;
		} else {
			return false;
		}
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

/* Wildcards never cross '/', so the pattern's slashes pair one to one with the string's. */
bool ks_glob(const char *pat, uint32_t plen, const char *s, uint32_t slen)
{
	uint32_t pi = 0, si = 0;

	for (;;) {
		const char *pe = memchr(pat + pi, '/', plen - pi), *se = memchr(s + si, '/', slen - si);
		uint32_t pn = pe ? (uint32_t)(pe - pat) - pi : plen - pi, sn = se ? (uint32_t)(se - s) - si : slen - si;

		if (!glob_segment(pat + pi, pn, s + si, sn))
			return false;
		if (!pe || !se)
			return !pe && !se;
		pi += pn + 1;
		si += sn + 1;
	}
}

static bool int_in(const int64_t *v, uint32_t n, int64_t x)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (v[mid] == x)
			return true;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool str_any(const struct ks_node *n, const char *s, uint32_t len, uint64_t h, uint64_t *rx_err)
{
	uint32_t i;

	switch (n->op) {
	case KS_OP_EQ:
	case KS_OP_NE:
		return len == n->str.len && !memcmp(s, n->str.s, len);
	case KS_OP_IN:
		return ks_strset_has_hash(n->set, s, len, h);
	case KS_OP_MATCHES:
		return regex_match(n->re, s, len, rx_err);
	default:
		break;
	}
	for (i = 0; i < n->n; i++) {
		const struct ks_rstr *v = &n->strs[i];

		switch (n->op) {
		case KS_OP_CONTAINS:
			if (v->len <= len && memmem(s, len, v->s, v->len))
				return true;
			break;
		case KS_OP_STARTSWITH:
			if (v->len <= len && !memcmp(s, v->s, v->len))
				return true;
			break;
		case KS_OP_ENDSWITH:
			if (v->len <= len && !memcmp(s + len - v->len, v->s, v->len))
				return true;
			break;
		case KS_OP_GLOB:
			if (ks_glob(v->s, v->len, s, len))
				return true;
			break;
		default:
			return false;
		}
	}
	return false;
}

static bool cmp_str(const struct ks_node *n, const struct ks_rval *val, struct ks_ectx *x)
{
	uint64_t h = 0;
	bool hit;

	if (n->op == KS_OP_IN) { /* hashed once per event, whatever number of rules ask */
		if (!(x->hashed >> n->field & 1)) {
			x->hash[n->field] = ks_rhash(val->s, val->len);
			x->hashed |= 1ull << n->field;
		}
		h = x->hash[n->field];
	}
	hit = str_any(n, val->s, val->len, h, x->rx_err);

	return n->op == KS_OP_NE ? !hit : hit;
}

static bool cmp_list(const struct ks_node *n, const struct ks_rval *x, uint64_t *rx_err)
{
	uint32_t i, len;

	for (i = 0; i < x->len; i++) {
		if (!x->list[i])
			continue;
		len = (uint32_t)strlen(x->list[i]);
		if (str_any(n, x->list[i], len, n->op == KS_OP_IN ? ks_rhash(x->list[i], len) : 0, rx_err))
			return n->op != KS_OP_NE;
	}
	return n->op == KS_OP_NE;
}

static bool cmp_int(const struct ks_node *n, int64_t v)
{
	switch (n->op) {
	case KS_OP_EQ:
		return v == n->i;
	case KS_OP_NE:
		return v != n->i;
	case KS_OP_LT:
		return v < n->i;
	case KS_OP_LE:
		return v <= n->i;
	case KS_OP_GT:
		return v > n->i;
	case KS_OP_GE:
		return v >= n->i;
	case KS_OP_IN:
		return int_in(n->ints, n->n, v);
	default:
		return false;
	}
}

static bool cmp_ip(const struct ks_node *n, const struct ks_rip *ip)
{
	uint32_t i;
	bool hit = false;

	for (i = 0; i < n->n && !hit; i++)
		hit = cidr_has(&n->cidrs[i], ip);
	return n->op == KS_OP_NE ? !hit : hit;
}

static bool eval_cmp(const struct ks_node *n, struct ks_ectx *ctx)
{
	const struct ks_rval *x = &ctx->v->f[n->field];

	if (n->op == KS_OP_EXISTS)
		return x->set && (ks_rfield_type(n->field) != KS_RT_LIST || x->len > 0);
	if (!x->set)
		return n->op == KS_OP_NE; /* absent: only "not equal" holds */
	switch (ks_rfield_type(n->field)) {
	case KS_RT_STR:
		return cmp_str(n, x, ctx);
	case KS_RT_LIST:
		return cmp_list(n, x, ctx->rx_err);
	case KS_RT_INT:
		return cmp_int(n, x->i);
	case KS_RT_BOOL:
		return n->op == KS_OP_EQ ? x->b == n->b : x->b != n->b;
	case KS_RT_IP:
		return cmp_ip(n, &x->ip);
	}
	return false;
}

bool ks_node_eval(const struct ks_node *n, struct ks_ectx *x)
{
	uint32_t i;

	switch (n->kind) {
	case KS_N_CMP:
		return eval_cmp(n, x);
	case KS_N_AND:
		for (i = 0; i < n->n; i++)
			if (!ks_node_eval(n->kids[i], x))
				return false;
		return true;
	case KS_N_OR:
		for (i = 0; i < n->n; i++)
			if (ks_node_eval(n->kids[i], x))
				return true;
		return false;
	case KS_N_NOT:
		return !ks_node_eval(n->kids[0], x);
	case KS_N_TRUE:
		return true;
	}
	return false;
}
