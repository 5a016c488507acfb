// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kansoku: inspect the live state of kansokud through its control socket. */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/policy_cmd.h"
#include "cli/rules_cmd.h"
#include "cli/rules_live.h"

#define DEFAULT_SOCKET "/run/kansoku/kansoku.sock"

static bool opt_json;

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: kansoku [--socket PATH] COMMAND [OPTIONS] [--json]\n\n"
	        "Commands:\n"
	        "  status                      daemon version, uptime, hooks, events and drops, outputs\n"
	        "  ps [--tree]                 the live process table\n"
	        "  events [--follow] [--type T]  recent events (T: all, process, file, network, dns, daemon or a\n"
	        "                              class_uid)\n"
	        "  files [--path P] [--follow]  recent file accesses (under prefix P)\n"
	        "  conns                       established connections: process, user, peer, age\n"
	        "  ports                       listening sockets: process, user, address, since when\n"
	        "  posture                     risk scores per area, worst findings first, checks that failed to run\n"
	        "  findings [--area A] [--severity S]  open findings (A: device, user, system, data; S: the least\n"
	        "                              severity: info, low, medium, high, critical)\n"
	        "  snapshot [--fresh]          the last posture snapshot as JSON (--fresh: evaluate now)\n"
	        "  inventory packages|users|ports|device  what the host has, from the last snapshot\n"
	        "  alerts [--follow]           Detection Findings: what the rules matched\n"
	        "  rules list                  the daemon's rules: matches, evaluations, cost per evaluation\n"
	        "  rules reload                re-read the rule files (a broken file changes nothing)\n"
	        "  rules test|check|fields     detection rules offline: kansoku rules --help\n"
	        "  policy learn --for DURATION [--unit U | --exe P]  propose access policies from what runs\n\n"
	        "Options:\n"
	        "  --socket PATH   control socket (default " DEFAULT_SOCKET ")\n"
	        "  --json          machine-readable output (one JSON document, or one event per line)\n");
}

static int connect_daemon(const char *path)
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

/* Line reader over the socket. */
struct reader {
	int fd;
	char *buf;
	size_t len, cap, start;
};

static char *next_line(struct reader *r, size_t *len)
{
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->len - r->start);
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

static struct json_object *parse_reply(const char *line)
{
	struct json_object *o = json_tokener_parse(line);

	if (!o || !json_object_is_type(o, json_type_object)) {
		fprintf(stderr, "kansoku: the daemon sent something that is not a JSON object\n");
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Returns the reply's data (owned by *reply) or NULL after printing the daemon's error. */
static struct json_object *check_reply(struct json_object *reply)
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

static const char *jstr(struct json_object *o, const char *key, const char *def)
{
	struct json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && !json_object_is_type(v, json_type_null))
		return json_object_get_string(v);
	return def;
}

static int64_t jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static void print_duration(int64_t s)
{
	if (s >= 86400)
		printf("%lldd%lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		printf("%lldh%lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		printf("%lldm%llds", (long long)(s / 60), (long long)(s % 60));
	else
		printf("%llds", (long long)s);
}

static void show_status(struct json_object *st)
{
	struct json_object *hooks, *events, *outs;
	size_t i;

	printf("kansokud %s  pid %lld  up ", jstr(st, "version", "?"), (long long)jint(st, "pid"));
	print_duration(jint(st, "uptime_s"));
	printf("  kernel %s\n", jstr(st, "kernel", "?"));
	printf("config      %s\n", jstr(st, "config", "?"));
	printf("processes   %lld tracked (%lld seeded at start)\n", (long long)jint(st, "processes"),
	       (long long)jint(st, "seeded"));
	ks_cli_show_rules_line(st);
	printf("\nhooks (%s):\n", jstr(st, "hook_flavour", "?"));
	if (json_object_object_get_ex(st, "hooks", &hooks)) {
		size_t syscalls = 0;

		for (i = 0; i < json_object_array_length(hooks); i++) {
			struct json_object *h = json_object_array_get_idx(hooks, i);

			if (!strncmp(jstr(h, "attach", ""), "tracepoint/syscalls/", 20) &&
			    strncmp(jstr(h, "program", ""), "ks_net_", 7)) {
				syscalls++; /* one line for the file hooks, --json lists them all */
				continue;
			}
			printf("  %-14s %s\n", jstr(h, "program", ""), jstr(h, "attach", ""));
		}
		if (syscalls)
			printf("  %-14s %zu syscall exit tracepoints (file operations)\n", "ks_exit_*", syscalls);
	}
	{
		struct json_object *fo, *en;

		if (json_object_object_get_ex(st, "files", &fo)) {
			bool on = json_object_object_get_ex(fo, "enabled", &en) && json_object_get_boolean(en);

			printf("files       %s", on ? "observed" : "OFF");
			if (on)
				printf(": %lld rules, %lld events, %lld repeats aggregated",
				       (long long)jint(fo, "rules"), (long long)jint(fo, "events"),
				       (long long)jint(fo, "repeats_aggregated"));
			else if (jstr(fo, "error", NULL))
				printf(" (%s)", jstr(fo, "error", ""));
			printf("\n");
		}
		if (json_object_object_get_ex(st, "network", &fo)) {
			bool on = json_object_object_get_ex(fo, "enabled", &en) && json_object_get_boolean(en);

			printf("network     %s", on ? "observed" : "OFF");
			if (on)
				printf(": %lld connections, %lld listening, %lld events (%lld DNS), %lld transitions "
				       "possibly missed",
				       (long long)jint(fo, "connections"), (long long)jint(fo, "listening"),
				       (long long)jint(fo, "events"), (long long)jint(fo, "dns_queries"),
				       (long long)jint(fo, "transitions_possibly_missed"));
			else if (jstr(fo, "error", NULL))
				printf(" (%s)", jstr(fo, "error", ""));
			printf("\n");
		}
		if (json_object_object_get_ex(st, "posture", &fo))
			printf("posture     %lld checks, %lld open findings, %lld snapshots (last %.0f ms CPU), %lld "
			       "re-scores%s\n",
			       (long long)jint(fo, "checks"), (long long)jint(fo, "findings"),
			       (long long)jint(fo, "snapshots"),
			       json_object_get_double(json_object_object_get(fo, "last_snapshot_cpu_ms")),
			       (long long)jint(fo, "rescores"),
			       json_object_get_boolean(json_object_object_get(fo, "walking"))
			           ? ", filesystem walk running"
			           : "");
		else
			printf("posture     OFF\n");
	}
	printf("\n%-10s %12s %12s\n", "events", "received", "dropped");
	if (json_object_object_get_ex(st, "events", &events)) {
		json_object_object_foreach(events, k, v)
		{
			printf("  %-8s %12lld %12lld\n", k, (long long)jint(v, "received"),
			       (long long)jint(v, "dropped"));
		}
	}
	printf("  emitted %lld events (%lld launch, %lld terminate); malformed %lld\n", (long long)jint(st, "emitted"),
	       (long long)jint(st, "emitted_launch"), (long long)jint(st, "emitted_terminate"),
	       (long long)jint(st, "malformed"));
	printf("\noutputs:\n");
	if (json_object_object_get_ex(st, "outputs", &outs))
		for (i = 0; i < json_object_array_length(outs); i++) {
			struct json_object *o = json_object_array_get_idx(outs, i);
			struct json_object *healthy;
			bool ok = json_object_object_get_ex(o, "healthy", &healthy) && json_object_get_boolean(healthy);

			printf("  %-6s %s  %s  events %lld  lost %lld", jstr(o, "type", ""), jstr(o, "target", ""),
			       ok ? "healthy" : "FAILING", (long long)jint(o, "events"), (long long)jint(o, "lost"));
			if (json_object_object_get_ex(o, "queued", NULL))
				printf("  queued %lld  set aside %lld  retries %lld", (long long)jint(o, "queued"),
				       (long long)jint(o, "set_aside"), (long long)jint(o, "retries"));
			printf("%s%s\n", jstr(o, "error", NULL) ? "  error: " : "", jstr(o, "error", ""));
		}
}

static void args_line(struct json_object *p, char *out, size_t len)
{
	struct json_object *args;
	size_t i, o = 0;

	out[0] = '\0';
	if (!json_object_object_get_ex(p, "args", &args))
		return;
	for (i = 0; i < json_object_array_length(args) && o + 1 < len; i++) {
		const char *a = json_object_get_string(json_object_array_get_idx(args, i));
		int n = snprintf(out + o, len - o, "%s%s", i ? " " : "", a);

		if (n < 0)
			break;
		o += (size_t)n;
	}
	/* one process per line on a terminal: show control characters as '?' */
	for (i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
}

static void ps_row(struct json_object *p, int depth)
{
	char args[512], user[16];

	args_line(p, args, sizeof(args));
	snprintf(user, sizeof(user), "%s", jstr(p, "user", ""));
	if (!user[0])
		snprintf(user, sizeof(user), "%lld", (long long)jint(p, "uid"));
	printf("%7lld %7lld %-10s %*s%s  %s\n", (long long)jint(p, "pid"), (long long)jint(p, "ppid"), user, depth * 2,
	       "", jstr(p, "exe", "")[0] ? jstr(p, "exe", "") : jstr(p, "comm", ""), args);
}

static void ps_tree(struct json_object *procs, size_t n, int64_t ppid, int depth, char *shown)
{
	size_t i;

	if (depth > 64)
		return;
	for (i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(procs, i);

		if (shown[i] || jint(p, "ppid") != ppid)
			continue;
		shown[i] = 1;
		ps_row(p, depth);
		ps_tree(procs, n, jint(p, "pid"), depth + 1, shown);
	}
}

static void show_ps(struct json_object *data, bool tree)
{
	struct json_object *procs;
	size_t i, n;
	char *shown;

	if (!json_object_object_get_ex(data, "processes", &procs))
		return;
	n = json_object_array_length(procs);
	printf("%7s %7s %-10s %s\n", "PID", "PPID", "USER", "EXECUTABLE  ARGS");
	if (!tree) {
		for (i = 0; i < n; i++)
			ps_row(json_object_array_get_idx(procs, i), 0);
		return;
	}
	shown = calloc(n ? n : 1, 1);
	if (!shown)
		return;
	/* roots: processes whose parent is not in the table */
	for (i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(procs, i);
		int64_t pp = jint(p, "ppid");
		size_t k;
		bool has_parent = false;

		for (k = 0; k < n && !has_parent; k++)
			has_parent = k != i && jint(json_object_array_get_idx(procs, k), "pid") == pp;
		if (!has_parent && !shown[i]) {
			shown[i] = 1;
			ps_row(p, 0);
			ps_tree(procs, n, jint(p, "pid"), 1, shown);
		}
	}
	free(shown);
}

static void show_event(const char *line)
{
	struct json_object *e = json_tokener_parse(line), *proc = NULL, *file = NULL;
	char when[32] = "";
	time_t t;
	struct tm tm;

	if (!e) {
		printf("%s\n", line);
		return;
	}
	t = (time_t)(jint(e, "time") / 1000);
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	json_object_object_get_ex(e, "process", &proc);
	if (proc)
		json_object_object_get_ex(proc, "file", &file);
	printf("%s %-22s %-10s", when, jstr(e, "class_name", "?"), jstr(e, "activity_name", "?"));
	if (proc) {
		char cmd[512];
		size_t i;

		snprintf(cmd, sizeof(cmd), "%s", jstr(proc, "cmd_line", ""));
		for (i = 0; cmd[i]; i++)
			if ((unsigned char)cmd[i] < 0x20 || cmd[i] == 0x7f)
				cmd[i] = '?';
		printf(" pid %-7lld %s  %s", (long long)jint(proc, "pid"), jstr(file, "path", jstr(proc, "name", "")),
		       cmd);
		if (json_object_object_get_ex(e, "exit_code", NULL))
			printf("  exit %lld", (long long)jint(e, "exit_code"));
	}
	printf("\n");
	fflush(stdout);
	json_object_put(e);
}

/* Does the event touch a path under prefix (file or rename target)? */
static bool under(struct json_object *e, const char *prefix)
{
	static const char *const keys[] = {"file", "file_result"};
	size_t i, n = strlen(prefix);

	if (!prefix[0])
		return true;
	while (n > 1 && prefix[n - 1] == '/')
		n--;
	for (i = 0; i < 2; i++) {
		struct json_object *f;
		const char *p;

		if (!json_object_object_get_ex(e, keys[i], &f))
			continue;
		p = jstr(f, "path", "");
		if (!strncmp(p, prefix, n) && (p[n] == '/' || p[n] == '\0' || prefix[n - 1] == '/'))
			return true;
	}
	return false;
}

static void show_file_event(struct json_object *e)
{
	struct json_object *f = NULL, *r = NULL, *actor = NULL, *proc = NULL, *user = NULL;
	char when[32] = "", path[1024];
	time_t t = (time_t)(jint(e, "time") / 1000);
	struct tm tm;
	size_t i;

	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	json_object_object_get_ex(e, "file", &f);
	json_object_object_get_ex(e, "file_result", &r);
	json_object_object_get_ex(e, "actor", &actor);
	if (actor) {
		json_object_object_get_ex(actor, "process", &proc);
		json_object_object_get_ex(actor, "user", &user);
	}
	snprintf(path, sizeof(path), "%s%s%s", jstr(f, "path", ""), r ? " -> " : "", r ? jstr(r, "path", "") : "");
	for (i = 0; path[i]; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			path[i] = '?';
	printf("%-8s %-12s %-7s %-8s %6lld %7lld %-16s %s\n", when, jstr(e, "activity_name", "?"),
	       jint(e, "status_id") == 2 ? jstr(e, "status_detail", "FAIL") : "ok",
	       jstr(user, "name", jstr(user, "uid", "?")), (long long)jint(e, "count"), (long long)jint(proc, "pid"),
	       jstr(proc, "name", ""), path);
	fflush(stdout);
}

/* A field from a process (exe, comm) on one terminal line: control characters shown as '?'. */
static void term_safe(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* A string from the daemon, made safe for the terminal, cut to width. */
static void cell(const char *s, int width, bool last)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", s ? s : "");
	term_safe(buf);
	if (last)
		printf("%s\n", buf);
	else
		printf("%-*.*s ", width, width, buf);
}

static void findings_table(struct json_object *arr)
{
	size_t n = json_object_array_length(arr);

	printf("%-8s %6s %-8s %-12s %s\n", "SEVERITY", "SCORE", "AGE", "CHECK", "FINDING");
	for (size_t i = 0; i < n; i++) {
		struct json_object *f = json_object_array_get_idx(arr, i);
		char line[1024];

		int64_t a = jint(f, "age_s");
		char age[32];

		if (a >= 86400)
			snprintf(age, sizeof(age), "%lldd%lldh", (long long)(a / 86400), (long long)(a % 86400 / 3600));
		else if (a >= 3600)
			snprintf(age, sizeof(age), "%lldh%lldm", (long long)(a / 3600), (long long)(a % 3600 / 60));
		else
			snprintf(age, sizeof(age), "%lldm%llds", (long long)(a / 60), (long long)(a % 60));
		printf("%-8s %6.1f %-8s ", jstr(f, "severity", ""),
		       json_object_get_double(json_object_object_get(f, "score")), age);
		cell(jstr(f, "check", ""), 12, false);
		snprintf(line, sizeof(line), "%s: %s", jstr(f, "title", ""), jstr(f, "actual", ""));
		cell(line, 0, true);
	}
	if (!n)
		printf("(no open findings)\n");
}

static void show_posture(struct json_object *d)
{
	struct json_object *areas, *errors, *worst;

	printf("host risk score %.1f: %lld open findings; checks %lld pass, %lld fail, %lld error, %lld not "
	       "applicable\n\n",
	       json_object_get_double(json_object_object_get(d, "host")), (long long)jint(d, "findings"),
	       (long long)jint(d, "checks_pass"), (long long)jint(d, "checks_fail"), (long long)jint(d, "checks_error"),
	       (long long)jint(d, "checks_not_applicable"));
	printf("%-8s %8s %9s\n", "AREA", "SCORE", "FINDINGS");
	if (json_object_object_get_ex(d, "areas", &areas)) {
		json_object_object_foreach(areas, k, v)
		{
			printf("%-8s %8.1f %9lld\n", k, json_object_get_double(json_object_object_get(v, "score")),
			       (long long)jint(v, "findings"));
		}
	}
	if (json_object_object_get_ex(d, "worst", &worst) && json_object_array_length(worst)) {
		printf("\nworst findings:\n");
		findings_table(worst);
	}
	if (json_object_object_get_ex(d, "errors", &errors) && json_object_array_length(errors)) {
		printf("\nchecks that could not run:\n");
		for (size_t i = 0; i < json_object_array_length(errors); i++) {
			struct json_object *e = json_object_array_get_idx(errors, i);

			cell(jstr(e, "check", ""), 12, false);
			cell(jstr(e, "reason", ""), 0, true);
		}
	}
}

static void show_inventory(struct json_object *d, const char *kind)
{
	struct json_object *arr = d;

	if (!strcmp(kind, "users")) {
		json_object_object_get_ex(d, "users", &arr);
		printf("%-16s %7s %-8s %-5s %-5s %s\n", "NAME", "UID", "PASSWORD", "LOGIN", "SUDO", "SHELL");
		for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
			struct json_object *u = json_object_array_get_idx(arr, i);

			cell(jstr(u, "name", ""), 16, false);
			printf("%7lld %-8s %-5s %-5s ", (long long)jint(u, "uid"), jstr(u, "password", ""),
			       json_object_get_boolean(json_object_object_get(u, "interactive")) ? "yes" : "no",
			       json_object_get_boolean(json_object_object_get(u, "sudo")) ? "yes" : "no");
			cell(jstr(u, "shell", ""), 0, true);
		}
		return;
	}
	if (!strcmp(kind, "packages")) {
		printf("%-36s %-36s %s\n", "NAME", "VERSION", "ARCH");
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *p = json_object_array_get_idx(arr, i);

			cell(jstr(p, "name", ""), 36, false);
			cell(jstr(p, "version", ""), 36, false);
			cell(jstr(p, "architecture", ""), 0, true);
		}
		return;
	}
	if (!strcmp(kind, "ports")) {
		printf("%-5s %-40s %5s %8s %s\n", "PROTO", "ADDRESS", "PORT", "PID", "PROCESS");
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *p = json_object_array_get_idx(arr, i);

			printf("%-5s ", jstr(p, "protocol", ""));
			cell(jstr(p, "address", ""), 40, false);
			printf("%5lld %8lld ", (long long)jint(p, "port"), (long long)jint(p, "pid"));
			cell(jstr(p, "process", "?"), 0, true);
		}
		return;
	}
	printf("%s\n", json_object_to_json_string_ext(d, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void show_sockets(struct json_object *data, bool ports)
{
	struct json_object *arr;
	size_t i, n;
	time_t now = time(NULL);

	if (!json_object_object_get_ex(data, ports ? "ports" : "connections", &arr))
		return;
	n = json_object_array_length(arr);
	if (ports)
		printf("%-5s %-30s %7s %-10s %-20s %s\n", "PROTO", "LOCAL", "PID", "USER", "SINCE", "PROCESS");
	else
		printf("%-5s %-3s %-30s %-30s %7s %-10s %8s %s\n", "PROTO", "DIR", "LOCAL", "REMOTE", "PID", "USER",
		       "AGE", "PROCESS");
	for (i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(arr, i);
		const char *la = jstr(c, "local_address", "?"), *ra = jstr(c, "remote_address", "?");
		char local[80], remote[80], user[16], proc[256], since[32] = "before kansokud";
		bool v6 = jint(c, "family") == 6;

		snprintf(local, sizeof(local), v6 ? "[%s]:%lld" : "%s:%lld", la, (long long)jint(c, "local_port"));
		snprintf(remote, sizeof(remote), v6 ? "[%s]:%lld" : "%s:%lld", ra, (long long)jint(c, "remote_port"));
		snprintf(user, sizeof(user), "%s", jstr(c, "user", ""));
		if (!user[0])
			snprintf(user, sizeof(user), "%lld", (long long)jint(c, "uid"));
		snprintf(proc, sizeof(proc), "%s", jstr(c, "exe", "")[0] ? jstr(c, "exe", "") : jstr(c, "comm", "?"));
		term_safe(proc);
		if (ports) {
			int64_t ms = jint(c, "since");

			if (ms > 0) {
				time_t t = (time_t)(ms / 1000);
				struct tm tm;

				strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
			}
			printf("%-5s %-30s %7lld %-10s %-20s %s\n", jstr(c, "protocol", "?"), local,
			       (long long)jint(c, "pid"), user, since, proc);
		} else {
			char age[16] = "-";

			if (jint(c, "since") > 0)
				snprintf(age, sizeof(age), "%llds", (long long)(now - jint(c, "since") / 1000));
			printf("%-5s %-3s %-30s %-30s %7lld %-10s %8s %s\n", jstr(c, "protocol", "?"),
			       !strcmp(jstr(c, "direction", ""), "inbound") ? "in" : "out", local, remote,
			       (long long)jint(c, "pid"), user, age, proc);
		}
	}
}

int main(int argc, char **argv)
{
	const char *socket_path = DEFAULT_SOCKET, *cmd = NULL, *type = NULL, *path_prefix = NULL, *area = NULL,
	           *severity = NULL, *kind = NULL;
	bool tree = false, follow = false, fresh = false;
	struct json_object *req, *reply = NULL, *data;
	struct reader r = {0};
	const char *s;
	char *line;
	size_t len;
	int i, rc = 1;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			opt_json = true;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			socket_path = argv[++i];
		} else if (!strcmp(argv[i], "--tree")) {
			tree = true;
		} else if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f")) {
			follow = true;
		} else if (!strcmp(argv[i], "--type") && i + 1 < argc) {
			type = argv[++i];
		} else if (!strcmp(argv[i], "--path") && i + 1 < argc) {
			path_prefix = argv[++i];
		} else if (!strcmp(argv[i], "--area") && i + 1 < argc) {
			area = argv[++i];
		} else if (!strcmp(argv[i], "--severity") && i + 1 < argc) {
			severity = argv[++i];
		} else if (!strcmp(argv[i], "--fresh")) {
			fresh = true;
		} else if (argv[i][0] != '-' && cmd && !strcmp(cmd, "inventory") && !kind) {
			kind = argv[i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!cmd && !strcmp(argv[i], "rules")) {
			/* `rules list` and `rules reload` ask the daemon; the others work offline, without it */
			if (i + 1 < argc && (!strcmp(argv[i + 1], "list") || !strcmp(argv[i + 1], "reload")))
				cmd = !strcmp(argv[++i], "list") ? "rules" : "rules-reload";
			else
				return ks_cli_rules(argc - i, argv + i);
		} else if (!cmd && !strcmp(argv[i], "policy")) {
			return ks_cli_policy(argc - i, argv + i, socket_path);
		} else if (argv[i][0] != '-' && !cmd) {
			cmd = argv[i];
		} else {
			fprintf(stderr, "kansoku: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!cmd) {
		usage(stderr);
		return 2;
	}
	if (strcmp(cmd, "status") && strcmp(cmd, "ps") && strcmp(cmd, "events") && strcmp(cmd, "files") &&
	    strcmp(cmd, "conns") && strcmp(cmd, "ports") && strcmp(cmd, "posture") && strcmp(cmd, "findings") &&
	    strcmp(cmd, "snapshot") && strcmp(cmd, "inventory") && strcmp(cmd, "rules") &&
	    strcmp(cmd, "rules-reload") && strcmp(cmd, "alerts")) {
		fprintf(stderr, "kansoku: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	if ((tree && strcmp(cmd, "ps")) || (type && strcmp(cmd, "events")) ||
	    (follow && strcmp(cmd, "events") && strcmp(cmd, "files") && strcmp(cmd, "alerts")) ||
	    (path_prefix && strcmp(cmd, "files")) || ((area || severity) && strcmp(cmd, "findings")) ||
	    (fresh && strcmp(cmd, "snapshot"))) {
		fprintf(stderr, "kansoku: option not valid for '%s'\n", cmd);
		return 2;
	}
	if (!strcmp(cmd, "inventory") && !kind) {
		fprintf(stderr, "kansoku: inventory needs what to list: packages, users, ports or device\n");
		return 2;
	}

	r.fd = connect_daemon(socket_path);
	if (r.fd < 0)
		return 1;
	req = json_object_new_object();
	if (!strcmp(cmd, "files")) { /* file accesses are the file class of the event stream */
		json_object_object_add(req, "cmd", json_object_new_string("events"));
		type = "file";
	} else if (!strcmp(cmd, "alerts")) { /* detections are the Detection Finding class of the stream */
		json_object_object_add(req, "cmd", json_object_new_string("events"));
		type = "2004";
	} else {
		json_object_object_add(req, "cmd", json_object_new_string(cmd));
	}
	if (type)
		json_object_object_add(req, "type", json_object_new_string(type));
	if (follow)
		json_object_object_add(req, "follow", json_object_new_boolean(1));
	if (area)
		json_object_object_add(req, "area", json_object_new_string(area));
	if (severity)
		json_object_object_add(req, "severity", json_object_new_string(severity));
	if (fresh)
		json_object_object_add(req, "fresh", json_object_new_boolean(1));
	if (kind)
		json_object_object_add(req, "kind", json_object_new_string(kind));
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	if (write(r.fd, s, strlen(s)) < 0 || write(r.fd, "\n", 1) < 0) {
		fprintf(stderr, "kansoku: sending the request failed: %s\n", strerror(errno));
		json_object_put(req);
		goto out;
	}
	json_object_put(req);

	line = next_line(&r, &len);
	if (!line) {
		fprintf(stderr, "kansoku: the daemon closed the connection without answering\n");
		goto out;
	}
	reply = parse_reply(line);
	if (!reply || !(data = check_reply(reply)))
		goto out;
	if (!strcmp(cmd, "files")) {
		if (!opt_json)
			printf("%-8s %-12s %-7s %-8s %6s %7s %-16s %s\n", "TIME", "ACTIVITY", "RESULT", "USER", "COUNT",
			       "PID", "PROCESS", "PATH");
		while ((line = next_line(&r, &len))) {
			struct json_object *e = json_tokener_parse(line);

			if (e && under(e, path_prefix ? path_prefix : "")) {
				if (opt_json)
					printf("%s\n", line);
				else
					show_file_event(e);
				fflush(stdout);
			}
			json_object_put(e);
		}
		rc = 0;
		goto out;
	}
	if (!strcmp(cmd, "events") || !strcmp(cmd, "alerts")) {
		while ((line = next_line(&r, &len))) {
			if (opt_json) {
				fwrite(line, 1, len, stdout);
				fputc('\n', stdout);
				if (follow)
					fflush(stdout);
			} else if (!strcmp(cmd, "alerts")) {
				struct json_object *e = json_tokener_parse(line);

				if (e)
					ks_cli_show_alert(e);
				json_object_put(e);
			} else {
				show_event(line);
			}
		}
		rc = 0;
		goto out;
	}
	if (opt_json)
		printf("%s\n",
		       json_object_to_json_string_ext(data, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (!strcmp(cmd, "status"))
		show_status(data);
	else if (!strcmp(cmd, "conns") || !strcmp(cmd, "ports"))
		show_sockets(data, !strcmp(cmd, "ports"));
	else if (!strcmp(cmd, "posture"))
		show_posture(data);
	else if (!strcmp(cmd, "findings"))
		findings_table(data);
	else if (!strcmp(cmd, "inventory"))
		show_inventory(data, kind);
	else if (!strcmp(cmd, "rules"))
		ks_cli_show_rules(data);
	else if (!strcmp(cmd, "rules-reload"))
		ks_cli_show_rules_status(data);
	else if (!strcmp(cmd, "snapshot"))
		printf("%s\n",
		       json_object_to_json_string_ext(data, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		show_ps(data, tree);
	rc = 0;
out:
	json_object_put(reply);
	free(r.buf);
	close(r.fd);
	return rc;
}
