/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-compat flavours: one helper per kernel change, each naming the change. The committed vmlinux.h
 * describes the newest layout; the ___old structs below describe what came before, and CO-RE
 * (bpf_core_field_exists) picks the one the running kernel has at load time. No version gates.
 */
#ifndef KS_COMPAT_BPF_H
#define KS_COMPAT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

/* v5.5, "sched: Rename real_start_time to start_boottime" (cf25e24db61c): before it the boot-based start
 * time was task_struct::real_start_time. */
struct task_struct___old_start {
	u64 real_start_time;
} __attribute__((preserve_access_index));

static __always_inline u64 ks_task_start_ns(struct task_struct *task)
{
	if (bpf_core_field_exists(task->start_boottime))
		return BPF_CORE_READ(task, start_boottime);
	return BPF_CORE_READ((struct task_struct___old_start *)task, real_start_time);
}

/* The same for a BTF task pointer (tracing programs): a plain load instead of a probe read. */
static __always_inline u64 ks_task_start_ns_btf(struct task_struct *task)
{
	if (bpf_core_field_exists(task->start_boottime))
		return task->start_boottime;
	return BPF_CORE_READ((struct task_struct___old_start *)task, real_start_time);
}

/* v6.15, "kernfs: Use RCU to access kernfs_node::parent" renamed kernfs_node::parent to __parent. */
struct kernfs_node___old_parent {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *ks_kernfs_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___old_parent *)kn, parent);
}

/* Audit fields exist only with CONFIG_AUDITSYSCALL/CONFIG_AUDIT; (u32)-1 means "not set", as in audit. */
static __always_inline u32 ks_task_loginuid(struct task_struct *task)
{
	if (bpf_core_field_exists(task->loginuid))
		return BPF_CORE_READ(task, loginuid.val);
	return 0xffffffffu;
}

static __always_inline u32 ks_task_loginuid_btf(struct task_struct *task)
{
	if (bpf_core_field_exists(task->loginuid))
		return task->loginuid.val;
	return 0xffffffffu;
}

static __always_inline u32 ks_task_sessionid(struct task_struct *task)
{
	if (bpf_core_field_exists(task->sessionid))
		return BPF_CORE_READ(task, sessionid);
	return 0xffffffffu;
}

#endif
