/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The CLI's side of the control socket (client.c): connect, read lines, check replies, read their fields. */
#ifndef KANSOKU_CLI_CLIENT_H
#define KANSOKU_CLI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define KS_CLI_DEFAULT_SOCKET "/run/kansoku/kansoku.sock"

/* Connected fd, or -1 after saying why (daemon not running, permission denied, ...). */
int ks_cli_connect(const char *path);

/* Line reader over the socket. */
struct ks_cli_reader {
	int fd;
	char *buf;
	size_t len, cap, start;
};

/* The next line (its '\n' replaced by '\0', valid until the next call), or NULL at the end or on error. */
char *ks_cli_next_line(struct ks_cli_reader *r, size_t *len);
/* The reply as a JSON object, or NULL after saying it is not one. */
struct json_object *ks_cli_parse_reply(const char *line);
/* Returns the reply's data (owned by *reply) or NULL after printing the daemon's error. */
struct json_object *ks_cli_check_reply(struct json_object *reply);

/* Fields of a reply: def (or 0, false) when missing; jstr also when null. */
const char *jstr(struct json_object *o, const char *key, const char *def);
int64_t jint(struct json_object *o, const char *key);
bool jbool(struct json_object *o, const char *key);
/* A field from a process (exe, comm) on one terminal line: control characters shown as '?'. */
void term_safe(char *s);

#endif
