// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Offline evaluation (`kansoku rules test`): OCSF events as kansoku's file output writes them, read with
 * json-c into the same view the daemon fills, evaluated by the same engine. Process ancestry for
 * sequences is rebuilt from the Launch events seen, as the daemon's process table does.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offline.h"

#define ANC_SLOTS 65536 /* pids remembered for ancestry (open addressing, overwritten when full) */
#define ANC_DEPTH 16
#define ARGS_MAX 256

struct anc {
	uint32_t pid, ppid;
	uint64_t start_ns, pstart_ns;
};

#define FACT_SLOTS 16384 /* processes whose Launch facts are remembered (overwritten when full) */

/* What only a Launch event records of a process (its `unmapped`), carried to the process's later file,
 * network and DNS events as the daemon's process table does: policies on units, logins and terminals. */
struct facts {
	uint32_t pid;
	uint64_t start_ns;
	bool set, has_login;
	int64_t loginuid, gid, euid;
	char unit[96], tty[32];
};

struct ks_rules_offline {
	struct ks_rules *r;
	struct anc *anc;
	struct facts *facts;
	struct ks_rproc_id chain[ANC_DEPTH];
	const char *lineage[64], *pargs[ARGS_MAX];
	char unit[256];
	FILE *out;
	bool json;
	size_t line, matches;
};

/* Where a field is in an event: relative to the subject process (`process` of 1007, `actor.process`
 * otherwise), to its `unmapped` (1007 only), to the event, or to a posture finding (2003 only: the daemon
 * sets these for posture's findings alone). */
enum jbase { J_EVENT, J_PROC, J_UNMAPPED, J_FINDING };

struct jfield {
	enum ks_rfield f;
	enum jbase base;
	const char *path;
};

static const struct jfield jfields[] = {
    {KS_RF_CLASS_UID, J_EVENT, "class_uid"},
    {KS_RF_ACTIVITY_ID, J_EVENT, "activity_id"},
    {KS_RF_ACTIVITY_NAME, J_EVENT, "activity_name"},
    {KS_RF_SEVERITY_ID, J_EVENT, "severity_id"},
    {KS_RF_STATUS_ID, J_EVENT, "status_id"},
    {KS_RF_STATUS_DETAIL, J_EVENT, "status_detail"},
    {KS_RF_COUNT, J_EVENT, "count"},
    {KS_RF_EXIT_CODE, J_EVENT, "exit_code"},
    {KS_RF_PROC_PID, J_PROC, "pid"},
    {KS_RF_PROC_UID, J_PROC, "uid"},
    {KS_RF_PROC_NAME, J_PROC, "name"},
    {KS_RF_PROC_CMDLINE, J_PROC, "cmd_line"},
    {KS_RF_PROC_ARGS, J_UNMAPPED, "args"},
    {KS_RF_PROC_EXE, J_PROC, "file.path"},
    {KS_RF_PROC_EXE_NAME, J_PROC, "file.name"},
    {KS_RF_PROC_SCRIPT, J_UNMAPPED, "script_path"},
    {KS_RF_PROC_EXE_DELETED, J_UNMAPPED, "exe_deleted"},
    {KS_RF_PROC_EXE_MEMFD, J_UNMAPPED, "exe_unlinked_fs"},
    {KS_RF_PROC_USER_UID, J_PROC, "user.uid"},
    {KS_RF_PROC_USER_NAME, J_PROC, "user.name"},
    {KS_RF_PROC_EUID, J_UNMAPPED, "euid"},
    {KS_RF_PROC_GID, J_UNMAPPED, "gid"},
    {KS_RF_PROC_LOGINUID, J_UNMAPPED, "loginuid"},
    {KS_RF_PROC_TTY, J_UNMAPPED, "tty"},
    {KS_RF_PROC_CGROUP, J_UNMAPPED, "cgroup.path"},
    {KS_RF_PARENT_PID, J_PROC, "parent_process.pid"},
    {KS_RF_PARENT_NAME, J_PROC, "parent_process.name"},
    {KS_RF_PARENT_EXE, J_PROC, "parent_process.file.path"},
    {KS_RF_PARENT_CMDLINE, J_PROC, "parent_process.cmd_line"},
    {KS_RF_PARENT_USER_UID, J_PROC, "parent_process.user.uid"},
    {KS_RF_PROC_LINEAGE, J_PROC, "lineage"},  /* OCSF before 1.4: executable paths */
    {KS_RF_PROC_LINEAGE, J_PROC, "ancestry"}, /* OCSF 1.4+: process objects, parent first */
    {KS_RF_ACTOR_USER_UID, J_EVENT, "actor.user.uid"},
    {KS_RF_ACTOR_USER_NAME, J_EVENT, "actor.user.name"},
    {KS_RF_FILE_PATH, J_EVENT, "file.path"},
    {KS_RF_FILE_NAME, J_EVENT, "file.name"},
    {KS_RF_FILE_TYPE_ID, J_EVENT, "file.type_id"},
    {KS_RF_FILE_RESULT_PATH, J_EVENT, "file_result.path"},
    {KS_RF_SRC_IP, J_EVENT, "src_endpoint.ip"},
    {KS_RF_SRC_PORT, J_EVENT, "src_endpoint.port"},
    {KS_RF_DST_IP, J_EVENT, "dst_endpoint.ip"},
    {KS_RF_DST_PORT, J_EVENT, "dst_endpoint.port"},
    {KS_RF_DIRECTION, J_EVENT, "connection_info.direction"},
    {KS_RF_DIRECTION_ID, J_EVENT, "connection_info.direction_id"},
    {KS_RF_PROTOCOL_NAME, J_EVENT, "connection_info.protocol_name"},
    {KS_RF_QUERY_HOSTNAME, J_EVENT, "query.hostname"},
    {KS_RF_QUERY_TYPE, J_EVENT, "query.type"},
    {KS_RF_PROC_STDIO_SOCKET, J_UNMAPPED, "stdio_socket"},
    {KS_RF_FILE_SETUID, J_EVENT, "unmapped.setuid"},
    {KS_RF_FILE_SETGID, J_EVENT, "unmapped.setgid"},
    {KS_RF_SEVERITY, J_EVENT, "severity"}, /* absent from kansoku's events: the caption of severity_id */
    {KS_RF_FINDING_UID, J_FINDING, "finding_info.uid"},
    {KS_RF_FINDING_TITLE, J_FINDING, "finding_info.title"},
    {KS_RF_FINDING_DESC, J_FINDING, "finding_info.desc"},
    {KS_RF_COMPLIANCE_CONTROL, J_FINDING, "compliance.control"},
    {KS_RF_COMPLIANCE_STATUS, J_FINDING, "compliance.status"},
    {KS_RF_COMPLIANCE_STATUS_ID, J_FINDING, "compliance.status_id"},
    {KS_RF_POSTURE_AREA, J_FINDING, "unmapped.area"},
    {KS_RF_POSTURE_SEVERITY, J_FINDING, "unmapped.severity"},
    {KS_RF_POSTURE_ITEM, J_FINDING, "unmapped.item"},
    {KS_RF_POSTURE_EXPECTED, J_FINDING, "unmapped.expected"},
    {KS_RF_POSTURE_ACTUAL, J_FINDING, "unmapped.actual"},
    {KS_RF_POSTURE_AT_START, J_FINDING, "unmapped.found_at_start"},
};

struct json_object *ks_json_path(struct json_object *o, const char *path)
{
	char key[64];
	const char *dot;
	size_t n;

	while (o && *path) {
		dot = strchr(path, '.');
		n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		path += n + (dot != NULL);
	}
	return o;
}

/* uids are strings in OCSF ("0"); the view compares numbers. */
static bool jint(struct json_object *j, int64_t *out)
{
	const char *s;
	char *end;

	if (json_object_is_type(j, json_type_int)) {
		*out = json_object_get_int64(j);
		return true;
	}
	if (!json_object_is_type(j, json_type_string))
		return false;
	s = json_object_get_string(j);
	*out = strtoll(s, &end, 10);
	return *s && !*end;
}

static uint32_t jlist(struct json_object *j, const char **out, uint32_t max)
{
	uint32_t i, n = 0;

	if (!json_object_is_type(j, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(j) && n < max; i++) {
		struct json_object *e = json_object_array_get_idx(j, i), *path;

		if (json_object_is_type(e, json_type_string))
			out[n++] = json_object_get_string(e);
		else if (json_object_is_type(e, json_type_object) && json_object_object_get_ex(e, "path", &path) &&
		         json_object_is_type(path, json_type_string)) /* an ancestry entry: its executable */
			out[n++] = json_object_get_string(path);
	}
	return n;
}

static void set_field(struct ks_rules_offline *o, struct ks_rview *v, enum ks_rfield f, struct json_object *j)
{
	int64_t i;

	switch (ks_rfield_type(f)) {
	case KS_RT_STR:
		if (json_object_is_type(j, json_type_string))
			ks_rview_str(v, f, json_object_get_string(j));
		break;
	case KS_RT_INT:
		if (jint(j, &i))
			ks_rview_int(v, f, i);
		break;
	case KS_RT_BOOL:
		if (json_object_is_type(j, json_type_boolean))
			ks_rview_bool(v, f, json_object_get_boolean(j));
		break;
	case KS_RT_IP:
		if (json_object_is_type(j, json_type_string))
			ks_rview_ip_str(v, f, json_object_get_string(j));
		break;
	case KS_RT_LIST:
		if (f == KS_RF_PROC_LINEAGE)
			ks_rview_list(v, f, o->lineage, jlist(j, o->lineage, 64));
		else
			ks_rview_list(v, f, o->pargs, jlist(j, o->pargs, ARGS_MAX));
		break;
	}
}

static struct anc *anc_slot(struct ks_rules_offline *o, uint32_t pid)
{
	return &o->anc[(pid * 2654435761u) % ANC_SLOTS];
}

/* Identity and ancestors: the subject's (pid, created_time); its ancestors from the events seen. */
static void set_identity(struct ks_rules_offline *o, struct ks_rview *v, struct json_object *proc)
{
	int64_t pid = 0, ct = 0, ppid = 0, pct = 0;
	struct ks_rproc_id cur;
	uint32_t n;
	struct anc *a;

	jint(ks_json_path(proc, "pid"), &pid);
	jint(ks_json_path(proc, "created_time"), &ct);
	jint(ks_json_path(proc, "parent_process.pid"), &ppid);
	jint(ks_json_path(proc, "parent_process.created_time"), &pct);
	v->proc.pid = (uint32_t)pid;
	v->proc.start_ns = (uint64_t)ct * 1000000ull;
	if (ppid)
		*anc_slot(o, v->proc.pid) =
		    (struct anc){v->proc.pid, (uint32_t)ppid, v->proc.start_ns, (uint64_t)pct * 1000000ull};
	cur = v->proc;
	for (n = 0; n < ANC_DEPTH; n++) {
		a = anc_slot(o, cur.pid);
		if (a->pid != cur.pid || a->start_ns != cur.start_ns || !a->ppid)
			break;
		cur.pid = a->ppid;
		cur.start_ns = a->pstart_ns;
		o->chain[n] = cur;
	}
	v->ancestors = o->chain;
	v->n_ancestors = n;
}

static struct facts *fact_slot(struct ks_rules_offline *o, const struct ks_rproc_id *p)
{
	return &o->facts[(p->pid * 2654435761u ^ (uint32_t)(p->start_ns >> 10)) % FACT_SLOTS];
}

static void copy_str(char *dst, size_t len, const struct ks_rval *v)
{
	snprintf(dst, len, "%s", v->set ? v->s : "");
}

static void note_facts(struct ks_rules_offline *o, const struct ks_rview *v)
{
	struct facts *f = fact_slot(o, &v->proc);

	*f = (struct facts){.pid = v->proc.pid, .start_ns = v->proc.start_ns, .set = true};
	f->has_login = v->f[KS_RF_PROC_LOGINUID].set;
	f->loginuid = v->f[KS_RF_PROC_LOGINUID].i;
	f->gid = v->f[KS_RF_PROC_GID].set ? v->f[KS_RF_PROC_GID].i : -1;
	f->euid = v->f[KS_RF_PROC_EUID].set ? v->f[KS_RF_PROC_EUID].i : -1;
	copy_str(f->unit, sizeof(f->unit), &v->f[KS_RF_PROC_UNIT]);
	copy_str(f->tty, sizeof(f->tty), &v->f[KS_RF_PROC_TTY]);
}

/* The facts of the process, or of its nearest ancestor seen launching (a fork keeps them). */
static void apply_facts(struct ks_rules_offline *o, struct ks_rview *v)
{
	const struct facts *f = NULL;

	for (uint32_t i = 0; i <= v->n_ancestors && !f; i++) {
		const struct ks_rproc_id *p = i ? &v->ancestors[i - 1] : &v->proc;
		const struct facts *s = fact_slot(o, p);

		if (s->set && s->pid == p->pid && s->start_ns == p->start_ns)
			f = s;
	}
	if (!f)
		return;
	if (f->has_login && !v->f[KS_RF_PROC_LOGINUID].set)
		ks_rview_int(v, KS_RF_PROC_LOGINUID, f->loginuid);
	if (f->gid >= 0 && !v->f[KS_RF_PROC_GID].set)
		ks_rview_int(v, KS_RF_PROC_GID, f->gid);
	if (f->euid >= 0 && !v->f[KS_RF_PROC_EUID].set)
		ks_rview_int(v, KS_RF_PROC_EUID, f->euid);
	if (f->unit[0] && !v->f[KS_RF_PROC_UNIT].set)
		ks_rview_str(v, KS_RF_PROC_UNIT, f->unit);
	if (f->tty[0] && !v->f[KS_RF_PROC_TTY].set)
		ks_rview_str(v, KS_RF_PROC_TTY, f->tty);
	if (!v->f[KS_RF_PROC_HAS_TTY].set)
		ks_rview_bool(v, KS_RF_PROC_HAS_TTY, f->tty[0] != '\0');
}

void ks_rules_view_from_json(struct ks_rules_offline *o, struct json_object *ev, struct ks_rview *v, uint64_t *now_ns)
{
	int64_t cls = 0, act = 0, t = 0, seq = 0;
	struct json_object *proc, *unm;
	bool launch;
	size_t i;

	ks_rview_reset(v);
	jint(ks_json_path(ev, "class_uid"), &cls);
	jint(ks_json_path(ev, "activity_id"), &act);
	/* Launch/Terminate: the process is the subject; ptrace Open/Inject: the tracer (actor) did it */
	launch = cls == KS_RCLASS_PROCESS && (act == KS_RACT_LAUNCH || act == KS_RACT_TERMINATE);
	proc = ks_json_path(ev, launch ? "process" : "actor.process");
	unm = launch ? ks_json_path(ev, "unmapped") : NULL;
	for (i = 0; i < sizeof(jfields) / sizeof(jfields[0]); i++) {
		struct json_object *bases[] = {[J_EVENT] = ev,
		                               [J_PROC] = proc,
		                               [J_UNMAPPED] = unm,
		                               [J_FINDING] = cls == KS_RCLASS_COMPLIANCE ? ev : NULL};
		struct json_object *j = ks_json_path(bases[jfields[i].base], jfields[i].path);

		if (j)
			set_field(o, v, jfields[i].f, j);
	}
	if (!v->f[KS_RF_SEVERITY].set && v->f[KS_RF_SEVERITY_ID].set)
		ks_rview_str(v, KS_RF_SEVERITY, ks_rseverity_caption(v->f[KS_RF_SEVERITY_ID].i));
	if (launch) /* only Launch/Terminate say whether there is a terminal */
		ks_rview_bool(v, KS_RF_PROC_HAS_TTY, v->f[KS_RF_PROC_TTY].set);
	if (v->f[KS_RF_PROC_CGROUP].set &&
	    ks_rules_unit_from_cgroup(v->f[KS_RF_PROC_CGROUP].s, o->unit, sizeof(o->unit)))
		ks_rview_str(v, KS_RF_PROC_UNIT, o->unit);
	if (proc)
		set_identity(o, v, proc);
	if (proc && cls == KS_RCLASS_PROCESS && v->f[KS_RF_ACTIVITY_ID].i == KS_RACT_LAUNCH)
		note_facts(o, v);
	else if (proc)
		apply_facts(o, v);
	jint(ks_json_path(ev, "metadata.sequence"), &seq);
	v->event_seq = (uint64_t)seq;
	jint(ks_json_path(ev, "time"), &t);
	v->time_ns = (uint64_t)t * 1000000ull;
	*now_ns = v->time_ns;
}

static struct json_object *step_json(const struct ks_rules_step *s)
{
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "time", json_object_new_int64((int64_t)(s->time_ns / 1000000)));
	json_object_object_add(j, "class_uid", json_object_new_int(s->class_uid));
	json_object_object_add(j, "activity_id", json_object_new_int(s->activity_id));
	json_object_object_add(j, "pid", json_object_new_int64(s->pid));
	json_object_object_add(j, "sequence", json_object_new_int64((int64_t)s->event_seq));
	json_object_object_add(j, "text", json_object_new_string(s->text));
	return j;
}

static void print_match(void *ctx, const struct ks_rules_match *m)
{
	struct ks_rules_offline *o = ctx;
	const struct ks_rule_info *in = m->rule;
	uint32_t i;

	o->matches++;
	if (o->json) {
		struct json_object *j = json_object_new_object(), *tags = json_object_new_array(), *steps;

		json_object_object_add(j, "line", json_object_new_int64((int64_t)o->line));
		json_object_object_add(j, "rule", json_object_new_string(in->id));
		json_object_object_add(j, "title", json_object_new_string(in->title));
		json_object_object_add(j, "severity", json_object_new_string(in->severity));
		json_object_object_add(j, "severity_id", json_object_new_int(in->severity_id));
		for (i = 0; i < in->n_tags; i++)
			json_object_array_add(tags, json_object_new_string(in->tags[i]));
		json_object_object_add(j, "tags", tags);
		json_object_object_add(j, "output", json_object_new_string_len(m->output, (int)m->output_len));
		json_object_object_add(j, "count", json_object_new_int64((int64_t)m->count));
		json_object_object_add(j, "pid", json_object_new_int64(m->proc.pid));
		if (in->policy)
			json_object_object_add(j, "policy_resource", json_object_new_string(in->resource));
		if (m->threshold_count)
			json_object_object_add(j, "threshold_count",
			                       json_object_new_int64((int64_t)m->threshold_count));
		if (m->n_steps) {
			steps = json_object_new_array();
			for (i = 0; i < m->n_steps; i++)
				json_object_array_add(steps, step_json(&m->steps[i]));
			json_object_object_add(j, "steps", steps);
		}
		fprintf(o->out, "%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
		return;
	}
	fprintf(o->out, "line %zu: %s [%s] %s%s\n", o->line, in->id, in->severity, m->output,
	        m->update ? " (repeated)" : "");
	if (in->condition)
		fprintf(o->out, "    because: %s\n", in->condition);
	if (in->policy)
		fprintf(o->out, "    because: outside policy %s: %s, and no allow entry admits it\n", in->id,
		        in->resource);
	for (i = 0; i < m->n_steps; i++)
		fprintf(o->out, "    step %u (event sequence %" PRIu64 "): %s\n", i + 1, m->steps[i].event_seq,
		        m->steps[i].text);
	if (m->threshold_count)
		fprintf(o->out, "    %" PRIu64 " matching events in the window\n", m->threshold_count);
}

struct ks_rules_offline *ks_rules_offline_new(struct ks_rules *r, FILE *out, bool json)
{
	struct ks_rules_offline *o = calloc(1, sizeof(*o));

	if (!o || !(o->anc = calloc(ANC_SLOTS, sizeof(*o->anc))) ||
	    !(o->facts = calloc(FACT_SLOTS, sizeof(*o->facts)))) {
		if (o)
			free(o->anc);
		free(o);
		return NULL;
	}
	o->r = r;
	o->out = out;
	o->json = json;
	ks_rules_set_sink(r, print_match, o);
	return o;
}

void ks_rules_offline_free(struct ks_rules_offline *o)
{
	if (!o)
		return;
	free(o->anc);
	free(o->facts);
	free(o);
}

/* A short-lived connection's Close (network.short_lived_ms) stands for its Open too: the daemon judged
 * that Open when it happened, without writing it. The same here, at its start_time, before the Close. */
static void folded_open(struct ks_rules_offline *o, struct json_object *ev, const struct ks_rview *close)
{
	struct json_object *sl = ks_json_path(ev, "unmapped.short_lived");
	int64_t start = 0;
	struct ks_rview v;

	if (close->f[KS_RF_CLASS_UID].i != KS_RCLASS_NETWORK ||
	    (close->f[KS_RF_ACTIVITY_ID].i != KS_RACT_NET_CLOSE &&
	     close->f[KS_RF_ACTIVITY_ID].i != KS_RACT_NET_RESET) ||
	    !sl || !json_object_get_boolean(sl))
		return;
	v = *close;
	ks_rview_int(&v, KS_RF_ACTIVITY_ID, KS_RACT_NET_OPEN);
	ks_rview_str(&v, KS_RF_ACTIVITY_NAME, "Open");
	if (jint(ks_json_path(ev, "start_time"), &start))
		v.time_ns = (uint64_t)start * 1000000ull;
	ks_rules_eval(o->r, &v, v.time_ns);
}

/* One event: evaluated, and a Terminate frees the process's state as the daemon does. */
static void one_event(struct ks_rules_offline *o, struct json_object *ev)
{
	struct ks_rview v;
	uint64_t now;

	ks_rules_view_from_json(o, ev, &v, &now);
	folded_open(o, ev, &v);
	ks_rules_eval(o->r, &v, now);
	if (v.f[KS_RF_CLASS_UID].i == KS_RCLASS_PROCESS && v.f[KS_RF_ACTIVITY_ID].i == KS_RACT_TERMINATE)
		ks_rules_proc_exit(o->r, v.proc.pid, v.proc.start_ns);
}

int ks_rules_offline_run(struct ks_rules_offline *o, FILE *in, const char *name, size_t *events, size_t *bad)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, in)) > 0) {
		struct json_object *ev;

		o->line++;
		if (n == 1 && line[0] == '\n')
			continue;
		ev = json_tokener_parse(line);
		if (!ev || !json_object_is_type(ev, json_type_object)) {
			fprintf(stderr, "%s:%zu: not a JSON object: skipped\n", name, o->line);
			(*bad)++;
			json_object_put(ev);
			continue;
		}
		one_event(o, ev);
		(*events)++;
		json_object_put(ev);
	}
	free(line);
	return ferror(in) ? -1 : 0;
}
