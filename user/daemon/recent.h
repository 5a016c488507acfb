/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The last N encoded events, for `kansoku events`. Bounded in count and in bytes: the oldest go first. */
#ifndef KANSOKU_RECENT_H
#define KANSOKU_RECENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_recent;

/* At most capacity events in bytes of memory (0: none kept); huge: on transparent huge pages, rounded up to
 * whole ones, for a ring written at every event (it stays in the TLB). */
struct ks_recent *ks_recent_new(size_t capacity, size_t bytes, bool huge);
void ks_recent_free(struct ks_recent *r);
#define KS_RECENT_EVENT_BYTES 3072 /* memory per event kept: room for an exec's Launch with its ancestry */
#define KS_RECENT_ALERTS 512       /* Detection Findings kept for `kansoku alerts` */
#define KS_RECENT_ALERT_BYTES 8192 /* a finding embeds its evidence */

void ks_recent_add(struct ks_recent *r, int class_uid, const char *line, size_t len);

/* Events are numbered as added: those kept are [first, end). */
uint64_t ks_recent_first(const struct ks_recent *r);
uint64_t ks_recent_end(const struct ks_recent *r);
/* The event numbered seq (its class in *class_uid), or NULL if it was replaced or is not there yet. */
const char *ks_recent_get(const struct ks_recent *r, uint64_t seq, int *class_uid, size_t *len);
/* Events larger than the whole buffer, never kept. */
uint64_t ks_recent_too_large(const struct ks_recent *r);

#endif
