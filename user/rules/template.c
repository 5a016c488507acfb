// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Output templates: "%{field}" references resolved at load, rendered into a fixed buffer per match. */
#include <string.h>

#include "internal.h"

int ks_tmpl_compile(struct ks_pctx *c, const char *text, size_t len, const struct ks_rpos *pos, struct ks_tmpl *t)
{
	size_t i = 0, lit = 0, refs = 0, k = 0;

	for (i = 0; i + 1 < len; i++)
		refs += text[i] == '%' && text[i + 1] == '{';
	t->parts = ks_arena_alloc(&c->r->arena, (refs + 1) * sizeof(*t->parts));
	if (!t->parts)
		return -1;
	for (i = 0; i < len; i++) {
		const char *end;
		int f;

		if (text[i] != '%' || i + 1 >= len || text[i + 1] != '{')
			continue;
		end = memchr(text + i, '}', len - i);
		if (!end) {
			ks_rerr(c->err, pos, i, "output: '%%{' without its closing '}'");
			return -1;
		}
		f = ks_rfield_lookup(text + i + 2, (size_t)(end - text) - i - 2);
		if (f < 0) {
			ks_rerr(c->err, pos, i + 2, "output: unknown field '%.*s'", (int)((size_t)(end - text) - i - 2),
			        text + i + 2);
			return -1;
		}
		c->r->needs[f / 64] |= 1ull << (f % 64);
		t->parts[k].lit.s = ks_arena_strndup(&c->r->arena, text + lit, i - lit);
		t->parts[k].lit.len = (uint32_t)(i - lit);
		t->parts[k++].field = f;
		lit = i = (size_t)(end - text) + 1;
		i--;
	}
	t->parts[k].lit.s = ks_arena_strndup(&c->r->arena, text + lit, len - lit);
	t->parts[k].lit.len = (uint32_t)(len - lit);
	t->parts[k++].field = -1;
	t->n = (uint32_t)k;
	return 0;
}

static size_t put(char *out, size_t len, size_t o, const char *s, size_t n)
{
	if (o + 1 >= len)
		return o;
	if (n > len - 1 - o)
		n = len - 1 - o;
	memcpy(out + o, s, n);
	return o + n;
}

size_t ks_tmpl_render(const struct ks_tmpl *t, const struct ks_rview *v, char *out, size_t len)
{
	char val[512];
	size_t o = 0, n;
	uint32_t i;

	if (!len)
		return 0;
	for (i = 0; i < t->n; i++) {
		o = put(out, len, o, t->parts[i].lit.s, t->parts[i].lit.len);
		if (t->parts[i].field < 0)
			continue;
		if (!v->f[t->parts[i].field].set) {
			o = put(out, len, o, "<NA>", 4);
			continue;
		}
		if (ks_rfield_type((enum ks_rfield)t->parts[i].field) == KS_RT_STR) { /* no copy, no cut at 512 */
			o = put(out, len, o, v->f[t->parts[i].field].s, v->f[t->parts[i].field].len);
			continue;
		}
		n = ks_rval_format(t->parts[i].field, &v->f[t->parts[i].field], val, sizeof(val));
		o = put(out, len, o, val, n);
	}
	out[o] = '\0';
	return o;
}
