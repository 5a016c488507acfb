/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The last N encoded events, for `kansoku events`. Bounded: the oldest is replaced. */
#ifndef KANSOKU_RECENT_H
#define KANSOKU_RECENT_H

#include <stddef.h>

struct ks_recent;

struct ks_recent *ks_recent_new(size_t capacity);
void ks_recent_free(struct ks_recent *r);
#define KS_RECENT_ALERTS 512 /* Detection Findings kept for `kansoku alerts` */

void ks_recent_add(struct ks_recent *r, int class_uid, const char *line, size_t len);
/* Calls fn for each kept event, oldest first, whose class matches (0 = any). */
void ks_recent_each(const struct ks_recent *r, int class_uid, void (*fn)(void *arg, const char *line, size_t len),
                    void *arg);

#endif
