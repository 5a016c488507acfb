// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Posture's findings judged by the rule engine, in the daemon's order: posture (in place, no thread)
 * emits its Compliance Findings through a pipeline whose evaluator is the judge with the built-in rules;
 * the Detection Findings come out of the same pipeline. The root is a small tree whose ASLR sysctl the
 * test writes: missing (the check errors: no baseline yet), off (the first conclusive run: found at
 * start), on, off again (appeared while running: KS-DEF-008).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/judge.h"
#include "pipeline_fixture.h"
#include "posture/posture.h"
#include "root_files.h"

/* The findings written so far (2003 and 2004), in order. */
static struct json_object *findings(struct fixture *f)
{
	struct json_object *arr = fixture_written(f, 2003, 2004);

	assert_non_null(arr);
	return arr;
}

/* The KS-KRN-001 findings (2003) and the detections (2004) after index *from; *from moves past them. */
static void take(struct fixture *f, size_t *from, struct json_object **aslr, int *n_aslr, struct json_object **det,
                 int *n_det)
{
	struct json_object *all = findings(f);
	size_t n = json_object_array_length(all);

	*n_aslr = *n_det = 0;
	for (size_t i = *from; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(all, i);

		if (json_object_get_int(get(e, "class_uid")) == 2004)
			det[(*n_det)++] = json_object_get(e);
		else if (!strcmp(gets_(e, "compliance.control"), "KS-KRN-001"))
			aslr[(*n_aslr)++] = json_object_get(e);
	}
	*from = n;
	json_object_put(all);
}

static void put_all(struct json_object **v, int n)
{
	for (int i = 0; i < n; i++)
		json_object_put(v[i]);
}

static void test_aslr_off_after_start_is_a_detection(void **state)
{
	struct fixture *f = *state;
	char root[] = "/tmp/ks-judge-posture-XXXXXX", err[512], cmd[600], path[512];
	struct json_object *aslr[8] = {0}, *det[64] = {0};
	struct ks_posture_cfg pc;
	struct ks_config cfg;
	struct ks_posture *p;
	struct ks_judge *j = ks_judge_new();
	int64_t now = 1790000000000;
	int na, nd;
	size_t from = 0;

	assert_non_null(mkdtemp(root));
	ks_config_defaults(&cfg);
	cfg.rules.n_paths = cfg.rules.n_policy_paths = 0; /* the built-in rules alone */
	assert_int_equal(ks_judge_load(j, &cfg.rules, err, sizeof(err)), 0);
	assert_int_equal(ks_pipeline_add_evaluator(&f->pl, "rules", ks_judge_event, j), 0);
	ks_posture_cfg_defaults(&pc);
	snprintf(pc.root, sizeof(pc.root), "%s", root);
	pc.use_sshd_t = false;
	p = ks_posture_new(&pc, NULL, err, sizeof(err));
	assert_non_null(p);

	/* the sysctl unreadable (a directory): the check errors, nothing is known of ASLR yet. (A missing
	 * sysctl is a conclusive "not applicable".) */
	snprintf(path, sizeof(path), "%s/proc/sys/kernel/randomize_va_space", root);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", path);
	assert_int_equal(system(cmd), 0);
	ks_posture_snapshot(p, &f->pl, now);
	take(f, &from, aslr, &na, det, &nd);
	assert_int_equal(na, 0);
	put_all(det, nd);
	assert_int_equal(nd, 0); /* the host's state at start raises nothing */

	/* the first conclusive run finds ASLR off: the baseline, a posture finding only */
	assert_int_equal(rmdir(path), 0);
	put(root, "/proc/sys/kernel/randomize_va_space", "0\n");
	ks_posture_snapshot(p, &f->pl, now + 1000);
	take(f, &from, aslr, &na, det, &nd);
	assert_int_equal(na, 1);
	assert_int_equal(json_object_get_int(get(aslr[0], "activity_id")), 1);
	assert_true(json_object_get_boolean(get(aslr[0], "unmapped.found_at_start")));
	put_all(aslr, na);
	assert_int_equal(nd, 0);
	put_all(det, nd);

	/* turned on: Close, judged, nothing raised */
	put(root, "/proc/sys/kernel/randomize_va_space", "2\n");
	ks_posture_snapshot(p, &f->pl, now + 2000);
	take(f, &from, aslr, &na, det, &nd);
	assert_int_equal(na, 1);
	assert_int_equal(json_object_get_int(get(aslr[0], "activity_id")), 3);
	put_all(aslr, na);
	assert_int_equal(nd, 0);

	/* off again while running: a Create found later, and KS-DEF-008 on it */
	put(root, "/proc/sys/kernel/randomize_va_space", "0\n");
	ks_posture_snapshot(p, &f->pl, now + 3000);
	take(f, &from, aslr, &na, det, &nd);
	assert_int_equal(na, 1);
	assert_false(json_object_get_boolean(get(aslr[0], "unmapped.found_at_start")));
	assert_int_equal(nd, 1);
	assert_string_equal(gets_(det[0], "finding_info.analytic.uid"), "KS-DEF-008");
	assert_int_equal(json_object_get_int64(get(det[0], "time")), now + 3000);
	assert_null(get(det[0], "actor")); /* no process did it */
	{
		struct json_object *data = get(json_object_array_get_idx(get(det[0], "evidences"), 0), "data");

		assert_string_equal(json_object_get_string(get(data, "finding_uid")),
		                    gets_(aslr[0], "finding_info.uid"));
		assert_string_equal(json_object_get_string(get(data, "control")), "KS-KRN-001");
		assert_string_equal(json_object_get_string(get(data, "event_uid")), gets_(aslr[0], "metadata.uid"));
		assert_int_equal(json_object_get_int(get(data, "class_uid")), 2003);
	}
	assert_non_null(strstr(gets_(det[0], "message"), "now 0 (expected 2)"));
	put_all(aslr, na);
	put_all(det, nd);

	ks_posture_free(p);
	ks_judge_free(j);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_aslr_off_after_start_is_a_detection, setup, teardown),
	};

	(void)last_event; /* the fixture's, unused here */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
