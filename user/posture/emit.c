// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Posture's OCSF events: Compliance Finding (2003, activity Create/Update/Close), and the inventory and
 * snapshot documents as Device (5001), User (5003), Software (5020) Inventory and Device Config State
 * (5002). Emitted on the loop only; inventory deltas are computed on the posture thread and queued.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "lib/time.h"
#include "pipeline/ocsf.h"
#include "pipeline/pipeline.h"
#include "posture/ocsf_map.h"

static const char *const activity_names[] = {"", "Create", "Update", "Close"};

enum { KS_FINDING_STATUS_NEW = 1, KS_FINDING_STATUS_RESOLVED = 4 };    /* OCSF finding status_id */
enum { KS_COMPLIANCE_STATUS_PASS = 1, KS_COMPLIANCE_STATUS_FAIL = 3 }; /* OCSF compliance status_id */

static void finding_info(struct ks_jw *w, const struct ks_finding *f, const char *uid, bool closed, int64_t now_ms)
{
	ks_jw_key(w, "finding_info");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "uid", uid);
	ks_jw_kcstr(w, "title", f->chk->title);
	ks_jw_kcstr(w, "desc", f->actual);
	ks_jw_ki64(w, "created_time", f->first_seen_ms);
	ks_jw_ki64(w, "first_seen_time", f->first_seen_ms);
	ks_jw_ki64(w, "last_seen_time", closed ? now_ms : f->last_seen_ms);
	ks_jw_key(w, "types");
	ks_jw_arr_begin(w);
	ks_jw_cstr(w, "Posture");
	ks_jw_arr_end(w);
	ks_jw_obj_end(w);
}

static void compliance(struct ks_jw *w, const struct ks_check *c, bool closed)
{
	ks_jw_key(w, "compliance");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "control", c->id);
	ks_jw_key(w, "standards");
	ks_jw_arr_begin(w);
	ks_jw_cstr(w, c->reference);
	ks_jw_arr_end(w);
	ks_jw_kcstr(w, "status", closed ? "Pass" : "Fail");
	ks_jw_ku64(w, "status_id", closed ? KS_COMPLIANCE_STATUS_PASS : KS_COMPLIANCE_STATUS_FAIL);
	ks_jw_obj_end(w);
	ks_jw_key(w, "remediation");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "desc", c->remediation);
	ks_jw_obj_end(w);
}

static void number(struct ks_jw *w, const char *key, double v)
{
	char s[32];

	snprintf(s, sizeof(s), "%.2f", v);
	ks_jw_key(w, key);
	ks_jw_json(w, s, strlen(s));
}

/* The finding as the rule engine sees it (detect/judge.c): judged on the loop, after the sinks have it. */
static void decoded(struct ks_pipeline *pl, struct ks_decoded_finding *d, const struct ks_finding *f,
                    const struct ks_check_result *r, const char *uid, enum ks_finding_activity activity, int64_t now_ms)
{
	const struct ks_check *c = f->chk;
	bool closed = activity == KS_FINDING_CLOSE;
	int64_t boot_ns = now_ms * (int64_t)NSEC_PER_MSEC - pl->host.boot_to_wall_ns;
	struct ks_decoded *ev = ks_pipeline_decoded(pl, ks_ocsf_compliance_finding.class_uid, (int)activity,
	                                            activity_names[activity], boot_ns > 0 ? (uint64_t)boot_ns : 0);

	ev->severity_id = (int)c->sev + 1;
	ev->status_id = closed ? KS_FINDING_STATUS_RESOLVED : KS_FINDING_STATUS_NEW;
	d->uid = uid;
	d->title = c->title;
	d->desc = f->actual;
	d->control = c->id;
	d->compliance_status = closed ? "Pass" : "Fail";
	d->compliance_status_id = closed ? KS_COMPLIANCE_STATUS_PASS : KS_COMPLIANCE_STATUS_FAIL;
	d->area = ks_area_names[c->area];
	d->severity = ks_sev_names[c->sev];
	d->item = f->item;
	d->expected = r->expected;
	d->actual = closed ? (r->actual[0] ? r->actual : "resolved") : f->actual;
	d->found_at_start = f->at_start;
	ev->finding = d;
}

void ks_emit_finding(struct ks_posture *p, struct ks_pipeline *pl, const struct ks_finding *f,
                     enum ks_finding_activity activity, int64_t now_ms)
{
	const struct ks_check *c = f->chk;
	const struct ks_check_result *r = &p->results[c - p->cat->checks];
	bool closed = activity == KS_FINDING_CLOSE;
	double areas[KS_AREA_MAX], host;
	struct ks_decoded_finding d = {0};
	struct ks_jw *w;
	char uid[160];

	if (!pl) /* --audit: no pipeline (&pl->jw on NULL is undefined: UBSan stops here) */
		return;
	w = &pl->jw;
	/* stable across runs and hosts' restarts: the repository tracks one finding by it */
	snprintf(uid, sizeof(uid), "%s:%016llx", c->id, (unsigned long long)ks_finding_hash(f->item));
	decoded(pl, &d, f, r, uid, activity, now_ms);
	host = ks_findings_score(p, now_ms, areas);
	ks_ocsf_begin(pl, &ks_ocsf_compliance_finding, (int)activity, activity_names[activity], (int)c->sev + 1,
	              now_ms);
	ks_ocsf_message(pl, "%s: %s%s%s", closed ? "Resolved" : "Fail", c->title, f->item[0] ? ": " : "", f->item);
	ks_jw_ku64(w, "status_id", closed ? KS_FINDING_STATUS_RESOLVED : KS_FINDING_STATUS_NEW);
	ks_jw_kcstr(w, "status", closed ? "Resolved" : "New");
	finding_info(w, f, uid, closed, now_ms);
	compliance(w, c, closed);
	ks_jw_key(w, "unmapped");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "area", ks_area_names[c->area]);
	ks_jw_kcstr(w, "severity", ks_sev_names[c->sev]);
	ks_jw_kcstr(w, "item", f->item);
	ks_jw_kcstr(w, "expected", r->expected);
	ks_jw_kcstr(w, "actual", d.actual);
	ks_jw_kbool(w, "found_at_start", f->at_start);
	if (!closed)
		number(w, "score", ks_score_finding(&p->cfg, c->sev, ks_finding_age_s(f, now_ms)));
	number(w, "host_score", host);
	ks_jw_obj_end(w);
	ks_ocsf_end(pl);
	ks_pipeline_emit(pl, ks_ocsf_compliance_finding.class_uid);
}

/* A json-c object as the event body: each member copied at the top level (after the envelope and the
 * message). */
void ks_emit_json_event(struct ks_pipeline *pl, const struct ks_ocsf_class *cls, int64_t now_ms,
                        struct json_object *body, const char *message)
{
	if (!pl)
		return;
	ks_ocsf_begin(pl, cls, KS_OCSF_INV_COLLECT, "Collect", KS_OCSF_SEV_INFO, now_ms);
	ks_ocsf_message(pl, "%s", message);
	json_object_object_foreach(body, key, val)
	{
		const char *s = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);

		ks_jw_key(&pl->jw, key);
		ks_jw_json(&pl->jw, s, strlen(s));
	}
	ks_ocsf_end(pl);
	ks_pipeline_emit(pl, cls->class_uid);
}

static const struct ks_ocsf_class *inventory_class(int uid)
{
	const struct ks_ocsf_class *const all[] = {&ks_ocsf_device_inventory, &ks_ocsf_user_inventory,
	                                           &ks_ocsf_software_inventory, &ks_ocsf_config_state};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i]->class_uid == uid)
			return all[i];
	return NULL;
}

void ks_emit_inventory_events(struct ks_pipeline *pl, struct json_object *events, int64_t now_ms)
{
	for (size_t i = 0; events && i < json_object_array_length(events); i++) {
		struct json_object *e = json_object_array_get_idx(events, i), *cls, *body, *msg;
		const struct ks_ocsf_class *c;

		if (json_object_object_get_ex(e, "class", &cls) && json_object_object_get_ex(e, "body", &body) &&
		    json_object_object_get_ex(e, "message", &msg) && (c = inventory_class(json_object_get_int(cls))))
			ks_emit_json_event(pl, c, now_ms, body, json_object_get_string(msg));
	}
}

static void queue_event(struct json_object *events, int class_uid, struct json_object *body, const char *message)
{
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "class", json_object_new_int(class_uid));
	json_object_object_add(e, "body", body);
	json_object_object_add(e, "message", json_object_new_string(message));
	json_object_array_add(events, e);
}

void ks_inventory_device_event(struct json_object *events, struct json_object *inv, int64_t now_ms)
{
	struct json_object *body = json_object_new_object(), *un = json_object_new_object(), *dev, *ks, *hn;
	char msg[300];

	json_object_object_get_ex(inv, "device", &dev);
	json_object_object_get_ex(inv, "kernel_security", &ks);
	json_object_object_add(body, "device", ks_ocsf_map_device(dev, un, now_ms));
	json_object_object_add(un, "kernel_security", json_object_get(ks));
	json_object_object_add(body, "unmapped", un);
	snprintf(msg, sizeof(msg), "device %s",
	         json_object_object_get_ex(dev, "hostname", &hn) ? json_object_get_string(hn) : "");
	queue_event(events, ks_ocsf_device_inventory.class_uid, body, msg);
}

/* One inventory event: body[objkey] is the OCSF form of the inventory object o, what OCSF lacks in
 * unmapped[objkey]; a removed object says so. */
static void inventory_item(struct json_object *events, int class_uid, const char *objkey, struct json_object *o,
                           bool removed)
{
	struct json_object *body = json_object_new_object(), *un = json_object_new_object(), *n, *v;
	bool user = !strcmp(objkey, "user");
	char msg[600];

	json_object_object_add(body, objkey, user ? ks_ocsf_map_user(o, un) : ks_ocsf_map_package(o, un));
	if (removed)
		json_object_object_add(un, "removed", json_object_new_boolean(true));
	if (json_object_object_length(un))
		json_object_object_add(body, "unmapped", un);
	else
		json_object_put(un);
	json_object_object_get_ex(o, "name", &n);
	if (user)
		snprintf(msg, sizeof(msg), "user %s%s", json_object_get_string(n), removed ? " removed" : "");
	else
		snprintf(msg, sizeof(msg), "package %s %s%s", json_object_get_string(n),
		         json_object_object_get_ex(o, "version", &v) ? json_object_get_string(v) : "",
		         removed ? " removed" : "");
	queue_event(events, class_uid, body, msg);
}

/* name:architecture -> entry, for one inventory array */
static struct json_object *by_key(struct json_object *arr)
{
	struct json_object *map = json_object_new_object();
	char key[600];

	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *n, *a;

		json_object_object_get_ex(o, "name", &n);
		if (!json_object_object_get_ex(o, "architecture", &a))
			a = NULL;
		snprintf(key, sizeof(key), "%s:%s", json_object_get_string(n), a ? json_object_get_string(a) : "");
		json_object_object_add(map, key, json_object_get(o));
	}
	return map;
}

void ks_inventory_deltas(struct json_object *events, int class_uid, const char *objkey, struct json_object *prev,
                         struct json_object *cur)
{
	struct json_object *pmap = by_key(prev), *cmap = by_key(cur);

	json_object_object_foreach(cmap, ck, cv)
	{
		struct json_object *pv;

		if (json_object_object_get_ex(pmap, ck, &pv) && json_object_equal(pv, cv))
			continue;
		inventory_item(events, class_uid, objkey, cv, false);
	}
	json_object_object_foreach(pmap, pk, pv)
	{
		if (json_object_object_get_ex(cmap, pk, NULL))
			continue;
		inventory_item(events, class_uid, objkey, pv, true);
	}
	json_object_put(pmap);
	json_object_put(cmap);
}
