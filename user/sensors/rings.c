// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kansoku's own ring buffer reader. libbpf's ring_buffer maps each ring's data area twice (so a record
 * that wraps reads as one piece); the kernel inserts every page at mmap time, so an 8 MiB ring cost 16 MiB
 * of the daemon's RSS. Here each ring is mapped once: the consumer page read-write, the producer page and
 * the data area read-only; the rare record that wraps past the end is copied into one reusable buffer.
 * The record format and the ordering rules are the kernel's (kernel/bpf/ringbuf.c): an 8-byte header
 * whose length carries the BUSY and DISCARD bits, records 8-byte aligned, positions read with acquire and
 * the consumer's written with release.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "host/host.h"
#include "sensors/rings.h"

/* Records taken from one ring per round: a ring fed as fast as it is read cannot hold the loop; what is
 * left waits for the next round, right after the loop's other work (the ring's fd stays readable). */
#define KS_RING_ROUND_MAX 2048

struct ks_ring {
	struct ks_rings *owner;
	enum ks_ring_id id;
	ks_ring_fn fn;
	unsigned long *consumer;       /* the consumer page (read-write), NULL if the ring is not loaded */
	const unsigned long *producer; /* the producer page, the data area right after it (read-only) */
	const char *data;
	size_t size; /* of the data area: a power of two */
	size_t page;
	char *copy; /* a record that wraps past the end of the data area, in one piece */
	size_t copy_cap;
	unsigned taken;            /* this round */
	bool stopped;              /* this round stopped before the end of the ring */
	uint64_t stop_ts;          /* the time of the record it stopped at (UINT64_MAX: none readable) */
	unsigned long counted_pos; /* 1 + the position of the last record counted as held */
	uint64_t drained_ns;       /* every record written before this was handled */
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
	uint64_t wrapped_total;
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

/* Handles the record at pos, or stops the ring there: false (it stays in the ring, read again next round,
 * when the process ring has gone past it). */
static bool take(struct ks_ring *g, unsigned long pos, void *data, size_t size)
{
	struct ks_rings *r = g->owner;
	const struct ks_hdr *h = data;
	bool has_ts = size >= sizeof(*h), wait_owner = false, late;

	if (!r->final) {
		late = g->id == KS_RING_PROCESS && has_ts && h->ts_ns > r->round_ns;
		if (g->id != KS_RING_PROCESS && has_ts && h->ts_ns > r->drained_ns)
			wait_owner = !owner_known(r, data, size);
		if (g->taken >= KS_RING_ROUND_MAX || wait_owner || late) {
			if (wait_owner && g->counted_pos != pos + 1) { /* counted once, however many rounds */
				r->held_total++;
				g->counted_pos = pos + 1;
			}
			g->stopped = true;
			g->stop_ts = has_ts ? h->ts_ns : UINT64_MAX;
			return false;
		}
	}
	g->taken++;
	g->fn(r->ctx, data, size);
	return true;
}

/* The bytes of a record at offset off of the data area: in place, or copied if they wrap. NULL: no memory
 * for the copy (the ring stops there and tries again next round). */
static void *record_bytes(struct ks_ring *g, size_t off, size_t len)
{
	size_t first = g->size - off;

	if (len <= first)
		return (void *)(uintptr_t)(g->data + off); /* the handlers only read it */
	if (len > g->copy_cap) {
		char *p = realloc(g->copy, len);

		if (!p)
			return NULL;
		g->copy = p;
		g->copy_cap = len;
	}
	memcpy(g->copy, g->data + off, first);
	memcpy(g->copy + first, g->data, len - first);
	g->owner->wrapped_total++;
	return g->copy;
}

/* The ring stops at a record whose time is unknown (still being written, or not copied): it may be before
 * this round's, so claim no more than the last round did. */
static void stop_time_unknown(struct ks_ring *g)
{
	g->stopped = true;
	g->stop_ts = g->owner->drained_ns + 1;
}

/* Reads the ring from the consumer position on, record by record, releasing each as it is handled, until
 * it is empty, a record is still being written, or take() stops it. */
static void consume(struct ks_ring *g)
{
	unsigned long cons = __atomic_load_n(g->consumer, __ATOMIC_ACQUIRE), prod, mask = g->size - 1;

	for (;;) {
		prod = __atomic_load_n(g->producer, __ATOMIC_ACQUIRE);
		if (cons >= prod)
			return;
		while (cons < prod) {
			const uint32_t *hdr = (const void *)(g->data + (cons & mask));
			uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE), size;
			void *rec;

			if (len & BPF_RINGBUF_BUSY_BIT) { /* not committed yet: the rest waits */
				stop_time_unknown(g);
				return;
			}
			size = len & ~(uint32_t)BPF_RINGBUF_DISCARD_BIT;
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				rec = record_bytes(g, ((cons & mask) + BPF_RINGBUF_HDR_SZ) & mask, size);
				if (!rec) { /* no memory for the copy */
					stop_time_unknown(g);
					return;
				}
				if (!take(g, cons, rec, size))
					return;
			}
			cons += (BPF_RINGBUF_HDR_SZ + size + 7) & ~7ul;
			__atomic_store_n(g->consumer, cons, __ATOMIC_RELEASE);
		}
	}
}

void ks_rings_drain(struct ks_rings *r, bool final)
{
	int i;

	r->final = final;
	r->round_ns = ks_boot_ns_now();
	/* the process ring first: then the others find the processes their records name */
	for (i = KS_RING_PROCESS; i < KS_RING_MAX; i++) {
		struct ks_ring *g = &r->ring[i];

		if (!g->consumer)
			continue;
		g->taken = 0;
		g->stopped = false;
		consume(g);
		if (!g->stopped)
			g->drained_ns = r->round_ns;
		if (i == KS_RING_PROCESS) /* stopped at its cap: read only up to the record it stopped at */
			r->drained_ns = g->stopped && g->stop_ts <= r->round_ns ? g->stop_ts - 1 : r->round_ns;
	}
}

static int fd_of(struct ks_loader *l, enum ks_ring_id id)
{
	return ks_loader_ring_fd(l, id == KS_RING_FILE ? KS_EV_FILE : id == KS_RING_NET ? KS_EV_NET : KS_EV_EXEC);
}

/* Maps the ring of map fd once (see the top) and has the loop's epoll watch it. Returns 0 or -1 with err. */
static int ring_open(struct ks_ring *g, int fd, int epfd, char *err, size_t errlen)
{
	static const char *const names[KS_RING_MAX] = {"process", "file", "network"};
	struct epoll_event ev = {.events = EPOLLIN};
	struct bpf_map_info info = {0};
	uint32_t info_len = sizeof(info);
	void *p;

	if (bpf_obj_get_info_by_fd(fd, &info, &info_len) || info.type != BPF_MAP_TYPE_RINGBUF) {
		snprintf(err, errlen, "the %s ring buffer: not a BPF ring buffer map (%s)", names[g->id],
		         strerror(errno));
		return -1;
	}
	g->page = (size_t)sysconf(_SC_PAGESIZE);
	g->size = info.max_entries;
	p = mmap(NULL, g->page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	g->consumer = p;
	p = mmap(NULL, g->page + g->size, PROT_READ, MAP_SHARED, fd, (off_t)g->page);
	if (p == MAP_FAILED)
		goto fail;
	g->producer = p;
	g->data = (const char *)p + g->page;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "the %s ring buffer (%zu KiB): mmap or epoll: %s", names[g->id], g->size >> 10,
	         strerror(errno));
	return -1;
}

static void ring_close(struct ks_ring *g)
{
	if (g->consumer)
		munmap(g->consumer, g->page);
	if (g->producer)
		munmap((void *)(uintptr_t)g->producer, g->page + g->size);
	free(g->copy);
}

struct ks_rings *ks_rings_new(struct ks_loader *l, struct ks_proctable *procs, const ks_ring_fn fns[KS_RING_MAX],
                              void *ctx, char *err, size_t errlen)
{
	struct ks_rings *r = calloc(1, sizeof(*r));
	int i;

	if (!r) {
		snprintf(err, errlen, "ring buffers: out of memory");
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
		int fd = fd_of(l, (enum ks_ring_id)i);

		g->owner = r;
		g->id = (enum ks_ring_id)i;
		g->fn = fns[i];
		if (fd >= 0 && fns[i] && ring_open(g, fd, r->epfd, err, errlen))
			goto fail;
	}
	if (!r->ring[KS_RING_PROCESS].consumer) {
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
	for (i = 0; i < KS_RING_MAX; i++)
		ring_close(&r->ring[i]);
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

uint64_t ks_rings_wrapped(const struct ks_rings *r)
{
	return r ? r->wrapped_total : 0;
}
