/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The hot-path JSON writer: appends straight into a reusable buffer, no allocation per event once the
 * buffer has grown. Strings from user space go through one escaper: control characters become \uXXXX,
 * `"` and `\` are escaped, and each byte that is not part of valid UTF-8 becomes U+FFFD. Callers that must
 * not lose bytes (paths, argv) check ks_utf8_valid() and also emit the raw bytes in hex.
 */
#ifndef KANSOKU_JSON_H
#define KANSOKU_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KS_JW_DEPTH 32

struct ks_jw {
	char *buf;
	size_t len, cap;
	bool oom;
	bool key_pending;
	int depth;
	bool need_comma[KS_JW_DEPTH];
};

void ks_jw_init(struct ks_jw *w);
void ks_jw_reset(struct ks_jw *w);
void ks_jw_free(struct ks_jw *w);

/* Room for extra more bytes and the NUL: grows the buffer (false, w->oom set, when it cannot). */
bool ks_jw_grow(struct ks_jw *w, size_t extra);

static inline bool ks_jw_reserve(struct ks_jw *w, size_t extra)
{
	return w->len + extra + 1 <= w->cap || ks_jw_grow(w, extra);
}

/*
 * The writer's hot path is inline: an event is ~60 keys and values of a few bytes each, and a call per
 * piece cost more than the bytes (keys are literals, so their strlen folds away here).
 */
static inline void ks_jw_raw(struct ks_jw *w, const char *s, size_t n)
{
	if (!ks_jw_reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

/* Before a value or a key: a comma if something came before at this level (not after a key). */
static inline void ks_jw_sep(struct ks_jw *w)
{
	if (w->key_pending) {
		w->key_pending = false;
		return;
	}
	if (w->need_comma[w->depth])
		ks_jw_raw(w, ",", 1);
	w->need_comma[w->depth] = true;
}

/* An already-encoded member ("key":value) or value, with the comma it needs: for cached fragments. */
void ks_jw_member_raw(struct ks_jw *w, const char *s, size_t n);

/* Decimal and 16-digit hex without printf (the hot path); return/write NUL-terminated text. Decimal is
 * written in place, two digits per step and the low 8 digits of large values in 32-bit arithmetic. */
size_t ks_fmt_u64(char out[21], uint64_t v);
size_t ks_fmt_i64(char out[21], int64_t v);
void ks_fmt_hex64(char out[17], uint64_t v);
/* Bytes from s[0] on that a JSON string carries as they are (printable ASCII but '"' and '\\'), scanned
 * a word at a time: most strings (names, paths, addresses, ids) are nothing else. */
size_t ks_json_plain_len(const char *s, size_t n);

/* Worst case of an escaped string: \u00XX (6) per byte, or U+FFFD (3), and the two quotes. */
#define KS_JW_STR_MAX(n) ((n)*6 + 2)
/* Writes s as a JSON string at the end of the buffer: the caller reserved KS_JW_STR_MAX(n). */
void ks_jw_str_at(struct ks_jw *w, const char *s, size_t n);

/* Objects and arrays are a byte and a level each: inline, an event opens ~15. */
static inline void ks_jw_open_(struct ks_jw *w, char c)
{
	ks_jw_sep(w);
	if (!ks_jw_reserve(w, 1))
		return;
	w->buf[w->len++] = c;
	w->buf[w->len] = '\0';
	if (w->depth < KS_JW_DEPTH - 1)
		w->depth++;
	w->need_comma[w->depth] = false;
}

static inline void ks_jw_close_(struct ks_jw *w, char c)
{
	if (w->depth > 0)
		w->depth--;
	if (!ks_jw_reserve(w, 1))
		return;
	w->buf[w->len++] = c;
	w->buf[w->len] = '\0';
}

static inline void ks_jw_obj_begin(struct ks_jw *w)
{
	ks_jw_open_(w, '{');
}

static inline void ks_jw_obj_end(struct ks_jw *w)
{
	ks_jw_close_(w, '}');
}

static inline void ks_jw_arr_begin(struct ks_jw *w)
{
	ks_jw_open_(w, '[');
}

static inline void ks_jw_arr_end(struct ks_jw *w)
{
	ks_jw_close_(w, ']');
}

/*
 * "key": with room for extra more bytes after it, in one reservation; returns where the value goes, or NULL
 * when the buffer cannot grow (w->oom). Keys are the program's own literals: no escaping, and their strlen
 * folds away once this is inlined.
 */
static inline char *ks_jw_key_room(struct ks_jw *w, const char *key, size_t extra)
{
	size_t n = strlen(key);
	char *p;

	ks_jw_sep(w);
	if (!ks_jw_reserve(w, n + 3 + extra))
		return NULL;
	p = w->buf + w->len;
	p[0] = '"';
	memcpy(p + 1, key, n);
	p[n + 1] = '"';
	p[n + 2] = ':';
	p[n + 3] = '\0';
	w->len += n + 3;
	return p + n + 3;
}

/* "key": before a value written by a separate call */
static inline void ks_jw_key(struct ks_jw *w, const char *key)
{
	if (ks_jw_key_room(w, key, 0))
		w->key_pending = true;
}

/* Values: inside an array they stand alone, after ks_jw_key they are the key's value. */
void ks_jw_str(struct ks_jw *w, const char *s, size_t n);
void ks_jw_cstr(struct ks_jw *w, const char *s);
void ks_jw_u64(struct ks_jw *w, uint64_t v);
void ks_jw_i64(struct ks_jw *w, int64_t v);
void ks_jw_bool(struct ks_jw *w, bool v);
void ks_jw_hex(struct ks_jw *w, const void *p, size_t n);
/* A value that is already valid JSON (e.g. from json-c). */
void ks_jw_json(struct ks_jw *w, const char *json, size_t n);

/* key + value shorthands: the key and its value in one reservation */
static inline void ks_jw_kstr(struct ks_jw *w, const char *key, const char *s, size_t n)
{
	if (ks_jw_key_room(w, key, KS_JW_STR_MAX(n)))
		ks_jw_str_at(w, s, n);
}

static inline void ks_jw_kcstr(struct ks_jw *w, const char *key, const char *s)
{
	ks_jw_kstr(w, key, s ? s : "", s ? strlen(s) : 0);
}

static inline void ks_jw_ku64(struct ks_jw *w, const char *key, uint64_t v)
{
	char *p = ks_jw_key_room(w, key, 20);

	if (p)
		w->len += ks_fmt_u64(p, v);
}

static inline void ks_jw_ki64(struct ks_jw *w, const char *key, int64_t v)
{
	char *p = ks_jw_key_room(w, key, 20);

	if (p)
		w->len += ks_fmt_i64(p, v);
}

static inline void ks_jw_kbool(struct ks_jw *w, const char *key, bool v)
{
	char *p = ks_jw_key_room(w, key, 5);

	if (!p)
		return;
	memcpy(p, v ? "true" : "false", v ? 5 : 6); /* with the NUL */
	w->len += v ? 4 : 5;
}

/* Escape s[0..n) as a JSON string (with quotes) into out; returns bytes needed (like snprintf). */
size_t ks_json_escape(char *out, size_t outlen, const char *s, size_t n);
bool ks_utf8_valid(const char *s, size_t n);

#endif
