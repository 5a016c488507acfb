/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Access policies' private types, shared by policy.c (a policy compiled) and policy_values.c (the values it
 * names, checked for what a BPF map can hold and compiled into comparisons). */
#ifndef KANSOKU_RULES_POLICY_INT_H
#define KANSOKU_RULES_POLICY_INT_H

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

struct ks_rpos ks_pol_pos(const struct pol *p, const yaml_node_t *n);
/* "policy 'ID': message" at n; returns -1. */
__attribute__((format(printf, 3, 4))) int ks_pol_fail(const struct pol *p, const yaml_node_t *n, const char *fmt, ...);
const char *ks_pol_scalar(const yaml_node_t *n);
/* A scalar or a sequence of scalars: the items, at most max. Returns the count, -1 on error. */
int ks_pol_items(const struct pol *p, yaml_node_t *n, yaml_node_t **out, int max, const char *what);
struct ks_node *ks_pol_group(struct pol *p, enum ks_nkind kind, struct ks_node *const *kids, uint32_t n);
struct ks_node *ks_pol_cmp1(struct pol *p, enum ks_rfield f, enum ks_rop op, const char *val, const yaml_node_t *at);
struct ks_node *ks_pol_not(struct pol *p, struct ks_node *kid);
/* Paths: exact, subtrees, whole-component '*'; *all when the list names everything. exact_only: executables. */
struct ks_node *ks_pol_paths(struct pol *p, enum ks_rfield f, yaml_node_t *list, bool exact_only, bool *all);
/* uids (group_id false) or gids, numbers or names resolved now. */
struct ks_node *ks_pol_ids(struct pol *p, enum ks_rfield f, yaml_node_t *list, bool group_id);
struct ks_node *ks_pol_names(struct pol *p, enum ks_rfield f, yaml_node_t *list, const char *what);
struct ks_node *ks_pol_login(struct pol *p, yaml_node_t *v);
struct ks_node *ks_pol_tty(struct pol *p, yaml_node_t *v);
struct ks_node *ks_pol_cidr(struct pol *p, yaml_node_t *list);
struct ks_node *ks_pol_ports(struct pol *p, yaml_node_t *list);
struct ks_node *ks_pol_proto(struct pol *p, yaml_node_t *v);

#endif
