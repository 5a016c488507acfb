/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Network: wire records -> the live model (established connections and listening sockets, keyed by the
 * kernel's socket id) -> OCSF Network Activity (4001) and DNS Activity (4003). An inbound Open waits a
 * moment for accept() so it can name the acceptor as well as the listener's owner.
 */
#ifndef KANSOKU_NET_H
#define KANSOKU_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kansoku/events.h"
#include "kansoku/pipeline.h"

struct ks_conn {
	uint64_t sock_id;
	uint32_t pid, uid, loginuid, lpid; /* owner (acceptor for inbound), listener's owner */
	uint64_t start_ns, lstart_ns;
	uint64_t since_ns;   /* established (or listening) since, boot ns; 0 if before the daemon */
	uint64_t pending_ns; /* an inbound Open held for accept() since then; 0 if not held */
	uint32_t netns;
	uint16_t sport, dport;
	uint8_t proto, family, direction;
	bool listening, seeded;
	uint8_t saddr[16], daddr[16];
	struct ks_conn *hnext;
	struct ks_conn *pprev, *pnext; /* pending list, oldest first */
};

struct ks_netmodel;

struct ks_netmodel *ks_netmodel_new(uint64_t accept_wait_ns);
void ks_netmodel_free(struct ks_netmodel *n);
/* One record from the network ring buffer. Returns -1 if malformed. */
int ks_net_handle(struct ks_pipeline *pl, const void *data, size_t size);
/* A seed record (task_file iterator): the model only, no event. */
int ks_net_seed(struct ks_pipeline *pl, const void *data, size_t size);
/* Emit held inbound Opens whose wait is over (all with flush). */
void ks_net_tick(struct ks_pipeline *pl, uint64_t now_ns, int flush);
/* UDP has no close hook: the daemon lists the bound UDP sockets (iterator) and ends the listeners that
 * are gone. bound is sorted in place. */
bool ks_net_has_udp_listeners(struct ks_netmodel *n);
void ks_net_udp_reconcile(struct ks_pipeline *pl, uint64_t *bound, size_t n_bound, uint64_t now_ns);
/* Entries of the model (listening or not), sorted by local port; caller frees the array. */
struct ks_conn **ks_net_snapshot(struct ks_netmodel *n, bool listening, size_t *count);
/* "tcp"/"udp" and a printable address. */
const char *ks_net_proto_name(uint8_t proto);
void ks_net_addr_str(uint8_t family, const uint8_t *addr, char *out, size_t len);
/* 127/8, ::1 or ::ffff:127/104 (family 4 or 6, as on the wire). */
bool ks_net_loopback(uint8_t family, const uint8_t *addr);
/* A DNS question (QNAME labels, QTYPE) into a dotted name; returns the QTYPE or -1 if malformed.
 * Label bytes outside [A-Za-z0-9-_] are written as \DDD (RFC 1035 master-file form). */
int ks_dns_question(const uint8_t *q, size_t len, char *name, size_t namelen, bool *truncated);
const char *ks_dns_type_name(int qtype);

#endif
