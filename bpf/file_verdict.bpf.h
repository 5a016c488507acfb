/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The verdict cache of file access: whether a file is watched, and for which kinds of access, cached by
 * the file's dentry and inode, so that the open of an unwatched file costs no path walk.
 */
#ifndef KS_FILE_VERDICT_BPF_H
#define KS_FILE_VERDICT_BPF_H

#include "file.bpf.h"

/* Bumped on every successful rename: cached verdicts of moved files and directories go stale. */
extern u64 ks_verdict_gen;
/* Seconds, advanced by the daemon through the mmap'ed .bss: a verdict's age without a clock helper call. */
extern u64 ks_epoch;
#define KS_VERDICT_TTL_S 10

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
} ks_verdict_cache SEC(".maps") __weak;

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
} ks_verdicts SEC(".maps") __weak;

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

#endif
