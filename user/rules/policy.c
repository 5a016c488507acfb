// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Access policies (docs/policy.md): allow-lists per resource. A policy is compiled into the condition
 * "an access it governs, by a subject it governs, that no allow entry admits", so the engine's index,
 * dedupe, rate limit and cost accounting serve policies as they serve rules. Only forms the enforcement
 * side can put in BPF maps are accepted: exact paths, subtree prefixes, whole-component '*', exact
 * executables and units, numeric ids (names are resolved here, once), CIDRs and port ranges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

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

/* ---- one mapping of subject (and, in allow entries, resource) keys: an `and` of its terms ---- */

static struct ks_node *attrs_node(struct pol *p, yaml_node_t *m, bool resource_keys)
{
	struct ks_node *kids[POL_TERMS_MAX * 2];
	uint32_t nk = 0;
	yaml_node_pair_t *pr;

	if (m->type != YAML_MAPPING_NODE)
		return ks_pol_fail(p, m, "a subject or allow entry is a mapping (exe: ..., user: ...)"), NULL;
	if (m->data.mapping.pairs.start == m->data.mapping.pairs.top)
		return ks_pol_fail(p, m, "an empty entry admits everything: name at least one key"), NULL;
	for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->d, pr->key), *v = yaml_document_get_node(p->d, pr->value);
		const char *key = ks_pol_scalar(k);
		struct ks_node *t = NULL;
		bool all = false;
		bool net = resource_keys && p->kind == KS_POL_NETWORK;
		bool path = resource_keys && (p->kind == KS_POL_FILES || p->kind == KS_POL_EXEC);

		if (!key)
			return ks_pol_fail(p, k, "keys are strings"), NULL;
		if (nk >= sizeof(kids) / sizeof(kids[0]))
			return ks_pol_fail(p, k, "too many keys"), NULL;
		if (!strcmp(key, "exe")) /* the process doing it: for exec, the one that ran the program */
			t = ks_pol_paths(p, p->kind == KS_POL_EXEC ? KS_RF_PARENT_EXE : KS_RF_PROC_EXE, v, true, &all);
		else if (!strcmp(key, "parent") && p->kind != KS_POL_EXEC)
			t = ks_pol_paths(p, KS_RF_PARENT_EXE, v, true, &all);
		else if (!strcmp(key, "ancestor"))
			t = ks_pol_paths(p, KS_RF_PROC_LINEAGE, v, true, &all);
		else if (!strcmp(key, "user"))
			t = ks_pol_ids(p, KS_RF_PROC_USER_UID, v, false);
		else if (!strcmp(key, "group"))
			t = ks_pol_ids(p, KS_RF_PROC_GID, v, true);
		else if (!strcmp(key, "login_user"))
			t = ks_pol_login(p, v);
		else if (!strcmp(key, "unit"))
			t = ks_pol_names(p, KS_RF_PROC_UNIT, v, "unit");
		else if (!strcmp(key, "tty"))
			t = ks_pol_tty(p, v);
		else if (path && !strcmp(key, "path"))
			t = ks_pol_paths(p, p->kind == KS_POL_FILES ? KS_RF_FILE_PATH : KS_RF_PROC_EXE, v, false, &all);
		else if (net && !strcmp(key, "cidr"))
			t = ks_pol_cidr(p, v);
		else if (net && !strcmp(key, "ports"))
			t = ks_pol_ports(p, v);
		else if (net && !strcmp(key, "protocol"))
			t = ks_pol_proto(p, v);
		else
			return ks_pol_fail(
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
	return ks_pol_group(p, KS_N_AND, kids, nk);
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
	if ((n = ks_pol_items(p, p->ops_node, it, 16, "operations")) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < sizeof(pol_ops) / sizeof(pol_ops[0]); k++)
			if (!strcmp(ks_pol_scalar(it[i]), pol_ops[k].name) && pol_ops[k].kind == p->kind)
				break;
		if (k == sizeof(pol_ops) / sizeof(pol_ops[0]))
			return ks_pol_fail(
			    p, it[i],
			    p->kind == KS_POL_FILES  ? "'%s': file operations are read, write, create, delete, "
			                               "rename, attrib"
			    : p->kind == KS_POL_EXEC ? "'%s': the exec operation is exec"
			                             : "'%s': network operations are connect, accept, listen",
			    ks_pol_scalar(it[i]));
		p->ops |= pol_ops[k].bit;
	}
	return 0;
}

static struct ks_node *int_in(struct pol *p, enum ks_rfield f, const int *v, uint32_t n, const yaml_node_t *at)
{
	char buf[8][8];
	struct ks_rstr s[8];
	struct ks_rpos pos = ks_pol_pos(p, at);

	for (uint32_t i = 0; i < n; i++) {
		snprintf(buf[i], sizeof(buf[i]), "%d", v[i]);
		s[i] = (struct ks_rstr){buf[i], (uint32_t)strlen(buf[i])};
	}
	return ks_make_cmp(p->c, (int)f, KS_OP_IN, s, n, &pos, 0);
}

static struct ks_node *dir_acts(struct pol *p, const char *dir, const int *acts, uint32_t n, const yaml_node_t *at)
{
	struct ks_node *k[2] = {ks_pol_cmp1(p, KS_RF_DIRECTION_ID, KS_OP_EQ, dir, at),
	                        int_in(p, KS_RF_ACTIVITY_ID, acts, n, at)};

	return k[0] && k[1] ? ks_pol_group(p, KS_N_AND, k, 2) : NULL;
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
	return ks_pol_group(p, KS_N_OR, k, n);
}

/* network: all, or {cidr, ports, protocol}: the destinations the policy governs. */
static struct ks_node *network_scope(struct pol *p, yaml_node_t *v, bool *all)
{
	yaml_node_pair_t *pr;

	*all = ks_pol_scalar(v) && !strcmp(ks_pol_scalar(v), "all");
	if (*all)
		return NULL;
	if (v->type != YAML_MAPPING_NODE)
		return ks_pol_fail(p, v, "network: all, or {cidr: ..., ports: ..., protocol: ...}"), NULL;
	for (pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
		const char *key = ks_pol_scalar(yaml_document_get_node(p->d, pr->key));

		if (!key || (strcmp(key, "cidr") && strcmp(key, "ports") && strcmp(key, "protocol")))
			return ks_pol_fail(
			           p, yaml_document_get_node(p->d, pr->key),
			           "network: has cidr, ports and protocol (the subjects go under subject: and allow:)"),
			       NULL;
	}
	return attrs_node(p, v, true);
}

static struct ks_node *resource_scope(struct pol *p, bool *all)
{
	const char *s = ks_pol_scalar(p->resource);

	if (p->kind == KS_POL_NETWORK)
		return network_scope(p, p->resource, all);
	if (s && !strcmp(s, "all")) {
		*all = true;
		return NULL;
	}
	return ks_pol_paths(p, p->kind == KS_POL_FILES ? KS_RF_FILE_PATH : KS_RF_PROC_EXE, p->resource, false, all);
}

/* not (entry or entry ...): NULL with *none when the list is empty (nothing is allowed). */
static struct ks_node *allow_node(struct pol *p, bool *none)
{
	static struct nodes entries; /* loads run on one thread; too large for the stack */
	yaml_node_item_t *it;

	entries.n = 0;
	*none = false;
	if (p->allow->type != YAML_SEQUENCE_NODE)
		return ks_pol_fail(p, p->allow, "allow: a list of entries ({exe: ...}, {unit: ..., cidr: ...}, ...)"),
		       NULL;
	for (it = p->allow->data.sequence.items.start; it < p->allow->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(p->d, *it);

		if (entries.n >= POL_ALLOW_MAX)
			return ks_pol_fail(p, e, "at most 1024 allow entries"), NULL;
		if (!(entries.v[entries.n++] = attrs_node(p, e, true)))
			return NULL;
	}
	if (!entries.n) {
		*none = true;
		return NULL;
	}
	{
		struct ks_node *any = ks_pol_group(p, KS_N_OR, entries.v, entries.n);

		return any ? ks_pol_not(p, any) : NULL;
	}
}

/* ---- keys, summary, output ---- */

static int set_kind(struct pol *p, enum ks_pol_kind kind, yaml_node_t *k, yaml_node_t *v)
{
	if (p->kind)
		return ks_pol_fail(p, k, "a policy governs one kind of resource: files, exec or network (this one: %s)",
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
		const char *key = ks_pol_scalar(k);

		if (!key)
			return ks_pol_fail(p, k, "keys are strings");
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
			return ks_pol_fail(
			    p, k,
			    "unknown key or wrong type '%s' (a policy has id, title, description, files|exec|"
			    "network, operations, subject, allow, severity, tags, area, output, enabled, "
			    "remediation)",
			    key);
		if (rc)
			return -1;
	}
	if (!p->kind)
		return ks_pol_fail(p, def->node,
		                   "a policy names its resource: files: [...], exec: [...] or network: ...");
	if (!p->allow)
		return ks_pol_fail(p, def->node, "a policy needs allow: (a list; empty: nothing is allowed)");
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
		n = ks_pol_items(p, p->resource, it, 16, "resource");
	else
		o += (size_t)snprintf(p->summary + o, cap - o, "(destinations)");
	for (int i = 0; i < n && o < cap; i++)
		o += (size_t)snprintf(p->summary + o, cap - o, "%s%s", i ? ", " : "", ks_pol_scalar(it[i]));
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
	if (!(cr->cond = ks_pol_group(&p, KS_N_AND, terms, nt)))
		return -1;
	cr->kind = KS_RK_PLAIN;
	return set_info(&p);
}
