/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Compiling one rule definition (compile.c) and its exceptions (exceptions.c). */
#ifndef KANSOKU_RULES_COMPILE_H
#define KANSOKU_RULES_COMPILE_H

#include "internal.h"

/* The rule in def into cr (zeroed by the caller). Returns -1 with c->err filled. */
int ks_compile_rule(struct ks_pctx *c, const struct ks_rdef_rule *def, struct ks_crule *cr);
/* Folds `exceptions` into cr->cond: cond and not (any exception tuple). */
int ks_compile_exceptions(struct ks_pctx *c, yaml_document_t *d, const struct ks_rpos *doc, struct ks_crule *cr,
                          yaml_node_t *exc);
/* The keys rules and policies share: title, description, remediation, severity, area, tags, enabled, output.
 * Returns 0 (set), -1 (error in c->err), 1 (not one of them). */
int ks_compile_meta(struct ks_pctx *c, yaml_document_t *d, const struct ks_rpos *doc, struct ks_crule *cr,
                    const char *key, yaml_node_t *v);
/* Defaults before the keys are read: enabled, severity medium, area system, file and line of pos. */
void ks_compile_defaults(struct ks_crule *cr, const struct ks_rpos *pos);
/* cr->info.id's shape (letters, digits, '-', '_', '.', at most 64 bytes); n is where errors point. */
int ks_check_id(struct ks_pctx *c, yaml_document_t *d, const struct ks_rpos *doc, struct ks_crule *cr,
                const yaml_node_t *n);
/* An access policy (docs/policy.md) compiled into an equivalent condition: policy.c. */
int ks_compile_policy(struct ks_pctx *c, const struct ks_rdef_rule *def, struct ks_crule *cr);
/* "60s", "500ms", "10m", "1h", or plain seconds. Returns -1 when it is none of those or zero. */
int ks_parse_duration(const char *s, uint64_t *ns);

#endif
