// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --check-config's second half: what the config names must exist or be creatable. Each row of keys.c
 * with an `ensure` function is checked here, so a new path key brings its own check.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/table.h"

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[KS_CFG_PATH_MAX];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* A private directory (state_dir): created 0700, writable. */
int ks_cfg_ensure_dir(const char *where, const char *key, const void *field, char *err, size_t errlen)
{
	const char *dir = field;

	if (mkdir_p(dir, 0700) < 0 || access(dir, W_OK) < 0) {
		snprintf(err, errlen, "%s: key '%s': cannot create or write '%s': %s", where, key, dir,
		         strerror(errno));
		return -1;
	}
	return 0;
}

/* The directory a file will be made in (the socket's). */
int ks_cfg_ensure_parent(const char *where, const char *key, const void *field, char *err, size_t errlen)
{
	char dir[KS_CFG_PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", (const char *)field);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir_p(dir, 0755) < 0 || access(dir, W_OK) < 0) {
		snprintf(err, errlen, "%s: key '%s': cannot create or write directory '%s': %s", where, key, dir,
		         strerror(errno));
		return -1;
	}
	return 0;
}

/* A file appended to (a file output's path): its directory made, the file opened as the output will. */
int ks_cfg_ensure_appendable(const char *where, const char *key, const void *field, char *err, size_t errlen)
{
	const char *path = field;
	char dir[KS_CFG_PATH_MAX], *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir_p(dir, 0750); /* an error shows in the open below */
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s: cannot open '%s' for appending: %s", where, key, path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* The rows of section s that have an ensure function, on the struct at base; line: where it was given. */
static int ensure_section(const struct ks_cfg_section *s, const void *base, const char *source, int line,
                          const char *prefix, char *err, size_t errlen)
{
	char where[KS_CFG_PATH_MAX + 16], key[128];

	for (size_t i = 0; i < s->n; i++) {
		const struct ks_cfg_key *k = &s->keys[i];

		if (!k->ensure)
			continue;
		snprintf(where, sizeof(where), "%s:%d", source,
		         k->has_line ? *(const int *)((const char *)base + k->line_off) : line);
		snprintf(key, sizeof(key), "%s%s", prefix, k->name);
		if (k->ensure(where, key, (const char *)base + k->off, err, errlen))
			return -1;
	}
	return 0;
}

int ks_config_check_paths(const struct ks_config *cfg, char *err, size_t errlen)
{
	char prefix[32];

	if (ensure_section(&ks_cfg_root, cfg, cfg->source, 0, "", err, errlen))
		return -1;
	for (int i = 0; i < cfg->n_outputs; i++) {
		const struct ks_output_cfg *o = &cfg->outputs[i];

		if (o->type != KS_OUT_FILE) /* only a file output writes to its own path */
			continue;
		snprintf(prefix, sizeof(prefix), "outputs[%d].", i);
		if (ensure_section(&ks_cfg_output, o, cfg->source, o->line, prefix, err, errlen))
			return -1;
	}
	return 0;
}
