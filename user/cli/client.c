// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The CLI's side of the control socket: connect, read lines, check replies, read their fields. */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/client.h"

int ks_cli_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "kansoku: socket path too long: %s\n", path);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		if (e == ENOENT || e == ECONNREFUSED)
			fprintf(stderr,
			        "kansoku: kansokud is not running (no answer on %s): start it with "
			        "'systemctl start kansokud' or 'kansokud --config FILE'\n",
			        path);
		else if (e == EACCES || e == EPERM)
			fprintf(stderr, "kansoku: permission denied on %s: the control socket is for root (use sudo)\n",
			        path);
		else
			fprintf(stderr, "kansoku: cannot connect to %s: %s\n", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

char *ks_cli_next_line(struct ks_cli_reader *r, size_t *len)
{
	for (;;) {
		/* memchr on NULL is undefined even for 0 bytes: buf is NULL until the first read */
		char *nl = r->len > r->start ? memchr(r->buf + r->start, '\n', r->len - r->start) : NULL;
		ssize_t n;

		if (nl) {
			char *line = r->buf + r->start;

			*nl = '\0';
			*len = (size_t)(nl - line);
			r->start = (size_t)(nl - r->buf) + 1;
			return line;
		}
		if (r->start) {
			memmove(r->buf, r->buf + r->start, r->len - r->start);
			r->len -= r->start;
			r->start = 0;
		}
		if (r->len + 65536 > r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 1 << 20;
			char *p = realloc(r->buf, cap);

			if (!p)
				return NULL;
			r->buf = p;
			r->cap = cap;
		}
		n = read(r->fd, r->buf + r->len, r->cap - r->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		r->len += (size_t)n;
	}
}

struct json_object *ks_cli_parse_reply(const char *line)
{
	struct json_object *o = json_tokener_parse(line);

	if (!o || !json_object_is_type(o, json_type_object)) {
		fprintf(stderr, "kansoku: the daemon sent something that is not a JSON object\n");
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *ks_cli_check_reply(struct json_object *reply)
{
	struct json_object *ok, *v;

	if (json_object_object_get_ex(reply, "ok", &ok) && json_object_get_boolean(ok)) {
		if (json_object_object_get_ex(reply, "data", &v))
			return v;
		return reply;
	}
	if (json_object_object_get_ex(reply, "error", &v))
		fprintf(stderr, "kansoku: the daemon refused the request: %s\n", json_object_get_string(v));
	else
		fprintf(stderr, "kansoku: the daemon refused the request\n");
	return NULL;
}

const char *jstr(struct json_object *o, const char *key, const char *def)
{
	struct json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && !json_object_is_type(v, json_type_null))
		return json_object_get_string(v);
	return def;
}

int64_t jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

bool jbool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* A field from a process (exe, comm) on one terminal line: control characters shown as '?'. */
void term_safe(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}
