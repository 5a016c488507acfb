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
}

void ks_recent_each(const struct ks_recent *r, int class_uid, void (*fn)(void *arg, const char *line, size_t len),
                    void *arg)
{
	size_t i, start;

	if (!r || !r->count)
		return;
	start = (r->next + r->cap - r->count) % r->cap;
	for (i = 0; i < r->count; i++) {
		const struct slot *s = &r->s[(start + i) % r->cap];

		if (!class_uid || s->class_uid == class_uid)
			fn(arg, s->line, s->len);
	}
}
