/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The judge's private state, shared by judge.c (views, loading) and finding.c (Detection Findings). */
#ifndef KANSOKU_RULES_JUDGE_INT_H
#define KANSOKU_RULES_JUDGE_INT_H

#include "lib/json.h"
#include "lib/time.h"
#include "model/netmodel.h"
#include "model/proctable.h"
#include "detect/judge.h"
#include "rules/rules.h"

#define KS_JUDGE_ARGS_MAX 256
/* A process's sequence/threshold state outlives its exit this long: records of other rings (its last
 * connections, its last file accesses) can be read after its Terminate. As long as the process table
 * keeps exited entries. */
#define KS_JUDGE_EXIT_GRACE_NS (5 * NSEC_PER_SEC)
#define KS_JUDGE_EXITS_MAX 8192 /* exits waiting for their grace period; beyond, the oldest goes at once */

#define KS_JUDGE_OPEN_MAX 4096 /* open detections remembered for their uid, score and Close */

/* A detection still open: its uid stays while it grows; it scores until its quiet period closes it. */
struct ks_open_finding {
	uint64_t key; /* hash of (rule id, pid, start); 0: a free slot */
	char uid[40];
	char rule_id[65];
	char title[128];
	int severity_id;
	enum ks_rarea area;
	bool policy; /* an access policy's, not a detection rule's */
	uint32_t pid;
	uint64_t first_ns, last_ns, count;
};

struct ks_judge_exit {
	uint32_t pid;
	uint64_t start_ns, at_ns;
};
struct ks_judge {
	struct ks_rules *rules; /* NULL until a load succeeded */
	struct ks_rview view;
	char cmdline[4096], parent_cmdline[4096], unit[256];
	const char *args[KS_JUDGE_ARGS_MAX];
	const char *lineage[KS_LINEAGE_MAX];
	struct ks_rproc_id ancestors[KS_LINEAGE_MAX];
	/* during one evaluation */
	struct ks_pipeline *pl;
	bool evidence_taken; /* the triggering event's JSON is in evidence_copy (a finding reuses pl->jw) */
	struct ks_jw evidence_copy;
	struct ks_judge_exit exits[KS_JUDGE_EXITS_MAX]; /* a ring, oldest first */
	uint32_t exits_head, exits_n;
	struct ks_open_finding *open; /* KS_JUDGE_OPEN_MAX, made at the first finding */
	uint64_t quiet_ns, next_tick_ns;
	uint64_t evaluated, no_candidates, created, updated, closed, closed_early, loads;
	char last_error[512];
};

/* The engine's sink: one match -> one Detection Finding (Create, or Update when it grew). */
void ks_judge_on_match(void *ctx, const struct ks_rules_match *m);
/* finding.c: the CRSA area names, and finding_info.analytic for a rule or an access policy. */
extern const char *const ks_judge_area_names[];
void ks_finding_analytic(struct ks_jw *w, const char *rule_id, const char *title, bool policy);
/* open_findings.c: a finding made or grown (uid: its finding_info.uid). */
void ks_open_finding_note(struct ks_judge *j, const struct ks_rules_match *m, uint64_t key, const char *uid,
                          uint64_t now_ns);

#endif
