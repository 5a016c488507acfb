// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/time.h"
#include "lib/hash.h"
#include "lib/json.h"
#include "model/netmodel.h"
#include "sensors/net.h"
#include "pipeline/ocsf.h"
#include "model/proctable.h"

/* status_code: the errno, as a string (OCSF: the source's code as it reports it). */
static void status_code(struct ks_jw *w, int err)
{
	char code[12];

	snprintf(code, sizeof(code), "%d", err);
	ks_jw_kcstr(w, "status_code", code);
}

/* The model's entry for the record's socket (made if absent); a full model is counted. */
static struct ks_conn *upsert(struct ks_pipeline *pl, const struct ks_net *e, bool *created)
{
	struct ks_conn *c = ks_netmodel_upsert(pl->net, e, created);

	if (!c)
		pl->counters.net_model_full++;
	return c;
}

static void end_ghost(struct ks_pipeline *pl, struct ks_conn *c, uint64_t ts_ns);

/* The entry and the record name the same connection (a repeated record), not a reused socket address. */
static bool same_tuple(const struct ks_conn *c, const struct ks_net *e)
{
	return c->netns == e->netns && c->sport == e->sport && c->dport == e->dport &&
	       !memcmp(c->saddr, e->saddr, 16) && !memcmp(c->daddr, e->daddr, 16);
}

static const char *errno_name(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "UNKNOWN";
}

/* The endpoint object {ip, port} under key; its ip is an observable (obs: "KEY.ip"). */
static void endpoint(struct ks_pipeline *pl, const char *key, const char *obs, uint8_t family, const uint8_t *addr,
                     uint16_t port)
{
	struct ks_jw *w = &pl->jw;
	char ip[INET6_ADDRSTRLEN];

	ks_net_addr_str(family, addr, ip, sizeof(ip));
	ks_jw_key(w, key);
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "ip", ip);
	ks_jw_ku64(w, "port", port);
	ks_jw_obj_end(w);
	ks_ocsf_observe(pl, obs, KS_OCSF_OBS_IP, ip);
}

/* connection_info.uid: the socket id is the kernel's socket address (keyed), which a later socket can
 * reuse; with the time its connection began it is unique across time, the same for all its events. */
static void connection_uid(char out[17], const struct ks_conn *v)
{
	ks_fmt_hex64(out, ks_mix64(v->sock_id ^ ks_mix64(v->born_ns)));
}

static struct ks_proc *owner_proc(struct ks_pipeline *pl, uint32_t pid, uint64_t start_ns)
{
	struct ks_proc *p = pid ? ks_proc_lookup(pl->procs, pid) : NULL;

	/* start 0: the record did not say (a seed without a start); then the live process of that pid */
	if (p && start_ns && p->start_ns != start_ns)
		p = NULL;
	return p;
}

/* A record seen as a model entry (not kept): what events are encoded from when the model has no entry. */
static void conn_of_rec(struct ks_conn *v, const struct ks_net *e)
{
	memset(v, 0, sizeof(*v));
	v->sock_id = e->sock_id;
	v->since_ns = e->since_ns;
	v->born_ns = ks_netmodel_born(e);
	v->pid = e->hdr.pid;
	v->uid = e->uid;
	v->loginuid = e->loginuid;
	v->lpid = e->lpid;
	v->netns = e->netns;
	v->start_ns = e->start_ns;
	v->lstart_ns = e->lstart_ns;
	v->sport = e->sport;
	v->dport = e->dport;
	v->proto = e->proto;
	v->family = e->family;
	v->direction = e->direction;
	memcpy(v->saddr, e->saddr, 16);
	memcpy(v->daddr, e->daddr, 16);
}

/* The event as the evaluators see it: the same endpoints and subject as the encoded one. */
static void decoded(struct ks_pipeline *pl, const struct ks_ocsf_class *cls, int act, const char *act_name, int sev,
                    uint64_t ts_ns, const struct ks_conn *v, bool listener)
{
	struct ks_decoded *d = ks_pipeline_decoded(pl, cls->class_uid, act, act_name, ts_ns);
	bool in = v->direction == KS_DIR_IN;

	d->severity_id = sev;
	d->proc = owner_proc(pl, v->pid, v->start_ns);
	d->pid = v->pid;
	d->start_ns = v->start_ns;
	d->uid = v->uid;
	d->loginuid = v->loginuid;
	d->family = v->family;
	d->proto = v->proto;
	if (listener) {
		d->dst_addr = v->saddr;
		d->dst_port = v->sport;
		return;
	}
	d->src_addr = in ? v->daddr : v->saddr;
	d->src_port = in ? v->dport : v->sport;
	d->dst_addr = in ? v->saddr : v->daddr;
	d->dst_port = in ? v->sport : v->dport;
	if (v->direction)
		d->direction_id = in ? KS_OCSF_DIR_INBOUND : KS_OCSF_DIR_OUTBOUND;
}

/* Class envelope, endpoints (initiator = src), connection_info and actor; the caller adds the rest and
 * closes the object. */
static void begin(struct ks_pipeline *pl, const struct ks_ocsf_class *cls, int act, const char *act_name, int sev,
                  uint64_t ts_ns, const struct ks_conn *v, bool listener)
{
	struct ks_jw *w = &pl->jw;
	struct ks_proc *owner = owner_proc(pl, v->pid, v->start_ns);
	/* a listener waits for inbound connections: that is its direction */
	bool in = listener || v->direction == KS_DIR_IN;
	char id[20], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], comm[KS_COMM_LEN + 1];
	const char *who = owner ? ks_ocsf_proc_name(owner, comm) : "process";

	decoded(pl, cls, act, act_name, sev, ts_ns, v, listener);
	ks_ocsf_begin(pl, cls, act, act_name, sev, ks_host_wall_ms(&pl->host, ts_ns));
	ks_net_addr_str(v->family, in && !listener ? v->daddr : v->saddr, src, sizeof(src));
	ks_net_addr_str(v->family, in && !listener ? v->saddr : v->daddr, dst, sizeof(dst));
	if (listener)
		ks_ocsf_message(pl, "%s %s %s port %u by %s (pid %u)", act_name, ks_net_proto_name(v->proto), src,
		                v->sport, who, v->pid);
	else
		ks_ocsf_message(pl, "%s %s %s:%u -> %s:%u by %s (pid %u)", act_name, ks_net_proto_name(v->proto), src,
		                in ? v->dport : v->sport, dst, in ? v->sport : v->dport, who, v->pid);
	if (listener) {
		endpoint(pl, "dst_endpoint", "dst_endpoint.ip", v->family, v->saddr, v->sport);
	} else {
		endpoint(pl, "src_endpoint", "src_endpoint.ip", v->family, in ? v->daddr : v->saddr,
		         in ? v->dport : v->sport);
		endpoint(pl, "dst_endpoint", "dst_endpoint.ip", v->family, in ? v->saddr : v->daddr,
		         in ? v->sport : v->dport);
	}
	ks_jw_key(w, "connection_info");
	ks_jw_obj_begin(w);
	connection_uid(id, v);
	ks_jw_kcstr(w, "uid", id);
	ks_jw_kcstr(w, "protocol_name", ks_net_proto_name(v->proto));
	ks_jw_ku64(w, "protocol_num", v->proto);
	ks_jw_ku64(w, "protocol_ver_id", v->family == 6 ? 6 : 4);
	if (listener || v->direction) {
		ks_jw_ku64(w, "direction_id", in ? KS_OCSF_DIR_INBOUND : KS_OCSF_DIR_OUTBOUND);
		ks_jw_kcstr(w, "direction", in ? "Inbound" : "Outbound");
	} else {
		ks_jw_ku64(w, "direction_id", KS_OCSF_DIR_UNKNOWN); /* required: a socket seen only at its close */
		ks_jw_kcstr(w, "direction", "Unknown");
	}
	ks_jw_obj_end(w);
	ks_ocsf_actor(pl, owner, v->pid, v->start_ns, v->uid, v->loginuid);
	if (v->since_ns)
		ks_jw_ki64(w, "start_time", ks_host_wall_ms(&pl->host, v->since_ns));
}

/* unmapped: what OCSF has no field for (namespace, the listener's owner for inbound connections). */
static void unmapped_begin(struct ks_pipeline *pl, const struct ks_conn *v)
{
	struct ks_jw *w = &pl->jw;

	ks_jw_key(w, "unmapped");
	ks_jw_obj_begin(w);
	if (v->netns)
		ks_jw_ku64(w, "net_ns", v->netns);
	if (v->lpid) {
		struct ks_proc *lp = owner_proc(pl, v->lpid, v->lstart_ns);

		if (lp) {
			ks_ocsf_process(pl, "listener_process", lp, false);
		} else {
			char pid_id[KS_PROC_ID_LEN];

			ks_jw_key(w, "listener_process");
			ks_jw_obj_begin(w);
			ks_jw_ku64(w, "pid", v->lpid);
			ks_proc_make_id(pl->host.boot_id, v->lpid, v->lstart_ns, pid_id);
			ks_jw_kcstr(w, "uid", pid_id);
			ks_jw_obj_end(w);
		}
	}
}

/* Closes the event and emits it; judged: the rules saw it when it was held, so it is only written. */
static void finish_as(struct ks_pipeline *pl, int class_uid, bool judged)
{
	ks_jw_obj_end(&pl->jw); /* unmapped */
	ks_ocsf_end(pl);        /* observables, event */
	pl->counters.net_events++;
	if (judged)
		ks_pipeline_write(pl, class_uid);
	else
		ks_pipeline_emit(pl, class_uid);
}

static void finish(struct ks_pipeline *pl, int class_uid)
{
	finish_as(pl, class_uid, false);
}

/* What an Open says beyond the connection: for an inbound one whether accept() took it, for an outbound
 * one how long the handshake took (connect_us, 0: unknown). A folded Close says the same. */
static void open_details(struct ks_pipeline *pl, const struct ks_conn *c, bool accepted, uint64_t connect_us)
{
	if (c->direction == KS_DIR_IN)
		ks_jw_kbool(&pl->jw, "accepted", accepted);
	if (connect_us)
		ks_jw_ku64(&pl->jw, "connect_us", connect_us);
}

static void emit_open(struct ks_pipeline *pl, const struct ks_conn *c, uint64_t ts_ns, bool accepted,
                      uint64_t connect_us, bool judged)
{
	begin(pl, &ks_ocsf_network_activity, KS_OCSF_NET_OPEN, "Open", KS_OCSF_SEV_INFO, ts_ns, c, false);
	unmapped_begin(pl, c);
	open_details(pl, c, accepted, connect_us);
	finish_as(pl, KS_OCSF_NETWORK_ACTIVITY, judged);
}

/* How long a held Open waits: for accept() (inbound) and for a close that folds it (short_lived_ns). */
static uint64_t hold_ns(const struct ks_netmodel *n, const struct ks_conn *c)
{
	uint64_t w = n->short_lived_ns;

	if (c->direction == KS_DIR_IN && n->accept_wait_ns > w)
		w = n->accept_wait_ns;
	return w;
}

/* The held Open of c goes out now (its wait ended, or something must follow it); judged now unless it was
 * when held. */
static void release_open(struct ks_pipeline *pl, struct ks_conn *c)
{
	uint64_t ts = c->since_ns;
	bool judged = c->open_judged;

	ks_netmodel_release(pl->net, c);
	c->open_judged = false;
	emit_open(pl, c, ts, c->accepted, c->connect_us, judged);
}

/* ks_pipeline_judge's write: a finding needs the held Open as evidence, so the Open goes out now (in
 * sequence, before the finding), and the connection's Close will not fold it. */
static void write_held_open(struct ks_pipeline *pl, void *ctx)
{
	release_open(pl, ctx);
}

/*
 * Judges c's held Open at once, when it would have been written without folding (outbound: established;
 * inbound: once accept() names the acceptor, else at its release or right before its Close), so a rule on
 * an Open fires in time even for a connection whose Close will stand for it. Once: its release only
 * writes it, and its folded Close is judged as the Close it is.
 */
static void judge_held_open(struct ks_pipeline *pl, struct ks_conn *c)
{
	if (!c->pending_ns || c->open_judged)
		return;
	c->open_judged = true;
	decoded(pl, &ks_ocsf_network_activity, KS_OCSF_NET_OPEN, "Open", KS_OCSF_SEV_INFO, c->since_ns, c, false);
	if (ks_pipeline_judge(pl, write_held_open, c))
		pl->counters.net_open_for_finding++;
}

static void on_established(struct ks_pipeline *pl, const struct ks_net *e)
{
	struct ks_netmodel *n = pl->net;
	struct ks_conn *c = ks_netmodel_get(n, e->sock_id);
	bool created;

	if (c && e->direction == KS_DIR_IN && e->proto == IPPROTO_TCP && !same_tuple(c, e)) /* a new child socket */
		end_ghost(pl, c, e->hdr.ts_ns);
	else if (c && c->pending_ns) /* the id was reused before the old connection's close arrived */
		release_open(pl, c);
	c = upsert(pl, e, &created);
	if (!c) { /* not kept: still reported */
		struct ks_conn v;

		conn_of_rec(&v, e);
		begin(pl, &ks_ocsf_network_activity, KS_OCSF_NET_OPEN, "Open", KS_OCSF_SEV_INFO, e->hdr.ts_ns, &v,
		      false);
		unmapped_begin(pl, &v);
		finish(pl, KS_OCSF_NETWORK_ACTIVITY);
		return;
	}
	c->since_ns = e->hdr.ts_ns;
	c->accepted = false;
	/* since_ns of an outbound record is its connect() time */
	c->connect_us = e->direction == KS_DIR_OUT && e->since_ns && e->since_ns <= e->hdr.ts_ns
	                    ? (uint32_t)((e->hdr.ts_ns - e->since_ns) / 1000)
	                    : 0;
	if (hold_ns(n, c)) {
		c->open_judged = false;
		ks_netmodel_hold(n, c, e->hdr.ts_ns);
		if (c->direction != KS_DIR_IN || !n->accept_wait_ns)
			judge_held_open(pl, c);
		return;
	}
	emit_open(pl, c, e->hdr.ts_ns, false, c->connect_us, false);
}

static void on_accept(struct ks_pipeline *pl, const struct ks_net *e)
{
	struct ks_netmodel *n = pl->net;
	struct ks_conn *c;
	bool created;

	c = upsert(pl, e, &created);
	if (!c)
		return;
	if (created)
		c->since_ns = e->since_ns;
	if (!c->pending_ns)
		return;
	c->accepted = true;
	/* named now: judged; with short-lived folding on, it still waits for a close until its window ends */
	judge_held_open(pl, c);
	if (c->pending_ns && !n->short_lived_ns)
		release_open(pl, c);
}

static void on_close(struct ks_pipeline *pl, const struct ks_net *e)
{
	struct ks_netmodel *n = pl->net;
	struct ks_conn *c = ks_netmodel_get(n, e->sock_id);
	struct ks_jw *w = &pl->jw;
	bool reset = (e->nflags & KS_NF_RESET) != 0, folded = false;
	struct ks_conn v;

	if (c) /* a held Open not judged yet (inbound, never accepted): judged before its Close, may write it */
		judge_held_open(pl, c);
	if (c && c->pending_ns) {
		/* closed while its Open was held: within the short-lived window this Close is the only event,
		 * otherwise (held for accept() alone) the Open goes first */
		folded = n->short_lived_ns && e->hdr.ts_ns - c->since_ns <= n->short_lived_ns;
		if (folded) {
			ks_netmodel_release(n, c);
			pl->counters.net_folded++;
		} else {
			release_open(pl, c);
		}
	}
	if (c) /* the model knows the tuple (the kernel clears ports while closing), acceptor and listener */
		v = *c;
	else
		conn_of_rec(&v, e);
	if (!c && (e->nflags & KS_NF_NO_OWNER))
		pl->counters.net_unowned++;
	begin(pl, &ks_ocsf_network_activity, reset ? KS_OCSF_NET_RESET : KS_OCSF_NET_CLOSE, reset ? "Reset" : "Close",
	      KS_OCSF_SEV_INFO, e->hdr.ts_ns, &v, false);
	ks_jw_key(w, "traffic");
	ks_jw_obj_begin(w);
	ks_jw_ku64(w, "bytes_in", e->bytes_in);
	ks_jw_ku64(w, "bytes_out", e->bytes_out);
	ks_jw_ku64(w, "bytes", e->bytes_in + e->bytes_out);
	ks_jw_obj_end(w);
	if (v.since_ns) {
		ks_jw_ki64(w, "end_time", ks_host_wall_ms(&pl->host, e->hdr.ts_ns));
		ks_jw_ku64(w, "duration", (e->hdr.ts_ns - v.since_ns) / NSEC_PER_MSEC);
	}
	if (e->err) {
		ks_jw_kcstr(w, "status_detail", errno_name(e->err));
		status_code(w, e->err);
	}
	unmapped_begin(pl, &v);
	if (!v.since_ns)
		ks_jw_kbool(w, "opened_before_kansokud", true);
	if (folded) { /* no Open was sent: this event carries what it would have said */
		ks_jw_kbool(w, "short_lived", true);
		open_details(pl, &v, v.accepted, v.connect_us);
	}
	finish(pl, KS_OCSF_NETWORK_ACTIVITY);
	if (c)
		ks_netmodel_drop(n, c);
}

static void on_failed(struct ks_pipeline *pl, const struct ks_net *e)
{
	struct ks_jw *w = &pl->jw;
	bool refused = e->err == 111; /* ECONNREFUSED */
	struct ks_conn v;

	conn_of_rec(&v, e);
	begin(pl, &ks_ocsf_network_activity, refused ? KS_OCSF_NET_REFUSE : KS_OCSF_NET_FAIL,
	      refused ? "Refuse" : "Fail", refused ? KS_OCSF_SEV_INFO : KS_OCSF_SEV_LOW, e->hdr.ts_ns, &v, false);
	ks_jw_ku64(w, "status_id", 2);
	ks_jw_kcstr(w, "status", "Failure");
	ks_jw_kcstr(w, "status_detail", e->err ? errno_name(e->err) : "UNKNOWN");
	status_code(w, e->err);
	if (e->since_ns)
		ks_jw_ku64(w, "duration", (e->hdr.ts_ns - e->since_ns) / NSEC_PER_MSEC);
	unmapped_begin(pl, &v);
	finish(pl, KS_OCSF_NETWORK_ACTIVITY);
}

static void on_listen(struct ks_pipeline *pl, const struct ks_net *e, bool start)
{
	struct ks_netmodel *n = pl->net;
	struct ks_conn *c = ks_netmodel_get(n, e->sock_id);
	struct ks_jw *w = &pl->jw;
	bool created;
	struct ks_conn v;

	pl->counters.net_listen_changes++;           /* posture re-checks the listening ports */
	if (start && c && e->proto == IPPROTO_TCP) { /* a new listener where the model still has a socket */
		end_ghost(pl, c, e->hdr.ts_ns);
		c = NULL;
	}
	if (start) {
		c = upsert(pl, e, &created);
		if (c) {
			ks_netmodel_set_listening(n, c, true);
			c->since_ns = e->hdr.ts_ns;
		}
	}
	if (!start && c) /* the unlisten record of UDP lacks the address: the model has it */
		v = *c;
	else
		conn_of_rec(&v, e);
	v.direction = KS_DIR_UNKNOWN;
	if (start)
		v.since_ns = 0;
	begin(pl, &ks_ocsf_network_activity, start ? KS_OCSF_NET_LISTEN : KS_OCSF_NET_CLOSE, start ? "Listen" : "Close",
	      KS_OCSF_SEV_INFO, e->hdr.ts_ns, &v, true);
	unmapped_begin(pl, &v);
	ks_jw_kbool(w, "listener", true);
	finish(pl, KS_OCSF_NETWORK_ACTIVITY);
	if (!start && c)
		ks_netmodel_drop(n, c);
}

static void on_udp_flow(struct ks_pipeline *pl, const struct ks_net *e)
{
	struct ks_jw *w = &pl->jw;
	struct ks_conn v;

	conn_of_rec(&v, e);
	begin(pl, &ks_ocsf_network_activity, KS_OCSF_NET_TRAFFIC, "Traffic", KS_OCSF_SEV_INFO, e->hdr.ts_ns, &v, false);
	ks_jw_ku64(w, "count", 1);
	unmapped_begin(pl, &v);
	/* datagrams the kernel counted in this key's previous window (0 for a new destination) */
	ks_jw_ku64(w, "previous_window_datagrams", e->count);
	finish(pl, KS_OCSF_NETWORK_ACTIVITY);
}

static void on_dns(struct ks_pipeline *pl, const struct ks_net *e)
{
	struct ks_jw *w = &pl->jw;
	char name[KS_DNS_NAME_MAX * 4 + 8];
	bool trunc;
	int qtype = ks_dns_question(e->dns, e->dns_len <= KS_DNS_NAME_MAX ? e->dns_len : 0, name, sizeof(name), &trunc);
	const char *tn = qtype > 0 ? ks_dns_type_name(qtype) : NULL;
	struct ks_conn v;
	char num[16];

	conn_of_rec(&v, e);
	begin(pl, &ks_ocsf_dns_activity, KS_OCSF_DNS_QUERY, "Query", KS_OCSF_SEV_INFO, e->hdr.ts_ns, &v, false);
	ks_jw_key(w, "query");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "hostname", qtype >= 0 ? name : "");
	pl->dec.query_hostname = qtype >= 0 ? name : "";
	pl->dec.query_type = tn;
	if (qtype > 0) {
		snprintf(num, sizeof(num), "TYPE%d", qtype);
		ks_jw_kcstr(w, "type", tn ? tn : num);
	}
	ks_jw_kcstr(w, "class", "IN");
	ks_jw_obj_end(w);
	if (qtype >= 0)
		ks_ocsf_observe(pl, "query.hostname", KS_OCSF_OBS_HOSTNAME, name);
	unmapped_begin(pl, &v);
	if (qtype < 0)
		ks_jw_kbool(w, "malformed_question", true);
	if (trunc || (e->nflags & KS_NF_DNS_TRUNC))
		ks_jw_kbool(w, "question_truncated", true);
	finish(pl, KS_OCSF_DNS_ACTIVITY);
	pl->counters.net_dns++;
}

static void on_connect(struct ks_pipeline *pl, const struct ks_net *e)
{
	struct ks_conn v;

	conn_of_rec(&v, e);
	v.since_ns = 0;
	begin(pl, &ks_ocsf_network_activity, KS_OCSF_NET_OTHER, "Connect", KS_OCSF_SEV_INFO, e->hdr.ts_ns, &v, false);
	unmapped_begin(pl, &v);
	finish(pl, KS_OCSF_NETWORK_ACTIVITY);
}

static bool valid(const struct ks_net *e, size_t size)
{
	return size >= KS_NET_FIXED_SIZE && e->hdr.kind == KS_EV_NET && e->hdr.version == KS_WIRE_VERSION &&
	       e->hdr.size <= size && e->action > 0 && e->action < KS_NA_MAX &&
	       (e->family == 4 || e->family == 6 || !e->family) &&
	       (e->action != KS_NA_DNS || (e->hdr.size >= sizeof(*e) && e->dns_len <= KS_DNS_NAME_MAX));
}

static void on_listen_start(struct ks_pipeline *pl, const struct ks_net *e)
{
	on_listen(pl, e, true);
}

static void on_unlisten(struct ks_pipeline *pl, const struct ks_net *e)
{
	on_listen(pl, e, false);
}

/* One handler per kernel action (seeds go through ks_net_seed). */
static void (*const handlers[KS_NA_MAX])(struct ks_pipeline *pl, const struct ks_net *e) = {
    [KS_NA_CONNECT] = on_connect,   [KS_NA_ESTABLISHED] = on_established, [KS_NA_FAILED] = on_failed,
    [KS_NA_CLOSE] = on_close,       [KS_NA_ACCEPT] = on_accept,           [KS_NA_LISTEN] = on_listen_start,
    [KS_NA_UNLISTEN] = on_unlisten, [KS_NA_UDP_FLOW] = on_udp_flow,       [KS_NA_DNS] = on_dns,
};

/* Our side's close does not free its port at once: the peer's records (a local receiver closing after
 * us, in another order on another CPU) still need it; a slot is reused once both closed or after this. */
#define SELF_PEER_GRACE_NS (10 * NSEC_PER_SEC)

static bool self_slot_free(const struct ks_netmodel *n, int i, uint64_t now_ns)
{
	return !n->self_ports[i] || (n->self_closed_ns[i] && now_ns - n->self_closed_ns[i] > SELF_PEER_GRACE_NS);
}

/*
 * kansokud's own traffic (its outputs sending events) is not reported: each event would make more
 * (a connection to a receiver is itself events), a loop that never settles. The receiving side of such
 * a connection on this host (a local rsyslog relay) is recognised by the peer port.
 */
static bool self_traffic(struct ks_netmodel *n, const struct ks_net *e)
{
	bool ends = e->action == KS_NA_CLOSE || e->action == KS_NA_FAILED;
	int i, free_slot = -1;

	if (e->hdr.pid == n->self_pid) {
		if (e->proto == 6 && e->sport)
			for (i = 0; i < KS_NET_SELF_PORTS; i++) {
				if (n->self_ports[i] == e->sport) {
					/* a close, or a new connection from the same port */
					n->self_closed_ns[i] = ends ? (e->hdr.ts_ns ? e->hdr.ts_ns : 1) : 0;
					return true;
				}
				if (free_slot < 0 && self_slot_free(n, i, e->hdr.ts_ns))
					free_slot = i;
			}
		if (!ends && e->proto == 6 && e->sport && free_slot >= 0) {
			n->self_ports[free_slot] = e->sport;
			n->self_closed_ns[free_slot] = 0;
		}
		return true;
	}
	if (e->proto == 6 && e->dport && ks_net_loopback(e->family, e->daddr))
		for (i = 0; i < KS_NET_SELF_PORTS; i++)
			if (n->self_ports[i] == e->dport) {
				if (ends && n->self_closed_ns[i]) /* both sides closed: the slot is free */
					n->self_ports[i] = n->self_closed_ns[i] = 0;
				return true;
			}
	return false;
}

int ks_net_handle(struct ks_pipeline *pl, const void *data, size_t size)
{
	const struct ks_net *e = data;

	if (!valid(e, size) || !pl->net) {
		pl->counters.malformed++;
		return -1;
	}
	pl->counters.received[KS_EV_NET]++;
	if (self_traffic(pl->net, e)) {
		pl->counters.net_self++;
		return 0;
	}
	if (handlers[e->action])
		handlers[e->action](pl, e);
	return 0;
}

int ks_net_seed(struct ks_pipeline *pl, const void *data, size_t size)
{
	const struct ks_net *e = data;
	struct ks_conn *c;
	bool created;

	if (!valid(e, size) || e->action != KS_NA_SEED || !pl->net) {
		pl->counters.malformed++;
		return -1;
	}
	c = upsert(pl, e, &created);
	if (!c)
		return 0;
	c->seeded = true;
	ks_netmodel_set_listening(pl->net, c, e->proto == 17 || e->state == 10 /* TCP_LISTEN */);
	c->since_ns = 0;
	return 0;
}

void ks_net_tick(struct ks_pipeline *pl, uint64_t now_ns, int flush)
{
	struct ks_netmodel *n = pl->net;

	if (!n)
		return;
	/* oldest first; an Open with a shorter wait behind a longer one waits for it (at most the longer) */
	while (n->oldest && (flush || n->oldest->pending_ns + hold_ns(n, n->oldest) < now_ns))
		release_open(pl, n->oldest);
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * A connection whose Close was lost: a SOC analyst wants the pair Open/Close complete in the SIEM (and the
 * model cleared), and to know this Close was inferred: close_observed false, and the time is when the
 * connection was first found gone (it ended before then; bytes unknown).
 */
static void emit_lost_close(struct ks_pipeline *pl, const struct ks_conn *c)
{
	struct ks_jw *w = &pl->jw;

	begin(pl, &ks_ocsf_network_activity, KS_OCSF_NET_CLOSE, "Close", KS_OCSF_SEV_INFO, c->gone_ns, c, false);
	ks_jw_kcstr(w, "message", "the connection ended while events were lost: its close was not observed");
	unmapped_begin(pl, c);
	ks_jw_kbool(w, "close_observed", false);
	if (!c->since_ns)
		ks_jw_kbool(w, "opened_before_kansokud", true);
	finish(pl, KS_OCSF_NETWORK_ACTIVITY);
}

/* Ends an entry whose Close was lost (at c->gone_ns): its Close event, counted, and the entry dropped. */
static void end_lost(struct ks_pipeline *pl, struct ks_conn *c)
{
	pl->counters.net_reconciled++;
	if (c->listening) {
		struct ks_net e = {.hdr = {.kind = KS_EV_NET, .ts_ns = c->gone_ns, .pid = c->pid},
		                   .action = KS_NA_UNLISTEN,
		                   .sock_id = c->sock_id,
		                   .proto = 6};

		on_listen(pl, &e, false);
	} else {
		emit_lost_close(pl, c);
		ks_netmodel_drop(pl->net, c);
	}
}

/*
 * A new TCP socket (a listener, an inbound connection) at the address of an entry still in the model: the
 * kernel freed that entry's socket, so its Close was lost (a minute before the reconcile would say so). It
 * ends now, as the reconcile ends one, and the new socket starts an entry of its own (its own
 * connection_info.uid: otherwise it kept the ghost's, which hashes the address and the ghost's birth).
 */
static void end_ghost(struct ks_pipeline *pl, struct ks_conn *c, uint64_t ts_ns)
{
	if (c->pending_ns)
		release_open(pl, c);
	c->gone_ns = ts_ns;
	end_lost(pl, c);
}

/* TCP: an entry missing from its namespace's list; returns 1 when it waits for a later list. */
static size_t reconcile_tcp_entry(struct ks_pipeline *pl, struct ks_conn *c, const struct ks_net_listing *l,
                                  uint64_t drained_ns)
{
	if (c->since_ns > l->listed_ns || c->pending_ns)
		return 0;
	if (l->n_tcp && bsearch(&c->sock_id, l->tcp, l->n_tcp, sizeof(*l->tcp), by_u64)) { /* a gone one's: NULL */
		c->gone_ns = 0;
		return 0;
	}
	if (!c->gone_ns || c->gone_ns > drained_ns || (l->gone && l->listed_ns - c->gone_ns < KS_NETNS_GONE_GRACE_NS)) {
		/* its Close may still be queued: decided at a later list, once read up to here */
		c->gone_ns = c->gone_ns ? c->gone_ns : l->listed_ns;
		return 1;
	}
	/* every record written up to the first list was read: its Close was lost */
	end_lost(pl, c);
	return 0;
}

/* UDP: a listener missing from its namespace's list (bound after the list: not yet in it) is gone. */
static void reconcile_udp_entry(struct ks_pipeline *pl, const struct ks_conn *c, const struct ks_net_listing *l)
{
	struct ks_net e = {0};

	if (c->since_ns > l->listed_ns || (l->n_udp && bsearch(&c->sock_id, l->udp, l->n_udp, sizeof(*l->udp), by_u64)))
		return;
	/* gone: the same event a kernel record would have made */
	e.hdr.kind = KS_EV_NET;
	e.hdr.ts_ns = l->listed_ns;
	e.hdr.pid = c->pid;
	e.action = KS_NA_UNLISTEN;
	e.sock_id = c->sock_id;
	e.proto = 17;
	on_listen(pl, &e, false);
}

static int by_netns(const void *a, const void *b)
{
	uint32_t x = ((const struct ks_net_listing *)a)->netns, y = ((const struct ks_net_listing *)b)->netns;

	return x < y ? -1 : x > y;
}

size_t ks_net_reconcile(struct ks_pipeline *pl, struct ks_net_listing *ls, size_t n_ls, uint64_t drained_ns)
{
	struct ks_netmodel *n = pl->net;
	size_t i, waiting = 0;

	if (!n || !n_ls)
		return 0;
	qsort(ls, n_ls, sizeof(*ls), by_netns);
	for (i = 0; i < n_ls; i++) {
		if (ls[i].n_tcp)
			qsort(ls[i].tcp, ls[i].n_tcp, sizeof(*ls[i].tcp), by_u64);
		if (ls[i].n_udp)
			qsort(ls[i].udp, ls[i].n_udp, sizeof(*ls[i].udp), by_u64);
	}
	/* one walk of the model for every namespace listed: O(entries x log namespaces) */
	for (i = 0; i < KS_NET_BUCKETS; i++) {
		struct ks_conn *c = n->buckets[i], *next;

		for (; c; c = next) {
			struct ks_net_listing key = {.netns = c->netns}, *l;

			next = c->hnext;
			l = bsearch(&key, ls, n_ls, sizeof(*ls), by_netns);
			if (!l)
				continue; /* a namespace not listed this time: untouched */
			if (c->proto == 6 && l->tcp_listed)
				waiting += reconcile_tcp_entry(pl, c, l, drained_ns);
			else if (c->proto == 17 && c->listening && l->udp_listed)
				reconcile_udp_entry(pl, c, l);
		}
	}
	return waiting;
}

size_t ks_net_tcp_reconcile(struct ks_pipeline *pl, uint64_t *live, size_t n_live, uint64_t listed_ns, uint32_t netns,
                            uint64_t drained_ns)
{
	struct ks_net_listing l = {
	    .netns = netns, .listed_ns = listed_ns, .tcp_listed = true, .tcp = live, .n_tcp = n_live};

	return ks_net_reconcile(pl, &l, 1, drained_ns);
}

void ks_net_udp_reconcile(struct ks_pipeline *pl, uint64_t *bound, size_t n_bound, uint64_t listed_ns, uint32_t netns)
{
	struct ks_net_listing l = {
	    .netns = netns, .listed_ns = listed_ns, .udp_listed = true, .udp = bound, .n_udp = n_bound};

	ks_net_reconcile(pl, &l, 1, 0);
}
