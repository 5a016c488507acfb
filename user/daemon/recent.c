// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>

#include "daemon/recent.h"

struct slot {
	int class_uid;
	char *line;
	size_t len, cap;
};

struct ks_recent {
	struct slot *s;
	size_t cap, next, count;
	uint64_t added; /* events ever added: the sequence number of the next one */
};

struct ks_recent *ks_recent_new(size_t capacity)
{
	struct ks_recent *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cap = capacity;
	if (capacity && !(r->s = calloc(capacity, sizeof(*r->s)))) {
		free(r);
		return NULL;
	}
	return r;
}

void ks_recent_free(struct ks_recent *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->cap; i++)
		free(r->s[i].line);
	free(r->s);
	free(r);
}

void ks_recent_add(struct ks_recent *r, int class_uid, const char *line, size_t len)
{
	struct slot *s;

	if (!r || !r->cap)
		return;
	s = &r->s[r->next];
	if (s->cap < len + 1) { /* slots keep their buffers: steady state allocates nothing */
		char *p = realloc(s->line, len + 1);

		if (!p)
			return;
		s->line = p;
		s->cap = len + 1;
	}
	memcpy(s->line, line, len);
	s->line[len] = '\0';
	s->len = len;
	s->class_uid = class_uid;
	r->next = (r->next + 1) % r->cap;
	if (r->count < r->cap)
		r->count++;
	r->added++;
}

uint64_t ks_recent_first(const struct ks_recent *r)
{
	return r ? r->added - r->count : 0;
}

uint64_t ks_recent_end(const struct ks_recent *r)
{
	return r ? r->added : 0;
}

const char *ks_recent_get(const struct ks_recent *r, uint64_t seq, int *class_uid, size_t *len)
{
	const struct slot *s;

	if (!r || seq < r->added - r->count || seq >= r->added)
		return NULL;
	s = &r->s[(r->next + r->cap - (size_t)(r->added - seq)) % r->cap];
	*class_uid = s->class_uid;
	*len = s->len;
	return s->line;
}
