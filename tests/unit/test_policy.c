// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Access policies (docs/policy.md): validation with positions, and what is allowed and what is outside a
 * policy for files (exact, subtree, '*' component), executables and network destinations (CIDR, ports,
 * ranges). Views are synthetic, as the daemon fills them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/offline.h"
#include "rules/rules.h"

#define SEC 1000000000ull

static size_t n_matches;
static char last_output[1024], last_id[72];
static const struct ks_rule_info *last_rule;

static void sink(void *ctx, const struct ks_rules_match *m)
{
	(void)ctx;
	n_matches++;
	last_rule = m->rule;
	snprintf(last_output, sizeof(last_output), "%s", m->output);
	snprintf(last_id, sizeof(last_id), "%s", m->rule->id);
}

static struct ks_rules *load_r(const char *text, struct ks_rules_err *err)
{
	struct ks_rules_builder *b = ks_rules_builder_new();
	struct ks_rules_opts o = {.dedupe_ns = UINT64_MAX, .rate_per_s = 1000000, .rate_burst = 1000000};
	struct ks_rules *r = NULL;

	assert_non_null(b);
	if (!ks_rules_add_text(b, "p.yaml", text, strlen(text), err))
		r = ks_rules_build(b, &o, err);
	ks_rules_builder_free(b);
	if (r)
		ks_rules_set_sink(r, sink, NULL);
	return r;
}

static struct ks_rules *load(const char *text)
{
	struct ks_rules_err err;
	char buf[1024];
	struct ks_rules *r = load_r(text, &err);

	if (!r)
		fail_msg("load failed: %s", ks_rules_err_str(&err, buf, sizeof(buf)));
	return r;
}

static const char *load_err(const char *text)
{
	static char buf[1024];
	struct ks_rules_err err;
	struct ks_rules *r = load_r(text, &err);

	if (r)
		fail_msg("loaded, but should not have: %s", text);
	ks_rules_err_str(&err, buf, sizeof(buf));
	return buf;
}

/* One evaluation: did the policy report it? */
static bool outside(struct ks_rules *r, const struct ks_rview *v)
{
	n_matches = 0;
	last_output[0] = '\0';
	ks_rules_eval(r, v, SEC);
	return n_matches > 0;
}

struct subj {
	const char *exe, *parent, *unit;
	int uid, login; /* login -1: none */
	bool tty;
};

static void subject(struct ks_rview *v, const struct subj *s)
{
	static const char *lineage[4];

	ks_rview_str(v, KS_RF_PROC_EXE, s->exe);
	if (s->parent)
		ks_rview_str(v, KS_RF_PARENT_EXE, s->parent);
	lineage[0] = s->parent ? s->parent : "/usr/lib/systemd/systemd";
	lineage[1] = "/usr/lib/systemd/systemd";
	ks_rview_list(v, KS_RF_PROC_LINEAGE, lineage, 2);
	if (s->unit)
		ks_rview_str(v, KS_RF_PROC_UNIT, s->unit);
	ks_rview_int(v, KS_RF_PROC_PID, 100);
	ks_rview_int(v, KS_RF_PROC_USER_UID, s->uid);
	ks_rview_int(v, KS_RF_PROC_GID, s->uid);
	if (s->login >= 0)
		ks_rview_int(v, KS_RF_PROC_LOGINUID, s->login);
	ks_rview_int(v, KS_RF_ACTOR_USER_UID, s->login >= 0 ? s->login : s->uid);
	ks_rview_bool(v, KS_RF_PROC_HAS_TTY, s->tty);
	v->proc.pid = 100;
	v->proc.start_ns = 5;
}

static void file_ev(struct ks_rview *v, const struct subj *s, const char *path, int act_id, const char *act)
{
	ks_rview_reset(v);
	ks_rview_int(v, KS_RF_CLASS_UID, 1001);
	ks_rview_int(v, KS_RF_ACTIVITY_ID, act_id);
	ks_rview_str(v, KS_RF_ACTIVITY_NAME, act);
	ks_rview_str(v, KS_RF_FILE_PATH, path);
	subject(v, s);
}

static void net_ev(struct ks_rview *v, const struct subj *s, const char *ip, int port, int dir)
{
	ks_rview_reset(v);
	ks_rview_int(v, KS_RF_CLASS_UID, 4001);
	ks_rview_int(v, KS_RF_ACTIVITY_ID, 1);
	ks_rview_str(v, KS_RF_ACTIVITY_NAME, "Open");
	ks_rview_int(v, KS_RF_DIRECTION_ID, dir);
	ks_rview_str(v, KS_RF_DIRECTION, dir == 1 ? "Inbound" : "Outbound");
	ks_rview_str(v, KS_RF_PROTOCOL_NAME, "tcp");
	assert_true(ks_rview_ip_str(v, KS_RF_SRC_IP, dir == 1 ? ip : "192.0.2.1"));
	ks_rview_int(v, KS_RF_SRC_PORT, 40000);
	assert_true(ks_rview_ip_str(v, KS_RF_DST_IP, dir == 1 ? "192.0.2.1" : ip));
	ks_rview_int(v, KS_RF_DST_PORT, port);
	subject(v, s);
}

static const char shadow_policy[] = "policies:\n"
                                    "  - id: shadow-readers\n"
                                    "    title: Password hashes\n"
                                    "    files: [/etc/shadow, /etc/gshadow]\n"
                                    "    operations: [read]\n"
                                    "    severity: high\n"
                                    "    allow:\n"
                                    "      - exe: [/usr/sbin/sshd, /usr/bin/passwd]\n"
                                    "      - {parent: /usr/bin/sudo, tty: true, login_user: any}\n";

static void test_file_policy_allowed_and_denied(void **state)
{
	struct ks_rules *r = load(shadow_policy);
	struct ks_rview v;
	struct subj sshd = {.exe = "/usr/sbin/sshd", .uid = 0, .login = -1};
	struct subj cat = {.exe = "/usr/bin/cat", .parent = "/usr/bin/bash", .uid = 0, .login = 1000, .tty = true};
	struct subj sudo_cat = {.exe = "/usr/bin/cat", .parent = "/usr/bin/sudo", .uid = 0, .login = 1000, .tty = true};
	struct subj cron_cat = {.exe = "/usr/bin/cat", .parent = "/usr/bin/sudo", .uid = 0, .login = 1000};
	struct subj daemon_sudo = {
	    .exe = "/usr/bin/cat", .parent = "/usr/bin/sudo", .uid = 0, .login = -1, .tty = true};

	(void)state;
	file_ev(&v, &sshd, "/etc/shadow", 2, "Read");
	assert_false(outside(r, &v));
	file_ev(&v, &sudo_cat, "/etc/gshadow", 2, "Read");
	assert_false(outside(r, &v));
	file_ev(&v, &cat, "/etc/shadow", 2, "Read");
	assert_true(outside(r, &v));
	assert_string_equal(last_id, "shadow-readers");
	assert_true(last_rule->policy);
	assert_string_equal(last_rule->resource, "files /etc/shadow, /etc/gshadow (read)");
	assert_string_equal(last_rule->severity, "high");
	assert_non_null(strstr(last_output, "access outside policy shadow-readers: /usr/bin/cat"));
	assert_non_null(strstr(last_output, "Read /etc/shadow"));
	file_ev(&v, &cron_cat, "/etc/shadow", 2, "Read"); /* sudo, but no terminal */
	assert_true(outside(r, &v));
	file_ev(&v, &daemon_sudo, "/etc/shadow", 2, "Read"); /* no login user */
	assert_true(outside(r, &v));
	file_ev(&v, &cat, "/etc/shadow", 3, "Update"); /* not an operation it governs */
	assert_false(outside(r, &v));
	file_ev(&v, &cat, "/etc/passwd", 2, "Read"); /* not a resource it governs */
	assert_false(outside(r, &v));
	ks_rules_free(r);
}

static void test_subtree_and_component_paths(void **state)
{
	struct ks_rules *r = load("policies:\n"
	                          "  - id: data\n"
	                          "    files: [/srv/data/**, /home/*/.ssh/authorized_keys]\n"
	                          "    allow:\n"
	                          "      - {exe: /usr/bin/app, path: /srv/data/public/**}\n"
	                          "      - {user: root}\n");
	struct ks_rview v;
	struct subj app = {.exe = "/usr/bin/app", .uid = 1000, .login = -1};

	(void)state;
	file_ev(&v, &app, "/srv/data/public/a/b", 2, "Read");
	assert_false(outside(r, &v));
	file_ev(&v, &app, "/srv/data/public", 1, "Create");
	assert_false(outside(r, &v));
	file_ev(&v, &app, "/srv/data/private/x", 2, "Read");
	assert_true(outside(r, &v));
	file_ev(&v, &app, "/srv/data", 4, "Delete");
	assert_true(outside(r, &v));
	file_ev(&v, &app, "/srv/database/x", 2, "Read"); /* whole components: not under /srv/data */
	assert_false(outside(r, &v));
	file_ev(&v, &app, "/srv/data/publicity", 2, "Read");
	assert_true(outside(r, &v));
	file_ev(&v, &app, "/home/alice/.ssh/authorized_keys", 3, "Update");
	assert_true(outside(r, &v));
	file_ev(&v, &app, "/home/alice/x/.ssh/authorized_keys", 3, "Update"); /* '*' is one component */
	assert_false(outside(r, &v));
	app.uid = 0; /* root (resolved to 0 at load) may */
	file_ev(&v, &app, "/srv/data/private/x", 2, "Read");
	assert_false(outside(r, &v));
	ks_rules_free(r);
}

static void test_network_policy_cidr_ports_ranges(void **state)
{
	struct ks_rules *r = load("policies:\n"
	                          "  - id: nginx-egress\n"
	                          "    subject: {unit: nginx.service}\n"
	                          "    network: all\n"
	                          "    allow:\n"
	                          "      - {cidr: 10.0.0.0/8, ports: [5432]}\n"
	                          "      - {cidr: [192.168.1.10, 'fd00::/8'], ports: [8000-8100, 443]}\n");
	struct ks_rview v;
	struct subj nginx = {.exe = "/usr/sbin/nginx", .unit = "nginx.service", .uid = 33, .login = -1};
	struct subj other = {.exe = "/usr/sbin/nginx", .unit = "other.service", .uid = 33, .login = -1};

	(void)state;
	net_ev(&v, &nginx, "10.1.2.3", 5432, 2);
	assert_false(outside(r, &v));
	net_ev(&v, &nginx, "10.1.2.3", 5433, 2);
	assert_true(outside(r, &v));
	assert_non_null(strstr(last_output, "Outbound Open 192.0.2.1:40000 -> 10.1.2.3:5433 tcp"));
	assert_non_null(strstr(last_output, "unit nginx.service"));
	net_ev(&v, &nginx, "11.0.0.1", 5432, 2);
	assert_true(outside(r, &v));
	net_ev(&v, &nginx, "192.168.1.10", 8000, 2);
	assert_false(outside(r, &v));
	net_ev(&v, &nginx, "192.168.1.10", 8100, 2);
	assert_false(outside(r, &v));
	net_ev(&v, &nginx, "192.168.1.10", 8101, 2);
	assert_true(outside(r, &v));
	net_ev(&v, &nginx, "192.168.1.11", 443, 2);
	assert_true(outside(r, &v));
	net_ev(&v, &nginx, "fd12::1", 443, 2);
	assert_false(outside(r, &v));
	net_ev(&v, &nginx, "11.0.0.1", 80, 1); /* inbound: not governed (operations default to connect) */
	assert_false(outside(r, &v));
	net_ev(&v, &other, "11.0.0.1", 5432, 2); /* another unit: not governed */
	assert_false(outside(r, &v));
	ks_rules_free(r);
}

static void test_inbound_policy_peer_is_source(void **state)
{
	struct ks_rules *r = load("policies:\n"
	                          "  - id: ssh-in\n"
	                          "    network: {ports: [22]}\n"
	                          "    operations: [accept]\n"
	                          "    allow: [{cidr: 10.0.0.0/8}]\n");
	struct ks_rview v;
	struct subj sshd = {.exe = "/usr/sbin/sshd", .unit = "ssh.service", .uid = 0, .login = -1};

	(void)state;
	net_ev(&v, &sshd, "10.9.9.9", 22, 1);
	assert_false(outside(r, &v));
	net_ev(&v, &sshd, "203.0.113.5", 22, 1);
	assert_true(outside(r, &v));
	net_ev(&v, &sshd, "203.0.113.5", 80, 1);
	assert_false(outside(r, &v));
	ks_rules_free(r);
}

static void test_exec_policy(void **state)
{
	struct ks_rules *r = load("policies:\n"
	                          "  - id: curl-runners\n"
	                          "    exec: [/usr/bin/curl, /usr/bin/wget]\n"
	                          "    allow:\n"
	                          "      - {exe: /usr/bin/bash, tty: true}\n"
	                          "      - {unit: apt-daily.service}\n");
	struct ks_rview v;
	struct subj bash = {.exe = "/usr/bin/curl", .parent = "/usr/bin/bash", .uid = 1000, .login = 1000, .tty = true};
	struct subj py = {.exe = "/usr/bin/curl", .parent = "/usr/bin/python3", .uid = 33, .login = -1};

	(void)state;
	ks_rview_reset(&v);
	ks_rview_int(&v, KS_RF_CLASS_UID, 1007);
	ks_rview_int(&v, KS_RF_ACTIVITY_ID, 1);
	ks_rview_str(&v, KS_RF_ACTIVITY_NAME, "Launch");
	subject(&v, &bash);
	assert_false(outside(r, &v));
	subject(&v, &py);
	assert_true(outside(r, &v));
	assert_non_null(strstr(last_output, "/usr/bin/python3 (pid <NA>, uid 33, login uid 33, unit <NA>) ran "
	                                    "/usr/bin/curl"));
	ks_rview_str(&v, KS_RF_PROC_EXE, "/usr/bin/ls");
	assert_false(outside(r, &v));
	ks_rules_free(r);
}

static void test_empty_allow_denies_everything_in_scope(void **state)
{
	struct ks_rules *r = load("policies:\n  - id: none\n    files: [/secret/**]\n    operations: [write]\n"
	                          "    allow: []\n");
	struct ks_rview v;
	struct subj root = {.exe = "/usr/bin/vi", .uid = 0, .login = 0, .tty = true};

	(void)state;
	file_ev(&v, &root, "/secret/a", 3, "Update");
	assert_true(outside(r, &v));
	file_ev(&v, &root, "/secret/a", 2, "Read");
	assert_false(outside(r, &v));
	ks_rules_free(r);
}

static void test_policies_and_rules_together(void **state)
{
	struct ks_rules_builder *b = ks_rules_builder_new();
	static const char a[] = "rules:\n  - id: r1\n    title: any shadow\n    condition: class_uid = 1001 and "
	                        "file.path = /etc/shadow\n";
	struct ks_rules_err err;
	struct ks_rules *r;
	struct ks_rview v;
	struct subj cat = {.exe = "/usr/bin/cat", .uid = 0, .login = 1000};

	(void)state;
	assert_int_equal(ks_rules_add_text(b, "a.yaml", a, strlen(a), &err), 0);
	assert_int_equal(ks_rules_add_text(b, "p.yaml", shadow_policy, strlen(shadow_policy), &err), 0);
	assert_int_equal(ks_rules_disable(b, "r1"), 0);
	r = ks_rules_build(b, NULL, &err);
	ks_rules_builder_free(b);
	assert_non_null(r);
	ks_rules_set_sink(r, sink, NULL);
	assert_int_equal(ks_rules_count(r), 2);
	file_ev(&v, &cat, "/etc/shadow", 2, "Read");
	assert_true(outside(r, &v));
	assert_int_equal(n_matches, 1); /* the rule is disabled, the policy judges */
	assert_string_equal(last_id, "shadow-readers");
	assert_false(ks_rules_info(r, 0)->policy);
	assert_true(ks_rules_info(r, 1)->policy);
	ks_rules_free(r);
}

/* Offline: the unit of a file event's process comes from its Launch in the recording (or its parent's). */
static void test_offline_judges_unit_policies(void **state)
{
	static const char events[] =
	    "{\"class_uid\":1007,\"activity_id\":1,\"activity_name\":\"Launch\",\"time\":1000,\"process\":{"
	    "\"pid\":10,\"created_time\":900,\"file\":{\"path\":\"/usr/sbin/nginx\"},\"user\":{\"uid\":\"33\"}},"
	    "\"unmapped\":{\"cgroup\":{\"path\":\"/system.slice/nginx.service\"}}}\n"
	    /* a forked worker (no Launch of its own): the parent's unit */
	    "{\"class_uid\":1001,\"activity_id\":2,\"activity_name\":\"Read\",\"time\":1100,\"file\":{\"path\":"
	    "\"/srv/www/key.pem\"},\"actor\":{\"process\":{\"pid\":11,\"created_time\":950,\"file\":{\"path\":"
	    "\"/usr/sbin/nginx\"},\"parent_process\":{\"pid\":10,\"created_time\":900}},\"user\":{\"uid\":\"33\"}}}\n"
	    /* the same program outside the unit */
	    "{\"class_uid\":1001,\"activity_id\":2,\"activity_name\":\"Read\",\"time\":1200,\"file\":{\"path\":"
	    "\"/srv/www/key.pem\"},\"actor\":{\"process\":{\"pid\":12,\"created_time\":1150,\"file\":{\"path\":"
	    "\"/usr/sbin/nginx\"}},\"user\":{\"uid\":\"0\"}}}\n";
	struct ks_rules *r = load("policies:\n  - id: key\n    files: [/srv/www/key.pem]\n"
	                          "    allow: [{unit: nginx.service}]\n");
	char *text = NULL;
	size_t len = 0, n = 0, bad = 0;
	FILE *in = fmemopen((void *)events, sizeof(events) - 1, "r"), *out = open_memstream(&text, &len);
	struct ks_rules_offline *o = ks_rules_offline_new(r, out, false);

	(void)state;
	assert_non_null(o);
	assert_int_equal(ks_rules_offline_run(o, in, "mem", &n, &bad), 0);
	fclose(out);
	assert_int_equal(n, 3);
	assert_non_null(strstr(text, "line 3: key [medium] access outside policy key: /usr/sbin/nginx (pid 12,"));
	assert_null(strstr(text, "line 2:"));
	assert_non_null(strstr(text, "because: outside policy key: files /srv/www/key.pem (read, write, create, "
	                             "delete, rename, attrib), and no allow entry admits it"));
	ks_rules_offline_free(o);
	ks_rules_free(r);
	fclose(in);
	free(text);
}

#define POL(body) "policies:\n  - id: p1\n" body

static void expect_err(const char *text, const char *want)
{
	const char *got = load_err(text);

	if (getenv("POLICY_TEST_VERBOSE"))
		fprintf(stderr, "%s\n", got);
	else if (!strstr(got, want))
		fail_msg("error '%s' does not contain '%s'", got, want);
}

static void test_validation_errors_with_positions(void **state)
{
	(void)state;
	expect_err(POL("    files: ['/etc/.*']\n    allow: []\n"),
	           "p.yaml:3:14: policy 'p1': '/etc/.*': '*' stands for a whole component");
	expect_err(POL("    files: [/etc/shadow]\n    allow:\n      - exe: /usr/bin/*\n"),
	           "p.yaml:5:14: policy 'p1': '/usr/bin/*': an executable is an exact path");
	expect_err(POL("    files: ['/etc/sha[dw]ow']\n    allow: []\n"),
	           "p.yaml:3:14: policy 'p1': '/etc/sha[dw]ow': policies take exact paths");
	expect_err(POL("    files: [/a/**/b]\n    allow: []\n"), "p.yaml:3:13: policy 'p1': '/a/**/b': '*' stands");
	expect_err(POL("    files: [etc/shadow]\n    allow: []\n"), "p.yaml:3:13: policy 'p1': 'etc/shadow' is not an "
	                                                            "absolute path");
	expect_err(POL("    files: [/etc/../shadow]\n    allow: []\n"), "p.yaml:3:13: policy 'p1': '/etc/../shadow': a "
	                                                                "path is canonical");
	expect_err(POL("    network: all\n    allow:\n      - {cidr: 10.0.0.0/33}\n"),
	           "p.yaml:5:16: policy 'p1': '10.0.0.0/33' is not an address or network");
	expect_err(POL("    network: all\n    allow:\n      - {ports: [80, 9000-8000]}\n"),
	           "p.yaml:5:22: policy 'p1': '9000-8000': a port (1-65535) or a range LOW-HIGH");
	expect_err(POL("    network: all\n    allow:\n      - {ports: 70000}\n"), "p.yaml:5:17: policy 'p1': '70000'");
	expect_err(POL("    files: [/x]\n    allow:\n      - user: no-such-user-here\n"),
	           "p.yaml:5:15: policy 'p1': no user 'no-such-user-here' on this host: give the numeric uid");
	expect_err(POL("    files: [/x]\n    allow:\n      - unit: 'nginx*'\n"),
	           "p.yaml:5:16: policy 'p1': 'nginx*': a unit is an exact name");
	expect_err(POL("    files: [/x]\n    operations: [read, connect]\n    allow: []\n"),
	           "p.yaml:4:24: policy 'p1': 'connect': file operations are read, write");
	expect_err(POL("    files: [/x]\n    network: all\n    allow: []\n"),
	           "p.yaml:4:5: policy 'p1': a policy governs one kind of resource");
	expect_err(POL("    files: [/x]\n"), "p.yaml:2:5: policy 'p1': a policy needs allow:");
	expect_err(POL("    allow: []\n"), "p.yaml:2:5: policy 'p1': a policy names its resource");
	expect_err(POL("    files: [/x]\n    allow:\n      - {}\n"), "p.yaml:5:9: policy 'p1': an empty entry admits");
	expect_err(POL("    files: [/x]\n    allow:\n      - {exe: /bin/x, cidr: 10.0.0.0/8}\n"),
	           "p.yaml:5:23: policy 'p1': unknown key 'cidr'");
	expect_err(POL("    files: [/x]\n    alow: []\n"), "p.yaml:4:5: policy 'p1': unknown key or wrong type 'alow'");
	expect_err(POL("    files: [/x]\n    allow: []\n    severity: huge\n"), "p.yaml:5:15: policy 'p1': severity");
	expect_err(POL("    exec: [/x]\n    allow: [{parent: /bin/sh}]\n"), "p.yaml:4:14: policy 'p1': unknown key "
	                                                                    "'parent'");
	expect_err(POL("    files: [/x]\n    allow: [{tty: maybe}]\n"), "p.yaml:4:19: policy 'p1': tty: true");
	expect_err("policies:\n  - files: [/x]\n", "p.yaml:2:5: policy without an id");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_policy_allowed_and_denied),
	    cmocka_unit_test(test_subtree_and_component_paths),
	    cmocka_unit_test(test_network_policy_cidr_ports_ranges),
	    cmocka_unit_test(test_inbound_policy_peer_is_source),
	    cmocka_unit_test(test_exec_policy),
	    cmocka_unit_test(test_empty_allow_denies_everything_in_scope),
	    cmocka_unit_test(test_policies_and_rules_together),
	    cmocka_unit_test(test_offline_judges_unit_policies),
	    cmocka_unit_test(test_validation_errors_with_positions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
