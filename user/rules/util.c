// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The engine's arena (one free per engine), its string hash and the hash set behind `in`. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ARENA_CHUNK (64 * 1024)

struct ks_arena_chunk {
	struct ks_arena_chunk *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

void *ks_arena_alloc(struct ks_arena *a, size_t n)
{
	struct ks_arena_chunk *c = a->head;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (!c || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;

		c = calloc(1, sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->next = a->head;
		a->head = c;
		a->bytes += sizeof(*c) + size;
	}
	p = c->data + c->used;
	c->used += n;
	return p; /* calloc'd and never reused: already zero */
}

char *ks_arena_strndup(struct ks_arena *a, const char *s, size_t n)
{
	char *p = ks_arena_alloc(a, n + 1);

	if (p)
		memcpy(p, s, n);
	return p;
}

void ks_arena_free(struct ks_arena *a)
{
	struct ks_arena_chunk *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->bytes = 0;
}

static uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* Eight bytes per step with a multiply-rotate mix and a final avalanche: paths and names hash in a few
 * nanoseconds, with spread enough for open addressing. Not for hostile collision resistance: sets are
 * built from the rules, not from events. */
uint64_t ks_rhash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, k;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&k, s, 8);
		h ^= rotl(k * 0x87c37b91114253d5ull, 31) * 0x4cf5ad432745937full;
		h = rotl(h, 27) * 5 + 0x52dce729;
	}
	k = 0;
	memcpy(&k, s, n);
	h ^= rotl(k * 0x87c37b91114253d5ull, 31) * 0x4cf5ad432745937full;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

struct ks_strset *ks_strset_new(struct ks_arena *a, const struct ks_rstr *v, uint32_t n)
{
	struct ks_strset *s = ks_arena_alloc(a, sizeof(*s));
	uint32_t cap = 8, i, j;

	while (cap < 2 * n)
		cap <<= 1;
	if (!s)
		return NULL;
	s->slot = ks_arena_alloc(a, cap * sizeof(*s->slot));
	s->hash = ks_arena_alloc(a, cap * sizeof(*s->hash));
	if (!s->slot || !s->hash)
		return NULL;
	s->mask = cap - 1;
	for (i = 0; i < n; i++) {
		uint64_t h = ks_rhash(v[i].s, v[i].len);

		if (ks_strset_has(s, v[i].s, v[i].len))
			continue;
		for (j = (uint32_t)h & s->mask; s->slot[j].s; j = (j + 1) & s->mask)
			;
		s->slot[j] = v[i];
		s->hash[j] = h;
		s->n++;
	}
	return s;
}

bool ks_strset_has(const struct ks_strset *s, const char *p, uint32_t len)
{
	return ks_strset_has_hash(s, p, len, ks_rhash(p, len));
}

bool ks_strset_has_hash(const struct ks_strset *s, const char *p, uint32_t len, uint64_t h)
{
	uint32_t j;

	for (j = (uint32_t)h & s->mask; s->slot[j].s; j = (j + 1) & s->mask)
		if (s->hash[j] == h && s->slot[j].len == len && !memcmp(s->slot[j].s, p, len))
			return true;
	return false;
}
