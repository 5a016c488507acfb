// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The values an access policy names (docs/policy.md), each checked for what the enforcement side can put
 * in a BPF map (exact paths, subtrees, whole-component '*', exact executables and units, numeric ids,
 * CIDRs, port ranges) and compiled into the engine's typed comparisons.
 */
#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

struct ks_rpos ks_pol_pos(const struct pol *p, const yaml_node_t *n)
{
	return ks_rpos_of(p->doc->file, p->doc->src, p->doc->src_len, n);
}

int ks_pol_fail(const struct pol *p, const yaml_node_t *n, const char *fmt, ...)
{
	struct ks_rpos pos = ks_pol_pos(p, n);
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ks_rerr(p->c->err, &pos, 0, "policy '%s': %s", p->cr->info.id, msg);
	return -1;
}

const char *ks_pol_scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A scalar or a sequence of scalars: the items, at most max. Returns the count, -1 on error. */
int ks_pol_items(const struct pol *p, yaml_node_t *n, yaml_node_t **out, int max, const char *what)
{
	yaml_node_item_t *it;
	int k = 0;

	if (n->type == YAML_SCALAR_NODE) {
		out[0] = n;
		return 1;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return ks_pol_fail(p, n, "%s: a value or a list of values", what);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = yaml_document_get_node(p->d, *it);

		if (v->type != YAML_SCALAR_NODE)
			return ks_pol_fail(p, v, "%s: items are plain values", what);
		if (k >= max)
			return ks_pol_fail(p, v, "%s: too many items", what);
		out[k++] = v;
	}
	if (!k)
		return ks_pol_fail(p, n, "%s: an empty list admits nothing: remove the key or give values", what);
	return k;
}

struct ks_node *ks_pol_group(struct pol *p, enum ks_nkind kind, struct ks_node *const *kids, uint32_t n)
{
	struct ks_node *g;

	if (n == 1)
		return kids[0];
	if (!(g = ks_node_new(p->c, kind, n)))
		return NULL;
	memcpy(g->kids, kids, n * sizeof(*kids));
	return g;
}

struct ks_node *ks_pol_cmp1(struct pol *p, enum ks_rfield f, enum ks_rop op, const char *val, const yaml_node_t *at)
{
	struct ks_rstr v = {val, val ? (uint32_t)strlen(val) : 0};
	struct ks_rpos pos = ks_pol_pos(p, at);

	return ks_make_cmp(p->c, (int)f, op, &v, val ? 1 : 0, &pos, 0);
}

struct ks_node *ks_pol_not(struct pol *p, struct ks_node *kid)
{
	struct ks_node *n = ks_node_new(p->c, KS_N_NOT, 1);

	if (n)
		n->kids[0] = kid;
	return n;
}

/* ---- paths: exact, a subtree (DIR then slash-star-star: the directory and all below), '*' as a component ---- */

static int check_path(struct pol *p, const yaml_node_t *n, bool exact_only)
{
	const char *s = ks_pol_scalar(n), *c;
	size_t len = n->data.scalar.length;

	if (!len || s[0] != '/' || len > POL_PATH_MAX)
		return ks_pol_fail(p, n, "'%s' is not an absolute path", s);
	if (strpbrk(s, "?[]{}\\"))
		return ks_pol_fail(
		    p, n, "'%s': policies take exact paths, DIR/** and whole-component '*' only (no ?, [], {})", s);
	for (c = s; *c; c++) {
		const char *end = strchr(c + 1, '/');
		size_t clen = end ? (size_t)(end - c - 1) : strlen(c + 1);

		if (*c != '/')
			continue;
		if ((clen == 0 && (end || len > 1)) || (clen == 1 && c[1] == '.') ||
		    (clen == 2 && c[1] == '.' && c[2] == '.'))
			return ks_pol_fail(p, n, "'%s': a path is canonical (no empty, '.' or '..' component)", s);
		if (memchr(c + 1, '*', clen)) {
			bool star = clen == 1, dstar = clen == 2 && c[1] == '*' && c[2] == '*' && !end;

			if (exact_only)
				return ks_pol_fail(
				    p, n, "'%s': an executable is an exact path (it is hashed for the kernel)", s);
			if (!star && !dstar)
				return ks_pol_fail(p, n, "'%s': '*' stands for a whole component, '**' only at the end",
				                   s);
		}
	}
	return 0;
}

static bool has_star(const char *s, size_t len)
{
	return memchr(s, '*', len) != NULL;
}

/* The paths of one list, compiled into an `or` of: `in` (exact), `= DIR or startswith DIR/` (subtrees), `glob`.
 * Sets *all for the root's subtree (everything: no term). */
struct ks_node *ks_pol_paths(struct pol *p, enum ks_rfield f, yaml_node_t *list, bool exact_only, bool *all)
{
	yaml_node_t *it[KS_R_LIST_MAX / 64];
	struct ks_rstr exact[KS_R_LIST_MAX / 64];
	struct ks_node *kids[POL_TERMS_MAX * 8];
	uint32_t ne = 0, nk = 0;
	int n = ks_pol_items(p, list, it, (int)(sizeof(it) / sizeof(it[0])), "paths");

	*all = false;
	for (int i = 0; i < n; i++) {
		const char *s = ks_pol_scalar(it[i]);
		size_t len = it[i]->data.scalar.length;
		struct ks_rpos pos = ks_pol_pos(p, it[i]);

		if (check_path(p, it[i], exact_only))
			return NULL;
		if (len >= 3 && !strcmp(s + len - 3, "/**")) {
			char dir[POL_PATH_MAX + 2];
			struct ks_rstr v[2];
			struct ks_node *t[2];

			if (len == 3) {
				*all = true;
				continue;
			}
			if (has_star(s, len - 3))
				return ks_pol_fail(p, it[i], "'%s': DIR/** takes a DIR without '*'", s), NULL;
			if (nk + 2 > sizeof(kids) / sizeof(kids[0]))
				return ks_pol_fail(p, it[i], "'%s': at most 32 subtrees and patterns per list", s),
				       NULL;
			memcpy(dir, s, len - 2); /* "DIR/" */
			v[0] = (struct ks_rstr){s, (uint32_t)(len - 3)};
			v[1] = (struct ks_rstr){dir, (uint32_t)(len - 2)};
			t[0] = ks_make_cmp(p->c, (int)f, KS_OP_EQ, &v[0], 1, &pos, 0);
			t[1] = ks_make_cmp(p->c, (int)f, KS_OP_STARTSWITH, &v[1], 1, &pos, 0);
			if (!t[0] || !t[1])
				return NULL;
			kids[nk++] = t[0];
			kids[nk++] = t[1];
		} else if (has_star(s, len)) {
			struct ks_rstr v = {s, (uint32_t)len};

			if (nk + 1 > sizeof(kids) / sizeof(kids[0]))
				return ks_pol_fail(p, it[i], "'%s': at most 32 subtrees and patterns per list", s),
				       NULL;
			if (!(kids[nk++] = ks_make_cmp(p->c, (int)f, KS_OP_GLOB, &v, 1, &pos, 0)))
				return NULL;
		} else {
			exact[ne++] = (struct ks_rstr){s, (uint32_t)len};
		}
	}
	if (n < 0 || *all)
		return NULL;
	if (ne) {
		struct ks_rpos pos = ks_pol_pos(p, list);

		if (!(kids[nk++] = ks_make_cmp(p->c, (int)f, KS_OP_IN, exact, ne, &pos, 0)))
			return NULL;
	}
	return ks_pol_group(p, KS_N_OR, kids, nk);
}

/* ---- subjects ---- */

/* A uid or gid: a number, or a name resolved now (the kernel compares numbers). */
static int id_value(struct pol *p, yaml_node_t *n, bool group_id, char *out, size_t outlen)
{
	const char *s = ks_pol_scalar(n);
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (isdigit((unsigned char)s[0]) && !*end) {
		if (v >= 0xffffffffull)
			return ks_pol_fail(p, n, "'%s' is not a valid id", s);
	} else if (group_id) {
		struct group *g = getgrnam(s);

		if (!g)
			return ks_pol_fail(p, n, "no group '%s' on this host: give the numeric gid", s);
		v = g->gr_gid;
	} else {
		struct passwd *pw = getpwnam(s);

		if (!pw)
			return ks_pol_fail(p, n, "no user '%s' on this host: give the numeric uid", s);
		v = pw->pw_uid;
	}
	snprintf(out, outlen, "%llu", v);
	return 0;
}

struct ks_node *ks_pol_ids(struct pol *p, enum ks_rfield f, yaml_node_t *list, bool group_id)
{
	yaml_node_t *it[256];
	char buf[256][12];
	struct ks_rstr v[256];
	struct ks_rpos pos = ks_pol_pos(p, list);
	int n = ks_pol_items(p, list, it, 256, group_id ? "group" : "user");

	for (int i = 0; i < n; i++) {
		if (id_value(p, it[i], group_id, buf[i], sizeof(buf[i])))
			return NULL;
		v[i] = (struct ks_rstr){buf[i], (uint32_t)strlen(buf[i])};
	}
	return n < 0 ? NULL : ks_make_cmp(p->c, (int)f, KS_OP_IN, v, (uint32_t)n, &pos, 0);
}

/* Exact strings (units): no pattern characters, so each is one map key. */
struct ks_node *ks_pol_names(struct pol *p, enum ks_rfield f, yaml_node_t *list, const char *what)
{
	yaml_node_t *it[256];
	struct ks_rstr v[256];
	struct ks_rpos pos = ks_pol_pos(p, list);
	int n = ks_pol_items(p, list, it, 256, what);

	for (int i = 0; i < n; i++) {
		const char *s = ks_pol_scalar(it[i]);

		if (!*s || strpbrk(s, "*?[]/ "))
			return ks_pol_fail(p, it[i], "'%s': a unit is an exact name (nginx.service), no pattern", s),
			       NULL;
		v[i] = (struct ks_rstr){s, (uint32_t)it[i]->data.scalar.length};
	}
	return n < 0 ? NULL : ks_make_cmp(p->c, (int)f, KS_OP_IN, v, (uint32_t)n, &pos, 0);
}

struct ks_node *ks_pol_login(struct pol *p, yaml_node_t *v)
{
	const char *s = ks_pol_scalar(v);

	if (s && !strcmp(s, "any")) /* someone logged in: the process has a login uid */
		return ks_pol_cmp1(p, KS_RF_PROC_LOGINUID, KS_OP_EXISTS, NULL, v);
	if (s && !strcmp(s, "none")) {
		struct ks_node *e = ks_pol_cmp1(p, KS_RF_PROC_LOGINUID, KS_OP_EXISTS, NULL, v);

		return e ? ks_pol_not(p, e) : NULL;
	}
	return ks_pol_ids(p, KS_RF_ACTOR_USER_UID, v, false);
}

struct ks_node *ks_pol_tty(struct pol *p, yaml_node_t *v)
{
	const char *s = ks_pol_scalar(v);

	if (!s || (strcmp(s, "true") && strcmp(s, "false")))
		return ks_pol_fail(p, v, "tty: true (a terminal) or false (none)"), NULL;
	return ks_pol_cmp1(p, KS_RF_PROC_HAS_TTY, KS_OP_EQ, s, v);
}

/* ---- network destinations ---- */

struct ks_node *ks_pol_cidr(struct pol *p, yaml_node_t *list)
{
	yaml_node_t *it[256];
	struct ks_rstr v[256];
	struct ks_node *kids[3];
	uint32_t nk = 0;
	int n = ks_pol_items(p, list, it, 256, "cidr");
	struct ks_rpos pos = ks_pol_pos(p, list);

	for (int i = 0; i < n; i++) {
		struct ks_cidr c;

		if (!ks_cidr_parse(ks_pol_scalar(it[i]), &c))
			return ks_pol_fail(p, it[i], "'%s' is not an address or network (10.0.0.0/8, fd00::/8)",
			                   ks_pol_scalar(it[i])),
			       NULL;
		v[i] = (struct ks_rstr){ks_pol_scalar(it[i]), (uint32_t)it[i]->data.scalar.length};
	}
	if (n < 0)
		return NULL;
	/* the peer: the responder of a connect, the initiator of an accept, the bound address of a listen */
	if (p->ops & (KS_POP_CONNECT | KS_POP_LISTEN))
		kids[nk++] = ks_make_cmp(p->c, KS_RF_DST_IP, KS_OP_IN_CIDR, v, (uint32_t)n, &pos, 0);
	if (p->ops & KS_POP_ACCEPT)
		kids[nk++] = ks_make_cmp(p->c, KS_RF_SRC_IP, KS_OP_IN_CIDR, v, (uint32_t)n, &pos, 0);
	for (uint32_t i = 0; i < nk; i++)
		if (!kids[i])
			return NULL;
	if (nk == 2) { /* each side only on its own direction */
		struct ks_node *in = kids[1], *dir = ks_pol_cmp1(p, KS_RF_DIRECTION_ID, KS_OP_EQ, "1", list),
		               *a[2] = {dir, in};

		if (!dir || !(kids[1] = ks_pol_group(p, KS_N_AND, a, 2)))
			return NULL;
		dir = ks_pol_cmp1(p, KS_RF_DIRECTION_ID, KS_OP_NE, "1", list);
		a[0] = dir;
		a[1] = kids[0];
		if (!dir || !(kids[0] = ks_pol_group(p, KS_N_AND, a, 2)))
			return NULL;
	}
	return ks_pol_group(p, KS_N_OR, kids, nk);
}

/* Ports: 5432 or "8000-8100". The local port of an accept or listen, the remote one of a connect: always
 * dst_endpoint.port in kansoku's events. */
struct ks_node *ks_pol_ports(struct pol *p, yaml_node_t *list)
{
	yaml_node_t *it[256] = {0};
	struct ks_rstr single[256];
	struct ks_node *kids[257];
	char lo_s[256][24], hi_s[256][24];
	uint32_t ns = 0, nk = 0;
	int n = ks_pol_items(p, list, it, 256, "ports");
	struct ks_rpos pos = ks_pol_pos(p, list);

	for (int i = 0; i < n; i++) {
		const char *s = ks_pol_scalar(it[i]);
		char *end;
		unsigned long lo = strtoul(s, &end, 10), hi = lo;

		if (end != s && *end == '-' && isdigit((unsigned char)end[1]))
			hi = strtoul(end + 1, &end, 10);
		if (!isdigit((unsigned char)s[0]) || *end || lo < 1 || hi > 65535 || lo > hi)
			return ks_pol_fail(p, it[i], "'%s': a port (1-65535) or a range LOW-HIGH", s), NULL;
		if (lo == hi) {
			single[ns++] = (struct ks_rstr){s, (uint32_t)it[i]->data.scalar.length};
			continue;
		}
		snprintf(lo_s[i], sizeof(lo_s[i]), "%lu", lo);
		snprintf(hi_s[i], sizeof(hi_s[i]), "%lu", hi);
		{
			struct ks_node *r[2] = {ks_pol_cmp1(p, KS_RF_DST_PORT, KS_OP_GE, lo_s[i], it[i]),
			                        ks_pol_cmp1(p, KS_RF_DST_PORT, KS_OP_LE, hi_s[i], it[i])};

			if (!r[0] || !r[1] || !(kids[nk++] = ks_pol_group(p, KS_N_AND, r, 2)))
				return NULL;
		}
	}
	if (n < 0)
		return NULL;
	if (ns && !(kids[nk++] = ks_make_cmp(p->c, KS_RF_DST_PORT, KS_OP_IN, single, ns, &pos, 0)))
		return NULL;
	return ks_pol_group(p, KS_N_OR, kids, nk);
}

struct ks_node *ks_pol_proto(struct pol *p, yaml_node_t *v)
{
	const char *s = ks_pol_scalar(v);

	if (!s || (strcmp(s, "tcp") && strcmp(s, "udp")))
		return ks_pol_fail(p, v, "protocol: tcp or udp"), NULL;
	return ks_pol_cmp1(p, KS_RF_PROTOCOL_NAME, KS_OP_EQ, s, v);
}
