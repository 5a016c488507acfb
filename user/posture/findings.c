// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The open findings (one per failing check, or per failing item of a list check), kept on the loop;
 * first-seen times persist in state_dir so a finding's age, and so its score, survives restarts. A check's
 * result becomes deltas here: a finding is created, updated (its actual value changed) or closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "lib/hash.h"
#include "lib/log.h"

uint64_t ks_finding_hash(const char *s)
{
	return ks_fnv1a(0xcbf29ce484222325ull, s, strlen(s));
}

static unsigned bucket(const char *id, const char *item)
{
	return (unsigned)((ks_finding_hash(id) ^ (ks_finding_hash(item) * 31u)) % KS_FINDING_BUCKETS);
}

struct ks_finding *ks_finding_find(struct ks_posture *p, const char *id, const char *item)
{
	for (struct ks_finding *f = p->buckets[bucket(id, item)]; f; f = f->next)
		if (!strcmp(f->chk->id, id) && !strcmp(f->item, item))
			return f;
	return NULL;
}

static struct ks_finding *add_finding(struct ks_posture *p, const struct ks_check *c, const char *item,
                                      const char *actual, int64_t first_ms, bool at_start)
{
	struct ks_finding *f = calloc(1, sizeof(*f));
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
	f->at_start = at_start;
	f->next = p->buckets[b];
	p->buckets[b] = f;
	p->n_findings++;
	return f;
}

static void free_finding(struct ks_finding *f)
{
	free(f->item);
	free(f->actual);
	free(f);
}

void ks_findings_free(struct ks_posture *p)
{
	for (unsigned b = 0; b < KS_FINDING_BUCKETS; b++)
		while (p->buckets[b]) {
			struct ks_finding *f = p->buckets[b];

			p->buckets[b] = f->next;
			free_finding(f);
		}
	p->n_findings = 0;
}

int64_t ks_finding_age_s(const struct ks_finding *f, int64_t now_ms)
{
	return (now_ms - f->first_seen_ms) / 1000;
}

double ks_findings_score(struct ks_posture *p, int64_t now_ms, double *areas)
{
	double total = 0;

	for (int a = 0; a < KS_AREA_MAX; a++)
		areas[a] = 0;
	for (unsigned b = 0; b < KS_FINDING_BUCKETS; b++)
		for (struct ks_finding *f = p->buckets[b]; f; f = f->next) {
			double s = ks_score_finding(&p->cfg, f->chk->sev, ks_finding_age_s(f, now_ms));

			areas[f->chk->area] += s;
			total += s;
		}
	return total;
}

/* ---- persistence: state_dir/posture.json {"findings":[{check, item, actual, first_seen}]} ---- */

static struct json_object *state_doc(struct ks_posture *p)
{
	struct json_object *doc = json_object_new_object(), *arr = json_object_new_array();

	for (unsigned b = 0; b < KS_FINDING_BUCKETS; b++)
		for (struct ks_finding *f = p->buckets[b]; f; f = f->next) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "check", json_object_new_string(f->chk->id));
			json_object_object_add(o, "item", json_object_new_string(f->item));
			json_object_object_add(o, "actual", json_object_new_string(f->actual));
			json_object_object_add(o, "first_seen", json_object_new_int64(f->first_seen_ms));
			json_object_array_add(arr, o);
		}
	json_object_object_add(doc, "findings", arr);
	return doc;
}

void ks_findings_save(struct ks_posture *p)
{
	struct json_object *doc;
	char tmp[1200];
	const char *s;
	int fd;

	if (!p->state_path[0])
		return;
	doc = state_doc(p);
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

void ks_findings_load(struct ks_posture *p)
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
			if (chk && !ks_finding_find(p, chk->id, json_object_get_string(it)))
				add_finding(p, chk, json_object_get_string(it), json_object_get_string(a),
				            json_object_get_int64(fs), true); /* open when this run started */
		}
	json_object_put(doc);
}

/* ---- reconciling a result ---- */

static void mark_check(struct ks_posture *p, const struct ks_check *c, bool seen)
{
	for (unsigned b = 0; b < KS_FINDING_BUCKETS; b++)
		for (struct ks_finding *f = p->buckets[b]; f; f = f->next)
			if (f->chk == c)
				f->seen = seen;
}

/* One failing item: a new finding, or an update when its actual value changed. */
static bool apply_item(struct ks_posture *p, struct ks_pipeline *pl, const struct ks_check *c, const char *item,
                       const char *actual, int64_t now_ms)
{
	struct ks_finding *f = ks_finding_find(p, c->id, item);
	char *na;

	if (!f) {
		/* before the check's first conclusive run (a walk not finished yet) the host is still being
		 * learned: what it finds then was there at start, not a change */
		f = add_finding(p, c, item, actual, now_ms, !p->settled[c - p->cat->checks]);
		if (!f)
			return false;
		f->seen = true;
		p->created++;
		ks_emit_finding(p, pl, f, KS_FINDING_CREATE, now_ms);
		return true;
	}
	f->seen = true;
	f->last_seen_ms = now_ms;
	if (!strcmp(f->actual, actual) || !(na = strdup(actual)))
		return false;
	free(f->actual);
	f->actual = na;
	p->updated++;
	ks_emit_finding(p, pl, f, KS_FINDING_UPDATE, now_ms);
	return true;
}

static bool close_unseen(struct ks_posture *p, struct ks_pipeline *pl, const struct ks_check *c, int64_t now_ms)
{
	bool changed = false;

	for (unsigned b = 0; b < KS_FINDING_BUCKETS; b++) {
		struct ks_finding **pp = &p->buckets[b];

		while (*pp) {
			struct ks_finding *f = *pp;

			if (f->chk != c || f->seen) {
				pp = &f->next;
				continue;
			}
			*pp = f->next;
			p->n_findings--;
			p->closed++;
			changed = true;
			ks_emit_finding(p, pl, f, KS_FINDING_CLOSE, now_ms);
			free_finding(f);
		}
	}
	return changed;
}

/* A partial result (processes that just started) adds to what the check found; the last full result's
 * other items stay. */
static void merge_partial(struct ks_check_result *into, struct ks_check_result *from)
{
	if (!from->n_items)
		return;
	into->status = KS_CHK_FAIL;
	snprintf(into->expected, sizeof(into->expected), "%s", from->expected);
	into->actual[0] = 0;
}

bool ks_findings_apply(struct ks_posture *p, struct ks_pipeline *pl, struct ks_run_result *rr, int64_t now_ms)
{
	const struct ks_check *c = &p->cat->checks[rr->check];
	struct ks_check_result *r = &rr->r, *kept = &p->results[rr->check];
	bool full = rr->scope == KS_SCOPE_FULL, changed = false;

	if (full) { /* the new result replaces the kept one (a Close reads its actual value) */
		ks_result_free(kept);
		*kept = *r;
		memset(r, 0, sizeof(*r));
		r = kept;
	} else
		merge_partial(kept, r);
	/* unknown is not fixed: on error, the open findings stay open */
	mark_check(p, c, !full || r->status == KS_CHK_ERROR);
	if (r->status == KS_CHK_FAIL) {
		size_t n = r->n_items ? r->n_items : 1;

		for (size_t k = 0; k < n; k++)
			changed |= apply_item(p, pl, c, r->n_items ? r->items[k].key : "",
			                      r->n_items ? r->items[k].actual : r->actual, now_ms);
	}
	if (full)
		changed |= close_unseen(p, pl, c, now_ms);
	if (full && r->status != KS_CHK_ERROR)
		p->settled[rr->check] = true;
	return changed;
}
