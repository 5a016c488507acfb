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
 * The flags of a ring-buffer submit under the daemon's wake-up policy: with wakeup_bytes 0 the reader is
 * woken on every record (the kernel's default, adaptive wake-up); otherwise only once that much is queued
 * (BPF_RB_FORCE_WAKEUP), and never before (BPF_RB_NO_WAKEUP): the reader also drains on a short timer, so
 * a quiet ring is never left waiting. One helper for every ring, so the policy cannot drift between them.
 * The flags and bpf_ringbuf_query() came with the ring buffer itself (v5.8, 457f44363a88 "bpf: Implement
 * BPF ring buffer and verifier support for it"): no older flavour is needed.
 */
static __always_inline u64 ks_rb_wakeup_flags(void *rb, u64 wakeup_bytes)
{
	if (!wakeup_bytes)
		return 0;
	return bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

#endif
