// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "host/host.h"
#include "sensors/rings.h"

/* Records taken from one ring per round: a ring fed as fast as it is read (libbpf reads on while new
 * data comes) cannot hold the loop; what is left waits for the next round, right after the loop's other
 * work (the ring's fd stays readable). */
#define KS_RING_ROUND_MAX 2048

struct ks_ring {
	struct ks_rings *owner;
	enum ks_ring_id id;
	struct ring_buffer *rb;
	ks_ring_fn fn;
	unsigned taken;      /* this round */
	bool stopped;        /* this round stopped before the end of the ring */
	uint64_t drained_ns; /* every record written before this was handled */
	char *held;          /* a copy of the record the ring paused at, or NULL */
	size_t held_len, held_cap;
};

struct ks_rings {
	struct ks_ring ring[KS_RING_MAX];
	struct ks_proctable *procs;
	void *ctx;
	int epfd;
	uint64_t round_ns;   /* this round takes what was written before */
	uint64_t drained_ns; /* the process ring is read up to here (round_ns, or less if capped) */
	bool final;
	uint64_t held_total;
};

/* Does the table know the process that wrote this record (the very one, for network records)? */
static bool owner_known(struct ks_rings *r, const void *data, size_t size)
{
	const struct ks_hdr *h = data;
	struct ks_proc *p;

	if (size < sizeof(*h) || !h->pid)
		return true;
	p = ks_proc_lookup(r->procs, h->pid);
	if (p && h->kind == KS_EV_NET && size >= sizeof(struct ks_net)) {
		const struct ks_net *e = data;

		return !e->start_ns || p->start_ns == e->start_ns;
	}
	return p != NULL;
}

/* Keeps a copy of the record and stops the ring there (libbpf has consumed it: it is ours now). */
static bool hold(struct ks_ring *g, const void *data, size_t size)
{
	if (size > g->held_cap) {
		char *p = realloc(g->held, size);

		if (!p)
			return false;
		g->held = p;
		g->held_cap = size;
	}
	memcpy(g->held, data, size);
	g->held_len = size;
	return true;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct ks_ring *g = ctx;
	struct ks_rings *r = g->owner;
	const struct ks_hdr *h = data;
	bool late = size >= sizeof(*h) && h->ts_ns > r->round_ns, wait_owner = false;

	if (!r->final && g->id != KS_RING_PROCESS && size >= sizeof(*h) && h->ts_ns > r->drained_ns)
		wait_owner = !owner_known(r, data, size);
	if (!r->final && (g->taken >= KS_RING_ROUND_MAX || wait_owner || (late && g->id == KS_RING_PROCESS)) &&
	    hold(g, data, size)) {
		r->held_total += wait_owner;
		g->stopped = true;
		return -EAGAIN;
	}
	/* (a record that could not be copied is handled now: out of order rather than lost) */
	g->taken++;
	g->fn(r->ctx, data, size);
	return 0;
}

void ks_rings_drain(struct ks_rings *r, bool final)
{
	int i;

	r->final = final;
	r->round_ns = ks_boot_ns_now();
	/* the process ring first: then the others find the processes their records name */
	for (i = KS_RING_PROCESS; i < KS_RING_MAX; i++) {
		struct ks_ring *g = &r->ring[i];

		if (!g->rb)
			continue;
		g->taken = 0;
		g->stopped = false;
		if (g->held_len && i != KS_RING_PROCESS && !r->final &&
		    ((const struct ks_hdr *)(const void *)g->held)->ts_ns > r->drained_ns &&
		    !owner_known(r, g->held, g->held_len))
			continue;  /* the process ring stopped at its cap before reaching it: still waiting */
		if (g->held_len) { /* written before this round began (and, for the others, after the process ring) */
			size_t len = g->held_len;

			g->held_len = 0;
			g->taken++;
			g->fn(r->ctx, g->held, len);
		}
		ring_buffer__consume(g->rb);
		if (!g->stopped)
			g->drained_ns = r->round_ns;
		if (i == KS_RING_PROCESS) { /* stopped at its cap: read only up to the record it holds */
			const struct ks_hdr *h = (const void *)g->held;

			r->drained_ns =
			    g->held_len >= sizeof(*h) && h->ts_ns <= r->round_ns ? h->ts_ns - 1 : r->round_ns;
		}
	}
}

static int fd_of(struct ks_loader *l, enum ks_ring_id id)
{
	return ks_loader_ring_fd(l, id == KS_RING_FILE ? KS_EV_FILE : id == KS_RING_NET ? KS_EV_NET : KS_EV_EXEC);
}

struct ks_rings *ks_rings_new(struct ks_loader *l, struct ks_proctable *procs, const ks_ring_fn fns[KS_RING_MAX],
                              void *ctx, char *err, size_t errlen)
{
	struct ks_rings *r = calloc(1, sizeof(*r));
	int i;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->procs = procs;
	r->ctx = ctx;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		snprintf(err, errlen, "epoll for the ring buffers: %s", strerror(errno));
		goto fail;
	}
	for (i = 0; i < KS_RING_MAX; i++) {
		struct ks_ring *g = &r->ring[i];
		struct epoll_event ev = {.events = EPOLLIN};
		int fd = fd_of(l, (enum ks_ring_id)i);

		g->owner = r;
		g->id = (enum ks_ring_id)i;
		g->fn = fns[i];
		if (fd < 0 || !fns[i])
			continue;
		g->rb = ring_buffer__new(fd, on_record, g, NULL);
		if (!g->rb || epoll_ctl(r->epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(g->rb), &ev) < 0) {
			snprintf(err, errlen, "ring buffer %d: %s", i, strerror(errno));
			goto fail;
		}
	}
	if (!r->ring[KS_RING_PROCESS].rb) {
		snprintf(err, errlen, "the process ring buffer is missing");
		goto fail;
	}
	return r;
fail:
	ks_rings_free(r);
	return NULL;
}

void ks_rings_free(struct ks_rings *r)
{
	int i;

	if (!r)
		return;
	for (i = 0; i < KS_RING_MAX; i++) {
		ring_buffer__free(r->ring[i].rb);
		free(r->ring[i].held);
	}
	if (r->epfd >= 0)
		close(r->epfd);
	free(r);
}

int ks_rings_fd(const struct ks_rings *r)
{
	return r->epfd;
}

uint64_t ks_rings_drained_ns(const struct ks_rings *r, enum ks_ring_id id)
{
	return r && id < KS_RING_MAX ? r->ring[id].drained_ns : 0;
}

uint64_t ks_rings_held(const struct ks_rings *r)
{
	return r ? r->held_total : 0;
}
