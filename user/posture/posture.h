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
	char exe[4096]; /* readlink text, " (deleted)" kept */
};

struct ks_penv;
/* Lists the host's listening sockets (the daemon's network model). NULL: read <root>/proc/net. */
typedef struct ks_listener *(*ks_listeners_fn)(void *ctx, size_t *n);

struct ks_penv *ks_penv_new(const struct ks_posture_cfg *cfg, char *err, size_t errlen);
void ks_penv_free(struct ks_penv *e);
/* Where listeners come from (the live model); without, <root>/proc/net/{tcp,tcp6,udp,udp6}. */
void ks_penv_set_listeners(struct ks_penv *e, ks_listeners_fn fn, void *ctx);
/* Called every few hundred filesystem entries during a walk so the caller's loop keeps draining. */
void ks_penv_set_yield(struct ks_penv *e, void (*fn)(void *), void *ctx);
/* Forget cached facts (files, walk results) so the next run reads them again; walk too if full. */
void ks_penv_invalidate(struct ks_penv *e, bool walk);
/* Forget only the live facts (processes, listening sockets): a re-score reads them again. */
void ks_penv_forget_live(struct ks_penv *e);

/* ---- evaluators and the catalog ---- */

/* what re-runs a check between snapshots: live-model changes, a finished filesystem walk */
enum { KS_TRIG_PORTS = 1, KS_TRIG_EXEC = 2, KS_TRIG_WALK = 4 };

struct ks_evaluator {
	const char *name;
	unsigned triggers;
	/* Validates params at catalog load; returns 0 or -1 with err. */
	int (*validate)(struct json_object *params, char *err, size_t errlen);
	/* Returns the result status. */
	int (*run)(struct ks_penv *e, struct json_object *params, struct ks_check_result *r);
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
int ks_check_run(struct ks_penv *e, const struct ks_check *c, struct ks_check_result *r);

/* ---- inventory ---- */
struct json_object *ks_inventory_device(struct ks_penv *e);
struct json_object *ks_inventory_packages(struct ks_penv *e, char *err, size_t errlen);
struct json_object *ks_inventory_users(struct ks_penv *e);
struct json_object *ks_inventory_kernel_security(struct ks_penv *e);
struct json_object *ks_inventory_listeners(struct ks_penv *e);
struct json_object *ks_inventory_processes(struct ks_penv *e);

/* ---- scores ---- */
/* Age factor of a finding open for age_s seconds at severity sev (docs/posture.md). */
double ks_score_age_factor(const struct ks_posture_cfg *cfg, enum ks_sev sev, int64_t age_s);
double ks_score_finding(const struct ks_posture_cfg *cfg, enum ks_sev sev, int64_t age_s);

/* ---- the engine the daemon runs ---- */
struct ks_pipeline;
struct ks_posture;

struct ks_posture *ks_posture_new(const struct ks_posture_cfg *cfg, const char *state_dir, char *err, size_t errlen);
void ks_posture_free(struct ks_posture *p);
struct ks_penv *ks_posture_env(struct ks_posture *p);
/* Daemon mode: filesystem walks run on a background thread at idle priority. */
void ks_posture_background_walks(struct ks_posture *p);
/* Full evaluation: inventory, every check, scores; emits the deltas and the snapshot event. */
void ks_posture_snapshot(struct ks_posture *p, struct ks_pipeline *pl, int64_t now_ms);
/* Timer: a snapshot when due, re-runs of checks whose live inputs changed (ports_gen, exec_gen). */
void ks_posture_tick(struct ks_posture *p, struct ks_pipeline *pl, int64_t now_ms, uint64_t ports_gen,
                     uint64_t exec_gen);
/* Documents for the control socket (caller puts them). */
struct json_object *ks_posture_summary_json(struct ks_posture *p, int64_t now_ms);
struct json_object *ks_posture_findings_json(struct ks_posture *p, int64_t now_ms, int area, int sev);
struct json_object *ks_posture_snapshot_json(struct ks_posture *p);
struct json_object *ks_posture_inventory_json(struct ks_posture *p, const char *kind);
struct json_object *ks_posture_status_json(struct ks_posture *p);
/* The daemon's network model as a listener source (ctx: the pipeline). */
struct ks_listener *ks_posture_model_listeners(void *ctx, size_t *n);

#endif
