// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kansoku/log.h"

#include "kansoku/watch.h"

static int add(struct ks_rule *rules, int *n, int max, const char *path, const struct ks_watch_cfg *w, char *err,
               size_t errlen)
{
	struct ks_rule *r;
	size_t len = strlen(path);

	if (*n == max) {
		snprintf(err, errlen, "files: more than %d watch/ignore rules after expanding wildcards (line %d)", max,
		         w->line);
		return -1;
	}
	if (len >= sizeof(r->head)) {
		snprintf(err, errlen, "files: path longer than %zu bytes: %s", sizeof(r->head) - 1, path);
		return -1;
	}
	r = &rules[(*n)++];
	memset(r, 0, sizeof(*r));
	memcpy(r->head, path, len);
	r->head_len = (u32)len;
	r->ops = w->ignore ? 0 : w->ops;
	r->flags = w->ignore ? KS_RULE_IGNORE : 0;
	return 0;
}

int ks_watch_build(const struct ks_config *cfg, struct ks_rule *rules, int max, char *err, size_t errlen)
{
	int i, n = 0;
	size_t k;

	for (i = 0; i < cfg->n_watch; i++) {
		const struct ks_watch_cfg *w = &cfg->watch[i];
		glob_t g;

		if (w->exe) /* executables are matched by inode, see ks_watch_ignored_exes */
			continue;
		if (!strchr(w->path, '*')) {
			if (add(rules, &n, max, w->path, w, err, errlen))
				return -1;
			continue;
		}
		/* The wildcard part matches the directories that exist now (each home directory); what follows it
		 * is appended whether it exists yet or not, so a ~/.ssh made later is watched too. */
		{
			char pat[KS_CFG_RULE_PATH], full[2 * KS_CFG_RULE_PATH];
			const char *rest = strchr(strchr(w->path, '*'), '/');

			snprintf(pat, sizeof(pat), "%.*s", rest ? (int)(rest - w->path) : (int)strlen(w->path),
			         w->path);
			if (glob(pat, GLOB_NOSORT | GLOB_ONLYDIR, NULL, &g) != 0)
				continue; /* nothing matches now */
			for (k = 0; k < g.gl_pathc; k++) {
				snprintf(full, sizeof(full), "%s%s", g.gl_pathv[k], rest ? rest : "");
				if (add(rules, &n, max, full, w, err, errlen)) {
					globfree(&g);
					return -1;
				}
			}
			globfree(&g);
		}
	}
	return n;
}

uint32_t ks_watch_match(const struct ks_rule *rules, int n, const char *path)
{
	uint32_t best_len = 0, best_ops = 0;
	int i;

	for (i = 0; i < n; i++) {
		uint32_t hl = rules[i].head_len;

		if (!hl || strncmp(path, rules[i].head, hl))
			continue;
		if (rules[i].head[hl - 1] != '/' && path[hl] != '/' && path[hl] != '\0')
			continue;
		if (hl > best_len) {
			best_len = hl;
			best_ops = (rules[i].flags & KS_RULE_IGNORE) ? 0 : rules[i].ops;
		}
	}
	return best_ops;
}

void ks_path_normalize(char *path)
{
	char *out = path, *p = path;

	if (*p != '/')
		return;
	while (*p) {
		char *seg;
		size_t len;

		while (*p == '/')
			p++;
		seg = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - seg);
		if (len == 0 || (len == 1 && seg[0] == '.'))
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > path && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, len);
		out += len;
	}
	if (out == path)
		*out++ = '/';
	*out = '\0';
}

int ks_watch_ignored_exes(const struct ks_config *cfg, struct ks_exe_id *out, int max)
{
	int i, n = 0;

	for (i = 0; i < cfg->n_watch && n < max; i++) {
		struct stat st;

		if (!cfg->watch[i].exe)
			continue;
		if (stat(cfg->watch[i].path, &st) < 0) {
			ks_warn("files.ignore (line %d): executable %s: %s; not ignored", cfg->watch[i].line,
			        cfg->watch[i].path, strerror(errno));
			continue;
		}
		memset(&out[n], 0, sizeof(out[n]));
		out[n].ino = (uint64_t)st.st_ino;
		out[n].dev =
		    (uint32_t)(((major(st.st_dev) & 0xfff) << 20) | (minor(st.st_dev) & 0xfffff)); /* kernel dev_t */
		n++;
	}
	return n;
}
