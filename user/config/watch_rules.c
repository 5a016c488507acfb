// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * files.watch and files.ignore: each item a path (all operations) or {path, ops} ({path} or {exe} for an
 * ignore rule), the paths canonical. The default watch list is here too, with its reasons.
 */
#include <stdio.h>
#include <string.h>

#include "config/table.h"
#include "kansoku/events.h"

/* The index of each name is its KS_OPS_* bit; "all" is every bit. */
static const char *const op_names[] = {"read", "write", "create", "delete", "rename", "attrib", "all", NULL};
enum { KS_OP_NAME_ALL = 6 };

/* A watch/ignore path: absolute, canonical (no "." or ".." parts, no "//", no trailing '/'). */
static int get_rule_path(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, char *dst, size_t cap)
{
	size_t n;

	if (ks_cfg_get_path(c, key, v, dst, cap))
		return -1;
	n = strlen(dst);
	if (strstr(dst, "//") || strstr(dst, "/./") || strstr(dst, "/../") || (n > 1 && dst[n - 1] == '/') ||
	    (n >= 2 && !strcmp(dst + n - 2, "/.")) || (n >= 3 && !strcmp(dst + n - 3, "/..")))
		return ks_cfg_fail(c, v, "key '%s': '%s' is not a canonical path (no '.', '..', '//' or trailing '/')",
		                   key, dst);
	return 0;
}

static int get_ops(struct ks_cfg_ctx *c, yaml_node_t *seq, unsigned *ops)
{
	yaml_node_item_t *it;
	int o;

	if (seq->type != YAML_SEQUENCE_NODE)
		return ks_cfg_fail(c, seq, "key 'files.watch[].ops': expected a list such as [read, write]");
	*ops = 0;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		if (ks_cfg_get_enum(c, "files.watch[].ops", yaml_document_get_node(c->doc, *it), op_names, &o))
			return -1;
		*ops |= o == KS_OP_NAME_ALL ? KS_OPS_ALL : (1u << o);
	}
	if (!*ops)
		return ks_cfg_fail(c, seq, "key 'files.watch[].ops': empty: give at least one operation");
	return 0;
}

struct rule_arg {
	struct ks_watch_cfg *w;
	bool has_path;
};

static int rule_pair(struct ks_cfg_ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	struct rule_arg *ra = arg;

	if (!strcmp(key, "path") || !strcmp(key, "exe")) {
		if (ra->has_path)
			return ks_cfg_fail(c, v, "give either 'path' or 'exe', once");
		ra->has_path = true;
		ra->w->exe = key[0] == 'e';
		if (ra->w->exe && !ra->w->ignore)
			return ks_cfg_fail(
			    c, v, "key 'exe' belongs in files.ignore (executables whose accesses are not reported)");
		return get_rule_path(c, ra->w->exe ? "files.ignore[].exe" : "files.watch[].path", v, ra->w->path,
		                     sizeof(ra->w->path));
	}
	if (ra->w->ignore)
		return ks_cfg_fail(c, v, "key 'files.ignore[].ops': ignore rules take no ops");
	return get_ops(c, v, &ra->w->ops);
}

/* One item: a path, or a mapping of path/exe and ops. */
static int rule(struct ks_cfg_ctx *c, const char *name, yaml_node_t *n, struct ks_watch_cfg *w, bool ignore)
{
	static const char *const known_watch[] = {"path", "ops", NULL}, *const known_ignore[] = {"path", "exe", NULL};
	struct rule_arg ra = {.w = w};

	memset(w, 0, sizeof(*w));
	w->ignore = ignore;
	w->ops = ignore ? 0 : KS_OPS_ALL;
	w->line = (int)n->start_mark.line + 1;
	if (n->type == YAML_SCALAR_NODE)
		return get_rule_path(c, name, n, w->path, sizeof(w->path));
	if (ks_cfg_each_pair(c, name, n, ignore ? known_ignore : known_watch, rule_pair, &ra))
		return -1;
	if (!ra.has_path)
		return ks_cfg_fail(c, n, "'%s' item: key '%s' is required", name, ignore ? "path' or 'exe" : "path");
	return 0;
}

static int rules(struct ks_cfg_ctx *c, const char *name, struct ks_config *cfg, yaml_node_t *seq, bool ignore)
{
	yaml_node_item_t *it;

	if (seq->type != YAML_SEQUENCE_NODE)
		return ks_cfg_fail(c, seq, "key '%s': expected a list", name);
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(c->doc, *it);

		if (cfg->n_watch == KS_CFG_RULES_MAX)
			return ks_cfg_fail(c, n, "'%s': at most %d rules in all", name, KS_CFG_RULES_MAX);
		if (rule(c, name, n, &cfg->watch[cfg->n_watch], ignore))
			return -1;
		cfg->n_watch++;
	}
	return 0;
}

/* A watch list replaces the default one; ignore rules already read stay. */
int ks_cfg_parse_watch(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, yaml_node_t *v, void *base)
{
	struct ks_config *cfg = base;
	int i, kept = 0;

	(void)k;
	for (i = 0; i < cfg->n_watch; i++)
		if (cfg->watch[i].ignore)
			cfg->watch[kept++] = cfg->watch[i];
	cfg->n_watch = kept;
	return rules(c, key, cfg, v, false);
}

int ks_cfg_parse_ignore(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, yaml_node_t *v, void *base)
{
	(void)k;
	return rules(c, key, base, v, true);
}

/*
 * What a zero-trust auditor asks about first: changes to system configuration, binaries, boot and
 * scheduled jobs; any access to credentials and SSH keys. Reads of ordinary /etc files are left out:
 * every process reads them, and the noise would bury the rest.
 */
void ks_config_default_watch(struct ks_config *cfg)
{
	static const struct {
		const char *path;
		unsigned ops;
	} defaults[] = {
	    {"/etc", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/etc/shadow", KS_OPS_ALL},
	    {"/etc/gshadow", KS_OPS_ALL},
	    {"/etc/sudoers", KS_OPS_ALL},
	    {"/etc/sudoers.d", KS_OPS_ALL},
	    {"/etc/ssh", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/root", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/root/.ssh", KS_OPS_ALL},
	    {"/home/*/.ssh", KS_OPS_ALL},
	    {"/boot", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/usr/bin", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/usr/sbin", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/usr/lib/systemd", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/etc/systemd", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/var/spool/cron", KS_OPS_ALL},
	    {"/etc/cron.d", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/etc/ld.so.preload", KS_OPS_ALL & ~KS_OPS_READ},
	};
	size_t i;

	cfg->n_watch = 0;
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		struct ks_watch_cfg *w = &cfg->watch[cfg->n_watch++];

		memset(w, 0, sizeof(*w));
		snprintf(w->path, sizeof(w->path), "%s", defaults[i].path);
		w->ops = defaults[i].ops;
	}
}

void ks_cfg_default_watch(void *base)
{
	ks_config_default_watch(base);
}
