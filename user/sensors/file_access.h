/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * File access: wire records -> (fold names the kernel could not decide) -> aggregation windows ->
 * OCSF File System Activity (1001).
 */
#ifndef KANSOKU_FILE_H
#define KANSOKU_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "kansoku/events.h"
#include "pipeline/pipeline.h"

struct ks_files;

/* rules: the expanded watch set (copied); agg_fd: the kernel's aggregation map (-1: none). */
struct ks_files *ks_files_new(const struct ks_rule *rules, int n_rules, int agg_fd, uint64_t window_ns);
void ks_files_free(struct ks_files *f);
/* One record from the file ring buffer. Returns -1 if malformed. */
int ks_file_handle(struct ks_pipeline *pl, const void *data, size_t size);
/* Emit the aggregated events whose window has closed (all of them with flush). Call on the timer. */
void ks_files_tick(struct ks_pipeline *pl, uint64_t now_ns, int flush);
/* The time of the oldest event still held for its window (UINT64_MAX: none). Its process must stay in the
 * table until it is emitted: the event names it, with its parent and ancestry. */
uint64_t ks_files_held_since(const struct ks_pipeline *pl);
const char *ks_file_op_name(uint32_t op);

#endif
