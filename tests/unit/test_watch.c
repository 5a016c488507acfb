// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The file watch set: rule matching (the same semantics as the BPF side), path folding, wildcard expansion,
 * and the files: section of the config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config.h"
#include "config_cases.h"
#include "sensors/watch.h"

static int rule(struct ks_rule *r, const char *path, uint32_t ops, uint32_t flags)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->head, sizeof(r->head), "%s", path);
	r->head_len = (uint32_t)strlen(path);
	r->ops = ops;
	r->flags = flags;
	return 1;
}

static void test_most_specific_rule_wins(void **state)
{
	struct ks_rule r[5];
	int n = 0;

	(void)state;
	n += rule(&r[n], "/etc", KS_OPS_ALL & ~KS_OPS_READ, 0);
	n += rule(&r[n], "/etc/shadow", KS_OPS_ALL, 0);
	n += rule(&r[n], "/etc/cache", 0, KS_RULE_IGNORE);
	n += rule(&r[n], "/", KS_OPS_DELETE, 0);
	assert_int_equal(ks_watch_match(r, n, "/etc/passwd"), KS_OPS_ALL & ~KS_OPS_READ);
	assert_int_equal(ks_watch_match(r, n, "/etc"), KS_OPS_ALL & ~KS_OPS_READ);
	assert_int_equal(ks_watch_match(r, n, "/etc/shadow"), KS_OPS_ALL);
	assert_int_equal(ks_watch_match(r, n, "/etc/shadow-"), KS_OPS_ALL & ~KS_OPS_READ); /* whole components */
	assert_int_equal(ks_watch_match(r, n, "/etc/cache/x"), 0);                         /* ignored */
	assert_int_equal(ks_watch_match(r, n, "/etcetera/x"), KS_OPS_DELETE);              /* only "/" */
	assert_int_equal(ks_watch_match(r, n - 1, "/etcetera/x"), 0);
	assert_int_equal(ks_watch_match(r, n - 1, "/var/log/syslog"), 0);
}

static void test_normalize(void **state)
{
	static const char *const cases[][2] = {
	    {"/a/b/../c", "/a/c"},
	    {"/a/./b//c/", "/a/b/c"},
	    {"/..", "/"},
	    {"/a/b/../../..", "/"},
	    {"/", "/"},
	    {"/tmp/../etc/shadow", "/etc/shadow"},
	    {"/a/..b/c", "/a/..b/c"},
	    {"/a/b/.", "/a/b"},
	    {"//x", "/x"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%s", cases[i][0]);
		ks_path_normalize(buf);
		assert_string_equal(buf, cases[i][1]);
	}
}

static void test_build_expands_wildcards(void **state)
{
	char dir[] = "/tmp/ks-watch-XXXXXX", p[256], err[256], text[512];
	struct ks_rule rules[KS_RULES_MAX];
	struct ks_config cfg;
	int n, i, found = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/alice", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/bob", dir);
	mkdir(p, 0755);
	snprintf(text, sizeof(text),
	         "files:\n  watch:\n    - %s/*/.ssh\n    - path: /srv\n      ops: [write, delete]\n  ignore:\n    - "
	         "/srv/cache\n",
	         dir);
	assert_int_equal(ks_config_parse(&cfg, "t.yaml", text, strlen(text), err, sizeof(err)), 0);
	n = ks_watch_build(&cfg, rules, KS_RULES_MAX, err, sizeof(err));
	assert_int_equal(n, 3); /* the wildcard stays one rule, matched in the kernel */
	assert_true(rules[0].flags & KS_RULE_WILD);
	assert_string_equal(rules[0].tail, "/.ssh");
	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s/.ssh/authorized_keys", dir, i ? "alice" : "carol-made-later");
		assert_int_equal(ks_watch_match(rules, n, p), KS_OPS_ALL);
		found++;
	}
	assert_int_equal(found, 2);
	snprintf(p, sizeof(p), "%s/alice/.sshx", dir); /* whole components only */
	assert_int_equal(ks_watch_match(rules, n, p), 0);
	snprintf(p, sizeof(p), "%s/alice/notes", dir);
	assert_int_equal(ks_watch_match(rules, n, p), 0);
	snprintf(p, sizeof(p), "%s//.ssh", dir); /* the '*' component cannot be empty */
	assert_int_equal(ks_watch_match(rules, n, p), 0);
	assert_int_equal(ks_watch_match(rules, n, "/srv/x"), KS_OPS_WRITE | KS_OPS_DELETE);
	assert_int_equal(ks_watch_match(rules, n, "/srv/cache/x"), 0);
	/* the default watch set is used when none is given, and keeps its ignore-free shape */
	assert_int_equal(ks_config_parse(&cfg, "t.yaml", "", 0, err, sizeof(err)), 0);
	n = ks_watch_build(&cfg, rules, KS_RULES_MAX, err, sizeof(err));
	assert_true(n > 10);
	assert_int_equal(ks_watch_match(rules, n, "/etc/shadow"), KS_OPS_ALL);
	assert_int_equal(ks_watch_match(rules, n, "/etc/hosts") & KS_OPS_READ, 0);
	assert_true(ks_watch_match(rules, n, "/usr/bin/ls") & KS_OPS_WRITE);
	/* a '*' inside a component, or two of them, is refused with the reason */
	assert_int_equal(ks_config_parse(&cfg, "t.yaml", "files:\n  watch:\n    - /a/*x/b\n", 30, err, sizeof(err)), 0);
	assert_int_equal(ks_watch_build(&cfg, rules, KS_RULES_MAX, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "a '*' must be one whole path component"));
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	assert_int_equal(system(p), 0);
}

static void test_too_many_rules(void **state)
{
	struct ks_config cfg;
	struct ks_rule rules[KS_RULES_MAX];
	char err[256];
	int i;

	(void)state;
	ks_config_defaults(&cfg);
	cfg.n_watch = 0;
	for (i = 0; i < KS_RULES_MAX + 1; i++) {
		snprintf(cfg.watch[i].path, sizeof(cfg.watch[i].path), "/r%d", i);
		cfg.watch[i].ops = KS_OPS_ALL;
		cfg.watch[i].line = i + 1;
		cfg.n_watch++;
	}
	assert_int_equal(ks_watch_build(&cfg, rules, KS_RULES_MAX, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 32"));
}

static void test_files_config_errors(void **state)
{
	static const struct config_case cases[] = {
	    {"files:\n  watch: /etc\n", "key 'files.watch': expected a list"},
	    {"files:\n  watch:\n    - etc\n", "'etc' is not an absolute path"},
	    {"files:\n  watch:\n    - /etc/../root\n", "is not a canonical path"},
	    {"files:\n  watch:\n    - /etc/\n", "is not a canonical path"},
	    {"files:\n  watch:\n    - path: /etc\n      ops: [read, fly]\n",
	     "t.yaml:4:19: key 'files.watch[].ops': expected one of"},
	    {"files:\n  watch:\n    - path: /etc\n      ops: []\n", "empty: give at least one operation"},
	    {"files:\n  watch:\n    - ops: [read]\n", "item: key 'path' is required"},
	    {"files:\n  ignore:\n    - path: /x\n      ops: [read]\n", "unknown key 'ops' in 'files.ignore'"},
	    {"files:\n  watch:\n    - exe: /bin/x\n", "unknown key 'exe' in 'files.watch'"},
	    {"files:\n  ignore:\n    - path: /x\n      exe: /bin/x\n", "give either 'path' or 'exe', once"},
	    {"files:\n  enabled: maybe\n", "key 'files.enabled': expected one of: false, true"},
	    {"files:\n  aggregate_window_ms: -1\n", "key 'files.aggregate_window_ms': expected an integer"},
	    {"files:\n  ringbuf_kb: 100\n", "not a power of two"},
	    {"files:\n  colour: red\n", "unknown key 'colour' in 'files'"},
	};
	struct ks_config cfg;
	char err[512];

	(void)state;
	expect_config_errors(cases, sizeof(cases) / sizeof(cases[0]));
	assert_int_equal(ks_config_parse(&cfg, "t.yaml", "files:\n  enabled: false\n", 24, err, sizeof(err)), 0);
	assert_false(cfg.files_enabled);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_most_specific_rule_wins), cmocka_unit_test(test_normalize),
	    cmocka_unit_test(test_build_expands_wildcards), cmocka_unit_test(test_too_many_rules),
	    cmocka_unit_test(test_files_config_errors),
	};

	return cmocka_run_group_tests_name("watch", tests, NULL, NULL);
}
