/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Aggregation of file access: the first access of a window is sent; repeats of the same access (kind,
 * file and name) by the same process inside the window only bump a counter.
 */
#ifndef KS_FILE_AGG_BPF_H
#define KS_FILE_AGG_BPF_H

#include "file.bpf.h"

extern const volatile u64 ks_agg_window_ns; /* 0: no aggregation; defined in file.bpf.c */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ks_agg_key);
	__type(value, struct ks_agg_val);
} ks_file_agg SEC(".maps") __weak;

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

#endif
