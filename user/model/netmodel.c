// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The live connection table: what each socket the kernel reported is, owned by whom, since when. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "lib/hash.h"
#include "lib/json.h"
#include "model/netmodel.h"

struct ks_netmodel *ks_netmodel_new(uint64_t accept_wait_ns)
{
	struct ks_netmodel *n = calloc(1, sizeof(*n));

	if (n) {
		n->accept_wait_ns = accept_wait_ns;
		n->self_pid = (uint32_t)getpid();
	}
	return n;
}

void ks_netmodel_free(struct ks_netmodel *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < KS_NET_BUCKETS; i++) {
		struct ks_conn *c = n->buckets[i], *next;

		for (; c; c = next) {
			next = c->hnext;
			free(c);
		}
	}
	while (n->spare) {
		struct ks_conn *next = n->spare->hnext;

		free(n->spare);
		n->spare = next;
	}
	free(n);
}

static struct ks_conn **find(struct ks_netmodel *n, uint64_t id)
{
	struct ks_conn **pp = &n->buckets[ks_mix64(id) % KS_NET_BUCKETS];

	while (*pp && (*pp)->sock_id != id)
		pp = &(*pp)->hnext;
	return pp;
}

void ks_netmodel_release(struct ks_netmodel *n, struct ks_conn *c)
{
	if (!c->pending_ns)
		return;
	if (c->pprev)
		c->pprev->pnext = c->pnext;
	else
		n->oldest = c->pnext;
	if (c->pnext)
		c->pnext->pprev = c->pprev;
	else
		n->newest = c->pprev;
	c->pprev = c->pnext = NULL;
	c->pending_ns = 0;
}

void ks_netmodel_hold(struct ks_netmodel *n, struct ks_conn *c, uint64_t now)
{
	ks_netmodel_release(n, c); /* a reused socket address must not link an entry twice */
	c->pending_ns = now ? now : 1;
	c->pnext = NULL;
	c->pprev = n->newest;
	if (n->newest)
		n->newest->pnext = c;
	else
		n->oldest = c;
	n->newest = c;
}

struct ks_conn *ks_netmodel_get(struct ks_netmodel *n, uint64_t sock_id)
{
	return *find(n, sock_id);
}

uint64_t ks_netmodel_born(const struct ks_net *e)
{
	return e->since_ns ? e->since_ns : e->hdr.ts_ns;
}

/* Keeps the listener counts and list (read every tick, by `status` and posture: no walk of the table). */
static void account(struct ks_netmodel *n, struct ks_conn *c, int sign)
{
	if (!c->listening)
		return;
	n->n_listening += (size_t)(ssize_t)sign;
	if (c->proto == 17)
		n->n_udp_listening += (size_t)(ssize_t)sign;
	if (sign > 0) {
		c->lprev = NULL;
		c->lnext = n->listeners;
		if (n->listeners)
			n->listeners->lprev = c;
		n->listeners = c;
		return;
	}
	if (c->lprev)
		c->lprev->lnext = c->lnext;
	else
		n->listeners = c->lnext;
	if (c->lnext)
		c->lnext->lprev = c->lprev;
	c->lprev = c->lnext = NULL;
}

void ks_netmodel_set_listening(struct ks_netmodel *n, struct ks_conn *c, bool listening)
{
	account(n, c, -1);
	c->listening = listening;
	account(n, c, +1);
}

/* A zeroed entry: a spare one if any. Under a storm of short connections malloc's bins, not the work,
 * took an eighth of the loop (entries freed in bursts overflow its per-thread cache). */
static struct ks_conn *conn_alloc(struct ks_netmodel *n)
{
	struct ks_conn *c = n->spare;

	if (!c)
		return calloc(1, sizeof(*c));
	n->spare = c->hnext;
	n->n_spare--;
	memset(c, 0, sizeof(*c));
	return c;
}

static void conn_free(struct ks_netmodel *n, struct ks_conn *c)
{
	if (n->n_spare >= KS_NET_SPARE_MAX) {
		free(c);
		return;
	}
	c->hnext = n->spare;
	n->spare = c;
	n->n_spare++;
}

struct ks_conn *ks_netmodel_upsert(struct ks_netmodel *n, const struct ks_net *e, bool *created)
{
	struct ks_conn **pp = find(n, e->sock_id), *c = *pp;

	*created = false;
	if (!c) {
		if (n->n >= KS_NET_MAX || !(c = conn_alloc(n)))
			return NULL;
		c->sock_id = e->sock_id;
		c->born_ns = ks_netmodel_born(e);
		c->hnext = NULL;
		*pp = c;
		n->n++;
		*created = true;
	}
	c->pid = e->hdr.pid;
	c->start_ns = e->start_ns;
	c->uid = e->uid;
	c->loginuid = e->loginuid;
	if (e->lpid) {
		c->lpid = e->lpid;
		c->lstart_ns = e->lstart_ns;
	}
	if (e->action != KS_NA_ACCEPT || *created) {
		account(n, c, -1); /* the protocol may change with a reused id */
		c->proto = e->proto;
		account(n, c, +1);
		c->netns = e->netns;
		c->sport = e->sport;
		c->dport = e->dport;
		c->family = e->family;
		memcpy(c->saddr, e->saddr, 16);
		memcpy(c->daddr, e->daddr, 16);
	}
	if (e->direction)
		c->direction = e->direction;
	return c;
}

void ks_netmodel_drop(struct ks_netmodel *n, struct ks_conn *c)
{
	struct ks_conn **pp = find(n, c->sock_id);

	if (*pp != c)
		return;
	ks_netmodel_release(n, c);
	account(n, c, -1);
	*pp = c->hnext;
	n->n--;
	conn_free(n, c);
}

const char *ks_net_proto_name(uint8_t proto)
{
	return proto == 6 ? "tcp" : proto == 17 ? "udp" : "ip";
}

void ks_net_addr_str(uint8_t family, const uint8_t *addr, char *out, size_t len)
{
	if (family != 6 && len >= 16) { /* inet_ntop formats IPv4 with sprintf: too slow for every event */
		size_t o = 0;
		int i;

		for (i = 0; i < 4; i++) {
			o += ks_fmt_u64(out + o, addr[i]);
			out[o++] = i < 3 ? '.' : '\0';
		}
		return;
	}
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, out, (socklen_t)len))
		snprintf(out, len, "?");
}

bool ks_net_loopback(uint8_t family, const uint8_t *a)
{
	static const uint8_t lo6[16] = {[15] = 1};

	if (family != 6)
		return a[0] == 127;
	return !memcmp(a, lo6, 16) || (!memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) && a[12] == 127);
}

static int by_port(const void *a, const void *b)
{
	const struct ks_conn *x = *(struct ks_conn *const *)a, *y = *(struct ks_conn *const *)b;

	if (x->sport != y->sport)
		return x->sport < y->sport ? -1 : 1;
	if (x->dport != y->dport)
		return x->dport < y->dport ? -1 : 1;
	return x->sock_id < y->sock_id ? -1 : x->sock_id > y->sock_id;
}

struct ks_conn **ks_netmodel_snapshot(struct ks_netmodel *n, bool listening, size_t *count)
{
	size_t want = !n ? 0 : listening ? n->n_listening : n->n - n->n_listening;
	struct ks_conn **out = malloc(sizeof(*out) * (want ? want : 1)), *c;
	size_t i, k = 0;

	*count = 0;
	if (!out || !n)
		return out;
	if (listening)
		for (c = n->listeners; c; c = c->lnext)
			out[k++] = c;
	else
		for (i = 0; i < KS_NET_BUCKETS; i++)
			for (c = n->buckets[i]; c; c = c->hnext)
				if (!c->listening)
					out[k++] = c;
	qsort(out, k, sizeof(*out), by_port);
	*count = k;
	return out;
}

bool ks_netmodel_has_udp_listeners(const struct ks_netmodel *n)
{
	return n && n->n_udp_listening;
}

static void owners_add_pid(struct ks_netns_owners *o, uint32_t pid)
{
	for (int i = 0; pid && i < KS_NETNS_PIDS; i++) {
		if (o->pids[i] == pid)
			return;
		if (!o->pids[i]) {
			o->pids[i] = pid;
			return;
		}
	}
}

/* The slot of netns in out[0, *k) (sorted), inserted when absent and there is room; NULL when full. */
static struct ks_netns_owners *owners_slot(struct ks_netns_owners *out, size_t *k, size_t max, uint32_t netns)
{
	size_t lo = 0, hi = *k;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (out[mid].netns == netns)
			return &out[mid];
		if (out[mid].netns < netns)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (*k == max)
		return NULL;
	memmove(&out[lo + 1], &out[lo], (*k - lo) * sizeof(*out));
	memset(&out[lo], 0, sizeof(*out));
	out[lo].netns = netns;
	(*k)++;
	return &out[lo];
}

size_t ks_netmodel_namespaces(const struct ks_netmodel *n, struct ks_netns_owners *out, size_t max, size_t first)
{
	size_t i, k = 0;

	if (!n)
		return 0;
	for (i = 0; i < KS_NET_BUCKETS; i++) {
		const struct ks_conn *c = n->buckets[(first + i) % KS_NET_BUCKETS];

		for (; c; c = c->hnext) {
			bool tcp = c->proto == 6 && !c->pending_ns, udp = c->proto == 17 && c->listening;
			struct ks_netns_owners *o;

			if (!tcp && !udp)
				continue;
			o = owners_slot(out, &k, max, c->netns);
			if (!o)
				continue; /* full: this namespace waits for a later walk */
			o->tcp |= tcp;
			o->udp |= udp;
			owners_add_pid(o, c->pid);
			owners_add_pid(o, c->lpid);
		}
	}
	return k;
}

size_t ks_netmodel_count(const struct ks_netmodel *n, bool listening)
{
	if (!n)
		return 0;
	return listening ? n->n_listening : n->n - n->n_listening;
}
