/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Posture: a catalog of CIS-style checks (data: packaging/posture/catalog.yaml, compiled in, extendable)
 * run by evaluators (code: user/posture/check_*.c) against a root directory, the host inventory, and
 * the findings they produce, scored (docs/posture.md) and streamed as deltas.
 */
#ifndef KANSOKU_POSTURE_H
#define KANSOKU_POSTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "config/posture_cfg.h"
#include "model/risk.h"

struct json_object;

enum ks_area { KS_AREA_DEVICE, KS_AREA_USER, KS_AREA_SYSTEM, KS_AREA_DATA, KS_AREA_MAX };
enum ks_chk_status { KS_CHK_PASS, KS_CHK_FAIL, KS_CHK_ERROR, KS_CHK_NA };

extern const char *const ks_area_names[KS_AREA_MAX];
extern const char *const ks_chk_status_names[];
int ks_area_parse(const char *s);

/* One failing item of a check that looks at many things (a port, a file, an account). */
struct ks_check_item {
	char *key;
	char *actual;
};

struct ks_check_result {
	enum ks_chk_status status;
	char expected[256];
	char actual[768];
	char reason[512]; /* why error / not applicable */
	struct ks_check_item *items;
	size_t n_items, cap_items;
};

void ks_result_reset(struct ks_check_result *r);
void ks_result_free(struct ks_check_result *r);
/* Fill and return the status (printf-style text). */
int ks_result_error(struct ks_check_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ks_result_na(struct ks_check_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ks_result_expected(struct ks_check_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ks_result_actual(struct ks_check_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds a failing item (the status becomes fail). */
void ks_result_item(struct ks_check_result *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- the environment checks read: a root directory and the live model ---- */

struct ks_listener {
	char proto[4]; /* tcp / udp */
	char addr[64]; /* printable local address */
	uint16_t port;
	bool loopback;
	uint32_t pid; /* 0 when unknown */
	char comm[64];
};

struct ks_proc_exe {
	uint32_t pid;
	char *exe; /* readlink text, " (deleted)" kept */
};

struct ks_posture_env;
/* Lists the host's listening sockets (the daemon's network model); caller frees. On the loop only. */
typedef struct ks_listener *(*ks_listeners_fn)(void *ctx, size_t *n);

struct ks_posture_env *ks_posture_env_new(const struct ks_posture_cfg *cfg, char *err, size_t errlen);
void ks_posture_env_free(struct ks_posture_env *e);
/* The model's listeners (the env takes the array; NULL, 0: none). The kernel's own list is added. */
void ks_posture_env_set_model_listeners(struct ks_posture_env *e, struct ks_listener *v, size_t n);
/* The device id the daemon's events carry, and where it came from: the inventory of the live host shows
 * it (it may have been generated under state_dir); an image under another root is read for its own. */
void ks_posture_env_set_device(struct ks_posture_env *e, const char *uid, const char *source);
/* Called every few milliseconds of work (posture's CPU budget). */
void ks_posture_env_set_yield(struct ks_posture_env *e, void (*fn)(void *), void *ctx);
/* Forget cached facts (files, walk results) so the next run reads them again; walk too if full. */
void ks_posture_env_invalidate(struct ks_posture_env *e, bool walk);
/* Forget only the live facts (processes, listening sockets): a re-score reads them again. */
void ks_posture_env_forget_live(struct ks_posture_env *e);

/* ---- evaluators and the catalog ---- */

/* what re-runs a check between snapshots: live-model changes, a finished filesystem walk */
enum { KS_TRIG_PORTS = 1, KS_TRIG_EXEC = 2, KS_TRIG_WALK = 4 };

struct ks_evaluator {
	const char *name;
	unsigned triggers;
	/* Validates params at catalog load; returns 0 or -1 with err. */
	int (*validate)(struct json_object *params, char *err, size_t errlen);
	/* Returns the result status. */
	int (*run)(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r);
	/* Optional, for KS_TRIG_EXEC: only the processes that just exec'd (items found, none closed). */
	int (*run_pids)(struct ks_posture_env *e, struct json_object *params, const uint32_t *pids, size_t n,
	                struct ks_check_result *r);
};

const struct ks_evaluator *ks_evaluator_find(const char *name);

struct ks_check {
	const char *id, *title, *reference, *remediation;
	enum ks_area area;
	enum ks_sev sev;
	const struct ks_evaluator *ev;
	struct json_object *params; /* owned by the catalog document */
	bool enabled;
};

struct ks_catalog {
	struct ks_check *checks;
	size_t n;
	struct json_object *docs[9]; /* the parsed catalog files (the strings above live in them) */
	int n_docs;
};

/* The built-in catalog, then each extra file (a check with a known id replaces it), then the disabled
 * list. Returns NULL with err naming the file, the check and the field. */
struct ks_catalog *ks_catalog_load(const struct ks_posture_cfg *cfg, char *err, size_t errlen);
/* One catalog text (YAML) added to cat; name is for messages. */
int ks_catalog_add_text(struct ks_catalog *cat, const char *name, const char *text, size_t len, char *err,
                        size_t errlen);
void ks_catalog_free(struct ks_catalog *cat);
const struct ks_check *ks_catalog_find(const struct ks_catalog *cat, const char *id);
/* YAML text -> json-c (mappings, sequences, scalars as strings). NULL with err (line, column). */
struct json_object *ks_yaml_to_json(const char *text, size_t len, char *err, size_t errlen);

/* Runs one check. */
int ks_check_run(struct ks_posture_env *e, const struct ks_check *c, struct ks_check_result *r);

/* ---- inventory ---- */
struct json_object *ks_inventory_device(struct ks_posture_env *e);
struct json_object *ks_inventory_packages(struct ks_posture_env *e, char *err, size_t errlen);
struct json_object *ks_inventory_users(struct ks_posture_env *e);
struct json_object *ks_inventory_kernel_security(struct ks_posture_env *e);
struct json_object *ks_inventory_listeners(struct ks_posture_env *e);
struct json_object *ks_listeners_json(const struct ks_listener *l, size_t n);
struct json_object *ks_inventory_processes(struct ks_posture_env *e);

/* ---- scores ---- */
/* Age factor of a finding open for age_s seconds at severity sev (docs/posture.md). */

/* ---- the engine the daemon runs ---- */
struct ks_pipeline;
struct ks_posture;

struct ks_posture *ks_posture_new(const struct ks_posture_cfg *cfg, const char *state_dir, char *err, size_t errlen);
void ks_posture_free(struct ks_posture *p);
/* The daemon's device id and where it came from, for the live host's inventory; before ks_posture_start
 * (the posture thread reads it). */
void ks_posture_set_device(struct ks_posture *p, const char *uid, const char *source);
/* Daemon mode: evaluations move to the posture thread (SCHED_IDLE, under a CPU budget); listeners
 * (called on the loop) is the model's listener source. Returns 0, or -1 with err. */
int ks_posture_start(struct ks_posture *p, ks_listeners_fn listeners, void *listeners_ctx, char *err, size_t errlen);
/* Full evaluation: inventory, every check, scores; emits the deltas and the snapshot event. In place
 * without a posture thread; with one, the same as ks_posture_request_snapshot. */
void ks_posture_snapshot(struct ks_posture *p, struct ks_pipeline *pl, int64_t now_ms);
/* Asks the posture thread for a snapshot (once: a pending one is not asked again). */
void ks_posture_request_snapshot(struct ks_posture *p);
/* Called on the loop after each snapshot is applied (to answer who waited for it). */
void ks_posture_on_snapshot(struct ks_posture *p, void (*fn)(void *ctx), void *ctx);
/* Timer, on the loop: applies and emits what the posture thread finished, asks for a snapshot when due,
 * hands over the model's listeners once ports_gen settles and the pids that exec'd. */
void ks_posture_tick(struct ks_posture *p, struct ks_pipeline *pl, int64_t now_ms, uint64_t ports_gen);
/* A pipeline evaluator: notes the pids of Launch events for the running-executables check. */
struct ks_decoded;
void ks_posture_eval(void *ctx, struct ks_pipeline *pl, const struct ks_decoded *ev, const char *line, size_t len);
/* Documents for the control socket (caller puts them). */
struct json_object *ks_posture_summary_json(struct ks_posture *p, int64_t now_ms);
struct json_object *ks_posture_findings_json(struct ks_posture *p, int64_t now_ms, int area, int sev);
struct json_object *ks_posture_snapshot_json(struct ks_posture *p);
struct json_object *ks_posture_inventory_json(struct ks_posture *p, const char *kind);
struct json_object *ks_posture_status_json(struct ks_posture *p);
/* The daemon's network model as a listener source (ctx: the pipeline). */
struct ks_listener *ks_posture_model_listeners(void *ctx, size_t *n);

#endif
