/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps shared by the BPF objects linked into the one skeleton. Declared __weak with identical
 * definitions in every object that includes this file; `bpftool gen object` merges them into one map.
 */
#ifndef KS_MAPS_BPF_H
#define KS_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kansoku/events.h"

/* One ring buffer per class so a flood of one class cannot starve another. Size set by the daemon. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} ks_rb_process SEC(".maps") __weak;

/* Reservation/output failures per event kind, per CPU: never lose an event silently. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KS_EV_KIND_MAX);
	__type(key, u32);
	__type(value, u64);
} ks_drops SEC(".maps") __weak;

/* Per-CPU scratch: a whole exec record is larger than the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct ks_exec);
} ks_exec_scratch SEC(".maps") __weak;

/* Path resolution writes right to left into this buffer (see path.bpf.h). */
#define KS_PATHBUF_SIZE (2 * KS_PATH_MAX)
struct ks_pathbuf {
	char buf[KS_PATHBUF_SIZE];
	u32 pos; /* write position, kept in memory on purpose (see path.bpf.h) */
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct ks_pathbuf);
} ks_path_scratch SEC(".maps") __weak;

static __always_inline void ks_count_drop(u32 kind)
{
	u64 *n = bpf_map_lookup_elem(&ks_drops, &kind);

	if (n)
		*n += 1; /* per-CPU slot: no atomic needed */
}

/*
 * The flags of a ring-buffer record under the daemon's wake-up policy. With wakeup_bytes 0 the reader is
 * woken the kernel's way (adaptive: only when it had caught up). Otherwise never (BPF_RB_NO_WAKEUP) but
 * when this record takes what is queued across a multiple of wakeup_bytes (BPF_RB_FORCE_WAKEUP): a
 * sleeping reader is woken once wakeup_bytes wait, and a reader that is behind is not woken on every
 * record. (Forcing a wake-up on every record past the threshold cost an irq_work self-interrupt and a
 * wait-queue walk per record for as long as the reader was behind: during a burst, when the CPU is
 * scarcest.) A crossing missed by two CPUs racing is caught by the next multiple, and the reader also
 * drains on a short timer, so a quiet ring is never left waiting. One helper for every ring, so the policy
 * cannot drift between them. The flags and bpf_ringbuf_query() came with the ring buffer itself (v5.8,
 * 457f44363a88 "bpf: Implement BPF ring buffer and verifier support for it"): no older flavour is needed.
 */
enum ks_rb_queued {
	KS_RB_NOT_YET_QUEUED, /* bpf_ringbuf_output(): the flags are chosen before the record is in */
	KS_RB_RESERVED,       /* bpf_ringbuf_submit(): the reserved record is already counted */
};

static __always_inline u64 ks_rb_wakeup_flags(void *rb, u64 wakeup_bytes, u32 size, enum ks_rb_queued queued)
{
	u64 len = (size + BPF_RINGBUF_HDR_SZ + 7) & ~7ull; /* what the record takes in the ring */
	u64 before, after;

	if (!wakeup_bytes)
		return 0;
	after = bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA);
	if (queued == KS_RB_NOT_YET_QUEUED)
		after += len;
	before = after > len ? after - len : 0;
	return before / wakeup_bytes != after / wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

#endif
