/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The live connection table: every established connection and listening socket the kernel reported,
 * keyed by the kernel's socket id, with its owner. The network sensor (sensors/net.c) keeps it; posture
 * and the control commands read it.
 */
#ifndef KANSOKU_MODEL_NETMODEL_H
#define KANSOKU_MODEL_NETMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kansoku/events.h"

#define KS_NET_BUCKETS 8192
#define KS_NET_MAX 262144     /* entries the model holds; beyond, new ones are counted, not kept */
#define KS_NET_SPARE_MAX 1024 /* ended entries kept for reuse: a connection storm allocates nothing */
#define KS_NET_SELF_PORTS 64

struct ks_conn {
	uint64_t sock_id;
	uint32_t pid, uid, loginuid, lpid; /* owner (acceptor for inbound), listener's owner */
	uint64_t start_ns, lstart_ns;
	uint64_t since_ns;   /* established (or listening) since, boot ns; 0 if before the daemon */
	uint64_t born_ns;    /* when this socket's connection (or listener) began: ks_netmodel_born */
	uint64_t pending_ns; /* an Open held (for accept(), or to fold a short-lived one) since then; 0 if not */
	uint32_t connect_us; /* outbound: the handshake's duration, for a held Open */
	bool accepted;       /* inbound: accept() took it while its Open was held */
	bool open_judged;    /* the held Open was judged already: its release only writes it */
	uint64_t gone_ns;    /* TCP: missing from the kernel's sockets when listed then (reconcile); 0 if not */
	uint32_t netns;
	uint16_t sport, dport;
	uint8_t proto, family, direction;
	bool listening, seeded;
	uint8_t saddr[16], daddr[16];
	struct ks_conn *hnext;
	struct ks_conn *pprev, *pnext; /* pending list, oldest first */
	struct ks_conn *lprev, *lnext; /* listeners' list (posture re-reads it on every change) */
};

struct ks_netmodel {
	struct ks_conn *buckets[KS_NET_BUCKETS];
	struct ks_conn *oldest, *newest; /* held inbound Opens, oldest first */
	struct ks_conn *listeners;       /* every listening entry: a listing costs O(listeners), not O(table) */
	size_t n;
	struct ks_conn *spare; /* ended entries (linked by hnext), KS_NET_SPARE_MAX at most */
	size_t n_spare;
	size_t n_listening, n_udp_listening; /* of n: kept by ks_netmodel_set_listening, upsert, drop */
	uint64_t accept_wait_ns;
	uint64_t short_lived_ns; /* a connection closed within this of its Open is one event (0: never) */
	uint32_t self_pid;
	uint16_t self_ports[KS_NET_SELF_PORTS];     /* local ports of kansokud's own TCP connections (its outputs) */
	uint64_t self_closed_ns[KS_NET_SELF_PORTS]; /* when our side closed: the peer's close may follow */
};

struct ks_netmodel *ks_netmodel_new(uint64_t accept_wait_ns);
void ks_netmodel_free(struct ks_netmodel *n);

/* When the connection a record belongs to began (boot ns): its connect(), listen() or inbound handshake,
 * which every record of it carries as since_ns until it is established; the record's own time when not. */
uint64_t ks_netmodel_born(const struct ks_net *e);
/* The entry of a socket, or NULL. */
struct ks_conn *ks_netmodel_get(struct ks_netmodel *n, uint64_t sock_id);
/* The entry for the record's socket, made (from the record) if absent; NULL when the model is full. */
struct ks_conn *ks_netmodel_upsert(struct ks_netmodel *n, const struct ks_net *e, bool *created);
void ks_netmodel_drop(struct ks_netmodel *n, struct ks_conn *c);
/* Holds an inbound Open until accept() names the acceptor (the pending list), or releases it. */
void ks_netmodel_hold(struct ks_netmodel *n, struct ks_conn *c, uint64_t now);
void ks_netmodel_release(struct ks_netmodel *n, struct ks_conn *c);
/* Entries of the model (listening or not), sorted by local port; caller frees the array. */
struct ks_conn **ks_netmodel_snapshot(struct ks_netmodel *n, bool listening, size_t *count);
/* Marks an entry listening or not (keeps the counts: set `listening` only through this). */
void ks_netmodel_set_listening(struct ks_netmodel *n, struct ks_conn *c, bool listening);
bool ks_netmodel_has_udp_listeners(const struct ks_netmodel *n);
/* Entries listening, or not: O(1). */
size_t ks_netmodel_count(const struct ks_netmodel *n, bool listening);

/*
 * A network namespace the model holds entries in, with processes that may still be in it: the reconcile
 * lists each namespace's sockets from inside it (sensors/netns.h), entered through one of these.
 */
#define KS_NETNS_PIDS 4
struct ks_netns_owners {
	uint32_t netns;
	uint32_t pids[KS_NETNS_PIDS]; /* owners (and listeners' owners) of its entries; 0: unused */
	bool tcp;                     /* it holds TCP entries (held Opens aside) */
	bool udp;                     /* it holds UDP listeners */
};
/* The namespaces of the model's TCP entries and UDP listeners, sorted by netns; at most max, the walk
 * starting at bucket `first` (vary it between calls so a host with more namespaces sees all of them). */
size_t ks_netmodel_namespaces(const struct ks_netmodel *n, struct ks_netns_owners *out, size_t max, size_t first);

/* "tcp"/"udp" and a printable address. */
const char *ks_net_proto_name(uint8_t proto);
void ks_net_addr_str(uint8_t family, const uint8_t *addr, char *out, size_t len);
/* 127/8, ::1 or ::ffff:127/104 (family 4 or 6, as on the wire). */
bool ks_net_loopback(uint8_t family, const uint8_t *addr);

#endif
