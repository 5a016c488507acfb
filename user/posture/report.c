// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Posture's documents, built on the loop from its findings: the snapshot, the summary and findings for
 * the CLI, inventory pieces, and the engine's own figures for `kansoku status`. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static void add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

static double check_score(struct ks_posture *p, const struct ks_check *c, int64_t now_ms)
{
	double score = 0;

	for (unsigned b = 0; b < KS_FINDING_BUCKETS; b++)
		for (struct ks_finding *f = p->buckets[b]; f; f = f->next)
			if (f->chk == c)
				score += ks_score_finding(&p->cfg, c->sev, ks_finding_age_s(f, now_ms));
	return score;
}

static struct json_object *results_json(struct ks_posture *p, int64_t now_ms)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < p->cat->n; i++) {
		const struct ks_check *c = &p->cat->checks[i];
		const struct ks_check_result *r = &p->results[i];
		struct json_object *o = json_object_new_object();

		add_str(o, "id", c->id);
		add_str(o, "title", c->title);
		add_str(o, "area", ks_area_names[c->area]);
		add_str(o, "severity", ks_sev_names[c->sev]);
		add_str(o, "reference", c->reference);
		add_str(o, "status", c->enabled ? ks_chk_status_names[r->status] : "disabled");
		if (c->enabled) {
			add_str(o, "expected", r->expected);
			add_str(o, "actual", r->actual);
			if (r->reason[0])
				add_str(o, "reason", r->reason);
		}
		json_object_object_add(o, "score", json_object_new_double(check_score(p, c, now_ms)));
		add_str(o, "remediation", c->remediation);
		json_object_array_add(arr, o);
	}
	return arr;
}

struct json_object *ks_report_scores(struct ks_posture *p, int64_t now_ms)
{
	struct json_object *o = json_object_new_object(), *ar = json_object_new_object();
	double areas[KS_AREA_MAX], host = ks_findings_score(p, now_ms, areas);
	unsigned counts[KS_AREA_MAX] = {0}, st[4] = {0};

	for (unsigned b = 0; b < KS_FINDING_BUCKETS; b++)
		for (struct ks_finding *f = p->buckets[b]; f; f = f->next)
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

struct json_object *ks_report_snapshot(struct ks_posture *p, const struct ks_run *run, int64_t now_ms)
{
	struct json_object *doc = json_object_new_object(), *cost = json_object_new_object();

	json_object_object_add(doc, "time", json_object_new_int64(now_ms));
	add_str(doc, "root", p->cfg.root);
	json_object_object_add(doc, "scores", ks_report_scores(p, now_ms));
	json_object_object_add(doc, "checks", results_json(p, now_ms));
	json_object_object_add(doc, "inventory", json_object_get(run->inventory));
	json_object_object_add(cost, "cpu_ms", json_object_new_double(run->cpu_ms));
	json_object_object_add(cost, "wall_ms", json_object_new_double(run->wall_ms));
	json_object_object_add(cost, "filesystem_walk", json_object_new_boolean(run->walk_due));
	json_object_object_add(cost, "walk_entries", json_object_new_int64((int64_t)run->walk_entries));
	json_object_object_add(cost, "walk_cpu_ms", json_object_new_double(run->walk_cpu_ms));
	json_object_object_add(doc, "cost", cost);
	return doc;
}

/* ---- documents for the CLI ---- */

struct fref {
	const struct ks_finding *f;
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

static struct json_object *finding_json(struct ks_posture *p, const struct ks_finding *f, double score, int64_t now_ms)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "check", f->chk->id);
	add_str(o, "title", f->chk->title);
	add_str(o, "area", ks_area_names[f->chk->area]);
	add_str(o, "severity", ks_sev_names[f->chk->sev]);
	add_str(o, "item", f->item);
	add_str(o, "actual", f->actual);
	add_str(o, "expected", p->results[f->chk - p->cat->checks].expected);
	json_object_object_add(o, "first_seen", json_object_new_int64(f->first_seen_ms));
	json_object_object_add(o, "found_at_start", json_object_new_boolean(f->at_start));
	json_object_object_add(o, "age_s", json_object_new_int64(ks_finding_age_s(f, now_ms)));
	json_object_object_add(o, "score", json_object_new_double(score));
	add_str(o, "reference", f->chk->reference);
	add_str(o, "remediation", f->chk->remediation);
	return o;
}

struct json_object *ks_posture_findings_json(struct ks_posture *p, int64_t now_ms, int area, int sev)
{
	struct json_object *arr = json_object_new_array();
	struct fref *v = calloc(p->n_findings + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return arr;
	for (unsigned b = 0; b < KS_FINDING_BUCKETS; b++)
		for (struct ks_finding *f = p->buckets[b]; f; f = f->next) {
			if ((area >= 0 && (int)f->chk->area != area) || (sev >= 0 && (int)f->chk->sev < sev))
				continue;
			v[n].f = f;
			v[n++].score = ks_score_finding(&p->cfg, f->chk->sev, ks_finding_age_s(f, now_ms));
		}
	qsort(v, n, sizeof(*v), cmp_fref);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, finding_json(p, v[i].f, v[i].score, now_ms));
	free(v);
	return arr;
}

struct json_object *ks_posture_summary_json(struct ks_posture *p, int64_t now_ms)
{
	struct json_object *o = ks_report_scores(p, now_ms), *worst = ks_posture_findings_json(p, now_ms, -1, -1),
	                   *errors = json_object_new_array();

	while (json_object_array_length(worst) > 10)
		json_object_array_del_idx(worst, 10, json_object_array_length(worst) - 10);
	json_object_object_add(o, "worst", worst);
	for (size_t i = 0; i < p->cat->n; i++)
		if (p->cat->checks[i].enabled && p->results[i].status == KS_CHK_ERROR) {
			struct json_object *e = json_object_new_object();

			add_str(e, "check", p->cat->checks[i].id);
			add_str(e, "reason", p->results[i].reason);
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
	static const char *const kinds[][2] = {{"packages", "packages"}, {"users", "accounts"}, {"device", "device"}};
	struct json_object *v;

	if (!strcmp(kind, "ports")) { /* the live model, not the last snapshot */
		size_t n = 0;
		struct ks_listener *l = p->listeners_fn ? p->listeners_fn(p->listeners_ctx, &n) : NULL;

		v = ks_listeners_json(l, n);
		free(l);
		return v;
	}
	for (size_t i = 0; p->inventory && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kind, kinds[i][0]) && json_object_object_get_ex(p->inventory, kinds[i][1], &v))
			return json_object_get(v);
	return NULL;
}

static void add_num(struct json_object *o, const char *key, double v)
{
	json_object_object_add(o, key, json_object_new_double(v));
}

static void add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

/* the posture thread's figures: its CPU budget and what it looked at */
static void worker_status(struct ks_posture *p, struct json_object *o)
{
	struct ks_worker *w = p->w;
	struct ks_budget *b = w ? &w->budget : NULL;

	json_object_object_add(o, "walking", json_object_new_boolean(w && atomic_load(&w->walking)));
	add_u64(o, "walks", w ? atomic_load(&w->walks) : 0);
	add_u64(o, "exec_checks", w ? atomic_load(&w->pid_checks) : 0);
	add_u64(o, "exe_full_passes", w ? atomic_load(&w->exe_full_passes) : 0);
	add_u64(o, "exec_pids_lost", p->pids_lost);
	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	add_num(o, "budget_cpu_ms", b->charged_ms);
	add_num(o, "budget_slept_ms", b->slept_ms);
	json_object_object_add(o, "host_busy", json_object_new_boolean(b->load == KS_HOST_BUSY));
	pthread_mutex_unlock(&b->lock);
}

struct json_object *ks_posture_status_json(struct ks_posture *p)
{
	struct json_object *o = json_object_new_object();

	add_u64(o, "checks", p->cat->n);
	add_u64(o, "findings", p->n_findings);
	add_u64(o, "snapshots", p->snapshots);
	json_object_object_add(o, "last_snapshot_time", json_object_new_int64(p->last_full_ms));
	add_num(o, "last_snapshot_cpu_ms", p->last_full_cpu_ms);
	add_num(o, "last_snapshot_wall_ms", p->last_full_wall_ms);
	add_num(o, "last_walk_cpu_ms", p->walk_cpu_ms);
	add_u64(o, "walk_entries", p->walk_entries);
	worker_status(p, o);
	add_u64(o, "rescores", p->rescores);
	add_num(o, "last_rescore_cpu_ms", p->last_rescore_cpu_ms);
	add_num(o, "max_rescore_cpu_ms", p->max_rescore_cpu_ms);
	add_u64(o, "created", p->created);
	add_u64(o, "updated", p->updated);
	add_u64(o, "closed", p->closed);
	return o;
}
