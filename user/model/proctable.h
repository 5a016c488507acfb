/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The live process table: one entry per process (thread-group leader) on the host, keyed by pid and
 * identified by (pid, start time) so a reused pid is never confused with the process that had it before.
 * Fed by exec/fork/exit events and the start-up seed; read by the encoders (lineage) and the CLI (ps).
 */
#ifndef KANSOKU_PROCTABLE_H
#define KANSOKU_PROCTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kansoku/events.h"

#define KS_PROC_ID_LEN 33 /* 32 hex digits + NUL */
#define KS_LINEAGE_MAX 64

struct ks_proc {
	uint32_t pid, ppid;
	uint64_t start_ns;        /* CLOCK_BOOTTIME ns */
	uint64_t parent_start_ns; /* identifies the parent entry */
	char id[KS_PROC_ID_LEN];  /* stable unique id: hash(boot id, pid, start) */
	struct ks_creds creds;
	uint32_t flags; /* KS_F_* of the current image */
	uint32_t argv_total;
	uint64_t cgroup_id;
	uint64_t exec_ns;   /* boot ns of the last exec; 0 if only forked or seeded */
	bool seeded;        /* running before the daemon started */
	uint64_t exited_ns; /* boot ns of its exit; kept a little while for events still in flight */
	char comm[KS_COMM_LEN];
	char tty[KS_TTY_LEN];
	char *exe;  /* canonical executable path */
	char *args; /* argv, NUL-separated as the kernel keeps it */
	size_t args_len;
	char *script; /* script path for #! execs */
	char *cgroup; /* cgroup v2 path */
	char *image;  /* the one block exe, args, script and cgroup point into (ks_proc_set_image) */
	struct ks_proc *hnext;
	struct ks_proc *xprev, *xnext; /* the exited list, in order of exit: purge pops its head */
};

/* The image part of an exec or seed, as decoded from the wire (pointers need not be NUL-terminated). */
struct ks_proc_image {
	const char *exe;
	size_t exe_len;
	const char *args;
	size_t args_len;
	const char *script;
	size_t script_len;
	const char *cgroup;
	size_t cgroup_len;
};

struct ks_proctable;

struct ks_proctable *ks_proctable_new(const char *boot_id);
void ks_proctable_free(struct ks_proctable *t);
size_t ks_proctable_count(const struct ks_proctable *t);
/* The table's generation: any exec, fork, exit or purge changes it, so cached encodings know to renew. */
void ks_proctable_touch(struct ks_proctable *t);
uint64_t ks_proctable_gen(const struct ks_proctable *t);

struct ks_proc *ks_proc_lookup(struct ks_proctable *t, uint32_t pid);
/* The entry for (pid, start_ns), created if absent; an entry of an older process with the same pid is
 * reset first (pid reuse). *created tells which. NULL on allocation failure. */
struct ks_proc *ks_proc_get(struct ks_proctable *t, uint32_t pid, uint64_t start_ns, bool *created);
/* Replace the image (exe, args, script, cgroup). Returns -1 on allocation failure (entry kept). */
int ks_proc_set_image(struct ks_proc *p, const struct ks_proc_image *img);
/* A new process: inherits the parent's image and credentials when the parent is known. */
struct ks_proc *ks_proc_fork(struct ks_proctable *t, uint32_t pid, uint64_t start_ns, uint32_t ppid,
                             uint64_t parent_start_ns);
/* The parent entry, if it is still the process that forked p (start times match). */
struct ks_proc *ks_proc_parent(struct ks_proctable *t, const struct ks_proc *p);
/* Ancestors of p, nearest first, at most max; returns how many. Stops at an unknown parent or a cycle. */
size_t ks_proc_lineage(struct ks_proctable *t, const struct ks_proc *p, const struct ks_proc **out, size_t max);
/* Remove (pid, start_ns). Returns false if no such process (unknown pid or a newer one holds it). */
bool ks_proc_remove(struct ks_proctable *t, uint32_t pid, uint64_t start_ns);
/* Mark (pid, start_ns) exited at ts: lookups still find it until ks_proctable_purge removes it, so
 * events that were in flight when it exited (another ring buffer) still name their process. */
bool ks_proc_mark_exited(struct ks_proctable *t, uint32_t pid, uint64_t start_ns, uint64_t ts);
/* Remove processes that exited before `before_ns` (from the oldest exit on: O(removed), not O(table)).
 * Returns how many. */
size_t ks_proctable_purge(struct ks_proctable *t, uint64_t before_ns);
/* The same, but only while more than keep exited entries remain: a bound on how many are kept. */
size_t ks_proctable_purge_beyond(struct ks_proctable *t, uint64_t before_ns, size_t keep);
/* Live entries (not exited) sorted by pid; caller frees the array. */
struct ks_proc **ks_proctable_snapshot(struct ks_proctable *t, size_t *n);

void ks_proc_make_id(const char *boot_id, uint32_t pid, uint64_t start_ns, char out[KS_PROC_ID_LEN]);
/* Bytes of argv without the trailing NULs the kernel keeps. */
size_t ks_proc_args_len(const struct ks_proc *p);
/* Walks argv: returns the argument at *pos (length in *len) and advances *pos, or NULL at the end. */
const char *ks_proc_arg_next(const struct ks_proc *p, size_t *pos, size_t *len);
/* argv joined with spaces for display/cmd_line; returns bytes written (NUL excluded). */
size_t ks_proc_cmdline(const struct ks_proc *p, char *out, size_t outlen);

#endif
