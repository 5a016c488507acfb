/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * When the connection model is checked against the kernel's sockets (sensors/net.h: ks_net_reconcile),
 * in every network namespace it holds entries in. TCP connections whose Close record was lost stay in the
 * model as ghosts: an entry must be missing from two lists, 2 s apart, so a Close still queued is not taken
 * for lost; soon after network records were dropped or a transition may have been skipped, else once a
 * minute (one listing costs O(sockets)). UDP sockets have no close hook: their listeners are checked every
 * 2 s while there are any. The listing runs on a short-lived thread (sensors/netns.h); the loop starts a
 * pass and applies it a tick later: it never waits for the kernel's lists.
 */
#ifndef KANSOKU_SENSORS_NET_RECONCILE_H
#define KANSOKU_SENSORS_NET_RECONCILE_H

#include <stdint.h>

#include "pipeline/pipeline.h"
#include "sensors/loader.h"

struct ks_net_reconciler;

struct ks_net_reconciler *ks_net_reconciler_new(void);
/* Waits for a pass still running (its thread uses the loader's iterators: free this first). */
void ks_net_reconciler_free(struct ks_net_reconciler *r);
/* Network records were lost: Closes may be among them, list TCP again soon. */
void ks_net_reconciler_soon(struct ks_net_reconciler *r);
/* From the loop's timer: applies a finished pass, starts the next one when due. drained_ns: every network
 * record the kernel wrote before it has been read (sensors/rings.h). */
void ks_net_reconciler_tick(struct ks_net_reconciler *r, struct ks_pipeline *pl, struct ks_loader *l, uint64_t now_ns,
                            uint64_t drained_ns);

#endif
