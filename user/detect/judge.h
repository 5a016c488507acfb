/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The rule engine in the daemon: an evaluator of the pipeline. It fills the engine's view from each decoded
 * event and the live model (no JSON parsing per event), judges it, and turns matches into OCSF Detection
 * Findings (2004) emitted through the same pipeline. Rules load whole or not at all; a reload swaps them.
 */
#ifndef KANSOKU_RULES_JUDGE_H
#define KANSOKU_RULES_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "pipeline/pipeline.h"

struct json_object;
struct ks_judge;

struct ks_judge *ks_judge_new(void);
void ks_judge_free(struct ks_judge *j);

/* Reads the built-in rules, then cfg's paths (globs, in order), applies cfg's disable list and compiles. On
 * success the new set replaces the running one and 0 is returned; on any error nothing changes and err
 * says FILE:LINE:COLUMN and what is wrong. */
int ks_judge_load(struct ks_judge *j, const struct ks_rules_cfg *cfg, char *err, size_t errlen);

/* The evaluator registered with ks_pipeline_add_evaluator (ctx: the judge). */
void ks_judge_event(void *ctx, struct ks_pipeline *pl, const struct ks_decoded *ev, const char *line, size_t len);

/* Closes the detections quiet for longer than rules.quiet_period (a Close finding each). Call on the timer. */
void ks_judge_tick(struct ks_judge *j, struct ks_pipeline *pl, uint64_t now_ns);
/* The open detections' CRSA scores per area and for the host (weights and aging as posture's findings). */
struct json_object *ks_judge_scores_json(struct ks_judge *j, const struct ks_posture_cfg *weights, uint64_t now_ns);

/* `kansoku rules list`: every rule with its counters and cost. */
struct json_object *ks_judge_rules_json(struct ks_judge *j);
/* For `status`: rules loaded, findings, state size, last load error. */
struct json_object *ks_judge_status_json(struct ks_judge *j);

#endif
