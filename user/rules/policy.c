// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Access policies (docs/policy.md): allow-lists per resource. A policy is compiled into the condition
 * "an access it governs, by a subject it governs, that no allow entry admits", so the engine's index,
 * dedupe, rate limit and cost accounting serve policies as they serve rules. Only forms the enforcement
 * side can put in BPF maps are accepted: exact paths, subtree prefixes, whole-component '*', exact
 * executables and units, numeric ids (names are resolved here, once), CIDRs and port ranges.
 */
#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

#define POL_TERMS_MAX 8
#define POL_ALLOW_MAX 1024
#define POL_PATH_MAX 4095
#define POL_SUMMARY_MAX 512

enum ks_pol_kind { KS_POL_NONE, KS_POL_FILES, KS_POL_EXEC, KS_POL_NETWORK };

/* Operations per resource kind: the OCSF activities each one covers. */
enum ks_pol_op {
	KS_POP_READ = 1u << 0,
	KS_POP_WRITE = 1u << 1,
	KS_POP_CREATE = 1u << 2,
	KS_POP_DELETE = 1u << 3,
	KS_POP_RENAME = 1u << 4,
	KS_POP_ATTRIB = 1u << 5,
	KS_POP_EXEC = 1u << 6,
	KS_POP_CONNECT = 1u << 7,
	KS_POP_ACCEPT = 1u << 8,
	KS_POP_LISTEN = 1u << 9,
};

/* OCSF activity ids (user/rules/fields.c) and direction ids. */
enum ks_pol_act {
	KS_PACT_FILE_CREATE = 1,
	KS_PACT_FILE_READ = 2,
	KS_PACT_FILE_UPDATE = 3,
	KS_PACT_FILE_DELETE = 4,
	KS_PACT_FILE_RENAME = 5,
	KS_PACT_FILE_SECURITY = 7,
	KS_PACT_NET_OPEN = 1,
	KS_PACT_NET_FAIL = 4,
	KS_PACT_NET_REFUSE = 5,
	KS_PACT_NET_TRAFFIC = 6,
	KS_PACT_NET_LISTEN = 7,
};
enum ks_pol_dir { KS_PDIR_INBOUND = 1, KS_PDIR_OUTBOUND = 2 };

static const struct pol_op {
	const char *name;
	enum ks_pol_kind kind;
	unsigned bit;
	int act; /* files: the one activity; others: built in ops_node */
} pol_ops[] = {
    {"read", KS_POL_FILES, KS_POP_READ, KS_PACT_FILE_READ},
    {"write", KS_POL_FILES, KS_POP_WRITE, KS_PACT_FILE_UPDATE},
    {"create", KS_POL_FILES, KS_POP_CREATE, KS_PACT_FILE_CREATE},
    {"delete", KS_POL_FILES, KS_POP_DELETE, KS_PACT_FILE_DELETE},
    {"rename", KS_POL_FILES, KS_POP_RENAME, KS_PACT_FILE_RENAME},
    {"attrib", KS_POL_FILES, KS_POP_ATTRIB, KS_PACT_FILE_SECURITY},
    {"exec", KS_POL_EXEC, KS_POP_EXEC, 0},
    {"connect", KS_POL_NETWORK, KS_POP_CONNECT, 0},
    {"accept", KS_POL_NETWORK, KS_POP_ACCEPT, 0},
    {"listen", KS_POL_NETWORK, KS_POP_LISTEN, 0},
};

static const char *const kind_names[] = {"", "files", "exec", "network"};

struct pol {
	struct ks_pctx *c;
	yaml_document_t *d;
	const struct ks_rpos *doc;
	struct ks_crule *cr;
	enum ks_pol_kind kind;
	unsigned ops;
	yaml_node_t *resource, *ops_node, *subject, *allow;
	char summary[POL_SUMMARY_MAX];
};

/* A list of node pointers being gathered for an and/or. */
struct nodes {
	struct ks_node *v[POL_ALLOW_MAX];
	uint32_t n;
};

static struct ks_rpos pos_of(const struct pol *p, const yaml_node_t *n)
{
	return ks_rpos_of(p->doc->file, p->doc->src, p->doc->src_len, n);
}

__attribute__((format(printf, 3, 4))) static int pfail(const struct pol *p, const yaml_node_t *n, const char *fmt, ...)
{
	struct ks_rpos pos = pos_of(p, n);
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ks_rerr(p->c->err, &pos, 0, "policy '%s': %s", p->cr->info.id, msg);
	return -1;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A scalar or a sequence of scalars: the items, at most max. Returns the count, -1 on error. */
static int items_of(const struct pol *p, yaml_node_t *n, yaml_node_t **out, int max, const char *what)
{
	yaml_node_item_t *it;
	int k = 0;

	if (n->type == YAML_SCALAR_NODE) {
		out[0] = n;
		return 1;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return pfail(p, n, "%s: a value or a list of values", what);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = yaml_document_get_node(p->d, *it);

		if (v->type != YAML_SCALAR_NODE)
			return pfail(p, v, "%s: items are plain values", what);
		if (k >= max)
			return pfail(p, v, "%s: too many items", what);
		out[k++] = v;
	}
	if (!k)
		return pfail(p, n, "%s: an empty list admits nothing: remove the key or give values", what);
	return k;
}

static struct ks_node *group(struct pol *p, enum ks_nkind kind, struct ks_node *const *kids, uint32_t n)
{
	struct ks_node *g;

	if (n == 1)
		return kids[0];
	if (!(g = ks_node_new(p->c, kind, n)))
		return NULL;
	memcpy(g->kids, kids, n * sizeof(*kids));
	return g;
}

static struct ks_node *cmp1(struct pol *p, enum ks_rfield f, enum ks_rop op, const char *val, const yaml_node_t *at)
{
	struct ks_rstr v = {val, val ? (uint32_t)strlen(val) : 0};
	struct ks_rpos pos = pos_of(p, at);

	return ks_make_cmp(p->c, (int)f, op, &v, val ? 1 : 0, &pos, 0);
}

static struct ks_node *not_of(struct pol *p, struct ks_node *kid)
{
	struct ks_node *n = ks_node_new(p->c, KS_N_NOT, 1);

	if (n)
		n->kids[0] = kid;
	return n;
}

/* ---- paths: exact, a subtree (DIR then slash-star-star: the directory and all below), '*' as a component ---- */

static int check_path(struct pol *p, const yaml_node_t *n, bool exact_only)
{
	const char *s = scalar(n), *c;
	size_t len = n->data.scalar.length;

	if (!len || s[0] != '/' || len > POL_PATH_MAX)
		return pfail(p, n, "'%s' is not an absolute path", s);
	if (strpbrk(s, "?[]{}\\"))
		return pfail(p, n,
		             "'%s': policies take exact paths, DIR/** and whole-component '*' only (no ?, [], {})", s);
	for (c = s; *c; c++) {
		const char *end = strchr(c + 1, '/');
		size_t clen = end ? (size_t)(end - c - 1) : strlen(c + 1);

		if (*c != '/')
			continue;
		if ((clen == 0 && (end || len > 1)) || (clen == 1 && c[1] == '.') ||
		    (clen == 2 && c[1] == '.' && c[2] == '.'))
			return pfail(p, n, "'%s': a path is canonical (no empty, '.' or '..' component)", s);
		if (memchr(c + 1, '*', clen)) {
			bool star = clen == 1, dstar = clen == 2 && c[1] == '*' && c[2] == '*' && !end;

			if (exact_only)
				return pfail(p, n, "'%s': an executable is an exact path (it is hashed for the kernel)",
				             s);
			if (!star && !dstar)
				return pfail(p, n, "'%s': '*' stands for a whole component, '**' only at the end", s);
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
static struct ks_node *paths_node(struct pol *p, enum ks_rfield f, yaml_node_t *list, bool exact_only, bool *all)
{
	yaml_node_t *it[KS_R_LIST_MAX / 64];
	struct ks_rstr exact[KS_R_LIST_MAX / 64];
	struct ks_node *kids[POL_TERMS_MAX * 8];
	uint32_t ne = 0, nk = 0;
	int n = items_of(p, list, it, (int)(sizeof(it) / sizeof(it[0])), "paths");

	*all = false;
	for (int i = 0; i < n; i++) {
		const char *s = scalar(it[i]);
		size_t len = it[i]->data.scalar.length;
		struct ks_rpos pos = pos_of(p, it[i]);

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
				return pfail(p, it[i], "'%s': DIR/** takes a DIR without '*'", s), NULL;
			if (nk + 2 > sizeof(kids) / sizeof(kids[0]))
				return pfail(p, it[i], "'%s': at most 32 subtrees and patterns per list", s), NULL;
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
				return pfail(p, it[i], "'%s': at most 32 subtrees and patterns per list", s), NULL;
			if (!(kids[nk++] = ks_make_cmp(p->c, (int)f, KS_OP_GLOB, &v, 1, &pos, 0)))
				return NULL;
		} else {
			exact[ne++] = (struct ks_rstr){s, (uint32_t)len};
		}
	}
	if (n < 0 || *all)
		return NULL;
	if (ne) {
		struct ks_rpos pos = pos_of(p, list);

		if (!(kids[nk++] = ks_make_cmp(p->c, (int)f, KS_OP_IN, exact, ne, &pos, 0)))
			return NULL;
	}
	return group(p, KS_N_OR, kids, nk);
}

/* ---- subjects ---- */

/* A uid or gid: a number, or a name resolved now (the kernel compares numbers). */
static int id_value(struct pol *p, yaml_node_t *n, bool group_id, char *out, size_t outlen)
{
	const char *s = scalar(n);
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (isdigit((unsigned char)s[0]) && !*end) {
		if (v >= 0xffffffffull)
			return pfail(p, n, "'%s' is not a valid id", s);
	} else if (group_id) {
		struct group *g = getgrnam(s);

		if (!g)
			return pfail(p, n, "no group '%s' on this host: give the numeric gid", s);
		v = g->gr_gid;
	} else {
		struct passwd *pw = getpwnam(s);

		if (!pw)
			return pfail(p, n, "no user '%s' on this host: give the numeric uid", s);
		v = pw->pw_uid;
	}
	snprintf(out, outlen, "%llu", v);
	return 0;
}

static struct ks_node *ids_node(struct pol *p, enum ks_rfield f, yaml_node_t *list, bool group_id)
{
	yaml_node_t *it[256];
	char buf[256][12];
	struct ks_rstr v[256];
	struct ks_rpos pos = pos_of(p, list);
	int n = items_of(p, list, it, 256, group_id ? "group" : "user");

	for (int i = 0; i < n; i++) {
		if (id_value(p, it[i], group_id, buf[i], sizeof(buf[i])))
			return NULL;
		v[i] = (struct ks_rstr){buf[i], (uint32_t)strlen(buf[i])};
	}
	return n < 0 ? NULL : ks_make_cmp(p->c, (int)f, KS_OP_IN, v, (uint32_t)n, &pos, 0);
}

/* Exact strings (units): no pattern characters, so each is one map key. */
static struct ks_node *names_node(struct pol *p, enum ks_rfield f, yaml_node_t *list, const char *what)
{
	yaml_node_t *it[256];
	struct ks_rstr v[256];
	struct ks_rpos pos = pos_of(p, list);
	int n = items_of(p, list, it, 256, what);

	for (int i = 0; i < n; i++) {
		const char *s = scalar(it[i]);

		if (!*s || strpbrk(s, "*?[]/ "))
			return pfail(p, it[i], "'%s': a unit is an exact name (nginx.service), no pattern", s), NULL;
		v[i] = (struct ks_rstr){s, (uint32_t)it[i]->data.scalar.length};
	}
	return n < 0 ? NULL : ks_make_cmp(p->c, (int)f, KS_OP_IN, v, (uint32_t)n, &pos, 0);
}

static struct ks_node *login_node(struct pol *p, yaml_node_t *v)
{
	const char *s = scalar(v);

	if (s && !strcmp(s, "any")) /* someone logged in: the process has a login uid */
		return cmp1(p, KS_RF_PROC_LOGINUID, KS_OP_EXISTS, NULL, v);
	if (s && !strcmp(s, "none")) {
		struct ks_node *e = cmp1(p, KS_RF_PROC_LOGINUID, KS_OP_EXISTS, NULL, v);

		return e ? not_of(p, e) : NULL;
	}
	return ids_node(p, KS_RF_ACTOR_USER_UID, v, false);
}

static struct ks_node *tty_node(struct pol *p, yaml_node_t *v)
{
	const char *s = scalar(v);

	if (!s || (strcmp(s, "true") && strcmp(s, "false")))
		return pfail(p, v, "tty: true (a terminal) or false (none)"), NULL;
	return cmp1(p, KS_RF_PROC_HAS_TTY, KS_OP_EQ, s, v);
}

/* ---- network destinations ---- */

static struct ks_node *cidr_node(struct pol *p, yaml_node_t *list)
{
	yaml_node_t *it[256];
	struct ks_rstr v[256];
	struct ks_node *kids[3];
	uint32_t nk = 0;
	int n = items_of(p, list, it, 256, "cidr");
	struct ks_rpos pos = pos_of(p, list);

	for (int i = 0; i < n; i++) {
		struct ks_cidr c;

		if (!ks_cidr_parse(scalar(it[i]), &c))
			return pfail(p, it[i], "'%s' is not an address or network (10.0.0.0/8, fd00::/8)",
			             scalar(it[i])),
			       NULL;
		v[i] = (struct ks_rstr){scalar(it[i]), (uint32_t)it[i]->data.scalar.length};
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
		struct ks_node *in = kids[1], *dir = cmp1(p, KS_RF_DIRECTION_ID, KS_OP_EQ, "1", list),
		               *a[2] = {dir, in};

		if (!dir || !(kids[1] = group(p, KS_N_AND, a, 2)))
			return NULL;
		dir = cmp1(p, KS_RF_DIRECTION_ID, KS_OP_NE, "1", list);
		a[0] = dir;
		a[1] = kids[0];
		if (!dir || !(kids[0] = group(p, KS_N_AND, a, 2)))
			return NULL;
	}
	return group(p, KS_N_OR, kids, nk);
}

/* Ports: 5432 or "8000-8100". The local port of an accept or listen, the remote one of a connect: always
 * dst_endpoint.port in kansoku's events. */
static struct ks_node *ports_node(struct pol *p, yaml_node_t *list)
{
	yaml_node_t *it[256];
	struct ks_rstr single[256];
	struct ks_node *kids[257];
	char lo_s[256][24], hi_s[256][24];
	uint32_t ns = 0, nk = 0;
	int n = items_of(p, list, it, 256, "ports");
	struct ks_rpos pos = pos_of(p, list);

	for (int i = 0; i < n; i++) {
		const char *s = scalar(it[i]);
		char *end;
		unsigned long lo = strtoul(s, &end, 10), hi = lo;

		if (end != s && *end == '-' && isdigit((unsigned char)end[1]))
			hi = strtoul(end + 1, &end, 10);
		if (!isdigit((unsigned char)s[0]) || *end || lo < 1 || hi > 65535 || lo > hi)
			return pfail(p, it[i], "'%s': a port (1-65535) or a range LOW-HIGH", s), NULL;
		if (lo == hi) {
			single[ns++] = (struct ks_rstr){s, (uint32_t)it[i]->data.scalar.length};
			continue;
		}
		snprintf(lo_s[i], sizeof(lo_s[i]), "%lu", lo);
		snprintf(hi_s[i], sizeof(hi_s[i]), "%lu", hi);
		{
			struct ks_node *r[2] = {cmp1(p, KS_RF_DST_PORT, KS_OP_GE, lo_s[i], it[i]),
			                        cmp1(p, KS_RF_DST_PORT, KS_OP_LE, hi_s[i], it[i])};

			if (!r[0] || !r[1] || !(kids[nk++] = group(p, KS_N_AND, r, 2)))
				return NULL;
		}
	}
	if (n < 0)
		return NULL;
	if (ns && !(kids[nk++] = ks_make_cmp(p->c, KS_RF_DST_PORT, KS_OP_IN, single, ns, &pos, 0)))
		return NULL;
	return group(p, KS_N_OR, kids, nk);
}

static struct ks_node *proto_node(struct pol *p, yaml_node_t *v)
{
	const char *s = scalar(v);

	if (!s || (strcmp(s, "tcp") && strcmp(s, "udp")))
		return pfail(p, v, "protocol: tcp or udp"), NULL;
	return cmp1(p, KS_RF_PROTOCOL_NAME, KS_OP_EQ, s, v);
}

/* ---- one mapping of subject (and, in allow entries, resource) keys: an `and` of its terms ---- */

static struct ks_node *attrs_node(struct pol *p, yaml_node_t *m, bool resource_keys)
{
	struct ks_node *kids[POL_TERMS_MAX * 2];
	uint32_t nk = 0;
	yaml_node_pair_t *pr;

	if (m->type != YAML_MAPPING_NODE)
		return pfail(p, m, "a subject or allow entry is a mapping (exe: ..., user: ...)"), NULL;
	if (m->data.mapping.pairs.start == m->data.mapping.pairs.top)
		return pfail(p, m, "an empty entry admits everything: name at least one key"), NULL;
	for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->d, pr->key), *v = yaml_document_get_node(p->d, pr->value);
		const char *key = scalar(k);
		struct ks_node *t = NULL;
		bool all = false;
		bool net = resource_keys && p->kind == KS_POL_NETWORK;
		bool path = resource_keys && (p->kind == KS_POL_FILES || p->kind == KS_POL_EXEC);

		if (!key)
			return pfail(p, k, "keys are strings"), NULL;
		if (nk >= sizeof(kids) / sizeof(kids[0]))
			return pfail(p, k, "too many keys"), NULL;
		if (!strcmp(key, "exe")) /* the process doing it: for exec, the one that ran the program */
			t = paths_node(p, p->kind == KS_POL_EXEC ? KS_RF_PARENT_EXE : KS_RF_PROC_EXE, v, true, &all);
		else if (!strcmp(key, "parent") && p->kind != KS_POL_EXEC)
			t = paths_node(p, KS_RF_PARENT_EXE, v, true, &all);
		else if (!strcmp(key, "ancestor"))
			t = paths_node(p, KS_RF_PROC_LINEAGE, v, true, &all);
		else if (!strcmp(key, "user"))
			t = ids_node(p, KS_RF_PROC_USER_UID, v, false);
		else if (!strcmp(key, "group"))
			t = ids_node(p, KS_RF_PROC_GID, v, true);
		else if (!strcmp(key, "login_user"))
			t = login_node(p, v);
		else if (!strcmp(key, "unit"))
			t = names_node(p, KS_RF_PROC_UNIT, v, "unit");
		else if (!strcmp(key, "tty"))
			t = tty_node(p, v);
		else if (path && !strcmp(key, "path"))
			t = paths_node(p, p->kind == KS_POL_FILES ? KS_RF_FILE_PATH : KS_RF_PROC_EXE, v, false, &all);
		else if (net && !strcmp(key, "cidr"))
			t = cidr_node(p, v);
		else if (net && !strcmp(key, "ports"))
			t = ports_node(p, v);
		else if (net && !strcmp(key, "protocol"))
			t = proto_node(p, v);
		else
			return pfail(
			           p, k,
			           "unknown key '%s' (subjects: exe, parent, ancestor, user, group, login_user, unit, "
			           "tty; allow entries also: path for files and exec, cidr, ports, protocol for "
			           "network)",
			           key),
			       NULL;
		if (!t && !all)
			return NULL;
		if (t)
			kids[nk++] = t;
	}
	if (!nk) /* only the root's subtree: everything */
		return ks_node_new(p->c, KS_N_TRUE, 0);
	return group(p, KS_N_AND, kids, nk);
}

/* ---- the policy's scope: class, operations, resource ---- */

static int read_ops(struct pol *p)
{
	yaml_node_t *it[16];
	int n;

	if (!p->ops_node) { /* default: every operation on files; exec; outbound connections */
		p->ops = p->kind == KS_POL_FILES ? KS_POP_READ | KS_POP_WRITE | KS_POP_CREATE | KS_POP_DELETE |
		                                       KS_POP_RENAME | KS_POP_ATTRIB
		         : p->kind == KS_POL_EXEC ? KS_POP_EXEC
		                                  : KS_POP_CONNECT;
		return 0;
	}
	if ((n = items_of(p, p->ops_node, it, 16, "operations")) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < sizeof(pol_ops) / sizeof(pol_ops[0]); k++)
			if (!strcmp(scalar(it[i]), pol_ops[k].name) && pol_ops[k].kind == p->kind)
				break;
		if (k == sizeof(pol_ops) / sizeof(pol_ops[0]))
			return pfail(p, it[i],
			             p->kind == KS_POL_FILES ? "'%s': file operations are read, write, create, delete, "
			                                       "rename, attrib"
			             : p->kind == KS_POL_EXEC ? "'%s': the exec operation is exec"
			                                      : "'%s': network operations are connect, accept, listen",
			             scalar(it[i]));
		p->ops |= pol_ops[k].bit;
	}
	return 0;
}

static struct ks_node *int_in(struct pol *p, enum ks_rfield f, const int *v, uint32_t n, const yaml_node_t *at)
{
	char buf[8][8];
	struct ks_rstr s[8];
	struct ks_rpos pos = pos_of(p, at);

	for (uint32_t i = 0; i < n; i++) {
		snprintf(buf[i], sizeof(buf[i]), "%d", v[i]);
		s[i] = (struct ks_rstr){buf[i], (uint32_t)strlen(buf[i])};
	}
	return ks_make_cmp(p->c, (int)f, KS_OP_IN, s, n, &pos, 0);
}

static struct ks_node *dir_acts(struct pol *p, const char *dir, const int *acts, uint32_t n, const yaml_node_t *at)
{
	struct ks_node *k[2] = {cmp1(p, KS_RF_DIRECTION_ID, KS_OP_EQ, dir, at),
	                        int_in(p, KS_RF_ACTIVITY_ID, acts, n, at)};

	return k[0] && k[1] ? group(p, KS_N_AND, k, 2) : NULL;
}

/* The activities the operations cover (and, for network, their direction). */
static struct ks_node *ops_node(struct pol *p, const yaml_node_t *at)
{
	static const int connect[] = {KS_PACT_NET_OPEN, KS_PACT_NET_FAIL, KS_PACT_NET_REFUSE, KS_PACT_NET_TRAFFIC};
	static const int accept[] = {KS_PACT_NET_OPEN, KS_PACT_NET_TRAFFIC};
	static const int listen[] = {KS_PACT_NET_LISTEN};
	struct ks_node *k[3];
	int acts[8];
	uint32_t n = 0;

	if (p->kind == KS_POL_EXEC) {
		static const int launch[] = {KS_RACT_LAUNCH};

		return int_in(p, KS_RF_ACTIVITY_ID, launch, 1, at);
	}
	if (p->kind == KS_POL_FILES) {
		for (size_t i = 0; i < sizeof(pol_ops) / sizeof(pol_ops[0]); i++)
			if (p->ops & pol_ops[i].bit)
				acts[n++] = pol_ops[i].act;
		return int_in(p, KS_RF_ACTIVITY_ID, acts, n, at);
	}
	if (p->ops & KS_POP_CONNECT && !(k[n++] = dir_acts(p, "2", connect, 4, at)))
		return NULL;
	if (p->ops & KS_POP_ACCEPT && !(k[n++] = dir_acts(p, "1", accept, 2, at)))
		return NULL;
	if (p->ops & KS_POP_LISTEN && !(k[n++] = int_in(p, KS_RF_ACTIVITY_ID, listen, 1, at)))
		return NULL;
	return group(p, KS_N_OR, k, n);
}

/* network: all, or {cidr, ports, protocol}: the destinations the policy governs. */
static struct ks_node *network_scope(struct pol *p, yaml_node_t *v, bool *all)
{
	yaml_node_pair_t *pr;

	*all = scalar(v) && !strcmp(scalar(v), "all");
	if (*all)
		return NULL;
	if (v->type != YAML_MAPPING_NODE)
		return pfail(p, v, "network: all, or {cidr: ..., ports: ..., protocol: ...}"), NULL;
	for (pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
		const char *key = scalar(yaml_document_get_node(p->d, pr->key));

		if (!key || (strcmp(key, "cidr") && strcmp(key, "ports") && strcmp(key, "protocol")))
			return pfail(
			           p, yaml_document_get_node(p->d, pr->key),
			           "network: has cidr, ports and protocol (the subjects go under subject: and allow:)"),
			       NULL;
	}
	return attrs_node(p, v, true);
}

static struct ks_node *resource_scope(struct pol *p, bool *all)
{
	const char *s = scalar(p->resource);

	if (p->kind == KS_POL_NETWORK)
		return network_scope(p, p->resource, all);
	if (s && !strcmp(s, "all")) {
		*all = true;
		return NULL;
	}
	return paths_node(p, p->kind == KS_POL_FILES ? KS_RF_FILE_PATH : KS_RF_PROC_EXE, p->resource, false, all);
}

/* not (entry or entry ...): NULL with *none when the list is empty (nothing is allowed). */
static struct ks_node *allow_node(struct pol *p, bool *none)
{
	static struct nodes entries; /* loads run on one thread; too large for the stack */
	yaml_node_item_t *it;

	entries.n = 0;
	*none = false;
	if (p->allow->type != YAML_SEQUENCE_NODE)
		return pfail(p, p->allow, "allow: a list of entries ({exe: ...}, {unit: ..., cidr: ...}, ...)"), NULL;
	for (it = p->allow->data.sequence.items.start; it < p->allow->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(p->d, *it);

		if (entries.n >= POL_ALLOW_MAX)
			return pfail(p, e, "at most 1024 allow entries"), NULL;
		if (!(entries.v[entries.n++] = attrs_node(p, e, true)))
			return NULL;
	}
	if (!entries.n) {
		*none = true;
		return NULL;
	}
	{
		struct ks_node *any = group(p, KS_N_OR, entries.v, entries.n);

		return any ? not_of(p, any) : NULL;
	}
}

/* ---- keys, summary, output ---- */

static int set_kind(struct pol *p, enum ks_pol_kind kind, yaml_node_t *k, yaml_node_t *v)
{
	if (p->kind)
		return pfail(p, k, "a policy governs one kind of resource: files, exec or network (this one: %s)",
		             kind_names[p->kind]);
	p->kind = kind;
	p->resource = v;
	return 0;
}

static int read_keys(struct pol *p, const struct ks_rdef_rule *def)
{
	yaml_node_pair_t *pr;
	int rc;

	for (pr = def->node->data.mapping.pairs.start; pr < def->node->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->d, pr->key), *v = yaml_document_get_node(p->d, pr->value);
		const char *key = scalar(k);

		if (!key)
			return pfail(p, k, "keys are strings");
		if (!strcmp(key, "files"))
			rc = set_kind(p, KS_POL_FILES, k, v);
		else if (!strcmp(key, "exec"))
			rc = set_kind(p, KS_POL_EXEC, k, v);
		else if (!strcmp(key, "network"))
			rc = set_kind(p, KS_POL_NETWORK, k, v);
		else if (!strcmp(key, "operations"))
			p->ops_node = v, rc = 0;
		else if (!strcmp(key, "subject"))
			p->subject = v, rc = 0;
		else if (!strcmp(key, "allow"))
			p->allow = v, rc = 0;
		else if ((rc = ks_compile_meta(p->c, p->d, p->doc, p->cr, key, v)) > 0)
			return pfail(p, k,
			             "unknown key or wrong type '%s' (a policy has id, title, description, files|exec|"
			             "network, operations, subject, allow, severity, tags, area, output, enabled, "
			             "remediation)",
			             key);
		if (rc)
			return -1;
	}
	if (!p->kind)
		return pfail(p, def->node, "a policy names its resource: files: [...], exec: [...] or network: ...");
	if (!p->allow)
		return pfail(p, def->node, "a policy needs allow: (a list; empty: nothing is allowed)");
	return 0;
}

/* "files /etc/shadow, /etc/gshadow (read)": what the policy governs, for findings and `rules list`. */
static void summarize(struct pol *p)
{
	size_t o = 0, cap = sizeof(p->summary);
	yaml_node_t *it[16];
	int n = 0;

	o += (size_t)snprintf(p->summary, cap, "%s ", kind_names[p->kind]);
	if (p->resource->type == YAML_SCALAR_NODE || p->resource->type == YAML_SEQUENCE_NODE)
		n = items_of(p, p->resource, it, 16, "resource");
	else
		o += (size_t)snprintf(p->summary + o, cap - o, "(destinations)");
	for (int i = 0; i < n && o < cap; i++)
		o += (size_t)snprintf(p->summary + o, cap - o, "%s%s", i ? ", " : "", scalar(it[i]));
	if (o < cap)
		o += (size_t)snprintf(p->summary + o, cap - o, " (");
	for (size_t i = 0, k = 0; i < sizeof(pol_ops) / sizeof(pol_ops[0]) && o < cap; i++)
		if (p->ops & pol_ops[i].bit)
			o += (size_t)snprintf(p->summary + o, cap - o, "%s%s", k++ ? ", " : "", pol_ops[i].name);
	if (o < cap)
		snprintf(p->summary + o, cap - o, ")");
}

/* The default message: the policy, the subject, what it did and to what. */
static int default_output(struct pol *p)
{
	static const char *const subject =
	    "%{process.file.path} (pid %{process.pid}, uid %{process.user.uid}, login uid %{actor.user.uid}, unit "
	    "%{process.unit})";
	char text[KS_R_OUTPUT_MAX];

	if (p->kind == KS_POL_FILES)
		snprintf(text, sizeof(text), "access outside policy %s: %s %%{activity_name} %%{file.path}",
		         p->cr->info.id, subject);
	else if (p->kind == KS_POL_EXEC)
		snprintf(text, sizeof(text),
		         "access outside policy %s: %%{process.parent_process.file.path} (pid "
		         "%%{process.parent_process.pid}, uid %%{process.user.uid}, login uid %%{actor.user.uid}, unit "
		         "%%{process.unit}) ran %%{process.file.path}",
		         p->cr->info.id);
	else
		snprintf(text, sizeof(text),
		         "access outside policy %s: %s %%{connection_info.direction} %%{activity_name} "
		         "%%{src_endpoint.ip}:%%{src_endpoint.port} -> %%{dst_endpoint.ip}:%%{dst_endpoint.port} "
		         "%%{connection_info.protocol_name}",
		         p->cr->info.id, subject);
	return ks_tmpl_compile(p->c, text, strlen(text), p->doc, &p->cr->out);
}

static int set_info(struct pol *p)
{
	struct ks_rule_info *in = &p->cr->info;
	char title[128];

	summarize(p);
	in->policy = true;
	if (!(in->resource = ks_arena_strndup(&p->c->r->arena, p->summary, strlen(p->summary))))
		return -1;
	if (!in->title) {
		snprintf(title, sizeof(title), "Access outside policy %s", in->id);
		if (!(in->title = ks_arena_strndup(&p->c->r->arena, title, strlen(title))))
			return -1;
	}
	return p->cr->out.n ? 0 : default_output(p);
}

int ks_compile_policy(struct ks_pctx *c, const struct ks_rdef_rule *def, struct ks_crule *cr)
{
	struct pol p = {.c = c, .d = def->doc, .doc = &def->pos, .cr = cr};
	struct ks_node *terms[5];
	uint32_t nt = 0;
	bool all = false, none = false;
	static const int classes[] = {0, 1001, 1007, 4001};

	cr->info.id = ks_arena_strndup(&c->r->arena, def->id, strlen(def->id));
	ks_compile_defaults(cr, &def->pos);
	cr->info.policy = true; /* errors from the shared keys say "policy" */
	c->nodes = 0;
	if (!cr->info.id || ks_check_id(c, p.d, p.doc, cr, def->node) || read_keys(&p, def) || read_ops(&p))
		return -1;
	if (!(terms[nt++] = int_in(&p, KS_RF_CLASS_UID, &classes[p.kind], 1, def->node)))
		return -1;
	if (!(terms[nt++] = ops_node(&p, p.ops_node ? p.ops_node : def->node)))
		return -1;
	if ((terms[nt] = resource_scope(&p, &all)))
		nt++;
	else if (!all)
		return -1;
	if (p.subject && !(terms[nt++] = attrs_node(&p, p.subject, false)))
		return -1;
	if ((terms[nt] = allow_node(&p, &none)))
		nt++;
	else if (!none)
		return -1;
	if (!(cr->cond = group(&p, KS_N_AND, terms, nt)))
		return -1;
	cr->kind = KS_RK_PLAIN;
	return set_info(&p);
}
