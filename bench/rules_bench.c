// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The rule engine alone: recorded events (kansoku's OCSF output) are turned into views once, then replayed
 * through the engine for several rounds, with the given ruleset and with 1,000 generated rules added.
 * Reports events/s and ns/event, min/median/max over the rounds, on one core.
 *
 *   rules_bench RULES.yaml EVENTS.ndjson [ROUNDS] [EVENTS_PER_ROUND]
 */
#include <json-c/json.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules/offline.h"
#include "rules/rules.h"

#define GENERATED 1000

/* A view with its own copies of what the offline reader keeps in shared scratch space. */
struct event {
	struct ks_rview v;
	uint64_t now;
	const char *lineage[64], *args[256];
	struct ks_rproc_id anc[16];
	char unit[256];
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void own_copies(struct event *e)
{
	struct ks_rval *l = &e->v.f[KS_RF_PROC_LINEAGE], *a = &e->v.f[KS_RF_PROC_ARGS], *u = &e->v.f[KS_RF_PROC_UNIT];

	if (l->set) {
		memcpy(e->lineage, l->list, l->len * sizeof(*l->list));
		l->list = e->lineage;
	}
	if (a->set) {
		memcpy(e->args, a->list, a->len * sizeof(*a->list));
		a->list = e->args;
	}
	if (u->set) {
		snprintf(e->unit, sizeof(e->unit), "%s", u->s);
		u->s = e->unit;
	}
	memcpy(e->anc, e->v.ancestors, e->v.n_ancestors * sizeof(*e->anc));
	e->v.ancestors = e->anc;
}

/* Views of every event; the JSON objects stay alive (the views point into them and into ev itself, so
 * ev is allocated once every object is read). */
static struct event *read_events(const char *path, struct ks_rules_offline *o, size_t *n, struct json_object ***keep)
{
	FILE *f = fopen(path, "re");
	struct event *ev;
	char *line = NULL;
	size_t cap = 0, k = 0, i;

	if (!f) {
		fprintf(stderr, "rules_bench: cannot open %s: %m\n", path);
		return NULL;
	}
	while (getline(&line, &cap, f) > 0) {
		struct json_object *j = json_tokener_parse(line);

		if (!j)
			continue;
		*keep = realloc(*keep, (k + 1) * sizeof(**keep));
		if (!*keep) {
			fprintf(stderr, "rules_bench: out of memory\n");
			exit(1);
		}
		(*keep)[k++] = j;
	}
	free(line);
	fclose(f);
	ev = calloc(k ? k : 1, sizeof(*ev));
	if (!ev)
		return NULL;
	for (i = 0; i < k; i++) {
		ks_rules_view_from_json(o, (*keep)[i], &ev[i].v, &ev[i].now);
		own_copies(&ev[i]);
	}
	*n = k;
	return ev;
}

/* 1,000 rules over the four event classes, with lists, prefixes, a regex now and then, and exceptions. */
static char *generated_rules(void)
{
	size_t cap = GENERATED * 400, o = 0;
	char *s = malloc(cap);
	int i;

	if (!s)
		return NULL;
	o += (size_t)snprintf(s + o, cap - o, "rules:\n");
	for (i = 0; i < GENERATED; i++) {
		const char *cond;
		char c[256];

		switch (i % 4) {
		case 0:
			snprintf(
			    c, sizeof(c),
			    "class_uid = 1007 and activity_name = Launch and process.file.path in (/opt/a%d/bin/x, "
			    "/opt/b%d/bin/y) and not process.user.uid = %d",
			    i, i, i);
			break;
		case 1:
			snprintf(c, sizeof(c),
			         "class_uid = 1001 and file.path startswith /srv/data%d/ and actor.user.uid != %d", i,
			         i);
			break;
		case 2:
			snprintf(
			    c, sizeof(c),
			    "class_uid = 4001 and dst_endpoint.port = %d and not dst_endpoint.ip in_cidr 10.%d.0.0/16",
			    10000 + i, i % 256);
			break;
		default:
			if (i % 50 == 3)
				snprintf(c, sizeof(c),
				         "class_uid = 4003 and query.hostname matches '\\\\.bad%d\\\\.example$'", i);
			else
				snprintf(c, sizeof(c), "class_uid = 4003 and query.hostname endswith .bad%d.example",
				         i);
		}
		cond = c;
		o += (size_t)snprintf(s + o, cap - o,
		                      "  - id: GEN-%04d\n    title: generated %d\n    condition: \"%s\"\n", i, i, cond);
	}
	return s;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void count_match(void *ctx, const struct ks_rules_match *m)
{
	(void)m;
	(*(size_t *)ctx)++;
}

/* rounds x per_round events; prints events/s and ns/event min/median/max. The rates are from the thread's
 * CPU time (the cost on one core, whatever else the machine runs); the wall-clock median is shown too. */
static void run(const char *label, struct ks_rules *r, const struct event *ev, size_t n, int rounds, size_t per_round)
{
	uint64_t *ns = calloc((size_t)rounds, sizeof(*ns)), *wall = calloc((size_t)rounds, sizeof(*wall));
	size_t matches = 0, i, mid;
	int k;

	ks_rules_set_sink(r, count_match, &matches);
	for (i = 0; i < n; i++) /* warm up */
		ks_rules_eval(r, &ev[i].v, ev[i].now);
	for (k = 0; k < rounds; k++) {
		uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), w0 = clock_ns(CLOCK_MONOTONIC);

		for (i = 0; i < per_round; i++)
			ks_rules_eval(r, &ev[i % n].v, ev[i % n].now + (i / n) * 1000000000ull);
		ns[k] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
		wall[k] = clock_ns(CLOCK_MONOTONIC) - w0;
	}
	qsort(ns, (size_t)rounds, sizeof(*ns), cmp_u64);
	qsort(wall, (size_t)rounds, sizeof(*wall), cmp_u64);
	mid = (size_t)rounds / 2;
	printf("%-26s %4zu rules  events/s min %9.0f median %9.0f max %9.0f  ns/event min %5.0f median %5.0f "
	       "max %5.0f  (wall median %5.0f ns; %zu matches)\n",
	       label, ks_rules_count(r), (double)per_round / ((double)ns[rounds - 1] / 1e9),
	       (double)per_round / ((double)ns[mid] / 1e9), (double)per_round / ((double)ns[0] / 1e9),
	       (double)ns[0] / (double)per_round, (double)ns[mid] / (double)per_round,
	       (double)ns[rounds - 1] / (double)per_round, (double)wall[mid] / (double)per_round, matches);
	free(ns);
	free(wall);
}

/* A rule file, or a directory's *.yaml in order (the built-in set is packaging/rules/). */
static int add_rules(struct ks_rules_builder *b, const char *path, struct ks_rules_err *err)
{
	char pattern[1024];
	glob_t g;
	int rc = 0;

	snprintf(pattern, sizeof(pattern), "%s/*.yaml", path);
	if (glob(pattern, 0, NULL, &g))
		return ks_rules_add_file(b, path, err);
	for (size_t i = 0; !rc && i < g.gl_pathc; i++)
		rc = ks_rules_add_file(b, g.gl_pathv[i], err);
	globfree(&g);
	return rc;
}

static struct ks_rules *build(const char *file, const char *extra)
{
	struct ks_rules_builder *b = ks_rules_builder_new();
	struct ks_rules *r = NULL;
	struct ks_rules_err err;
	char msg[1024];

	if (add_rules(b, file, &err) || (extra && ks_rules_add_text(b, "generated", extra, strlen(extra), &err)))
		goto cleanup;
	r = ks_rules_build(b, NULL, &err);
cleanup:
	if (!r)
		fprintf(stderr, "rules_bench: %s\n", ks_rules_err_str(&err, msg, sizeof(msg)));
	ks_rules_builder_free(b);
	return r;
}

static void top_costs(struct ks_rules *r)
{
	size_t i;

	printf("per-rule cost (sampled 1 in 64), default ruleset:\n");
	for (i = 0; i < ks_rules_count(r); i++) {
		const struct ks_rule_info *in = ks_rules_info(r, i);

		if (in->cost_samples)
			printf("  %-16s evaluations %9llu  mean %5llu ns  p99 %5llu ns\n", in->id,
			       (unsigned long long)in->evaluations,
			       (unsigned long long)(in->cost_sum_ns / in->cost_samples),
			       (unsigned long long)in->cost_p99_ns);
	}
}

int main(int argc, char **argv)
{
	struct json_object **keep = NULL;
	struct ks_rules_offline *o;
	struct ks_rules *base, *big;
	struct event *ev;
	size_t n = 0, per_round, i;
	int rounds;
	char *gen;

	if (argc < 3) {
		fprintf(stderr, "usage: rules_bench RULES.yaml EVENTS.ndjson [ROUNDS] [EVENTS_PER_ROUND]\n");
		return 2;
	}
	rounds = argc > 3 ? atoi(argv[3]) : 7;
	per_round = argc > 4 ? (size_t)atol(argv[4]) : 2000000;
	base = build(argv[1], NULL);
	gen = generated_rules();
	big = gen ? build(argv[1], gen) : NULL;
	if (!base || !big || rounds < 1 || !per_round)
		return 1;
	o = ks_rules_offline_new(base, stdout, false);
	ev = read_events(argv[2], o, &n, &keep);
	if (!ev || !n) {
		fprintf(stderr, "rules_bench: no events in %s\n", argv[2]);
		free(ev);
		free(keep);
		return 1;
	}
	printf("%zu recorded events replayed, %d rounds of %zu events, one thread (CPU time)\n", n, rounds, per_round);
	run("default ruleset", base, ev, n, rounds, per_round);
	run("default + 1,000 generated", big, ev, n, rounds, per_round);
	top_costs(base);
	printf("state: %zu bytes (default), %zu bytes (1,000 rules)\n", ks_rules_state_bytes(base),
	       ks_rules_state_bytes(big));
	ks_rules_offline_free(o);
	for (i = 0; i < n; i++)
		json_object_put(keep[i]);
	free(keep);
	free(ev);
	free(gen);
	ks_rules_free(base);
	ks_rules_free(big);
	return 0;
}
