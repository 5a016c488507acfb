// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The rule engine: language, types, errors with positions, exceptions, macros and lists, stateful rules,
 * the index, replacement and disable, dedupe and rate limit, limits. Views are synthetic. */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <malloc.h>

#include "rules/offline.h"
#include "rules/rules.h"

#define SEC 1000000000ull

/* Allocations made by the engine's objects (linked with --wrap=malloc,calloc,realloc). */
static size_t allocs;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

void *__wrap_malloc(size_t n)
{
	allocs++;
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	allocs++;
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	allocs++;
	return __real_realloc(p, n);
}

struct got {
	size_t n;
	char ids[32][72];
	char output[1024];
	uint64_t count, thr_count;
	bool update;
	uint32_t n_steps;
	struct ks_rules_step steps[KS_RULES_SEQ_MAX];
};

static struct got got;

static void sink(void *ctx, const struct ks_rules_match *m)
{
	(void)ctx;
	if (got.n < 32)
		snprintf(got.ids[got.n], sizeof(got.ids[0]), "%s", m->rule->id);
	got.n++;
	snprintf(got.output, sizeof(got.output), "%s", m->output);
	got.count = m->count;
	got.update = m->update;
	got.thr_count = m->threshold_count;
	got.n_steps = m->n_steps;
	if (m->n_steps)
		memcpy(got.steps, m->steps, m->n_steps * sizeof(*m->steps));
}

/* Load one or two texts; NULL with err on error. Dedupe off unless opts say otherwise. */
static struct ks_rules *load2(const char *a, const char *b, const struct ks_rules_opts *o, struct ks_rules_err *err)
{
	struct ks_rules_builder *bl = ks_rules_builder_new();
	struct ks_rules_opts def = {.dedupe_ns = UINT64_MAX, .rate_per_s = 1000000, .rate_burst = 1000000};
	struct ks_rules *r = NULL;

	assert_non_null(bl);
	if (ks_rules_add_text(bl, "a.yaml", a, strlen(a), err))
		goto cleanup;
	if (b && ks_rules_add_text(bl, "b.yaml", b, strlen(b), err))
		goto cleanup;
	r = ks_rules_build(bl, o ? o : &def, err);
	if (r)
		ks_rules_set_sink(r, sink, NULL);
cleanup:
	ks_rules_builder_free(bl);
	memset(&got, 0, sizeof(got));
	return r;
}

static struct ks_rules *load(const char *a)
{
	struct ks_rules_err err;
	char buf[1024];
	struct ks_rules *r = load2(a, NULL, NULL, &err);

	if (!r)
		fail_msg("load failed: %s", ks_rules_err_str(&err, buf, sizeof(buf)));
	return r;
}

/* The error text of a load that must fail. */
static const char *load_err(const char *a)
{
	static char buf[1024];
	struct ks_rules_err err;
	struct ks_rules *r = load2(a, NULL, NULL, &err);

	assert_null(r);
	ks_rules_err_str(&err, buf, sizeof(buf));
	if (getenv("RULES_TEST_VERBOSE"))
		fprintf(stderr, "load error: %s\n", buf);
	return buf;
}

static const char *lineage[] = {"/usr/bin/bash", "/usr/sbin/sshd", "/usr/lib/systemd/systemd"};
static const char *args[] = {"cat", "/etc/shadow"};

static void file_view(struct ks_rview *v, const char *path, const char *act, int act_id)
{
	ks_rview_reset(v);
	ks_rview_int(v, KS_RF_CLASS_UID, 1001);
	ks_rview_int(v, KS_RF_ACTIVITY_ID, act_id);
	ks_rview_str(v, KS_RF_ACTIVITY_NAME, act);
	ks_rview_str(v, KS_RF_FILE_PATH, path);
	ks_rview_str(v, KS_RF_PROC_EXE, "/usr/bin/cat");
	ks_rview_str(v, KS_RF_PROC_NAME, "cat");
	ks_rview_str(v, KS_RF_PROC_CMDLINE, "cat /etc/shadow");
	ks_rview_list(v, KS_RF_PROC_ARGS, args, 2);
	ks_rview_int(v, KS_RF_PROC_PID, 100);
	ks_rview_int(v, KS_RF_PROC_USER_UID, 0);
	ks_rview_int(v, KS_RF_ACTOR_USER_UID, 1000);
	ks_rview_bool(v, KS_RF_PROC_HAS_TTY, true);
	ks_rview_list(v, KS_RF_PROC_LINEAGE, lineage, 3);
	v->proc.pid = 100;
	v->proc.start_ns = 5;
}

static void net_view(struct ks_rview *v, const char *ip, int port, const char *act, int act_id)
{
	ks_rview_reset(v);
	ks_rview_int(v, KS_RF_CLASS_UID, 4001);
	ks_rview_int(v, KS_RF_ACTIVITY_ID, act_id);
	ks_rview_str(v, KS_RF_ACTIVITY_NAME, act);
	assert_true(ks_rview_ip_str(v, KS_RF_DST_IP, ip));
	ks_rview_int(v, KS_RF_DST_PORT, port);
	ks_rview_str(v, KS_RF_DIRECTION, "Outbound");
	ks_rview_str(v, KS_RF_PROC_EXE, "/usr/bin/curl");
	v->proc.pid = 200;
	v->proc.start_ns = 7;
}

#define RULE(cond) "rules:\n  - id: r1\n    title: t\n    condition: " cond "\n"

/* Does `cond` match the view? */
static bool matches(const char *cond_rule, const struct ks_rview *v)
{
	struct ks_rules *r = load(cond_rule);
	size_t n = ks_rules_eval(r, v, SEC);

	ks_rules_free(r);
	return n == 1;
}

static void test_string_operators(void **state)
{
	struct ks_rview v;

	(void)state;
	file_view(&v, "/etc/shadow", "Read", 2);
	assert_true(matches(RULE("file.path = /etc/shadow"), &v));
	assert_false(matches(RULE("file.path = /etc/shado"), &v));
	assert_true(matches(RULE("file.path != /etc/passwd"), &v));
	assert_true(matches(RULE("file.path in (/etc/passwd, /etc/shadow)"), &v));
	assert_false(matches(RULE("file.path in (/etc/passwd, /etc/gshadow)"), &v));
	assert_true(matches(RULE("file.path contains shad"), &v));
	assert_true(matches(RULE("file.path startswith /etc/"), &v));
	assert_false(matches(RULE("file.path startswith /usr/"), &v));
	assert_true(matches(RULE("file.path startswith (/usr/, /etc/)"), &v));
	assert_true(matches(RULE("file.path endswith dow"), &v));
	assert_true(matches(RULE("file.path glob /etc/sh*"), &v));
	assert_false(matches(RULE("file.path glob /*"), &v)); /* '*' does not cross '/' */
	assert_true(matches(RULE("file.path glob /*/*"), &v));
	assert_true(matches(RULE("file.path glob /etc/?hadow"), &v));
	assert_true(matches(RULE("file.path glob /etc/*w"), &v));
	assert_true(matches(RULE("file.path glob /etc/s*a*o*"), &v));
	assert_false(matches(RULE("file.path glob /etc/s*x*"), &v));
	assert_false(matches(RULE("file.path glob /etc/shadow/*"), &v));
	file_view(&v, "/tmp/a\"b c", "Update", 3);
	assert_true(matches(RULE("file.path = '/tmp/a\"b c'"), &v));
	assert_true(matches("rules:\n  - id: r1\n    title: t\n    condition: 'file.path = \"/tmp/a\\\"b c\"'\n", &v));
	file_view(&v, "/home/alice/.ssh/authorized_keys", "Update", 3);
	assert_true(matches(RULE("file.path glob /home/*/.ssh/authorized_keys"), &v));
	file_view(&v, "/home/a/b/.ssh/authorized_keys", "Update", 3);
	assert_false(matches(RULE("file.path glob /home/*/.ssh/authorized_keys"), &v));
	file_view(&v, "/etc/shadow", "Read", 2);
	assert_true(matches(RULE("file.path matches '^/etc/(g)?shadow$'"), &v));
	assert_false(matches(RULE("file.path matches '^/etc/passwd'"), &v));
	assert_true(matches(RULE("activity_name = \"Read\""), &v));
	assert_true(matches(RULE("file.path exists"), &v));
	assert_false(matches(RULE("query.hostname exists"), &v));
	/* absent field: only != holds */
	assert_false(matches(RULE("query.hostname = x"), &v));
	assert_true(matches(RULE("query.hostname != x"), &v));
}

static void test_int_bool_ip_list_operators(void **state)
{
	struct ks_rview v;

	(void)state;
	file_view(&v, "/etc/shadow", "Read", 2);
	assert_true(matches(RULE("process.pid = 100"), &v));
	assert_true(matches(RULE("process.pid != 101"), &v));
	assert_true(matches(RULE("process.pid < 101 and process.pid <= 100"), &v));
	assert_false(matches(RULE("process.pid < 100"), &v));
	assert_true(matches(RULE("process.pid > 99 and process.pid >= 100"), &v));
	assert_true(matches(RULE("actor.user.uid in (0, 1000, 5)"), &v));
	assert_false(matches(RULE("actor.user.uid in (0, 5)"), &v));
	assert_true(matches(RULE("process.has_tty = true"), &v));
	assert_false(matches(RULE("process.has_tty = false"), &v));
	/* lists: any element */
	assert_true(matches(RULE("process.lineage = /usr/sbin/sshd"), &v));
	assert_true(matches(RULE("process.lineage endswith sshd"), &v));
	assert_false(matches(RULE("process.lineage != /usr/sbin/sshd"), &v));
	assert_true(matches(RULE("process.args contains shadow"), &v));
	assert_false(matches(RULE("process.lineage contains nginx"), &v));
	net_view(&v, "169.254.169.254", 80, "Open", 1);
	assert_true(matches(RULE("dst_endpoint.ip = 169.254.169.254"), &v));
	assert_true(matches(RULE("dst_endpoint.ip in_cidr 169.254.0.0/16"), &v));
	assert_true(matches(RULE("dst_endpoint.ip in_cidr (10.0.0.0/8, 169.254.169.0/24)"), &v));
	assert_false(matches(RULE("dst_endpoint.ip in_cidr 10.0.0.0/8"), &v));
	assert_false(matches(RULE("dst_endpoint.ip in_cidr fd00::/8"), &v));
	assert_true(matches(RULE("dst_endpoint.ip in (1.1.1.1, 169.254.169.254)"), &v));
	net_view(&v, "fd00::1", 443, "Open", 1);
	assert_true(matches(RULE("dst_endpoint.ip in_cidr fd00::/8"), &v));
	assert_true(matches(RULE("dst_endpoint.ip = 'fd00::1'"), &v));
}

static void test_boolean_logic_and_precedence(void **state)
{
	struct ks_rview v;

	(void)state;
	file_view(&v, "/etc/shadow", "Read", 2);
	/* not binds tighter than and, and tighter than or */
	assert_true(matches(RULE("not file.path = /x and process.pid = 100"), &v));
	assert_true(matches(RULE("file.path = /x and process.pid = 1 or process.pid = 100"), &v));
	assert_false(matches(RULE("file.path = /x and (process.pid = 1 or process.pid = 100)"), &v));
	assert_true(matches(RULE("not (file.path = /x or process.pid = 1)"), &v));
	assert_false(matches(RULE("not not file.path = /x"), &v));
	assert_true(matches(RULE("((file.path = /etc/shadow))"), &v));
}

static void test_type_errors(void **state)
{
	(void)state;
	assert_non_null(strstr(load_err(RULE("process.pid startswith 1")),
	                       "operator 'startswith' does not apply to 'process.pid' (int)"));
	assert_non_null(strstr(load_err(RULE("file.path > 3")), "operator '>' does not apply to 'file.path'"));
	assert_non_null(strstr(load_err(RULE("file.path in_cidr 10.0.0.0/8")), "does not apply"));
	assert_non_null(strstr(load_err(RULE("process.pid = abc")), "'abc' is not an integer"));
	assert_non_null(strstr(load_err(RULE("dst_endpoint.ip = 10.0.0.0/8")), "is not an IP address"));
	assert_non_null(strstr(load_err(RULE("dst_endpoint.ip in_cidr 10.0.0.0/33")), "is not an address or network"));
	assert_non_null(strstr(load_err(RULE("process.has_tty = 1")), "compare it with true or false"));
	assert_non_null(strstr(load_err(RULE("process.has_tty contains x")), "does not apply"));
	assert_non_null(strstr(load_err(RULE("file.path = (a, b)")), "takes one value"));
	assert_non_null(strstr(load_err(RULE("file.path matches (a, b)")), "one pattern"));
}

static void test_error_positions(void **state)
{
	(void)state;
	/* RULE puts the condition on line 4, the value starting at column 16 */
	assert_string_equal(load_err(RULE("file.path = x and proc.name = y")),
	                    "a.yaml:4:34: unknown field or undefined macro 'proc.name' (fields: docs/rules.md)");
	assert_string_equal(load_err(RULE("file.path = x and")), "a.yaml:4:33: expected a field, a macro, 'not' or "
	                                                         "'(' here");
	assert_string_equal(load_err(RULE("file.path matches 'a('")),
	                    "a.yaml:4:34: bad regex 'a(': missing closing parenthesis at offset 2");
	assert_non_null(strstr(load_err("rules:\n  - id: x\n   title: [\n"), "a.yaml:3:"));
	assert_non_null(strstr(load_err("rules:\n  - id: x\n   title: [\n"), "YAML:"));
	assert_string_equal(load_err(RULE("(file.path = x")), "a.yaml:4:30: expected ')' to close the '(' at offset 0");
	assert_non_null(strstr(load_err(RULE("file.path = 'x")), "a.yaml:4:28: unterminated string"));
	/* block scalar: the line inside it */
	assert_string_equal(load_err("rules:\n  - id: r1\n    title: t\n    condition: >\n      file.path = x\n"
	                             "      and bogus = 1\n"),
	                    "a.yaml:6:11: unknown field or undefined macro 'bogus' (fields: docs/rules.md)");
	assert_string_equal(load_err("rules:\n  - id: r1\n    title: t\n    condition: file.path = x\n"
	                             "      and   bogus = 1\n"),
	                    "a.yaml:5:13: unknown field or undefined macro 'bogus' (fields: docs/rules.md)");
	assert_string_equal(load_err("rules:\n  - id: r1\n    title: t\n    condition: |\n      file.path = x\n\n"
	                             "      and (bogus = 1)\n"),
	                    "a.yaml:7:12: unknown field or undefined macro 'bogus' (fields: docs/rules.md)");
	assert_non_null(
	    strstr(load_err("rules:\n  - id: r1\n    title: t\n    condition: file.path = x\n    sevrity: high\n"),
	           "a.yaml:5:5: rule 'r1': unknown key"));
	assert_non_null(strstr(load_err("rules:\n  - title: t\n"), "a.yaml:2:5: rule without an id"));
	assert_non_null(
	    strstr(load_err("rules:\n  - id: r1\n    title: t\n    severity: huge\n    condition: file.path = x\n"),
	           "a.yaml:4:15: rule 'r1': severity must be"));
	assert_non_null(
	    strstr(load_err("rules:\n  - id: r1\n    title: t\n    tags: [T10]\n    condition: file.path = x\n"),
	           "technique id"));
	assert_non_null(strstr(
	    load_err("rules:\n  - id: r1\n    title: t\n    output: '%{bad.field}'\n    condition: file.path = x\n"),
	    "a.yaml:4:16: output: unknown field 'bad.field'"));
}

static void test_macros_and_lists(void **state)
{
	struct ks_rules_err err;
	struct ks_rview v;
	struct ks_rules *r;
	const char *a = "lists:\n  auth: [/usr/sbin/sshd, more]\n  more: [/usr/bin/passwd]\n"
	                "macros:\n  shadow: file.path in (/etc/shadow, /etc/gshadow)\n"
	                "  readers: process.file.path in (auth)\n";
	const char *b = "lists:\n  more: [/usr/bin/passwd, /usr/bin/cat]\n" /* replaces a.yaml's */
	                "rules:\n  - id: r1\n    title: t\n    condition: shadow and not readers\n";

	(void)state;
	file_view(&v, "/etc/shadow", "Read", 2);
	r = load2(a, b, NULL, &err);
	assert_non_null(r);
	ks_rules_set_sink(r, sink, NULL);
	/* cat is in `more` as b.yaml redefines it, reached through `auth` */
	assert_int_equal(ks_rules_eval(r, &v, SEC), 0);
	ks_rview_str(&v, KS_RF_PROC_EXE, "/usr/bin/python3");
	assert_int_equal(ks_rules_eval(r, &v, SEC), 1);
	ks_rules_free(r);
	/* a list used bare after in */
	r = load("lists:\n  l: [/etc/shadow]\n" RULE("file.path in l"));
	assert_int_equal(ks_rules_eval(r, &v, SEC), 1);
	ks_rules_free(r);

	assert_non_null(strstr(load_err(RULE("shadw")), "undefined macro 'shadw'"));
	assert_string_equal(load_err(RULE("file.path in (/x, shell_binarys)")),
	                    "a.yaml:4:34: undefined list 'shell_binarys' (quote it if you mean the string)");
	assert_non_null(strstr(load_err(RULE("file.path in shells")), "a.yaml:4:29: undefined list 'shells'"));
	r = load(RULE("file.path in (/x, 'shell_binarys', Read)")); /* quoted, or not snake_case: values */
	ks_rules_free(r);
	assert_non_null(strstr(load_err("macros:\n  a: b and file.path = x\n  b: c\n  c: a\n" RULE("a")),
	                       "macro cycle: a -> b -> c -> a"));
	assert_non_null(strstr(load_err("lists:\n  x: [y]\n  y: [x]\n" RULE("file.path in (x)")), "a cycle?"));
	assert_non_null(strstr(load_err("macros:\n  file.path: x = 1\n"), "has the name of a field"));
}

static void test_exceptions(void **state)
{
	struct ks_rview v;
	struct ks_rules *r =
	    load("rules:\n  - id: r1\n    title: t\n    condition: file.path = /etc/shadow\n"
	         "    exceptions:\n"
	         "      - name: known\n        fields: [process.file.path, actor.user.uid]\n"
	         "        values:\n          - [/usr/bin/cat, 0]\n          - [/usr/bin/less, 1000]\n"
	         "      - name: prefixes\n        fields: process.file.path\n        comps: startswith\n"
	         "        values: [/opt/backup/]\n");

	(void)state;
	file_view(&v, "/etc/shadow", "Read", 2);
	assert_int_equal(ks_rules_eval(r, &v, SEC), 1); /* cat with login uid 1000: no tuple matches */
	ks_rview_int(&v, KS_RF_ACTOR_USER_UID, 0);
	assert_int_equal(ks_rules_eval(r, &v, SEC), 0); /* (cat, 0) */
	ks_rview_str(&v, KS_RF_PROC_EXE, "/usr/bin/less");
	assert_int_equal(ks_rules_eval(r, &v, SEC), 1);
	ks_rview_int(&v, KS_RF_ACTOR_USER_UID, 1000);
	assert_int_equal(ks_rules_eval(r, &v, SEC), 0); /* (less, 1000) */
	ks_rview_str(&v, KS_RF_PROC_EXE, "/opt/backup/bin/agent");
	assert_int_equal(ks_rules_eval(r, &v, SEC), 0);
	ks_rules_free(r);

	assert_non_null(strstr(load_err("rules:\n  - id: r1\n    title: t\n    condition: file.path = x\n"
	                                "    exceptions:\n      - name: e\n        fields: [process.pid]\n"
	                                "        values: [[abc]]\n"),
	                       "'abc' is not an integer"));
	assert_non_null(
	    strstr(load_err("rules:\n  - id: r1\n    title: t\n    condition: file.path = x\n"
	                    "    exceptions:\n      - name: e\n        fields: [nope]\n        values: []\n"),
	           "a.yaml:7:18: rule 'r1': exception: unknown field"));
	assert_non_null(strstr(load_err("rules:\n  - id: r1\n    title: t\n    condition: file.path = x\n"
	                                "    exceptions:\n      - name: e\n        fields: [process.pid, file.path]\n"
	                                "        values: [[1]]\n"),
	                       "one value per field"));
}

static const char *seq_rule = "rules:\n  - id: seq\n    title: shadow then connect\n    sequence:\n      within: 60s\n"
                              "      steps:\n        - condition: class_uid = 1001 and file.path = /etc/shadow\n"
                              "        - condition: class_uid = 4001 and activity_name = Open\n"
                              "          output: 'to %{dst_endpoint.ip}:%{dst_endpoint.port}'\n";

static void test_sequence_by_descendant_within_window(void **state)
{
	struct ks_rules *r = load(seq_rule);
	struct ks_rproc_id parent = {100, 5};
	struct ks_rview f, n;

	(void)state;
	file_view(&f, "/etc/shadow", "Read", 2);
	net_view(&n, "10.1.2.3", 443, "Open", 1);
	/* step 2 first: nothing */
	assert_int_equal(ks_rules_eval(r, &n, 1 * SEC), 0);
	assert_int_equal(ks_rules_eval(r, &f, 2 * SEC), 0);
	assert_int_equal(ks_rules_state_used(r), 1);
	/* a process that is not a descendant connects: nothing */
	assert_int_equal(ks_rules_eval(r, &n, 3 * SEC), 0);
	/* a child of pid 100 connects within the window */
	n.ancestors = &parent;
	n.n_ancestors = 1;
	f.event_seq = 0; /* the step records what the view says */
	n.event_seq = 77;
	assert_int_equal(ks_rules_eval(r, &n, 10 * SEC), 1);
	assert_string_equal(got.ids[0], "seq");
	assert_int_equal(got.n_steps, 2);
	assert_non_null(strstr(got.steps[0].text, "/etc/shadow"));
	assert_string_equal(got.steps[1].text, "to 10.1.2.3:443");
	assert_int_equal(got.steps[1].pid, 200);
	assert_int_equal(got.steps[1].event_seq, 77);
	assert_int_equal(ks_rules_state_used(r), 0);
	/* outside the window: nothing */
	assert_int_equal(ks_rules_eval(r, &f, 100 * SEC), 0);
	assert_int_equal(ks_rules_eval(r, &n, 161 * SEC), 0);
	/* the process exits: its state goes */
	assert_int_equal(ks_rules_eval(r, &f, 200 * SEC), 0);
	assert_int_equal(ks_rules_state_used(r), 1);
	ks_rules_proc_exit(r, 100, 5);
	assert_int_equal(ks_rules_state_used(r), 0);
	assert_int_equal(ks_rules_eval(r, &n, 201 * SEC), 0);
	assert_true(ks_rules_state_bytes(r) > 0);
	ks_rules_free(r);
}

static void test_threshold(void **state)
{
	struct ks_rules *r =
	    load("rules:\n  - id: scan\n    title: scan\n    condition: class_uid = 4001 and "
	         "activity_name = Refuse\n    threshold: {count: 5, within: 10s, by: process}\n"
	         "  - id: per-ip\n    title: per ip\n    condition: class_uid = 4001 and activity_name = "
	         "Refuse\n    threshold: {count: 3, within: 10s, by: dst_endpoint.ip}\n");
	struct ks_rview v;
	size_t total = 0;
	int i;

	(void)state;
	net_view(&v, "10.0.0.1", 22, "Refuse", 5);
	for (i = 0; i < 4; i++)
		total += ks_rules_eval(r, &v, (uint64_t)(i + 1) * SEC / 10);
	assert_int_equal(total, 1); /* per-ip fired at 3 */
	assert_string_equal(got.ids[0], "per-ip");
	assert_int_equal(ks_rules_eval(r, &v, SEC), 1); /* 5th: scan */
	assert_string_equal(got.ids[1], "scan");
	assert_int_equal(got.thr_count, 5);
	/* slow refusals: the window closes before the count */
	ks_rules_free(r);
	r = load("rules:\n  - id: scan\n    title: scan\n    condition: class_uid = 4001\n"
	         "    threshold: {count: 3, within: 10s, by: process}\n");
	for (i = 0; i < 9; i++)
		assert_int_equal(ks_rules_eval(r, &v, (uint64_t)i * 6 * SEC), 0);
	/* state of a process that exits is freed */
	assert_int_equal(ks_rules_eval(r, &v, 100 * SEC), 0);
	assert_int_equal(ks_rules_state_used(r), 1);
	ks_rules_proc_exit(r, 200, 7);
	assert_int_equal(ks_rules_state_used(r), 0);
	ks_rules_free(r);
	assert_non_null(strstr(load_err("rules:\n  - id: x\n    title: t\n    condition: class_uid = 1\n"
	                                "    threshold: {count: 0, within: 1s}\n"),
	                       "count: an integer from 1"));
	assert_non_null(strstr(load_err("rules:\n  - id: x\n    title: t\n    condition: class_uid = 1\n"
	                                "    threshold: {count: 3, within: soon}\n"),
	                       "within: a duration"));
	assert_non_null(strstr(load_err("rules:\n  - id: x\n    title: t\n    condition: class_uid = 1\n"
	                                "    threshold: {count: 3, within: 169h}\n"),
	                       "up to 7 days"));
	assert_non_null(strstr(load_err("rules:\n  - id: x\n    title: t\n    condition: class_uid = 1\n"
	                                "    threshold: {count: 3, within: 1s, by: process.lineage}\n"),
	                       "not a list"));
}

static void test_index_never_evaluates_other_classes(void **state)
{
	struct ks_rules *r =
	    load("rules:\n  - id: file\n    title: t\n    condition: class_uid = 1001 and file.path exists\n"
	         "  - id: read\n    title: t\n    condition: class_uid = 1001 and activity_name = Read\n"
	         "  - id: net\n    title: t\n    condition: class_uid in (4001, 4003)\n"
	         "  - id: any\n    title: t\n    condition: process.pid exists\n"
	         "  - id: either\n    title: t\n    condition: (class_uid = 1001 and activity_id = 4) or "
	         "(class_uid = 1007 and activity_id = 1)\n");
	const struct ks_rule_info *in[5];
	struct ks_rview v;
	size_t i;

	(void)state;
	net_view(&v, "10.0.0.1", 22, "Open", 1);
	ks_rules_eval(r, &v, SEC);
	file_view(&v, "/etc/shadow", "Update", 3);
	ks_rules_eval(r, &v, SEC);
	for (i = 0; i < 5; i++)
		in[i] = ks_rules_info(r, i);
	assert_int_equal(in[0]->evaluations, 1); /* the file event only */
	assert_int_equal(in[1]->evaluations, 0); /* a Read rule never meets an Update */
	assert_int_equal(in[2]->evaluations, 1); /* the net event only */
	assert_int_equal(in[3]->evaluations, 2); /* pins no class: every event */
	assert_true(in[3]->any_class);
	assert_false(in[0]->any_class);
	assert_int_equal(in[4]->evaluations, 0); /* class 1001 pins activities 1 and 4 (the or's union) */
	file_view(&v, "/etc/shadow", "Delete", 4);
	ks_rules_eval(r, &v, SEC);
	assert_int_equal(ks_rules_info(r, 4)->evaluations, 1);
	assert_int_equal(ks_rules_info(r, 1)->evaluations, 0);
	assert_true(ks_rules_needs(r, KS_RF_FILE_PATH));
	assert_false(ks_rules_needs(r, KS_RF_PROC_CMDLINE));
	ks_rules_free(r);
}

/* The daemon skips filling a view for a class and activity no rule can match; a class-free rule matches all. */
static void test_may_match(void **state)
{
	struct ks_rules *r =
	    load("rules:\n  - id: read\n    title: t\n    condition: class_uid = 1001 and activity_name = Read\n"
	         "  - id: launch\n    title: t\n    condition: class_uid = 1007 and activity_id = 1\n"
	         "  - id: net\n    title: t\n    condition: class_uid = 4001 and dst_endpoint.port = 22\n");

	(void)state;
	assert_true(ks_rules_may_match(r, 1001, 2));    /* Read */
	assert_false(ks_rules_may_match(r, 1001, 3));   /* Update */
	assert_true(ks_rules_may_match(r, 1007, 1));    /* Launch */
	assert_false(ks_rules_may_match(r, 1007, 2));   /* Terminate */
	assert_true(ks_rules_may_match(r, 4001, 1));    /* any activity, indexed by port */
	assert_false(ks_rules_may_match(r, 4003, 1));   /* no DNS rule */
	assert_false(ks_rules_may_match(r, 1007, 999)); /* out of range */
	ks_rules_free(r);
	r = load("rules:\n  - id: any\n    title: t\n    condition: process.pid exists\n");
	assert_true(ks_rules_may_match(r, 4003, 1));
	assert_true(ks_rules_may_match(r, 2003, 2));
	ks_rules_free(r);
	/* a sequence meets what its steps can match: the read's class, the connection's Open only */
	r = load(seq_rule);
	assert_true(ks_rules_may_match(r, 1001, 2));  /* step 1 pins no activity: every file event */
	assert_true(ks_rules_may_match(r, 4001, 1));  /* step 2: Open */
	assert_false(ks_rules_may_match(r, 4001, 2)); /* a Close cannot take a step */
	assert_false(ks_rules_may_match(r, 4001, 3));
	ks_rules_free(r);
}

/* One event takes one step of a sequence, wherever the rule is placed: a step that pins no class and one
 * that pins 4001 must not both advance on a single network event. */
static void test_sequence_one_step_per_event(void **state)
{
	struct ks_rules *r = load("rules:\n  - id: two\n    title: t\n    sequence:\n      within: 60s\n"
	                          "      steps:\n        - condition: process.file.path = /usr/bin/curl\n"
	                          "        - condition: class_uid = 4001 and activity_name = Open\n");
	struct ks_rview n;

	(void)state;
	net_view(&n, "10.1.2.3", 443, "Open", 1);
	assert_int_equal(ks_rules_eval(r, &n, 1 * SEC), 0); /* step 1 only */
	assert_int_equal(ks_rules_state_used(r), 1);
	assert_int_equal(ks_rules_eval(r, &n, 2 * SEC), 1); /* step 2 */
	assert_int_equal(got.n_steps, 2);
	assert_true(ks_rules_info(r, 0)->any_class);
	ks_rules_free(r);
	/* steps of one class, one pinning an activity and one not: the class's any bucket only */
	r = load("rules:\n  - id: two\n    title: t\n    sequence:\n      within: 60s\n"
	         "      steps:\n        - condition: class_uid = 4001 and dst_endpoint.port = 443\n"
	         "        - condition: class_uid = 4001 and activity_name = Open\n");
	assert_true(ks_rules_may_match(r, 4001, 2));
	assert_int_equal(ks_rules_eval(r, &n, 1 * SEC), 0);
	assert_int_equal(ks_rules_eval(r, &n, 2 * SEC), 1);
	ks_rules_free(r);
}

/* Rules keyed by a value are evaluated only on events that carry one of their values. */
static void test_index_by_value(void **state)
{
	struct ks_rules *r =
	    load("rules:\n  - id: path\n    title: t\n    condition: class_uid = 1001 and file.path in "
	         "(/etc/shadow, /etc/gshadow) and process.pid = 100\n"
	         "  - id: port\n    title: t\n    condition: class_uid = 4001 and dst_endpoint.port = 3333\n"
	         "  - id: glob\n    title: t\n    condition: file.path = /x or file.path glob /etc/*\n");
	struct ks_rview v;

	(void)state;
	file_view(&v, "/etc/passwd", "Read", 2);
	assert_int_equal(ks_rules_eval(r, &v, SEC), 1); /* glob only */
	assert_int_equal(ks_rules_info(r, 0)->evaluations, 0);
	file_view(&v, "/etc/gshadow", "Read", 2);
	assert_int_equal(ks_rules_eval(r, &v, SEC), 2);
	assert_int_equal(ks_rules_info(r, 0)->evaluations, 1);
	assert_int_equal(ks_rules_info(r, 0)->matches, 1);
	ks_rview_int(&v, KS_RF_PROC_PID, 7); /* keyed, then the whole condition decides */
	assert_int_equal(ks_rules_eval(r, &v, SEC), 1);
	assert_int_equal(ks_rules_info(r, 0)->evaluations, 2);
	net_view(&v, "10.0.0.1", 22, "Open", 1);
	assert_int_equal(ks_rules_eval(r, &v, SEC), 0);
	assert_int_equal(ks_rules_info(r, 1)->evaluations, 0);
	net_view(&v, "10.0.0.1", 3333, "Open", 1);
	assert_int_equal(ks_rules_eval(r, &v, SEC), 1);
	assert_int_equal(ks_rules_info(r, 1)->evaluations, 1);
	assert_int_equal(ks_rules_info(r, 2)->evaluations, 5); /* the or is not keyed: every event */
	ks_rules_free(r);
}

/* An `or` whose every branch requires a value of one field is keyed by all those values (the default
 * rules on a launch: `(name = curl and ...) or (name = wget and ...)`); mixed fields stay unkeyed. */
static void test_index_by_or_of_values(void **state)
{
	struct ks_rules *r =
	    load("rules:\n  - id: up\n    title: t\n    condition: class_uid = 1001 and ((file.path = /a and "
	         "process.pid = 1) or (file.path in (/b, /c) and process.pid = 2))\n"
	         "  - id: top\n    title: t\n    condition: (class_uid = 1001 and file.path = /d) or "
	         "(class_uid = 1001 and file.path = /e and process.pid = 3)\n"
	         "  - id: mixed\n    title: t\n    condition: class_uid = 1001 and (file.path = /a or process.pid = "
	         "9)\n");
	const char *paths[] = {"/a", "/b", "/c", "/d", "/e", "/f"};
	const int pids[] = {1, 2, 2, 0, 3, 9};
	struct ks_rview v;
	size_t i, m[6];

	(void)state;
	for (i = 0; i < 6; i++) {
		file_view(&v, paths[i], "Read", 2);
		ks_rview_int(&v, KS_RF_PROC_PID, pids[i]);
		m[i] = ks_rules_eval(r, &v, SEC);
	}
	assert_int_equal(ks_rules_info(r, 0)->evaluations, 3); /* /a /b /c */
	assert_int_equal(ks_rules_info(r, 0)->matches, 3);
	assert_int_equal(ks_rules_info(r, 1)->evaluations, 2); /* /d /e */
	assert_int_equal(ks_rules_info(r, 1)->matches, 2);
	assert_int_equal(ks_rules_info(r, 2)->evaluations, 6); /* path or pid: every event of the class */
	assert_int_equal(ks_rules_info(r, 2)->matches, 2);     /* /a, pid 9 */
	assert_int_equal(m[0], 2);
	assert_int_equal(m[3], 1);
	assert_int_equal(m[5], 1);
	file_view(&v, "/b", "Read", 2); /* keyed, then the whole condition decides */
	ks_rview_int(&v, KS_RF_PROC_PID, 1);
	assert_int_equal(ks_rules_eval(r, &v, SEC), 0);
	assert_int_equal(ks_rules_info(r, 0)->evaluations, 4);
	ks_rules_free(r);
}

static void test_replace_by_id_and_disable(void **state)
{
	struct ks_rules_builder *b = ks_rules_builder_new();
	struct ks_rules_err err;
	struct ks_rules *r;
	struct ks_rview v;
	const char *a = RULE("file.path = /etc/shadow") "  - id: r2\n    title: t2\n    condition: file.path exists\n";
	const char *c = RULE("file.path = /etc/passwd");

	(void)state;
	file_view(&v, "/etc/shadow", "Read", 2);
	r = load2(a, c, NULL, &err);
	assert_non_null(r);
	ks_rules_set_sink(r, sink, NULL);
	assert_int_equal(ks_rules_count(r), 2);
	assert_int_equal(ks_rules_eval(r, &v, SEC), 1); /* r1 now wants /etc/passwd: only r2 */
	assert_string_equal(got.ids[0], "r2");
	assert_string_equal(ks_rules_info(r, 0)->file, "b.yaml");
	ks_rules_free(r);

	assert_int_equal(ks_rules_add_text(b, "a.yaml", a, strlen(a), &err), 0);
	assert_int_equal(ks_rules_disable(b, "r2"), 0);
	r = ks_rules_build(b, NULL, &err);
	assert_non_null(r);
	ks_rules_set_sink(r, sink, NULL);
	memset(&got, 0, sizeof(got));
	assert_int_equal(ks_rules_eval(r, &v, SEC), 1);
	assert_string_equal(got.ids[0], "r1");
	assert_false(ks_rules_info(r, 1)->enabled);
	ks_rules_free(r);
	assert_int_equal(ks_rules_disable(b, "nope"), 0);
	assert_null(ks_rules_build(b, NULL, &err));
	assert_non_null(strstr(err.msg, "no rule has the id 'nope'"));
	ks_rules_builder_free(b);
	assert_string_equal(load_err(RULE("file.path exists") "disable: [r1, r9]\n"),
	                    "a.yaml:5:15: disable: no rule has the id 'r9' (a typo?)");
	r = load(RULE("file.path exists") "disable: [r1]\n");
	assert_int_equal(ks_rules_eval(r, &v, SEC), 0);
	ks_rules_free(r);
	/* in-file disable and enabled: false */
	r = load(RULE("file.path exists") "    enabled: false\n");
	assert_int_equal(ks_rules_eval(r, &v, SEC), 0);
	ks_rules_free(r);
}

static void test_nothing_half_loads(void **state)
{
	struct ks_rules *running = load(RULE("file.path exists"));
	struct ks_rview v;

	(void)state;
	/* a failed reload leaves the running engine as it was */
	assert_null(load2(RULE("file.path exists") "  - id: r2\n    title: t\n    condition: nope\n", NULL, NULL,
	                  &(struct ks_rules_err){0}));
	ks_rules_set_sink(running, sink, NULL);
	file_view(&v, "/etc/shadow", "Read", 2);
	assert_int_equal(ks_rules_eval(running, &v, SEC), 1);
	ks_rules_free(running);
	/* the first rule is fine, the second is not: no engine */
	assert_non_null(strstr(load_err(RULE("file.path exists") "  - id: r2\n    title: t\n    condition: nope\n"),
	                       "a.yaml:7:16"));
}

static void test_dedupe_and_rate_limit(void **state)
{
	struct ks_rules_opts o = {.dedupe_ns = 10 * SEC, .rate_per_s = 1, .rate_burst = 2};
	struct ks_rules_err err;
	struct ks_rules *r = load2(RULE("file.path exists") "    output: '%{process.file.path} read %{file.path} "
	                                                    "(%{query.hostname})'\n",
	                           NULL, &o, &err);
	struct ks_rview v;
	size_t n = 0;
	int i;

	(void)state;
	assert_non_null(r);
	ks_rules_set_sink(r, sink, NULL);
	file_view(&v, "/etc/shadow", "Read", 2);
	assert_int_equal(ks_rules_eval(r, &v, SEC), 1);
	assert_string_equal(got.output, "/usr/bin/cat read /etc/shadow (<NA>)");
	assert_false(got.update);
	/* same rule, same process: one finding whose count grows; the sink hears at 2, 4, 8 */
	for (i = 0; i < 7; i++)
		n += ks_rules_eval(r, &v, SEC + (uint64_t)i);
	assert_int_equal(n, 3);
	assert_true(got.update);
	assert_int_equal(got.count, 8);
	assert_int_equal(ks_rules_info(r, 0)->deduped, 7);
	/* other processes are new findings: the burst of 2 allows one more, then the rate limit drops */
	for (i = 0; i < 5; i++) {
		v.proc.pid = 1000 + (uint32_t)i;
		n += ks_rules_eval(r, &v, 2 * SEC);
	}
	assert_int_equal(n, 5); /* one token left at 1 s, one more refilled by 2 s */
	assert_int_equal(ks_rules_info(r, 0)->rate_dropped, 3);
	assert_int_equal(ks_rules_info(r, 0)->matches, 13);
	ks_rules_free(r);
}

static void test_limits(void **state)
{
	char *deep = malloc(200000), *big;
	struct ks_rules_err err;
	struct ks_rules *r;
	struct ks_rview v;
	size_t o, i;

	(void)state;
	o = (size_t)sprintf(deep, "rules:\n  - id: r1\n    title: t\n    condition: '");
	for (i = 0; i < 100; i++)
		deep[o++] = '(';
	o += (size_t)sprintf(deep + o, "file.path exists");
	for (i = 0; i < 100; i++)
		deep[o++] = ')';
	strcpy(deep + o, "'\n");
	assert_non_null(strstr(load_err(deep), "nests more than 64 deep"));
	o = (size_t)sprintf(deep, "rules:\n  - id: r1\n    title: t\n    condition: '");
	for (i = 0; i < 100; i++)
		o += (size_t)sprintf(deep + o, "not ");
	strcpy(deep + o, "file.path exists'\n");
	assert_non_null(strstr(load_err(deep), "nests more than 64 deep"));
	free(deep);
	/* a macro bomb: each level doubles */
	big = malloc(4096);
	o = (size_t)sprintf(big, "macros:\n  m0: file.path = x\n");
	for (i = 1; i < 30; i++)
		o += (size_t)sprintf(big + o, "  m%zu: m%zu or m%zu\n", i, i - 1, i - 1);
	sprintf(big + o, RULE("m29"));
	assert_non_null(strstr(load_err(big), "more than 100000 nodes"));
	free(big);
	/* a huge list is refused */
	big = malloc(2000000);
	o = (size_t)sprintf(big, "lists:\n  big: [");
	for (i = 0; i < 70000; i++)
		o += (size_t)sprintf(big + o, "a%zu,", i);
	sprintf(big + o, "b]\n" RULE("file.path in (big)"));
	assert_non_null(strstr(load_err(big), "list 'big' has more than 65536 items"));
	free(big);
	/* a pathological regex is bounded: the match limit stops it, counted, no match */
	r = load2(RULE("file.path matches '^(a+)+$'"), NULL, NULL, &err);
	assert_non_null(r);
	ks_rules_set_sink(r, sink, NULL);
	file_view(&v, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "Read", 2);
	assert_int_equal(ks_rules_eval(r, &v, SEC), 0);
	assert_int_equal(ks_rules_info(r, 0)->regex_errors, 1);
	ks_rules_free(r);
}

static void test_cost_counters(void **state)
{
	struct ks_rules_opts o = {.cost_sample = 1, .dedupe_ns = UINT64_MAX};
	struct ks_rules_err err;
	struct ks_rules *r = load2(RULE("file.path contains shadow"), NULL, &o, &err);
	const struct ks_rule_info *in;
	struct ks_rview v;
	int i;

	(void)state;
	assert_non_null(r);
	file_view(&v, "/etc/passwd", "Read", 2);
	for (i = 0; i < 100; i++)
		ks_rules_eval(r, &v, SEC);
	in = ks_rules_info(r, 0);
	assert_int_equal(in->evaluations, 100);
	assert_int_equal(in->cost_samples, 100);
	assert_true(in->cost_p99_ns > 0);
	assert_true(in->cost_sum_ns / in->cost_samples <= in->cost_p99_ns * 4);
	ks_rules_free(r);
}

static void test_rule_metadata(void **state)
{
	struct ks_rules *r = load("rules:\n  - id: KS-CRED-001\n    title: Shadow read\n    description: d\n"
	                          "    condition: file.path = /etc/shadow\n    severity: Critical\n"
	                          "    tags: [T1003.008, credential_access, custom]\n    area: user\n"
	                          "    remediation: fix it\n    enabled: true\n");
	const struct ks_rule_info *in = ks_rules_info(r, 0);
	struct ks_rview v;

	(void)state;
	assert_string_equal(in->id, "KS-CRED-001");
	assert_string_equal(in->title, "Shadow read");
	assert_string_equal(in->description, "d");
	assert_string_equal(in->remediation, "fix it");
	assert_string_equal(in->condition, "file.path = /etc/shadow");
	assert_int_equal(in->severity_id, 5);
	assert_string_equal(in->severity, "critical");
	assert_int_equal(in->area, KS_RAREA_USER);
	assert_int_equal(in->n_tags, 3);
	assert_string_equal(in->tags[0], "T1003.008");
	assert_string_equal(in->file, "a.yaml");
	assert_int_equal(in->line, 2);
	file_view(&v, "/etc/shadow", "Read", 2);
	assert_int_equal(ks_rules_eval(r, &v, SEC), 1);
	assert_string_equal(got.output, "Shadow read"); /* no output: the title */
	ks_rules_free(r);
	assert_non_null(strstr(load_err("rules:\n  - id: 'a b'\n    title: t\n    condition: file.path exists\n"),
	                       "an id holds letters"));
	assert_non_null(strstr(load_err("rules:\n  - id: x\n    title: t\n    area: cloud\n    condition: file.path "
	                                "exists\n"),
	                       "area must be device, user, system or data"));
	assert_non_null(strstr(load_err("rules:\n  - id: x\n    condition: file.path exists\n"), "needs a title"));
}

/* The state table is sized at load: many processes fill it, then new state is refused and counted. */
static void test_state_bounded(void **state)
{
	struct ks_rules_opts o = {.state_max = 64, .dedupe_ns = UINT64_MAX};
	struct ks_rules_err err;
	struct ks_rules *r = load2("rules:\n  - id: scan\n    title: scan\n    condition: class_uid = 4001\n"
	                           "    threshold: {count: 3, within: 10s, by: process}\n",
	                           NULL, &o, &err);
	size_t bytes;
	struct ks_rview v;
	uint32_t i;

	(void)state;
	assert_non_null(r);
	bytes = ks_rules_state_bytes(r);
	net_view(&v, "10.0.0.1", 22, "Refuse", 5);
	for (i = 0; i < 1000; i++) {
		v.proc.pid = 1000 + i;
		ks_rules_eval(r, &v, SEC);
	}
	assert_true(ks_rules_state_used(r) <= 64);
	assert_true(ks_rules_info(r, 0)->state_full > 0);
	assert_int_equal(ks_rules_state_bytes(r), bytes);
	/* windows end: the slots are free again */
	v.proc.pid = 5000;
	ks_rules_eval(r, &v, 100 * SEC);
	assert_true(ks_rules_state_used(r) <= 64);
	ks_rules_free(r);
}

/* The per-event path allocates nothing: no call to the allocator from the engine, and the heap in use is the
 * same before and after many events. */
static void test_no_allocation_per_event(void **state)
{
	struct ks_rules *r = load("lists:\n  l: [/etc/shadow, /etc/gshadow]\n"
	                          "rules:\n  - id: a\n    title: '%{file.path} by %{process.lineage}'\n"
	                          "    condition: file.path in (l) and process.file.path matches 'c.t$'\n"
	                          "  - id: b\n    title: t\n    condition: class_uid = 4001\n"
	                          "    threshold: {count: 2, within: 1s, by: dst_endpoint.ip}\n");
	struct ks_rules *s = load(seq_rule);
	struct mallinfo2 before, after;
	struct ks_rproc_id parent = {100, 5};
	struct ks_rview f, n;
	int i;

	(void)state;
	assert_true(allocs > 0); /* the counter sees the engine's allocations: loading made some */
	file_view(&f, "/etc/shadow", "Read", 2);
	net_view(&n, "10.1.2.3", 443, "Open", 1);
	n.ancestors = &parent;
	n.n_ancestors = 1;
	ks_rules_eval(r, &f, SEC); /* first use of each regex JIT stack and dedupe slot */
	ks_rules_eval(s, &f, SEC);
	before = mallinfo2();
	allocs = 0;
	for (i = 0; i < 10000; i++) {
		f.proc.pid = n.proc.pid = (uint32_t)i;
		parent.pid = (uint32_t)i;
		ks_rules_eval(r, &f, SEC + (uint64_t)i * 1000);
		ks_rules_eval(r, &n, SEC + (uint64_t)i * 1000);
		ks_rules_eval(s, &f, SEC + (uint64_t)i * 1000);
		ks_rules_eval(s, &n, SEC + (uint64_t)i * 1000);
		ks_rules_proc_exit(s, (uint32_t)i, 5);
	}
	after = mallinfo2();
	assert_int_equal(allocs, 0);
	assert_int_equal(after.uordblks, before.uordblks);
	assert_true(ks_rules_info(r, 0)->matches > 0);
	assert_true(ks_rules_info(s, 0)->matches > 0);
	ks_rules_free(r);
	ks_rules_free(s);
}

static void test_unit_from_cgroup(void **state)
{
	char u[64];

	(void)state;
	assert_true(ks_rules_unit_from_cgroup("/system.slice/nginx.service", u, sizeof(u)));
	assert_string_equal(u, "nginx.service");
	assert_true(ks_rules_unit_from_cgroup("/user.slice/user-1000.slice/session-3.scope", u, sizeof(u)));
	assert_string_equal(u, "session-3.scope");
	assert_true(ks_rules_unit_from_cgroup("/system.slice/docker-1.scope/init", u, sizeof(u)));
	assert_string_equal(u, "docker-1.scope");
	assert_false(ks_rules_unit_from_cgroup("/", u, sizeof(u)));
}

/* kansoku's own OCSF events read back: process is `process` in 1007 and `actor.process` elsewhere, uids are
 * numbers, the unit comes from the cgroup, ancestry from the Launches seen. */
static void test_offline_view_from_json(void **state)
{
	const char *launch =
	    "{\"class_uid\":1007,\"activity_id\":1,\"activity_name\":\"Launch\",\"time\":1000,"
	    "\"process\":{\"pid\":300,\"created_time\":900,\"name\":\"curl\",\"cmd_line\":\"curl x\","
	    "\"file\":{\"path\":\"/usr/bin/curl\",\"name\":\"curl\"},\"user\":{\"uid\":\"33\",\"name\":\"www-data\"},"
	    "\"parent_process\":{\"pid\":200,\"created_time\":800,\"name\":\"bash\",\"file\":{\"path\":\"/usr/bin/"
	    "bash\"}},"
	    "\"lineage\":[\"/usr/bin/bash\",\"/usr/sbin/nginx\"]},"
	    "\"actor\":{\"user\":{\"uid\":\"1000\",\"name\":\"alice\"}},"
	    "\"unmapped\":{\"tty\":\"pts0\",\"loginuid\":1000,\"cgroup\":{\"path\":\"/system.slice/nginx.service\"},"
	    "\"args\":[\"curl\",\"x\"],\"exe_deleted\":true}}";
	const char *net =
	    "{\"class_uid\":4001,\"activity_id\":1,\"activity_name\":\"Open\",\"time\":2000,"
	    "\"dst_endpoint\":{\"ip\":\"10.9.8.7\",\"port\":443},\"connection_info\":{\"direction\":"
	    "\"Outbound\",\"protocol_name\":\"tcp\"},\"actor\":{\"process\":{\"pid\":300,\"created_time\":900,"
	    "\"file\":{\"path\":\"/usr/bin/curl\"}},\"user\":{\"uid\":\"1000\"}}}";
	struct json_object *a = json_tokener_parse(launch), *b = json_tokener_parse(net);
	struct ks_rules *r = load(RULE("class_uid = 1 and file.path exists"));
	struct ks_rules_offline *o = ks_rules_offline_new(r, stdout, false);
	struct ks_rview v;
	uint64_t now;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	/* the parent's own Launch, so the curl's ancestry goes one further */
	ks_rules_view_from_json(o, a, &v, &now);
	assert_int_equal(now, 1000000000ull);
	assert_string_equal(v.f[KS_RF_PROC_EXE].s, "/usr/bin/curl");
	assert_int_equal(v.f[KS_RF_PROC_USER_UID].i, 33);
	assert_int_equal(v.f[KS_RF_ACTOR_USER_UID].i, 1000);
	assert_int_equal(v.f[KS_RF_PROC_LOGINUID].i, 1000);
	assert_string_equal(v.f[KS_RF_PARENT_EXE].s, "/usr/bin/bash");
	assert_string_equal(v.f[KS_RF_PROC_UNIT].s, "nginx.service");
	assert_true(v.f[KS_RF_PROC_HAS_TTY].b);
	assert_true(v.f[KS_RF_PROC_EXE_DELETED].b);
	assert_int_equal(v.f[KS_RF_PROC_LINEAGE].len, 2);
	assert_string_equal(v.f[KS_RF_PROC_ARGS].list[1], "x");
	assert_int_equal(v.proc.pid, 300);
	assert_int_equal(v.proc.start_ns, 900000000ull);
	assert_int_equal(v.n_ancestors, 1);
	assert_int_equal(v.ancestors[0].pid, 200);
	assert_int_equal(v.ancestors[0].start_ns, 800000000ull);
	ks_rules_view_from_json(o, b, &v, &now);
	assert_string_equal(v.f[KS_RF_PROC_EXE].s, "/usr/bin/curl");
	assert_int_equal(v.f[KS_RF_DST_PORT].i, 443);
	assert_int_equal(v.f[KS_RF_DST_IP].ip.family, 4);
	assert_string_equal(v.f[KS_RF_DIRECTION].s, "Outbound");
	/* only Process Activity records these: carried from the process's Launch, as the daemon's table does */
	assert_true(v.f[KS_RF_PROC_HAS_TTY].set && v.f[KS_RF_PROC_HAS_TTY].b);
	assert_string_equal(v.f[KS_RF_PROC_TTY].s, "pts0");
	assert_string_equal(v.f[KS_RF_PROC_UNIT].s, "nginx.service");
	assert_int_equal(v.f[KS_RF_PROC_LOGINUID].i, 1000);
	assert_false(v.f[KS_RF_FILE_PATH].set);
	assert_int_equal(v.n_ancestors, 1); /* from the Launch seen before */
	ks_rules_offline_free(o);
	ks_rules_free(r);
	json_object_put(a);
	json_object_put(b);
}

/* `kansoku rules test --json` on a recorded stream: what it printed (freed by the caller). */
static char *offline_json(const char *rules, const char *events, size_t *n, size_t *bad)
{
	struct ks_rules *r = load(rules);
	char *out = NULL;
	size_t out_len = 0;
	FILE *in = fmemopen((void *)events, strlen(events), "r"), *o = open_memstream(&out, &out_len);
	struct ks_rules_offline *off = ks_rules_offline_new(r, o, true);

	*n = *bad = 0;
	assert_int_equal(ks_rules_offline_run(off, in, "mem", n, bad), 0);
	fclose(o);
	fclose(in);
	ks_rules_offline_free(off);
	ks_rules_free(r);
	return out;
}

/* A recorded stream end to end: a shell reads /etc/shadow, its child connects out; a Terminate frees state. */
static void test_offline_sequence_from_stream(void **state)
{
	const char *events =
	    "{\"class_uid\":1007,\"activity_id\":1,\"activity_name\":\"Launch\",\"time\":1000,\"metadata\":{"
	    "\"sequence\":1},"
	    "\"process\":{\"pid\":500,\"created_time\":990,\"file\":{\"path\":\"/usr/bin/bash\"}}}\n"
	    "{\"class_uid\":1001,\"activity_id\":2,\"activity_name\":\"Read\",\"time\":2000,\"metadata\":{\"sequence\":"
	    "2},"
	    "\"file\":{\"path\":\"/etc/shadow\"},\"actor\":{\"process\":{\"pid\":500,\"created_time\":990,\"file\":"
	    "{\"path\":\"/usr/bin/bash\"}}}}\n"
	    "not json\n"
	    "{\"class_uid\":1007,\"activity_id\":1,\"activity_name\":\"Launch\",\"time\":3000,\"metadata\":{"
	    "\"sequence\":3},"
	    "\"process\":{\"pid\":501,\"created_time\":2990,\"file\":{\"path\":\"/usr/bin/curl\"},\"parent_process\":"
	    "{\"pid\":500,\"created_time\":990}}}\n"
	    "{\"class_uid\":4001,\"activity_id\":1,\"activity_name\":\"Open\",\"time\":4000,\"metadata\":{\"sequence\":"
	    "4},"
	    "\"dst_endpoint\":{\"ip\":\"203.0.113.9\",\"port\":443},\"actor\":{\"process\":{\"pid\":501,\"created_"
	    "time\":"
	    "2990,\"file\":{\"path\":\"/usr/bin/curl\"}}}}\n";
	size_t n, bad;
	char *out = offline_json(seq_rule, events, &n, &bad);

	(void)state;
	assert_int_equal(n, 4);
	assert_int_equal(bad, 1);
	assert_non_null(strstr(out, "\"line\":5,\"rule\":\"seq\""));
	assert_non_null(
	    strstr(out, "\"sequence\":2,\"text\":\"Read by \\/usr\\/bin\\/bash (pid 500): \\/etc\\/shadow\""));
	assert_non_null(strstr(out, "\"sequence\":4,\"text\":\"to 203.0.113.9:443\""));
	free(out);
}

/* A short-lived connection's folded Close stands for its Open offline too, as the daemon judged it. */
static void test_offline_folded_close_is_its_open(void **state)
{
	const char *events =
	    "{\"class_uid\":1001,\"activity_id\":2,\"activity_name\":\"Read\",\"time\":2000,\"metadata\":{\"sequence\":"
	    "1},\"file\":{\"path\":\"/etc/shadow\"},\"actor\":{\"process\":{\"pid\":500,\"created_time\":990}}}\n"
	    "{\"class_uid\":4001,\"activity_id\":2,\"activity_name\":\"Close\",\"time\":4000,\"start_time\":3950,"
	    "\"metadata\":{\"sequence\":2},\"dst_endpoint\":{\"ip\":\"203.0.113.9\",\"port\":443},\"unmapped\":{"
	    "\"short_lived\":true},\"actor\":{\"process\":{\"pid\":500,\"created_time\":990}}}\n"
	    "{\"class_uid\":1001,\"activity_id\":2,\"activity_name\":\"Read\",\"time\":5000,\"metadata\":{\"sequence\":"
	    "3},\"file\":{\"path\":\"/etc/shadow\"},\"actor\":{\"process\":{\"pid\":600,\"created_time\":990}}}\n"
	    "{\"class_uid\":4001,\"activity_id\":2,\"activity_name\":\"Close\",\"time\":6000,\"start_time\":5500,"
	    "\"metadata\":{\"sequence\":4},\"dst_endpoint\":{\"ip\":\"203.0.113.9\",\"port\":443},\"actor\":{"
	    "\"process\":{\"pid\":600,\"created_time\":990}}}\n";
	size_t n, bad;
	char *out = offline_json(seq_rule, events, &n, &bad);

	(void)state;
	assert_int_equal(n, 4);
	/* pid 500's folded Close is an Open at its start_time; pid 600's Close (not folded) is only a Close */
	assert_non_null(strstr(out, "\"line\":2,\"rule\":\"seq\""));
	assert_non_null(strstr(out, "\"time\":3950,\"class_uid\":4001,\"activity_id\":1,\"pid\":500"));
	assert_null(strstr(out, "\"line\":4,"));
	free(out);
}

/* A posture Compliance Finding (2003) as posture/emit.c writes it. */
static int finding_json(char *buf, size_t len, int act, const char *control, const char *item, bool at_start)
{
	static const char *const acts[] = {"", "Create", "Update", "Close"};

	return snprintf(buf, len,
	                "{\"class_uid\":2003,\"activity_id\":%d,\"activity_name\":\"%s\",\"severity_id\":4,"
	                "\"time\":5000,\"status_id\":%d,\"finding_info\":{\"uid\":\"%s:00ab\",\"title\":\"t %s\","
	                "\"desc\":\"found %s\"},\"compliance\":{\"control\":\"%s\",\"status\":\"%s\",\"status_id\":%d},"
	                "\"unmapped\":{\"area\":\"device\",\"severity\":\"high\",\"item\":\"%s\",\"expected\":\"2\","
	                "\"actual\":\"0\",\"found_at_start\":%s}}\n",
	                act, acts[act], act == 3 ? 4 : 1, control, control, item, control, act == 3 ? "Pass" : "Fail",
	                act == 3 ? 1 : 3, item, at_start ? "true" : "false");
}

/* Posture findings offline: their fields from the JSON (a Detection Finding's unmapped.area is not one). */
static void test_offline_posture_finding_fields(void **state)
{
	char text[1024];
	const char *det = "{\"class_uid\":2004,\"activity_id\":1,\"severity_id\":6,\"unmapped\":{\"area\":\"user\"}}";
	struct ks_rules *r = load(RULE("class_uid = 2003 and unmapped.found_at_start = false"));
	struct ks_rules_offline *o = ks_rules_offline_new(r, stdout, false);
	struct json_object *a, *b;
	struct ks_rview v;
	uint64_t now;

	(void)state;
	finding_json(text, sizeof(text), 1, "KS-NET-017", "tcp/0.0.0.0:23", false);
	a = json_tokener_parse(text);
	b = json_tokener_parse(det);
	ks_rules_view_from_json(o, a, &v, &now);
	assert_string_equal(v.f[KS_RF_FINDING_UID].s, "KS-NET-017:00ab");
	assert_string_equal(v.f[KS_RF_FINDING_TITLE].s, "t KS-NET-017");
	assert_string_equal(v.f[KS_RF_FINDING_DESC].s, "found tcp/0.0.0.0:23");
	assert_string_equal(v.f[KS_RF_COMPLIANCE_CONTROL].s, "KS-NET-017");
	assert_string_equal(v.f[KS_RF_COMPLIANCE_STATUS].s, "Fail");
	assert_int_equal(v.f[KS_RF_COMPLIANCE_STATUS_ID].i, 3);
	assert_string_equal(v.f[KS_RF_POSTURE_AREA].s, "device");
	assert_string_equal(v.f[KS_RF_POSTURE_SEVERITY].s, "high");
	assert_string_equal(v.f[KS_RF_POSTURE_ITEM].s, "tcp/0.0.0.0:23");
	assert_string_equal(v.f[KS_RF_POSTURE_EXPECTED].s, "2");
	assert_string_equal(v.f[KS_RF_POSTURE_ACTUAL].s, "0");
	assert_true(v.f[KS_RF_POSTURE_AT_START].set && !v.f[KS_RF_POSTURE_AT_START].b);
	assert_string_equal(v.f[KS_RF_SEVERITY].s, "High"); /* the caption of severity_id 4 */
	assert_int_equal(v.f[KS_RF_STATUS_ID].i, 1);
	assert_false(v.f[KS_RF_PROC_PID].set); /* no process did it */
	assert_false(v.f[KS_RF_ACTOR_USER_UID].set);
	assert_int_equal(ks_rules_eval(r, &v, now), 1);
	ks_rules_view_from_json(o, b, &v, &now);
	assert_false(v.f[KS_RF_POSTURE_AREA].set);
	assert_string_equal(v.f[KS_RF_SEVERITY].s, "Fatal");
	assert_int_equal(ks_rfield_lookup("unmapped.found_at_start", 23), KS_RF_POSTURE_AT_START);
	assert_int_equal(ks_rfield_type(KS_RF_COMPLIANCE_CONTROL), KS_RT_STR);
	assert_string_equal(ks_rseverity_caption(99), "Other");
	assert_string_equal(ks_rseverity_caption(7), "Unknown");
	ks_rules_offline_free(o);
	ks_rules_free(r);
	json_object_put(a);
	json_object_put(b);
}

/* The default rules on posture changes, offline: what appeared while the host ran, never its start state. */
static void test_default_posture_rules_offline(void **state)
{
	static const struct {
		const char *control, *item;
		const char *rule; /* NULL: nothing may match */
		int act;
		bool at_start;
	} cases[] = {
	    {"KS-KRN-001", "", "KS-DEF-008", 1, false},
	    {"KS-KRN-011", "", "KS-DEF-008", 1, false},
	    {"KS-KRN-001", "", NULL, 1, true},  /* off at start: posture's finding only */
	    {"KS-KRN-001", "", NULL, 2, false}, /* an Update is no new change of state */
	    {"KS-KRN-001", "", NULL, 3, false},
	    {"KS-KRN-012", "", NULL, 1, false}, /* tainted: not a control turned off */
	    {"KS-NET-017", "tcp/0.0.0.0:23", "KS-PERSIST-015", 1, false},
	    {"KS-NET-017", "udp/[::]:69", "KS-PERSIST-015", 1, false},
	    {"KS-NET-017", "tcp/0.0.0.0:2323", NULL, 1, false},
	    {"KS-NET-017", "tcp/0.0.0.0:21", NULL, 1, true},
	    {"KS-FS-004", "/opt/x/suid", "KS-PRIV-007", 1, false},
	    {"KS-FS-004", "(more)", NULL, 1, false},
	    {"KS-FS-002", "/srv/data/ww", "KS-DEF-009", 1, false},
	    {"KS-FS-001", "/srv/tmpdir", "KS-DEF-009", 1, false},
	    {"KS-FS-003", "/srv/unowned", NULL, 1, false},
	};
	struct ks_rules_builder *bl = ks_rules_builder_new();
	struct ks_rules_opts opts = {.dedupe_ns = UINT64_MAX, .rate_per_s = 1000000, .rate_burst = 1000000};
	struct ks_rules_err err = {0};
	struct ks_rules_offline *o;
	struct ks_rules *r;
	char text[1024], buf[600];
	glob_t g;

	(void)state;
	assert_int_equal(glob("packaging/rules/*.yaml", 0, NULL, &g), 0); /* run from the repository */
	for (size_t i = 0; i < g.gl_pathc; i++)
		if (ks_rules_add_file(bl, g.gl_pathv[i], &err))
			fail_msg("%s", ks_rules_err_str(&err, buf, sizeof(buf)));
	globfree(&g);
	r = ks_rules_build(bl, &opts, &err);
	ks_rules_builder_free(bl);
	if (!r)
		fail_msg("%s", ks_rules_err_str(&err, buf, sizeof(buf)));
	o = ks_rules_offline_new(r, stdout, false);
	ks_rules_set_sink(r, sink, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *ev;
		struct ks_rview v;
		uint64_t now;

		finding_json(text, sizeof(text), cases[i].act, cases[i].control, cases[i].item, cases[i].at_start);
		ev = json_tokener_parse(text);
		assert_non_null(ev);
		memset(&got, 0, sizeof(got));
		ks_rules_view_from_json(o, ev, &v, &now);
		ks_rules_eval(r, &v, now);
		if (got.n != (cases[i].rule ? 1u : 0u) || (cases[i].rule && strcmp(got.ids[0], cases[i].rule)))
			fail_msg("case %zu (%s %s): %zu matches, first %s; want %s", i, cases[i].control, cases[i].item,
			         got.n, got.n ? got.ids[0] : "-", cases[i].rule ? cases[i].rule : "none");
		json_object_put(ev);
	}
	ks_rules_offline_free(o);
	ks_rules_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_string_operators),
	    cmocka_unit_test(test_int_bool_ip_list_operators),
	    cmocka_unit_test(test_boolean_logic_and_precedence),
	    cmocka_unit_test(test_type_errors),
	    cmocka_unit_test(test_error_positions),
	    cmocka_unit_test(test_macros_and_lists),
	    cmocka_unit_test(test_exceptions),
	    cmocka_unit_test(test_sequence_by_descendant_within_window),
	    cmocka_unit_test(test_threshold),
	    cmocka_unit_test(test_index_never_evaluates_other_classes),
	    cmocka_unit_test(test_may_match),
	    cmocka_unit_test(test_sequence_one_step_per_event),
	    cmocka_unit_test(test_index_by_value),
	    cmocka_unit_test(test_index_by_or_of_values),
	    cmocka_unit_test(test_replace_by_id_and_disable),
	    cmocka_unit_test(test_nothing_half_loads),
	    cmocka_unit_test(test_dedupe_and_rate_limit),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_cost_counters),
	    cmocka_unit_test(test_rule_metadata),
	    cmocka_unit_test(test_state_bounded),
	    cmocka_unit_test(test_no_allocation_per_event),
	    cmocka_unit_test(test_unit_from_cgroup),
	    cmocka_unit_test(test_offline_posture_finding_fields),
	    cmocka_unit_test(test_default_posture_rules_offline),
	    cmocka_unit_test(test_offline_view_from_json),
	    cmocka_unit_test(test_offline_sequence_from_stream),
	    cmocka_unit_test(test_offline_folded_close_is_its_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
