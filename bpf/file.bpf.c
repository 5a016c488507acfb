// SPDX-License-Identifier: GPL-2.0
/*
 * File access: one syscall-exit tracepoint per operation, where the result (and for a successful open,
 * the file) exists. The decision is made here, early and cheaply:
 *   1. a successful open (or an fd operation) looks up a verdict cached per dentry: an unwatched file
 *      costs an fd lookup and one map lookup, no path walk;
 *   2. on a miss the canonical path is resolved from the file and matched against the watch rules;
 *   3. repeats of the same access by the same process inside a window are counted in a map, not sent.
 * Operations without a file (failures, unlink, rename, ...) are matched on dirfd/cwd plus the name.
 * Arguments come from the task's saved user registers (bpf_task_pt_regs), so one exit hook suffices.
 *
 * Each syscall's program is thin: it notes the arguments in a per-CPU request and tail-calls one of two
 * shared handlers (an open file, or a name). The heavy code is then verified twice, not once per syscall:
 * inlined into 25 programs it took seconds to load.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kansoku/events.h"
#include "maps.bpf.h"
#include "task.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define AT_FDCWD -100
#define AT_REMOVEDIR 0x200
#define O_ACCMODE 3
#define O_WRONLY 1
#define O_RDWR 2
#define O_CREAT 0100
#define O_TRUNC 01000
#define FMODE_CREATED 0x100000

const volatile struct ks_rule ks_rules[KS_RULES_MAX] = {};
const volatile u32 ks_self_tgid = 0;
const volatile u64 ks_agg_window_ns = 5000000000ull; /* 0: no aggregation */
const volatile u32 ks_host_mntns = 0;
const volatile u64 ks_file_wakeup_bytes = 0;

/* Bumped on every successful rename: cached verdicts of moved files and directories go stale. */
u64 ks_verdict_gen = 0;
/* Seconds, advanced by the daemon through the mmap'ed .bss: a verdict's age without a clock helper call. */
u64 ks_epoch = 0;
#define KS_VERDICT_TTL_S 10

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} ks_rb_file SEC(".maps");

/* Keyed by the dentry and inode addresses: both come straight from the struct file (no further reads),
 * and a stale entry needs both to be reused at once; the generation and TTL bound the rest. */
struct verdict_key {
	u64 dentry;
	u64 inode;
};

struct verdict_val {
	u64 gen;
	u64 epoch;
	u32 ops; /* KS_OPS_* watched for this file; 0: not watched */
	u32 _pad;
};

/* Recent verdicts on this CPU, direct-mapped by key: a storm on one file, or a build opening a few
 * hundred headers over and over, is answered without the hash lookup (array lookups are inlined by the
 * verifier, and nothing here is shared between CPUs). */
struct last_verdict {
	struct verdict_key key;
	struct verdict_val val;
};

#define KS_VCACHE_SLOTS 64 /* a power of two */
struct verdict_cache {
	struct last_verdict slot[KS_VCACHE_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct verdict_cache);
} ks_verdict_cache SEC(".maps");

static __always_inline u32 ks_vcache_slot(const struct verdict_key *vk)
{
	/* dentries are slab objects (192 bytes apart): the multiply spreads the bits that differ */
	return (u32)(((vk->dentry ^ vk->inode) * 0x9e3779b97f4a7c15ull) >> 58) & (KS_VCACHE_SLOTS - 1);
}

static __always_inline int ks_verdict_fresh(const struct verdict_val *v)
{
	return v->gen == ks_verdict_gen && ks_epoch - v->epoch < KS_VERDICT_TTL_S;
}

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct verdict_key);
	__type(value, struct verdict_val);
} ks_verdicts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ks_agg_key);
	__type(value, struct ks_agg_val);
} ks_file_agg SEC(".maps");

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

struct ks_scan {
	struct ks_file *e;
	u32 at, end, found;
};

/* A "." or ".." component starts at data[at] ("/./", "/../", or at the end): not ".git" or "..x". */
static long ks_scan_dot(u32 i, void *arg)
{
	struct ks_scan *sc = arg;
	u32 at = sc->at + i;
	char c2, c3;

	if (at + 1 >= sc->end)
		return 1;
	at = ks_clamp(at, sizeof(sc->e->data) - 4);
	if (sc->e->data[at] != '/' || sc->e->data[at + 1] != '.')
		return 0;
	c2 = sc->e->data[at + 2];
	c3 = sc->e->data[at + 3];
	if (ks_comp_end(c2) || (c2 == '.' && ks_comp_end(c3))) {
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
	 * after the base's '/') needs folding; ".git" does not. bpf_loop (5.17+) verifies the scan once
	 * instead of once per way out of it (a plain loop blew the 1M budget). */
	{
		struct ks_scan sc = {.e = e, .at = first != '/' && n > 0 ? off - 1 : off, .end = off + (u32)r};

		bpf_loop(KS_FILE_PATH_MAX, ks_scan_dot, &sc, 0);
		if (sc.found)
			e->fflags |= KS_FF_NEEDS_NORMALIZE;
	}
	return ks_clamp(start + n + (u32)r, sizeof(e->data)) - start;
}

static __always_inline struct ks_file *ks_file_begin(struct task_struct *task, u32 op, long ret)
{
	u32 key = 0;
	struct ks_file *e = bpf_map_lookup_elem(&ks_file_scratch, &key);
	const struct cred *cred;

	if (!e)
		return NULL;
	ks_fill_hdr(&e->hdr, task, KS_EV_FILE);
	e->start_ns = ks_task_start_ns(BPF_CORE_READ(task, group_leader));
	e->ino = 0;
	e->dev = e->mode = e->owner_uid = e->owner_gid = 0;
	e->op = op;
	e->ret = (s32)ret;
	e->open_flags = e->arg2 = 0;
	e->fflags = 0;
	e->ops_class = 0;
	cred = BPF_CORE_READ(task, real_cred);
	e->uid = BPF_CORE_READ(cred, uid.val);
	e->euid = BPF_CORE_READ(cred, euid.val);
	e->loginuid = ks_task_loginuid(task);
	e->mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	if (ks_host_mntns && e->mntns != ks_host_mntns)
		e->fflags |= KS_FF_OTHER_MNTNS;
	e->prev_repeats = 0;
	e->agg_name = 0;
	e->path_len = e->path2_len = 0;
	return e;
}

static __always_inline void ks_file_submit(struct ks_file *e, u32 tail)
{
	u32 size = KS_FILE_FIXED_SIZE + ks_clamp(tail, sizeof(e->data));

	e->hdr.size = size;
	if (bpf_ringbuf_output(&ks_rb_file, e, size,
	                       ks_rb_wakeup_flags(&ks_rb_file, ks_file_wakeup_bytes, size, KS_RB_NOT_YET_QUEUED)))
		ks_count_drop(KS_EV_FILE);
}

/* The first access of a window is sent; repeats inside the window only bump a counter. */

/* A 64-bit mix (the murmur3 finaliser): spreads a pointer or a running hash over the whole word. */
static __always_inline u64 ks_mix(u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* The name part of the aggregation key of an access through a file: its parent directory's dentry and
 * its name's dcache hash and length (d_parent and d_name lie next to each other: one read). */
struct ks_dentry_name {
	u64 parent;
	u64 hash_len;
};

static __always_inline u64 ks_agg_name_dentry(u64 dentry)
{
	struct dentry *d = (struct dentry *)dentry;
	u32 op = bpf_core_field_offset(struct dentry, d_parent), on = bpf_core_field_offset(struct dentry, d_name);
	struct ks_dentry_name dn = {};

	if (on == op + 8) {
		bpf_probe_read_kernel(&dn, sizeof(dn), (void *)d + op);
	} else {
		dn.parent = (u64)BPF_CORE_READ(d, d_parent);
		dn.hash_len = BPF_CORE_READ(d, d_name.hash_len);
	}
	return ks_mix(dn.parent ^ ks_mix(dn.hash_len)) | 1; /* never 0: 0 is "no name" */
}

/* The name part of the aggregation key of an access by name: a hash of the path at data[0, n). */
struct ks_name_hash {
	struct ks_file *e;
	u32 n;
	u64 h;
};

static long ks_name_hash_step(u32 i, void *arg)
{
	struct ks_name_hash *nh = arg;
	u32 at = i * 8, left;
	u64 w = 0;

	if (at >= nh->n)
		return 1;
	bpf_probe_read_kernel(&w, sizeof(w), &nh->e->data[ks_clamp(at, sizeof(nh->e->data) - 8)]);
	left = nh->n - at;
	if (left < 8) /* the scratch record holds an older path's bytes past this one's NUL */
		w &= (1ull << (left * 8)) - 1;
	nh->h = ks_mix(nh->h ^ w);
	return 0;
}

static __always_inline u64 ks_agg_name_path(struct ks_file *e, u32 n)
{
	struct ks_name_hash nh = {.e = e, .n = n, .h = n};

	bpf_loop(KS_FILE_PATH_MAX / 8, ks_name_hash_step, &nh, 0);
	return nh.h | 1;
}

/* The window of key k: counts a repeat and returns 1 when one is open at now; *v is the entry, if any. */
static __always_inline int ks_agg_count(const struct ks_agg_key *k, u64 now, struct ks_agg_val **v)
{
	*v = bpf_map_lookup_elem(&ks_file_agg, k);
	if (*v && now - (*v)->first_ns < ks_agg_window_ns) {
		__sync_fetch_and_add(&(*v)->repeats, 1);
		return 1;
	}
	return 0;
}

/* A repeat inside an open window: count it and report nothing. Needs only the inode, no path, so the
 * open fast path can call it before any event is built. */
static __always_inline int ks_agg_repeat(u32 tgid, u32 klass, struct file *f, u64 dentry)
{
	struct ks_agg_key k = {.tgid = tgid, .ops_class = klass | KS_FOP_OPEN << KS_AGG_OP_SHIFT};
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	struct ks_agg_val *v;

	if (!ks_agg_window_ns)
		return 0;
	k.ino = BPF_CORE_READ(inode, i_ino);
	k.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k.name = ks_agg_name_dentry(dentry);
	return ks_agg_count(&k, bpf_ktime_get_boot_ns(), &v);
}

/* e->agg_name must be set (0: the access does not aggregate). */
static __always_inline int ks_aggregate(struct ks_file *e)
{
	struct ks_agg_key k = {.tgid = e->hdr.pid,
	                       .ops_class = e->ops_class | e->op << KS_AGG_OP_SHIFT,
	                       .ino = e->ino,
	                       .dev = e->dev,
	                       .name = e->agg_name};
	struct ks_agg_val *v, nv = {};

	if (!ks_agg_window_ns || !e->agg_name || e->ret < 0)
		return 0;
	if (ks_agg_count(&k, e->hdr.ts_ns, &v))
		return 1;
	if (v)
		e->prev_repeats = v->repeats;
	nv.first_ns = e->hdr.ts_ns;
	bpf_map_update_elem(&ks_file_agg, &k, &nv, BPF_ANY);
	e->fflags |= KS_FF_AGG_HEAD;
	return 0;
}

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
} ks_file_req SEC(".maps");

#define KS_H_FILE 0
#define KS_H_NAME 1

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u32);
} ks_file_handlers SEC(".maps");

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

/*
 * The verdict key of a file (its dentry and inode addresses) with one bpf_probe_read_kernel where the two
 * fields lie within 64 bytes of each other (6.1: 8 apart; 6.18: 40), which halves the fast path's helper
 * calls. The offsets are CO-RE relocated constants, so the verifier sees fixed indexes.
 */
static __always_inline void ks_file_key(struct file *f, struct verdict_key *vk)
{
	u32 oi = bpf_core_field_offset(struct file, f_inode);
	u32 od = bpf_core_field_offset(struct file, f_path) + bpf_core_field_offset(struct path, dentry);
	u32 lo = oi < od ? oi : od, hi = oi < od ? od : oi;
	u64 span[8];

	if (hi - lo <= sizeof(span) - 8 && bpf_probe_read_kernel(span, sizeof(span), (void *)f + lo) == 0) {
		vk->inode = span[((oi - lo) / 8) & 7];
		vk->dentry = span[((od - lo) / 8) & 7];
		return;
	}
	vk->dentry = (u64)BPF_CORE_READ(f, f_path.dentry);
	vk->inode = (u64)BPF_CORE_READ(f, f_inode);
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
	e = ks_file_begin(task, rq->op, rq->ret);
	if (!e)
		return 0;
	e->ops_class = klass;
	e->open_flags = rq->flags;
	e->arg2 = rq->arg2;
	e->fflags |= KS_FF_FROM_FILE;
	if (rq->op == KS_FOP_OPEN && (fmode & FMODE_CREATED))
		e->fflags |= KS_FF_CREATED;
	n = ks_file_path(e, 0, &f->f_path, KS_FF_PATH_TRUNC);
	e->path_len = n;
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
	e = ks_file_begin(task, rq->op, rq->ret);
	if (!e)
		return 0;
	e->ops_class = rq->klass;
	e->open_flags = rq->flags;
	e->arg2 = rq->arg2;
	if (rq->op == KS_FOP_SYMLINK) {
		/* the first string is the link's target text, not a path to resolve */
		long r = bpf_probe_read_user_str(e->data, KS_FILE_PATH_MAX, (const char *)rq->name);

		n = r > 0 ? (u32)r : 0;
	} else {
		n = ks_name_path(e, 0, task, rq->dfd, (const char *)rq->name, KS_FF_PATH_TRUNC);
	}
	n = ks_clamp(n, KS_FILE_PATH_MAX);
	e->path_len = n;
	if (rq->name2) {
		n2 = ks_name_path(e, n, task, rq->dfd2, (const char *)rq->name2, KS_FF_PATH2_TRUNC);
		n2 = ks_clamp(n2, KS_FILE_PATH_MAX + 256);
		e->path2_len = n2;
	}
	if (!(e->fflags & KS_FF_NEEDS_NORMALIZE)) {
		ops = rq->op == KS_FOP_SYMLINK ? 0 : ks_match(e, 0);
		if (rq->name2)
			ops |= ks_match(e, n);
		if (!(ops & e->ops_class))
			return 0;
	}
	if (ks_exe_ignored(task))
		return 0;
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
