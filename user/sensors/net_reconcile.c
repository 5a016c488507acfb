// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* When the connection model is checked against the kernel's sockets: see net_reconcile.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/time.h"
#include "model/netmodel.h"
#include "sensors/net.h"
#include "sensors/net_reconcile.h"
#include "sensors/netns.h"

#define TCP_RECONCILE_SOON_NS (2 * NSEC_PER_SEC)
#define TCP_RECONCILE_IDLE_NS (60 * NSEC_PER_SEC)
#define UDP_RECONCILE_NS (2 * NSEC_PER_SEC)
/* the model walk for namespaces starts this many buckets further each pass (a prime: it visits them all) */
#define WALK_STEP 4099

struct ks_net_reconciler {
	uint64_t tcp_due_ns;     /* next listing of TCP sockets */
	unsigned tcp_passes;     /* listings still wanted soon: network records were lost */
	uint64_t udp_checked_ns; /* last listing of UDP sockets */
	uint64_t missed_seen;    /* transitions_possibly_missed at the last look */
	size_t walk_first;       /* where the next walk for namespaces starts */
	bool tcp_in_pass;        /* the pass lists TCP: its end schedules the next */
	bool start_failed;       /* said once */
	struct ks_netns_pass pass;
};

struct ks_net_reconciler *ks_net_reconciler_new(void)
{
	return calloc(1, sizeof(struct ks_net_reconciler));
}

void ks_net_reconciler_free(struct ks_net_reconciler *r)
{
	if (!r)
		return;
	ks_netns_pass_clear(&r->pass);
	free(r);
}

void ks_net_reconciler_soon(struct ks_net_reconciler *r)
{
	if (!r)
		return;
	r->tcp_passes = 2;
	r->tcp_due_ns = 0;
}

/* Ends what the pass found gone and schedules the next TCP listing. */
static void apply(struct ks_net_reconciler *r, struct ks_pipeline *pl, uint64_t now_ns, uint64_t drained_ns)
{
	size_t waiting = ks_net_reconcile(pl, r->pass.out, r->pass.n, drained_ns);

	if (r->tcp_in_pass) {
		if (waiting) /* some wait for a second list: list again soon */
			r->tcp_passes = r->tcp_passes > 1 ? r->tcp_passes : 2;
		if (r->tcp_passes)
			r->tcp_passes--;
		r->tcp_due_ns = now_ns + (r->tcp_passes ? TCP_RECONCILE_SOON_NS : TCP_RECONCILE_IDLE_NS);
	}
	ks_netns_pass_clear(&r->pass);
}

void ks_net_reconciler_tick(struct ks_net_reconciler *r, struct ks_pipeline *pl, struct ks_loader *l, uint64_t now_ns,
                            uint64_t drained_ns)
{
	struct ks_netns_pass *p;
	uint64_t missed;
	bool tcp, udp;

	if (!r || !pl->net)
		return;
	p = &r->pass;
	if (p->running) {
		if (!ks_netns_pass_idle(p))
			return; /* still listing: looked at again next tick */
		apply(r, pl, now_ns, drained_ns);
	}
	missed = ks_loader_net_missed(l);
	if (missed != r->missed_seen) {
		r->missed_seen = missed;
		ks_net_reconciler_soon(r);
	}
	tcp = now_ns >= r->tcp_due_ns;
	udp = now_ns - r->udp_checked_ns >= UDP_RECONCILE_NS && ks_netmodel_has_udp_listeners(pl->net);
	if (!tcp && !udp)
		return;
	if (udp)
		r->udp_checked_ns = now_ns;
	r->tcp_in_pass = tcp;
	p->tcp_iter = tcp ? ks_loader_sock_iter(l, KS_ITER_TCP) : -1;
	p->udp_iter = udp ? ks_loader_sock_iter(l, KS_ITER_UDP) : -1;
	p->self_netns = ks_netns_self();
	p->n = ks_netmodel_namespaces(pl->net, p->want, KS_NETNS_MAX, r->walk_first);
	r->walk_first = (r->walk_first + WALK_STEP) % KS_NET_BUCKETS;
	if (p->n && (p->tcp_iter >= 0 || p->udp_iter >= 0) && p->self_netns) {
		if (!ks_netns_pass_start(p))
			return;
		if (!r->start_failed)
			ks_warn("cannot start the thread that lists sockets (%s): connections whose close is lost stay "
			        "in the model",
			        strerror(errno));
		r->start_failed = true;
	}
	p->n = 0;
	apply(r, pl, now_ns, drained_ns); /* nothing to list: nothing ended, the next listing scheduled */
}
