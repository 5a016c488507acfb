// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `kansoku policy learn --for DURATION [--unit U | --exe P]`: follows the daemon's live event stream for a
 * while, keeps what the chosen processes did (files read and changed, programs run, connections made,
 * accepted and listened on) and prints access policies (docs/policy.md) that admit exactly that, for a
 * person to review, like AppArmor's logprof. The proposal is loaded with the rule engine before it is
 * printed: what it prints, `kansoku rules check` accepts.
 */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/policy_cmd.h"
#include "rules/offline.h"
#include "rules/rules.h"

#define SIBLINGS_TO_SUBTREE 4 /* this many entries of one directory become its subtree */
#define PEERS_TO_NET24 4      /* this many IPv4 peers in one /24 become the /24 */
#define LINE_MAX_BYTES (4u << 20)
/* Events of the window still arrive this long after it (the daemon's drain period, an inbound Open's wait
 * for accept, a loaded host): the stream is read this much longer, events after the window ignored. */
#define LATE_GRACE_MS 2000

enum learn_net_op { LEARN_CONNECT, LEARN_ACCEPT, LEARN_LISTEN, LEARN_NET_OPS };
static const char *const net_op_names[LEARN_NET_OPS] = {"connect", "accept", "listen"};

struct learn {
	const char *exe, *unit, *socket;
	int64_t start_ms, end_ms;
	struct json_object *units;   /* process uid -> systemd unit */
	struct json_object *members; /* uids of processes in the learned unit (a cheap filter before parsing) */
	struct json_object *read;    /* path sets (object keys) */
	struct json_object *change;  /* written, created, deleted, renamed, attributes */
	struct json_object *execs;   /* programs run */
	struct json_object *net[LEARN_NET_OPS]; /* "proto/port" -> set of peers */
	unsigned long events, kept;
};

struct lreader {
	int fd;
	char *buf;
	size_t len, cap;
	size_t consumed; /* the line returned last, dropped at the next read */
};

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 3s, 500ms, 10m, 1h, or plain seconds. */
static int parse_duration_ms(const char *s, int64_t *ms)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	int64_t unit = 1000;

	if (end == s || v <= 0)
		return -1;
	if (!strcmp(end, "ms"))
		unit = 1;
	else if (!strcmp(end, "m"))
		unit = 60000;
	else if (!strcmp(end, "h"))
		unit = 3600000;
	else if (*end && strcmp(end, "s"))
		return -1;
	if (v > 7LL * 24 * 3600 * 1000 / unit)
		return -1;
	*ms = v * unit;
	return 0;
}

/* One request on a new connection. */
static int request(struct lreader *r, const char *socket_path, const char *req)
{
	r->fd = ks_cli_connect(socket_path); /* says why it cannot */
	if (r->fd < 0)
		return -1;
	if (write(r->fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		fprintf(stderr, "kansoku: sending the request failed: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* The next complete line, waiting at most until deadline_ms (0: no deadline). NULL at the end, on timeout
 * (*timeout set) or on error. */
static char *read_line(struct lreader *r, int64_t deadline_ms, bool *timeout)
{
	if (r->consumed) {
		memmove(r->buf, r->buf + r->consumed, r->len - r->consumed);
		r->len -= r->consumed;
		r->consumed = 0;
	}
	*timeout = false;
	for (;;) {
		char *nl = r->buf ? memchr(r->buf, '\n', r->len) : NULL;
		struct pollfd p = {.fd = r->fd, .events = POLLIN};
		int64_t left = deadline_ms ? deadline_ms - wall_ms() : -1;
		ssize_t n;

		if (nl) {
			*nl = '\0';
			r->consumed = (size_t)(nl - r->buf) + 1;
			return r->buf;
		}
		if (deadline_ms && left <= 0) {
			*timeout = true;
			return NULL;
		}
		if (poll(&p, 1, deadline_ms ? (int)left : -1) < 0 && errno != EINTR)
			return NULL;
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		if (r->len + 65536 > r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 1 << 20;
			char *nb = cap <= LINE_MAX_BYTES * 2 ? realloc(r->buf, cap) : NULL;

			if (!nb)
				return NULL;
			r->buf = nb;
			r->cap = cap;
		}
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		r->len += (size_t)n;
	}
}

static const char *jgets(struct json_object *o, const char *path)
{
	struct json_object *v = ks_json_path(o, path);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int64_t jgeti(struct json_object *o, const char *path)
{
	struct json_object *v = ks_json_path(o, path);

	return v ? json_object_get_int64(v) : 0;
}

static void set_add(struct json_object *set, const char *key)
{
	if (key && *key && !json_object_object_get_ex(set, key, NULL))
		json_object_object_add(set, key, NULL);
}

static void note_unit(struct learn *l, const char *proc_uid, const char *cgroup)
{
	char unit[256];

	if (proc_uid && cgroup && ks_rules_unit_from_cgroup(cgroup, unit, sizeof(unit))) {
		json_object_object_add(l->units, proc_uid, json_object_new_string(unit));
		if (l->unit && !strcmp(unit, l->unit))
			set_add(l->members, proc_uid);
	}
}

/* The unit of a process: its own, or its parent's (a fork keeps the cgroup). */
static const char *unit_of(struct learn *l, struct json_object *proc)
{
	const char *u = jgets(proc, "uid"), *pu = jgets(proc, "parent_process.uid");
	struct json_object *v;

	if (u && json_object_object_get_ex(l->units, u, &v))
		return json_object_get_string(v);
	if (pu && json_object_object_get_ex(l->units, pu, &v))
		return json_object_get_string(v);
	return NULL;
}

/* Seeds the unit of every process already running (`ps`). */
static int load_units(struct learn *l)
{
	struct lreader r = {0};
	struct json_object *reply = NULL, *procs;
	bool timeout;
	char *line;
	int rc = -1;

	if (request(&r, l->socket, "{\"cmd\":\"ps\"}\n") || !(line = read_line(&r, wall_ms() + 10000, &timeout)))
		goto cleanup;
	reply = json_tokener_parse(line);
	if (!ks_json_path(reply, "stream")) { /* a daemon that answers in one document */
		procs = ks_json_path(reply, "data.processes");
		for (size_t i = 0; procs && i < json_object_array_length(procs); i++) {
			struct json_object *p = json_object_array_get_idx(procs, i);

			note_unit(l, jgets(p, "id"), jgets(p, "cgroup"));
		}
		rc = 0;
		goto cleanup;
	}
	/* streamed: one process per line, then {"end":true,...} */
	while ((line = read_line(&r, wall_ms() + 10000, &timeout))) {
		struct json_object *p;

		if (!strncmp(line, "{\"end\":", 7)) {
			rc = 0;
			break;
		}
		p = json_tokener_parse(line);
		if (p)
			note_unit(l, jgets(p, "id"), jgets(p, "cgroup"));
		json_object_put(p);
	}
cleanup:
	if (rc)
		fprintf(stderr, "kansoku: could not list the processes (`ps`) to learn their units\n");
	json_object_put(reply);
	free(r.buf);
	if (r.fd > 0)
		close(r.fd);
	return rc;
}

/* Is this process one the policy is for? */
static bool is_subject(struct learn *l, const char *exe, const char *unit)
{
	if (l->exe && (!exe || strcmp(exe, l->exe)))
		return false;
	if (l->unit && (!unit || strcmp(unit, l->unit)))
		return false;
	return true;
}

static void learn_net(struct learn *l, struct json_object *ev)
{
	const char *act = jgets(ev, "activity_name"), *proto = jgets(ev, "connection_info.protocol_name");
	int64_t dir = jgeti(ev, "connection_info.direction_id"), port = jgeti(ev, "dst_endpoint.port");
	enum learn_net_op op;
	const char *peer = NULL;
	char key[32];
	struct json_object *peers;
	bool opened;

	if (!act || !proto || !port)
		return;
	/* a short-lived connection (network.short_lived_ms, on by default) has no Open: its Close stands for it */
	opened = !strcmp(act, "Open") || jgeti(ev, "unmapped.short_lived");
	if (!strcmp(act, "Listen")) {
		op = LEARN_LISTEN;
	} else if (dir == 2 && (opened || !strcmp(act, "Fail") || !strcmp(act, "Refuse") || !strcmp(act, "Traffic"))) {
		op = LEARN_CONNECT;
		peer = jgets(ev, "dst_endpoint.ip");
	} else if (dir == 1 && (opened || !strcmp(act, "Traffic"))) {
		op = LEARN_ACCEPT;
		peer = jgets(ev, "src_endpoint.ip");
	} else {
		return;
	}
	snprintf(key, sizeof(key), "%s/%lld", proto, (long long)port);
	if (!json_object_object_get_ex(l->net[op], key, &peers)) {
		peers = json_object_new_object();
		json_object_object_add(l->net[op], key, peers);
	}
	set_add(peers, peer);
	l->kept++;
}

static void learn_event(struct learn *l, struct json_object *ev)
{
	int64_t cls = jgeti(ev, "class_uid"), t = jgeti(ev, "time");
	struct json_object *proc = ks_json_path(ev, cls == 1007 ? "process" : "actor.process");
	const char *act = jgets(ev, "activity_name"), *exe;

	if (!proc || !act)
		return;
	if (cls == 1007 && !strcmp(act, "Launch"))
		note_unit(l, jgets(proc, "uid"), jgets(ev, "unmapped.cgroup.path"));
	if (t < l->start_ms || t > l->end_ms)
		return; /* the recent events sent before the stream: their units only */
	l->events++;
	if (cls == 1007) {
		/* an exec: the subject is the process that ran the program (its parent), in the same unit */
		exe = jgets(proc, "parent_process.file.path");
		if (!strcmp(act, "Launch") && is_subject(l, exe, unit_of(l, proc))) {
			set_add(l->execs, jgets(proc, "file.path"));
			l->kept++;
		}
		return;
	}
	if (!is_subject(l, jgets(proc, "file.path"), unit_of(l, proc)))
		return;
	if (cls == 1001) {
		set_add(strcmp(act, "Read") ? l->change : l->read, jgets(ev, "file.path"));
		l->kept++;
	} else if (cls == 4001) {
		learn_net(l, ev);
	}
}

/* ---- the proposal ---- */

/* Can a policy name this path exactly (absolute, canonical, no pattern characters)? */
static bool path_ok(const char *s)
{
	if (s[0] != '/' || strpbrk(s, "*?[]{}\\") || strstr(s, "//") || strstr(s, "/./") || strstr(s, "/../"))
		return false;
	return strlen(s) < 4000 && strcmp(s + strlen(s) - (strlen(s) > 2 ? 2 : 0), "/.");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t parent_len(const char *s)
{
	const char *slash = strrchr(s, '/');

	return slash ? (size_t)(slash - s) : 0;
}

static void put_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

/* The set's paths as a YAML flow list: a directory with many entries becomes its subtree (covering them). */
static void put_paths(FILE *f, struct json_object *set)
{
	size_t n = (size_t)json_object_object_length(set), k = 0, i;
	const char **v = calloc(n ? n : 1, sizeof(*v));
	struct json_object *count = json_object_new_object(), *subtrees = json_object_new_object(), *c;
	char dir[4096];
	bool first = true;

	if (!v)
		goto cleanup;
	json_object_object_foreach(set, key, val)
	{
		size_t pl = parent_len(key);

		(void)val;
		v[k++] = key;
		snprintf(dir, sizeof(dir), "%.*s", (int)pl, key);
		json_object_object_add(count, dir,
		                       json_object_new_int64(json_object_object_get_ex(count, dir, &c)
		                                                 ? json_object_get_int64(c) + 1
		                                                 : 1));
	}
	json_object_object_foreach(count, d, cnt)
	{
		if (d[0] && json_object_get_int64(cnt) >= SIBLINGS_TO_SUBTREE && path_ok(d))
			set_add(subtrees, d);
	}
	for (i = 0; i < k; i++) { /* a name a policy cannot spell: its nearest directory that it can */
		size_t pl;

		if (path_ok(v[i]))
			continue;
		snprintf(dir, sizeof(dir), "%s", v[i]);
		while ((pl = parent_len(dir)) > 0) {
			dir[pl] = '\0';
			if (path_ok(dir))
				break;
		}
		if (pl > 0)
			set_add(subtrees, dir);
	}
	qsort(v, k, sizeof(*v), cmp_str);
	fputc('[', f);
	json_object_object_foreach(subtrees, sd, sv)
	{
		(void)sv;
		snprintf(dir, sizeof(dir), "%s/**", sd);
		fprintf(f, "%s", first ? "" : ", ");
		put_quoted(f, dir);
		first = false;
	}
	for (i = 0; i < k; i++) {
		bool covered = false;

		json_object_object_foreach(subtrees, sd2, sv2)
		{
			size_t sl = strlen(sd2);

			(void)sv2;
			covered |= !strncmp(v[i], sd2, sl) && v[i][sl] == '/';
		}
		if (covered)
			continue;
		if (!path_ok(v[i])) {
			fprintf(stderr, "kansoku: left out (a policy cannot name it exactly): %s\n", v[i]);
			continue;
		}
		fprintf(f, "%s", first ? "" : ", ");
		put_quoted(f, v[i]);
		first = false;
	}
	fputc(']', f);
cleanup:
	free(v);
	json_object_put(count);
	json_object_put(subtrees);
}

static void put_head(FILE *f, const struct learn *l, const char *name, const char *what, const char *title)
{
	fprintf(f, "  - id: learned-%s-%s\n    title: ", name, what);
	put_quoted(f, title);
	fprintf(f, "\n    severity: medium\n");
	if (l->exe || l->unit) {
		fprintf(f, "    subject: {%s: ", l->exe ? "exe" : "unit");
		put_quoted(f, l->exe ? l->exe : l->unit);
		fprintf(f, "}\n");
	}
}

static void put_files(FILE *f, const struct learn *l, const char *name, bool change)
{
	struct json_object *set = change ? l->change : l->read;

	put_head(f, l, name, change ? "file-changes" : "file-reads",
	         change ? "Files it changes (learned)" : "Files it reads (learned)");
	fprintf(f, "    files: all\n    operations: %s\n    allow:\n",
	        change ? "[write, create, delete, rename, attrib]" : "[read]");
	if (!json_object_object_length(set)) {
		fprintf(f, "      []  # none observed\n");
		return;
	}
	fprintf(f, "      - path: ");
	put_paths(f, set);
	fputc('\n', f);
}

static void put_execs(FILE *f, const struct learn *l, const char *name)
{
	put_head(f, l, name, "exec", "Programs it runs (learned)");
	fprintf(f, "    exec: all\n    allow:\n");
	if (!json_object_object_length(l->execs)) {
		fprintf(f, "      []  # none observed\n");
		return;
	}
	fprintf(f, "      - path: ");
	put_paths(f, l->execs);
	fputc('\n', f);
}

/* The peers of one port: addresses, or the /24 when many share it. */
static bool net24(const char *ip, char *net, size_t len)
{
	unsigned a, b, c, d;

	if (sscanf(ip, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
		return false;
	snprintf(net, len, "%u.%u.%u.0/24", a, b, c);
	return true;
}

static void put_peers(FILE *f, struct json_object *peers)
{
	struct json_object *nets = json_object_new_object(), *cnt;
	bool first = true;
	char net[32];

	json_object_object_foreach(peers, ip1, v1)
	{
		(void)v1;
		if (net24(ip1, net, sizeof(net)))
			json_object_object_add(nets, net,
			                       json_object_new_int64(json_object_object_get_ex(nets, net, &cnt)
			                                                 ? json_object_get_int64(cnt) + 1
			                                                 : 1));
	}
	fputc('[', f);
	json_object_object_foreach(nets, n2, c2)
	{
		if (json_object_get_int64(c2) >= PEERS_TO_NET24) {
			fprintf(f, "%s'%s'", first ? "" : ", ", n2);
			first = false;
		}
	}
	json_object_object_foreach(peers, ip3, v3)
	{
		(void)v3;
		if (net24(ip3, net, sizeof(net)) && json_object_object_get_ex(nets, net, &cnt) &&
		    json_object_get_int64(cnt) >= PEERS_TO_NET24)
			continue;
		fprintf(f, "%s'%s'", first ? "" : ", ", ip3);
		first = false;
	}
	fputc(']', f);
	json_object_put(nets);
}

static void put_net(FILE *f, const struct learn *l, const char *name, enum learn_net_op op)
{
	char what[32], title[64];

	snprintf(what, sizeof(what), "net-%s", net_op_names[op]);
	snprintf(title, sizeof(title), "Network: what it may %s (learned)", net_op_names[op]);
	put_head(f, l, name, what, title);
	fprintf(f, "    network: all\n    operations: [%s]\n    allow:\n", net_op_names[op]);
	if (!json_object_object_length(l->net[op])) {
		fprintf(f, "      []  # none observed\n");
		return;
	}
	json_object_object_foreach(l->net[op], key, peers)
	{
		const char *slash = strchr(key, '/');

		fprintf(f, "      - {protocol: %.*s, ports: [%s]", (int)(slash - key), key, slash + 1);
		if (op != LEARN_LISTEN && json_object_object_length(peers)) {
			fprintf(f, ", cidr: ");
			put_peers(f, peers);
		}
		fprintf(f, "}\n");
	}
}

/* A policy id part from the exe's base name or the unit: letters, digits, '-', '_', '.'. */
static void subject_name(const struct learn *l, char *out, size_t len)
{
	const char *s = l->exe    ? (strrchr(l->exe, '/') ? strrchr(l->exe, '/') + 1 : l->exe)
	                : l->unit ? l->unit
	                          : "host";
	size_t i;

	for (i = 0; s[i] && i + 1 < len && i < 40; i++)
		out[i] = (char)((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		                        (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'
		                    ? s[i]
		                    : '-');
	out[i] = '\0';
}

static void write_policy(FILE *f, const struct learn *l, const char *duration)
{
	char name[48];

	subject_name(l, name, sizeof(name));
	fprintf(f,
	        "# Proposed by `kansoku policy learn --for %s%s%s`: %lu events in the window, %lu by the "
	        "subject.\n# Review before use: everything below was observed, nothing more is allowed.\n",
	        duration,
	        l->exe    ? " --exe "
	        : l->unit ? " --unit "
	                  : "",
	        l->exe    ? l->exe
	        : l->unit ? l->unit
	                  : "",
	        l->events, l->kept);
	fprintf(f, "policies:\n");
	put_files(f, l, name, false);
	put_files(f, l, name, true);
	put_execs(f, l, name);
	for (int op = 0; op < LEARN_NET_OPS; op++)
		put_net(f, l, name, (enum learn_net_op)op);
}

/* The proposal must load as it is: a policy that `rules check` refuses helps no one. */
static int check_proposal(const char *text, size_t len)
{
	struct ks_rules_builder *b = ks_rules_builder_new();
	struct ks_rules *r = NULL;
	struct ks_rules_err err;
	char msg[1024];

	if (b && !ks_rules_add_text(b, "proposal", text, len, &err))
		r = ks_rules_build(b, NULL, &err);
	if (!r)
		fprintf(stderr, "kansoku: the proposed policy does not load (a bug): %s\n",
		        b ? ks_rules_err_str(&err, msg, sizeof(msg)) : "out of memory");
	ks_rules_free(r);
	ks_rules_builder_free(b);
	return r ? 0 : -1;
}

/* Can the line concern the subject? A busy host streams tens of thousands of events a second: only those
 * that name the executable, the unit, or a process known to be in it are parsed. */
static bool worth_parsing(const struct learn *l, const char *line)
{
	if (l->exe) /* its path is in the event as written (no character JSON escapes: checked at start) */
		return strstr(line, l->exe) != NULL;
	if (!l->unit || strstr(line, l->unit)) /* a Launch in the unit names it in its cgroup path */
		return true;
	json_object_object_foreach(l->members, uid, v)
	{
		(void)v;
		if (strstr(line, uid))
			return true;
	}
	return false;
}

static int follow(struct learn *l, const char *duration, int64_t ms)
{
	struct lreader r = {0};
	bool timeout = false;
	char *line;
	int rc = -1;

	if (request(&r, l->socket, "{\"cmd\":\"events\",\"follow\":true}\n"))
		goto cleanup;
	line = read_line(&r, wall_ms() + 15000, &timeout);
	if (!line || !strstr(line, "\"ok\":true")) {
		fprintf(stderr, "kansoku: the daemon refused to stream events: %s\n",
		        line      ? line
		        : timeout ? "no answer within 15 s"
		                  : "connection closed");
		goto cleanup;
	}
	/* the window opens once the stream is there: what is done from now on is what is learned */
	l->start_ms = wall_ms();
	l->end_ms = l->start_ms + ms;
	fprintf(stderr, "kansoku: learning for %s...\n", duration);
	fflush(stderr);
	while ((line = read_line(&r, l->end_ms + LATE_GRACE_MS, &timeout))) {
		struct json_object *ev = worth_parsing(l, line) ? json_tokener_parse(line) : NULL;

		if (ev)
			learn_event(l, ev);
		json_object_put(ev);
	}
	if (!timeout)
		fprintf(stderr, "kansoku: the daemon ended the stream early; proposing from what was seen\n");
	rc = 0;
cleanup:
	free(r.buf);
	if (r.fd > 0)
		close(r.fd);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: kansoku [--socket PATH] policy learn --for DURATION [--unit UNIT | --exe PATH]\n\n"
	           "  Follows the daemon's events for DURATION (3s, 500ms, 10m, 1h) and prints access policies\n"
	           "  (docs/policy.md) that allow what the unit's or executable's processes did: files read and\n"
	           "  changed, programs run, connections made, accepted, listened on. Review, then put the file in\n"
	           "  a rules path (rules.paths) and run `kansoku rules reload`.\n");
}

int ks_cli_policy(int argc, char **argv, const char *socket_path)
{
	struct learn l = {.socket = socket_path};
	const char *duration = NULL;
	char *text = NULL;
	size_t len = 0;
	int64_t ms = 0;
	FILE *mem;
	int rc = 1;

	if (argc < 2 || strcmp(argv[1], "learn")) {
		usage(argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? stdout : stderr);
		return argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? 0 : 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--for") && i + 1 < argc)
			duration = argv[++i];
		else if (!strcmp(argv[i], "--unit") && i + 1 < argc)
			l.unit = argv[++i];
		else if (!strcmp(argv[i], "--exe") && i + 1 < argc)
			l.exe = argv[++i];
		else if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			l.socket = argv[++i];
		else {
			fprintf(stderr, "kansoku: policy learn: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!duration || parse_duration_ms(duration, &ms) || (l.unit && l.exe)) {
		fprintf(stderr, "kansoku: policy learn needs --for DURATION (3s, 10m, 1h: at most 7 days) and at "
		                "most one of --unit, --exe\n");
		return 2;
	}
	if (l.exe && strpbrk(l.exe, "\"\\\b\f\n\r\t")) {
		fprintf(stderr, "kansoku: policy learn: --exe takes a plain path (no quote, backslash or control "
		                "character)\n");
		return 2;
	}
	l.units = json_object_new_object();
	l.members = json_object_new_object();
	l.read = json_object_new_object();
	l.change = json_object_new_object();
	l.execs = json_object_new_object();
	for (int op = 0; op < LEARN_NET_OPS; op++)
		l.net[op] = json_object_new_object();
	if (l.unit && load_units(&l))
		goto cleanup;
	if (follow(&l, duration, ms))
		goto cleanup;
	mem = open_memstream(&text, &len);
	if (!mem)
		goto cleanup;
	write_policy(mem, &l, duration);
	fclose(mem);
	if (check_proposal(text, len))
		goto cleanup;
	fwrite(text, 1, len, stdout);
	rc = 0;
cleanup:
	free(text);
	json_object_put(l.units);
	json_object_put(l.members);
	json_object_put(l.read);
	json_object_put(l.change);
	json_object_put(l.execs);
	for (int op = 0; op < LEARN_NET_OPS; op++)
		json_object_put(l.net[op]);
	return rc;
}
