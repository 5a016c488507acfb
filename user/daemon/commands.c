// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Answers to control-socket requests: status, ps, events. They read the daemon's live state only. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/time.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "host/host.h"
#include "model/netmodel.h"
#include "outputs/outputs.h"
#include "model/proctable.h"
#include "daemon/recent.h"
#include "detect/judge.h"
#include "pipeline/ocsf.h"
#include "lib/log.h"
#include "host/users.h"

static struct json_object *ju64(uint64_t v)
{
	return json_object_new_uint64(v);
}

struct json_object *ks_status_json(struct ks_daemon *d)
{
	struct json_object *st = json_object_new_object(), *hooks = json_object_new_array(), *ev, *outs;
	struct ks_output_stats os[KS_MAX_OUTPUTS];
	uint64_t drops[KS_EV_KIND_MAX], total_drops = 0;
	size_t i, n;

	json_object_object_add(st, "version", json_object_new_string(KS_VERSION));
	json_object_object_add(st, "pid", json_object_new_int(getpid()));
	json_object_object_add(st, "config", json_object_new_string(d->cfg.source));
	json_object_object_add(st, "uptime_s", ju64((ks_boot_ns_now() - d->started_boot_ns) / NSEC_PER_SEC));
	json_object_object_add(st, "started_time", json_object_new_int64(d->started_wall_ms));
	json_object_object_add(st, "kernel", json_object_new_string(d->pl.host.kernel_release));
	if (d->judge)
		json_object_object_add(st, "rules", ks_judge_status_json(d->judge));
	json_object_object_add(st, "hook_flavour", json_object_new_string(d->loader.flavour ? d->loader.flavour : ""));
	for (i = 0; i < (size_t)d->loader.n_hooks; i++) {
		struct json_object *h = json_object_new_object();

		json_object_object_add(h, "program", json_object_new_string(d->loader.hooks[i].program));
		json_object_object_add(h, "attach", json_object_new_string(d->loader.hooks[i].attach));
		json_object_array_add(hooks, h);
	}
	json_object_object_add(st, "hooks", hooks);

	ks_loader_drops(&d->loader, drops);
	ev = json_object_new_object();
	for (i = 1; i < KS_EV_KIND_MAX; i++) {
		struct json_object *k = json_object_new_object();

		json_object_object_add(k, "received", ju64(d->pl.counters.received[i]));
		json_object_object_add(k, "dropped", ju64(drops[i]));
		json_object_object_add(ev, ks_event_kind_name((unsigned)i), k);
		total_drops += drops[i];
	}
	json_object_object_add(st, "events", ev);
	json_object_object_add(st, "kernel_drops", ju64(total_drops));
	json_object_object_add(st, "emitted", ju64(d->pl.counters.emitted));
	json_object_object_add(st, "emitted_launch", ju64(d->pl.counters.emitted_launch));
	json_object_object_add(st, "emitted_terminate", ju64(d->pl.counters.emitted_terminate));
	json_object_object_add(st, "malformed", ju64(d->pl.counters.malformed));
	json_object_object_add(st, "exit_unknown", ju64(d->pl.counters.exit_unknown));
	json_object_object_add(st, "exit_duplicate", ju64(d->pl.counters.exit_duplicate));
	json_object_object_add(st, "seeded", ju64(d->pl.counters.seeded));
	json_object_object_add(st, "processes", ju64(ks_proctable_count(d->pl.procs)));
	{
		struct json_object *fo = json_object_new_object();

		json_object_object_add(fo, "enabled", json_object_new_boolean(d->loader.files));
		if (d->loader.files_error[0])
			json_object_object_add(fo, "error", json_object_new_string(d->loader.files_error));
		json_object_object_add(fo, "rules", ju64((uint64_t)d->loader.n_rules));
		json_object_object_add(fo, "tracepoints_missing", ju64((uint64_t)d->loader.files_missing));
		json_object_object_add(fo, "events", ju64(d->pl.counters.file_events));
		json_object_object_add(fo, "repeats_aggregated", ju64(d->pl.counters.file_aggregated));
		json_object_object_add(fo, "filtered_in_user_space", ju64(d->pl.counters.file_filtered_user));
		json_object_object_add(fo, "aggregation_incomplete", ju64(d->pl.counters.file_agg_unknown));
		json_object_object_add(st, "files", fo);
	}
	{
		struct json_object *no = json_object_new_object();
		size_t nc = 0, np = 0;
		struct ks_conn **a;

		json_object_object_add(no, "enabled", json_object_new_boolean(d->loader.net));
		if (d->loader.net_error[0])
			json_object_object_add(no, "error", json_object_new_string(d->loader.net_error));
		json_object_object_add(no, "hooks_missing", ju64((uint64_t)d->loader.net_missing));
		if (d->pl.net) {
			free(ks_netmodel_snapshot(d->pl.net, false, &nc));
			a = ks_netmodel_snapshot(d->pl.net, true, &np);
			free(a);
		}
		json_object_object_add(no, "connections", ju64(nc));
		json_object_object_add(no, "listening", ju64(np));
		json_object_object_add(no, "events", ju64(d->pl.counters.net_events));
		json_object_object_add(no, "dns_queries", ju64(d->pl.counters.net_dns));
		json_object_object_add(no, "model_full", ju64(d->pl.counters.net_model_full));
		json_object_object_add(no, "own_output_records", ju64(d->pl.counters.net_self));
		/* an upper bound: counted when the backup program was itself nested */
		json_object_object_add(no, "transitions_possibly_missed", ju64(ks_loader_net_missed(&d->loader)));
		json_object_object_add(st, "network", no);
	}

	outs = json_object_new_array();
	n = ks_outputs_stats(d->outs, os, KS_MAX_OUTPUTS);
	for (i = 0; i < n && i < KS_MAX_OUTPUTS; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "type", json_object_new_string(os[i].kind));
		if (os[i].name[0])
			json_object_object_add(o, "name", json_object_new_string(os[i].name));
		json_object_object_add(o, "target", json_object_new_string(os[i].target));
		json_object_object_add(o, "healthy", json_object_new_boolean(os[i].healthy));
		json_object_object_add(o, "events", ju64(os[i].events));
		json_object_object_add(o, "bytes", ju64(os[i].bytes));
		json_object_object_add(o, "lost", ju64(os[i].lost));
		json_object_object_add(o, "rotations", ju64(os[i].rotations));
		if (strcmp(os[i].kind, "file")) { /* network outputs: the durable queue and the receiver */
			json_object_object_add(o, "queued", ju64(os[i].queued));
			json_object_object_add(o, "queue_bytes", ju64(os[i].queue_bytes));
			json_object_object_add(o, "set_aside", ju64(os[i].set_aside));
			json_object_object_add(o, "retries", ju64(os[i].retries));
			if (os[i].refusal[0])
				json_object_object_add(o, "last_refusal", json_object_new_string(os[i].refusal));
		}
		if (os[i].error[0])
			json_object_object_add(o, "error", json_object_new_string(os[i].error));
		else if (os[i].last_errno)
			json_object_object_add(o, "error", json_object_new_string(strerror(os[i].last_errno)));
		json_object_array_add(outs, o);
	}
	json_object_object_add(st, "outputs", outs);
	if (d->posture)
		json_object_object_add(st, "posture", ks_posture_status_json(d->posture));
	json_object_object_add(st, "control_clients", ju64(ks_control_clients(d->ctl)));
	json_object_object_add(st, "follower_drops", ju64(ks_control_follower_drops(d->ctl)));
	return st;
}

/* Strings from processes may hold any bytes; json-c wants UTF-8, so go through our escaper. */
static struct json_object *safe_str(const char *s, size_t n)
{
	char small[512], *buf = small;
	size_t need = ks_json_escape(NULL, 0, s, n);
	struct json_object *o;

	if (need + 1 > sizeof(small) && !(buf = malloc(need + 1)))
		return json_object_new_string("");
	ks_json_escape(buf, need, s, n);
	buf[need] = '\0';
	/* parse our own escaped literal back: json-c then holds valid UTF-8 */
	o = json_tokener_parse(buf);
	if (buf != small)
		free(buf);
	return o ? o : json_object_new_string("");
}

static struct json_object *proc_json(struct ks_daemon *d, const struct ks_proc *p)
{
	struct json_object *o = json_object_new_object(), *args = json_object_new_array();
	const char *user = ks_users_name(d->pl.users, p->creds.uid);
	size_t pos = 0, len;
	const char *arg;

	json_object_object_add(o, "pid", json_object_new_int64(p->pid));
	json_object_object_add(o, "ppid", json_object_new_int64(p->ppid));
	json_object_object_add(o, "uid", json_object_new_int64(p->creds.uid));
	if (user)
		json_object_object_add(o, "user", json_object_new_string(user));
	if (p->creds.loginuid != KS_NO_ID)
		json_object_object_add(o, "loginuid", json_object_new_int64(p->creds.loginuid));
	json_object_object_add(o, "id", json_object_new_string(p->id));
	json_object_object_add(o, "exe", p->exe ? safe_str(p->exe, strlen(p->exe)) : json_object_new_string(""));
	json_object_object_add(o, "comm", safe_str(p->comm, strnlen(p->comm, sizeof(p->comm))));
	while ((arg = ks_proc_arg_next(p, &pos, &len)))
		json_object_array_add(args, safe_str(arg, len));
	json_object_object_add(o, "args", args);
	json_object_object_add(o, "start_time", json_object_new_int64(ks_host_wall_ms(&d->pl.host, p->start_ns)));
	if (p->tty[0])
		json_object_object_add(o, "tty", json_object_new_string(p->tty));
	if (p->cgroup) /* `policy learn --unit` maps processes to units */
		json_object_object_add(o, "cgroup", safe_str(p->cgroup, strlen(p->cgroup)));
	json_object_object_add(o, "seeded", json_object_new_boolean(p->seeded));
	return o;
}

static void cmd_ps(struct ks_daemon *d, struct ks_ctl_client *c)
{
	struct json_object *data = json_object_new_object(), *arr = json_object_new_array();
	struct ks_proc **all;
	size_t n, i;

	all = ks_proctable_snapshot(d->pl.procs, &n);
	for (i = 0; i < n; i++)
		json_object_array_add(arr, proc_json(d, all[i]));
	free(all);
	json_object_object_add(data, "processes", arr);
	ks_ctl_reply_json(c, data);
}

struct bytes_table {
	struct ks_conn_bytes *v;
	size_t n;
};

static int by_sock_id(const void *a, const void *b)
{
	const struct ks_conn_bytes *x = a, *y = b;

	return x->sock_id < y->sock_id ? -1 : x->sock_id > y->sock_id;
}

static struct json_object *conn_json(struct ks_daemon *d, const struct ks_conn *c, const struct bytes_table *bt)
{
	struct json_object *o = json_object_new_object();
	struct ks_proc *p = ks_proc_lookup(d->pl.procs, c->pid);
	const char *user = ks_users_name(d->pl.users, c->uid);
	char addr[64];

	if (p && c->start_ns && p->start_ns != c->start_ns)
		p = NULL;
	json_object_object_add(o, "protocol", json_object_new_string(ks_net_proto_name(c->proto)));
	json_object_object_add(o, "family", json_object_new_int(c->family == 6 ? 6 : 4));
	ks_net_addr_str(c->family, c->saddr, addr, sizeof(addr));
	json_object_object_add(o, "local_address", json_object_new_string(addr));
	json_object_object_add(o, "local_port", json_object_new_int(c->sport));
	if (!c->listening) {
		ks_net_addr_str(c->family, c->daddr, addr, sizeof(addr));
		json_object_object_add(o, "remote_address", json_object_new_string(addr));
		json_object_object_add(o, "remote_port", json_object_new_int(c->dport));
		json_object_object_add(o, "direction",
		                       json_object_new_string(c->direction == KS_DIR_IN    ? "inbound"
		                                              : c->direction == KS_DIR_OUT ? "outbound"
		                                                                           : "unknown"));
		if (bt && bt->n) {
			struct ks_conn_bytes k = {.sock_id = c->sock_id}, *b;

			b = bsearch(&k, bt->v, bt->n, sizeof(k), by_sock_id);
			if (b) {
				json_object_object_add(o, "bytes_in", ju64(b->bytes_in));
				json_object_object_add(o, "bytes_out", ju64(b->bytes_out));
			}
		}
	}
	json_object_object_add(o, "pid", json_object_new_int64(c->pid));
	if (p) {
		json_object_object_add(o, "process_id", json_object_new_string(p->id));
		json_object_object_add(o, "exe",
		                       p->exe ? safe_str(p->exe, strlen(p->exe)) : json_object_new_string(""));
		json_object_object_add(o, "comm", safe_str(p->comm, strnlen(p->comm, sizeof(p->comm))));
	}
	json_object_object_add(o, "uid", json_object_new_int64(c->uid));
	if (user)
		json_object_object_add(o, "user", json_object_new_string(user));
	if (c->lpid)
		json_object_object_add(o, "listener_pid", json_object_new_int64(c->lpid));
	json_object_object_add(o, "net_ns", json_object_new_int64(c->netns));
	if (c->since_ns) {
		json_object_object_add(o, "since", json_object_new_int64(ks_host_wall_ms(&d->pl.host, c->since_ns)));
		json_object_object_add(o, "age_s", ju64((ks_boot_ns_now() - c->since_ns) / NSEC_PER_SEC));
	}
	json_object_object_add(o, "before_kansokud", json_object_new_boolean(c->seeded));
	return o;
}

/* conns / ports: the live network model (not /proc). */
static void cmd_sockets(struct ks_daemon *d, struct ks_ctl_client *c, bool listening)
{
	struct json_object *data, *arr;
	struct bytes_table bt = {0};
	struct ks_conn **all;
	size_t n = 0, i;

	if (!d->pl.net) {
		ks_ctl_reply_error(c, "network observation is off%s%s", d->loader.net_error[0] ? ": " : "",
		                   d->loader.net_error);
		return;
	}
	data = json_object_new_object();
	arr = json_object_new_array();
	if (!listening) { /* live byte counts: read from the kernel now */
		bt.v = ks_loader_conn_bytes(&d->loader, &bt.n);
		if (bt.n)
			qsort(bt.v, bt.n, sizeof(*bt.v), by_sock_id);
	}
	all = ks_netmodel_snapshot(d->pl.net, listening, &n);
	for (i = 0; i < n; i++)
		json_object_array_add(arr, conn_json(d, all[i], &bt));
	free(all);
	free(bt.v);
	json_object_object_add(data, listening ? "ports" : "connections", arr);
	ks_ctl_reply_json(c, data);
}

struct events_arg {
	struct ks_ctl_client *c;
};

static void send_event(void *arg, const char *line, size_t len)
{
	ks_ctl_reply_raw(((struct events_arg *)arg)->c, line, len);
}

static int class_of(const char *type)
{
	static const struct {
		const char *name;
		int class_uid;
	} types[] = {{"all", 0},    {"process", 1007}, {"file", 1001},     {"network", 4001},
	             {"dns", 4003}, {"daemon", 6002},  {"detection", 2004}};
	size_t i;
	char *end;
	long v;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(type, types[i].name))
			return types[i].class_uid;
	v = strtol(type, &end, 10);
	if (*type && !*end && v > 0 && v < 100000)
		return (int)v;
	return -1;
}

static void cmd_events(struct ks_daemon *d, struct ks_ctl_client *c, struct json_object *req)
{
	static const char head[] = "{\"ok\":true,\"stream\":true}";
	struct json_object *v;
	struct events_arg arg = {c};
	const char *type = "all";
	bool follow = false;
	int cls;

	if (json_object_object_get_ex(req, "type", &v)) {
		if (!json_object_is_type(v, json_type_string)) {
			ks_ctl_reply_error(c, "'type' must be a string");
			return;
		}
		type = json_object_get_string(v);
	}
	if (json_object_object_get_ex(req, "follow", &v))
		follow = json_object_get_boolean(v);
	cls = class_of(type);
	if (cls < 0) {
		ks_ctl_reply_error(
		    c, "unknown event type '%s' (all, process, file, network, dns, daemon, or an OCSF class_uid)",
		    type);
		return;
	}
	ks_ctl_reply_raw(c, head, sizeof(head) - 1);
	/* findings have a ring of their own: a busy host must not push them out of `kansoku alerts` */
	ks_recent_each(cls == KS_OCSF_DETECTION_FINDING ? d->alerts : d->recent, cls, send_event, &arg);
	if (follow)
		ks_ctl_follow(c, cls);
}

static int64_t now_ms(struct ks_daemon *d)
{
	return ks_host_wall_ms(&d->pl.host, ks_boot_ns_now());
}

/* Optional string field; false (and an error reply) if present but not a string. */
static bool opt_str(struct ks_ctl_client *c, struct json_object *req, const char *key, const char **out)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_string)) {
		ks_ctl_reply_error(c, "'%s' must be a string", key);
		return false;
	}
	*out = json_object_get_string(v);
	return true;
}

/* posture, findings, snapshot, inventory: the posture engine's documents. */
static void cmd_posture(struct ks_daemon *d, struct ks_ctl_client *c, const char *name, struct json_object *req)
{
	const char *area_s, *sev_s, *kind;
	struct json_object *v, *doc;
	int area = -1, sev = -1;

	if (!d->posture) {
		ks_ctl_reply_error(c, "posture is off (posture.enabled: false in %s)", d->cfg.source);
		return;
	}
	if (!strcmp(name, "posture")) {
		ks_ctl_reply_json(c, ks_posture_summary_json(d->posture, now_ms(d)));
		return;
	}
	if (!strcmp(name, "findings")) {
		if (!opt_str(c, req, "area", &area_s) || !opt_str(c, req, "severity", &sev_s))
			return;
		if (area_s && (area = ks_area_parse(area_s)) < 0) {
			ks_ctl_reply_error(c, "unknown area '%.32s' (device, user, system, data)", area_s);
			return;
		}
		if (sev_s && (sev = ks_sev_parse(sev_s)) < 0) {
			ks_ctl_reply_error(c, "unknown severity '%.32s' (info, low, medium, high, critical)", sev_s);
			return;
		}
		ks_ctl_reply_json(c, ks_posture_findings_json(d->posture, now_ms(d), area, sev));
		return;
	}
	if (!strcmp(name, "snapshot")) {
		/* on demand: evaluated now, on the loop (a full run without the filesystem walk is milliseconds) */
		if (json_object_object_get_ex(req, "fresh", &v) && json_object_get_boolean(v))
			ks_posture_snapshot(d->posture, &d->pl, now_ms(d));
		ks_ctl_reply_json(c, ks_posture_snapshot_json(d->posture));
		return;
	}
	if (!opt_str(c, req, "kind", &kind))
		return;
	doc = kind ? ks_posture_inventory_json(d->posture, kind) : NULL;
	if (!doc) {
		ks_ctl_reply_error(c, "inventory: 'kind' must be packages, users, ports or device%s",
		                   kind ? "" : " (missing)");
		return;
	}
	ks_ctl_reply_json(c, doc);
}

int ks_daemon_reload_rules(struct ks_daemon *d, char *err, size_t errlen)
{
	static struct ks_config fresh; /* large: keep it off the stack; only the loop thread reloads */

	if (!d->judge) {
		snprintf(err, errlen, "rules are off (rules.enabled: false); a restart turns them on");
		return -1;
	}
	if (ks_config_load(&fresh, d->cfg.source, err, errlen))
		return -1;
	if (ks_judge_load(d->judge, &fresh.rules, err, errlen))
		return -1;
	d->cfg.rules = fresh.rules;
	ks_info("rules reloaded");
	return 0;
}

/* `kansoku rules [list]` and `kansoku rules reload`. */
static void cmd_rules(struct ks_daemon *d, struct ks_ctl_client *c, const char *name)
{
	char err[1024];

	if (!d->judge) {
		ks_ctl_reply_error(c, "rules are off in this daemon's config (rules.enabled: false)");
		return;
	}
	if (!strcmp(name, "rules")) {
		ks_ctl_reply_json(c, ks_judge_rules_json(d->judge));
		return;
	}
	if (ks_daemon_reload_rules(d, err, sizeof(err))) {
		ks_err("rules not reloaded, the running rules stay: %s", err);
		ks_ctl_reply_error(c, "rules not reloaded, the running rules stay: %s", err);
		return;
	}
	ks_ctl_reply_json(c, ks_judge_status_json(d->judge));
}

void ks_commands_handle(void *ctx, struct ks_ctl_client *c, struct json_object *req)
{
	struct ks_daemon *d = ctx;
	struct json_object *cmd;
	const char *name;

	if (!json_object_object_get_ex(req, "cmd", &cmd) || !json_object_is_type(cmd, json_type_string)) {
		ks_ctl_reply_error(c, "request has no \"cmd\" string");
		return;
	}
	name = json_object_get_string(cmd);
	if (!strcmp(name, "status"))
		ks_ctl_reply_json(c, ks_status_json(d));
	else if (!strcmp(name, "ps"))
		cmd_ps(d, c);
	else if (!strcmp(name, "events"))
		cmd_events(d, c, req);
	else if (!strcmp(name, "conns"))
		cmd_sockets(d, c, false);
	else if (!strcmp(name, "ports"))
		cmd_sockets(d, c, true);
	else if (!strcmp(name, "rules") || !strcmp(name, "rules-reload"))
		cmd_rules(d, c, name);
	else if (!strcmp(name, "posture") || !strcmp(name, "findings") || !strcmp(name, "snapshot") ||
	         !strcmp(name, "inventory"))
		cmd_posture(d, c, name, req);
	else
		ks_ctl_reply_error(c,
		                   "unknown command '%.64s' (status, ps, events, conns, ports, posture, findings, "
		                   "snapshot, inventory, rules, rules-reload)",
		                   name);
}
