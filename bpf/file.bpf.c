// SPDX-License-Identifier: GPL-2.0
/*
 * File access, the handlers: the two programs every syscall's program of file_syscalls.bpf.c tail-calls
 * (an operation on an open file, or one named by dirfd + path). They resolve the canonical path, match it
 * against the watch rules, cache the verdict, aggregate repeats and send the record. The design in
 * file.bpf.h.
 */
#include "file.bpf.h"
#include "file_agg.bpf.h"
#include "file_verdict.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the daemon between open and load. */
const volatile struct ks_rule ks_rules[KS_RULES_MAX] = {};
const volatile u64 ks_agg_window_ns = 5000000000ull; /* 0: no aggregation */
const volatile u32 ks_host_mntns = 0;
const volatile u64 ks_file_wakeup_bytes = 0;

/* The verdict cache's generation and clock (file_verdict.bpf.h). */
u64 ks_verdict_gen = 0;
u64 ks_epoch = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} ks_rb_file SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct ks_file);
} ks_file_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KS_IGNORE_EXE_MAX);
	__type(key, struct ks_exe_id);
	__type(value, u8);
} ks_ignore_exe SEC(".maps");

/* Is the current executable one whose accesses are ignored (files.ignore: exe)? Slow path only. */
static __always_inline int ks_exe_ignored(struct task_struct *task)
{
	struct ks_exe_id id = {};
	struct inode *inode = BPF_CORE_READ(task, mm, exe_file, f_inode);

	if (!inode)
		return 0;
	id.ino = BPF_CORE_READ(inode, i_ino);
	id.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	return bpf_map_lookup_elem(&ks_ignore_exe, &id) != NULL;
}

/* Is c the end of a path component? */
static __always_inline int ks_comp_end(char c)
{
	return c == '/' || c == '\0';
}

/* Length of the path component at data[at] (up to '/' or NUL), by bpf_loop: wildcard rules only. */
struct ks_comp_scan {
	struct ks_file *e;
	u32 at, len;
};

static long ks_comp_step(u32 i, void *arg)
{
	struct ks_comp_scan *sc = arg;
	u32 at = ks_clamp(sc->at + i, sizeof(sc->e->data) - 1);
	char c = sc->e->data[at];

	if (c == '/' || c == '\0')
		return 1;
	sc->len = i + 1;
	return 0;
}

/*
 * The KS_OPS_* mask the rules give to the path at e->data[off] (NUL-terminated). The most specific
 * matching rule wins (longest match); an ignore rule gives 0. bpf_strncmp needs each rule string at a
 * constant address, hence the unrolled loop; rules are read-only data, so the verifier drops the branches
 * a rule does not take. A wildcard rule (head, one '*' component, tail) scans that one component with
 * bpf_loop, so a home directory made after the daemon started is covered like the others.
 */
static __always_inline u32 ks_match(struct ks_file *e, u32 off)
{
	u32 best_len = 0, best_ops = 0, base = ks_clamp(off, KS_FILE_PATH_MAX);
	const char *p = &e->data[base];
	int i;

#pragma unroll
	for (i = 0; i < KS_RULES_MAX; i++) {
		u32 hl = ks_rules[i].head_len, len;

		if (hl == 0 || hl >= KS_RULE_HEAD)
			continue;
		if (bpf_strncmp(p, hl, (const char *)ks_rules[i].head))
			continue;
		if (ks_rules[i].flags & KS_RULE_WILD) {
			struct ks_comp_scan sc = {.e = e, .at = base + hl, .len = 0};
			u32 tl = ks_rules[i].tail_len, at;

			bpf_loop(256, ks_comp_step, &sc, 0);
			if (!sc.len)
				continue;
			at = ks_clamp(base + hl + sc.len, KS_FILE_PATH_MAX + KS_RULE_HEAD + 256);
			if (tl && tl < KS_RULE_TAIL) {
				if (bpf_strncmp(&e->data[at], tl, (const char *)ks_rules[i].tail))
					continue;
				if (ks_rules[i].tail[tl - 1] != '/' &&
				    !ks_comp_end(e->data[ks_clamp(at + tl, sizeof(e->data) - 1)]))
					continue;
			}
			len = hl + sc.len + tl;
		} else {
			/* a whole component must match: "/etc" covers "/etc/x", not "/etcetera" */
			if (ks_rules[i].head[hl - 1] != '/' && !ks_comp_end(p[hl & (KS_RULE_HEAD - 1)]))
				continue;
			len = hl;
		}
		if (len > best_len) {
			best_len = len;
			best_ops = (ks_rules[i].flags & KS_RULE_IGNORE) ? 0 : ks_rules[i].ops;
		}
	}
	return best_ops;
}

static __always_inline void ks_file_fill_inode(struct ks_file *e, struct file *f)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);

	e->ino = BPF_CORE_READ(inode, i_ino);
	e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	e->mode = BPF_CORE_READ(inode, i_mode);
	e->owner_uid = BPF_CORE_READ(inode, i_uid.val);
	e->owner_gid = BPF_CORE_READ(inode, i_gid.val);
}

/* Resolve a path into data[off]; returns bytes written (NUL included). */
static __always_inline u32 ks_file_path(struct ks_file *e, u32 off, const struct path *path, u32 trunc_flag)
{
	struct ks_path_result res = {};
	u32 n;

	off = ks_clamp(off, sizeof(e->data) - KS_FILE_PATH_MAX);
	n = ks_path_to(path, &e->data[off], &res);
	if (res.status == KS_PATH_TRUNCATED)
		e->fflags |= trunc_flag;
	else if (res.status == KS_PATH_UNREACHABLE)
		e->fflags |= KS_FF_UNREACHABLE;
	if (res.deleted)
		e->fflags |= KS_FF_DELETED;
	return n;
}

/* Per byte of x: 0x80 where that byte is zero, else 0. Exact: no byte borrows from its neighbour. */
static __always_inline u64 ks_zero_bytes(u64 x)
{
	const u64 low7 = 0x7f7f7f7f7f7f7f7full;

	return ~(((x & low7) + low7) | x | low7);
}

/* Per byte of x: 0x80 where that byte is c. */
static __always_inline u64 ks_bytes_eq(u64 x, u8 c)
{
	return ks_zero_bytes(x ^ (0x0101010101010101ull * c));
}

struct ks_scan {
	struct ks_file *e;
	u32 at, end, found;
};

/*
 * Eight positions p per call: is there a "." or ".." component at p ('/' at p, then "." or "..", then
 * '/' or the end)? ".git" or "..x" is not one. Four loads one byte apart put the bytes at p, p+1, p+2 and
 * p+3 in the same lane, so lanes AND together whatever the byte order; a zero byte is the end. The caller
 * zeroes the 8 bytes after the NUL, so no older path's bytes there can look like a '/'.
 */
static long ks_scan_dot_word(u32 i, void *arg)
{
	struct ks_scan *sc = arg;
	u32 at = sc->at + i * 8;
	u64 w0, w1, w2, w3, end2, end3;

	if (at + 1 >= sc->end)
		return 1;
	at = ks_clamp(at, sizeof(sc->e->data) - 11);
	w0 = *(u64 *)&sc->e->data[at];
	w1 = *(u64 *)&sc->e->data[at + 1];
	w2 = *(u64 *)&sc->e->data[at + 2];
	w3 = *(u64 *)&sc->e->data[at + 3];
	end2 = ks_bytes_eq(w2, '/') | ks_zero_bytes(w2);
	end3 = ks_bytes_eq(w3, '/') | ks_zero_bytes(w3);
	if (ks_bytes_eq(w0, '/') & ks_bytes_eq(w1, '.') & (end2 | (ks_bytes_eq(w2, '.') & end3))) {
		sc->found = 1;
		return 1;
	}
	return 0;
}

/*
 * dirfd/cwd + name, at data[off]: the base directory resolved in the kernel, then '/', then the name as the
 * process gave it. Returns bytes written (NUL included). Sets KS_FF_NEEDS_NORMALIZE when the name holds
 * "." or ".." parts, which only user space can fold (and filter) correctly.
 */
static __always_inline u32 ks_name_path(struct ks_file *e, u32 off, struct task_struct *task, int dfd,
                                        const char *uname, u32 trunc_flag)
{
	u32 start = ks_clamp(off, sizeof(e->data) - KS_FILE_PATH_MAX), n = 0;
	char first = 0;
	long r;

	bpf_probe_read_user(&first, 1, uname);
	if (first != '/') {
		const struct path *base = NULL;

		if (dfd == AT_FDCWD) {
			base = &BPF_CORE_READ(task, fs)->pwd;
		} else {
			struct file *df = ks_fd_file(task, dfd);

			if (df)
				base = &df->f_path;
		}
		if (base) {
			n = ks_file_path(e, start, base, trunc_flag);
			if (n > 0)
				n--; /* drop the NUL: the name follows */
			n = ks_clamp(n, KS_FILE_PATH_MAX - 1);
			if (n > 1) { /* "/" needs no extra separator */
				e->data[ks_clamp(start + n, sizeof(e->data) - 1)] = '/';
				n++;
			}
		}
		/* no base: a leading "." or ".." cannot be seen by the scan below, which starts at the '/' */
		e->fflags |= KS_FF_NEEDS_NORMALIZE * (first == '.' && n == 0);
	}
	off = ks_clamp(start + n, sizeof(e->data) - KS_FILE_PATH_MAX);
	r = bpf_probe_read_user_str(&e->data[off], KS_FILE_PATH_MAX, uname);
	if (r <= 0) {
		e->data[off] = '\0';
		r = 1;
	} else if (r == KS_FILE_PATH_MAX) {
		e->fflags |= KS_FF_NAME_TRUNC;
	}
	/* a "." or ".." component anywhere in the name ("/./", "/../", a trailing "/..", or leading, right
	 * after the base's '/') needs folding; ".git" does not. A word per step: bpf_loop (5.17+) verifies
	 * the step once, where a plain loop is verified once per turn. */
	{
		struct ks_scan sc = {.e = e, .at = first != '/' && n > 0 ? off - 1 : off, .end = off + (u32)r};

		if (sc.end <= sizeof(e->data) - 8)
			*(u64 *)&e->data[ks_clamp(sc.end, sizeof(e->data) - 8)] = 0;
		bpf_loop(KS_FILE_PATH_MAX / 8 + 1, ks_scan_dot_word, &sc, 0);
		if (sc.found)
			e->fflags |= KS_FF_NEEDS_NORMALIZE;
	}
	return ks_clamp(start + n + (u32)r, sizeof(e->data)) - start;
}

/* The per-CPU record, its flags cleared: the path goes in first, and most paths end at the match. */
static __always_inline struct ks_file *ks_file_scratch_get(void)
{
	u32 key = 0;
	struct ks_file *e = bpf_map_lookup_elem(&ks_file_scratch, &key);

	if (e)
		e->fflags = 0;
	return e;
}

/*
 * Who did what, around the path(s) already in data (path_len, path2_len): filled only for an access that is
 * reported (a dozen reads of the task and its creds).
 */
static __always_inline void ks_file_subject(struct ks_file *e, struct task_struct *task, const struct ks_freq *rq,
                                            u32 klass, u32 path_len, u32 path2_len)
{
	const struct cred *cred;

	ks_fill_hdr(&e->hdr, task, KS_EV_FILE);
	e->start_ns = ks_task_start_ns(BPF_CORE_READ(task, group_leader));
	e->ino = 0;
	e->dev = e->mode = e->owner_uid = e->owner_gid = 0;
	e->op = rq->op;
	e->ret = (s32)rq->ret;
	e->ops_class = klass;
	e->open_flags = rq->flags;
	e->arg2 = rq->arg2;
	e->path_len = path_len;
	e->path2_len = path2_len;
	cred = BPF_CORE_READ(task, real_cred);
	e->uid = BPF_CORE_READ(cred, uid.val);
	e->euid = BPF_CORE_READ(cred, euid.val);
	e->loginuid = ks_task_loginuid(task);
	e->mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	if (ks_host_mntns && e->mntns != ks_host_mntns)
		e->fflags |= KS_FF_OTHER_MNTNS;
	e->prev_repeats = 0;
	e->agg_name = 0;
}

static __always_inline void ks_file_submit(struct ks_file *e, u32 tail)
{
	u32 size = KS_FILE_FIXED_SIZE + ks_clamp(tail, sizeof(e->data));

	e->hdr.size = size;
	if (bpf_ringbuf_output(&ks_rb_file, e, size,
	                       ks_rb_wakeup_flags(&ks_rb_file, ks_file_wakeup_bytes, size, KS_RB_NOT_YET_QUEUED)))
		ks_count_drop(KS_EV_FILE);
}

/* Handler: an operation on an open file (successful open, fchmod, fchown, ftruncate). */
SEC("tracepoint")
int ks_fh_file(struct ks_sys_exit *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct verdict_key vk = {};
	struct verdict_val *vv, nvv = {};
	struct ks_freq *rq;
	struct ks_file *e;
	struct file *f;
	u32 key = 0, ops, n, klass, fmode;
	bool fresh;

	rq = bpf_map_lookup_elem(&ks_file_req, &key);
	if (!rq)
		return 0;
	f = ks_fd_file(task, rq->fd);
	if (!f)
		return 0;
	fmode = BPF_CORE_READ(f, f_mode);
	klass = rq->op == KS_FOP_OPEN ? ks_open_class(rq->flags, fmode) : rq->klass;
	ks_file_key(f, &vk);
	vv = bpf_map_lookup_elem(&ks_verdicts, &vk);
	fresh = vv && ks_verdict_fresh(vv);
	if (fresh && !(vv->ops & klass))
		return 0; /* the common case: not watched, decided without a path walk */
	e = ks_file_scratch_get();
	if (!e)
		return 0;
	e->fflags = KS_FF_FROM_FILE;
	if (rq->op == KS_FOP_OPEN && (fmode & FMODE_CREATED))
		e->fflags |= KS_FF_CREATED;
	n = ks_file_path(e, 0, &f->f_path, KS_FF_PATH_TRUNC);
	if (fresh) {
		ops = vv->ops;
	} else {
		ops = ks_match(e, 0);
		nvv.gen = ks_verdict_gen;
		nvv.epoch = ks_epoch;
		nvv.ops = ops;
		bpf_map_update_elem(&ks_verdicts, &vk, &nvv, BPF_ANY);
	}
	if (!(ops & klass) || ks_exe_ignored(task))
		return 0;
	ks_file_subject(e, task, rq, klass, n, 0);
	ks_file_fill_inode(e, f);
	e->agg_name = ks_agg_name_dentry(vk.dentry);
	if (ks_aggregate(e))
		return 0;
	ks_file_submit(e, n);
	return 0;
}

/* Handler: an operation named by dirfd + path (failures, unlink, rename, mkdir, chmod, ...). */
SEC("tracepoint")
int ks_fh_name(struct ks_sys_exit *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ks_freq *rq;
	struct ks_file *e;
	u32 key = 0, n, n2 = 0, ops;

	rq = bpf_map_lookup_elem(&ks_file_req, &key);
	if (!rq)
		return 0;
	/* a rename moves whole subtrees: every cached verdict may now be wrong */
	if (rq->op == KS_FOP_RENAME && rq->ret == 0)
		__sync_fetch_and_add(&ks_verdict_gen, 1);
	e = ks_file_scratch_get();
	if (!e)
		return 0;
	if (rq->op == KS_FOP_SYMLINK) {
		/* the first string is the link's target text, not a path to resolve */
		long r = bpf_probe_read_user_str(e->data, KS_FILE_PATH_MAX, (const char *)rq->name);

		n = r > 0 ? (u32)r : 0;
	} else {
		n = ks_name_path(e, 0, task, rq->dfd, (const char *)rq->name, KS_FF_PATH_TRUNC);
	}
	n = ks_clamp(n, KS_FILE_PATH_MAX);
	if (rq->name2) {
		n2 = ks_name_path(e, n, task, rq->dfd2, (const char *)rq->name2, KS_FF_PATH2_TRUNC);
		n2 = ks_clamp(n2, KS_FILE_PATH_MAX + 256);
	}
	if (!(e->fflags & KS_FF_NEEDS_NORMALIZE)) {
		ops = rq->op == KS_FOP_SYMLINK ? 0 : ks_match(e, 0);
		if (rq->name2)
			ops |= ks_match(e, n);
		if (!(ops & rq->klass))
			return 0;
	}
	if (ks_exe_ignored(task))
		return 0;
	ks_file_subject(e, task, rq, rq->klass, n, n2);
	/* repeated deletes of one path aggregate like repeated opens (a lock or temp file made and removed
	 * in a loop); a path still to be normalised is hashed as given, so it aggregates with itself only */
	if (rq->op == KS_FOP_UNLINK || rq->op == KS_FOP_RMDIR) {
		e->agg_name = ks_agg_name_path(e, n);
		if (ks_aggregate(e))
			return 0;
	}
	ks_file_submit(e, n + n2);
	return 0;
}
