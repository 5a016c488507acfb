/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The last N encoded events, for `kansoku events`. Bounded: the oldest is replaced. */
#ifndef KANSOKU_RECENT_H
#define KANSOKU_RECENT_H

#include <stddef.h>
#include <stdint.h>

struct ks_recent;

struct ks_recent *ks_recent_new(size_t capacity);
void ks_recent_free(struct ks_recent *r);
#define KS_RECENT_ALERTS 512 /* Detection Findings kept for `kansoku alerts` */

void ks_recent_add(struct ks_recent *r, int class_uid, const char *line, size_t len);

/* Events are numbered as added: those kept are [first, end). */
uint64_t ks_recent_first(const struct ks_recent *r);
uint64_t ks_recent_end(const struct ks_recent *r);
/* The event numbered seq (its class in *class_uid), or NULL if it was replaced or is not there yet. */
const char *ks_recent_get(const struct ks_recent *r, uint64_t seq, int *class_uid, size_t *len);

#endif
