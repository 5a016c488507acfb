// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Posture checks against fixture trees (tests/fixtures/posture/{pass,fail} plus the .modes files that
 * set what git cannot keep: modes, owners, set-id bits, empty directories). Every check in the catalog
 * is one test per tree: it must pass on the pass tree and fail on the fail tree, so a check added without
 * fixtures fails here. Then the error paths (malformed sshd_config, no dpkg database, an unreadable
 * file), catalog validation, the score formula and the engine's deltas.
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
#include <sys/stat.h>
#include <unistd.h>

#include "posture/env.h"
#include "posture/posture.h"
#include "root_files.h"

#define FIXTURES "tests/fixtures/posture"

/* Copies a fixture tree to a temporary directory and applies its .modes file; returns the path. */
static char *make_tree(const char *name)
{
	static char dirs[8][64];
	static int used;
	char *dir = dirs[used++ % 8], cmd[800], line[512], modes[256];
	FILE *f;

	snprintf(dir, 64, "/tmp/ks-posture-%s-XXXXXX", name);
	if (!mkdtemp(dir))
		return NULL;
	snprintf(cmd, sizeof(cmd), "cp -a %s/%s/. %s/", FIXTURES, name, dir);
	if (system(cmd))
		return NULL;
	snprintf(modes, sizeof(modes), "%s/%s.modes", FIXTURES, name);
	f = fopen(modes, "r");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char path[256], kind[8] = "", full[600];
		unsigned mode, uid, gid;

		if (line[0] == '#' || sscanf(line, "%255s %o %u %u %7s", path, &mode, &uid, &gid, kind) < 4)
			continue;
		snprintf(full, sizeof(full), "%s%s", dir, path);
		if (!strcmp(kind, "dir")) {
			snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", full);
			if (system(cmd))
				return NULL;
		}
		if (chown(full, uid, gid) || chmod(full, mode)) { /* chown first: it clears set-id bits */
			fprintf(stderr, "%s: %m\n", full);
			fclose(f);
			return NULL;
		}
	}
	fclose(f);
	return dir;
}

static void rm_tree(const char *dir)
{
	char cmd[256];

	if (dir && !strncmp(dir, "/tmp/ks-posture-", 16)) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", dir);
	}
}

static void cfg_for(struct ks_posture_cfg *c, const char *root)
{
	ks_posture_cfg_defaults(c);
	snprintf(c->root, sizeof(c->root), "%s", root);
	c->n_scan_paths = 1;
	snprintf(c->scan_paths[0], sizeof(c->scan_paths[0]), "/");
	c->use_sshd_t = false;
}

static struct ks_catalog *catalog;
static char *pass_root, *fail_root;
static struct ks_posture_env *pass_env, *fail_env;

static int group_setup(void **state)
{
	struct ks_posture_cfg c;
	char err[512];

	(void)state;
	ks_posture_cfg_defaults(&c);
	catalog = ks_catalog_load(&c, err, sizeof(err));
	if (!catalog) {
		fprintf(stderr, "catalog: %s\n", err);
		return -1;
	}
	pass_root = make_tree("pass");
	fail_root = make_tree("fail");
	if (!pass_root || !fail_root) {
		fprintf(stderr, "cannot build the fixture trees (run as root from the repository)\n");
		return -1;
	}
	cfg_for(&c, pass_root);
	pass_env = ks_posture_env_new(&c, err, sizeof(err));
	cfg_for(&c, fail_root);
	fail_env = ks_posture_env_new(&c, err, sizeof(err));
	return pass_env && fail_env ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	ks_posture_env_free(pass_env);
	ks_posture_env_free(fail_env);
	rm_tree(pass_root);
	rm_tree(fail_root);
	ks_catalog_free(catalog);
	return 0;
}

/* state: the check. */
static void check_on(const struct ks_check *c, struct ks_posture_env *e, enum ks_chk_status want)
{
	struct ks_check_result r = {0};
	int st = ks_check_run(e, c, &r);

	if (st != (int)want)
		fail_msg("%s (%s): %s on the %s tree, expected %s; actual '%s' reason '%s'", c->id, c->title,
		         ks_chk_status_names[st], want == KS_CHK_PASS ? "pass" : "fail", ks_chk_status_names[want],
		         r.actual, r.reason);
	if (want == KS_CHK_FAIL && !r.actual[0] && !r.n_items)
		fail_msg("%s: a failure must say what was found", c->id);
	if (!r.expected[0])
		fail_msg("%s: the expected value is empty", c->id);
	ks_result_free(&r);
}

static void test_check_passes(void **state)
{
	check_on(*state, pass_env, KS_CHK_PASS);
}

static void test_check_fails(void **state)
{
	check_on(*state, fail_env, KS_CHK_FAIL);
}

/* ---- details the per-check tests do not show ---- */

static struct json_object *items_of(const char *id, struct ks_posture_env *e, struct ks_check_result *r)
{
	ks_check_run(e, ks_catalog_find(catalog, id), r);
	return NULL;
}

static bool has_item(const struct ks_check_result *r, const char *key)
{
	for (size_t i = 0; i < r->n_items; i++)
		if (!strcmp(r->items[i].key, key))
			return true;
	return false;
}

static void test_list_checks_name_each_item(void **state)
{
	struct ks_check_result r = {0};

	(void)state;
	items_of("KS-FS-004", fail_env, &r); /* SUID: /usr/bin/su is packaged (as /bin/su), evil is not */
	assert_true(has_item(&r, "/usr/local/bin/evil"));
	assert_false(has_item(&r, "/usr/bin/su"));
	items_of("KS-NET-017", fail_env, &r); /* 8080 open, 22 allowed */
	assert_true(has_item(&r, "tcp/0.0.0.0:8080"));
	assert_int_equal(r.n_items, 1);
	items_of("KS-RUN-001", fail_env, &r);
	assert_true(has_item(&r, "/tmp/x (deleted)"));
	assert_true(has_item(&r, "/srv/share/miner"));
	assert_true(has_item(&r, "/usr/local/bin/tool"));
	items_of("KS-ACC-008", fail_env, &r); /* alice and carol share 1000 */
	assert_true(has_item(&r, "1000"));
	items_of("KS-ACC-007", fail_env, &r);
	assert_true(has_item(&r, "toor"));
	items_of("KS-SUDO-001", fail_env, &r); /* found through #includedir */
	assert_true(has_item(&r, "/etc/sudoers.d/deploy:1"));
	items_of("KS-SSH-008", fail_env, &r); /* "+" appended CBC and 3DES to the defaults */
	assert_true(has_item(&r, "aes128-cbc"));
	assert_true(has_item(&r, "3des-cbc"));
	assert_false(has_item(&r, "aes128-ctr"));
	items_of("KS-FS-003", fail_env, &r);
	assert_true(has_item(&r, "/srv/orphan"));
	ks_result_free(&r);
}

static void test_no_hash_in_results(void **state)
{
	(void)state;
	for (size_t i = 0; i < catalog->n; i++) {
		struct ks_check_result r = {0};

		ks_check_run(fail_env, &catalog->checks[i], &r);
		assert_null(strstr(r.actual, "$6$"));
		for (size_t k = 0; k < r.n_items; k++) {
			assert_null(strstr(r.items[k].actual, "$6$"));
			assert_null(strstr(r.items[k].key, "$6$"));
		}
		ks_result_free(&r);
	}
}

/* The pass tree's sshd_config sets PermitRootLogin yes after an Include that says no, and yes again in a
 * Match block: the Include's value is the one sshd uses. */
static void test_sshd_first_value_and_include(void **state)
{
	struct json_object *o = ks_facts_sshd(pass_env), *v;

	(void)state;
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "permitrootlogin", &v));
	assert_string_equal(json_object_get_string(v), "no");
	assert_true(json_object_object_get_ex(o, "x11forwarding", &v));
	assert_string_equal(json_object_get_string(v), "yes");
	assert_true(json_object_object_get_ex(o, "clientaliveinterval", &v)); /* "Keyword = value" */
	assert_string_equal(json_object_get_string(v), "300");
	assert_true(json_object_object_get_ex(o, "logingracetime", &v)); /* OpenSSH's default */
	assert_string_equal(json_object_get_string(v), "120");
}

static struct ks_posture_env *env_of(const char *root)
{
	struct ks_posture_cfg c;
	char err[256];
	struct ks_posture_env *e;

	cfg_for(&c, root);
	e = ks_posture_env_new(&c, err, sizeof(err));
	assert_non_null(e);
	return e;
}

/* Broken inputs: the check says "error" with the reason, the others still run. */
static void test_errors_are_reported_and_others_run(void **state)
{
	char *root = make_tree("pass");
	struct ks_posture_env *e;
	struct ks_check_result r = {0};
	char err[256];
	struct json_object *pk;

	(void)state;
	assert_non_null(root);
	put(root, "/etc/ssh/sshd_config.d/10-hardening.conf", "PermitRootLogin no\nCiphers \"aes256-ctr\nUsePAM\n");
	{ /* /etc/shadow a directory: unreadable */
		char p[600];

		snprintf(p, sizeof(p), "%s/etc/shadow", root);
		assert_int_equal(unlink(p), 0);
		assert_int_equal(mkdir(p, 0700), 0);
		snprintf(p, sizeof(p), "rm -rf %s/var/lib/dpkg", root);
		assert_int_equal(system(p), 0);
	}
	e = env_of(root);

	assert_int_equal(ks_check_run(e, ks_catalog_find(catalog, "KS-SSH-001"), &r), KS_CHK_ERROR);
	assert_non_null(strstr(r.reason, "10-hardening.conf line 2: unbalanced quotes"));
	assert_int_equal(ks_check_run(e, ks_catalog_find(catalog, "KS-ACC-006"), &r), KS_CHK_ERROR);
	assert_non_null(strstr(r.reason, "cannot read /etc/shadow: Is a directory"));
	assert_int_equal(ks_check_run(e, ks_catalog_find(catalog, "KS-FS-004"), &r), KS_CHK_ERROR);
	assert_non_null(strstr(r.reason, "no package database"));
	/* the rest still runs */
	assert_int_equal(ks_check_run(e, ks_catalog_find(catalog, "KS-KRN-001"), &r), KS_CHK_PASS);
	assert_int_equal(ks_check_run(e, ks_catalog_find(catalog, "KS-ACC-005"), &r), KS_CHK_PASS);
	pk = ks_inventory_packages(e, err, sizeof(err));
	assert_int_equal(json_object_array_length(pk), 0);
	assert_non_null(strstr(err, "no package database"));
	json_object_put(pk);
	ks_result_free(&r);
	ks_posture_env_free(e);

	/* a keyword without a value */
	put(root, "/etc/ssh/sshd_config.d/10-hardening.conf", "PermitRootLogin no\nUsePAM\n");
	e = env_of(root);
	assert_int_equal(ks_check_run(e, ks_catalog_find(catalog, "KS-SSH-007"), &r), KS_CHK_ERROR);
	assert_non_null(strstr(r.reason, "line 2: 'UsePAM' has no value"));
	ks_result_free(&r);
	ks_posture_env_free(e);
	rm_tree(root);
}

/* --root never escapes: an absolute symlink in the image resolves inside it. */
static void test_root_confines_symlinks(void **state)
{
	char *root = make_tree("pass"), link[600];
	struct ks_posture_env *e;
	struct ks_check_result r = {0};

	(void)state;
	assert_non_null(root);
	put(root, "/outside/shadow", "alice::1:0:99999:7:::\n"); /* inside the image: empty password */
	snprintf(link, sizeof(link), "%s/etc/shadow", root);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink("/outside/shadow", link), 0); /* host's /outside/shadow does not exist */
	e = env_of(root);
	assert_int_equal(ks_check_run(e, ks_catalog_find(catalog, "KS-ACC-006"), &r), KS_CHK_FAIL);
	assert_true(has_item(&r, "alice"));
	ks_result_free(&r);
	ks_posture_env_free(e);
	rm_tree(root);
}

static void test_inventory(void **state)
{
	struct json_object *pk, *users, *dev, *v, *u;
	char err[256];
	bool found_alice = false;

	(void)state;
	pk = ks_inventory_packages(pass_env, err, sizeof(err));
	assert_int_equal(json_object_array_length(pk), 2); /* the removed package is not installed */
	v = json_object_array_get_idx(pk, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(v, "name")), "login");
	assert_string_equal(json_object_get_string(json_object_object_get(v, "purl")),
	                    "pkg:deb/debian/login@1%3A4.13%2Bdfsg1-1?arch=amd64");
	json_object_put(pk);

	users = ks_inventory_users(pass_env);
	json_object_object_get_ex(users, "users", &v);
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		u = json_object_array_get_idx(v, i);
		if (strcmp(json_object_get_string(json_object_object_get(u, "name")), "alice"))
			continue;
		found_alice = true;
		assert_string_equal(json_object_get_string(json_object_object_get(u, "password")), "set");
		assert_true(json_object_get_boolean(json_object_object_get(u, "sudo")));
		assert_true(json_object_get_boolean(json_object_object_get(u, "interactive")));
	}
	assert_true(found_alice);
	assert_null(strstr(json_object_to_json_string(users), "$6$")); /* never a hash */
	json_object_put(users);

	dev = ks_inventory_device(pass_env);
	assert_string_equal(json_object_get_string(json_object_object_get(dev, "hostname")), "fixture-pass");
	assert_string_equal(json_object_get_string(json_object_object_get(dev, "time_zone")), "Asia/Tokyo");
	json_object_object_get_ex(dev, "os", &v);
	assert_string_equal(json_object_get_string(json_object_object_get(v, "kernel_release")), "6.1.0-fixture");
	json_object_put(dev);
}

/* ---- the catalog ---- */

static void catalog_error(const char *text, const char *want)
{
	struct ks_posture_cfg c;
	char err[512];
	struct ks_catalog *cat;

	ks_posture_cfg_defaults(&c);
	cat = ks_catalog_load(&c, err, sizeof(err));
	assert_non_null(cat);
	if (!ks_catalog_add_text(cat, "extra.yaml", text, strlen(text), err, sizeof(err)))
		fail_msg("accepted: %s", text);
	if (!strstr(err, want))
		fail_msg("error '%s' does not say '%s'", err, want);
	ks_catalog_free(cat);
}

static void test_catalog_validation(void **state)
{
	(void)state;
	catalog_error("checks:\n  - {id: X-1, title: t, area: device, severity: low, evaluator: nope}\n",
	              "no evaluator named 'nope'");
	catalog_error("checks:\n  - {id: X-1, title: t, area: space, severity: low, evaluator: uid0}\n",
	              "area 'space'");
	catalog_error("checks:\n  - {id: X-1, title: t, area: user, severity: huge, evaluator: uid0}\n",
	              "severity 'huge'");
	catalog_error("checks:\n  - {id: X-1, title: t, area: device, severity: low, evaluator: sysctl, params: "
	              "{key: kernel.foo}}\n",
	              "exactly one of 'allowed'");
	catalog_error("checks:\n  - {id: X-1, title: t, area: device, severity: low, evaluator: sysctl, params: "
	              "{key: ../../etc/shadow, allowed: ['1']}}\n",
	              "not a sysctl name");
	catalog_error("checks:\n  - {id: X-1, title: t, area: user, severity: low, evaluator: uid0, color: red}\n",
	              "unknown field 'color'");
	catalog_error("checks:\n  - {id: 'bad id', title: t, area: user, severity: low, evaluator: uid0}\n", "'id'");
	catalog_error("checks: [\n", "extra.yaml: line");
	catalog_error("nothing: here\n", "'checks' list");
}

static void test_catalog_extend_and_disable(void **state)
{
	struct ks_posture_cfg c;
	char err[512], path[] = "/tmp/ks-catalog-XXXXXX";
	const char *extra = "checks:\n"
	                    "  - id: SITE-001\n    title: Core dumps of everything are off\n    area: device\n"
	                    "    severity: low\n    reference: site policy 4.2\n    evaluator: sysctl\n"
	                    "    params: {key: kernel.core_pattern, allowed: ['|/bin/false']}\n"
	                    "  - id: KS-KRN-005\n    title: replaced\n    area: device\n    severity: high\n"
	                    "    evaluator: sysctl\n    params: {key: kernel.dmesg_restrict, allowed: ['1']}\n";
	struct ks_catalog *cat;
	size_t builtin;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, extra, strlen(extra)), (ssize_t)strlen(extra));
	close(fd);
	ks_posture_cfg_defaults(&c);
	cat = ks_catalog_load(&c, err, sizeof(err));
	builtin = cat->n;
	assert_true(builtin >= 40);
	ks_catalog_free(cat);

	snprintf(c.catalogs[c.n_catalogs++], sizeof(c.catalogs[0]), "%s", path);
	snprintf(c.disabled[c.n_disabled++], sizeof(c.disabled[0]), "KS-MNT-001");
	cat = ks_catalog_load(&c, err, sizeof(err));
	assert_non_null(cat);
	assert_int_equal(cat->n, builtin + 1);
	assert_non_null(ks_catalog_find(cat, "SITE-001"));
	assert_string_equal(ks_catalog_find(cat, "KS-KRN-005")->title, "replaced");
	assert_int_equal(ks_catalog_find(cat, "KS-KRN-005")->sev, KS_SEV_HIGH);
	assert_false(ks_catalog_find(cat, "KS-MNT-001")->enabled);
	ks_catalog_free(cat);

	snprintf(c.disabled[0], sizeof(c.disabled[0]), "KS-TYPO-1"); /* a typo must not silently keep it on */
	assert_null(ks_catalog_load(&c, err, sizeof(err)));
	assert_non_null(strstr(err, "no check with id 'KS-TYPO-1'"));
	unlink(path);
}

/* ---- the score (docs/posture.md, worked example) ---- */

static void test_score_worked_example(void **state)
{
	struct ks_posture_cfg c;
	const int64_t day = 86400;

	(void)state;
	ks_posture_cfg_defaults(&c);
	/* high, open 3 days: inside its 7-day grace: 7 x 1 */
	assert_float_equal(ks_score_finding(&c, KS_SEV_HIGH, 3 * day), 7.0, 1e-9);
	/* high, open 14 days: one grace period past: 7 x 2 */
	assert_float_equal(ks_score_finding(&c, KS_SEV_HIGH, 14 * day), 14.0, 1e-9);
	/* medium, open 45 days: grace 30, 15 days past: 3 x 1.5 */
	assert_float_equal(ks_score_finding(&c, KS_SEV_MEDIUM, 45 * day), 4.5, 1e-9);
	/* critical, open 10 days: grace 1 day, factor would be 10: capped at 4 */
	assert_float_equal(ks_score_finding(&c, KS_SEV_CRITICAL, 10 * day), 40.0, 1e-9);
	/* info weighs nothing */
	assert_float_equal(ks_score_finding(&c, KS_SEV_INFO, 400 * day), 0.0, 1e-9);
	/* the example host: 14 + 4.5 + 40 + 1 (low, new) */
	assert_float_equal(ks_score_finding(&c, KS_SEV_HIGH, 14 * day) + ks_score_finding(&c, KS_SEV_MEDIUM, 45 * day) +
	                       ks_score_finding(&c, KS_SEV_CRITICAL, 10 * day) + ks_score_finding(&c, KS_SEV_LOW, 0),
	                   59.5, 1e-9);
	c.weight[KS_SEV_HIGH] = 5; /* configurable */
	c.grace_days[KS_SEV_HIGH] = 0;
	assert_float_equal(ks_score_finding(&c, KS_SEV_HIGH, 14 * day), 5.0, 1e-9);
}

/* The engine: deltas between runs, scores summed per area, ages kept across restarts. */
static void test_engine_deltas_and_persisted_age(void **state)
{
	char *root = make_tree("pass"), state_dir[] = "/tmp/ks-posture-state-XXXXXX", path[700];
	struct ks_posture_cfg c;
	struct ks_posture *p;
	struct json_object *sum, *fs, *doc, *st;
	char err[512];
	int64_t now = 1790000000000;
	FILE *f;

	(void)state;
	assert_non_null(root);
	assert_non_null(mkdtemp(state_dir));
	cfg_for(&c, root);
	p = ks_posture_new(&c, state_dir, err, sizeof(err));
	assert_non_null(p);
	ks_posture_snapshot(p, NULL, now);
	sum = ks_posture_summary_json(p, now);
	assert_int_equal(json_object_get_int(json_object_object_get(sum, "findings")), 0);
	assert_int_equal(json_object_get_int(json_object_object_get(sum, "checks_error")), 0);
	json_object_put(sum);

	/* break two things: a sysctl (high) and a new listener (high, one item) */
	put(root, "/proc/sys/kernel/randomize_va_space", "0\n");
	put(root, "/proc/net/tcp",
	    "  sl  local_address rem_address   st\n"
	    "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n"
	    "   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1\n");
	ks_posture_snapshot(p, NULL, now + 1000);
	st = ks_posture_status_json(p);
	assert_int_equal(json_object_get_int(json_object_object_get(st, "created")), 2);
	json_object_put(st);
	fs = ks_posture_findings_json(p, now + 1000, -1, -1);
	assert_int_equal(json_object_array_length(fs), 2);
	json_object_put(fs);

	/* restart 14 days later: the ages come back from state_dir, nothing is created again */
	ks_posture_free(p);
	p = ks_posture_new(&c, state_dir, err, sizeof(err));
	assert_non_null(p);
	ks_posture_snapshot(p, NULL, now + 1000 + 14 * 86400 * 1000ll);
	st = ks_posture_status_json(p);
	assert_int_equal(json_object_get_int(json_object_object_get(st, "created")), 0);
	json_object_put(st);
	sum = ks_posture_summary_json(p, now + 1000 + 14 * 86400 * 1000ll);
	/* two high findings, 14 days old: 2 x 7 x 2 */
	assert_float_equal(json_object_get_double(json_object_object_get(sum, "host")), 28.0, 1e-6);
	assert_float_equal(json_object_get_double(json_object_object_get(
	                       json_object_object_get(json_object_object_get(sum, "areas"), "device"), "score")),
	                   14.0, 1e-6);
	json_object_put(sum);

	/* fix one: it is closed */
	put(root, "/proc/sys/kernel/randomize_va_space", "2\n");
	ks_posture_snapshot(p, NULL, now + 2000 + 14 * 86400 * 1000ll);
	st = ks_posture_status_json(p);
	assert_int_equal(json_object_get_int(json_object_object_get(st, "closed")), 1);
	json_object_put(st);
	doc = ks_posture_snapshot_json(p);
	assert_non_null(json_object_object_get(doc, "inventory"));
	assert_true(json_object_array_length(json_object_object_get(doc, "checks")) >= 40);
	json_object_put(doc);
	ks_posture_free(p);

	snprintf(path, sizeof(path), "%s/posture.json", state_dir);
	f = fopen(path, "r");
	assert_non_null(f);
	fclose(f);
	snprintf(path, sizeof(path), "rm -rf %s", state_dir);
	assert_int_equal(system(path), 0);
	rm_tree(root);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(test_list_checks_name_each_item),
	    cmocka_unit_test(test_no_hash_in_results),
	    cmocka_unit_test(test_sshd_first_value_and_include),
	    cmocka_unit_test(test_errors_are_reported_and_others_run),
	    cmocka_unit_test(test_root_confines_symlinks),
	    cmocka_unit_test(test_inventory),
	    cmocka_unit_test(test_catalog_validation),
	    cmocka_unit_test(test_catalog_extend_and_disable),
	    cmocka_unit_test(test_score_worked_example),
	    cmocka_unit_test(test_engine_deltas_and_persisted_age),
	};
	struct ks_posture_cfg c;
	struct CMUnitTest *tests;
	struct ks_catalog *cat;
	char err[512], (*names)[64];
	size_t n = 0, i;
	int rc;

	/* one test per check and tree: the list comes from the catalog itself */
	ks_posture_cfg_defaults(&c);
	cat = ks_catalog_load(&c, err, sizeof(err));
	if (!cat) {
		fprintf(stderr, "catalog: %s\n", err);
		return 1;
	}
	tests = calloc(cat->n * 2 + sizeof(fixed) / sizeof(fixed[0]), sizeof(*tests));
	names = calloc(cat->n * 2, sizeof(*names));
	for (i = 0; i < cat->n; i++) {
		snprintf(names[2 * i], 64, "%s passes on its pass tree", cat->checks[i].id);
		snprintf(names[2 * i + 1], 64, "%s fails on its fail tree", cat->checks[i].id);
		tests[n++] = (struct CMUnitTest){names[2 * i], test_check_passes, NULL, NULL, (void *)&cat->checks[i]};
		tests[n++] =
		    (struct CMUnitTest){names[2 * i + 1], test_check_fails, NULL, NULL, (void *)&cat->checks[i]};
	}
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tests[n++] = fixed[i];
	rc = _cmocka_run_group_tests("posture", tests, n, group_setup, group_teardown);
	free(tests);
	free(names);
	ks_catalog_free(cat);
	return rc;
}
