// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Detection Findings (OCSF 2004): what a rule match becomes. The finding names the rule (analytic), its
 * ATT&CK techniques and tactics, the process and the login user, and carries the triggering event's
 * objects as evidence (each step's summary for a sequence). Matches are rare and rate-limited by the
 * engine, so parsing the triggering event's JSON here is affordable; the per-event path never does.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge_int.h"
#include "host/host.h"
#include "lib/hash.h"
#include "pipeline/ocsf.h"

/* finding status_id: a detection is New until something resolves it */
enum { KS_OCSF_FINDING_STATUS_NEW = 1 };
/* analytic.type_id: a detection rule is a Rule; OCSF has no type for an allow-list policy, so it is Other,
 * named by analytic.type, and the finding carries the policy object too */
enum { KS_OCSF_ANALYTIC_RULE = 1, KS_OCSF_ANALYTIC_OTHER = 99 };

const struct ks_ocsf_class ks_ocsf_detection_finding = {
    .class_uid = KS_OCSF_DETECTION_FINDING,
    .class_name = "Detection Finding",
    .category_uid = 2,
    .category_name = "Findings",
    .profiles = "[\"host\",\"security_control\"]", /* the copied actor: host; attacks: security_control */
};

/* The 14 ATT&CK enterprise tactics, as rules name them (snake case), with their ids and captions. */
static const struct {
	const char *tag, *uid, *name;
} tactics[] = {
    {"reconnaissance", "TA0043", "Reconnaissance"},
    {"resource_development", "TA0042", "Resource Development"},
    {"initial_access", "TA0001", "Initial Access"},
    {"execution", "TA0002", "Execution"},
    {"persistence", "TA0003", "Persistence"},
    {"privilege_escalation", "TA0004", "Privilege Escalation"},
    {"defense_evasion", "TA0005", "Defense Evasion"},
    {"credential_access", "TA0006", "Credential Access"},
    {"discovery", "TA0007", "Discovery"},
    {"lateral_movement", "TA0008", "Lateral Movement"},
    {"collection", "TA0009", "Collection"},
    {"command_and_control", "TA0011", "Command and Control"},
    {"exfiltration", "TA0010", "Exfiltration"},
    {"impact", "TA0040", "Impact"},
};

static int tactic_of(const char *tag)
{
	for (size_t i = 0; i < sizeof(tactics) / sizeof(tactics[0]); i++)
		if (!strcmp(tag, tactics[i].tag))
			return (int)i;
	return -1;
}

static bool is_technique(const char *tag)
{
	return tag[0] == 'T' && tag[1] >= '0' && tag[1] <= '9';
}

/* attacks[]: one entry per technique tag, each with the rule's first tactic. */
static void encode_attacks(struct ks_jw *w, const struct ks_rule_info *in)
{
	int tactic = -1;
	uint32_t i;

	for (i = 0; i < in->n_tags && tactic < 0; i++)
		tactic = tactic_of(in->tags[i]);
	ks_jw_key(w, "attacks");
	ks_jw_arr_begin(w);
	for (i = 0; i < in->n_tags; i++) {
		const char *t = in->tags[i], *dot;

		if (!is_technique(t))
			continue;
		dot = strchr(t, '.');
		ks_jw_obj_begin(w);
		ks_jw_key(w, "technique");
		ks_jw_obj_begin(w);
		ks_jw_kstr(w, "uid", t, dot ? (size_t)(dot - t) : strlen(t));
		ks_jw_obj_end(w);
		if (dot) {
			ks_jw_key(w, "sub_technique");
			ks_jw_obj_begin(w);
			ks_jw_kcstr(w, "uid", t);
			ks_jw_obj_end(w);
		}
		if (tactic >= 0) {
			ks_jw_key(w, "tactic");
			ks_jw_obj_begin(w);
			ks_jw_kcstr(w, "uid", tactics[tactic].uid);
			ks_jw_kcstr(w, "name", tactics[tactic].name);
			ks_jw_obj_end(w);
		}
		ks_jw_obj_end(w);
	}
	ks_jw_arr_end(w);
}

/* A member of the triggering event, copied as it was encoded. */
static void copy_member(struct ks_jw *w, struct json_object *ev, const char *key)
{
	struct json_object *o;
	const char *json;

	if (!ev || !json_object_object_get_ex(ev, key, &o))
		return;
	json = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	ks_jw_key(w, key);
	ks_jw_json(w, json, strlen(json));
}

/* A posture finding (2003) has no process: the evidence names the finding, its control and its item. */
static void posture_evidence(struct ks_jw *w, struct json_object *ev)
{
	static const char *const keys[][3] = {{"finding_uid", "finding_info", "uid"},
	                                      {"control", "compliance", "control"},
	                                      {"compliance_status", "compliance", "status"},
	                                      {"item", "unmapped", "item"},
	                                      {"actual", "unmapped", "actual"}};
	struct json_object *o, *v;

	if (!ev || !json_object_object_get_ex(ev, "compliance", NULL))
		return;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_object_get_ex(ev, keys[i][1], &o) && json_object_object_get_ex(o, keys[i][2], &v) &&
		    json_object_is_type(v, json_type_string))
			ks_jw_kcstr(w, keys[i][0], json_object_get_string(v));
}

static void encode_evidences(struct ks_judge *j, struct ks_jw *w, struct json_object *ev,
                             const struct ks_rules_match *m)
{
	static const char *const objects[] = {"actor",        "process",         "file",  "src_endpoint",
	                                      "dst_endpoint", "connection_info", "query", NULL};
	struct json_object *o;

	ks_jw_key(w, "evidences");
	ks_jw_arr_begin(w);
	for (uint32_t i = 0; i + 1 < m->n_steps; i++) { /* the earlier steps of a sequence: their summaries */
		ks_jw_obj_begin(w);
		ks_jw_key(w, "data");
		ks_jw_obj_begin(w);
		ks_jw_ku64(w, "step", i + 1);
		ks_jw_ki64(w, "time", ks_host_wall_ms(&j->pl->host, m->steps[i].time_ns));
		ks_jw_ki64(w, "class_uid", m->steps[i].class_uid);
		ks_jw_ki64(w, "activity_id", m->steps[i].activity_id);
		ks_jw_ku64(w, "pid", m->steps[i].pid);
		if (m->steps[i].event_seq) /* 0: judged before it was written (a held Open, maybe folded) */
			ks_jw_ku64(w, "event_sequence", m->steps[i].event_seq);
		ks_jw_kcstr(w, "summary", m->steps[i].text);
		ks_jw_obj_end(w);
		ks_jw_obj_end(w);
	}
	ks_jw_obj_begin(w); /* the event that completed the match */
	for (int k = 0; objects[k]; k++)
		copy_member(w, ev, objects[k]);
	ks_jw_key(w, "data");
	ks_jw_obj_begin(w);
	if (m->n_steps)
		ks_jw_ku64(w, "step", m->n_steps);
	if (ev && json_object_object_get_ex(ev, "class_uid", &o))
		ks_jw_ki64(w, "class_uid", json_object_get_int64(o));
	if (ev && json_object_object_get_ex(ev, "activity_name", &o))
		ks_jw_kcstr(w, "activity_name", json_object_get_string(o));
	if (ev && json_object_object_get_ex(ev, "time", &o))
		ks_jw_ki64(w, "time", json_object_get_int64(o));
	if (ev && json_object_object_get_ex(ev, "metadata", &o) && json_object_object_get_ex(o, "uid", &o))
		ks_jw_kcstr(w, "event_uid", json_object_get_string(o));
	posture_evidence(w, ev);
	ks_jw_obj_end(w);
	ks_jw_obj_end(w);
	ks_jw_arr_end(w);
}

static uint64_t finding_key(const struct ks_rules_match *m)
{
	uint64_t h = ks_fnv1a(0xcbf29ce484222325ull, m->rule->id, strlen(m->rule->id));

	h = ks_mix64(h ^ m->proc.pid) ^ ks_mix64(m->proc.start_ns + 1);
	return h ? h : 1;
}

/* The finding's uid: the same while it grows (rule and process), new per daemon start. */
static void finding_uid(const struct ks_judge *j, uint64_t key, char uid[40])
{
	ks_fmt_hex64(uid, key);
	ks_fmt_hex64(uid + 16, ks_mix64(key ^ j->pl->instance));
}

const char *const ks_judge_area_names[] = {"device", "user", "system", "data"};

void ks_finding_analytic(struct ks_jw *w, const char *rule_id, const char *title, bool policy)
{
	ks_jw_key(w, "analytic");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "uid", rule_id);
	ks_jw_kcstr(w, "name", title);
	ks_jw_ki64(w, "type_id", policy ? KS_OCSF_ANALYTIC_OTHER : KS_OCSF_ANALYTIC_RULE);
	ks_jw_kcstr(w, "type", policy ? "Access Policy" : "Rule");
	ks_jw_obj_end(w);
}

static void encode_finding_info(struct ks_jw *w, const struct ks_rules_match *m, const char *uid, int64_t now_ms)
{
	const struct ks_rule_info *in = m->rule;

	ks_jw_key(w, "finding_info");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "uid", uid);
	ks_jw_kcstr(w, "title", in->title);
	if (in->description && in->description[0])
		ks_jw_kcstr(w, "desc", in->description);
	ks_finding_analytic(w, in->id, in->title, in->policy);
	ks_jw_key(w, "types");
	ks_jw_arr_begin(w);
	ks_jw_cstr(w, in->policy ? "Access Outside Policy" : "Detection");
	ks_jw_arr_end(w);
	ks_jw_ki64(w, "last_seen_time", now_ms);
	ks_jw_obj_end(w);
}

/* policy: the access policy the access fell outside of (observed, not yet enforced: is_applied false). */
static void encode_policy(struct ks_jw *w, const struct ks_rule_info *in)
{
	ks_jw_key(w, "policy");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "uid", in->id);
	ks_jw_kcstr(w, "name", in->title);
	if (in->description && in->description[0])
		ks_jw_kcstr(w, "desc", in->description);
	ks_jw_kcstr(w, "type", "Access Policy");
	ks_jw_kbool(w, "is_applied", false);
	ks_jw_key(w, "data");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "resource", in->resource);
	ks_jw_obj_end(w);
	ks_jw_obj_end(w);
}

void ks_judge_on_match(void *ctx, const struct ks_rules_match *m)
{
	struct ks_judge *j = ctx;
	struct ks_pipeline *pl = j->pl;
	struct ks_jw *w = &pl->jw;
	const struct ks_rule_info *in = m->rule;
	struct json_object *ev = NULL;
	uint64_t key = finding_key(m);
	int64_t now_ms = ks_host_wall_ms(&pl->host, j->view.time_ns);
	char uid[40];

	finding_uid(j, key, uid);
	ks_open_finding_note(j, m, key, uid, j->view.time_ns);
	/* encoding the finding reuses the pipeline's buffer, which still holds the triggering event */
	if (!j->evidence_taken) { /* an event judged before it was written is written now (its JSON) */
		size_t len;
		const char *line = ks_pipeline_judged_line(pl, &len);

		ks_jw_reset(&j->evidence_copy);
		if (line)
			ks_jw_raw(&j->evidence_copy, line, len);
		j->evidence_taken = true;
	}
	/* NUL-terminated by the writer; empty when the event could not be encoded (the finding still goes out) */
	ev = j->evidence_copy.len ? json_tokener_parse(j->evidence_copy.buf) : NULL;
	ks_ocsf_begin(pl, &ks_ocsf_detection_finding, m->update ? KS_OCSF_FINDING_UPDATE : KS_OCSF_FINDING_CREATE,
	              m->update ? "Update" : "Create", in->severity_id, now_ms);
	encode_finding_info(w, m, uid, now_ms);
	ks_jw_kstr(w, "message", m->output, m->output_len);
	ks_jw_ku64(w, "count", m->count);
	ks_jw_kbool(w, "is_alert", true);
	ks_jw_ki64(w, "status_id", KS_OCSF_FINDING_STATUS_NEW);
	ks_jw_kcstr(w, "status", "New");
	encode_attacks(w, in);
	if (in->policy)
		encode_policy(w, in);
	copy_member(w, ev, "actor");
	encode_evidences(j, w, ev, m);
	if (in->remediation && in->remediation[0]) {
		ks_jw_key(w, "remediation");
		ks_jw_obj_begin(w);
		ks_jw_kcstr(w, "desc", in->remediation);
		ks_jw_obj_end(w);
	}
	ks_jw_key(w, "unmapped");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "area", ks_judge_area_names[in->area]);
	ks_jw_kcstr(w, "rule_file", in->file ? in->file : "");
	ks_jw_ki64(w, "rule_line", in->line);
	if (m->threshold_count)
		ks_jw_ku64(w, "threshold_count", m->threshold_count);
	if (in->policy)
		ks_jw_kcstr(w, "policy_resource", in->resource);
	ks_jw_obj_end(w);
	ks_jw_obj_end(w);
	json_object_put(ev);
	if (m->update)
		j->updated++;
	else
		j->created++;
	ks_pipeline_emit(pl, KS_OCSF_DETECTION_FINDING);
}
