// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates, <= U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0) /* overlong */
			return 0;
		if (c == 0xed && s[1] >= 0xa0) /* UTF-16 surrogate */
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90) /* overlong */
			return 0;
		if (c == 0xf4 && s[1] >= 0x90) /* > U+10FFFF */
			return 0;
		return 4;
	}
	return 0;
}

bool ks_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq(s + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

size_t ks_json_escape(char *out, size_t outlen, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t o = 0, i = 0, k;

#define PUT(c)                              \
	do {                                \
		if (o < outlen)             \
			out[o] = (char)(c); \
		o++;                        \
	} while (0)

	PUT('"');
	while (i < n) {
		unsigned char c = s[i];
		size_t run = i;

		/* the common case: a run of printable ASCII copied at once */
		while (run < n && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i) {
			if (o + (run - i) <= outlen)
				memcpy(out + o, s + i, run - i);
			o += run - i;
			i = run;
			continue;
		}
		if (c == '"' || c == '\\') {
			PUT('\\');
			PUT(c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			PUT('\\');
			switch (c) {
			case '\n':
				PUT('n');
				break;
			case '\r':
				PUT('r');
				break;
			case '\t':
				PUT('t');
				break;
			case '\b':
				PUT('b');
				break;
			case '\f':
				PUT('f');
				break;
			default:
				PUT('u');
				PUT('0');
				PUT('0');
				PUT(hex[c >> 4]);
				PUT(hex[c & 0xf]);
			}
			i++;
		} else if (c < 0x80) {
			PUT(c);
			i++;
		} else if ((k = utf8_seq(s + i, n - i)) != 0) {
			while (k--)
				PUT(s[i++]);
		} else { /* one invalid byte -> U+FFFD */
			PUT(0xef);
			PUT(0xbf);
			PUT(0xbd);
			i++;
		}
	}
	PUT('"');
#undef PUT
	return o;
}

void ks_jw_init(struct ks_jw *w)
{
	memset(w, 0, sizeof(*w));
}

void ks_jw_reset(struct ks_jw *w)
{
	w->len = 0;
	w->oom = false;
	w->depth = 0;
	w->key_pending = false;
	w->need_comma[0] = false;
}

void ks_jw_free(struct ks_jw *w)
{
	free(w->buf);
	ks_jw_init(w);
}

static bool reserve(struct ks_jw *w, size_t extra)
{
	size_t cap;
	char *p;

	if (w->len + extra + 1 <= w->cap)
		return true;
	cap = w->cap ? w->cap : 4096;
	while (cap < w->len + extra + 1)
		cap *= 2;
	p = realloc(w->buf, cap);
	if (!p) {
		w->oom = true;
		return false;
	}
	w->buf = p;
	w->cap = cap;
	return true;
}

void ks_jw_raw(struct ks_jw *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

/* Before a value or a key: a comma if something came before at this level (not after a key). */
static void sep(struct ks_jw *w)
{
	if (w->key_pending) {
		w->key_pending = false;
		return;
	}
	if (w->need_comma[w->depth])
		ks_jw_raw(w, ",", 1);
	w->need_comma[w->depth] = true;
}

static void open_(struct ks_jw *w, char c)
{
	sep(w);
	ks_jw_raw(w, &c, 1);
	if (w->depth < KS_JW_DEPTH - 1)
		w->depth++;
	w->need_comma[w->depth] = false;
}

static void close_(struct ks_jw *w, char c)
{
	if (w->depth > 0)
		w->depth--;
	ks_jw_raw(w, &c, 1);
}

void ks_jw_obj_begin(struct ks_jw *w)
{
	open_(w, '{');
}

void ks_jw_obj_end(struct ks_jw *w)
{
	close_(w, '}');
}

void ks_jw_arr_begin(struct ks_jw *w)
{
	open_(w, '[');
}

void ks_jw_arr_end(struct ks_jw *w)
{
	close_(w, ']');
}

void ks_jw_key(struct ks_jw *w, const char *key)
{
	size_t n = strlen(key);

	sep(w);
	if (!reserve(w, n + 3))
		return;
	/* keys are the program's own literals: no escaping needed */
	w->buf[w->len++] = '"';
	memcpy(w->buf + w->len, key, n);
	w->len += n;
	w->buf[w->len++] = '"';
	w->buf[w->len++] = ':';
	w->buf[w->len] = '\0';
	w->key_pending = true;
}

void ks_jw_str(struct ks_jw *w, const char *s, size_t n)
{
	size_t need;

	sep(w);
	/* worst case per byte: \u00XX (6) or U+FFFD (3) */
	if (!reserve(w, n * 6 + 2))
		return;
	need = ks_json_escape(w->buf + w->len, w->cap - w->len, s, n);
	w->len += need;
	w->buf[w->len] = '\0';
}

void ks_jw_cstr(struct ks_jw *w, const char *s)
{
	ks_jw_str(w, s ? s : "", s ? strlen(s) : 0);
}

size_t ks_fmt_u64(char out[21], uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

void ks_fmt_hex64(char out[17], uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 15; i >= 0; i--) {
		out[i] = hex[v & 0xf];
		v >>= 4;
	}
	out[16] = '\0';
}

void ks_jw_u64(struct ks_jw *w, uint64_t v)
{
	char tmp[24];
	size_t n = ks_fmt_u64(tmp, v); /* snprintf was a tenth of the encoder's time */

	sep(w);
	ks_jw_raw(w, tmp, n);
}

void ks_jw_i64(struct ks_jw *w, int64_t v)
{
	char tmp[24];
	size_t n;

	if (v < 0) {
		tmp[0] = '-';
		n = 1 + ks_fmt_u64(tmp + 1, (uint64_t)0 - (uint64_t)v);
	} else {
		n = ks_fmt_u64(tmp, (uint64_t)v);
	}
	sep(w);
	ks_jw_raw(w, tmp, n);
}

void ks_jw_member_raw(struct ks_jw *w, const char *s, size_t n)
{
	sep(w);
	ks_jw_raw(w, s, n);
}

void ks_jw_bool(struct ks_jw *w, bool v)
{
	sep(w);
	ks_jw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void ks_jw_hex(struct ks_jw *w, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = p;
	size_t i;

	sep(w);
	if (!reserve(w, n * 2 + 2))
		return;
	w->buf[w->len++] = '"';
	for (i = 0; i < n; i++) {
		w->buf[w->len++] = hex[b[i] >> 4];
		w->buf[w->len++] = hex[b[i] & 0xf];
	}
	w->buf[w->len++] = '"';
	w->buf[w->len] = '\0';
}

void ks_jw_json(struct ks_jw *w, const char *json, size_t n)
{
	sep(w);
	ks_jw_raw(w, json, n);
}

void ks_jw_kstr(struct ks_jw *w, const char *key, const char *s, size_t n)
{
	ks_jw_key(w, key);
	ks_jw_str(w, s, n);
}

void ks_jw_kcstr(struct ks_jw *w, const char *key, const char *s)
{
	ks_jw_key(w, key);
	ks_jw_cstr(w, s);
}

void ks_jw_ku64(struct ks_jw *w, const char *key, uint64_t v)
{
	ks_jw_key(w, key);
	ks_jw_u64(w, v);
}

void ks_jw_ki64(struct ks_jw *w, const char *key, int64_t v)
{
	ks_jw_key(w, key);
	ks_jw_i64(w, v);
}

void ks_jw_kbool(struct ks_jw *w, const char *key, bool v)
{
	ks_jw_key(w, key);
	ks_jw_bool(w, v);
}
