// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Rooted file access: openat2(RESOLVE_IN_ROOT), so an image's absolute symlinks stay inside it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "env.h"

/* ---- rooted access ---- */

int ks_root_open(struct ks_posture_env *e, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT};
	const char *rel = path;
	long fd;

	while (*rel == '/')
		rel++;
	if (!*rel)
		rel = ".";
	fd = syscall(SYS_openat2, e->rootfd, rel, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

int ks_root_read(struct ks_posture_env *e, const char *path, char **text, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf;
	int fd = ks_root_open(e, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);

	*text = NULL;
	if (fd < 0)
		return fd;
	buf = malloc(cap);
	for (;;) {
		ssize_t r;

		if (!buf) {
			close(fd);
			return -ENOMEM;
		}
		if (n + 1 >= cap) {
			char *nb = cap >= (64u << 20) ? NULL : realloc(buf, cap * 2);

			if (!nb) { /* a 64 MiB "configuration file" is not one */
				free(buf);
				close(fd);
				return -EFBIG;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int er = -errno;

			free(buf);
			close(fd);
			return er;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	*text = buf;
	if (len)
		*len = n;
	return 0;
}

int ks_root_line(struct ks_posture_env *e, const char *path, char *buf, size_t len)
{
	char *text, *nl;
	int rc = ks_root_read(e, path, &text, NULL);

	if (rc || !text) /* no text without an error cannot happen; the analyzer cannot see it */
		return rc ? rc : -EIO;
	nl = strchr(text, '\n');
	if (nl)
		*nl = 0;
	snprintf(buf, len, "%s", ks_trim(text));
	free(text);
	return 0;
}

int ks_root_stat(struct ks_posture_env *e, const char *path, struct stat *st, bool follow)
{
	int fd = ks_root_open(e, path, O_PATH | (follow ? 0 : O_NOFOLLOW)), rc = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, st))
		rc = -errno;
	close(fd);
	return rc;
}

static int split_parent(const char *path, char *dir, size_t dirlen, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (!slash || !slash[1])
		return -EINVAL;
	snprintf(dir, dirlen, "%.*s", (int)(slash - path), path);
	if (!dir[0])
		snprintf(dir, dirlen, "/");
	*base = slash + 1;
	return 0;
}

int ks_root_readlink(struct ks_posture_env *e, const char *path, char *buf, size_t len)
{
	char dir[4096];
	const char *base;
	ssize_t n;
	int fd;

	if (split_parent(path, dir, sizeof(dir), &base))
		return -EINVAL;
	fd = ks_root_open(e, dir, O_PATH | O_DIRECTORY);
	if (fd < 0)
		return fd;
	n = readlinkat(fd, base, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = 0;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void ks_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

struct glob_out {
	char **v;
	size_t n, cap;
};

static int glob_add(struct glob_out *o, const char *path)
{
	if (o->n == o->cap) {
		size_t nc = o->cap ? o->cap * 2 : 8;
		char **nv = realloc(o->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		o->v = nv;
		o->cap = nc;
	}
	o->v[o->n] = strdup(path);
	if (!o->v[o->n])
		return -ENOMEM;
	o->n++;
	return 0;
}

/* The names in dir matching one component pattern, sorted (hidden ones only for a pattern that says so). */
static int glob_names(struct ks_posture_env *e, const char *dir, const char *comp, char ***names, size_t *nn)
{
	int fd = ks_root_open(e, dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY), rc = 0;
	struct glob_out o = {0};
	struct dirent *de;
	DIR *d;

	*names = NULL;
	*nn = 0;
	if (fd < 0)
		return 0; /* nothing there: no match */
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while (!rc && (de = readdir(d)))
		if ((de->d_name[0] != '.' || comp[0] == '.') && !fnmatch(comp, de->d_name, FNM_PERIOD))
			rc = glob_add(&o, de->d_name);
	closedir(d);
	if (o.n)
		qsort(o.v, o.n, sizeof(*o.v), cmp_str);
	*names = o.v;
	*nn = o.n;
	return rc;
}

/* A pattern whose '*' or '?' may be in any component: expanded component by component. */
static int glob_rec(struct ks_posture_env *e, const char *prefix, const char *rest, struct glob_out *out)
{
	char comp[256], next[4096], **names;
	size_t clen, nn;
	int rc;

	while (*rest == '/')
		rest++;
	if (!*rest)
		return glob_add(out, prefix[0] ? prefix : "/");
	clen = strcspn(rest, "/");
	if (clen >= sizeof(comp))
		return -ENAMETOOLONG;
	memcpy(comp, rest, clen);
	comp[clen] = 0;
	if (!strpbrk(comp, "*?[")) {
		struct stat st;

		snprintf(next, sizeof(next), "%s/%s", prefix, comp);
		return ks_root_stat(e, next, &st, false) ? 0 : glob_rec(e, next, rest + clen, out);
	}
	rc = glob_names(e, prefix, comp, &names, &nn);
	for (size_t i = 0; !rc && i < nn; i++) {
		snprintf(next, sizeof(next), "%s/%s", prefix, names[i]);
		rc = glob_rec(e, next, rest + clen, out);
	}
	ks_strv_free(names, nn);
	return rc;
}

int ks_root_glob(struct ks_posture_env *e, const char *pattern, char ***out, size_t *n)
{
	struct glob_out o = {0};
	int rc = glob_rec(e, "", pattern, &o);

	if (rc) {
		ks_strv_free(o.v, o.n);
		o.v = NULL;
		o.n = 0;
	}
	*out = o.v;
	*n = o.n;
	return rc;
}
