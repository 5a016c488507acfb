// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The posture engine, on the loop: runs the catalog (on the posture thread, worker.c), keeps the open
 * findings and turns each run into deltas: Compliance Finding (2003) Create/Update/Close. A full snapshot
 * (inventory, results, scores: OCSF 5001/5003/5020 and one 5002 document) is taken at start, every
 * posture.interval and on demand; checks fed by the live model re-run within a second of a change: the
 * loop hands the thread the model's listeners, and the pids that exec'd (seen by an event sink).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "model/netmodel.h"
#include "model/proctable.h"
#include "pipeline/ocsf.h"
#include "pipeline/pipeline.h"

/* ---- applying what the posture thread did ---- */

static void apply_snapshot(struct ks_posture *p, struct ks_pipeline *pl, struct ks_run *run, int64_t now_ms)
{
	struct json_object *body = json_object_new_object(), *un = json_object_new_object(), *sc;
	char msg[64];

	ks_emit_inventory_events(pl, run->inv_events, now_ms);
	json_object_put(p->inventory);
	p->inventory = json_object_get(run->inventory);
	p->last_full_ms = now_ms;
	p->snapshots++;
	p->last_full_cpu_ms = run->cpu_ms;
	p->last_full_wall_ms = run->wall_ms;
	json_object_put(p->snapshot);
	p->snapshot = ks_report_snapshot(p, run, now_ms);
	/* the snapshot document as one Device Config State event */
	json_object_object_get_ex(p->snapshot, "scores", &sc);
	json_object_object_add(
	    body, "risk_score",
	    json_object_new_int((int)(json_object_get_double(json_object_object_get(sc, "host")) + 0.5)));
	json_object_object_add(un, "snapshot", json_object_get(p->snapshot));
	json_object_object_add(body, "unmapped", un);
	snprintf(msg, sizeof(msg), "posture snapshot: host risk score %d",
	         json_object_get_int(json_object_object_get(body, "risk_score")));
	ks_emit_json_event(pl, &ks_ocsf_config_state, now_ms, body, msg);
	json_object_put(body);
	p->snapshot_pending = false;
	if (p->on_snapshot)
		p->on_snapshot(p->on_snapshot_ctx);
}

static void apply_run(struct ks_posture *p, struct ks_pipeline *pl, struct ks_run *run, int64_t now_ms)
{
	bool changed = false;

	for (size_t i = 0; i < run->n; i++)
		changed |= ks_findings_apply(p, pl, &run->res[i], now_ms);
	if (changed)
		ks_findings_save(p);
	p->walk_entries = run->walk_entries;
	p->walk_cpu_ms = run->walk_cpu_ms;
	if (run->kind == KS_RUN_SNAPSHOT) {
		apply_snapshot(p, pl, run, now_ms);
		return;
	}
	p->rescores++;
	p->last_rescore_cpu_ms = run->cpu_ms;
	if (run->cpu_ms > p->max_rescore_cpu_ms)
		p->max_rescore_cpu_ms = run->cpu_ms;
}

static void apply_done(struct ks_posture *p, struct ks_pipeline *pl, int64_t now_ms)
{
	struct ks_run *run = ks_worker_take(p);

	while (run) {
		struct ks_run *next = run->next;

		apply_run(p, pl, run, now_ms);
		ks_run_free(run);
		run = next;
	}
}

/* Without a posture thread (--audit, the tests): evaluated in place. */
void ks_posture_snapshot(struct ks_posture *p, struct ks_pipeline *pl, int64_t now_ms)
{
	struct ks_run *run;

	if (p->w) {
		ks_posture_request_snapshot(p);
		return;
	}
	run = ks_job_snapshot(p, now_ms);
	if (run)
		apply_run(p, pl, run, now_ms);
	ks_run_free(run);
}

static struct ks_listener *model_listeners(struct ks_posture *p, size_t *n)
{
	*n = 0;
	return p->listeners_fn ? p->listeners_fn(p->listeners_ctx, n) : NULL;
}

void ks_posture_request_snapshot(struct ks_posture *p)
{
	struct ks_listener *l;
	size_t n;

	if (!p->w || p->snapshot_pending)
		return;
	l = model_listeners(p, &n);
	p->snapshot_pending = true;
	p->ports_changed_ms = 0; /* the snapshot looks at the listeners too */
	ks_worker_request(p, true, 0, l, n, NULL, 0, false);
}

void ks_posture_tick(struct ks_posture *p, struct ks_pipeline *pl, int64_t now_ms, uint64_t ports_gen)
{
	if (!p->w)
		return;
	apply_done(p, pl, now_ms);
	if (!p->gens_known) {
		p->gens_known = true;
		p->ports_gen = ports_gen;
	}
	if (!p->last_full_ms || now_ms - p->last_full_ms >= (int64_t)p->cfg.interval_s * 1000)
		ks_posture_request_snapshot(p);
	/* a change is re-scored once it has settled for a moment (a burst of listeners is one run), and at
	 * least every KS_SETTLE_MAX_MS while changes go on */
	if (ports_gen != p->ports_gen) {
		p->ports_gen = ports_gen;
		if (!p->ports_changed_ms)
			p->ports_first_change_ms = now_ms;
		p->ports_changed_ms = now_ms;
	}
	if (p->ports_changed_ms &&
	    (now_ms - p->ports_changed_ms >= KS_SETTLE_MS || now_ms - p->ports_first_change_ms >= KS_SETTLE_MAX_MS)) {
		struct ks_listener *l;
		size_t n;

		p->ports_changed_ms = 0;
		l = model_listeners(p, &n);
		ks_worker_request(p, false, KS_TRIG_PORTS, l, n, NULL, 0, false);
	}
	if (p->n_pids || p->pids_overflow) {
		ks_worker_request(p, false, 0, NULL, 0, p->pids, p->n_pids, p->pids_overflow);
		p->pids = NULL;
		p->n_pids = p->pids_cap = 0;
		p->pids_overflow = false;
	}
}

/* ---- the pids that exec'd, from the events the loop emits ---- */

static void add_pid(struct ks_posture *p, uint32_t pid)
{
	if (p->n_pids == p->pids_cap) {
		size_t cap = p->pids_cap ? p->pids_cap * 2 : 256;
		uint32_t *nv = cap <= KS_EXEC_BATCH_MAX ? realloc(p->pids, cap * sizeof(*nv)) : NULL;

		if (!nv) { /* more than a tick's worth: the thread looks at every process instead */
			p->pids_lost++;
			p->pids_overflow = true;
			return;
		}
		p->pids = nv;
		p->pids_cap = cap;
	}
	p->pids[p->n_pids++] = pid;
}

/* An evaluator: the decoded view names the launched process (no JSON is read). */
void ks_posture_eval(void *ctx, struct ks_pipeline *pl, const struct ks_decoded *ev, const char *line, size_t len)
{
	struct ks_posture *p = ctx;

	(void)pl, (void)line, (void)len;
	if (ev->class_uid == KS_OCSF_PROCESS_ACTIVITY && ev->activity_id == KS_OCSF_PROC_LAUNCH && p->w && ev->pid)
		add_pid(p, ev->pid);
}

/* ---- life cycle ---- */

struct ks_posture *ks_posture_new(const struct ks_posture_cfg *cfg, const char *state_dir, char *err, size_t errlen)
{
	struct ks_posture *p = calloc(1, sizeof(*p));

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->cfg = *cfg;
	p->cat = ks_catalog_load(cfg, err, errlen);
	if (!p->cat)
		goto fail;
	p->env = ks_posture_env_new(cfg, err, errlen);
	if (!p->env)
		goto fail;
	p->results = calloc(p->cat->n + 1, sizeof(*p->results));
	p->settled = calloc(p->cat->n + 1, sizeof(*p->settled));
	if (!p->results || !p->settled) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (state_dir && state_dir[0]) {
		snprintf(p->state_path, sizeof(p->state_path), "%s/posture.json", state_dir);
		ks_findings_load(p);
	}
	return p;
fail:
	ks_posture_free(p);
	return NULL;
}

void ks_posture_set_device(struct ks_posture *p, const char *uid, const char *source)
{
	ks_posture_env_set_device(p->env, uid, source);
}

int ks_posture_start(struct ks_posture *p, ks_listeners_fn listeners, void *listeners_ctx, char *err, size_t errlen)
{
	p->listeners_fn = listeners;
	p->listeners_ctx = listeners_ctx;
	return ks_worker_start(p, err, errlen);
}

void ks_posture_on_snapshot(struct ks_posture *p, void (*fn)(void *ctx), void *ctx)
{
	p->on_snapshot = fn;
	p->on_snapshot_ctx = ctx;
}

void ks_posture_free(struct ks_posture *p)
{
	if (!p)
		return;
	ks_worker_stop(p);
	ks_findings_free(p);
	if (p->results && p->cat)
		for (size_t i = 0; i < p->cat->n; i++)
			ks_result_free(&p->results[i]);
	free(p->results);
	free(p->settled);
	free(p->pids);
	ks_posture_env_free(p->env);
	ks_catalog_free(p->cat);
	json_object_put(p->inventory);
	json_object_put(p->snapshot);
	json_object_put(p->prev_users);
	json_object_put(p->prev_packages);
	free(p);
}

/* ---- the daemon's live model as the listener source ---- */

struct ks_listener *ks_posture_model_listeners(void *ctx, size_t *n)
{
	struct ks_pipeline *pl = ctx;
	struct ks_conn **v;
	struct ks_listener *out;
	size_t cnt = 0;

	*n = 0;
	if (!pl->net)
		return NULL;
	v = ks_netmodel_snapshot(pl->net, true, &cnt);
	if (!v)
		return NULL;
	out = calloc(cnt + 1, sizeof(*out));
	for (size_t i = 0; out && i < cnt; i++) {
		const struct ks_conn *c = v[i];
		struct ks_listener *l = &out[(*n)++];
		struct ks_proc *pr = c->pid ? ks_proc_lookup(pl->procs, c->pid) : NULL;

		snprintf(l->proto, sizeof(l->proto), "%s", ks_net_proto_name(c->proto));
		ks_net_addr_str(c->family, c->saddr, l->addr, sizeof(l->addr));
		l->port = c->sport;
		l->pid = c->pid;
		l->loopback = ks_net_loopback(c->family, c->saddr);
		if (pr)
			snprintf(l->comm, sizeof(l->comm), "%s",
			         pr->exe && pr->exe[0] ? ks_basename(pr->exe) : pr->comm);
	}
	free(v);
	return out;
}
