// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The rule engine as a pipeline evaluator: the engine's view filled from the decoded event and the process
 * table, one evaluation, matches handed to finding.c. Loading builds a whole new engine and swaps it in.
 */
#include <errno.h>
#include <glob.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/users.h"
#include "lib/hash.h"
#include "judge_int.h"
#include "lib/log.h"
#include "model/proctable.h"
#include "pipeline/ocsf.h"

/* The built-in rules, compiled in (rules_builtin.S, generated from the files in packaging/rules/). */
struct ks_rules_text {
	const char *name, *text;
};
extern const struct ks_rules_text ks_rules_builtin[];

struct ks_judge *ks_judge_new(void)
{
	struct ks_judge *j = calloc(1, sizeof(*j));

	if (j)
		ks_jw_init(&j->evidence_copy);
	return j;
}

void ks_judge_free(struct ks_judge *j)
{
	if (!j)
		return;
	ks_rules_free(j->rules);
	ks_jw_free(&j->evidence_copy);
	free(j->open);
	free(j);
}

static int add_paths(struct ks_rules_builder *b, const char (*paths)[1024], int n_paths, const char *key,
                     struct ks_rules_err *re, char *err, size_t errlen)
{
	for (int i = 0; i < n_paths; i++) {
		glob_t g;
		int rc = glob(paths[i], 0, NULL, &g);

		if (rc == GLOB_NOMATCH)
			continue; /* an empty or absent rules.d is normal */
		if (rc) {
			snprintf(err, errlen, "%s: %s: cannot list: %s", key, paths[i], strerror(errno));
			return -1;
		}
		for (size_t k = 0; k < g.gl_pathc; k++)
			if (ks_rules_add_file(b, g.gl_pathv[k], re)) {
				globfree(&g);
				return -1;
			}
		globfree(&g);
	}
	return 0;
}

int ks_judge_load(struct ks_judge *j, const struct ks_rules_cfg *cfg, char *err, size_t errlen)
{
	struct ks_rules_builder *b = ks_rules_builder_new();
	struct ks_rules_opts opts = {.state_max = cfg->state_max,
	                             .dedupe_ns = (uint64_t)cfg->dedupe_window_s * NSEC_PER_SEC,
	                             .rate_per_s = cfg->rate_per_s,
	                             .rate_burst = cfg->rate_burst};
	struct ks_rules_err re = {0};
	struct ks_rules *r = NULL;
	int rc = -1;

	err[0] = '\0';
	if (!b) {
		snprintf(err, errlen, "rules: out of memory");
		goto cleanup;
	}
	for (const struct ks_rules_text *t = ks_rules_builtin; cfg->builtin && t->name; t++)
		if (ks_rules_add_text(b, t->name, t->text, strlen(t->text), &re))
			goto rule_error;
	if (add_paths(b, cfg->paths, cfg->n_paths, "rules.paths", &re, err, errlen) ||
	    add_paths(b, cfg->policy_paths, cfg->n_policy_paths, "rules.policy_paths", &re, err, errlen)) {
		if (err[0])
			goto cleanup;
		goto rule_error;
	}
	for (int i = 0; i < cfg->n_disable; i++)
		if (ks_rules_disable(b, cfg->disable[i]) < 0) {
			snprintf(err, errlen, "rules.disable: out of memory");
			goto cleanup;
		}
	r = ks_rules_build(b, &opts, &re);
	if (!r)
		goto rule_error;
	ks_rules_set_sink(r, ks_judge_on_match, j);
	j->quiet_ns = (uint64_t)cfg->quiet_period_s * NSEC_PER_SEC;
	ks_rules_free(j->rules);
	j->rules = r;
	j->loads++;
	j->last_error[0] = '\0';
	rc = 0;
	goto cleanup;
rule_error:
	ks_rules_err_str(&re, err, errlen);
cleanup:
	if (rc)
		snprintf(j->last_error, sizeof(j->last_error), "%s", err);
	ks_rules_builder_free(b);
	return rc;
}

/* The subject process's fields: the same for every class (process of 1007, actor.process otherwise). */
static void fill_process(struct ks_judge *j, struct ks_pipeline *pl, const struct ks_proc *p)
{
	struct ks_rview *v = &j->view;
	const struct ks_proc *anc[KS_LINEAGE_MAX];
	struct ks_proc *parent = ks_proc_parent(pl->procs, p);
	size_t pos = 0, len, n, i;
	const char *arg, *name;
	uint32_t k = 0;

	ks_rview_str(v, KS_RF_PROC_UID, p->id);
	ks_rview_str(v, KS_RF_PROC_NAME, p->exe ? ks_basename(p->exe) : p->comm);
	if (p->exe) {
		ks_rview_str(v, KS_RF_PROC_EXE, p->exe);
		ks_rview_str(v, KS_RF_PROC_EXE_NAME, ks_basename(p->exe));
	}
	if (p->args && ks_rules_needs(j->rules, KS_RF_PROC_CMDLINE)) {
		len = ks_proc_cmdline(p, j->cmdline, sizeof(j->cmdline));
		ks_rview_strn(v, KS_RF_PROC_CMDLINE, j->cmdline, len);
	}
	while (p->args && k < KS_JUDGE_ARGS_MAX && (arg = ks_proc_arg_next(p, &pos, &len)))
		j->args[k++] = arg; /* argv is NUL-separated as the kernel keeps it: each one ends in its NUL */
	ks_rview_list(v, KS_RF_PROC_ARGS, j->args, k);
	if (p->script)
		ks_rview_str(v, KS_RF_PROC_SCRIPT, p->script);
	ks_rview_bool(v, KS_RF_PROC_EXE_DELETED, (p->flags & KS_F_DELETED) != 0);
	ks_rview_bool(v, KS_RF_PROC_EXE_MEMFD, (p->flags & KS_F_PSEUDO) != 0);
	ks_rview_bool(v, KS_RF_PROC_STDIO_SOCKET, (p->flags & KS_F_STDIO_INET) != 0);
	ks_rview_int(v, KS_RF_PROC_USER_UID, p->creds.uid);
	if ((name = ks_users_name(pl->users, p->creds.uid)))
		ks_rview_str(v, KS_RF_PROC_USER_NAME, name);
	ks_rview_int(v, KS_RF_PROC_EUID, p->creds.euid);
	ks_rview_int(v, KS_RF_PROC_GID, p->creds.gid);
	if (p->creds.loginuid != KS_NO_ID)
		ks_rview_int(v, KS_RF_PROC_LOGINUID, p->creds.loginuid);
	if (p->tty[0])
		ks_rview_str(v, KS_RF_PROC_TTY, p->tty);
	ks_rview_bool(v, KS_RF_PROC_HAS_TTY, p->tty[0] != '\0');
	if (p->cgroup) {
		ks_rview_str(v, KS_RF_PROC_CGROUP, p->cgroup);
		if (ks_rules_unit_from_cgroup(p->cgroup, j->unit, sizeof(j->unit)))
			ks_rview_str(v, KS_RF_PROC_UNIT, j->unit);
	}
	if (parent) {
		ks_rview_int(v, KS_RF_PARENT_PID, parent->pid);
		ks_rview_str(v, KS_RF_PARENT_NAME, parent->exe ? ks_basename(parent->exe) : parent->comm);
		if (parent->exe)
			ks_rview_str(v, KS_RF_PARENT_EXE, parent->exe);
		if (parent->args && ks_rules_needs(j->rules, KS_RF_PARENT_CMDLINE)) {
			len = ks_proc_cmdline(parent, j->parent_cmdline, sizeof(j->parent_cmdline));
			ks_rview_strn(v, KS_RF_PARENT_CMDLINE, j->parent_cmdline, len);
		}
		ks_rview_int(v, KS_RF_PARENT_USER_UID, parent->creds.uid);
	}
	n = ks_proc_lineage(pl->procs, p, anc, KS_LINEAGE_MAX);
	for (i = k = 0; i < n; i++) {
		j->ancestors[i] = (struct ks_rproc_id){.pid = anc[i]->pid, .start_ns = anc[i]->start_ns};
		if (anc[i]->exe)
			j->lineage[k++] = anc[i]->exe;
	}
	ks_rview_list(v, KS_RF_PROC_LINEAGE, j->lineage, k);
	v->ancestors = j->ancestors;
	v->n_ancestors = (uint32_t)n;
}

/* A posture finding: no process did it. Its subject for dedupe and for the detection's uid is the finding
 * itself (pid 0 and the hash of its uid), so two controls turned off at once are two detections. */
static void fill_finding(struct ks_rview *v, const struct ks_decoded_finding *f)
{
	v->proc = (struct ks_rproc_id){.pid = 0, .start_ns = ks_fnv1a(0xcbf29ce484222325ull, f->uid, strlen(f->uid))};
	ks_rview_str(v, KS_RF_FINDING_UID, f->uid);
	ks_rview_str(v, KS_RF_FINDING_TITLE, f->title);
	ks_rview_str(v, KS_RF_FINDING_DESC, f->desc);
	ks_rview_str(v, KS_RF_COMPLIANCE_CONTROL, f->control);
	ks_rview_str(v, KS_RF_COMPLIANCE_STATUS, f->compliance_status);
	ks_rview_int(v, KS_RF_COMPLIANCE_STATUS_ID, f->compliance_status_id);
	ks_rview_str(v, KS_RF_POSTURE_AREA, f->area);
	ks_rview_str(v, KS_RF_POSTURE_SEVERITY, f->severity);
	ks_rview_str(v, KS_RF_POSTURE_ITEM, f->item);
	ks_rview_str(v, KS_RF_POSTURE_EXPECTED, f->expected);
	ks_rview_str(v, KS_RF_POSTURE_ACTUAL, f->actual);
	ks_rview_bool(v, KS_RF_POSTURE_AT_START, f->found_at_start);
}

static void fill_event(struct ks_judge *j, struct ks_pipeline *pl, const struct ks_decoded *ev)
{
	struct ks_rview *v = &j->view;
	uint32_t login = ev->loginuid != KS_NO_ID ? ev->loginuid : ev->uid;
	const char *name;

	ks_rview_reset(v);
	v->time_ns = ev->ts_ns;
	v->event_seq = pl->seq; /* the event just handed to the sinks */
	v->proc = (struct ks_rproc_id){.pid = ev->pid, .start_ns = ev->start_ns};
	ks_rview_int(v, KS_RF_CLASS_UID, ev->class_uid);
	ks_rview_int(v, KS_RF_ACTIVITY_ID, ev->activity_id);
	ks_rview_str(v, KS_RF_ACTIVITY_NAME, ev->activity_name);
	ks_rview_int(v, KS_RF_SEVERITY_ID, ev->severity_id);
	ks_rview_str(v, KS_RF_SEVERITY, ks_rseverity_caption(ev->severity_id));
	if (ev->status_id)
		ks_rview_int(v, KS_RF_STATUS_ID, ev->status_id);
	if (ev->status_detail)
		ks_rview_str(v, KS_RF_STATUS_DETAIL, ev->status_detail);
	if (ev->finding) {
		fill_finding(v, ev->finding);
		return;
	}
	if (ev->class_uid == KS_OCSF_FILE_ACTIVITY)
		ks_rview_int(v, KS_RF_COUNT, (int64_t)ev->count);
	if (ev->has_exit_code)
		ks_rview_int(v, KS_RF_EXIT_CODE, ev->exit_code);
	ks_rview_int(v, KS_RF_PROC_PID, ev->pid);
	if (ev->proc)
		fill_process(j, pl, ev->proc);
	else
		ks_rview_int(v, KS_RF_PROC_USER_UID, ev->uid);
	/* the person behind it: the login uid survives sudo and su (the real uid when there is no login) */
	ks_rview_int(v, KS_RF_ACTOR_USER_UID, login);
	if ((name = ks_users_name(pl->users, login)))
		ks_rview_str(v, KS_RF_ACTOR_USER_NAME, name);
	if (ev->file_path) {
		ks_rview_str(v, KS_RF_FILE_PATH, ev->file_path);
		ks_rview_str(v, KS_RF_FILE_NAME, ks_basename(ev->file_path));
	}
	if (ev->file_result_path)
		ks_rview_str(v, KS_RF_FILE_RESULT_PATH, ev->file_result_path);
	if (ev->src_addr) {
		ks_rview_ip(v, KS_RF_SRC_IP, ev->family, ev->src_addr);
		ks_rview_int(v, KS_RF_SRC_PORT, ev->src_port);
	}
	if (ev->dst_addr) {
		ks_rview_ip(v, KS_RF_DST_IP, ev->family, ev->dst_addr);
		ks_rview_int(v, KS_RF_DST_PORT, ev->dst_port);
	}
	if (ev->direction_id) {
		ks_rview_int(v, KS_RF_DIRECTION_ID, ev->direction_id);
		ks_rview_str(v, KS_RF_DIRECTION, ev->direction_id == KS_OCSF_DIR_INBOUND ? "Inbound" : "Outbound");
	}
	if (ev->proto)
		ks_rview_str(v, KS_RF_PROTOCOL_NAME, ks_net_proto_name(ev->proto));
	if (ev->query_hostname)
		ks_rview_str(v, KS_RF_QUERY_HOSTNAME, ev->query_hostname);
	if (ev->query_type)
		ks_rview_str(v, KS_RF_QUERY_TYPE, ev->query_type);
	if (ev->has_setid) {
		ks_rview_bool(v, KS_RF_FILE_SETUID, ev->setuid);
		ks_rview_bool(v, KS_RF_FILE_SETGID, ev->setgid);
	}
}

/* Sequence and threshold state lives as long as its process, and a grace period more (KS_JUDGE_EXIT_GRACE_NS). */
static void release_oldest_exit(struct ks_judge *j)
{
	const struct ks_judge_exit *x = &j->exits[j->exits_head];

	ks_rules_proc_exit(j->rules, x->pid, x->start_ns);
	j->exits_head = (j->exits_head + 1) % KS_JUDGE_EXITS_MAX;
	j->exits_n--;
}

static void release_exits(struct ks_judge *j, uint64_t now_ns)
{
	while (j->exits_n && j->exits[j->exits_head].at_ns + KS_JUDGE_EXIT_GRACE_NS < now_ns)
		release_oldest_exit(j);
}

static void note_exit(struct ks_judge *j, const struct ks_decoded *ev)
{
	if (j->exits_n == KS_JUDGE_EXITS_MAX)
		release_oldest_exit(j);
	j->exits[(j->exits_head + j->exits_n) % KS_JUDGE_EXITS_MAX] =
	    (struct ks_judge_exit){.pid = ev->pid, .start_ns = ev->start_ns, .at_ns = ev->ts_ns};
	j->exits_n++;
}

void ks_judge_event(void *ctx, struct ks_pipeline *pl, const struct ks_decoded *ev, const char *line, size_t len)
{
	struct ks_judge *j = ctx;

	if (!j->rules)
		return;
	(void)len; /* the evidence asks the pipeline for the line (ks_pipeline_judged_line): only on a match */
	j->evaluated++;
	if (!ks_rules_may_match(j->rules, ev->class_uid, ev->activity_id)) {
		j->no_candidates++; /* no rule can match this class and activity: no view to fill */
		goto exits;
	}
	fill_event(j, pl, ev);
	/* an event judged before it is written has no sequence yet (a held Open may even be folded away) */
	if (!line)
		j->view.event_seq = 0;
	j->pl = pl;
	j->evidence_taken = false;
	ks_rules_eval(j->rules, &j->view, ev->ts_ns);
	j->pl = NULL;
exits:
	release_exits(j, ev->ts_ns);
	if (ev->class_uid == KS_OCSF_PROCESS_ACTIVITY && ev->activity_id == KS_OCSF_PROC_TERMINATE)
		note_exit(j, ev);
}

struct json_object *ks_judge_rules_json(struct ks_judge *j)
{
	struct json_object *arr = json_object_new_array();
	size_t i, n = j->rules ? ks_rules_count(j->rules) : 0;

	for (i = 0; i < n; i++) {
		const struct ks_rule_info *in = ks_rules_info(j->rules, i);
		struct json_object *o = json_object_new_object(), *tags = json_object_new_array();

		json_object_object_add(o, "id", json_object_new_string(in->id));
		json_object_object_add(o, "title", json_object_new_string(in->title));
		json_object_object_add(o, "severity", json_object_new_string(in->severity));
		json_object_object_add(o, "enabled", json_object_new_boolean(in->enabled));
		json_object_object_add(o, "file", json_object_new_string(in->file ? in->file : ""));
		json_object_object_add(o, "line", json_object_new_int(in->line));
		for (uint32_t t = 0; t < in->n_tags; t++)
			json_object_array_add(tags, json_object_new_string(in->tags[t]));
		json_object_object_add(o, "tags", tags);
		json_object_object_add(o, "any_class", json_object_new_boolean(in->any_class));
		json_object_object_add(o, "kind", json_object_new_string(in->policy ? "policy" : "rule"));
		if (in->policy)
			json_object_object_add(o, "resource", json_object_new_string(in->resource));
		json_object_object_add(o, "evaluations", json_object_new_int64((int64_t)in->evaluations));
		json_object_object_add(o, "matches", json_object_new_int64((int64_t)in->matches));
		json_object_object_add(o, "deduped", json_object_new_int64((int64_t)in->deduped));
		json_object_object_add(o, "rate_dropped", json_object_new_int64((int64_t)in->rate_dropped));
		json_object_object_add(o, "regex_errors", json_object_new_int64((int64_t)in->regex_errors));
		json_object_object_add(o, "state_full", json_object_new_int64((int64_t)in->state_full));
		json_object_object_add(
		    o, "cost_mean_ns",
		    json_object_new_int64(in->cost_samples ? (int64_t)(in->cost_sum_ns / in->cost_samples) : 0));
		json_object_object_add(o, "cost_p99_ns", json_object_new_int64((int64_t)in->cost_p99_ns));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* Access policies among the loaded rules (docs/policy.md). */
static size_t count_policies(struct ks_judge *j)
{
	size_t i, n = 0, total = j->rules ? ks_rules_count(j->rules) : 0;

	for (i = 0; i < total; i++)
		n += ks_rules_info(j->rules, i)->policy;
	return n;
}

struct json_object *ks_judge_status_json(struct ks_judge *j)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "loaded", json_object_new_boolean(j->rules != NULL));
	json_object_object_add(o, "rules", json_object_new_int64(j->rules ? (int64_t)ks_rules_count(j->rules) : 0));
	json_object_object_add(o, "policies", json_object_new_int64((int64_t)count_policies(j)));
	json_object_object_add(o, "loads", json_object_new_int64((int64_t)j->loads));
	json_object_object_add(o, "events_judged", json_object_new_int64((int64_t)j->evaluated));
	json_object_object_add(o, "events_without_candidate_rules", json_object_new_int64((int64_t)j->no_candidates));
	json_object_object_add(o, "findings_created", json_object_new_int64((int64_t)j->created));
	json_object_object_add(o, "findings_closed", json_object_new_int64((int64_t)j->closed));
	json_object_object_add(o, "findings_closed_early", json_object_new_int64((int64_t)j->closed_early));
	json_object_object_add(o, "findings_updated", json_object_new_int64((int64_t)j->updated));
	json_object_object_add(o, "state_bytes",
	                       json_object_new_int64(j->rules ? (int64_t)ks_rules_state_bytes(j->rules) : 0));
	json_object_object_add(o, "state_used",
	                       json_object_new_int64(j->rules ? (int64_t)ks_rules_state_used(j->rules) : 0));
	if (j->last_error[0])
		json_object_object_add(o, "last_load_error", json_object_new_string(j->last_error));
	return o;
}
