// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Held connection Opens and the rule engine, with short-lived folding on (network.short_lived_ms): every
 * Open is judged once, when it would have been written without folding (outbound: established; inbound:
 * accepted), whether it is later written at its window's end or folded into its Close; a rule that matches
 * it has the Open written at once, in sequence before the finding that carries it as evidence. The real
 * judge with the built-in rules (KS-NET-002: an outbound connection to a mining pool port), and a recorder
 * evaluator that sees exactly what the judge sees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>

#include "detect/judge.h"
#include "pipeline/ocsf.h"
#include "pipeline_fixture.h"

#define MS 1000000ull
#define T0 1000000000ull

/* What the evaluators were given, in order. */
struct judged {
	int class_uid, activity_id;
	uint32_t pid;
	bool had_line; /* false: judged before it was written */
};
struct recorder {
	struct judged ev[16];
	int n;
};

static void record(void *ctx, struct ks_pipeline *pl, const struct ks_decoded *ev, const char *line, size_t len)
{
	struct recorder *r = ctx;

	(void)pl, (void)len;
	if (r->n < 16)
		r->ev[r->n++] = (struct judged){ev->class_uid, ev->activity_id, ev->pid, line != NULL};
}

struct judge_fixture {
	struct fixture *f;
	struct ks_judge *j;
	struct recorder rec;
};

static int setup_judge(void **state)
{
	struct judge_fixture *jf = calloc(1, sizeof(*jf));
	struct ks_config cfg;
	char err[512];

	setup((void **)&jf->f);
	jf->j = ks_judge_new();
	ks_config_defaults(&cfg);
	cfg.rules.n_paths = cfg.rules.n_policy_paths = 0; /* the built-in rules alone */
	assert_int_equal(ks_judge_load(jf->j, &cfg.rules, err, sizeof(err)), 0);
	assert_int_equal(ks_pipeline_add_evaluator(&jf->f->pl, "recorder", record, &jf->rec), 0);
	assert_int_equal(ks_pipeline_add_evaluator(&jf->f->pl, "rules", ks_judge_event, jf->j), 0);
	jf->f->pl.net = ks_netmodel_new(200 * MS);
	jf->f->pl.net->short_lived_ns = 200 * MS;
	*state = jf;
	return 0;
}

static int teardown_judge(void **state)
{
	struct judge_fixture *jf = *state;

	ks_judge_free(jf->j);
	teardown((void **)&jf->f);
	free(jf);
	return 0;
}

static struct ks_net conn_rec(uint8_t action, uint64_t sock, uint32_t pid, uint8_t dir, uint16_t remote_port,
                              uint64_t ts)
{
	struct ks_net e;

	memset(&e, 0, sizeof(e));
	e.hdr = (struct ks_hdr){.kind = KS_EV_NET, .version = KS_WIRE_VERSION, .size = KS_NET_FIXED_SIZE};
	e.hdr.ts_ns = ts;
	e.hdr.pid = pid;
	e.action = action;
	e.sock_id = sock;
	e.direction = dir;
	e.proto = IPPROTO_TCP;
	e.family = 4;
	e.loginuid = KS_NO_ID;
	e.netns = 4026531840u;
	inet_pton(AF_INET, "10.0.0.1", e.saddr);
	inet_pton(AF_INET, "198.51.100.7", e.daddr);
	e.sport = 41000;
	e.dport = remote_port;
	return e;
}

static void feed(struct fixture *f, struct ks_net e)
{
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
}

/* Every event written so far. */
static struct json_object *written(struct fixture *f)
{
	struct json_object *arr = fixture_written(f, 0, 0);

	assert_non_null(arr);
	return arr;
}

static int n_written(struct fixture *f)
{
	struct json_object *arr = written(f);
	int n = (int)json_object_array_length(arr);

	json_object_put(arr);
	return n;
}

/* A rule's counter in `kansoku rules list` ("evaluations", "matches"). */
static int64_t rule_counter(struct ks_judge *j, const char *id, const char *counter)
{
	struct json_object *rules = ks_judge_rules_json(j), *o;
	int64_t v = -1;

	for (size_t i = 0; i < json_object_array_length(rules); i++) {
		o = json_object_array_get_idx(rules, i);
		if (!strcmp(gets_(o, "id"), id))
			v = json_object_get_int64(get(o, counter));
	}
	json_object_put(rules);
	assert_true(v >= 0);
	return v;
}

/* A short outbound connection no rule matches: its Open is judged at once but never written; one folded
 * Close goes out, judged as a Close. */
static void test_held_open_is_judged_at_once_then_folded(void **state)
{
	struct judge_fixture *jf = *state;
	struct fixture *f = jf->f;
	int64_t evals = rule_counter(jf->j, "KS-NET-002", "evaluations");
	struct ks_net e = conn_rec(KS_NA_ESTABLISHED, 7, 300, KS_DIR_OUT, 8080, T0);
	struct json_object *o;

	feed(f, e);
	assert_int_equal(n_written(f), 0);
	assert_int_equal(jf->rec.n, 1);
	assert_int_equal(jf->rec.ev[0].class_uid, KS_OCSF_NETWORK_ACTIVITY);
	assert_int_equal(jf->rec.ev[0].activity_id, KS_OCSF_NET_OPEN);
	assert_false(jf->rec.ev[0].had_line);
	assert_int_equal(rule_counter(jf->j, "KS-NET-002", "evaluations"), evals + 1);

	e = conn_rec(KS_NA_CLOSE, 7, 300, KS_DIR_OUT, 8080, T0 + 50 * MS);
	e.bytes_in = 11;
	e.bytes_out = 5;
	feed(f, e);
	ks_net_tick(&f->pl, T0 + 5000 * MS, 0);
	assert_int_equal(n_written(f), 1);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Close");
	assert_true(json_object_get_boolean(get(o, "unmapped.short_lived")));
	assert_int_equal(json_object_get_int(get(o, "traffic.bytes_in")), 11);
	assert_int_equal(json_object_get_int(get(o, "traffic.bytes_out")), 5);
	assert_non_null(get(o, "start_time"));
	assert_non_null(get(o, "end_time"));
	json_object_put(o);
	assert_int_equal(jf->rec.n, 2);
	assert_int_equal(jf->rec.ev[1].activity_id, KS_OCSF_NET_CLOSE);
	assert_true(jf->rec.ev[1].had_line);
	/* the Open rule saw the Open once, and the Close is no Open */
	assert_int_equal(rule_counter(jf->j, "KS-NET-002", "evaluations"), evals + 1);
	assert_int_equal(rule_counter(jf->j, "KS-NET-002", "matches"), 0);
	assert_int_equal(f->pl.counters.net_folded, 1);
	assert_int_equal(f->pl.counters.net_open_for_finding, 0);
}

/* A connection outliving the window: its Open is written at the window's end without a second judgement. */
static void test_released_open_is_not_judged_again(void **state)
{
	struct judge_fixture *jf = *state;
	struct fixture *f = jf->f;
	struct json_object *o;

	feed(f, conn_rec(KS_NA_ESTABLISHED, 8, 300, KS_DIR_OUT, 8080, T0));
	ks_net_tick(&f->pl, T0 + 150 * MS, 0);
	assert_int_equal(n_written(f), 0);
	ks_net_tick(&f->pl, T0 + 250 * MS, 0);
	assert_int_equal(n_written(f), 1);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Open");
	json_object_put(o);
	assert_int_equal(jf->rec.n, 1);
	feed(f, conn_rec(KS_NA_CLOSE, 8, 300, KS_DIR_OUT, 8080, T0 + 900 * MS));
	assert_int_equal(n_written(f), 2);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Close");
	assert_null(get(o, "unmapped.short_lived"));
	json_object_put(o);
	assert_int_equal(jf->rec.n, 2);
	assert_int_equal(jf->rec.ev[1].activity_id, KS_OCSF_NET_CLOSE);
}

/* A held Open a rule matches: the finding comes at once, the Open written just before it is its evidence,
 * and the rule counts one match for the whole connection. */
static void test_rule_on_held_open_fires_at_once_with_the_open_as_evidence(void **state)
{
	struct judge_fixture *jf = *state;
	struct fixture *f = jf->f;
	int64_t evals = rule_counter(jf->j, "KS-NET-002", "evaluations");
	struct json_object *all, *open, *finding, *o;

	feed(f, conn_rec(KS_NA_ESTABLISHED, 9, 300, KS_DIR_OUT, 3333, T0));
	all = written(f);
	assert_int_equal(json_object_array_length(all), 2);
	open = json_object_array_get_idx(all, 0);
	finding = json_object_array_get_idx(all, 1);
	assert_string_equal(gets_(open, "activity_name"), "Open");
	assert_int_equal(json_object_get_int(get(open, "dst_endpoint.port")), 3333);
	assert_int_equal(json_object_get_int(get(finding, "class_uid")), KS_OCSF_DETECTION_FINDING);
	assert_string_equal(gets_(finding, "finding_info.analytic.uid"), "KS-NET-002");
	assert_int_equal(json_object_get_int64(get(finding, "metadata.sequence")),
	                 json_object_get_int64(get(open, "metadata.sequence")) + 1);
	assert_string_equal(gets_(finding, "evidences.0.data.event_uid"), gets_(open, "metadata.uid"));
	assert_string_equal(gets_(finding, "evidences.0.data.activity_name"), "Open");
	assert_string_equal(gets_(finding, "evidences.0.connection_info.uid"), gets_(open, "connection_info.uid"));
	json_object_put(all);
	assert_int_equal(jf->rec.n, 1);
	assert_false(jf->rec.ev[0].had_line);

	/* its Open is out already: the Close is an ordinary one, and nothing is judged twice */
	feed(f, conn_rec(KS_NA_CLOSE, 9, 300, KS_DIR_OUT, 3333, T0 + 20 * MS));
	ks_net_tick(&f->pl, T0 + 5000 * MS, 0);
	assert_int_equal(n_written(f), 3);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Close");
	assert_null(get(o, "unmapped.short_lived"));
	json_object_put(o);
	assert_int_equal(jf->rec.n, 2);
	assert_int_equal(rule_counter(jf->j, "KS-NET-002", "evaluations"), evals + 1);
	assert_int_equal(rule_counter(jf->j, "KS-NET-002", "matches"), 1);
	assert_int_equal(f->pl.counters.net_open_for_finding, 1);
	assert_int_equal(f->pl.counters.net_folded, 0);
}

/* Inbound: judged when accept() names the acceptor (as without folding), then folded into its Close. */
static void test_inbound_held_open_is_judged_at_accept(void **state)
{
	struct judge_fixture *jf = *state;
	struct fixture *f = jf->f;
	struct json_object *o;

	feed(f, conn_rec(KS_NA_ESTABLISHED, 10, 100, KS_DIR_IN, 50000, T0));
	assert_int_equal(jf->rec.n, 0);
	feed(f, conn_rec(KS_NA_ACCEPT, 10, 101, KS_DIR_IN, 50000, T0 + 1 * MS));
	assert_int_equal(jf->rec.n, 1);
	assert_int_equal(jf->rec.ev[0].activity_id, KS_OCSF_NET_OPEN);
	assert_int_equal(jf->rec.ev[0].pid, 101);
	feed(f, conn_rec(KS_NA_CLOSE, 10, 101, KS_DIR_IN, 50000, T0 + 3 * MS));
	assert_int_equal(n_written(f), 1);
	o = last_event(f);
	assert_true(json_object_get_boolean(get(o, "unmapped.short_lived")));
	assert_true(json_object_get_boolean(get(o, "unmapped.accepted")));
	json_object_put(o);
	assert_int_equal(jf->rec.n, 2);

	/* never accepted, closed within the window: judged (as the listener's owner's) right before its Close */
	feed(f, conn_rec(KS_NA_ESTABLISHED, 11, 100, KS_DIR_IN, 50001, T0 + 10 * MS));
	feed(f, conn_rec(KS_NA_CLOSE, 11, 100, KS_DIR_IN, 50001, T0 + 12 * MS));
	assert_int_equal(jf->rec.n, 4);
	assert_int_equal(jf->rec.ev[2].activity_id, KS_OCSF_NET_OPEN);
	assert_int_equal(jf->rec.ev[2].pid, 100);
	assert_int_equal(jf->rec.ev[3].activity_id, KS_OCSF_NET_CLOSE);
	assert_int_equal(n_written(f), 2);
}

/* A threshold on Opens counts each connection once: one connection's Open judged when held, written at
 * its window's end and then closed is one count, so only a second connection reaches 2. */
static void test_threshold_counts_a_held_open_once(void **state)
{
	struct judge_fixture *jf = *state;
	struct fixture *f = jf->f;
	struct ks_config cfg;
	char path[160], err[512];
	struct json_object *o;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/rules.yaml", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("rules:\n"
	      "  - id: T-TWO-OPENS\n"
	      "    title: two outbound connections\n"
	      "    condition: class_uid = 4001 and activity_name = Open and connection_info.direction = Outbound\n"
	      "    threshold: {count: 2, within: 10s, by: process}\n"
	      "    tags: [T1046, discovery]\n",
	      fp);
	fclose(fp);
	ks_config_defaults(&cfg);
	cfg.rules.builtin = false;
	cfg.rules.n_policy_paths = 0;
	cfg.rules.n_paths = 1;
	snprintf(cfg.rules.paths[0], sizeof(cfg.rules.paths[0]), "%s", path);
	assert_int_equal(ks_judge_load(jf->j, &cfg.rules, err, sizeof(err)), 0);

	feed(f, conn_rec(KS_NA_ESTABLISHED, 12, 300, KS_DIR_OUT, 8080, T0));
	ks_net_tick(&f->pl, T0 + 300 * MS, 0); /* its Open written at the window's end */
	feed(f, conn_rec(KS_NA_CLOSE, 12, 300, KS_DIR_OUT, 8080, T0 + 400 * MS));
	assert_int_equal(n_written(f), 2); /* Open, Close: no finding from one connection */
	assert_int_equal(rule_counter(jf->j, "T-TWO-OPENS", "matches"), 0);

	feed(f, conn_rec(KS_NA_ESTABLISHED, 13, 300, KS_DIR_OUT, 8081, T0 + 500 * MS));
	assert_int_equal(rule_counter(jf->j, "T-TWO-OPENS", "matches"), 1);
	o = last_event(f);
	assert_int_equal(json_object_get_int(get(o, "class_uid")), KS_OCSF_DETECTION_FINDING);
	assert_int_equal(json_object_get_int(get(o, "unmapped.threshold_count")), 2);
	json_object_put(o);
	feed(f, conn_rec(KS_NA_CLOSE, 13, 300, KS_DIR_OUT, 8081, T0 + 520 * MS));
	assert_int_equal(n_written(f), 5); /* + the second Open (its evidence), the finding, a plain Close */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_held_open_is_judged_at_once_then_folded, setup_judge, teardown_judge),
	    cmocka_unit_test_setup_teardown(test_released_open_is_not_judged_again, setup_judge, teardown_judge),
	    cmocka_unit_test_setup_teardown(test_rule_on_held_open_fires_at_once_with_the_open_as_evidence, setup_judge,
	                                    teardown_judge),
	    cmocka_unit_test_setup_teardown(test_inbound_held_open_is_judged_at_accept, setup_judge, teardown_judge),
	    cmocka_unit_test_setup_teardown(test_threshold_counts_a_held_open_once, setup_judge, teardown_judge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
