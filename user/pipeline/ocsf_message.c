// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The "message" of every event, without printf: vfprintf (its stream setup, the spec parser, strchrnul) was
 * ~5% of the daemon in an exec storm, for formats that only ever join strings and integers. The formats
 * used take %s, %d/%i and %u with no, l, ll or z length; anything else (a flag, a width, a precision,
 * another conversion) goes to vsnprintf, so every format still means what printf says.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/json.h"
#include "pipeline/ocsf.h"

/* Length modifiers the formatter takes */
enum msg_length { MSG_LEN_INT, MSG_LEN_LONG, MSG_LEN_LLONG, MSG_LEN_SIZE };

struct msg_out {
	char *buf;
	size_t cap; /* bytes of buf, the NUL included */
	size_t len; /* what the whole text needs (as vsnprintf counts), may exceed cap - 1 */
};

static void put(struct msg_out *o, const char *s, size_t n)
{
	if (o->len + 1 < o->cap) {
		size_t room = o->cap - 1 - o->len;

		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

/* The integer argument of a conversion, as the C default promotions passed it. */
static void put_int(struct msg_out *o, char conv, enum msg_length lm, va_list *ap)
{
	char num[21];
	size_t n;

	if (conv == 'u') {
		uint64_t v = lm == MSG_LEN_INT     ? va_arg(*ap, unsigned)
		             : lm == MSG_LEN_LONG  ? va_arg(*ap, unsigned long)
		             : lm == MSG_LEN_LLONG ? va_arg(*ap, unsigned long long)
		                                   : va_arg(*ap, size_t);

		n = ks_fmt_u64(num, v);
	} else {
		int64_t v = lm == MSG_LEN_INT     ? va_arg(*ap, int)
		            : lm == MSG_LEN_LONG  ? va_arg(*ap, long)
		            : lm == MSG_LEN_LLONG ? va_arg(*ap, long long)
		                                  : va_arg(*ap, ssize_t);

		n = ks_fmt_i64(num, v);
	}
	put(o, num, n);
}

/* One conversion at *f (after the '%'): false when the formatter does not take it. */
static bool convert(struct msg_out *o, const char **f, va_list *ap)
{
	enum msg_length lm = MSG_LEN_INT;
	const char *p = *f, *s;

	if (*p == 'l' && p[1] == 'l') {
		lm = MSG_LEN_LLONG;
		p += 2;
	} else if (*p == 'l') {
		lm = MSG_LEN_LONG;
		p++;
	} else if (*p == 'z') {
		lm = MSG_LEN_SIZE;
		p++;
	}
	switch (*p) {
	case '%':
		if (lm != MSG_LEN_INT)
			return false;
		put(o, "%", 1);
		break;
	case 's':
		if (lm != MSG_LEN_INT)
			return false; /* %ls: wide strings */
		s = va_arg(*ap, const char *);
		if (!s)
			s = "(null)"; /* what glibc prints */
		put(o, s, strlen(s));
		break;
	case 'd':
	case 'i':
	case 'u':
		put_int(o, *p, lm, ap);
		break;
	default:
		return false;
	}
	*f = p + 1;
	return true;
}

int ks_ocsf_vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct msg_out o = {buf, cap, 0};
	const char *f = fmt, *pct;
	va_list args, again;
	int ret;

	va_copy(args, ap);
	va_copy(again, ap);
	while (*f) {
		pct = strchr(f, '%');
		if (!pct) {
			put(&o, f, strlen(f));
			break;
		}
		put(&o, f, (size_t)(pct - f));
		f = pct + 1;
		if (!convert(&o, &f, &args)) {
			ret = vsnprintf(buf, cap, fmt, again);
			goto cleanup;
		}
	}
	if (cap)
		buf[o.len < cap ? o.len : cap - 1] = '\0';
	ret = (int)o.len;
cleanup:
	va_end(args);
	va_end(again);
	return ret;
}
