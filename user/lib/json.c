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

/* Bytes a JSON string carries as they are: printable ASCII but '"' and '\\' (one load per byte). */
static const bool plain_ascii[256] = {
    [0x20] = 1,
    [0x21] = 1,
    [0x23 ... 0x5b] = 1,
    [0x5d ... 0x7e] = 1,
};

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
		while (run < n && plain_ascii[s[run]])
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

bool ks_jw_grow(struct ks_jw *w, size_t extra)
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

static void open_(struct ks_jw *w, char c)
{
	ks_jw_sep(w);
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

void ks_jw_str(struct ks_jw *w, const char *s, size_t n)
{
	size_t need;

	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	ks_jw_sep(w);
	/* worst case per byte: \u00XX (6) or U+FFFD (3) */
	if (!ks_jw_reserve(w, n * 6 + 2))
		return;
	while (i < n && plain_ascii[u[i]])
		i++;
	if (i == n) { /* most strings (names, addresses, ids) need no escaping: copied in one piece */
		w->buf[w->len] = '"';
		memcpy(w->buf + w->len + 1, s, n);
		w->buf[w->len + 1 + n] = '"';
		w->len += n + 2;
		w->buf[w->len] = '\0';
		return;
	}
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
	/* two digits per division: timestamps and ids are 10-20 digits, every event has several */
	static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	                            "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	                            "8081828384858687888990919293949596979899";
	char tmp[20];
	size_t n = sizeof(tmp);

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;

		v /= 100;
		tmp[--n] = pairs[d + 1];
		tmp[--n] = pairs[d];
	}
	if (v >= 10) {
		tmp[--n] = pairs[v * 2 + 1];
		tmp[--n] = pairs[v * 2];
	} else {
		tmp[--n] = (char)('0' + v);
	}
	memcpy(out, tmp + n, sizeof(tmp) - n);
	out[sizeof(tmp) - n] = '\0';
	return sizeof(tmp) - n;
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
	ks_jw_sep(w);
	if (ks_jw_reserve(w, 21)) /* formatted in place (snprintf was a tenth of the encoder's time) */
		w->len += ks_fmt_u64(w->buf + w->len, v);
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
	ks_jw_sep(w);
	ks_jw_raw(w, tmp, n);
}

void ks_jw_member_raw(struct ks_jw *w, const char *s, size_t n)
{
	ks_jw_sep(w);
	ks_jw_raw(w, s, n);
}

void ks_jw_bool(struct ks_jw *w, bool v)
{
	ks_jw_sep(w);
	ks_jw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void ks_jw_hex(struct ks_jw *w, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = p;
	size_t i;

	ks_jw_sep(w);
	if (!ks_jw_reserve(w, n * 2 + 2))
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
	ks_jw_sep(w);
	ks_jw_raw(w, json, n);
}
