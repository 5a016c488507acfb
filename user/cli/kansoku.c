// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kansoku: inspect the live state of kansokud through its control socket. */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/policy_cmd.h"
#include "cli/rules_cmd.h"
#include "cli/rules_live.h"
#include "cli/show_events.h"
#include "cli/show_posture.h"
#include "cli/show_status.h"
#include "cli/show_tables.h"

#define DEFAULT_SOCKET KS_CLI_DEFAULT_SOCKET

/* What the command line asked for. */
struct cli_opts {
	const char *socket_path, *cmd, *type, *path_prefix, *area, *severity, *kind;
	bool tree, all, follow, fresh, json;
};

/* parse_args: go on with the request (anything else is the exit status) */
#define CLI_GO_ON (-1)

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: kansoku [--socket PATH] COMMAND [OPTIONS] [--json]\n\n"
	        "Commands:\n"
	        "  status                      daemon version, uptime, hooks, events and drops, outputs\n"
	        "  ps [--tree] [--all]         the live process table (--all: kernel threads too)\n"
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

/* Fills *o from argv. Returns CLI_GO_ON, or the exit status (--help, offline `rules`, a bad argument). */
static int parse_args(int argc, char **argv, struct cli_opts *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			o->json = true;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			o->socket_path = argv[++i];
		} else if (!strcmp(argv[i], "--tree")) {
			o->tree = true;
		} else if (!strcmp(argv[i], "--all")) {
			o->all = true;
		} else if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f")) {
			o->follow = true;
		} else if (!strcmp(argv[i], "--type") && i + 1 < argc) {
			o->type = argv[++i];
		} else if (!strcmp(argv[i], "--path") && i + 1 < argc) {
			o->path_prefix = argv[++i];
		} else if (!strcmp(argv[i], "--area") && i + 1 < argc) {
			o->area = argv[++i];
		} else if (!strcmp(argv[i], "--severity") && i + 1 < argc) {
			o->severity = argv[++i];
		} else if (!strcmp(argv[i], "--fresh")) {
			o->fresh = true;
		} else if (argv[i][0] != '-' && o->cmd && !strcmp(o->cmd, "inventory") && !o->kind) {
			o->kind = argv[i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!o->cmd && !strcmp(argv[i], "rules")) {
			/* `rules list` and `rules reload` ask the daemon; the others work offline, without it */
			if (i + 1 < argc && (!strcmp(argv[i + 1], "list") || !strcmp(argv[i + 1], "reload")))
				o->cmd = !strcmp(argv[++i], "list") ? "rules" : "rules-reload";
			else
				return ks_cli_rules(argc - i, argv + i);
		} else if (!o->cmd && !strcmp(argv[i], "policy")) {
			return ks_cli_policy(argc - i, argv + i, o->socket_path);
		} else if (argv[i][0] != '-' && !o->cmd) {
			o->cmd = argv[i];
		} else {
			fprintf(stderr, "kansoku: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	return CLI_GO_ON;
}

/* A known command with options that fit it: 0, or 2 after saying what is wrong. */
static int check_args(const struct cli_opts *o)
{
	const char *cmd = o->cmd;

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
	if (((o->tree || o->all) && strcmp(cmd, "ps")) || (o->type && strcmp(cmd, "events")) ||
	    (o->follow && strcmp(cmd, "events") && strcmp(cmd, "files") && strcmp(cmd, "alerts")) ||
	    (o->path_prefix && strcmp(cmd, "files")) || ((o->area || o->severity) && strcmp(cmd, "findings")) ||
	    (o->fresh && strcmp(cmd, "snapshot"))) {
		fprintf(stderr, "kansoku: option not valid for '%s'\n", cmd);
		return 2;
	}
	if (!strcmp(cmd, "inventory") && !o->kind) {
		fprintf(stderr, "kansoku: inventory needs what to list: packages, users, ports or device\n");
		return 2;
	}
	return 0;
}

/* The request line's JSON object (the caller puts it). */
static struct json_object *build_request(const struct cli_opts *o)
{
	struct json_object *req;
	const char *type = o->type;

	if (!o->cmd) /* check_args refused that already */
		return NULL;
	req = json_object_new_object();

	if (!strcmp(o->cmd, "files")) { /* file accesses are the file class of the event stream */
		json_object_object_add(req, "cmd", json_object_new_string("events"));
		type = "file";
	} else if (!strcmp(o->cmd, "alerts")) { /* detections are the Detection Finding class of the stream */
		json_object_object_add(req, "cmd", json_object_new_string("events"));
		type = "2004";
	} else {
		json_object_object_add(req, "cmd", json_object_new_string(o->cmd));
	}
	if (type)
		json_object_object_add(req, "type", json_object_new_string(type));
	if (o->follow)
		json_object_object_add(req, "follow", json_object_new_boolean(1));
	if (o->area)
		json_object_object_add(req, "area", json_object_new_string(o->area));
	if (o->severity)
		json_object_object_add(req, "severity", json_object_new_string(o->severity));
	if (o->fresh)
		json_object_object_add(req, "fresh", json_object_new_boolean(1));
	if (o->kind)
		json_object_object_add(req, "kind", json_object_new_string(o->kind));
	return req;
}

static int send_request(int fd, const struct cli_opts *o)
{
	struct json_object *req = build_request(o);
	const char *s;
	int rc = 0;

	if (!req)
		return -1;
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	if (write(fd, s, strlen(s)) < 0 || write(fd, "\n", 1) < 0) {
		fprintf(stderr, "kansoku: sending the request failed: %s\n", strerror(errno));
		rc = -1;
	}
	json_object_put(req);
	return rc;
}

/* A one-document reply (status, posture, ...): as text, or as pretty JSON with --json. */
static void print_document(const struct cli_opts *o, struct json_object *data)
{
	const char *cmd = o->cmd;

	if (o->json)
		printf("%s\n",
		       json_object_to_json_string_ext(data, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (!strcmp(cmd, "status"))
		ks_cli_show_status(data);
	else if (!strcmp(cmd, "posture"))
		ks_cli_show_posture(data);
	else if (!strcmp(cmd, "findings"))
		ks_cli_findings_table(data);
	else if (!strcmp(cmd, "inventory"))
		ks_cli_show_inventory(data, o->kind);
	else if (!strcmp(cmd, "rules"))
		ks_cli_show_rules(data);
	else if (!strcmp(cmd, "rules-reload"))
		ks_cli_show_rules_status(data);
	else if (!strcmp(cmd, "snapshot"))
		printf("%s\n",
		       json_object_to_json_string_ext(data, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Reads the reply's first line and whatever follows it (a table, the event stream). The exit status. */
static int print_reply(struct ks_cli_reader *r, const struct cli_opts *o)
{
	struct json_object *reply, *data, *v;
	size_t len;
	char *line = ks_cli_next_line(r, &len);
	int rc = 0;

	if (!o->cmd) /* check_args refused that already */
		return 1;
	if (!line) {
		fprintf(stderr, "kansoku: the daemon closed the connection without answering\n");
		return 1;
	}
	reply = ks_cli_parse_reply(line);
	if (!reply || !(data = ks_cli_check_reply(reply)))
		rc = 1;
	else if (json_object_object_get_ex(reply, "stream", &v) && json_object_is_type(v, json_type_string))
		rc = ks_cli_read_table(r, o->cmd, json_object_get_string(v), o->tree, o->all, o->json);
	else if (!strcmp(o->cmd, "files"))
		ks_cli_read_files(r, o->path_prefix, o->json);
	else if (!strcmp(o->cmd, "events") || !strcmp(o->cmd, "alerts"))
		ks_cli_read_events(r, !strcmp(o->cmd, "alerts"), o->follow, o->json);
	else
		print_document(o, data);
	json_object_put(reply);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli_opts o = {.socket_path = DEFAULT_SOCKET};
	struct ks_cli_reader r = {0};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	rc = parse_args(argc, argv, &o);
	if (rc != CLI_GO_ON)
		return rc;
	rc = check_args(&o);
	if (rc)
		return rc;
	r.fd = ks_cli_connect(o.socket_path);
	if (r.fd < 0)
		return 1;
	rc = send_request(r.fd, &o) ? 1 : print_reply(&r, &o);
	free(r.buf);
	close(r.fd);
	return rc;
}
