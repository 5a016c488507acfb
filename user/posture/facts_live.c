// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The running executables: /proc/PID/exe of every process. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "env.h"

/* ---- processes ---- */

const struct ks_proc_exe *ks_facts_procs(struct ks_posture_env *e, size_t *n)
{
	struct dirent *de;
	size_t cap = 0;
	int fd;
	DIR *d;

	if (e->procs_loaded) {
		*n = e->n_procs;
		return e->procs;
	}
	e->procs_loaded = true;
	fd = ks_root_open(e, "/proc", O_RDONLY | O_DIRECTORY);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		*n = 0;
		return NULL;
	}
	while ((de = readdir(d))) {
		char path[64], exe[4096];
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (*end || !pid)
			continue;
		if (e->n_procs == cap) {
			struct ks_proc_exe *np = realloc(e->procs, (cap = cap ? cap * 2 : 256) * sizeof(*np));

			if (!np)
				break;
			e->procs = np;
		}
		snprintf(path, sizeof(path), "/proc/%lu/exe", pid);
		/* kernel threads have no exe: skipped */
		if (ks_root_readlink(e, path, exe, sizeof(exe)))
			continue;
		e->procs[e->n_procs].exe = strdup(exe); /* as long as the path, not 4 KiB a process */
		if (!e->procs[e->n_procs].exe)
			break;
		e->procs[e->n_procs++].pid = (uint32_t)pid;
		if (e->yield_fn && !(e->n_procs % 256))
			e->yield_fn(e->yield_ctx);
	}
	closedir(d);
	*n = e->n_procs;
	return e->procs;
}

/* ---- executables already found safe ---- */

static struct ks_exe_seen *exe_slot(struct ks_posture_env *e, const struct stat *st)
{
	uint64_t h = ((uint64_t)st->st_ino * 0x9e3779b97f4a7c15ull) ^ (uint64_t)st->st_dev;
	size_t slots = sizeof(e->exe_safe) / sizeof(e->exe_safe[0]);

	return &e->exe_safe[(h >> 32) % slots];
}

static int64_t ctime_ns(const struct stat *st)
{
	return (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

bool ks_exe_cache_safe(struct ks_posture_env *e, const struct stat *st)
{
	const struct ks_exe_seen *s = exe_slot(e, st);

	/* a chmod or a new file at the path changes ctime or the inode */
	return s->ino == st->st_ino && s->dev == st->st_dev && s->ctime_ns == ctime_ns(st) && s->ino;
}

void ks_exe_cache_add(struct ks_posture_env *e, const struct stat *st)
{
	*exe_slot(e, st) = (struct ks_exe_seen){.dev = st->st_dev, .ino = st->st_ino, .ctime_ns = ctime_ns(st)};
}

void ks_exe_cache_clear(struct ks_posture_env *e)
{
	memset(e->exe_safe, 0, sizeof(e->exe_safe));
}
