// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lib/log.h"

#include "sensors/watch.h"

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

	for (i = 0; i < cfg->n_watch; i++) {
		const struct ks_watch_cfg *w = &cfg->watch[i];

		if (w->exe) /* executables are matched by inode, see ks_watch_ignored_exes */
			continue;
		if (!strchr(w->path, '*')) {
			if (add(rules, &n, max, w->path, w, err, errlen))
				return -1;
			continue;
		}
		/* One '*' component, matched in the kernel: directories made later (a new home) are covered. */
		{
			const char *star = strchr(w->path, '*'), *rest = strchr(star, '/');
			struct ks_rule *r;
			char head[KS_CFG_RULE_PATH];

			if (star == w->path || star[-1] != '/' || (star[1] && star[1] != '/') ||
			    (rest && strchr(rest, '*'))) {
				snprintf(err, errlen,
				         "files: '%s' (line %d): a '*' must be one whole path component, and only one",
				         w->path, w->line);
				return -1;
			}
			snprintf(head, sizeof(head), "%.*s", (int)(star - w->path), w->path);
			if (add(rules, &n, max, head, w, err, errlen))
				return -1;
			r = &rules[n - 1];
			r->flags |= KS_RULE_WILD;
			if (rest && strlen(rest) >= sizeof(r->tail)) {
				snprintf(err, errlen,
				         "files: '%s' (line %d): the part after '*' is longer than %zu bytes", w->path,
				         w->line, sizeof(r->tail) - 1);
				return -1;
			}
			if (rest) {
				r->tail_len = (uint32_t)strlen(rest);
				memcpy(r->tail, rest, r->tail_len);
			}
		}
	}
	return n;
}

uint32_t ks_watch_match(const struct ks_rule *rules, int n, const char *path)
{
	uint32_t best_len = 0, best_ops = 0;
	int i;

	for (i = 0; i < n; i++) {
		uint32_t hl = rules[i].head_len, len = hl;

		if (!hl || strncmp(path, rules[i].head, hl))
			continue;
		if (rules[i].flags & KS_RULE_WILD) { /* the same semantics as ks_match in bpf/file.bpf.c */
			size_t comp = strcspn(path + hl, "/"), tl = rules[i].tail_len;
			const char *after = path + hl + comp;

			if (!comp || (tl && strncmp(after, rules[i].tail, tl)) ||
			    (tl && rules[i].tail[tl - 1] != '/' && after[tl] != '/' && after[tl] != '\0'))
				continue;
			len = hl + (uint32_t)comp + (uint32_t)tl;
		} else if (rules[i].head[hl - 1] != '/' && path[hl] != '/' && path[hl] != '\0') {
			continue;
		}
		if (len > best_len) {
			best_len = len;
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
