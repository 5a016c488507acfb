/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel's ring buffers (process, file, network), drained in dependency order: a record of the file
 * or network ring names its process, which a fork record on the process ring may be about to create.
 * Each round drains the process ring first, up to the round's start; a file or network record written
 * after that start by a process the table does not know yet is held (that ring pauses there) until the
 * next round has drained the process ring past it. Nothing waits longer than one round. A round also takes
 * at most a bounded number of records from each ring, and only those written before it began, so a ring
 * fed without pause cannot hold the event loop.
 */
#ifndef KANSOKU_SENSORS_RINGS_H
#define KANSOKU_SENSORS_RINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/proctable.h"
#include "sensors/loader.h"

enum ks_ring_id { KS_RING_PROCESS, KS_RING_FILE, KS_RING_NET, KS_RING_MAX };

typedef int (*ks_ring_fn)(void *ctx, void *data, size_t size);

struct ks_rings;

/* The rings the loader has, with one handler each (NULL for a ring not loaded). Returns NULL with err. */
struct ks_rings *ks_rings_new(struct ks_loader *l, struct ks_proctable *procs, const ks_ring_fn fns[KS_RING_MAX],
                              void *ctx, char *err, size_t errlen);
void ks_rings_free(struct ks_rings *r);
/* One fd, readable when any ring has data (for the event loop). */
int ks_rings_fd(const struct ks_rings *r);
/* One round; final: the programs are detached, hold nothing. */
void ks_rings_drain(struct ks_rings *r, bool final);
/* Every record of that ring written before this time (boot ns) has been handled. */
uint64_t ks_rings_drained_ns(const struct ks_rings *r, enum ks_ring_id id);
/* Records held at least one round for their process (a fork still on its way). */
uint64_t ks_rings_held(const struct ks_rings *r);
/* Records read across the end of a ring's data area (copied into one piece: each ring is mapped once). */
uint64_t ks_rings_wrapped(const struct ks_rings *r);

#endif
