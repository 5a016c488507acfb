/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The posture engine's own parts, shared by its files:
 *   worker.c   the posture thread: snapshots, re-runs and the filesystem walk, under a CPU budget;
 *              each evaluation becomes a run (check results, inventory) queued for the loop
 *   engine.c   on the loop: hands changes to the thread, applies finished runs, the life cycle
 *   findings.c the findings store (on the loop), its persistence, and reconciling a result into deltas
 *   emit.c     the OCSF events (only the loop emits: the pipeline is single-threaded)
 *   report.c   the documents: snapshot, summary, findings, status
 */
#ifndef KANSOKU_POSTURE_ENGINE_H
#define KANSOKU_POSTURE_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>

#include "budget.h"
#include "env.h"
#include "posture/posture.h"

#define KS_FINDING_BUCKETS 1024
#define KS_EXEC_BATCH_MAX 16384   /* pids waiting for the posture thread; beyond, a full pass is due */
#define KS_EXE_FULL_PASS_MS 60000 /* while processes start: every running executable looked at again */
#define KS_SETTLE_MS 200          /* a burst of listeners is one re-run */
#define KS_SETTLE_MAX_MS 1000     /* but a storm of them re-runs at least this often */
#define KS_DEBT_WAIT_MAX_MS 1000  /* the posture thread's longest wait between jobs for its CPU debt */

struct ks_pipeline;
struct ks_ocsf_class;

struct ks_finding {
	const struct ks_check *chk;
	char *item; /* "" for a whole-check finding */
	char *actual;
	int64_t first_seen_ms, last_seen_ms;
	bool seen;
	bool at_start; /* found by its check's first conclusive run since start (or kept from the last run) */
	struct ks_finding *next;
};

/* FULL: the result is the whole truth of the check (findings it lacks close); ADDED: only what a change
 * showed (processes that just started): its items are created or updated, none closed. */
enum ks_scope { KS_SCOPE_FULL, KS_SCOPE_ADDED };

struct ks_run_result {
	size_t check; /* index in the catalog */
	enum ks_scope scope;
	struct ks_check_result r;
};

enum ks_run_kind { KS_RUN_SNAPSHOT, KS_RUN_CHECKS };

/* One evaluation done on the posture thread, applied and emitted on the loop. */
struct ks_run {
	enum ks_run_kind kind;
	struct ks_run_result *res;
	size_t n;
	double cpu_ms, wall_ms;
	/* snapshots */
	struct json_object *inventory;  /* device, packages, accounts, listening, processes, sshd */
	struct json_object *inv_events; /* [{"class": uid, "body": {...}}] in emit order */
	bool walk_due;
	uint64_t walk_entries;
	double walk_cpu_ms;
	struct ks_run *next;
};

/* The posture thread. Fields under lock are what the loop and the thread exchange. */
struct ks_worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	/* loop -> thread (under lock) */
	bool stop, want_snapshot;
	bool exe_full_due;             /* pids were lost (more than KS_EXEC_BATCH_MAX): look at all */
	unsigned want_trig;            /* KS_TRIG_PORTS */
	struct ks_listener *listeners; /* the model's newest listeners, NULL: none handed over */
	size_t n_listeners;
	uint32_t *pids; /* processes that exec'd */
	size_t n_pids;
	/* thread -> loop (under lock) */
	struct ks_run *done, **done_tail;
	atomic_bool has_done;
	atomic_bool walking;
	/* the thread's own (its flags here, beside the shared ones: no padding between them) */
	atomic_bool cancel;
	bool walker_started;
	bool exec_since_full;
	atomic_uint_fast64_t walks, pid_checks, exe_full_passes;
	struct ks_budget budget;
	struct ks_budget_thread bt, walk_bt;
	pthread_t walker;
	struct ks_walk_job *job;
	int64_t exe_full_at_ms;
};

struct ks_posture {
	struct ks_posture_cfg cfg;
	struct ks_catalog *cat;
	struct ks_posture_env *env;                     /* the posture thread's (the caller's when there is none) */
	struct json_object *prev_users, *prev_packages; /* the thread's: inventory deltas */
	char state_path[1100];
	struct ks_worker *w; /* NULL: runs in the caller (--audit, the tests) */
	/* the loop's */
	struct ks_check_result *results; /* per catalog check */
	bool *settled; /* per catalog check: a full run passed, failed or found it not applicable since start */
	struct ks_finding *buckets[KS_FINDING_BUCKETS];
	size_t n_findings;
	struct json_object *inventory; /* of the last snapshot */
	struct json_object *snapshot;  /* the last full document */
	int64_t last_full_ms;
	bool snapshot_pending;
	uint64_t ports_gen, exec_gen;
	bool gens_known;
	int64_t ports_changed_ms, ports_first_change_ms;
	uint32_t *pids; /* exec'd since the last tick (from the event sink) */
	size_t n_pids, pids_cap;
	bool pids_overflow;
	uint64_t pids_lost;
	ks_listeners_fn listeners_fn;
	void *listeners_ctx;
	void (*on_snapshot)(void *ctx);
	void *on_snapshot_ctx;
	/* figures for status and the benchmark */
	uint64_t snapshots, rescores, created, updated, closed;
	double last_full_cpu_ms, last_full_wall_ms, last_rescore_cpu_ms, max_rescore_cpu_ms;
	uint64_t walk_entries;
	double walk_cpu_ms;
};

/* findings.c */
struct ks_finding *ks_finding_find(struct ks_posture *p, const char *id, const char *item);
int64_t ks_finding_age_s(const struct ks_finding *f, int64_t now_ms);
uint64_t ks_finding_hash(const char *s);
void ks_findings_free(struct ks_posture *p);
void ks_findings_save(struct ks_posture *p);
void ks_findings_load(struct ks_posture *p);
double ks_findings_score(struct ks_posture *p, int64_t now_ms, double *areas);
/* Takes the result into p->results and turns it into Create/Update/Close events. True if any. */
bool ks_findings_apply(struct ks_posture *p, struct ks_pipeline *pl, struct ks_run_result *rr, int64_t now_ms);

/* emit.c */
enum ks_finding_activity { KS_FINDING_CREATE = 1, KS_FINDING_UPDATE = 2, KS_FINDING_CLOSE = 3 };
void ks_emit_finding(struct ks_posture *p, struct ks_pipeline *pl, const struct ks_finding *f,
                     enum ks_finding_activity activity, int64_t now_ms);
void ks_emit_json_event(struct ks_pipeline *pl, const struct ks_ocsf_class *cls, int64_t now_ms,
                        struct json_object *body, const char *message);
/* The queued inventory events of a snapshot ({"class", "body", "message"}), emitted in order. */
void ks_emit_inventory_events(struct ks_pipeline *pl, struct json_object *events, int64_t now_ms);
/* Appends to events the device's body (OCSF device, the rest unmapped) for the inventory inv. */
void ks_inventory_device_event(struct json_object *events, struct json_object *inv, int64_t now_ms);
/* Appends to events one body per user or package that is new, changed or gone since prev. */
void ks_inventory_deltas(struct json_object *events, int class_uid, const char *objkey, struct json_object *prev,
                         struct json_object *cur);

/* report.c */
struct json_object *ks_report_snapshot(struct ks_posture *p, const struct ks_run *run, int64_t now_ms);
struct json_object *ks_report_scores(struct ks_posture *p, int64_t now_ms);

/* worker.c */
void ks_run_free(struct ks_run *run);
/* The jobs, on the posture thread or in the caller. */
struct ks_run *ks_job_snapshot(struct ks_posture *p, int64_t now_ms);
struct ks_run *ks_job_checks(struct ks_posture *p, unsigned trigger);
struct ks_run *ks_job_pids(struct ks_posture *p, const uint32_t *pids, size_t n);
int ks_worker_start(struct ks_posture *p, char *err, size_t errlen);
void ks_worker_stop(struct ks_posture *p);
/* From the loop: ask, and take what is done (NULL when nothing). */
void ks_worker_request(struct ks_posture *p, bool snapshot, unsigned trig, struct ks_listener *listeners,
                       size_t n_listeners, uint32_t *pids, size_t n_pids, bool exe_full);
struct ks_run *ks_worker_take(struct ks_posture *p);

#endif
