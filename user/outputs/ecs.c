// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * OCSF -> Elastic Common Schema for outputs with format: ecs. Runs on the output's thread, never on the
 * loop. What ECS has a field for is mapped (@timestamp, message, event.*, agent.*, host.*, process.*,
 * user.*, file.*, source/destination, network.*, dns.*, package.*, rule.*), valid in ECS 8.17 and 9.4
 * (tests/ocsf_validate.py checks both); what ECS has no field for is under kansoku.* (its custom
 * namespace), and the OCSF event stays whole under kansoku.ocsf so nothing is lost.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "outputs/ecs.h"

#define KS_ECS_VERSION "8.17.0"

static struct json_object *get(struct json_object *o, const char *path)
{
	char key[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &o))
			return NULL;
		path += n + (path[n] == '.');
	}
	return o;
}

static void put_val(struct ks_jw *w, const char *key, struct json_object *v)
{
	const char *s;

	if (!v)
		return;
	s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	ks_jw_key(w, key);
	ks_jw_json(w, s, strlen(s));
}

static void put_str(struct ks_jw *w, const char *key, struct json_object *v)
{
	if (v) {
		ks_jw_key(w, key);
		ks_jw_cstr(w, json_object_get_string(v));
	}
}

struct cls_map {
	int cls;
	const char *kind, *category;
};

static const struct cls_map classes[] = {
    {1007, "event", "process"},       {1001, "event", "file"},          {4001, "event", "network"},
    {4003, "event", "network"},       {2003, "alert", "configuration"}, {5001, "state", "host"},
    {5002, "state", "configuration"}, {5003, "state", "iam"},           {5020, "state", "package"},
    {6002, "event", "process"},
};

/* event.type: one ECS expects for the class's event.category (ECS's allowed values per category). */
static const char *event_type(int cls, int act, bool removed)
{
	switch (cls) {
	case 6002: /* kansokud itself, category process */
		return act == 3 ? "start" : act == 4 ? "end" : "info";
	case 5003:
	case 5020:
		return removed ? "deletion" : "info";
	case 1007:
		return act == 1 ? "start" : act == 2 ? "end" : "info";
	case 1001:
		return act == 1 ? "creation" : act == 4 ? "deletion" : act == 2 ? "access" : "change";
	case 4001:
		return act == 1 || act == 7   ? "start"
		       : act == 2 || act == 3 ? "end"
		       : act == 5             ? "denied"
		                              : "connection";
	case 2003: /* configuration: access, change, creation, deletion, info; a resolved finding is a change */
		return act == 1 ? "creation" : "change";
	default:
		return "info";
	}
}

static void process(struct ks_jw *w, const char *key, struct json_object *p)
{
	struct json_object *v;

	if (!p)
		return;
	ks_jw_key(w, key);
	ks_jw_obj_begin(w);
	put_val(w, "pid", get(p, "pid"));
	put_str(w, "entity_id", get(p, "uid"));
	put_str(w, "name", get(p, "name"));
	put_str(w, "executable", get(p, "file.path"));
	put_str(w, "command_line", get(p, "cmd_line"));
	if ((v = get(p, "user"))) {
		ks_jw_key(w, "user");
		ks_jw_obj_begin(w);
		put_str(w, "id", get(v, "uid"));
		put_str(w, "name", get(v, "name"));
		ks_jw_obj_end(w);
	}
	if ((v = get(p, "parent_process"))) {
		ks_jw_key(w, "parent");
		ks_jw_obj_begin(w);
		put_val(w, "pid", get(v, "pid"));
		put_str(w, "entity_id", get(v, "uid"));
		put_str(w, "executable", get(v, "file.path"));
		ks_jw_obj_end(w);
	}
	ks_jw_obj_end(w);
}

static void endpoint(struct ks_jw *w, const char *key, struct json_object *e)
{
	if (!e)
		return;
	ks_jw_key(w, key);
	ks_jw_obj_begin(w);
	put_str(w, "ip", get(e, "ip"));
	put_val(w, "port", get(e, "port"));
	ks_jw_obj_end(w);
}

/* @timestamp: the event's time (ms since the epoch) in UTC, to the millisecond. */
static void ecs_timestamp(struct json_object *e, char *ts, size_t size)
{
	long long ms = json_object_get_int64(get(e, "time"));
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(ts, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

/* event.action: the OCSF activity name, lower case, words joined by '-'. */
static void ecs_action(struct json_object *e, char *act_name, size_t size)
{
	struct json_object *v;

	snprintf(act_name, size, "%s", (v = get(e, "activity_name")) ? json_object_get_string(v) : "");
	for (char *p = act_name; *p; p++)
		*p = (char)(*p == ' ' ? '-' : (*p >= 'A' && *p <= 'Z' ? *p + 32 : *p));
}

static void put_event(struct ks_jw *w, struct json_object *e, int cls)
{
	int act = json_object_get_int(get(e, "activity_id"));
	int sev = json_object_get_int(get(e, "severity_id"));
	const char *kind = "event", *cat = NULL;
	char act_name[64], ds[64];
	struct json_object *v;

	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (classes[i].cls == cls) {
			kind = classes[i].kind;
			cat = classes[i].category;
		}
	ecs_action(e, act_name, sizeof(act_name));
	ks_jw_key(w, "event");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "kind", kind);
	if (cat) {
		ks_jw_key(w, "category");
		ks_jw_arr_begin(w);
		ks_jw_cstr(w, cat);
		ks_jw_arr_end(w);
	}
	ks_jw_key(w, "type");
	ks_jw_arr_begin(w);
	ks_jw_cstr(w, event_type(cls, act, json_object_get_boolean(get(e, "unmapped.removed"))));
	ks_jw_arr_end(w);
	ks_jw_kcstr(w, "action", act_name);
	if ((v = get(e, "status")))
		ks_jw_kcstr(w, "outcome", !strcmp(json_object_get_string(v), "Failure") ? "failure" : "success");
	put_str(w, "id", get(e, "metadata.uid"));
	put_val(w, "sequence", get(e, "metadata.sequence"));
	ks_jw_ki64(w, "severity", sev);
	snprintf(ds, sizeof(ds), "kansoku.ocsf_%d", cls);
	ks_jw_kcstr(w, "dataset", ds);
	ks_jw_obj_end(w);
}

static void put_host(struct ks_jw *w, struct json_object *v)
{
	if (!v)
		return;
	ks_jw_key(w, "host");
	ks_jw_obj_begin(w);
	put_str(w, "hostname", get(v, "hostname"));
	put_str(w, "name", get(v, "hostname"));
	put_str(w, "id", get(v, "uid"));
	if (get(v, "boot_uid")) {
		ks_jw_key(w, "boot");
		ks_jw_obj_begin(w);
		put_str(w, "id", get(v, "boot_uid"));
		ks_jw_obj_end(w);
	}
	ks_jw_key(w, "os");
	ks_jw_obj_begin(w);
	put_str(w, "name", get(v, "os.name"));
	put_str(w, "version", get(v, "os.version"));
	put_str(w, "kernel", get(v, "os.kernel_release"));
	ks_jw_kcstr(w, "type", "linux");
	ks_jw_obj_end(w);
	ks_jw_obj_end(w);
}

/* user.* and file.*: the actor's user (or the event's), the file touched. */
static void put_user_file(struct ks_jw *w, struct json_object *e)
{
	struct json_object *v;

	if ((v = get(e, "actor.user")) || (v = get(e, "user"))) {
		ks_jw_key(w, "user");
		ks_jw_obj_begin(w);
		put_str(w, "id", get(v, "uid"));
		put_str(w, "name", get(v, "name"));
		ks_jw_obj_end(w);
	}
	if ((v = get(e, "file"))) {
		ks_jw_key(w, "file");
		ks_jw_obj_begin(w);
		put_str(w, "path", get(v, "path"));
		put_str(w, "name", get(v, "name"));
		put_str(w, "directory", get(v, "parent_folder"));
		ks_jw_obj_end(w);
	}
}

/* source, destination, network.*, dns.* */
static void put_network(struct ks_jw *w, struct json_object *e)
{
	struct json_object *v;

	endpoint(w, "source", get(e, "src_endpoint"));
	endpoint(w, "destination", get(e, "dst_endpoint"));
	if ((v = get(e, "connection_info"))) {
		struct json_object *d = get(v, "direction_id");

		ks_jw_key(w, "network");
		ks_jw_obj_begin(w);
		put_str(w, "transport", get(v, "protocol_name"));
		if (d)
			ks_jw_kcstr(w, "direction",
			            json_object_get_int(d) == 1   ? "ingress"
			            : json_object_get_int(d) == 2 ? "egress"
			                                          : "unknown");
		ks_jw_obj_end(w);
	}
	if ((v = get(e, "query"))) {
		ks_jw_key(w, "dns");
		ks_jw_obj_begin(w);
		ks_jw_key(w, "question");
		ks_jw_obj_begin(w);
		put_str(w, "name", get(v, "hostname"));
		put_str(w, "type", get(v, "type"));
		ks_jw_obj_end(w);
		ks_jw_obj_end(w);
	}
}

/* package.* (inventory) and rule.* (posture findings) */
static void put_package_rule(struct ks_jw *w, struct json_object *e)
{
	struct json_object *v;

	if ((v = get(e, "package"))) {
		ks_jw_key(w, "package");
		ks_jw_obj_begin(w);
		put_str(w, "name", get(v, "name"));
		put_str(w, "version", get(v, "version"));
		put_str(w, "architecture", get(v, "architecture"));
		put_str(w, "reference", get(v, "purl"));
		put_str(w, "type", get(v, "package_manager")); /* ECS: the package's file type (dpkg, rpm) */
		ks_jw_obj_end(w);
	}
	if ((v = get(e, "compliance"))) {
		ks_jw_key(w, "rule");
		ks_jw_obj_begin(w);
		put_str(w, "id", get(v, "control"));
		put_str(w, "name", get(e, "finding_info.title"));
		ks_jw_kcstr(w, "ruleset", "kansoku posture");
		ks_jw_obj_end(w);
	}
}

/* kansoku.*: what ECS has no field for, and the whole OCSF event. */
static void put_kansoku(struct ks_jw *w, struct json_object *e)
{
	ks_jw_key(w, "kansoku");
	ks_jw_obj_begin(w);
	/* rule.reference is a URL: the standards a check follows are names ("CIS 1.5.1"), kept here */
	put_val(w, "standards", get(e, "compliance.standards"));
	/* repeats folded into one event: ECS has no field for it (event.* is ECS's own set) */
	put_val(w, "count", get(e, "count"));
	put_val(w, "ocsf", e); /* the whole event: nothing ECS has no field for is lost */
	ks_jw_obj_end(w);
}

int ks_ecs_from_ocsf(const char *line, size_t len, struct ks_jw *w)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *e = tok ? json_tokener_parse_ex(tok, line, (int)len) : NULL;
	char ts[96];

	json_tokener_free(tok);
	if (!e || !json_object_is_type(e, json_type_object)) {
		json_object_put(e);
		return -1;
	}
	ecs_timestamp(e, ts, sizeof(ts));
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "@timestamp", ts);
	put_str(w, "message", get(e, "message"));
	ks_jw_key(w, "ecs");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "version", KS_ECS_VERSION);
	ks_jw_obj_end(w);
	put_event(w, e, json_object_get_int(get(e, "class_uid")));

	/* a sensor on the host is an agent (observer.* is for devices watching from outside) */
	ks_jw_key(w, "agent");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "type", "kansoku");
	ks_jw_kcstr(w, "version", KS_VERSION);
	ks_jw_obj_end(w);

	put_host(w, get(e, "device"));
	process(w, "process", get(e, "process") ? get(e, "process") : get(e, "actor.process"));
	put_user_file(w, e);
	put_network(w, e);
	put_package_rule(w, e);
	put_kansoku(w, e);
	ks_jw_obj_end(w);
	json_object_put(e);
	return 0;
}
