// SPDX-License-Identifier: GPL-2.0
/*
 * Process lifecycle: exec, fork, exit. One tracepoint per operation, at the point where the result exists
 * (the new image is installed at sched_process_exec). Each hook has a tp_btf flavour (preferred) and a
 * raw_tp flavour for kernels that cannot attach tp_btf; the daemon enables one of the two at load time.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kansoku/events.h"
#include "maps.bpf.h"
#include "task.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the daemon between open and load (the loader always sets both; the defaults are in config/keys.c). */
const volatile u32 ks_argv_max = 0;     /* argv bytes kept per exec (process.argv_max, < KS_ARGV_MAX) */
const volatile u64 ks_wakeup_bytes = 0; /* 0: wake the reader on every event */

static __always_inline void ks_submit(void *data, u32 size, u32 kind)
{
	if (bpf_ringbuf_output(&ks_rb_process, data, size,
	                       ks_rb_wakeup_flags(&ks_rb_process, ks_wakeup_bytes, size, KS_RB_NOT_YET_QUEUED)))
		ks_count_drop(kind);
}

#define KS_S_IFMT 0170000
#define KS_S_IFSOCK 0140000
#define KS_AF_INET 2
#define KS_AF_INET6 10

/*
 * Which of fd 0, 1, 2 are IPv4/IPv6 sockets (KS_F_STD*_INET): a shell whose stdio is a network connection
 * is the mark of a reverse shell. Unix sockets do not count: systemd gives every service's stdout and
 * stderr a socket to journald. Called at sched_process_exec, where current is the task that exec'd and
 * its close-on-exec descriptors are already closed.
 */
static __always_inline u32 ks_stdio_inet(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	u32 flags = 0;
	int fd;

#pragma unroll
	for (fd = 0; fd < 3; fd++) {
		struct file *f = ks_fd_file(task, fd);
		struct socket *sock;
		u16 family;

		if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & KS_S_IFMT) != KS_S_IFSOCK)
			continue;
		sock = BPF_CORE_READ(f, private_data); /* a sockfs file's private data is its socket */
		family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
		if (family == KS_AF_INET || family == KS_AF_INET6)
			flags |= KS_F_STDIN_INET << fd;
	}
	return flags;
}

static __always_inline int handle_exec(struct task_struct *task, struct linux_binprm *bprm)
{
	u32 key = 0, off = 0, n, len;
	struct ks_exec *e;
	struct file *file;
	struct mm_struct *mm;
	unsigned long arg_start, arg_end;
	const char *filename, *interp;

	e = bpf_map_lookup_elem(&ks_exec_scratch, &key);
	if (!e)
		return 0;
	ks_fill_task(task, e, KS_EV_EXEC);
	e->flags |= ks_stdio_inet();

	/* The executable that was mapped: for a script this is the interpreter. */
	file = BPF_CORE_READ(bprm, file);
	off += ks_fill_exe(e, off, file);

	/* argv from the new mm: what the program really received, after #! rewriting. */
	mm = BPF_CORE_READ(task, mm);
	arg_start = BPF_CORE_READ(mm, arg_start);
	arg_end = BPF_CORE_READ(mm, arg_end);
	len = arg_end > arg_start ? (u32)(arg_end - arg_start) : 0;
	e->argv_total = len;
	if (len > ks_argv_max) {
		len = ks_argv_max;
		e->flags |= KS_F_ARGV_TRUNC;
	}
	len = ks_clamp(len, KS_ARGV_MAX);
	off = ks_clamp(off, KS_DATA_MAX - KS_PATH_MAX);
	if (len && bpf_probe_read_user(&e->data[off], len, (void *)arg_start) == 0) {
		e->argv_len = len;
		off += len;
	}

	/* A script: the interpreter name differs from the file name. The script itself was closed by
	 * binfmt_script, so its name is what was passed to execve; a relative one needs the cwd. */
	filename = BPF_CORE_READ(bprm, filename);
	interp = BPF_CORE_READ(bprm, interp);
	if (filename != interp) {
		char first = 0;

		e->flags |= KS_F_SCRIPT;
		n = ks_append_kstr(e, off, filename);
		e->script_len = n;
		bpf_probe_read_kernel(&first, 1, filename);
		off += n;
		if (first != '/') {
			struct fs_struct *fs = BPF_CORE_READ(task, fs);

			e->flags |= KS_F_SCRIPT_REL;
			n = ks_append_path(e, off, &fs->pwd, KS_F_CWD_TRUNC);
			e->cwd_len = n;
			off += n;
		}
	}

	n = ks_append_cgroup(e, off, task);
	e->cgroup_len = n;
	off += n;

	e->hdr.size = ks_exec_size(off);
	ks_submit(e, ks_exec_size(off), KS_EV_EXEC);
	return 0;
}

static __always_inline int handle_fork(struct task_struct *parent, struct task_struct *child)
{
	struct ks_fork ev = {};

	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0; /* a thread: the process already exists */
	ks_fill_hdr(&ev.hdr, child, KS_EV_FORK);
	ev.hdr.size = sizeof(ev);
	ev.start_ns = ks_task_start_ns(child);
	/* the real parent, not the caller: CLONE_PARENT makes them differ; when a thread other than the main
	 * one forked, real_parent is that thread: the parent process is its group leader */
	parent = BPF_CORE_READ(child, real_parent, group_leader);
	ev.ppid = BPF_CORE_READ(parent, tgid);
	ev.parent_start_ns = ks_task_start_ns(parent);
	ks_submit(&ev, sizeof(ev), KS_EV_FORK);
	return 0;
}

static __always_inline int handle_exit(struct task_struct *task)
{
	struct ks_exit ev = {};

	/* sched_process_exit fires per thread; signal->live reaches 0 for the last one (two threads ending at
	 * the same moment can both see 0: the daemon drops the second record of the same process). */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	ks_fill_hdr(&ev.hdr, task, KS_EV_EXIT);
	ev.hdr.size = sizeof(ev);
	ev.start_ns = ks_task_start_ns(BPF_CORE_READ(task, group_leader));
	ev.exit_code = BPF_CORE_READ(task, exit_code);
	ks_submit(&ev, sizeof(ev), KS_EV_EXIT);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ks_exec_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return handle_exec(p, bprm);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(ks_exec_raw, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return handle_exec(p, bprm);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ks_fork_btf, struct task_struct *parent, struct task_struct *child)
{
	return handle_fork(parent, child);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(ks_fork_raw, struct task_struct *parent, struct task_struct *child)
{
	return handle_fork(parent, child);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ks_exit_btf, struct task_struct *p)
{
	return handle_exit(p);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(ks_exit_raw, struct task_struct *p)
{
	return handle_exit(p);
}
