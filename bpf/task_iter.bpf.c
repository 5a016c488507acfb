// SPDX-License-Identifier: GPL-2.0
/*
 * Seeds the daemon's process table with the processes that were running before it started: one
 * KS_EV_SEED record per process (thread-group leader), written to the iterator's seq file. Same identity,
 * credential, path and cgroup code as exec events, so a seeded process looks exactly like an exec'd one.
 * argv is not read here (another task's memory needs a sleepable program); the daemon takes it from /proc.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kansoku/events.h"
#include "maps.bpf.h"
#include "task.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("iter/task")
int ks_seed_tasks(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct ks_exec *e;
	struct file *exe;
	u32 key = 0, off = 0, n;

	if (!task || task->pid != task->tgid)
		return 0;
	e = bpf_map_lookup_elem(&ks_exec_scratch, &key);
	if (!e)
		return 0;
	ks_fill_task(task, e, KS_EV_SEED);
	e->flags |= KS_F_NO_ARGV;

	exe = BPF_CORE_READ(task, mm, exe_file);
	if (exe) {
		off += ks_fill_exe(e, off, exe);
	} else if (task->flags & 0x00200000 /* PF_KTHREAD */) {
		e->flags |= KS_F_KTHREAD;
	}
	n = ks_append_cgroup(e, off, task);
	e->cgroup_len = n;
	off += n;
	e->hdr.size = ks_exec_size(off);
	bpf_seq_write(seq, e, ks_exec_size(off));
	return 0;
}
