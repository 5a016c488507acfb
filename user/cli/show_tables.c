// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The streamed tables: ps (rows or the tree), conns and ports. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/client.h"
#include "cli/show_tables.h"

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

/* The tree: children found by binary search over the rows sorted by parent (100,000 rows stay fast). */
struct ps_node {
	int64_t pid, ppid;
	struct json_object *row;
};

static int by_ppid(const void *a, const void *b)
{
	const struct ps_node *x = a, *y = b;

	if (x->ppid != y->ppid)
		return x->ppid < y->ppid ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int by_pid(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void ps_tree(const struct ps_node *by_parent, size_t n, int64_t ppid, int depth, char *shown)
{
	size_t lo = 0, hi = n;

	if (depth > 64)
		return;
	while (lo < hi) { /* the first row whose parent is ppid */
		size_t mid = (lo + hi) / 2;

		if (by_parent[mid].ppid < ppid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && by_parent[lo].ppid == ppid; lo++) {
		if (shown[lo])
			continue;
		shown[lo] = 1;
		ps_row(by_parent[lo].row, depth);
		ps_tree(by_parent, n, by_parent[lo].pid, depth + 1, shown);
	}
}

/* all: kernel threads too (hidden by default, as ps users expect: they come first and are not programs) */
static void show_ps_tree(struct json_object *procs, bool all)
{
	size_t i, n = json_object_array_length(procs);
	struct ps_node *nodes = calloc(n ? n : 1, sizeof(*nodes));
	int64_t *pids = calloc(n ? n : 1, sizeof(*pids));
	char *shown = calloc(n ? n : 1, 1);

	if (!nodes || !pids || !shown)
		goto out;
	for (i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(procs, i);

		nodes[i] = (struct ps_node){jint(p, "pid"), jint(p, "ppid"), p};
		pids[i] = nodes[i].pid;
	}
	qsort(nodes, n, sizeof(*nodes), by_ppid);
	qsort(pids, n, sizeof(*pids), by_pid);
	for (i = 0; i < n && !all; i++) /* marked shown: neither a root nor anyone's child below */
		shown[i] = jbool(nodes[i].row, "kernel_thread");
	/* roots: processes whose parent is not in the table */
	for (i = 0; i < n; i++) {
		if (shown[i] ||
		    (nodes[i].ppid != nodes[i].pid && bsearch(&nodes[i].ppid, pids, n, sizeof(*pids), by_pid)))
			continue;
		shown[i] = 1;
		ps_row(nodes[i].row, 0);
		ps_tree(nodes, n, nodes[i].pid, 1, shown);
	}
out:
	free(nodes);
	free(pids);
	free(shown);
}

static void sockets_head(bool ports)
{
	if (ports)
		printf("%-5s %-30s %7s %-10s %-20s %s\n", "PROTO", "LOCAL", "PID", "USER", "SINCE", "PROCESS");
	else
		printf("%-5s %-3s %-30s %-30s %7s %-10s %8s %s\n", "PROTO", "DIR", "LOCAL", "REMOTE", "PID", "USER",
		       "AGE", "PROCESS");
}

static void socket_row(struct json_object *c, bool ports)
{
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
	if (ports && jbool(c, "owner_unknown")) { /* in /proc/net, held by no process kansokud can see */
		printf("%-5s %-30s %7s %-10s %-20s %s\n", jstr(c, "protocol", "?"), local, "-", "-", "-",
		       "(owner not visible)");
		return;
	}
	if (ports) {
		int64_t ms = jint(c, "since");

		if (ms > 0) {
			time_t t = (time_t)(ms / 1000);
			struct tm tm;

			strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
		}
		printf("%-5s %-30s %7lld %-10s %-20s %s\n", jstr(c, "protocol", "?"), local, (long long)jint(c, "pid"),
		       user, since, proc);
	} else {
		char age[16] = "-";

		if (jint(c, "since") > 0)
			snprintf(age, sizeof(age), "%llds", (long long)(time(NULL) - jint(c, "since") / 1000));
		printf("%-5s %-3s %-30s %-30s %7lld %-10s %8s %s\n", jstr(c, "protocol", "?"),
		       !strcmp(jstr(c, "direction", ""), "inbound") ? "in" : "out", local, remote,
		       (long long)jint(c, "pid"), user, age, proc);
	}
}

/*
 * A streamed table (ps, conns, ports): one row per line after the head, then {"end":true,"count":N}.
 * Rows are shown as they come (the tree needs them all first); --json prints the document
 * {"NAME":[rows]}. Returns 0, or 1 when the reply was cut before its end line.
 */
int ks_cli_read_table(struct ks_cli_reader *r, const char *cmd, const char *name, bool tree, bool kthreads, bool json)
{
	struct json_object *all = tree && !json ? json_object_new_array() : NULL;
	bool ports = !strcmp(cmd, "ports"), procs = !strcmp(cmd, "ps");
	size_t rows = 0, len;
	char *line;
	int rc = 1;

	if (json)
		printf("{\"%s\":[", name);
	else if (procs)
		printf("%7s %7s %-10s %s\n", "PID", "PPID", "USER", "EXECUTABLE  ARGS");
	else
		sockets_head(ports);
	while ((line = ks_cli_next_line(r, &len))) {
		struct json_object *o;

		if (!strncmp(line, "{\"end\":", 7)) {
			rc = 0;
			break;
		}
		if (json) {
			printf("%s\n%s", rows ? "," : "", line);
			rows++;
			continue;
		}
		o = json_tokener_parse(line);
		if (!o)
			continue;
		rows++;
		if (procs && !kthreads && jbool(o, "kernel_thread")) {
			json_object_put(o);
			continue;
		}
		if (all) {
			json_object_array_add(all, o);
			continue;
		}
		if (procs)
			ps_row(o, 0);
		else
			socket_row(o, ports);
		json_object_put(o);
	}
	if (json)
		printf("\n]}\n");
	if (all)
		show_ps_tree(all, kthreads);
	json_object_put(all);
	if (rc)
		fprintf(stderr, "kansoku: the reply was cut after %zu rows (the daemon closed the connection)\n", rows);
	return rc;
}
