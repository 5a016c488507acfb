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
/*
 * What the kernel listed of one network namespace's sockets (a socket iterator lists only the namespace
 * of whoever opens it: sensors/netns.h lists each from inside it). A protocol not listed (x_listed false)
 * is left alone; a namespace gone is listed empty.
 */
struct ks_net_listing {
	uint32_t netns;
	bool gone;                   /* no process or name holds it any more: its lists are empty */
	bool tcp_listed, udp_listed; /* which lists below are valid */
	uint64_t listed_ns;          /* when they were taken (boot ns) */
	uint64_t *tcp, *udp;         /* socket ids: every TCP socket; UDP sockets bound to a port */
	size_t n_tcp, n_udp;
};

/*
 * Ends the model's entries the kernel no longer has, in the namespaces listed (ls is sorted in place, and
 * each list). TCP: an entry missing from two lists in a row, once every network record written before the
 * first was read (drained_ns: its Close was not merely queued), is ended with a Close marked
 * close_observed: false (in a namespace gone, after KS_NETNS_GONE_GRACE_NS). UDP (no close hook): a
 * listener missing from one list is ended at once. Entries newer than the list are left for the next.
 * Returns the TCP entries still waiting for a later list.
 */
size_t ks_net_reconcile(struct ks_pipeline *pl, struct ks_net_listing *ls, size_t n_ls, uint64_t drained_ns);
/* A namespace no process or name holds may still hold orphaned TCP sockets (closed by their process, still
 * finishing their FIN handshake), whose real Close is yet to come: its entries are ended only once it has
 * been unreachable this long (a loopback or responsive peer finishes within a second). */
#define KS_NETNS_GONE_GRACE_NS (10 * 1000000000ull)
/* The same for one namespace and one protocol. */
size_t ks_net_tcp_reconcile(struct ks_pipeline *pl, uint64_t *live, size_t n_live, uint64_t listed_ns, uint32_t netns,
                            uint64_t drained_ns);
void ks_net_udp_reconcile(struct ks_pipeline *pl, uint64_t *bound, size_t n_bound, uint64_t listed_ns, uint32_t netns);

/* A DNS question (QNAME labels, QTYPE) into a dotted name; returns the QTYPE or -1 if malformed.
 * Label bytes outside [A-Za-z0-9-_] are written as \DDD (RFC 1035 master-file form). */
int ks_dns_question(const uint8_t *q, size_t len, char *name, size_t namelen, bool *truncated);
const char *ks_dns_type_name(int qtype);

#endif
