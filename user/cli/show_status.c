// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `kansoku status`: the daemon's health on one screen. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/client.h"
#include "cli/rules_live.h"
#include "cli/show_status.h"

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

static void status_hooks(struct json_object *st)
{
	struct json_object *hooks;
	size_t i, syscalls = 0;

	printf("\nhooks (%s):\n", jstr(st, "hook_flavour", "?"));
	if (!json_object_object_get_ex(st, "hooks", &hooks))
		return;
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

/* The files, network and posture lines: what each observes, or why it is off. */
static void status_sensors(struct json_object *st)
{
	struct json_object *fo, *en;

	if (json_object_object_get_ex(st, "files", &fo)) {
		bool on = json_object_object_get_ex(fo, "enabled", &en) && json_object_get_boolean(en);

		printf("files       %s", on ? "observed" : "OFF");
		if (on)
			printf(": %lld rules, %lld events, %lld repeats aggregated", (long long)jint(fo, "rules"),
			       (long long)jint(fo, "events"), (long long)jint(fo, "repeats_aggregated"));
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
		       (long long)jint(fo, "checks"), (long long)jint(fo, "findings"), (long long)jint(fo, "snapshots"),
		       json_object_get_double(json_object_object_get(fo, "last_snapshot_cpu_ms")),
		       (long long)jint(fo, "rescores"),
		       json_object_get_boolean(json_object_object_get(fo, "walking")) ? ", filesystem walk running"
		                                                                      : "");
	else
		printf("posture     OFF\n");
}

static void status_events(struct json_object *st)
{
	struct json_object *events;

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
}

static void status_outputs(struct json_object *st)
{
	struct json_object *outs;
	size_t i;

	printf("\noutputs:\n");
	if (!json_object_object_get_ex(st, "outputs", &outs))
		return;
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

void ks_cli_show_status(struct json_object *st)
{
	struct json_object *dev;

	printf("kansokud %s  pid %lld  up ", jstr(st, "version", "?"), (long long)jint(st, "pid"));
	print_duration(jint(st, "uptime_s"));
	printf("  kernel %s\n", jstr(st, "kernel", "?"));
	printf("config      %s\n", jstr(st, "config", "?"));
	if (json_object_object_get_ex(st, "device", &dev))
		printf("device      %s (from %s)\n", jstr(dev, "uid", "?"), jstr(dev, "machine_id_source", "?"));
	printf("processes   %lld tracked (%lld seeded at start)\n", (long long)jint(st, "processes"),
	       (long long)jint(st, "seeded"));
	ks_cli_show_rules_line(st);
	status_hooks(st);
	status_sensors(st);
	status_events(st);
	status_outputs(st);
}
