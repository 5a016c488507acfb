// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The posture engine: runs the catalog, keeps the open findings (one per failing check, or per failing
 * item of a list check), and turns each run into deltas: a finding is created, updated (its actual value
 * changed) or closed (OCSF Compliance Finding 2003, activity 1/2/3). A full snapshot (inventory, results,
 * scores: OCSF 5001/5003/5020 and one 5002 document) is taken at start, every posture.interval and on
 * demand; checks fed by the live model re-run within a second of a change. First-seen times are kept in
 * state_dir so a finding's age, and so its score, survives restarts.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "checks.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "model/netmodel.h"
#include "pipeline/ocsf.h"
#include "pipeline/pipeline.h"
#include "posture/ocsf_map.h"
#include "posture/posture.h"
#include "model/proctable.h"
#include "penv.h"

#define FINDING_BUCKETS 1024

struct finding {
	const struct ks_check *chk;
	char *item; /* "" for a whole-check finding */
	char *actual;
	int64_t first_seen_ms, last_seen_ms;
	bool seen;
	struct finding *next;
};

struct ks_posture {
	struct ks_posture_cfg cfg;
	struct ks_catalog *cat;
	struct ks_penv *env;
	char state_path[1100];
	struct ks_check_result *results; /* per catalog check */
	struct finding *buckets[FINDING_BUCKETS];
	size_t n_findings;
	struct json_object *inventory; /* device, packages, users, kernel_security, listeners, processes */
	struct json_object *snapshot;  /* the last full document */
	struct json_object *prev_users, *prev_packages;
	int64_t last_full_ms;
	uint64_t ports_gen, exec_gen;
	bool gens_known;
	int64_t ports_changed_ms, exec_changed_ms, last_exec_run_ms;
	/* figures for status and the benchmark */
	uint64_t snapshots, rescores, created, updated, closed;
	double last_full_cpu_ms, last_full_wall_ms, last_rescore_cpu_ms, max_rescore_cpu_ms;
	char packages_err[256];
	/* the background walk */
	pthread_t walker;
	bool walking;
	atomic_bool walk_done;
	struct ks_walk_job *job;
	uint64_t walks;
};

/* ---- time ---- */

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- findings ---- */

static uint64_t hstr(const char *s)
{
	return ks_fnv1a(0xcbf29ce484222325ull, s, strlen(s));
}

static unsigned bucket(const char *id, const char *item)
{
	return (unsigned)((hstr(id) ^ (hstr(item) * 31u)) % FINDING_BUCKETS);
}

static struct finding *find(struct ks_posture *p, const char *id, const char *item)
{
	for (struct finding *f = p->buckets[bucket(id, item)]; f; f = f->next)
		if (!strcmp(f->chk->id, id) && !strcmp(f->item, item))
			return f;
	return NULL;
}

static struct finding *add_finding(struct ks_posture *p, const struct ks_check *c, const char *item, const char *actual,
                                   int64_t first_ms)
{
	struct finding *f = calloc(1, sizeof(*f));
	unsigned b = bucket(c->id, item);

	if (!f)
		return NULL;
	f->chk = c;
	f->item = strdup(item);
	f->actual = strdup(actual);
	if (!f->item || !f->actual) {
		free(f->item);
		free(f->actual);
		free(f);
		return NULL;
	}
	f->first_seen_ms = f->last_seen_ms = first_ms;
	f->next = p->buckets[b];
	p->buckets[b] = f;
	p->n_findings++;
	return f;
}

static void free_finding(struct finding *f)
{
	free(f->item);
	free(f->actual);
	free(f);
}

static int64_t age_s(const struct finding *f, int64_t now_ms)
{
	return (now_ms - f->first_seen_ms) / 1000;
}

/* ---- persistence: state_dir/posture.json {"findings":[{check, item, actual, first_seen}]} ---- */

static void save_state(struct ks_posture *p)
{
	struct json_object *doc = json_object_new_object(), *arr = json_object_new_array();
	char tmp[1200];
	const char *s;
	int fd;

	if (!p->state_path[0])
		return;
	for (unsigned b = 0; b < FINDING_BUCKETS; b++)
		for (struct finding *f = p->buckets[b]; f; f = f->next) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "check", json_object_new_string(f->chk->id));
			json_object_object_add(o, "item", json_object_new_string(f->item));
			json_object_object_add(o, "actual", json_object_new_string(f->actual));
			json_object_object_add(o, "first_seen", json_object_new_int64(f->first_seen_ms));
			json_object_array_add(arr, o);
		}
	json_object_object_add(doc, "findings", arr);
	s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	snprintf(tmp, sizeof(tmp), "%s.tmp", p->state_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s) || fsync(fd) || rename(tmp, p->state_path))
		ks_warn("posture: cannot save %s: %s (finding ages restart on the next start)", p->state_path,
		        strerror(errno));
	if (fd >= 0)
		close(fd);
	json_object_put(doc);
}

static void load_state(struct ks_posture *p)
{
	struct json_object *doc = json_object_from_file(p->state_path), *arr;

	if (!doc)
		return; /* first start, or unreadable: every finding starts now */
	if (json_object_object_get_ex(doc, "findings", &arr) && json_object_is_type(arr, json_type_array))
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *o = json_object_array_get_idx(arr, i), *c, *it, *a, *fs;
			const struct ks_check *chk;

			if (!json_object_object_get_ex(o, "check", &c) || !json_object_object_get_ex(o, "item", &it) ||
			    !json_object_object_get_ex(o, "actual", &a) ||
			    !json_object_object_get_ex(o, "first_seen", &fs))
				continue;
			chk = ks_catalog_find(p->cat, json_object_get_string(c));
			if (chk && !find(p, chk->id, json_object_get_string(it)))
				add_finding(p, chk, json_object_get_string(it), json_object_get_string(a),
				            json_object_get_int64(fs));
		}
	json_object_put(doc);
}

/* ---- OCSF ---- */

static double host_score(struct ks_posture *p, int64_t now_ms, double *areas)
{
	double total = 0;

	for (int a = 0; a < KS_AREA_MAX; a++)
		areas[a] = 0;
	for (unsigned b = 0; b < FINDING_BUCKETS; b++)
		for (struct finding *f = p->buckets[b]; f; f = f->next) {
			double s = ks_score_finding(&p->cfg, f->chk->sev, age_s(f, now_ms));

			areas[f->chk->area] += s;
			total += s;
		}
	return total;
}

static void emit_finding(struct ks_posture *p, struct ks_pipeline *pl, const struct finding *f, int activity,
                         int64_t now_ms)
{
	static const char *const names[] = {"", "Create", "Update", "Close"};
	const struct ks_check *c = f->chk;
	const struct ks_check_result *r = &p->results[c - p->cat->checks];
	double areas[KS_AREA_MAX], host;
	struct ks_jw *w;
	char uid[160];

	if (!pl) /* --audit: no pipeline (&pl->jw on NULL is undefined: UBSan stops here) */
		return;
	w = &pl->jw;
	host = host_score(p, now_ms, areas);
	/* stable across runs and hosts' restarts: the repository tracks one finding by it */
	snprintf(uid, sizeof(uid), "%s:%016llx", c->id, (unsigned long long)hstr(f->item));
	ks_ocsf_begin(pl, &ks_ocsf_compliance_finding, activity, names[activity], (int)c->sev + 1, now_ms);
	ks_ocsf_message(pl, "%s: %s%s%s", activity == 3 ? "Resolved" : "Fail", c->title, f->item[0] ? ": " : "",
	                f->item);
	ks_jw_ku64(w, "status_id", activity == 3 ? 4 : 1); /* Resolved / New */
	ks_jw_kcstr(w, "status", activity == 3 ? "Resolved" : "New");
	ks_jw_key(w, "finding_info");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "uid", uid);
	ks_jw_kcstr(w, "title", c->title);
	ks_jw_kcstr(w, "desc", f->actual);
	ks_jw_ki64(w, "created_time", f->first_seen_ms);
	ks_jw_ki64(w, "first_seen_time", f->first_seen_ms);
	ks_jw_ki64(w, "last_seen_time", activity == 3 ? now_ms : f->last_seen_ms);
	ks_jw_key(w, "types");
	ks_jw_arr_begin(w);
	ks_jw_cstr(w, "Posture");
	ks_jw_arr_end(w);
	ks_jw_obj_end(w);
	ks_jw_key(w, "compliance");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "control", c->id);
	ks_jw_key(w, "standards");
	ks_jw_arr_begin(w);
	ks_jw_cstr(w, c->reference);
	ks_jw_arr_end(w);
	ks_jw_kcstr(w, "status", activity == 3 ? "Pass" : "Fail");
	ks_jw_ku64(w, "status_id", activity == 3 ? 1 : 3);
	ks_jw_obj_end(w);
	ks_jw_key(w, "remediation");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "desc", c->remediation);
	ks_jw_obj_end(w);
	ks_jw_key(w, "unmapped");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "area", ks_area_names[c->area]);
	ks_jw_kcstr(w, "severity", ks_sev_names[c->sev]);
	ks_jw_kcstr(w, "item", f->item);
	ks_jw_kcstr(w, "expected", r->expected);
	ks_jw_kcstr(w, "actual", activity == 3 ? (r->actual[0] ? r->actual : "resolved") : f->actual);
	if (activity != 3) {
		char sc[32];

		snprintf(sc, sizeof(sc), "%.2f", ks_score_finding(&p->cfg, c->sev, age_s(f, now_ms)));
		ks_jw_key(w, "score");
		ks_jw_json(w, sc, strlen(sc));
	}
	{
		char hs[32];

		snprintf(hs, sizeof(hs), "%.2f", host);
		ks_jw_key(w, "host_score");
		ks_jw_json(w, hs, strlen(hs));
	}
	ks_jw_obj_end(w);
	ks_ocsf_end(pl);
	ks_pipeline_emit(pl, ks_ocsf_compliance_finding.class_uid);
}

/* A json-c object as the event body: each member copied at the top level (after the envelope and the
 * message). */
static void emit_json_event(struct ks_pipeline *pl, const struct ks_ocsf_class *cls, int64_t now_ms,
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

/* ---- evaluation ---- */

/* Runs check i and reconciles its findings. Returns true if anything changed. */
static bool eval_check(struct ks_posture *p, struct ks_pipeline *pl, size_t i, int64_t now_ms)
{
	const struct ks_check *c = &p->cat->checks[i];
	struct ks_check_result *r = &p->results[i];
	bool changed = false;

	if (!c->enabled)
		return false;
	ks_check_run(p->env, c, r);
	for (unsigned b = 0; b < FINDING_BUCKETS; b++)
		for (struct finding *f = p->buckets[b]; f; f = f->next)
			if (f->chk == c)
				f->seen = false;
	if (r->status == KS_CHK_ERROR) {
		/* unknown is not fixed: the open findings stay open */
		for (unsigned b = 0; b < FINDING_BUCKETS; b++)
			for (struct finding *f = p->buckets[b]; f; f = f->next)
				if (f->chk == c)
					f->seen = true;
	} else if (r->status == KS_CHK_FAIL) {
		size_t n = r->n_items ? r->n_items : 1;

		for (size_t k = 0; k < n; k++) {
			const char *item = r->n_items ? r->items[k].key : "";
			const char *actual = r->n_items ? r->items[k].actual : r->actual;
			struct finding *f = find(p, c->id, item);

			if (!f) {
				f = add_finding(p, c, item, actual, now_ms);
				if (!f)
					continue;
				f->seen = true;
				p->created++;
				changed = true;
				emit_finding(p, pl, f, 1, now_ms);
				continue;
			}
			f->seen = true;
			f->last_seen_ms = now_ms;
			if (strcmp(f->actual, actual)) {
				char *na = strdup(actual);

				if (na) {
					free(f->actual);
					f->actual = na;
					p->updated++;
					changed = true;
					emit_finding(p, pl, f, 2, now_ms);
				}
			}
		}
	}
	for (unsigned b = 0; b < FINDING_BUCKETS; b++) {
		struct finding **pp = &p->buckets[b];

		while (*pp) {
			struct finding *f = *pp;

			if (f->chk != c || f->seen) {
				pp = &f->next;
				continue;
			}
			*pp = f->next;
			p->n_findings--;
			p->closed++;
			changed = true;
			emit_finding(p, pl, f, 3, now_ms);
			free_finding(f);
		}
	}
	return changed;
}

static struct json_object *results_json(struct ks_posture *p, int64_t now_ms)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < p->cat->n; i++) {
		const struct ks_check *c = &p->cat->checks[i];
		const struct ks_check_result *r = &p->results[i];
		struct json_object *o = json_object_new_object();
		double score = 0;

		json_object_object_add(o, "id", json_object_new_string(c->id));
		json_object_object_add(o, "title", json_object_new_string(c->title));
		json_object_object_add(o, "area", json_object_new_string(ks_area_names[c->area]));
		json_object_object_add(o, "severity", json_object_new_string(ks_sev_names[c->sev]));
		json_object_object_add(o, "reference", json_object_new_string(c->reference));
		json_object_object_add(
		    o, "status", json_object_new_string(c->enabled ? ks_chk_status_names[r->status] : "disabled"));
		if (c->enabled) {
			json_object_object_add(o, "expected", json_object_new_string(r->expected));
			json_object_object_add(o, "actual", json_object_new_string(r->actual));
			if (r->reason[0])
				json_object_object_add(o, "reason", json_object_new_string(r->reason));
		}
		for (unsigned b = 0; b < FINDING_BUCKETS; b++)
			for (struct finding *f = p->buckets[b]; f; f = f->next)
				if (f->chk == c)
					score += ks_score_finding(&p->cfg, c->sev, age_s(f, now_ms));
		json_object_object_add(o, "score", json_object_new_double(score));
		json_object_object_add(o, "remediation", json_object_new_string(c->remediation));
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *scores_json(struct ks_posture *p, int64_t now_ms)
{
	struct json_object *o = json_object_new_object(), *ar = json_object_new_object();
	double areas[KS_AREA_MAX], host = host_score(p, now_ms, areas);
	unsigned counts[KS_AREA_MAX] = {0}, st[4] = {0};

	for (unsigned b = 0; b < FINDING_BUCKETS; b++)
		for (struct finding *f = p->buckets[b]; f; f = f->next)
			counts[f->chk->area]++;
	for (int a = 0; a < KS_AREA_MAX; a++) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "score", json_object_new_double(areas[a]));
		json_object_object_add(x, "findings", json_object_new_int((int)counts[a]));
		json_object_object_add(ar, ks_area_names[a], x);
	}
	for (size_t i = 0; i < p->cat->n; i++)
		if (p->cat->checks[i].enabled)
			st[p->results[i].status]++;
	json_object_object_add(o, "host", json_object_new_double(host));
	json_object_object_add(o, "areas", ar);
	json_object_object_add(o, "findings", json_object_new_int64((int64_t)p->n_findings));
	json_object_object_add(o, "checks_pass", json_object_new_int((int)st[KS_CHK_PASS]));
	json_object_object_add(o, "checks_fail", json_object_new_int((int)st[KS_CHK_FAIL]));
	json_object_object_add(o, "checks_error", json_object_new_int((int)st[KS_CHK_ERROR]));
	json_object_object_add(o, "checks_not_applicable", json_object_new_int((int)st[KS_CHK_NA]));
	return o;
}

/* Inventory deltas: one event per user or package that is new, changed or gone since the last snapshot. */
/* One inventory event: body[objkey] is the OCSF form of the inventory object o, what OCSF lacks in
 * unmapped[objkey]; a removed object says so. */
static void emit_inventory_item(struct ks_pipeline *pl, const struct ks_ocsf_class *cls, const char *objkey,
                                struct json_object *o, bool removed, int64_t now_ms)
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
	emit_json_event(pl, cls, now_ms, body, msg);
	json_object_put(body);
}

static void emit_inventory_deltas(struct ks_pipeline *pl, const struct ks_ocsf_class *cls, const char *objkey,
                                  struct json_object *prev, struct json_object *cur, int64_t now_ms)
{
	struct json_object *pmap = json_object_new_object(), *cmap = json_object_new_object();
	char key[600];

	for (size_t pass = 0; pass < 2; pass++) {
		struct json_object *arr = pass ? cur : prev, *map = pass ? cmap : pmap;

		for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
			struct json_object *o = json_object_array_get_idx(arr, i), *n, *a;

			json_object_object_get_ex(o, "name", &n);
			if (!json_object_object_get_ex(o, "architecture", &a))
				a = NULL;
			snprintf(key, sizeof(key), "%s:%s", json_object_get_string(n),
			         a ? json_object_get_string(a) : "");
			json_object_object_add(map, key, json_object_get(o));
		}
	}
	json_object_object_foreach(cmap, ck, cv)
	{
		struct json_object *pv;

		if (json_object_object_get_ex(pmap, ck, &pv) && json_object_equal(pv, cv))
			continue;
		emit_inventory_item(pl, cls, objkey, cv, false, now_ms);
	}
	json_object_object_foreach(pmap, pk, pv)
	{
		if (json_object_object_get_ex(cmap, pk, NULL))
			continue;
		emit_inventory_item(pl, cls, objkey, pv, true, now_ms);
	}
	json_object_put(pmap);
	json_object_put(cmap);
}

static void *walk_thread(void *arg)
{
	struct ks_posture *p = arg;

	/* a background audit: lowest CPU and I/O priority, so the host's work and the loop come first */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
	syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, 3 << 13 /* IOPRIO_CLASS_IDLE */);
	ks_walk_execute(p->job);
	atomic_store(&p->walk_done, true);
	return NULL;
}

static void start_walk(struct ks_posture *p)
{
	if (p->walking)
		return;
	p->job = ks_walk_prepare(p->env);
	if (!p->job)
		return;
	atomic_store(&p->walk_done, false);
	if (pthread_create(&p->walker, NULL, walk_thread, p)) {
		ks_warn("posture: cannot start the filesystem walk thread: %s", strerror(errno));
		ks_walk_job_free(p->job);
		p->job = NULL;
		return;
	}
	p->walking = true;
}

static void rescore(struct ks_posture *p, struct ks_pipeline *pl, unsigned trigger, int64_t now_ms);

/* On the loop: a finished walk replaces the last one and its checks re-run. */
static void collect_walk(struct ks_posture *p, struct ks_pipeline *pl, int64_t now_ms)
{
	if (!p->walking || !atomic_load(&p->walk_done))
		return;
	pthread_join(p->walker, NULL);
	p->walking = false;
	ks_penv_install_walk(p->env, p->job);
	p->job = NULL;
	p->walks++;
	rescore(p, pl, KS_TRIG_WALK, now_ms);
}

void ks_posture_background_walks(struct ks_posture *p)
{
	p->env->async_walk = true;
}

void ks_posture_snapshot(struct ks_posture *p, struct ks_pipeline *pl, int64_t now_ms)
{
	double c0 = cpu_ms(), w0 = wall_ms();
	struct json_object *inv = json_object_new_object(), *pk, *users, *doc, *body;
	bool walk_due = !p->env->walk.done || now_ms - p->env->walk.at_ms >= (int64_t)p->cfg.fs_scan_interval_s * 1000;
	bool changed = false;

	ks_penv_invalidate(p->env, walk_due && !p->env->async_walk);
	if (walk_due && p->env->async_walk)
		start_walk(p);
	json_object_object_add(inv, "device", ks_inventory_device(p->env));
	json_object_object_add(inv, "kernel_security", ks_inventory_kernel_security(p->env));
	pk = ks_inventory_packages(p->env, p->packages_err, sizeof(p->packages_err));
	json_object_object_add(inv, "packages", pk);
	if (p->packages_err[0])
		json_object_object_add(inv, "packages_error", json_object_new_string(p->packages_err));
	users = ks_inventory_users(p->env);
	json_object_object_add(inv, "accounts", users);
	json_object_object_add(inv, "listening", ks_inventory_listeners(p->env));
	json_object_object_add(inv, "processes", ks_inventory_processes(p->env));

	for (size_t i = 0; i < p->cat->n; i++)
		changed |= eval_check(p, pl, i, now_ms);
	if (changed)
		save_state(p);
	{ /* where sshd's configuration came from: `sshd -T` or the files (and why not sshd -T) */
		struct json_object *ssh = json_object_new_object();

		ks_facts_sshd(p->env);
		json_object_object_add(ssh, "installed", json_object_new_boolean(!p->env->sshd_absent));
		if (p->env->sshd)
			json_object_object_add(ssh, "source", json_object_new_string(p->env->sshd_source));
		if (p->env->sshd_err[0])
			json_object_object_add(ssh, "error", json_object_new_string(p->env->sshd_err));
		if (p->env->sshd_t_err[0])
			json_object_object_add(ssh, "sshd_t_error", json_object_new_string(p->env->sshd_t_err));
		json_object_object_add(inv, "sshd", ssh);
	}

	/* inventory events: the device every snapshot, users and packages when they change */
	{
		struct json_object *dev, *ks;

		json_object_object_get_ex(inv, "device", &dev);
		json_object_object_get_ex(inv, "kernel_security", &ks);
		body = json_object_new_object();
		{
			struct json_object *un = json_object_new_object(), *hn;
			char msg[300];

			json_object_object_add(body, "device", ks_ocsf_map_device(dev, un, now_ms));
			json_object_object_add(un, "kernel_security", json_object_get(ks));
			json_object_object_add(body, "unmapped", un);
			snprintf(msg, sizeof(msg), "device %s",
			         json_object_object_get_ex(dev, "hostname", &hn) ? json_object_get_string(hn) : "");
			emit_json_event(pl, &ks_ocsf_device_inventory, now_ms, body, msg);
		}
		json_object_put(body);
	}
	{
		struct json_object *ua;

		json_object_object_get_ex(users, "users", &ua);
		emit_inventory_deltas(pl, &ks_ocsf_user_inventory, "user", p->prev_users, ua, now_ms);
		json_object_put(p->prev_users);
		p->prev_users = json_object_get(ua);
		emit_inventory_deltas(pl, &ks_ocsf_software_inventory, "package", p->prev_packages, pk, now_ms);
		json_object_put(p->prev_packages);
		p->prev_packages = json_object_get(pk);
	}

	json_object_put(p->inventory);
	p->inventory = inv;
	p->last_full_ms = now_ms;
	p->snapshots++;
	p->last_full_cpu_ms = cpu_ms() - c0;
	p->last_full_wall_ms = wall_ms() - w0;

	doc = json_object_new_object();
	json_object_object_add(doc, "time", json_object_new_int64(now_ms));
	json_object_object_add(doc, "root", json_object_new_string(p->cfg.root));
	json_object_object_add(doc, "scores", scores_json(p, now_ms));
	json_object_object_add(doc, "checks", results_json(p, now_ms));
	json_object_object_add(doc, "inventory", json_object_get(inv));
	{
		struct json_object *cost = json_object_new_object();

		json_object_object_add(cost, "cpu_ms", json_object_new_double(p->last_full_cpu_ms));
		json_object_object_add(cost, "wall_ms", json_object_new_double(p->last_full_wall_ms));
		json_object_object_add(cost, "filesystem_walk", json_object_new_boolean(walk_due));
		json_object_object_add(cost, "walk_entries", json_object_new_int64((int64_t)p->env->walk.entries));
		json_object_object_add(cost, "walk_cpu_ms", json_object_new_double(p->env->walk.cpu_ms));
		json_object_object_add(doc, "cost", cost);
	}
	json_object_put(p->snapshot);
	p->snapshot = doc;

	/* the snapshot document as one Device Config State event */
	body = json_object_new_object();
	{
		struct json_object *un = json_object_new_object(), *sc, *ch;

		json_object_object_get_ex(doc, "scores", &sc);
		json_object_object_get_ex(doc, "checks", &ch);
		json_object_object_add(
		    body, "risk_score",
		    json_object_new_int((int)(json_object_get_double(json_object_object_get(sc, "host")) + 0.5)));
		json_object_object_add(un, "snapshot", json_object_get(doc));
		json_object_object_add(body, "unmapped", un);
	}
	{
		struct json_object *rs = json_object_object_get(body, "risk_score");
		char msg[64];

		snprintf(msg, sizeof(msg), "posture snapshot: host risk score %d", json_object_get_int(rs));
		emit_json_event(pl, &ks_ocsf_config_state, now_ms, body, msg);
	}
	json_object_put(body);
	/* a snapshot reads megabytes (dpkg status and file lists) and frees them: give the pages back */
	malloc_trim(0);
}

static void rescore(struct ks_posture *p, struct ks_pipeline *pl, unsigned trigger, int64_t now_ms)
{
	double c0 = cpu_ms();
	bool changed = false;

	ks_penv_forget_live(p->env); /* only the live facts are read again */
	for (size_t i = 0; i < p->cat->n; i++)
		if (p->cat->checks[i].ev->triggers & trigger)
			changed |= eval_check(p, pl, i, now_ms);
	if (changed)
		save_state(p);
	p->rescores++;
	p->last_rescore_cpu_ms = cpu_ms() - c0;
	if (p->last_rescore_cpu_ms > p->max_rescore_cpu_ms)
		p->max_rescore_cpu_ms = p->last_rescore_cpu_ms;
}

void ks_posture_tick(struct ks_posture *p, struct ks_pipeline *pl, int64_t now_ms, uint64_t ports_gen,
                     uint64_t exec_gen)
{
	unsigned trig = 0;

	collect_walk(p, pl, now_ms);
	if (!p->gens_known) {
		p->gens_known = true;
		p->ports_gen = ports_gen;
		p->exec_gen = exec_gen;
	}
	if (!p->last_full_ms || now_ms - p->last_full_ms >= (int64_t)p->cfg.interval_s * 1000) {
		ks_posture_snapshot(p, pl, now_ms);
		p->ports_gen = ports_gen;
		p->exec_gen = exec_gen;
		return;
	}
	/* a change is re-scored once it has settled for 200 ms: a burst of listeners is one run */
	if (ports_gen != p->ports_gen) {
		p->ports_gen = ports_gen;
		p->ports_changed_ms = now_ms;
	}
	if (p->ports_changed_ms && now_ms - p->ports_changed_ms >= 200) {
		p->ports_changed_ms = 0;
		trig |= KS_TRIG_PORTS;
	}
	/* executions are constant on a busy host: at most one exe re-check per 5 s */
	if (exec_gen != p->exec_gen) {
		p->exec_gen = exec_gen;
		if (!p->exec_changed_ms)
			p->exec_changed_ms = now_ms;
	}
	if (p->exec_changed_ms && now_ms - p->last_exec_run_ms >= 5000 && now_ms - p->exec_changed_ms >= 200) {
		p->exec_changed_ms = 0;
		p->last_exec_run_ms = now_ms;
		trig |= KS_TRIG_EXEC;
	}
	if (trig)
		rescore(p, pl, trig, now_ms);
}

/* ---- life cycle ---- */

struct ks_posture *ks_posture_new(const struct ks_posture_cfg *cfg, const char *state_dir, char *err, size_t errlen)
{
	struct ks_posture *p = calloc(1, sizeof(*p));

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->cfg = *cfg;
	p->cat = ks_catalog_load(cfg, err, errlen);
	if (!p->cat)
		goto fail;
	p->env = ks_penv_new(cfg, err, errlen);
	if (!p->env)
		goto fail;
	p->results = calloc(p->cat->n + 1, sizeof(*p->results));
	if (!p->results) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (state_dir && state_dir[0]) {
		snprintf(p->state_path, sizeof(p->state_path), "%s/posture.json", state_dir);
		load_state(p);
	}
	return p;
fail:
	ks_posture_free(p);
	return NULL;
}

void ks_posture_free(struct ks_posture *p)
{
	if (!p)
		return;
	if (p->walking) { /* stopping: the walk gives up at its next entry */
		ks_walk_cancel(p->job);
		pthread_join(p->walker, NULL);
		ks_walk_job_free(p->job);
	}
	for (unsigned b = 0; b < FINDING_BUCKETS; b++)
		while (p->buckets[b]) {
			struct finding *f = p->buckets[b];

			p->buckets[b] = f->next;
			free_finding(f);
		}
	if (p->results && p->cat)
		for (size_t i = 0; i < p->cat->n; i++)
			ks_result_free(&p->results[i]);
	free(p->results);
	ks_penv_free(p->env);
	ks_catalog_free(p->cat);
	json_object_put(p->inventory);
	json_object_put(p->snapshot);
	json_object_put(p->prev_users);
	json_object_put(p->prev_packages);
	free(p);
}

struct ks_penv *ks_posture_env(struct ks_posture *p)
{
	return p->env;
}

/* ---- documents for the CLI ---- */

struct fref {
	const struct finding *f;
	double score;
};

static int cmp_fref(const void *a, const void *b)
{
	const struct fref *x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	if (x->f->chk->sev != y->f->chk->sev)
		return x->f->chk->sev < y->f->chk->sev ? 1 : -1;
	return strcmp(x->f->chk->id, y->f->chk->id) ?: strcmp(x->f->item, y->f->item);
}

struct json_object *ks_posture_findings_json(struct ks_posture *p, int64_t now_ms, int area, int sev)
{
	struct json_object *arr = json_object_new_array();
	struct fref *v = calloc(p->n_findings + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return arr;
	for (unsigned b = 0; b < FINDING_BUCKETS; b++)
		for (struct finding *f = p->buckets[b]; f; f = f->next) {
			if ((area >= 0 && (int)f->chk->area != area) || (sev >= 0 && (int)f->chk->sev < sev))
				continue;
			v[n].f = f;
			v[n++].score = ks_score_finding(&p->cfg, f->chk->sev, age_s(f, now_ms));
		}
	qsort(v, n, sizeof(*v), cmp_fref);
	for (size_t i = 0; i < n; i++) {
		const struct finding *f = v[i].f;
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "check", json_object_new_string(f->chk->id));
		json_object_object_add(o, "title", json_object_new_string(f->chk->title));
		json_object_object_add(o, "area", json_object_new_string(ks_area_names[f->chk->area]));
		json_object_object_add(o, "severity", json_object_new_string(ks_sev_names[f->chk->sev]));
		json_object_object_add(o, "item", json_object_new_string(f->item));
		json_object_object_add(o, "actual", json_object_new_string(f->actual));
		json_object_object_add(o, "expected",
		                       json_object_new_string(p->results[f->chk - p->cat->checks].expected));
		json_object_object_add(o, "first_seen", json_object_new_int64(f->first_seen_ms));
		json_object_object_add(o, "age_s", json_object_new_int64(age_s(f, now_ms)));
		json_object_object_add(o, "score", json_object_new_double(v[i].score));
		json_object_object_add(o, "reference", json_object_new_string(f->chk->reference));
		json_object_object_add(o, "remediation", json_object_new_string(f->chk->remediation));
		json_object_array_add(arr, o);
	}
	free(v);
	return arr;
}

struct json_object *ks_posture_summary_json(struct ks_posture *p, int64_t now_ms)
{
	struct json_object *o = scores_json(p, now_ms), *worst = ks_posture_findings_json(p, now_ms, -1, -1),
	                   *errors = json_object_new_array();

	while (json_object_array_length(worst) > 10)
		json_object_array_del_idx(worst, 10, json_object_array_length(worst) - 10);
	json_object_object_add(o, "worst", worst);
	for (size_t i = 0; i < p->cat->n; i++)
		if (p->cat->checks[i].enabled && p->results[i].status == KS_CHK_ERROR) {
			struct json_object *e = json_object_new_object();

			json_object_object_add(e, "check", json_object_new_string(p->cat->checks[i].id));
			json_object_object_add(e, "reason", json_object_new_string(p->results[i].reason));
			json_object_array_add(errors, e);
		}
	json_object_object_add(o, "errors", errors);
	json_object_object_add(o, "snapshot_time", json_object_new_int64(p->last_full_ms));
	json_object_object_add(o, "checks", json_object_new_int64((int64_t)p->cat->n));
	return o;
}

struct json_object *ks_posture_snapshot_json(struct ks_posture *p)
{
	return p->snapshot ? json_object_get(p->snapshot) : json_object_new_object();
}

struct json_object *ks_posture_inventory_json(struct ks_posture *p, const char *kind)
{
	struct json_object *v;

	if (!p->inventory)
		return NULL;
	if (!strcmp(kind, "packages") && json_object_object_get_ex(p->inventory, "packages", &v))
		return json_object_get(v);
	if (!strcmp(kind, "users") && json_object_object_get_ex(p->inventory, "accounts", &v))
		return json_object_get(v);
	if (!strcmp(kind, "device") && json_object_object_get_ex(p->inventory, "device", &v))
		return json_object_get(v);
	if (!strcmp(kind, "ports")) {
		ks_penv_forget_live(p->env); /* the live model, not the last snapshot */
		return ks_inventory_listeners(p->env);
	}
	return NULL;
}

struct json_object *ks_posture_status_json(struct ks_posture *p)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "checks", json_object_new_int64((int64_t)p->cat->n));
	json_object_object_add(o, "findings", json_object_new_int64((int64_t)p->n_findings));
	json_object_object_add(o, "snapshots", json_object_new_int64((int64_t)p->snapshots));
	json_object_object_add(o, "last_snapshot_time", json_object_new_int64(p->last_full_ms));
	json_object_object_add(o, "last_snapshot_cpu_ms", json_object_new_double(p->last_full_cpu_ms));
	json_object_object_add(o, "last_snapshot_wall_ms", json_object_new_double(p->last_full_wall_ms));
	json_object_object_add(o, "last_walk_cpu_ms", json_object_new_double(p->env->walk.cpu_ms));
	json_object_object_add(o, "walk_entries", json_object_new_int64((int64_t)p->env->walk.entries));
	json_object_object_add(o, "walks", json_object_new_int64((int64_t)p->walks));
	json_object_object_add(o, "walking", json_object_new_boolean(p->walking));
	json_object_object_add(o, "rescores", json_object_new_int64((int64_t)p->rescores));
	json_object_object_add(o, "last_rescore_cpu_ms", json_object_new_double(p->last_rescore_cpu_ms));
	json_object_object_add(o, "max_rescore_cpu_ms", json_object_new_double(p->max_rescore_cpu_ms));
	json_object_object_add(o, "created", json_object_new_int64((int64_t)p->created));
	json_object_object_add(o, "updated", json_object_new_int64((int64_t)p->updated));
	json_object_object_add(o, "closed", json_object_new_int64((int64_t)p->closed));
	return o;
}

/* ---- the daemon's live model as the listener source ---- */

struct ks_listener *ks_posture_model_listeners(void *ctx, size_t *n)
{
	struct ks_pipeline *pl = ctx;
	struct ks_conn **v;
	struct ks_listener *out;
	size_t cnt = 0;

	*n = 0;
	if (!pl->net)
		return NULL;
	v = ks_netmodel_snapshot(pl->net, true, &cnt);
	if (!v)
		return NULL;
	out = calloc(cnt + 1, sizeof(*out));
	for (size_t i = 0; out && i < cnt; i++) {
		const struct ks_conn *c = v[i];
		struct ks_listener *l = &out[(*n)++];
		struct ks_proc *pr = c->pid ? ks_proc_lookup(pl->procs, c->pid) : NULL;

		snprintf(l->proto, sizeof(l->proto), "%s", ks_net_proto_name(c->proto));
		ks_net_addr_str(c->family, c->saddr, l->addr, sizeof(l->addr));
		l->port = c->sport;
		l->pid = c->pid;
		l->loopback = ks_net_loopback(c->family, c->saddr);
		if (pr)
			snprintf(l->comm, sizeof(l->comm), "%s",
			         pr->exe && pr->exe[0] ? ks_basename(pr->exe) : pr->comm);
	}
	free(v);
	return out;
}
