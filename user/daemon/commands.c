// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Answers to control-socket requests: status, ps, events. They read the daemon's live state only. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/time.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "host/host.h"
#include "model/netmodel.h"
#include "posture/env.h"
#include "outputs/outputs.h"
#include "model/proctable.h"
#include "daemon/recent.h"
#include "detect/judge.h"
#include "pipeline/ocsf.h"
#include "lib/log.h"
#include "sensors/rings.h"
#include "host/users.h"

static struct json_object *ju64(uint64_t v)
{
	return json_object_new_uint64(v);
}

/* The daemon, its version and the host it runs on. */
static void status_identity(struct ks_daemon *d, struct json_object *st)
{
	struct json_object *dev = json_object_new_object();

	json_object_object_add(st, "version", json_object_new_string(KS_VERSION));
	json_object_object_add(st, "pid", json_object_new_int(getpid()));
	json_object_object_add(st, "config", json_object_new_string(d->cfg.source));
	json_object_object_add(st, "uptime_s", ju64((ks_boot_ns_now() - d->started_boot_ns) / NSEC_PER_SEC));
	json_object_object_add(st, "started_time", json_object_new_int64(d->started_wall_ms));
	json_object_object_add(st, "kernel", json_object_new_string(d->pl.host.kernel_release));
	if (d->judge)
		json_object_object_add(st, "rules", ks_judge_status_json(d->judge));
	json_object_object_add(dev, "uid", json_object_new_string(d->pl.host.machine_id));
	json_object_object_add(dev, "machine_id_source", json_object_new_string(d->pl.host.machine_id_source));
	json_object_object_add(dev, "hostname", json_object_new_string(d->pl.host.hostname));
	json_object_object_add(st, "device", dev);
}

/* The BPF programs attached, and where. */
static void status_hooks(struct ks_daemon *d, struct json_object *st)
{
	struct json_object *hooks = json_object_new_array();
	size_t i;

	json_object_object_add(st, "hook_flavour", json_object_new_string(d->loader.flavour ? d->loader.flavour : ""));
	for (i = 0; i < (size_t)d->loader.n_hooks; i++) {
		struct json_object *h = json_object_new_object();

		json_object_object_add(h, "program", json_object_new_string(d->loader.hooks[i].program));
		json_object_object_add(h, "attach", json_object_new_string(d->loader.hooks[i].attach));
		json_object_array_add(hooks, h);
	}
	json_object_object_add(st, "hooks", hooks);
}

/* Events received and dropped per kind, what the pipeline emitted and refused. */
static void status_events(struct ks_daemon *d, struct json_object *st)
{
	struct json_object *ev = json_object_new_object();
	uint64_t drops[KS_EV_KIND_MAX], total_drops = 0;
	size_t i;

	ks_loader_drops(&d->loader, drops);
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
}

static struct json_object *status_files(struct ks_daemon *d)
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
	return fo;
}

/* The "network" section, and the top-level count of records held for their process (its place in st). */
static void status_network(struct ks_daemon *d, struct json_object *st)
{
	struct json_object *no = json_object_new_object();

	json_object_object_add(no, "enabled", json_object_new_boolean(d->loader.net));
	if (d->loader.net_error[0])
		json_object_object_add(no, "error", json_object_new_string(d->loader.net_error));
	json_object_object_add(no, "hooks_missing", ju64((uint64_t)d->loader.net_missing));
	json_object_object_add(no, "connections", ju64(ks_netmodel_count(d->pl.net, false)));
	json_object_object_add(no, "listening", ju64(ks_netmodel_count(d->pl.net, true)));
	json_object_object_add(no, "events", ju64(d->pl.counters.net_events));
	json_object_object_add(no, "dns_queries", ju64(d->pl.counters.net_dns));
	json_object_object_add(no, "model_full", ju64(d->pl.counters.net_model_full));
	json_object_object_add(no, "own_output_records", ju64(d->pl.counters.net_self));
	/* ended because the kernel no longer had them: their Close record was lost */
	json_object_object_add(no, "closes_not_observed", ju64(d->pl.counters.net_reconciled));
	/* network.short_lived_ms: connections reported by their Close alone; Opens written early for a finding */
	json_object_object_add(no, "short_lived_folded", ju64(d->pl.counters.net_folded));
	json_object_object_add(no, "opens_written_for_findings", ju64(d->pl.counters.net_open_for_finding));
	json_object_object_add(st, "records_held_for_their_process", ju64(ks_rings_held(d->rings)));
	json_object_object_add(st, "ring_records_wrapped", ju64(ks_rings_wrapped(d->rings)));
	/* an upper bound: the least of the counts of the programs of the chain (sensors/loader.c) */
	json_object_object_add(no, "transitions_possibly_missed", ju64(ks_loader_net_missed(&d->loader)));
	json_object_object_add(st, "network", no);
}

static struct json_object *status_security(struct ks_daemon *d)
{
	struct json_object *so = json_object_new_object(), *sensors = json_object_new_object();
	int k;

	json_object_object_add(so, "enabled", json_object_new_boolean(d->loader.sec));
	if (d->loader.sec_error[0])
		json_object_object_add(so, "error", json_object_new_string(d->loader.sec_error));
	for (k = 0; k < KS_SEC_SENSORS; k++) {
		const struct ks_sec_state *ss = &d->loader.sec_state[k];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "enabled", json_object_new_boolean(d->loader.sec && ss->attached > 0));
		json_object_object_add(o, "hooks", ju64((uint64_t)ss->attached));
		json_object_object_add(o, "hooks_missing", ju64((uint64_t)ss->missing));
		if (ss->error[0])
			json_object_object_add(o, "reason", json_object_new_string(ss->error));
		json_object_object_add(sensors, ks_sec_sensor_name((enum ks_sec_sensor)k), o);
	}
	json_object_object_add(so, "sensors", sensors);
	json_object_object_add(so, "events", ju64(d->pl.counters.sec_events));
	return so;
}

static struct json_object *status_output(const struct ks_output_stats *os)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string(os->kind));
	if (os->name[0])
		json_object_object_add(o, "name", json_object_new_string(os->name));
	json_object_object_add(o, "target", json_object_new_string(os->target));
	json_object_object_add(o, "healthy", json_object_new_boolean(os->healthy));
	json_object_object_add(o, "events", ju64(os->events));
	json_object_object_add(o, "bytes", ju64(os->bytes));
	json_object_object_add(o, "lost", ju64(os->lost));
	json_object_object_add(o, "rotations", ju64(os->rotations));
	if (strcmp(os->kind, "file")) { /* network outputs: the durable queue and the receiver */
		json_object_object_add(o, "queued", ju64(os->queued));
		json_object_object_add(o, "queue_bytes", ju64(os->queue_bytes));
		json_object_object_add(o, "set_aside", ju64(os->set_aside));
		json_object_object_add(o, "retries", ju64(os->retries));
		if (os->refusal[0])
			json_object_object_add(o, "last_refusal", json_object_new_string(os->refusal));
	}
	if (os->error[0])
		json_object_object_add(o, "error", json_object_new_string(os->error));
	else if (os->last_errno)
		json_object_object_add(o, "error", json_object_new_string(strerror(os->last_errno)));
	return o;
}

static struct json_object *status_outputs(struct ks_daemon *d)
{
	struct ks_output_stats os[KS_MAX_OUTPUTS];
	struct json_object *outs = json_object_new_array();
	size_t i, n = ks_outputs_stats(d->outs, os, KS_MAX_OUTPUTS);

	for (i = 0; i < n && i < KS_MAX_OUTPUTS; i++)
		json_object_array_add(outs, status_output(&os[i]));
	return outs;
}

/* `kansoku status`: the keys in this order (the CLI and the tests read them). */
struct json_object *ks_status_json(struct ks_daemon *d)
{
	struct json_object *st = json_object_new_object();

	status_identity(d, st);
	status_hooks(d, st);
	status_events(d, st);
	json_object_object_add(st, "files", status_files(d));
	status_network(d, st);
	json_object_object_add(st, "security", status_security(d));
	json_object_object_add(st, "outputs", status_outputs(d));
	if (d->posture)
		json_object_object_add(st, "posture", ks_posture_status_json(d->posture));
	json_object_object_add(st, "loop_nice", json_object_new_int(d->loop_nice));
	json_object_object_add(st, "control_clients", ju64(ks_control_clients(d->ctl)));
	json_object_object_add(st, "follower_drops", ju64(ks_control_follower_drops(d->ctl)));
	return st;
}

/* Rows are written with the events' own JSON writer: strings from processes may hold any bytes, and it
 * escapes them to valid UTF-8 the same way; json-c (with a parse per string) cost ~50 us per row. */
static void proc_row(struct ks_daemon *d, struct ks_jw *w, const struct ks_proc *p)
{
	const char *user = ks_users_name(d->pl.users, p->creds.uid);
	size_t pos = 0, len;
	const char *arg;

	ks_jw_obj_begin(w);
	ks_jw_ki64(w, "pid", p->pid);
	ks_jw_ki64(w, "ppid", p->ppid);
	ks_jw_ki64(w, "uid", p->creds.uid);
	if (user)
		ks_jw_kcstr(w, "user", user);
	if (p->creds.loginuid != KS_NO_ID)
		ks_jw_ki64(w, "loginuid", p->creds.loginuid);
	ks_jw_kcstr(w, "id", p->id);
	ks_jw_kcstr(w, "exe", p->exe ? p->exe : "");
	ks_jw_kstr(w, "comm", p->comm, strnlen(p->comm, sizeof(p->comm)));
	ks_jw_key(w, "args");
	ks_jw_arr_begin(w);
	while ((arg = ks_proc_arg_next(p, &pos, &len)))
		ks_jw_str(w, arg, len);
	ks_jw_arr_end(w);
	ks_jw_ki64(w, "start_time", ks_host_wall_ms(&d->pl.host, p->start_ns));
	if (p->tty[0])
		ks_jw_kstr(w, "tty", p->tty, strnlen(p->tty, sizeof(p->tty)));
	if (p->cgroup) /* `policy learn --unit` maps processes to units */
		ks_jw_kcstr(w, "cgroup", p->cgroup);
	ks_jw_kbool(w, "seeded", p->seeded);
	if (p->flags & KS_F_KTHREAD) /* seeded without an mm, or forked by one (kthreadd's children) */
		ks_jw_kbool(w, "kernel_thread", true);
	ks_jw_obj_end(w);
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

static void conn_row(struct ks_daemon *d, struct ks_jw *w, const struct ks_conn *c, const struct bytes_table *bt)
{
	struct ks_proc *p = ks_proc_lookup(d->pl.procs, c->pid);
	const char *user = ks_users_name(d->pl.users, c->uid);
	char addr[64];

	if (p && c->start_ns && p->start_ns != c->start_ns)
		p = NULL;
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "protocol", ks_net_proto_name(c->proto));
	ks_jw_ki64(w, "family", c->family == 6 ? 6 : 4);
	ks_net_addr_str(c->family, c->saddr, addr, sizeof(addr));
	ks_jw_kcstr(w, "local_address", addr);
	ks_jw_ki64(w, "local_port", c->sport);
	if (!c->listening) {
		ks_net_addr_str(c->family, c->daddr, addr, sizeof(addr));
		ks_jw_kcstr(w, "remote_address", addr);
		ks_jw_ki64(w, "remote_port", c->dport);
		ks_jw_kcstr(w, "direction",
		            c->direction == KS_DIR_IN    ? "inbound"
		            : c->direction == KS_DIR_OUT ? "outbound"
		                                         : "unknown");
		if (bt && bt->n) {
			struct ks_conn_bytes k = {.sock_id = c->sock_id}, *b;

			b = bsearch(&k, bt->v, bt->n, sizeof(k), by_sock_id);
			if (b) {
				ks_jw_ku64(w, "bytes_in", b->bytes_in);
				ks_jw_ku64(w, "bytes_out", b->bytes_out);
			}
		}
	}
	ks_jw_ki64(w, "pid", c->pid);
	if (p) {
		ks_jw_kcstr(w, "process_id", p->id);
		ks_jw_kcstr(w, "exe", p->exe ? p->exe : "");
		ks_jw_kstr(w, "comm", p->comm, strnlen(p->comm, sizeof(p->comm)));
	}
	ks_jw_ki64(w, "uid", c->uid);
	if (user)
		ks_jw_kcstr(w, "user", user);
	if (c->lpid)
		ks_jw_ki64(w, "listener_pid", c->lpid);
	ks_jw_ki64(w, "net_ns", c->netns);
	if (c->since_ns) {
		ks_jw_ki64(w, "since", ks_host_wall_ms(&d->pl.host, c->since_ns));
		ks_jw_ku64(w, "age_s", (ks_boot_ns_now() - c->since_ns) / NSEC_PER_SEC);
	}
	ks_jw_kbool(w, "before_kansokud", c->seeded);
	ks_jw_obj_end(w);
}

/*
 * Tables (ps, conns, ports) are streamed: the keys of the rows are taken when the request comes, and each
 * row is encoded from the live entry when the reader is ready for it (a row whose entry went meanwhile is
 * left out). The reply is a head line {"ok":true,"stream":"NAME"}, one JSON object per line, and an end
 * line {"end":true,"count":N}: a reader that sees no end line knows the reply was cut.
 */
enum table_kind { TABLE_PROCESSES, TABLE_CONNECTIONS, TABLE_PORTS };

#define TABLE_ROWS_PER_TURN 64

struct row_key {
	uint64_t id;       /* pid, or socket id */
	uint64_t start_ns; /* the process's start: a reused pid is another process */
};

struct table_stream {
	struct ks_daemon *d;
	enum table_kind kind;
	struct row_key *keys;
	size_t n, next, sent;
	bool unowned_done; /* ports: the listeners no visible process holds, after the model's rows */
	struct bytes_table bt;
	struct ks_jw w; /* one row at a time */
};

static const char *const table_names[] = {
    [TABLE_PROCESSES] = "processes", [TABLE_CONNECTIONS] = "connections", [TABLE_PORTS] = "ports"};

static void table_free(void *ctx)
{
	struct table_stream *t = ctx;

	free(t->keys);
	free(t->bt.v);
	ks_jw_free(&t->w);
	free(t);
}

/* Writes the row of key k as it is now into t->w; false if its entry is gone. */
static bool table_row(struct table_stream *t, const struct row_key *k)
{
	struct ks_daemon *d = t->d;

	ks_jw_reset(&t->w);
	if (t->kind == TABLE_PROCESSES) {
		struct ks_proc *p = ks_proc_lookup(d->pl.procs, (uint32_t)k->id);

		if (!p || p->start_ns != k->start_ns || p->exited_ns)
			return false;
		proc_row(d, &t->w, p);
	} else {
		struct ks_conn *c = d->pl.net ? ks_netmodel_get(d->pl.net, k->id) : NULL;

		if (!c || c->listening != (t->kind == TABLE_PORTS))
			return false;
		conn_row(d, &t->w, c, &t->bt);
	}
	return !t->w.oom;
}

/* A listener the model has (same protocol, address and port)? */
static bool in_model(struct ks_conn **all, size_t n, const struct ks_listener *l)
{
	char addr[64];

	for (size_t i = 0; i < n; i++) {
		ks_net_addr_str(all[i]->family, all[i]->saddr, addr, sizeof(addr));
		if (all[i]->sport == l->port && !strcmp(ks_net_proto_name(all[i]->proto), l->proto) &&
		    !strcmp(addr, l->addr))
			return true;
	}
	return false;
}

/* Listeners the kernel lists that the model lacks: held by no process kansokud can see (another PID
 * namespace, a kernel socket, a descriptor passed away), so no task iterator found them. Sent with the
 * owner unknown, as ss shows them. Returns how many rows went. */
static size_t send_unowned_listeners(struct ks_daemon *d, struct ks_ctl_client *c, struct ks_jw *w)
{
	struct ks_posture_cfg pc;
	struct ks_posture_env *e;
	const struct ks_listener *l;
	struct ks_conn **all;
	size_t nl = 0, n = 0, sent = 0;
	char err[256];

	ks_posture_cfg_defaults(&pc);
	snprintf(pc.root, sizeof(pc.root), "/");
	e = ks_posture_env_new(&pc, err, sizeof(err));
	if (!e)
		return 0;
	all = ks_netmodel_snapshot(d->pl.net, true, &n);
	l = ks_facts_listeners(e, &nl);
	for (size_t i = 0; all && l && i < nl; i++) {
		if (in_model(all, n, &l[i]))
			continue;
		ks_jw_reset(w);
		ks_jw_obj_begin(w);
		ks_jw_kcstr(w, "protocol", l[i].proto);
		ks_jw_ku64(w, "family", strchr(l[i].addr, ':') ? 6 : 4);
		ks_jw_kcstr(w, "local_address", l[i].addr);
		ks_jw_ku64(w, "local_port", l[i].port);
		ks_jw_ku64(w, "pid", 0);
		ks_jw_kbool(w, "owner_unknown", true);
		ks_jw_obj_end(w);
		if (!w->oom) {
			ks_ctl_reply_raw(c, w->buf, w->len);
			sent++;
		}
	}
	free(all);
	ks_posture_env_free(e);
	return sent;
}

static bool table_next(void *ctx, struct ks_ctl_client *c)
{
	struct table_stream *t = ctx;
	unsigned rows = 0, visited = 0;
	char end[64];

	/* rows of entries that went meanwhile cost a lookup each: bounded too */
	while (t->next < t->n && rows < TABLE_ROWS_PER_TURN && visited++ < 64 * TABLE_ROWS_PER_TURN) {
		if (table_row(t, &t->keys[t->next++])) {
			ks_ctl_reply_raw(c, t->w.buf, t->w.len);
			t->sent++;
			rows++;
		}
	}
	if (t->next < t->n)
		return true;
	if (t->kind == TABLE_PORTS && !t->unowned_done) {
		t->unowned_done = true;
		t->sent += send_unowned_listeners(t->d, c, &t->w);
		return true;
	}
	snprintf(end, sizeof(end), "{\"end\":true,\"count\":%zu}", t->sent);
	ks_ctl_reply_raw(c, end, strlen(end));
	return false;
}

/* The keys of the rows, in the order shown (processes by pid, sockets by port). */
static int table_keys(struct table_stream *t)
{
	struct ks_daemon *d = t->d;
	size_t i;

	if (t->kind == TABLE_PROCESSES) {
		struct ks_proc **all = ks_proctable_snapshot(d->pl.procs, &t->n);

		t->keys = malloc((t->n ? t->n : 1) * sizeof(*t->keys));
		for (i = 0; t->keys && i < t->n; i++)
			t->keys[i] = (struct row_key){all[i]->pid, all[i]->start_ns};
		free(all);
		return all && t->keys ? 0 : -1;
	} else {
		struct ks_conn **all = ks_netmodel_snapshot(d->pl.net, t->kind == TABLE_PORTS, &t->n);

		t->keys = malloc((t->n ? t->n : 1) * sizeof(*t->keys));
		for (i = 0; t->keys && i < t->n; i++)
			t->keys[i] = (struct row_key){all[i]->sock_id, 0};
		free(all);
		return all && t->keys ? 0 : -1;
	}
}

static void cmd_table(struct ks_daemon *d, struct ks_ctl_client *c, enum table_kind kind)
{
	struct table_stream *t;
	char head[64];

	if (kind != TABLE_PROCESSES && !d->pl.net) {
		ks_ctl_reply_error(c, "network observation is off%s%s", d->loader.net_error[0] ? ": " : "",
		                   d->loader.net_error);
		return;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		ks_ctl_reply_error(c, "out of memory");
		return;
	}
	t->d = d;
	t->kind = kind;
	ks_jw_init(&t->w);
	if (table_keys(t)) {
		table_free(t);
		ks_ctl_reply_error(c, "out of memory listing %s", table_names[kind]);
		return;
	}
	if (kind == TABLE_CONNECTIONS) { /* live byte counts: read from the kernel now */
		t->bt.v = ks_loader_conn_bytes(&d->loader, &t->bt.n);
		if (t->bt.n)
			qsort(t->bt.v, t->bt.n, sizeof(*t->bt.v), by_sock_id);
	}
	snprintf(head, sizeof(head), "{\"ok\":true,\"stream\":\"%s\"}", table_names[kind]);
	ks_ctl_reply_raw(c, head, strlen(head));
	ks_ctl_stream(c, table_next, table_free, t);
}

/* events: the recent ring from a cursor (events added while it streams are in it too), then, with
 * follow, the live feed. */
struct events_stream {
	struct ks_daemon *d;
	struct ks_recent *ring; /* findings have a ring of their own: a busy host must not push them out */
	uint64_t seq;
	int class_uid;
	bool follow;
};

#define EVENTS_PER_TURN 256

static bool events_next(void *ctx, struct ks_ctl_client *c)
{
	struct events_stream *s = ctx;
	unsigned i;

	if (s->seq < ks_recent_first(s->ring)) /* replaced while the reader was slow */
		s->seq = ks_recent_first(s->ring);
	for (i = 0; i < EVENTS_PER_TURN && s->seq < ks_recent_end(s->ring); i++, s->seq++) {
		int cls;
		size_t len;
		const char *line = ks_recent_get(s->ring, s->seq, &cls, &len);

		if (line && (!s->class_uid || cls == s->class_uid))
			ks_ctl_reply_raw(c, line, len);
	}
	if (s->seq < ks_recent_end(s->ring))
		return true;
	if (s->follow) /* from here on, new events are sent as they are made */
		ks_ctl_follow(c, s->class_uid);
	return false;
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
	struct events_stream *s;
	struct ks_recent *ring;
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
	s = calloc(1, sizeof(*s));
	if (!s) {
		ks_ctl_reply_error(c, "out of memory");
		return;
	}
	ring = cls == KS_OCSF_DETECTION_FINDING ? d->alerts : d->recent;
	*s = (struct events_stream){d, ring, ks_recent_first(ring), cls, follow};
	ks_ctl_reply_raw(c, head, sizeof(head) - 1);
	ks_ctl_stream(c, events_next, free, s);
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

/* snapshot --fresh: evaluated on the posture thread; the client is answered when it is done. */
static void fresh_snapshot(struct ks_daemon *d, struct ks_ctl_client *c)
{
	if (d->n_snapshot_waiters == (int)(sizeof(d->snapshot_waiters) / sizeof(d->snapshot_waiters[0]))) {
		ks_ctl_reply_error(c, "snapshot: %d clients already wait for a fresh snapshot; try again shortly",
		                   d->n_snapshot_waiters);
		return;
	}
	d->snapshot_waiters[d->n_snapshot_waiters++] = ks_ctl_hold(c);
	ks_posture_request_snapshot(d->posture);
}

void ks_commands_snapshot_done(void *ctx)
{
	struct ks_daemon *d = ctx;

	for (int i = 0; i < d->n_snapshot_waiters; i++) {
		struct ks_ctl_client *c = ks_ctl_held(d->ctl, d->snapshot_waiters[i]);

		if (!c)
			continue; /* gave up waiting */
		ks_ctl_reply_json(c, ks_posture_snapshot_json(d->posture));
		ks_ctl_release(c);
	}
	d->n_snapshot_waiters = 0;
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
		struct json_object *sum = ks_posture_summary_json(d->posture, now_ms(d));

		/* the detection rules' open findings score into the same CRSA areas, with the same aging */
		if (d->judge && sum)
			json_object_object_add(sum, "detections",
			                       ks_judge_scores_json(d->judge, &d->cfg.posture, ks_boot_ns_now()));
		ks_ctl_reply_json(c, sum);
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
		if (json_object_object_get_ex(req, "fresh", &v) && json_object_get_boolean(v)) {
			fresh_snapshot(d, c);
			return;
		}
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
		cmd_table(d, c, TABLE_PROCESSES);
	else if (!strcmp(name, "events"))
		cmd_events(d, c, req);
	else if (!strcmp(name, "conns"))
		cmd_table(d, c, TABLE_CONNECTIONS);
	else if (!strcmp(name, "ports"))
		cmd_table(d, c, TABLE_PORTS);
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
