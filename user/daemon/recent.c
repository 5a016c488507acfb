// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The recent events, back to back in one buffer written front to back, on huge pages (lib/hotmem.h). Each
 * event was a copy into a slot of its own, 1,000 separate blocks the loop came back to only every 1,000
 * events: each copy missed the TLB and met cold lines, 27% of the loop thread in an exec storm (perf).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/recent.h"
#include "lib/hotmem.h"

struct entry {
	size_t off, len;
	int class_uid;
};

struct ks_recent {
	char *buf;
	size_t size; /* bytes of buf */
	size_t head; /* where the next event goes */
	struct entry *idx;
	size_t cap;     /* events kept at most */
	uint64_t first; /* the sequence number of the oldest kept */
	uint64_t added; /* events ever added: the sequence number of the next one */
	uint64_t too_large;
};

struct ks_recent *ks_recent_new(size_t capacity, size_t bytes, bool huge)
{
	struct ks_recent *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (!capacity || !bytes)
		return r; /* keeps nothing */
	r->idx = calloc(capacity, sizeof(*r->idx));
	r->buf = huge ? ks_hot_alloc(&bytes) : malloc(bytes);
	if (!r->idx || !r->buf) {
		ks_recent_free(r);
		return NULL;
	}
	r->cap = capacity;
	r->size = bytes;
	return r;
}

void ks_recent_free(struct ks_recent *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r->idx);
	free(r);
}

static const struct entry *entry_of(const struct ks_recent *r, uint64_t seq)
{
	return &r->idx[seq % r->cap];
}

/* Does the oldest kept event lie in [off, off + len)? Within a lap events sit in the order they were
 * added, so the first one a new event can reach is the oldest. */
static bool oldest_overlaps(const struct ks_recent *r, size_t off, size_t len)
{
	const struct entry *e;

	if (r->first == r->added)
		return false;
	e = entry_of(r, r->first);
	return e->off < off + len && off < e->off + e->len;
}

void ks_recent_add(struct ks_recent *r, int class_uid, const char *line, size_t len)
{
	struct entry *e;

	if (!r || !r->cap)
		return;
	if (len > r->size) {
		r->too_large++;
		return;
	}
	if (r->head + len > r->size) { /* the next lap starts at the beginning; what the last lap left past
		                        * this point is older than everything before it: it goes first */
		while (r->first < r->added && entry_of(r, r->first)->off >= r->head)
			r->first++;
		r->head = 0;
	}
	while (oldest_overlaps(r, r->head, len))
		r->first++;
	if (r->added - r->first == r->cap)
		r->first++;
	memcpy(r->buf + r->head, line, len);
	e = &r->idx[r->added % r->cap];
	*e = (struct entry){r->head, len, class_uid};
	r->head += len;
	r->added++;
}

uint64_t ks_recent_first(const struct ks_recent *r)
{
	return r ? r->first : 0;
}

uint64_t ks_recent_end(const struct ks_recent *r)
{
	return r ? r->added : 0;
}

uint64_t ks_recent_too_large(const struct ks_recent *r)
{
	return r ? r->too_large : 0;
}

const char *ks_recent_get(const struct ks_recent *r, uint64_t seq, int *class_uid, size_t *len)
{
	const struct entry *e;

	if (!r || seq < r->first || seq >= r->added)
		return NULL;
	e = entry_of(r, seq);
	*class_uid = e->class_uid;
	*len = e->len;
	return r->buf + e->off;
}
