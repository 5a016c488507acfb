// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The posture thread: every evaluation (snapshots, re-runs on live changes, the filesystem walk on a
 * thread of its own) runs here, never on the event loop. The loop hands over what changed (the model's
 * listeners, the pids that exec'd); each evaluation becomes a run queued back; the loop applies and emits
 * it (the pipeline is single-threaded). Both threads run under one CPU budget (budget.h), the walk at
 * SCHED_IDLE.
 * Without a thread (--audit, the tests) the same jobs run in the caller.
 */
#include <errno.h>
#include <json-c/json.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "lib/log.h"
#include "pipeline/ocsf.h"

static double clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void ks_run_free(struct ks_run *run)
{
	if (!run)
		return;
	for (size_t i = 0; i < run->n; i++)
		ks_result_free(&run->res[i].r);
	free(run->res);
	json_object_put(run->inventory);
	json_object_put(run->inv_events);
	free(run);
}

/* A run with room for the checks that match: all of them, a trigger's, or those that take pids. */
static struct ks_run *run_new(struct ks_posture *p, enum ks_run_kind kind, unsigned trigger, bool pids)
{
	struct ks_run *run = calloc(1, sizeof(*run));
	size_t room = 0;

	for (size_t i = 0; i < p->cat->n; i++) {
		const struct ks_evaluator *ev = p->cat->checks[i].ev;

		room += pids ? ev->run_pids != NULL : !trigger || (ev->triggers & trigger);
	}
	if (run && !(run->res = calloc(room + 1, sizeof(*run->res)))) {
		free(run);
		run = NULL;
	}
	if (run)
		run->kind = kind;
	return run;
}

static void yield(struct ks_posture *p)
{
	if (p->env->yield_fn)
		p->env->yield_fn(p->env->yield_ctx);
}

/* The enabled checks one trigger (0: all) re-runs, each result complete. */
static void run_checks(struct ks_posture *p, struct ks_run *run, unsigned trigger)
{
	for (size_t i = 0; i < p->cat->n; i++) {
		const struct ks_check *c = &p->cat->checks[i];
		struct ks_run_result *rr;

		if (!c->enabled || (trigger && !(c->ev->triggers & trigger)))
			continue;
		rr = &run->res[run->n++];
		rr->check = i;
		rr->scope = KS_SCOPE_FULL;
		ks_check_run(p->env, c, &rr->r);
		if (trigger != KS_TRIG_PORTS) /* a new listener is prompt: its run is queued first, paid after */
			yield(p);
	}
}

static void run_cost(struct ks_run *run, struct ks_posture_env *e, double c0, double w0)
{
	run->cpu_ms = clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
	run->wall_ms = clock_ms(CLOCK_MONOTONIC) - w0;
	run->walk_entries = e->walk.entries;
	run->walk_cpu_ms = e->walk.cpu_ms;
}

struct ks_run *ks_job_checks(struct ks_posture *p, unsigned trigger)
{
	double c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID), w0 = clock_ms(CLOCK_MONOTONIC);
	struct ks_run *run = run_new(p, KS_RUN_CHECKS, trigger, false);

	if (!run)
		return NULL;
	ks_posture_env_forget_live(p->env); /* only the live facts are read again */
	run_checks(p, run, trigger);
	run_cost(run, p->env, c0, w0);
	return run;
}

struct ks_run *ks_job_pids(struct ks_posture *p, const uint32_t *pids, size_t n)
{
	double c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID), w0 = clock_ms(CLOCK_MONOTONIC);
	struct ks_run *run = run_new(p, KS_RUN_CHECKS, 0, true);
	bool found = false;

	if (!run)
		return NULL;
	for (size_t i = 0; i < p->cat->n; i++) {
		const struct ks_check *c = &p->cat->checks[i];
		struct ks_run_result *rr;

		if (!c->enabled || !c->ev->run_pids)
			continue;
		rr = &run->res[run->n++];
		rr->check = i;
		rr->scope = KS_SCOPE_ADDED;
		ks_result_reset(&rr->r);
		rr->r.status = (enum ks_chk_status)c->ev->run_pids(p->env, c->params, pids, n, &rr->r);
		found |= rr->r.n_items > 0;
	}
	run_cost(run, p->env, c0, w0);
	if (!found) { /* nothing new to tell the loop: the usual case */
		ks_run_free(run);
		return NULL;
	}
	return run;
}

/* ---- snapshots ---- */

static struct json_object *sshd_source(struct ks_posture_env *e)
{
	struct json_object *ssh = json_object_new_object();

	ks_facts_sshd(e);
	json_object_object_add(ssh, "installed", json_object_new_boolean(!e->sshd_absent));
	if (e->sshd)
		json_object_object_add(ssh, "source", json_object_new_string(e->sshd_source));
	if (e->sshd_err[0])
		json_object_object_add(ssh, "error", json_object_new_string(e->sshd_err));
	if (e->sshd_t_err[0])
		json_object_object_add(ssh, "sshd_t_error", json_object_new_string(e->sshd_t_err));
	return ssh;
}

static struct json_object *inventory(struct ks_posture *p)
{
	struct json_object *inv = json_object_new_object();
	char err[256] = "";

	json_object_object_add(inv, "device", ks_inventory_device(p->env));
	json_object_object_add(inv, "kernel_security", ks_inventory_kernel_security(p->env));
	yield(p);
	json_object_object_add(inv, "packages", ks_inventory_packages(p->env, err, sizeof(err)));
	if (err[0])
		json_object_object_add(inv, "packages_error", json_object_new_string(err));
	yield(p);
	json_object_object_add(inv, "accounts", ks_inventory_users(p->env));
	json_object_object_add(inv, "listening", ks_inventory_listeners(p->env));
	yield(p);
	json_object_object_add(inv, "processes", ks_inventory_processes(p->env));
	return inv;
}

/* The device every snapshot, users and packages when they change: queued for the loop to emit. */
static struct json_object *inventory_events(struct ks_posture *p, struct json_object *inv, int64_t now_ms)
{
	struct json_object *events = json_object_new_array(), *v;

	ks_inventory_device_event(events, inv, now_ms);
	json_object_object_get_ex(json_object_object_get(inv, "accounts"), "users", &v);
	ks_inventory_deltas(events, ks_ocsf_user_inventory.class_uid, "user", p->prev_users, v);
	json_object_put(p->prev_users);
	p->prev_users = json_object_get(v);
	json_object_object_get_ex(inv, "packages", &v);
	ks_inventory_deltas(events, ks_ocsf_software_inventory.class_uid, "package", p->prev_packages, v);
	json_object_put(p->prev_packages);
	p->prev_packages = json_object_get(v);
	return events;
}

static void start_walk(struct ks_posture *p);

struct ks_run *ks_job_snapshot(struct ks_posture *p, int64_t now_ms)
{
	double c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID), w0 = clock_ms(CLOCK_MONOTONIC);
	struct ks_posture_env *e = p->env;
	struct ks_run *run = run_new(p, KS_RUN_SNAPSHOT, 0, false);

	if (!run)
		return NULL;
	run->walk_due = !e->walk.done || now_ms - e->walk.at_ms >= (int64_t)p->cfg.fs_scan_interval_s * 1000;
	ks_posture_env_invalidate(e, run->walk_due && !e->async_walk);
	run->inventory = inventory(p);
	run_checks(p, run, 0);
	json_object_object_add(run->inventory, "sshd", sshd_source(e));
	run->inv_events = inventory_events(p, run->inventory, now_ms);
	run_cost(run, e, c0, w0);
	if (run->walk_due && e->async_walk) /* after: the snapshot does not share its budget with the walk */
		start_walk(p);
	/* a snapshot reads megabytes (dpkg status and file lists) and frees them: give the pages back */
	malloc_trim(0);
	return run;
}

/* ---- the walk's own thread ---- */

static void walk_yield(void *ctx)
{
	struct ks_worker *w = ctx;

	ks_budget_spend(&w->budget, &w->walk_bt, &w->cancel);
}

static void *walk_main(void *arg)
{
	struct ks_worker *w = arg;

	ks_budget_lower_priority("ks-walk", KS_THREAD_IDLE);
	ks_walk_execute(w->job);
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->walking, false);
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void start_walk(struct ks_posture *p)
{
	struct ks_worker *w = p->w;

	if (!w || w->walker_started)
		return;
	w->job = ks_walk_prepare(p->env);
	if (!w->job)
		return;
	ks_walk_set_yield(w->job, walk_yield, w);
	w->walk_bt.last_cpu_ms = 0;
	atomic_store(&w->walking, true);
	if (pthread_create(&w->walker, NULL, walk_main, w)) {
		ks_warn("posture: cannot start the filesystem walk thread: %s", strerror(errno));
		atomic_store(&w->walking, false);
		ks_walk_job_free(w->job);
		w->job = NULL;
		return;
	}
	w->walker_started = true;
}

/* A finished walk replaces the last one and its checks re-run. */
static struct ks_run *collect_walk(struct ks_posture *p)
{
	struct ks_worker *w = p->w;

	pthread_join(w->walker, NULL);
	w->walker_started = false;
	ks_posture_env_install_walk(p->env, w->job);
	w->job = NULL;
	atomic_fetch_add(&w->walks, 1);
	return ks_job_checks(p, KS_TRIG_WALK);
}

/* ---- the posture thread ---- */

static void worker_yield(void *ctx)
{
	struct ks_worker *w = ctx;

	ks_budget_spend(&w->budget, &w->bt, &w->cancel);
}

static void queue_run(struct ks_worker *w, struct ks_run *run)
{
	if (!run)
		return;
	pthread_mutex_lock(&w->lock);
	*w->done_tail = run;
	w->done_tail = &run->next;
	atomic_store(&w->has_done, true);
	pthread_mutex_unlock(&w->lock);
}

/* What the loop handed over, taken under the lock in one go. */
struct handover {
	bool snapshot, walk_done, exe_full;
	unsigned trig;
	struct ks_listener *listeners;
	size_t n_listeners;
	uint32_t *pids;
	size_t n_pids;
};

static bool take_handover(struct ks_worker *w, struct handover *h)
{
	*h = (struct handover){.snapshot = w->want_snapshot,
	                       .walk_done = w->walker_started && !atomic_load(&w->walking),
	                       .exe_full = w->exe_full_due,
	                       .trig = w->want_trig,
	                       .listeners = w->listeners,
	                       .n_listeners = w->n_listeners,
	                       .pids = w->pids,
	                       .n_pids = w->n_pids};
	w->want_snapshot = w->exe_full_due = false;
	w->want_trig = 0;
	w->listeners = NULL;
	w->pids = NULL;
	w->n_listeners = w->n_pids = 0;
	return h->snapshot || h->walk_done || h->exe_full || h->trig || h->listeners || h->n_pids;
}

/* Processes that exec'd: each looked at alone; while they keep coming, a full pass now and then closes
 * the findings of those that ended and catches what changed on disk. */
static void exec_work(struct ks_posture *p, struct handover *h, double now_ms)
{
	struct ks_worker *w = p->w;

	if (h->n_pids) {
		w->exec_since_full = true;
		atomic_fetch_add(&w->pid_checks, h->n_pids);
		queue_run(w, ks_job_pids(p, h->pids, h->n_pids));
	}
	if (h->exe_full || (w->exec_since_full && now_ms - w->exe_full_at_ms >= KS_EXE_FULL_PASS_MS)) {
		w->exec_since_full = false;
		w->exe_full_at_ms = (int64_t)now_ms;
		atomic_fetch_add(&w->exe_full_passes, 1);
		queue_run(w, ks_job_checks(p, KS_TRIG_EXEC));
	}
}

static void do_work(struct ks_posture *p, struct handover *h)
{
	struct ks_worker *w = p->w;
	double now = clock_ms(CLOCK_REALTIME);

	if (h->listeners)
		ks_posture_env_set_model_listeners(p->env, h->listeners, h->n_listeners);
	if (h->walk_done)
		queue_run(w, collect_walk(p));
	if (h->snapshot) {
		queue_run(w, ks_job_snapshot(p, (int64_t)now));
		w->exe_full_at_ms = (int64_t)now; /* the snapshot looked at every executable */
		w->exec_since_full = false;
	} else if (h->trig)
		queue_run(w, ks_job_checks(p, h->trig));
	exec_work(p, h, now);
	free(h->pids);
}

static bool exe_pass_due(const struct ks_worker *w)
{
	return w->exec_since_full && clock_ms(CLOCK_REALTIME) - (double)w->exe_full_at_ms >= KS_EXE_FULL_PASS_MS;
}

/* Waits ms on the wake condition (lock held); with prompt, only until prompt work arrives. */
static void wait_ms(struct ks_worker *w, double ms, bool prompt)
{
	int64_t ns = ms < 3600e3 ? (int64_t)(ms * 1e6) : (int64_t)3600 * 1000000000;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	ns += until.tv_nsec;
	until.tv_sec += (time_t)(ns / 1000000000);
	until.tv_nsec = (long)(ns % 1000000000);
	while (!w->stop && !(prompt && (w->want_trig || w->want_snapshot))) {
		/* any hand-over ends an idle wait; a debt is waited out unless prompt work comes */
		if (pthread_cond_timedwait(&w->wake, &w->lock, &until) || !prompt)
			break;
	}
}

static void *worker_main(void *arg)
{
	struct ks_posture *p = arg;
	struct ks_worker *w = p->w;

	ks_budget_lower_priority("ks-posture", KS_THREAD_NICE);
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		struct handover h;
		double debt;

		if (!take_handover(w, &h) && !exe_pass_due(w)) {
			wait_ms(w, 1000, false); /* the timeout lets a periodic exe pass come due */
			continue;
		}
		pthread_mutex_unlock(&w->lock);
		do_work(p, &h);
		debt = ks_budget_charge_thread(&w->budget, &w->bt);
		pthread_mutex_lock(&w->lock);
		/* the debt is waited out before more routine work, for a second at most (new processes are
		 * looked at within about a second); a new listener or a snapshot asked for ends the wait at once.
		 * What is not waited here stays in the bucket: the walk, sharing it, waits longer. */
		if (debt > 0)
			wait_ms(w, debt < KS_DEBT_WAIT_MAX_MS ? debt : KS_DEBT_WAIT_MAX_MS, true);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int ks_worker_start(struct ks_posture *p, char *err, size_t errlen)
{
	struct ks_worker *w = calloc(1, sizeof(*w));
	int rc;

	if (!w) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->done_tail = &w->done;
	ks_budget_init(&w->budget, KS_BUDGET_BUSY_SHARE, KS_BUDGET_IDLE_SHARE, KS_BUDGET_BURST_MS);
	p->w = w;
	p->env->async_walk = true;
	ks_posture_env_set_yield(p->env, worker_yield, w);
	rc = pthread_create(&w->thread, NULL, worker_main, p);
	if (rc) {
		snprintf(err, errlen, "cannot start the posture thread: %s", strerror(rc));
		p->w = NULL;
		p->env->async_walk = false;
		ks_posture_env_set_yield(p->env, NULL, NULL);
		ks_budget_destroy(&w->budget);
		free(w);
		return -1;
	}
	return 0;
}

void ks_worker_stop(struct ks_posture *p)
{
	struct ks_worker *w = p->w;
	struct ks_run *run;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	atomic_store(&w->cancel, true); /* budget sleeps end */
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	if (w->walker_started) { /* the walk gives up at its next entry */
		ks_walk_cancel(w->job);
		pthread_join(w->walker, NULL);
		ks_walk_job_free(w->job);
	}
	run = ks_worker_take(p); /* the whole list of what is done */
	while (run) {
		struct ks_run *next = run->next;

		ks_run_free(run);
		run = next;
	}
	free(w->listeners);
	free(w->pids);
	ks_budget_destroy(&w->budget);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
	p->w = NULL;
}

void ks_worker_request(struct ks_posture *p, bool snapshot, unsigned trig, struct ks_listener *listeners,
                       size_t n_listeners, uint32_t *pids, size_t n_pids, bool exe_full)
{
	struct ks_worker *w = p->w;

	pthread_mutex_lock(&w->lock);
	w->want_snapshot |= snapshot;
	w->want_trig |= trig;
	w->exe_full_due |= exe_full;
	if (listeners) { /* the newest copy wins */
		free(w->listeners);
		w->listeners = listeners;
		w->n_listeners = n_listeners;
	}
	if (pids && w->pids) { /* the thread has not taken the last batch: append, within the bound */
		size_t room = KS_EXEC_BATCH_MAX > w->n_pids ? KS_EXEC_BATCH_MAX - w->n_pids : 0;
		size_t take = n_pids < room ? n_pids : room;
		uint32_t *nv = take ? realloc(w->pids, (w->n_pids + take) * sizeof(*nv)) : NULL;

		if (nv) {
			memcpy(nv + w->n_pids, pids, take * sizeof(*nv));
			w->pids = nv;
			w->n_pids += take;
		}
		if (!nv || take < n_pids)
			w->exe_full_due = true; /* pids lost: look at every process instead */
		free(pids);
	} else if (pids) {
		w->pids = pids;
		w->n_pids = n_pids;
	}
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

struct ks_run *ks_worker_take(struct ks_posture *p)
{
	struct ks_worker *w = p->w;
	struct ks_run *run;

	if (!w || !atomic_load_explicit(&w->has_done, memory_order_acquire))
		return NULL;
	pthread_mutex_lock(&w->lock);
	run = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	atomic_store(&w->has_done, false);
	pthread_mutex_unlock(&w->lock);
	return run;
}
