// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The installed system: os-release, and which files a package owns (dpkg's file lists). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"

/* ---- os-release ---- */

void ks_facts_os(struct ks_posture_env *e)
{
	char *text, *line, *save = NULL;

	if (e->os_loaded)
		return;
	e->os_loaded = true;
	e->os_id[0] = e->os_version_id[0] = e->os_name[0] = e->os_pretty[0] = 0;
	if (ks_root_read(e, "/etc/os-release", &text, NULL) && ks_root_read(e, "/usr/lib/os-release", &text, NULL))
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '='), *v;

		if (!eq)
			continue;
		*eq = 0;
		v = eq + 1;
		if (*v == '"' || *v == '\'') {
			v++;
			v[strcspn(v, "\"'")] = 0;
		}
		if (!strcmp(line, "ID"))
			snprintf(e->os_id, sizeof(e->os_id), "%s", v);
		else if (!strcmp(line, "VERSION_ID"))
			snprintf(e->os_version_id, sizeof(e->os_version_id), "%s", v);
		else if (!strcmp(line, "NAME"))
			snprintf(e->os_name, sizeof(e->os_name), "%s", v);
		else if (!strcmp(line, "PRETTY_NAME"))
			snprintf(e->os_pretty, sizeof(e->os_pretty), "%s", v);
	}
	free(text);
}

/* ---- package ownership (dpkg file lists) ---- */

struct owned_q {
	const char *path;
	size_t idx;
};

static int cmp_q(const void *a, const void *b)
{
	return strcmp(((const struct owned_q *)a)->path, ((const struct owned_q *)b)->path);
}

static void mark(struct owned_q *q, size_t n, const char *path, bool *owned)
{
	struct owned_q key = {.path = path}, *hit = bsearch(&key, q, n, sizeof(*q), cmp_q);
	size_t at, i;

	if (!hit)
		return;
	at = (size_t)(hit - q);
	/* equal paths sit together: mark them all */
	for (i = at; i < n && !strcmp(q[i].path, path); i++)
		owned[q[i].idx] = true;
	for (i = at; i-- > 0 && !strcmp(q[i].path, path);)
		owned[q[i].idx] = true;
}

int ks_facts_pkg_owned(struct ks_posture_env *e, const char *const *paths, size_t n, bool *owned, char *err,
                       size_t errlen)
{
	struct owned_q *q;
	struct stat st;
	struct dirent *de;
	int fd;
	DIR *d;

	for (size_t i = 0; i < n; i++)
		owned[i] = false;
	q = malloc((n + 1) * sizeof(*q));
	if (!q) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		q[i] = (struct owned_q){.path = paths[i], .idx = i};
	qsort(q, n, sizeof(*q), cmp_q);
	if (ks_root_stat(e, "/var/lib/dpkg/status", &st, true)) {
		snprintf(err, errlen, "no package database: /var/lib/dpkg/status is missing");
		free(q);
		return -ENOENT;
	}
	fd = ks_root_open(e, "/var/lib/dpkg/info", O_RDONLY | O_DIRECTORY);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "cannot list /var/lib/dpkg/info: %s", strerror(fd < 0 ? -fd : errno));
		free(q);
		return -ENOENT;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char path[512], *text, *line, *save = NULL;

		if (len < 6 || strcmp(de->d_name + len - 5, ".list"))
			continue;
		snprintf(path, sizeof(path), "/var/lib/dpkg/info/%s", de->d_name);
		if (ks_root_read(e, path, &text, NULL))
			continue;
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char usr[4200];

			mark(q, n, line, owned);
			/* dpkg records the path a package shipped; on merged-/usr systems /bin/x is /usr/bin/x */
			if (!strncmp(line, "/bin/", 5) || !strncmp(line, "/sbin/", 6) || !strncmp(line, "/lib", 4)) {
				snprintf(usr, sizeof(usr), "/usr%s", line);
				mark(q, n, usr, owned);
			}
		}
		free(text);
		if (e->yield_fn)
			e->yield_fn(e->yield_ctx);
	}
	closedir(d);
	free(q);
	return 0;
}
