/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Network: wire records -> the live model (model/netmodel.h: established connections and listening
 * sockets, keyed by the kernel's socket id) -> OCSF Network Activity (4001) and DNS Activity (4003). An inbound Open
 * waits a moment for accept() so it can name the acceptor as well as the listener's owner.
 */
#ifndef KANSOKU_NET_H
#define KANSOKU_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kansoku/events.h"
#include "model/netmodel.h"
#include "pipeline/pipeline.h"

struct ks_netmodel;
/* One record from the network ring buffer. Returns -1 if malformed. */
int ks_net_handle(struct ks_pipeline *pl, const void *data, size_t size);
/* A seed record (task_file iterator): the model only, no event. */
int ks_net_seed(struct ks_pipeline *pl, const void *data, size_t size);
/* Emit held inbound Opens whose wait is over (all with flush). */
void ks_net_tick(struct ks_pipeline *pl, uint64_t now_ns, int flush);
/* UDP has no close hook: the daemon lists the bound UDP sockets (iterator) and ends the listeners that
 * are gone. bound is sorted in place. */
void ks_net_udp_reconcile(struct ks_pipeline *pl, uint64_t *bound, size_t n_bound, uint64_t now_ns);

/* TCP entries whose Close record was lost: `live` lists the TCP sockets of network namespace netns (the
 * daemon's) the kernel had at listed_ns (sorted in place). An entry missing from two lists in a row, once
 * every network record written before the first was read (drained_ns: its Close was not merely queued),
 * is ended with a Close marked close_observed: false. Returns the entries still waiting for that. */
size_t ks_net_tcp_reconcile(struct ks_pipeline *pl, uint64_t *live, size_t n_live, uint64_t listed_ns, uint32_t netns,
                            uint64_t drained_ns);

/* A DNS question (QNAME labels, QTYPE) into a dotted name; returns the QTYPE or -1 if malformed.
 * Label bytes outside [A-Za-z0-9-_] are written as \DDD (RFC 1035 master-file form). */
int ks_dns_question(const uint8_t *q, size_t len, char *name, size_t namelen, bool *truncated);
const char *ks_dns_type_name(int qtype);

#endif
