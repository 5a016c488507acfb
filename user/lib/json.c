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

/* Whether some byte of x is below 0x20, is 0x22, 0x5c or 0x7f, or has its high bit set: the bytes
 * plain_ascii refuses. With no high bit set, a byte below k borrows in x - k (and only the lowest such byte
 * is sure to show, which is all "some byte" needs); a byte equal to c is a zero byte of x ^ c. */
static inline uint64_t word_needs_escape(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;

	return ((x - ones * 0x20) | ((x ^ (ones * '"')) - ones) | ((x ^ (ones * '\\')) - ones) |
	        ((x ^ (ones * 0x7f)) - ones) | x) &
	       high;
}

/* The bytes s[0..n), 0 < n < 8, as one word: two overlapping loads of 4, 2 or 1 bytes (a byte seen twice
 * changes nothing for word_needs_escape) */
static inline uint64_t short_word(const unsigned char *s, size_t n)
{
	uint32_t a, b;
	uint16_t c, d;

	if (n >= 4) {
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		return a | (uint64_t)b << 32;
	}
	if (n >= 2) {
		memcpy(&c, s, 2);
		memcpy(&d, s + n - 2, 2);
		return (uint64_t)c | (uint64_t)d << 16 | 0x2020202000000000ull; /* (spaces: plain) */
	}
	return s[0] | 0x2020202020202000ull;
}

size_t ks_json_plain_len(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	uint64_t x;

	if (n < 8) {
		if (!n || !word_needs_escape(short_word(s, n)))
			return n;
	} else {
		for (; i + 8 <= n; i += 8) {
			memcpy(&x, s + i, 8);
			if (word_needs_escape(x))
				goto bytes;
		}
		memcpy(&x, s + n - 8, 8); /* the tail, overlapping what was seen */
		if (i == n || !word_needs_escape(x))
			return n;
	}
bytes: /* a byte in this word needs care: which one */
	while (i < n && plain_ascii[s[i]])
		i++;
	return i;
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
		run += ks_json_plain_len((const char *)s + run, n - run);
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

void ks_jw_str_at(struct ks_jw *w, const char *s, size_t n)
{
	char *p = w->buf + w->len;
	size_t plain = ks_json_plain_len(s, n);

	if (plain == n) { /* most strings need no escaping: copied in one piece */
		p[0] = '"';
		memcpy(p + 1, s, n);
		p[n + 1] = '"';
		p[n + 2] = '\0';
		w->len += n + 2;
		return;
	}
	w->len += ks_json_escape(p, w->cap - w->len, s, n);
	w->buf[w->len] = '\0';
}

void ks_jw_str(struct ks_jw *w, const char *s, size_t n)
{
	ks_jw_sep(w);
	if (ks_jw_reserve(w, KS_JW_STR_MAX(n)))
		ks_jw_str_at(w, s, n);
}

void ks_jw_cstr(struct ks_jw *w, const char *s)
{
	ks_jw_str(w, s ? s : "", s ? strlen(s) : 0);
}

/* "00".."99": two digits per step */
static const char digit_pairs[200] =
    "0001020304050607080910111213141516171819202122232425262728293031323334353637383940"
    "4142434445464748495051525354555657585960616263646566676869707172737475767778798081"
    "828384858687888990919293949596979899";

/* Decimal digits of v (1 for 0): log10 from the bit length, corrected by one comparison. */
static unsigned decimal_digits(uint64_t v)
{
	static const uint64_t pow10[20] = {1ull,
	                                   10ull,
	                                   100ull,
	                                   1000ull,
	                                   10000ull,
	                                   100000ull,
	                                   1000000ull,
	                                   10000000ull,
	                                   100000000ull,
	                                   1000000000ull,
	                                   10000000000ull,
	                                   100000000000ull,
	                                   1000000000000ull,
	                                   10000000000000ull,
	                                   100000000000000ull,
	                                   1000000000000000ull,
	                                   10000000000000000ull,
	                                   100000000000000000ull,
	                                   1000000000000000000ull,
	                                   10000000000000000000ull};
	unsigned t = ((64u - (unsigned)__builtin_clzll(v | 1)) * 1233u) >> 12; /* 1233/4096 ~ log10(2) */

	return t + (v >= pow10[t]) + (t == 0 && v == 0);
}

/* The two digits of r (< 100) at p */
static inline void put_pair(char *p, uint32_t r)
{
	memcpy(p, digit_pairs + r * 2, 2);
}

/* v in decimal at out, NUL-terminated: 21 bytes at most (UINT64_MAX) */
static size_t fmt_u64(char *out, uint64_t v)
{
	size_t n;
	char *p;
	uint32_t x;

	if (v < 10) { /* type ids, flags, small counts */
		out[0] = (char)('0' + v);
		out[1] = '\0';
		return 1;
	}
	n = decimal_digits(v);
	p = out + n;
	*p = '\0';
	/* times and ids have 10-20 digits: the low 8 at a time in 32-bit arithmetic */
	while (v >= 100000000) {
		uint64_t q = v / 100000000;

		x = (uint32_t)(v - q * 100000000);
		v = q;
		put_pair(p -= 2, x % 100);
		x /= 100;
		put_pair(p -= 2, x % 100);
		x /= 100;
		put_pair(p -= 2, x % 100);
		put_pair(p -= 2, x / 100);
	}
	x = (uint32_t)v;
	while (x >= 100) {
		put_pair(p -= 2, x % 100);
		x /= 100;
	}
	if (x >= 10)
		put_pair(p - 2, x);
	else
		p[-1] = (char)('0' + x);
	return n;
}

size_t ks_fmt_u64(char out[21], uint64_t v)
{
	return fmt_u64(out, v);
}

size_t ks_fmt_i64(char out[21], int64_t v)
{
	if (v >= 0)
		return fmt_u64(out, (uint64_t)v);
	out[0] = '-';
	return 1 + fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v); /* INT64_MIN: 19 digits, 21 bytes with NUL */
}

void ks_fmt_hex64(char out[17], uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 7; i >= 0; i--) { /* a byte per step */
		out[2 * i] = hex[(v >> 4) & 0xf];
		out[2 * i + 1] = hex[v & 0xf];
		v >>= 8;
	}
	out[16] = '\0';
}

void ks_jw_u64(struct ks_jw *w, uint64_t v)
{
	ks_jw_sep(w);
	if (ks_jw_reserve(w, 20)) /* formatted in place (snprintf was a tenth of the encoder's time) */
		w->len += ks_fmt_u64(w->buf + w->len, v);
}

void ks_jw_i64(struct ks_jw *w, int64_t v)
{
	ks_jw_sep(w);
	if (ks_jw_reserve(w, 20))
		w->len += ks_fmt_i64(w->buf + w->len, v);
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
