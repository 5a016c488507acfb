// SPDX-License-Identifier: GPL-2.0
/*
 * File access, the syscalls: one thin program per syscall exit, where the result (and for a successful
 * open, the file) exists. It notes the arguments in the per-CPU request and tail-calls a handler of
 * file.bpf.c; a successful open first tries the fast path (a fresh cached verdict, or a repeat inside its
 * aggregation window) and often ends there. The design in file.bpf.h.
 */
#include "file.bpf.h"
#include "file_agg.bpf.h"
#include "file_verdict.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile u32 ks_self_tgid = 0; /* the daemon: its own accesses are not reported */

#define ARG(regs, r) ((long)(regs)->r) /* a BTF pointer: plain, verifier-guarded loads */

/* Fill the request common to every syscall; NULL when the event is the daemon's own. */
static __always_inline struct ks_freq *ks_req(struct ks_sys_exit *ctx, u32 op, u32 klass, struct pt_regs **regs)
{
	u32 key = 0;
	struct ks_freq *rq;

	if ((u32)(bpf_get_current_pid_tgid() >> 32) == ks_self_tgid)
		return NULL;
	rq = bpf_map_lookup_elem(&ks_file_req, &key);
	if (!rq)
		return NULL;
	*regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	rq->ret = ctx->ret;
	rq->op = op;
	rq->klass = klass;
	rq->flags = rq->arg2 = 0;
	rq->fd = -1;
	rq->dfd = rq->dfd2 = AT_FDCWD;
	rq->name = rq->name2 = 0;
	return rq;
}

/*
 * The fast path of a successful open, in the syscall's own program: a fresh cached verdict that does not
 * select this kind of access ends it here, with no request written and no tail call.
 */
static __always_inline int ks_open_skip(long ret, int flags_in_dx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct verdict_key vk = {};
	struct verdict_cache *vc;
	struct last_verdict *lv;
	struct verdict_val *vv;
	struct file *f;
	u32 key = 0, flags, klass;

	if (ret < 0)
		return 0;
	f = ks_fd_file(task, (int)ret);
	if (!f)
		return 1;
	ks_file_key(f, &vk);
	vc = bpf_map_lookup_elem(&ks_verdict_cache, &key);
	if (!vc)
		return 0;
	lv = &vc->slot[ks_vcache_slot(&vk)];
	if (lv->key.dentry == vk.dentry && lv->key.inode == vk.inode && ks_verdict_fresh(&lv->val)) {
		vv = &lv->val;
	} else {
		vv = bpf_map_lookup_elem(&ks_verdicts, &vk);
		if (!vv || !ks_verdict_fresh(vv))
			return 0;
		lv->key = vk;
		lv->val = *vv;
	}
	if (!vv->ops)
		return 1;
	/* watched for some kinds of access: is this one of them? (FMODE_CREATED needs the file) */
	{
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);

		flags = (u32)(flags_in_dx ? regs->dx : regs->si);
	}
	klass = ks_open_class(flags, BPF_CORE_READ(f, f_mode));
	if (!(vv->ops & klass))
		return 1;
	/* watched: a repeat inside its aggregation window is only counted */
	return ks_agg_repeat((u32)(bpf_get_current_pid_tgid() >> 32), klass, f, vk.dentry);
}

static __always_inline int ks_open_dispatch(struct ks_sys_exit *ctx, struct ks_freq *rq)
{
	if (rq->ret >= 0) {
		rq->fd = (int)rq->ret;
		bpf_tail_call(ctx, &ks_file_handlers, KS_H_FILE);
	} else {
		rq->klass = ks_open_class(rq->flags, 0) | ((rq->flags & O_CREAT) ? KS_OPS_CREATE : 0);
		bpf_tail_call(ctx, &ks_file_handlers, KS_H_NAME);
	}
	return 0;
}

/* open(name, flags) and openat(dfd, name, flags): the same, one argument apart */
static __always_inline int ks_open_prog(struct ks_sys_exit *ctx, int with_dfd)
{
	struct pt_regs *regs;
	struct ks_freq *rq;

	if (ks_open_skip(ctx->ret, with_dfd))
		return 0;
	rq = ks_req(ctx, KS_FOP_OPEN, 0, &regs);
	if (!rq)
		return 0;
	if (with_dfd) {
		rq->dfd = (int)ARG(regs, di);
		rq->name = ARG(regs, si);
		rq->flags = (u32)ARG(regs, dx);
	} else {
		rq->name = ARG(regs, di);
		rq->flags = (u32)ARG(regs, si);
	}
	return ks_open_dispatch(ctx, rq);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int ks_exit_openat(struct ks_sys_exit *ctx)
{
	return ks_open_prog(ctx, 1);
}

SEC("tracepoint/syscalls/sys_exit_open")
int ks_exit_open(struct ks_sys_exit *ctx)
{
	return ks_open_prog(ctx, 0);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int ks_exit_creat(struct ks_sys_exit *ctx)
{
	struct pt_regs *regs;
	struct ks_freq *rq = ks_req(ctx, KS_FOP_OPEN, 0, &regs);

	if (!rq)
		return 0;
	rq->name = ARG(regs, di);
	rq->flags = O_CREAT | O_WRONLY | O_TRUNC;
	return ks_open_dispatch(ctx, rq);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int ks_exit_openat2(struct ks_sys_exit *ctx)
{
	struct open_how how = {};
	struct pt_regs *regs;
	struct ks_freq *rq = ks_req(ctx, KS_FOP_OPEN, 0, &regs);

	if (!rq)
		return 0;
	bpf_probe_read_user(&how, sizeof(how), (void *)ARG(regs, dx));
	rq->dfd = (int)ARG(regs, di);
	rq->name = ARG(regs, si);
	rq->flags = (u32)how.flags;
	return ks_open_dispatch(ctx, rq);
}

/* name-based: dfd, name, dfd2, name2, flags/mode/uid, gid/flags */
#define NAME_OP(tp, op, klass, dfd_e, name_e, dfd2_e, name2_e, a1, a2) \
	SEC("tracepoint/syscalls/sys_exit_" #tp)                       \
	int ks_exit_##tp(struct ks_sys_exit *ctx)                      \
	{                                                              \
		struct pt_regs *regs;                                  \
		struct ks_freq *rq = ks_req(ctx, op, klass, &regs);    \
                                                                       \
		if (!rq)                                               \
			return 0;                                      \
		rq->dfd = dfd_e;                                       \
		rq->name = name_e;                                     \
		rq->dfd2 = dfd2_e;                                     \
		rq->name2 = name2_e;                                   \
		rq->flags = a1;                                        \
		rq->arg2 = a2;                                         \
		bpf_tail_call(ctx, &ks_file_handlers, KS_H_NAME);      \
		return 0;                                              \
	}

/* fd-based: the file comes from the first argument */
#define FD_OP(tp, op, klass, a1, a2)                                \
	SEC("tracepoint/syscalls/sys_exit_" #tp)                    \
	int ks_exit_##tp(struct ks_sys_exit *ctx)                   \
	{                                                           \
		struct pt_regs *regs;                               \
		struct ks_freq *rq = ks_req(ctx, op, klass, &regs); \
                                                                    \
		if (!rq)                                            \
			return 0;                                   \
		rq->fd = (int)ARG(regs, di);                        \
		rq->flags = a1;                                     \
		rq->arg2 = a2;                                      \
		bpf_tail_call(ctx, &ks_file_handlers, KS_H_FILE);   \
		return 0;                                           \
	}

#define S(r) ((u64)ARG(regs, r))
#define I(r) ((int)ARG(regs, r))
#define U(r) ((u32)ARG(regs, r))

NAME_OP(unlink, KS_FOP_UNLINK, KS_OPS_DELETE, AT_FDCWD, S(di), AT_FDCWD, 0, 0, 0)

SEC("tracepoint/syscalls/sys_exit_unlinkat")
int ks_exit_unlinkat(struct ks_sys_exit *ctx)
{
	struct pt_regs *regs;
	struct ks_freq *rq = ks_req(ctx, KS_FOP_UNLINK, KS_OPS_DELETE, &regs);

	if (!rq)
		return 0;
	if (U(dx) & AT_REMOVEDIR)
		rq->op = KS_FOP_RMDIR;
	rq->dfd = I(di);
	rq->name = S(si);
	bpf_tail_call(ctx, &ks_file_handlers, KS_H_NAME);
	return 0;
}

NAME_OP(rmdir, KS_FOP_RMDIR, KS_OPS_DELETE, AT_FDCWD, S(di), AT_FDCWD, 0, 0, 0)
NAME_OP(rename, KS_FOP_RENAME, KS_OPS_RENAME, AT_FDCWD, S(di), AT_FDCWD, S(si), 0, 0)
NAME_OP(renameat, KS_FOP_RENAME, KS_OPS_RENAME, I(di), S(si), I(dx), S(r10), 0, 0)
NAME_OP(renameat2, KS_FOP_RENAME, KS_OPS_RENAME, I(di), S(si), I(dx), S(r10), 0, U(r8))
NAME_OP(link, KS_FOP_LINK, KS_OPS_CREATE, AT_FDCWD, S(di), AT_FDCWD, S(si), 0, 0)
NAME_OP(linkat, KS_FOP_LINK, KS_OPS_CREATE, I(di), S(si), I(dx), S(r10), 0, U(r8))
NAME_OP(symlink, KS_FOP_SYMLINK, KS_OPS_CREATE, AT_FDCWD, S(di), AT_FDCWD, S(si), 0, 0)
NAME_OP(symlinkat, KS_FOP_SYMLINK, KS_OPS_CREATE, AT_FDCWD, S(di), I(si), S(dx), 0, 0)
NAME_OP(mkdir, KS_FOP_MKDIR, KS_OPS_CREATE, AT_FDCWD, S(di), AT_FDCWD, 0, U(si), 0)
NAME_OP(mkdirat, KS_FOP_MKDIR, KS_OPS_CREATE, I(di), S(si), AT_FDCWD, 0, U(dx), 0)
NAME_OP(chmod, KS_FOP_CHMOD, KS_OPS_ATTRIB, AT_FDCWD, S(di), AT_FDCWD, 0, U(si), 0)
NAME_OP(fchmodat, KS_FOP_CHMOD, KS_OPS_ATTRIB, I(di), S(si), AT_FDCWD, 0, U(dx), 0)
NAME_OP(chown, KS_FOP_CHOWN, KS_OPS_ATTRIB, AT_FDCWD, S(di), AT_FDCWD, 0, U(si), U(dx))
NAME_OP(lchown, KS_FOP_CHOWN, KS_OPS_ATTRIB, AT_FDCWD, S(di), AT_FDCWD, 0, U(si), U(dx))
NAME_OP(fchownat, KS_FOP_CHOWN, KS_OPS_ATTRIB, I(di), S(si), AT_FDCWD, 0, U(dx), U(r10))
NAME_OP(truncate, KS_FOP_TRUNCATE, KS_OPS_WRITE, AT_FDCWD, S(di), AT_FDCWD, 0, 0, 0)
FD_OP(fchmod, KS_FOP_CHMOD, KS_OPS_ATTRIB, U(si), 0)
FD_OP(fchown, KS_FOP_CHOWN, KS_OPS_ATTRIB, U(si), U(dx))
FD_OP(ftruncate, KS_FOP_TRUNCATE, KS_OPS_WRITE, 0, 0)
