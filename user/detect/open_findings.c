// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Detections still open: each keeps its finding uid while it grows, scores into its CRSA area with the
 * aging model of posture's findings (model/risk.c), and closes after a quiet period with a Close finding.
 * A fixed table: when it is full, the quietest open detection is closed early (counted) to make room.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/host.h"
#include "judge_int.h"
#include "model/risk.h"
#include "pipeline/ocsf.h"

/* finding status_id: Other, with the reason in status_detail (quiet is not the same as resolved) */
enum { KS_OCSF_FINDING_STATUS_OTHER = 99 };

/* OCSF severity_id (1 informational .. 5 critical, 6 fatal) as the score's severity. */
static enum ks_sev sev_of(int severity_id)
{
	if (severity_id <= 1)
		return KS_SEV_INFO;
	if (severity_id >= 5)
		return KS_SEV_CRITICAL;
	return (enum ks_sev)(severity_id - 1);
}

static void emit_close(struct ks_judge *j, struct ks_pipeline *pl, const struct ks_open_finding *o, uint64_t now_ns,
                       const char *why)
{
	struct ks_jw *w = &pl->jw;
	int64_t now_ms = ks_host_wall_ms(&pl->host, now_ns);

	ks_ocsf_begin(pl, &ks_ocsf_detection_finding, KS_OCSF_FINDING_CLOSE, "Close", o->severity_id, now_ms);
	ks_jw_key(w, "finding_info");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "uid", o->uid);
	ks_jw_kcstr(w, "title", o->title);
	ks_finding_analytic(w, o->rule_id, o->title, o->policy);
	ks_jw_ki64(w, "first_seen_time", ks_host_wall_ms(&pl->host, o->first_ns));
	ks_jw_ki64(w, "last_seen_time", ks_host_wall_ms(&pl->host, o->last_ns));
	ks_jw_obj_end(w);
	if (o->pid)
		ks_ocsf_message(pl, "%s closed: %s (%llu match%s, pid %u)", o->rule_id, why,
		                (unsigned long long)o->count, o->count == 1 ? "" : "es", o->pid);
	else /* a rule on posture's findings: no process did it */
		ks_ocsf_message(pl, "%s closed: %s (%llu match%s, on a posture finding)", o->rule_id, why,
		                (unsigned long long)o->count, o->count == 1 ? "" : "es");
	ks_jw_ku64(w, "count", o->count);
	ks_jw_ki64(w, "status_id", KS_OCSF_FINDING_STATUS_OTHER);
	ks_jw_kcstr(w, "status", "Other");
	ks_jw_kcstr(w, "status_detail", why);
	ks_jw_key(w, "unmapped");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "area", ks_judge_area_names[o->area]);
	ks_jw_obj_end(w);
	ks_ocsf_end(pl);
	j->closed++;
	ks_pipeline_emit(pl, KS_OCSF_DETECTION_FINDING);
}

static struct ks_open_finding *slot_for(struct ks_judge *j, uint64_t key, struct ks_open_finding **oldest)
{
	struct ks_open_finding *free_slot = NULL;

	*oldest = NULL;
	for (size_t i = 0; i < KS_JUDGE_OPEN_MAX; i++) {
		struct ks_open_finding *o = &j->open[i];

		if (o->key == key)
			return o;
		if (!o->key && !free_slot)
			free_slot = o;
		if (o->key && (!*oldest || o->last_ns < (*oldest)->last_ns))
			*oldest = o;
	}
	return free_slot;
}

void ks_open_finding_note(struct ks_judge *j, const struct ks_rules_match *m, uint64_t key, const char *uid,
                          uint64_t now_ns)
{
	struct ks_open_finding *oldest, *o;

	if (!j->open && !(j->open = calloc(KS_JUDGE_OPEN_MAX, sizeof(*j->open))))
		return;
	o = slot_for(j, key, &oldest);
	if (!o) { /* full: the quietest goes first, said as such */
		emit_close(j, j->pl, oldest, now_ns, "closed early: too many open detections");
		j->closed_early++;
		memset(oldest, 0, sizeof(*oldest));
		o = oldest;
	}
	if (o->key != key) {
		*o = (struct ks_open_finding){.key = key,
		                              .first_ns = now_ns,
		                              .severity_id = m->rule->severity_id,
		                              .area = m->rule->area,
		                              .policy = m->rule->policy,
		                              .pid = m->proc.pid};
		snprintf(o->uid, sizeof(o->uid), "%s", uid);
		snprintf(o->rule_id, sizeof(o->rule_id), "%s", m->rule->id);
		snprintf(o->title, sizeof(o->title), "%s", m->rule->title);
	}
	o->last_ns = now_ns;
	o->count = m->count > o->count ? m->count : o->count;
}

void ks_judge_tick(struct ks_judge *j, struct ks_pipeline *pl, uint64_t now_ns)
{
	if (!j || !j->open || now_ns < j->next_tick_ns)
		return;
	j->next_tick_ns = now_ns + NSEC_PER_SEC; /* a second is fine grain for a quiet period in minutes */
	for (size_t i = 0; i < KS_JUDGE_OPEN_MAX; i++) {
		struct ks_open_finding *o = &j->open[i];

		if (!o->key || o->last_ns + j->quiet_ns > now_ns)
			continue;
		emit_close(j, pl, o, now_ns, "quiet period over");
		memset(o, 0, sizeof(*o));
	}
}

struct json_object *ks_judge_scores_json(struct ks_judge *j, const struct ks_posture_cfg *weights, uint64_t now_ns)
{
	struct json_object *doc = json_object_new_object(), *areas = json_object_new_object();
	double score[KS_RAREA_DATA + 1] = {0}, host = 0;
	size_t open[KS_RAREA_DATA + 1] = {0}, n = 0;

	for (size_t i = 0; j->open && i < KS_JUDGE_OPEN_MAX; i++) {
		const struct ks_open_finding *o = &j->open[i];
		double s;

		if (!o->key)
			continue;
		s = ks_score_finding(weights, sev_of(o->severity_id), (int64_t)((now_ns - o->first_ns) / NSEC_PER_SEC));
		score[o->area] += s;
		host += s;
		open[o->area]++;
		n++;
	}
	for (int a = 0; a <= KS_RAREA_DATA; a++) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "score", json_object_new_double(score[a]));
		json_object_object_add(x, "open", json_object_new_int64((int64_t)open[a]));
		json_object_object_add(areas, ks_judge_area_names[a], x);
	}
	json_object_object_add(doc, "host", json_object_new_double(host));
	json_object_object_add(doc, "open", json_object_new_int64((int64_t)n));
	json_object_object_add(doc, "areas", areas);
	return doc;
}
