/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small non-cryptographic hashes for ids (not for security: ids are unique, not secret). */
#ifndef KANSOKU_HASH_H
#define KANSOKU_HASH_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64's finaliser: spreads every input bit over the output */
static inline uint64_t ks_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static inline uint64_t ks_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ull;
	}
	return h;
}

#endif
