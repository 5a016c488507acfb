/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File access, shared by its two objects: file_syscalls.bpf.c (one thin program per syscall exit, with the
 * open fast path) and file.bpf.c (the two handlers they tail-call: an open file, or a name). Both are
 * linked into the one skeleton (`bpftool gen object`): the maps below are __weak with identical
 * definitions in each object; the daemon's settings are defined in file.bpf.c and declared extern here.
 *
 * The decision is made early and cheaply:
 *   1. a successful open (or an fd operation) looks up a verdict cached per dentry: an unwatched file
 *      costs an fd lookup and one map lookup, no path walk (file_verdict.bpf.h);
 *   2. on a miss the canonical path is resolved from the file and matched against the watch rules;
 *   3. repeats of the same access by the same process inside a window are counted in a map, not sent
 *      (file_agg.bpf.h).
 * Operations without a file (failures, unlink, rename, ...) are matched on dirfd/cwd plus the name.
 * Arguments come from the task's saved user registers (bpf_task_pt_regs), so one exit hook suffices.
 *
 * Each syscall's program is thin: it notes the arguments in a per-CPU request and tail-calls one of two
 * shared handlers. The heavy code is then verified twice, not once per syscall: inlined into 25 programs
 * it took seconds to load.
 */
#ifndef KS_FILE_BPF_H
#define KS_FILE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kansoku/events.h"
#include "maps.bpf.h"
#include "task.bpf.h"

#define AT_FDCWD -100
#define AT_REMOVEDIR 0x200
#define O_ACCMODE 3
#define O_WRONLY 1
#define O_RDWR 2
#define O_CREAT 0100
#define O_TRUNC 01000
#define FMODE_CREATED 0x100000

/* What a syscall's thin program hands to the shared handlers. */
struct ks_freq {
	long ret;
	u32 op, flags, arg2, klass;
	int fd, dfd, dfd2, _pad;
	u64 name, name2; /* user pointers */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct ks_freq);
} ks_file_req SEC(".maps") __weak;

#define KS_H_FILE 0
#define KS_H_NAME 1

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u32);
} ks_file_handlers SEC(".maps") __weak;

struct ks_sys_exit {
	struct trace_entry ent;
	int nr;
	long ret;
};

static __always_inline u32 ks_open_class(u32 flags, u32 fmode)
{
	if (fmode & FMODE_CREATED)
		return KS_OPS_CREATE;
	if ((flags & O_ACCMODE) != 0 || (flags & O_TRUNC))
		return KS_OPS_WRITE;
	return KS_OPS_READ;
}

#endif
