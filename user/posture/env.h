/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the evaluators share: the root every file is read through (openat2 RESOLVE_IN_ROOT, so an
 * absolute symlink in a mounted image stays inside it) and facts parsed once per evaluation run.
 */
#ifndef KANSOKU_POSTURE_ENV_H
#define KANSOKU_POSTURE_ENV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "host/host.h"
#include "posture/posture.h"

struct ks_pw {
	char *name, *pw, *home, *shell;
	uint32_t uid, gid;
};

struct ks_grp {
	char *name, *pw, *members; /* members: comma-separated */
	uint32_t gid;
};

struct ks_sp {
	char *name, *pw; /* pw stays in memory only to classify it: never written anywhere */
	long last_change, max_days;
};

/* A table file (passwd, group, shadow) read once per run; err != 0 is -errno of the read. */
struct ks_tab {
	bool loaded;
	int err;
	char *text;
	void *rows;
	size_t n;
};

enum { KS_HIT_SUID = 1, KS_HIT_SGID = 2, KS_HIT_WW_DIR = 4, KS_HIT_WW_FILE = 8, KS_HIT_UNOWNED = 16 };
#define KS_WALK_HITS_MAX 2000 /* per kind: a host with more is reported as such, memory stays bounded */

struct ks_walk_hit {
	char *path;
	unsigned kind;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

struct ks_walk {
	bool done;
	int64_t at_ms;
	char err[256];
	struct ks_walk_hit *hits;
	size_t n, cap;
	uint64_t entries;
	size_t count[5];      /* hits kept per kind */
	uint64_t overflow[5]; /* hits beyond KS_WALK_HITS_MAX per kind */
	double cpu_ms;
};

struct ks_posture_env {
	struct ks_posture_cfg cfg;
	int rootfd;
	bool live; /* root is "/": the running host */
	/* which cached facts are loaded (together: no padding between them) */
	bool procs_loaded, listeners_loaded, sshd_loaded, os_loaded;
	bool sshd_absent; /* no sshd installed and no configuration: not applicable */
	bool async_walk;  /* walks run on their own thread (worker.c); checks use the last finished one */
	struct ks_listener *model_listeners; /* the daemon's network model, handed in by the loop */
	size_t n_model_listeners;
	void (*yield_fn)(void *); /* called every few milliseconds of work: posture's CPU budget */
	void *yield_ctx;
	struct ks_tab passwd, group, shadow;
	struct ks_walk walk;
	struct ks_proc_exe *procs;
	size_t n_procs;
	struct ks_listener *listeners;
	size_t n_listeners;
	char listeners_err[256];
	struct json_object *sshd; /* lower-case keyword -> value (first wins), or NULL */
	char sshd_err[512];       /* why sshd is NULL: error text */
	char sshd_source[32];     /* "sshd -T" or "sshd_config" */
	char sshd_t_err[256];     /* why sshd -T was not used, when it was tried */
	struct ks_exe_seen {
		dev_t dev;
		ino_t ino;
		int64_t ctime_ns;
	} exe_safe[256];     /* executables found safe since the last full pass (direct-mapped by inode) */
	char device_uid[64]; /* the daemon's device id (ks_posture_env_set_device): used when live */
	char device_uid_source[KS_MACHINE_ID_SOURCE_MAX]; /* where it came from */
	char os_id[64], os_version_id[64], os_name[128], os_pretty[192];
};

/* Rooted file access. Paths are absolute (inside the root). Return -errno on failure. */
int ks_root_open(struct ks_posture_env *e, const char *path, int flags);
int ks_root_read(struct ks_posture_env *e, const char *path, char **text,
                 size_t *len); /* NUL-terminated, caller frees */
int ks_root_stat(struct ks_posture_env *e, const char *path, struct stat *st, bool follow);
int ks_root_readlink(struct ks_posture_env *e, const char *path, char *buf, size_t len);
/* Names in a directory matching a shell pattern (fnmatch), sorted; caller frees with ks_strv_free. */
int ks_root_glob(struct ks_posture_env *e, const char *pattern, char ***out, size_t *n);
void ks_strv_free(char **v, size_t n);
/* The first line of a small file, trimmed; -errno on failure. */
int ks_root_line(struct ks_posture_env *e, const char *path, char *buf, size_t len);

/* Facts, parsed once per run. NULL with *err = -errno when the file cannot be read. */
const struct ks_pw *ks_facts_passwd(struct ks_posture_env *e, size_t *n, int *err);
const struct ks_grp *ks_facts_group(struct ks_posture_env *e, size_t *n, int *err);
const struct ks_sp *ks_facts_shadow(struct ks_posture_env *e, size_t *n, int *err);
const struct ks_walk *ks_facts_walk(struct ks_posture_env *e);
/* The walk as a job that owns its inputs: prepare and install on the posture thread, execute on the walk
 * thread (or in place for --audit and the tests). */
struct ks_walk_job;
struct ks_walk_job *ks_walk_prepare(struct ks_posture_env *e);
void ks_walk_execute(struct ks_walk_job *j);
void ks_walk_cancel(struct ks_walk_job *j); /* from any thread */
/* Called every 128 entries from the walking thread: the CPU budget. */
void ks_walk_set_yield(struct ks_walk_job *j, void (*fn)(void *), void *ctx);
void ks_walk_job_free(struct ks_walk_job *j);
/* Frees a walk's hits and clears it. */
void ks_walk_free(struct ks_walk *w);
void ks_posture_env_install_walk(struct ks_posture_env *e, struct ks_walk_job *j);
/* Whether an executable (stat of /proc/PID/exe) was found safe since the last full pass; add, clear. */
bool ks_exe_cache_safe(struct ks_posture_env *e, const struct stat *st);
void ks_exe_cache_add(struct ks_posture_env *e, const struct stat *st);
void ks_exe_cache_clear(struct ks_posture_env *e);
const struct ks_proc_exe *ks_facts_procs(struct ks_posture_env *e, size_t *n);
const struct ks_listener *ks_facts_listeners(struct ks_posture_env *e, size_t *n);
/* The effective sshd options (see check_ssh.c). */
struct json_object *ks_facts_sshd(struct ks_posture_env *e);
void ks_facts_os(struct ks_posture_env *e);
/* Which of paths belong to an installed package (dpkg's file lists). Returns -errno if there is no
 * package database; owned[i] set per path. */
int ks_facts_pkg_owned(struct ks_posture_env *e, const char *const *paths, size_t n, bool *owned, char *err,
                       size_t errlen);
/* Password field state, never the hash: "set", "empty", "locked", "none" (no shadow entry). */
const char *ks_pw_state(const char *pw);
/* An account one can log in to (its shell is not nologin, false, sync, halt or shutdown). */
bool ks_login_shell(const char *shell);
/* A file of an #includedir that sudo reads: no '.' in its name, no trailing '~' (sudoers(5)). */
bool ks_sudoers_d_name(const char *name);

/* Small helpers for evaluators. */
const char *ks_param_str(struct json_object *params, const char *key);
bool ks_param_in(struct json_object *arr, const char *v); /* v equals one of an array of strings */
char *ks_trim(char *s);

#endif
