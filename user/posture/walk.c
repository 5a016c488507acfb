// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The filesystem walk: set-id, world-writable and unowned files under the scan paths. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "env.h"

/* ---- the filesystem walk ---- */

/*
 * A walk is a job: everything it needs is copied in (root, scan paths, known IDs), so the daemon can run
 * it on a thread at idle priority while the loop goes on, and --audit or the tests can run it in place.
 */
struct ks_walk_job {
	int rootfd;
	char scan[16][256];
	int n_scan;
	struct {
		dev_t dev;
		ino_t ino;
	} roots[16];
	uint32_t *uids, *gids; /* sorted; NULL: account tables unreadable, unowned files not looked for */
	size_t n_uids, n_gids;
	struct ks_walk w;
	char path[4096];
	dev_t dev;
	atomic_bool cancel; /* the daemon is stopping: give up */
	void (*yield_fn)(void *);
	void *yield_ctx;
};

void ks_walk_free(struct ks_walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->hits[i].path);
	free(w->hits);
	memset(w, 0, sizeof(*w));
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool has_id(const uint32_t *v, size_t n, uint32_t id)
{
	return v && bsearch(&id, v, n, sizeof(*v), cmp_u32);
}

static void walk_hit(struct ks_walk_job *j, unsigned kind, const struct stat *st)
{
	struct ks_walk *w = &j->w;
	int k = __builtin_ctz(kind);

	if (w->count[k] >= KS_WALK_HITS_MAX) {
		w->overflow[k]++;
		return;
	}
	if (w->n == w->cap) {
		struct ks_walk_hit *nh = realloc(w->hits, (w->cap ? w->cap * 2 : 64) * sizeof(*nh));

		if (!nh) {
			w->overflow[k]++;
			return;
		}
		w->hits = nh;
		w->cap = w->cap ? w->cap * 2 : 64;
	}
	w->hits[w->n] = (struct ks_walk_hit){.path = strdup(j->path[0] ? j->path : "/"),
	                                     .kind = kind,
	                                     .mode = st->st_mode,
	                                     .uid = st->st_uid,
	                                     .gid = st->st_gid};
	if (w->hits[w->n].path) {
		w->n++;
		w->count[k]++;
	}
}

static bool other_root(const struct ks_walk_job *j, int self, const struct stat *st)
{
	for (int i = 0; i < j->n_scan; i++)
		if (i != self && j->roots[i].dev == st->st_dev && j->roots[i].ino == st->st_ino)
			return true;
	return false;
}

static void walk_dir(struct ks_walk_job *j, int self, int dfd, int depth)
{
	size_t base = strlen(j->path);
	struct dirent *de;
	DIR *d = fdopendir(dfd);

	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) && !atomic_load_explicit(&j->cancel, memory_order_relaxed)) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!(++j->w.entries % 128) && j->yield_fn)
			j->yield_fn(j->yield_ctx); /* the CPU budget: may sleep */
		if (de->d_type == DT_LNK && j->uids == NULL)
			continue; /* a symlink's mode means nothing; only its owner could matter */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		snprintf(j->path + base, sizeof(j->path) - base, "/%s", de->d_name);
		if (S_ISREG(st.st_mode)) {
			if (st.st_mode & S_ISUID)
				walk_hit(j, KS_HIT_SUID, &st);
			if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP))
				walk_hit(j, KS_HIT_SGID, &st);
			if (st.st_mode & S_IWOTH)
				walk_hit(j, KS_HIT_WW_FILE, &st);
		} else if (S_ISDIR(st.st_mode) && (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
			walk_hit(j, KS_HIT_WW_DIR, &st);
		if (j->uids && (!has_id(j->uids, j->n_uids, st.st_uid) || !has_id(j->gids, j->n_gids, st.st_gid)))
			walk_hit(j, KS_HIT_UNOWNED, &st);
		/* one filesystem per scan path; a directory that is another scan path is walked there */
		if (S_ISDIR(st.st_mode) && st.st_dev == j->dev && depth < 64 && !other_root(j, self, &st)) {
			int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (fd >= 0)
				walk_dir(j, self, fd, depth + 1);
		}
		j->path[base] = 0;
	}
	closedir(d);
}

static double thread_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct ks_walk_job *ks_walk_prepare(struct ks_posture_env *e)
{
	struct ks_walk_job *j = calloc(1, sizeof(*j));
	const struct ks_pw *pw;
	const struct ks_grp *gr;
	size_t npw = 0, ngr = 0;
	int err;

	if (!j)
		return NULL;
	j->rootfd = dup(e->rootfd);
	pw = ks_facts_passwd(e, &npw, &err);
	gr = ks_facts_group(e, &ngr, &err);
	if (pw && gr) { /* unowned files only make sense against readable account tables */
		j->uids = malloc((npw + 1) * sizeof(uint32_t));
		j->gids = malloc((ngr + 1) * sizeof(uint32_t));
		if (j->uids && j->gids) {
			for (size_t i = 0; i < npw; i++)
				j->uids[j->n_uids++] = pw[i].uid;
			for (size_t i = 0; i < ngr; i++)
				j->gids[j->n_gids++] = gr[i].gid;
			qsort(j->uids, j->n_uids, sizeof(uint32_t), cmp_u32);
			qsort(j->gids, j->n_gids, sizeof(uint32_t), cmp_u32);
		} else {
			free(j->uids);
			free(j->gids);
			j->uids = j->gids = NULL;
		}
	}
	for (int i = 0; i < e->cfg.n_scan_paths; i++)
		snprintf(j->scan[j->n_scan++], sizeof(j->scan[0]), "%s", e->cfg.scan_paths[i]);
	return j;
}

void ks_walk_execute(struct ks_walk_job *j)
{
	double t0 = thread_cpu_ms();
	struct timespec now;
	int fds[16];

	memset(fds, 0xff, sizeof(fds)); /* -1: not open */
	/* the scan roots first, so nested ones are walked once */
	for (int i = 0; i < j->n_scan; i++) {
		struct ks_posture_env tmp = {.rootfd = j->rootfd};
		struct stat st;

		/* a scan path that is a symlink (/bin -> usr/bin) is walked where it points, not twice */
		fds[i] = ks_root_open(&tmp, j->scan[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fds[i] >= 0 && !fstat(fds[i], &st)) {
			j->roots[i].dev = st.st_dev;
			j->roots[i].ino = st.st_ino;
		} else if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	for (int i = 0; i < j->n_scan; i++) {
		bool dup = false;

		if (fds[i] < 0)
			continue;
		for (int k = 0; k < i; k++)
			dup |= fds[k] >= 0 && j->roots[k].dev == j->roots[i].dev && j->roots[k].ino == j->roots[i].ino;
		if (dup) {
			close(fds[i]);
			continue;
		}
		j->dev = j->roots[i].dev;
		snprintf(j->path, sizeof(j->path), "%s", strcmp(j->scan[i], "/") ? j->scan[i] : "");
		walk_dir(j, i, fds[i], 0);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	j->w.at_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	j->w.done = true;
	j->w.cpu_ms = thread_cpu_ms() - t0;
}

void ks_walk_set_yield(struct ks_walk_job *j, void (*fn)(void *), void *ctx)
{
	j->yield_fn = fn;
	j->yield_ctx = ctx;
}

void ks_walk_cancel(struct ks_walk_job *j)
{
	atomic_store(&j->cancel, true);
}

void ks_walk_job_free(struct ks_walk_job *j)
{
	if (!j)
		return;
	ks_walk_free(&j->w);
	free(j->uids);
	free(j->gids);
	if (j->rootfd >= 0)
		close(j->rootfd);
	free(j);
}

void ks_posture_env_install_walk(struct ks_posture_env *e, struct ks_walk_job *j)
{
	ks_walk_free(&e->walk);
	e->walk = j->w; /* the hits move over */
	memset(&j->w, 0, sizeof(j->w));
	ks_walk_job_free(j);
}

const struct ks_walk *ks_facts_walk(struct ks_posture_env *e)
{
	struct ks_walk_job *j;

	if (e->walk.done || e->async_walk)
		return &e->walk; /* async: the last finished walk, or none yet (done false) */
	j = ks_walk_prepare(e);
	if (!j) {
		snprintf(e->walk.err, sizeof(e->walk.err), "out of memory");
		return &e->walk;
	}
	ks_walk_execute(j);
	ks_posture_env_install_walk(e, j);
	return &e->walk;
}
