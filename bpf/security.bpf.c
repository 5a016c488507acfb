// SPDX-License-Identifier: GPL-2.0
/*
 * Security-relevant syscalls the detection rules need and no other sensor sees: ptrace attach and writes
 * into a tracee, kernel module loading, and a set-id bit set by chmod anywhere on the host. Syscall exit
 * tracepoints only (this kernel family refuses kprobes, fentry and LSM hooks), so the result is known; the
 * arguments come from the task's saved user registers. Each syscall is filtered here on the cheap fields
 * (the request, the mode) before anything is built: an ordinary chmod or PTRACE_PEEK costs a compare.
 * Records go to the process ring buffer and wake the reader at once (they are rare and urgent).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kansoku/events.h"
#include "maps.bpf.h"
#include "task.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define KS_AT_FDCWD -100
#define KS_S_ISUID 04000
#define KS_S_ISGID 02000
#define KS_TRACEES_SCAN 8 /* tracees looked at to find the one a request names */

/* Set by the daemon before load: its mount namespace, to flag records from other namespaces. */
const volatile u32 ks_sec_host_mntns = 0;

struct ks_sys_exit_ctx {
	struct trace_entry ent;
	int nr;
	long ret;
};

/* The largest record, per CPU: the set-id record holds two paths. */
union ks_sec_rec {
	struct ks_kmod kmod;
	struct ks_setid setid;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, union ks_sec_rec);
} ks_sec_scratch SEC(".maps");

/* (tracer tgid, tracee tid) pairs already reported for a write: one event per pair, not one per poke. */
struct ks_poke_key {
	u32 tracer;
	u32 tracee;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ks_poke_key);
	__type(value, u8);
} ks_sec_pokes SEC(".maps");

static __always_inline void ks_sec_submit(void *rec, u32 size, u32 kind)
{
	if (bpf_ringbuf_output(&ks_rb_process, rec, size, 0))
		ks_count_drop(kind);
}

static __always_inline struct pt_regs *ks_sec_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

static __always_inline u32 ks_sec_mntns(struct task_struct *task, u32 *sflags)
{
	u32 ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);

	if (ks_sec_host_mntns && ns != ks_sec_host_mntns)
		*sflags |= KS_SF_OTHER_MNTNS;
	return ns;
}

/* Resolve path into dst (KS_PATH_MAX bytes); returns bytes written, NUL included. */
static __always_inline u32 ks_sec_path(const struct path *path, char *dst, u32 *sflags)
{
	struct ks_path_result res = {};
	u32 n = ks_path_to(path, dst, &res);

	if (res.status == KS_PATH_TRUNCATED)
		*sflags |= KS_SF_PATH_TRUNC;
	else if (res.status == KS_PATH_UNREACHABLE)
		*sflags |= KS_SF_UNREACHABLE;
	if (res.deleted)
		*sflags |= KS_SF_DELETED;
	return n;
}

/* ---- ptrace ---- */

static __always_inline struct task_struct *ks_tracee_of(struct list_head *node)
{
	return (struct task_struct *)((void *)node - bpf_core_field_offset(struct task_struct, ptrace_entry));
}

/*
 * The tracee a request names, from the tracer thread's own list of tracees: after a successful attach it
 * is the head (the kernel adds at the front); otherwise the entry whose host tid is the argument (which
 * holds when the tracer lives in the host's pid namespace).
 */
static __always_inline struct task_struct *ks_find_tracee(struct task_struct *tracer, u32 pid, bool head)
{
	struct list_head *first = &tracer->ptraced, *node = BPF_CORE_READ(tracer, ptraced.next);
	int i;

	if (head)
		return node != first ? ks_tracee_of(node) : NULL;
#pragma unroll
	for (i = 0; i < KS_TRACEES_SCAN; i++) {
		struct task_struct *t;

		if (!node || node == first)
			return NULL;
		t = ks_tracee_of(node);
		if ((u32)BPF_CORE_READ(t, pid) == pid)
			return t;
		node = BPF_CORE_READ(node, next);
	}
	return NULL;
}

SEC("tracepoint/syscalls/sys_exit_ptrace")
int ks_sec_ptrace_exit(struct ks_sys_exit_ctx *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf(), *t;
	struct pt_regs *regs = ks_sec_regs();
	u32 req = (u32)PT_REGS_PARM1_CORE_SYSCALL(regs), arg = (u32)PT_REGS_PARM2_CORE_SYSCALL(regs);
	bool attach = req == KS_PTRACE_ATTACH || req == KS_PTRACE_SEIZE;
	long ret = ctx->ret; /* read once: the verifier refuses a ctx pointer clang kept offset */
	struct ks_ptrace ev = {};

	if (!attach && req != KS_PTRACE_POKETEXT && req != KS_PTRACE_POKEDATA && req != KS_PTRACE_POKEUSR &&
	    req != KS_PTRACE_SETREGS && req != KS_PTRACE_SETREGSET)
		return 0;
	if (!attach && ret < 0)
		return 0; /* a failed write changed nothing */
	t = ks_find_tracee(task, arg, attach && ret == 0);
	if (!attach) {
		struct ks_poke_key k = {.tracer = task->tgid, .tracee = t ? (u32)BPF_CORE_READ(t, pid) : arg};
		u8 one = 1;

		if (bpf_map_lookup_elem(&ks_sec_pokes, &k))
			return 0;
		bpf_map_update_elem(&ks_sec_pokes, &k, &one, BPF_ANY);
	}
	ks_fill_hdr(&ev.hdr, task, KS_EV_PTRACE);
	ev.hdr.size = sizeof(ev);
	ev.start_ns = ks_task_start_ns(task->group_leader);
	ks_fill_creds(task, &ev.creds);
	ev.ret = (s32)ret;
	ev.request = req;
	ev.target_arg = arg;
	ev.addr = (u64)PT_REGS_PARM3_CORE_SYSCALL(regs);
	bpf_probe_read_kernel_str(ev.comm, sizeof(ev.comm), &task->comm);
	if (t) {
		struct task_struct *leader = BPF_CORE_READ(t, group_leader);

		ev.target_pid = BPF_CORE_READ(t, tgid);
		ev.target_tid = BPF_CORE_READ(t, pid);
		ev.target_start_ns = ks_task_start_ns(leader);
		bpf_probe_read_kernel_str(ev.target_comm, sizeof(ev.target_comm), &leader->comm);
	}
	ks_sec_submit(&ev, sizeof(ev), KS_EV_PTRACE);
	return 0;
}

/* ---- kernel modules ---- */

static __always_inline struct ks_kmod *ks_kmod_begin(struct task_struct *task, u32 call, long ret)
{
	u32 key = 0;
	union ks_sec_rec *r = bpf_map_lookup_elem(&ks_sec_scratch, &key);
	struct ks_kmod *m;

	if (!r)
		return NULL;
	m = &r->kmod;
	ks_fill_hdr(&m->hdr, task, KS_EV_KMOD);
	m->start_ns = ks_task_start_ns(task->group_leader);
	ks_fill_creds(task, &m->creds);
	m->ret = (s32)ret;
	m->call = call;
	m->sflags = 0;
	m->mod_flags = 0;
	m->image_len = 0;
	m->ino = 0;
	m->dev = 0;
	m->mntns = ks_sec_mntns(task, &m->sflags);
	m->path_len = m->params_len = 0;
	bpf_probe_read_kernel_str(m->comm, sizeof(m->comm), &task->comm);
	return m;
}

/* The parameters string after the path, then send. */
static __always_inline void ks_kmod_finish(struct ks_kmod *m, const char *uargs)
{
	u32 off = ks_clamp(m->path_len, KS_PATH_MAX);
	long n = 0;

	if (uargs)
		n = bpf_probe_read_user_str(&m->data[off], KS_KMOD_PARAMS_MAX, uargs);
	if (n <= 0) {
		m->data[off] = '\0';
		n = 1;
	} else if (n == KS_KMOD_PARAMS_MAX) {
		m->sflags |= KS_SF_PARAMS_TRUNC;
	}
	m->params_len = (u16)n;
	off = ks_clamp(off + (u32)n, KS_PATH_MAX + KS_KMOD_PARAMS_MAX);
	m->hdr.size = KS_KMOD_FIXED_SIZE + off;
	ks_sec_submit(m, KS_KMOD_FIXED_SIZE + off, KS_EV_KMOD);
}

SEC("tracepoint/syscalls/sys_exit_init_module")
int ks_sec_kmod_init_exit(struct ks_sys_exit_ctx *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = ks_sec_regs();
	struct ks_kmod *m = ks_kmod_begin(task, KS_KMOD_INIT, ctx->ret);

	if (!m)
		return 0;
	m->image_len = (u64)PT_REGS_PARM2_CORE_SYSCALL(regs);
	ks_kmod_finish(m, (const char *)PT_REGS_PARM3_CORE_SYSCALL(regs));
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_finit_module")
int ks_sec_kmod_finit_exit(struct ks_sys_exit_ctx *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = ks_sec_regs();
	struct ks_kmod *m = ks_kmod_begin(task, KS_KMOD_FINIT, ctx->ret);
	struct file *f;

	if (!m)
		return 0;
	m->mod_flags = (u32)PT_REGS_PARM3_CORE_SYSCALL(regs);
	f = ks_fd_file(task, (int)PT_REGS_PARM1_CORE_SYSCALL(regs));
	if (f) {
		m->ino = BPF_CORE_READ(f, f_inode, i_ino);
		m->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
		m->sflags |= KS_SF_FROM_FILE;
		m->path_len = (u16)ks_sec_path(&f->f_path, m->data, &m->sflags);
	}
	ks_kmod_finish(m, (const char *)PT_REGS_PARM2_CORE_SYSCALL(regs));
	return 0;
}

/* ---- set-id bits ---- */

static __always_inline struct ks_setid *ks_setid_begin(struct task_struct *task, u32 call, u32 mode)
{
	u32 key = 0;
	union ks_sec_rec *r = bpf_map_lookup_elem(&ks_sec_scratch, &key);
	struct ks_setid *s;

	if (!r)
		return NULL;
	s = &r->setid;
	ks_fill_hdr(&s->hdr, task, KS_EV_SETID);
	s->start_ns = ks_task_start_ns(task->group_leader);
	ks_fill_creds(task, &s->creds);
	s->ret = 0;
	s->call = call;
	s->mode = mode;
	s->sflags = 0;
	s->ino = 0;
	s->dev = s->file_mode = s->owner_uid = s->owner_gid = 0;
	s->mntns = ks_sec_mntns(task, &s->sflags);
	s->base_len = s->name_len = 0;
	bpf_probe_read_kernel_str(s->comm, sizeof(s->comm), &task->comm);
	return s;
}

static __always_inline void ks_setid_send(struct ks_setid *s)
{
	u32 size = ks_clamp((u32)s->base_len + s->name_len, 2 * KS_PATH_MAX);

	s->hdr.size = KS_SETID_FIXED_SIZE + size;
	ks_sec_submit(s, KS_SETID_FIXED_SIZE + size, KS_EV_SETID);
}

/* chmod(name), fchmodat(dfd, name), fchmodat2(dfd, name): the base directory resolved here when the name
 * is relative; user space joins and folds "." and "..". */
static __always_inline int ks_setid_name(long ret, u32 call, int dfd, const char *uname, u32 mode)
{
	struct task_struct *task;
	struct ks_setid *s;
	char first = 0;
	u32 off = 0;
	long n;

	if (ret < 0 || !(mode & (KS_S_ISUID | KS_S_ISGID)))
		return 0;
	task = bpf_get_current_task_btf();
	s = ks_setid_begin(task, call, mode);
	if (!s)
		return 0;
	bpf_probe_read_user(&first, 1, uname);
	if (first != '/') {
		const struct path *base = NULL;

		if (dfd == KS_AT_FDCWD) {
			base = &task->fs->pwd;
		} else {
			struct file *df = ks_fd_file(task, dfd);

			if (df)
				base = &df->f_path;
		}
		if (base)
			off = ks_sec_path(base, s->data, &s->sflags);
	}
	s->base_len = (u16)off;
	off = ks_clamp(off, KS_PATH_MAX);
	n = bpf_probe_read_user_str(&s->data[off], KS_PATH_MAX, uname);
	if (n <= 0) {
		s->data[off] = '\0';
		n = 1;
	} else if (n == KS_PATH_MAX) {
		s->sflags |= KS_SF_NAME_TRUNC;
	}
	s->name_len = (u16)n;
	ks_setid_send(s);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_chmod")
int ks_sec_setid_chmod_exit(struct ks_sys_exit_ctx *ctx)
{
	struct pt_regs *regs = ks_sec_regs();

	return ks_setid_name(ctx->ret, KS_SETID_CHMOD, KS_AT_FDCWD, (const char *)PT_REGS_PARM1_CORE_SYSCALL(regs),
	                     (u32)PT_REGS_PARM2_CORE_SYSCALL(regs));
}

SEC("tracepoint/syscalls/sys_exit_fchmodat")
int ks_sec_setid_fchmodat_exit(struct ks_sys_exit_ctx *ctx)
{
	struct pt_regs *regs = ks_sec_regs();

	return ks_setid_name(ctx->ret, KS_SETID_FCHMODAT, (int)PT_REGS_PARM1_CORE_SYSCALL(regs),
	                     (const char *)PT_REGS_PARM2_CORE_SYSCALL(regs), (u32)PT_REGS_PARM3_CORE_SYSCALL(regs));
}

/* 6.6+; where it does not exist the program is not attached and status says so */
SEC("tracepoint/syscalls/sys_exit_fchmodat2")
int ks_sec_setid_fchmodat2_exit(struct ks_sys_exit_ctx *ctx)
{
	struct pt_regs *regs = ks_sec_regs();

	return ks_setid_name(ctx->ret, KS_SETID_FCHMODAT2, (int)PT_REGS_PARM1_CORE_SYSCALL(regs),
	                     (const char *)PT_REGS_PARM2_CORE_SYSCALL(regs), (u32)PT_REGS_PARM3_CORE_SYSCALL(regs));
}

SEC("tracepoint/syscalls/sys_exit_fchmod")
int ks_sec_setid_fchmod_exit(struct ks_sys_exit_ctx *ctx)
{
	struct pt_regs *regs = ks_sec_regs();
	u32 mode = (u32)PT_REGS_PARM2_CORE_SYSCALL(regs);
	struct task_struct *task;
	struct ks_setid *s;
	struct inode *inode;
	struct file *f;

	if (ctx->ret < 0 || !(mode & (KS_S_ISUID | KS_S_ISGID)))
		return 0;
	task = bpf_get_current_task_btf();
	f = ks_fd_file(task, (int)PT_REGS_PARM1_CORE_SYSCALL(regs));
	if (!f)
		return 0;
	s = ks_setid_begin(task, KS_SETID_FCHMOD, mode);
	if (!s)
		return 0;
	inode = BPF_CORE_READ(f, f_inode);
	s->ino = BPF_CORE_READ(inode, i_ino);
	s->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	s->file_mode = BPF_CORE_READ(inode, i_mode);
	s->owner_uid = BPF_CORE_READ(inode, i_uid.val);
	s->owner_gid = BPF_CORE_READ(inode, i_gid.val);
	s->sflags |= KS_SF_FROM_FILE;
	s->base_len = (u16)ks_sec_path(&f->f_path, s->data, &s->sflags);
	s->name_len = 0;
	ks_setid_send(s);
	return 0;
}
