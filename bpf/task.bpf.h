/* SPDX-License-Identifier: GPL-2.0 */
/* Task helpers: identity, credentials, tty, cgroup, and the variable-length segments of ks_exec. */
#ifndef KS_TASK_BPF_H
#define KS_TASK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "kansoku/events.h"
#include "compat.bpf.h"
#include "path.bpf.h"

#define KS_CGROUP_DEPTH 16 /* power of two: used as a mask */
#define KS_CGROUP_NAME 128

/*
 * Clamp in inline asm: the compare and the move act on the very register the caller then uses, so the
 * verifier always sees the bound (a C clamp lets clang pass the unclamped copy to the helper).
 */
#define ks_clamp(v, max)                                                                              \
	({                                                                                            \
		u64 __r = (v);                                                                        \
		asm volatile("if %[r] <= %[m] goto +1; %[r] = %[m];" : [r] "+r"(__r) : [m] "i"(max)); \
		(u32) __r;                                                                            \
	})

static __always_inline void ks_fill_creds(struct task_struct *task, struct ks_creds *c)
{
	const struct cred *cred = BPF_CORE_READ(task, real_cred);

	c->uid = BPF_CORE_READ(cred, uid.val);
	c->gid = BPF_CORE_READ(cred, gid.val);
	c->euid = BPF_CORE_READ(cred, euid.val);
	c->egid = BPF_CORE_READ(cred, egid.val);
	c->loginuid = ks_task_loginuid(task);
	c->sessionid = ks_task_sessionid(task);
}

static __always_inline void ks_fill_tty(struct task_struct *task, struct ks_exec *e)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	u32 major, minor;

	e->tty[0] = '\0';
	e->tty_nr = 0;
	if (!tty)
		return;
	bpf_probe_read_kernel_str(e->tty, sizeof(e->tty), &tty->name);
	major = BPF_CORE_READ(tty, driver, major);
	minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
	e->tty_nr = (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12); /* new_encode_dev */
}

static __always_inline struct kernfs_node *ks_task_cgroup_kn(struct task_struct *task)
{
	return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
}

static __always_inline u64 ks_task_cgroup_id(struct task_struct *task)
{
	return BPF_CORE_READ(ks_task_cgroup_kn(task), id);
}

/* The common header of every record: kind, version, time, ids and cgroup of task. size is set last. */
static __always_inline void ks_fill_hdr(struct ks_hdr *h, struct task_struct *task, u16 kind)
{
	h->kind = kind;
	h->version = KS_WIRE_VERSION;
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->pid = BPF_CORE_READ(task, tgid);
	h->tid = BPF_CORE_READ(task, pid);
	h->cgroup_id = ks_task_cgroup_id(task);
}

/* task must be a BTF pointer (bpf_get_current_task_btf): the walk to the fd array is then plain loads
 * the verifier guards, not helper calls; only the array slot itself needs bpf_probe_read_kernel. */
static __always_inline struct file *ks_fd_file(struct task_struct *task, int fd)
{
	struct fdtable *fdt = task->files->fdt;
	struct file **fds = fdt->fd;
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* The fixed part of an exec/seed record that only needs the task. */
static __always_inline void ks_fill_task(struct task_struct *task, struct ks_exec *e, u16 kind)
{
	/* the parent process: real_parent is the thread that forked, which need not be the main one */
	struct task_struct *parent = BPF_CORE_READ(task, real_parent, group_leader);

	ks_fill_hdr(&e->hdr, task, kind);
	e->start_ns = ks_task_start_ns(task);
	e->ppid = BPF_CORE_READ(parent, tgid);
	e->parent_start_ns = ks_task_start_ns(parent);
	e->flags = 0;
	e->argv_total = 0;
	e->exe_ino = 0;
	e->exe_dev = 0;
	e->exe_mode = 0;
	e->exe_len = e->argv_len = e->script_len = e->cwd_len = e->cgroup_len = 0;
	ks_fill_creds(task, &e->creds);
	ks_fill_tty(task, e);
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), &task->comm);
}

/*
 * Append a resolved path at data[off]; returns the bytes written (NUL included). Every segment starts
 * below KS_DATA_MAX - KS_PATH_MAX, so a full-size string always fits.
 */
static __always_inline u32 ks_append_path(struct ks_exec *e, u32 off, const struct path *path, u32 trunc_flag)
{
	struct ks_path_result res = {};
	u32 n;

	off = ks_clamp(off, KS_DATA_MAX - KS_PATH_MAX);
	n = ks_path_to(path, (char *)&e->data[off], &res);
	if (res.status == KS_PATH_TRUNCATED)
		e->flags |= trunc_flag;
	else if (res.status == KS_PATH_UNREACHABLE && trunc_flag == KS_F_PATH_TRUNC)
		e->flags |= KS_F_PSEUDO;
	if (res.deleted && trunc_flag == KS_F_PATH_TRUNC)
		e->flags |= KS_F_DELETED;
	return n;
}

/* The executable's identity (inode, device, mode) and canonical path, appended at data[off], for exec
 * and seed records alike; returns the bytes written. */
static __always_inline u32 ks_fill_exe(struct ks_exec *e, u32 off, struct file *file)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	u32 n;

	e->exe_ino = BPF_CORE_READ(inode, i_ino);
	e->exe_dev = BPF_CORE_READ(inode, i_sb, s_dev);
	e->exe_mode = BPF_CORE_READ(inode, i_mode);
	n = ks_append_path(e, off, &file->f_path, KS_F_PATH_TRUNC);
	e->exe_len = n;
	return n;
}

/* Append a kernel string (bprm->filename) at data[off]. */
static __always_inline u32 ks_append_kstr(struct ks_exec *e, u32 off, const char *s)
{
	long n;

	off = ks_clamp(off, KS_DATA_MAX - KS_PATH_MAX);
	n = bpf_probe_read_kernel_str(&e->data[off], KS_PATH_MAX, s);
	return n > 0 ? (u32)n : 0;
}

/* cgroup v2 path, e.g. /system.slice/ssh.service. Collect the chain first, then copy root to leaf. */
static __always_inline u32 ks_append_cgroup(struct ks_exec *e, u32 off, struct task_struct *task)
{
	struct kernfs_node *chain[KS_CGROUP_DEPTH];
	struct kernfs_node *kn = ks_task_cgroup_kn(task);
	u32 depth = 0, start = off;
	int i;

#pragma unroll
	for (i = 0; i < KS_CGROUP_DEPTH; i++) {
		struct kernfs_node *parent;

		if (!kn)
			break;
		parent = ks_kernfs_parent(kn);
		if (!parent) /* the root of the hierarchy has no name of its own */
			break;
		chain[depth & (KS_CGROUP_DEPTH - 1)] = kn;
		depth++;
		kn = parent;
	}
	if (kn && ks_kernfs_parent(kn))
		e->flags |= KS_F_CGROUP_TRUNC;

#pragma unroll
	for (i = KS_CGROUP_DEPTH - 1; i >= 0; i--) {
		const char *name;
		long n;

		if ((u32)i >= depth)
			continue;
		off = ks_clamp(off, KS_DATA_MAX - KS_PATH_MAX);
		e->data[off] = '/';
		off++;
		off = ks_clamp(off, KS_DATA_MAX - KS_PATH_MAX);
		name = BPF_CORE_READ(chain[i], name);
		n = bpf_probe_read_kernel_str(&e->data[off], KS_CGROUP_NAME, name);
		if (n > 1)
			off += n - 1;
	}
	off = ks_clamp(off, KS_DATA_MAX - KS_PATH_MAX);
	/* decided on depth, not by comparing offsets: 6.1's verifier mis-refines `off == start` between two
	 * bounded scalars and loses the map pointer (seen in the kernel-matrix test) */
	if (depth == 0) {
		e->data[off] = '/';
		off++;
		off = ks_clamp(off, KS_DATA_MAX - KS_PATH_MAX);
	}
	e->data[off] = '\0';
	return off + 1 - start;
}

static __always_inline u32 ks_exec_size(u32 tail)
{
	return KS_EXEC_FIXED_SIZE + ks_clamp(tail, KS_DATA_MAX);
}

#endif
