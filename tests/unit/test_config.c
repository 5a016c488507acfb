// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The config loader: defaults, a full valid file, and every way a config can be wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config_cases.h"

static int parse(struct ks_config *cfg, const char *text, char *err)
{
	return ks_config_parse(cfg, "t.yaml", text, strlen(text), err, 512);
}

static void test_defaults_and_empty(void **state)
{
	struct ks_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(parse(&cfg, "", err), 0);
	assert_string_equal(cfg.state_dir, "/var/lib/kansoku");
	assert_string_equal(cfg.socket, "/run/kansoku/kansoku.sock");
	assert_int_equal(cfg.n_outputs, 1);
	assert_string_equal(cfg.outputs[0].path, "/var/log/kansoku/events.json");
	assert_int_equal(cfg.argv_max, 1024);
	assert_int_equal(cfg.hooks, KS_HOOKS_AUTO);
	assert_true(cfg.net_enabled);
	assert_false(cfg.net_connect_events);
	assert_int_equal(cfg.ringbuf_net_kb, 8192);
	assert_int_equal(parse(&cfg, "# only a comment\n", err), 0);
}

static void test_full_valid_config(void **state)
{
	struct ks_config cfg;
	char err[512];
	const char *text =
	    "state_dir: /s\n"
	    "socket: /r/k.sock\n"
	    "log_level: debug\n"
	    "heartbeat_interval: 5\n"
	    "recent_events: 0\n"
	    "process:\n  argv_max: 4095\n  hooks: raw_tp\n"
	    "ringbuf:\n  process_kb: 1024\n  wakeup_bytes: 0\n  poll_ms: 10\n"
	    "network:\n  enabled: false\n  connect_events: true\n  udp_window_ms: 5\n  accept_wait_ms: 0\n"
	    "  ringbuf_kb: 64\n  short_lived_ms: 250\n"
	    "outputs:\n  - type: file\n    format: ocsf\n    path: /a.json\n    max_size_kb: 0\n"
	    "  - {type: file, path: /b.json, max_size_kb: 64, keep: 3, compress: false}\n";

	(void)state;
	assert_int_equal(parse(&cfg, text, err), 0);
	assert_string_equal(cfg.state_dir, "/s");
	assert_string_equal(cfg.socket, "/r/k.sock");
	assert_int_equal(cfg.log_level, 3);
	assert_int_equal(cfg.heartbeat_s, 5);
	assert_int_equal(cfg.recent_events, 0);
	assert_int_equal(cfg.argv_max, 4095); /* the bound itself is accepted, and kept as given */
	assert_int_equal(cfg.hooks, KS_HOOKS_RAW_TP);
	assert_int_equal(cfg.ringbuf_process_kb, 1024);
	assert_int_equal(cfg.wakeup_bytes, 0);
	assert_int_equal(cfg.poll_ms, 10);
	assert_int_equal(cfg.n_outputs, 2);
	assert_string_equal(cfg.outputs[1].path, "/b.json");
	assert_int_equal(cfg.outputs[1].line, 25);
	assert_int_equal(cfg.outputs[0].max_size_kb, 0);
	assert_int_equal(cfg.outputs[0].keep, 5);
	assert_true(cfg.outputs[0].compress);
	assert_int_equal(cfg.outputs[1].max_size_kb, 64);
	assert_int_equal(cfg.outputs[1].keep, 3);
	assert_false(cfg.outputs[1].compress);
	assert_false(cfg.net_enabled);
	assert_true(cfg.net_connect_events);
	assert_int_equal(cfg.net_udp_window_ms, 5);
	assert_int_equal(cfg.net_accept_wait_ms, 0);
	assert_int_equal(cfg.net_short_lived_ms, 250);
	assert_int_equal(cfg.ringbuf_net_kb, 64);
}

/* Each bad config must fail with a message holding the expected text (file:line:col and the key). */
static void test_every_error_names_key_and_line(void **state)
{
	static const struct config_case cases[] = {
	    {"state_dir: [unclosed\n", "t.yaml:2:1: YAML syntax error"},
	    {"bogus: 1\n", "t.yaml:1:1: unknown key 'bogus' in 'top level'"},
	    {"process:\n  argv_maxx: 1\n", "t.yaml:2:3: unknown key 'argv_maxx' in 'process'"},
	    {"ringbuf:\n  size: 1\n", "t.yaml:2:3: unknown key 'size' in 'ringbuf'"},
	    {"outputs:\n  - type: file\n    path: /x\n    colour: red\n",
	     "t.yaml:4:5: unknown key 'colour' in 'outputs[]'"},
	    {"heartbeat_interval: soon\n",
	     "t.yaml:1:21: key 'heartbeat_interval': expected an integer from 1 to 86400, found 'soon'"},
	    {"heartbeat_interval: 0\n", "key 'heartbeat_interval': 0 is out of range (1 to 86400)"},
	    {"heartbeat_interval: -5\n", "key 'heartbeat_interval': expected an integer"},
	    {"heartbeat_interval: 99999999999999999999999\n", "expected an integer"},
	    {"heartbeat_interval: [1]\n", "key 'heartbeat_interval': expected an integer"},
	    {"process:\n  argv_max: 5000\n", "t.yaml:2:13: key 'process.argv_max': 5000 is out of range (0 to 4095)"},
	    /* 4096 used to be accepted and silently lowered to 4095: one bound now, said in the error */
	    {"process:\n  argv_max: 4096\n", "t.yaml:2:13: key 'process.argv_max': 4096 is out of range (0 to 4095)"},
	    {"process:\n  hooks: kprobe\n", "t.yaml:2:10: key 'process.hooks': expected one of: auto, tp_btf, raw_tp"},
	    {"ringbuf:\n  process_kb: 100\n", "key 'ringbuf.process_kb': 100 is not a power of two"},
	    {"ringbuf:\n  process_kb: 32\n", "out of range"},
	    {"log_level: loud\n", "t.yaml:1:12: key 'log_level': expected one of: error, warning, info, debug"},
	    {"state_dir: relative/dir\n", "t.yaml:1:12: key 'state_dir': 'relative/dir' is not an absolute path"},
	    {"state_dir: \"\"\n", "key 'state_dir': expected a non-empty string"},
	    {"state_dir:\n  a: b\n", "t.yaml:2:3: key 'state_dir': expected a string, found a mapping"},
	    {"socket: "
	     "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaa\n",
	     "key 'socket': path longer than 107 bytes"},
	    {"state_dir: /a\nstate_dir: /b\n", "t.yaml:2:1: key 'state_dir' appears twice"},
	    {"process: 5\n", "t.yaml:1:10: 'process': expected a mapping, found a scalar"},
	    {"outputs: {type: file}\n", "key 'outputs': expected a list, found a mapping"},
	    {"outputs: []\n", "key 'outputs': at least one output is required"},
	    {"outputs:\n  - path: /x\n", "t.yaml:2:5: output: key 'type' is required"},
	    {"outputs:\n  - type: file\n", "output of type file: key 'path' is required"},
	    {"outputs:\n  - type: kafka\n    path: /x\n", "key 'outputs[].type': expected one of: file"},
	    {"outputs:\n  - type: file\n    format: cef\n    path: /x\n",
	     "key 'outputs[].format': expected one of: ocsf"},
	    {"outputs:\n  - type: file\n    path: x.json\n", "'x.json' is not an absolute path"},
	    {"- a\n- b\n", "'top level': expected a mapping, found a list"},
	    {"? [a]\n: b\n", "keys must be short strings"},
	    {"outputs:\n  - type: file\n    path: /x\n    max_size_kb: 10\n",
	     "t.yaml:4:18: key 'outputs[].max_size_kb': 10 is below 64 (or 0 to never rotate)"},
	    {"outputs:\n  - type: file\n    path: /x\n    keep: 0\n",
	     "key 'outputs[].keep': 0 is out of range (1 to 1000)"},
	    {"outputs:\n  - type: file\n    path: /x\n    compress: gzip\n",
	     "key 'outputs[].compress': expected one of: false, true"},
	    {"network:\n  enable: true\n", "t.yaml:2:3: unknown key 'enable' in 'network'"},
	    {"network:\n  enabled: maybe\n", "key 'network.enabled': expected one of: false, true"},
	    {"network:\n  udp_window_ms: 0\n", "key 'network.udp_window_ms': 0 is out of range"},
	    {"network:\n  accept_wait_ms: 60000\n", "key 'network.accept_wait_ms': 60000 is out of range"},
	    {"network:\n  short_lived_ms: 10001\n", "key 'network.short_lived_ms': 10001 is out of range"},
	    {"network:\n  ringbuf_kb: 1000\n", "key 'network.ringbuf_kb': 1000 is not a power of two"},
	};
	(void)state;
	expect_config_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_posture_section(void **state)
{
	static const struct config_case bad[] = {
	    {"posture:\n  interval: 1\n", "t.yaml:2:13: key 'posture.interval': 1 is out of range (10 to 86400)"},
	    {"posture:\n  allowed_ports: [\"tcp/0\"]\n", "key 'posture.allowed_ports': 'tcp/0' is not a port"},
	    {"posture:\n  allowed_ports: [\"sctp/22\"]\n", "'sctp/22' is not a port"},
	    {"posture:\n  root: relative\n", "key 'posture.root': 'relative' is not an absolute path"},
	    {"posture:\n  weights: {urgent: 3}\n", "unknown key 'urgent' in 'posture.weights'"},
	    {"posture:\n  grace_days: {high: -1}\n", "t.yaml:2:22: key 'posture.grace_days.high': expected an integer"},
	    {"posture:\n  scan_paths: /usr\n", "key 'posture.scan_paths': expected a list"},
	    {"posture:\n  colour: blue\n", "unknown key 'colour' in 'posture'"},
	};
	struct ks_config cfg, def;
	char err[512];
	FILE *f;
	char text[16384];
	size_t n;

	(void)state;
	expect_config_errors(bad, sizeof(bad) / sizeof(bad[0]));
	assert_int_equal(parse(&cfg,
	                       "posture:\n  interval: 60\n  root: /mnt/img\n  allowed_ports: [\"tcp/22\", \"53\"]\n"
	                       "  disable: [KS-MNT-001]\n  weights: {high: 9}\n  grace_days: {critical: 2}\n"
	                       "  scan_paths: [/usr]\n  ignore_loopback: false\n",
	                       err),
	                 0);
	assert_int_equal(cfg.posture.interval_s, 60);
	assert_string_equal(cfg.posture.root, "/mnt/img");
	assert_int_equal(cfg.posture.n_allowed, 2);
	assert_string_equal(cfg.posture.allowed[0].proto, "tcp");
	assert_string_equal(cfg.posture.allowed[1].proto, "");
	assert_int_equal(cfg.posture.allowed[1].port, 53);
	assert_string_equal(cfg.posture.disabled[0], "KS-MNT-001");
	assert_int_equal(cfg.posture.weight[KS_SEV_HIGH], 9);
	assert_int_equal(cfg.posture.weight[KS_SEV_LOW], 1); /* the others keep their defaults */
	assert_int_equal(cfg.posture.grace_days[KS_SEV_CRITICAL], 2);
	assert_int_equal(cfg.posture.n_scan_paths, 1);
	assert_false(cfg.posture.ignore_loopback);

	/* the shipped config documents the defaults: parsing it changes nothing in posture */
	f = fopen("packaging/kansoku.yaml", "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	assert_int_equal(ks_config_parse(&cfg, "kansoku.yaml", text, n, err, sizeof(err)), 0);
	ks_config_defaults(&def);
	assert_memory_equal(&cfg.posture, &def.posture, sizeof(def.posture));
}

static void test_network_outputs(void **state)
{
	static const struct config_case bad[] = {
	    {"outputs:\n  - {type: syslog, port: 514}\n", "keys 'host' and 'port' are required"},
	    {"outputs:\n  - {type: syslog, host: h, port: 70000}\n", "70000 is out of range"},
	    {"outputs:\n  - {type: syslog, host: h, port: 514, transport: carrier-pigeon}\n",
	     "expected one of: udp, tcp, tls, relp"},
	    {"outputs:\n  - {type: syslog, host: h, port: 514, transport: tcp, ca_file: /ca.pem}\n",
	     "the transport is plaintext"},
	    {"outputs:\n  - {type: syslog, host: h, port: 514, transport: relp, ca_file: /ca.pem}\n",
	     "the transport is plaintext"},
	    {"outputs:\n  - {type: syslog, host: h, port: 514, transport: relp, relp_tls: true}\n",
	     "relp_tls needs ca_file"},
	    {"outputs:\n  - {type: http, url: 'http://x/', ca_file: /ca.pem}\n", "the url is not https://"},
	    {"outputs:\n  - {type: http, url: 'ftp://x/'}\n", "expected http:// or https://"},
	    {"outputs:\n  - {type: http, url: 'https://x/', body: splunk-hec}\n", "needs 'splunk_token'"},
	    {"outputs:\n  - {type: http, url: 'https://x/', basic_user: u}\n", "go together"},
	    {"outputs:\n  - {type: http, url: 'https://x/', cert_file: /c.pem}\n", "mutual TLS"},
	    {"outputs:\n  - {type: http, url: 'https://x/', headers: ['X-Bad']}\n", "\"Name: value\""},
	    {"outputs:\n  - {type: http, url: 'https://x/', name: a}\n  - {type: http, url: 'https://y/', name: a}\n",
	     "output name 'a' is used twice"},
	    {"outputs:\n  - {type: http, url: 'https://x/', name: '../etc'}\n", "letters, digits"},
	    {"outputs:\n  - {type: syslog, host: h, port: 514, app_name: 'two words'}\n", "printable ASCII"},
	};
	struct ks_config cfg;
	char err[512];

	(void)state;
	expect_config_errors(bad, sizeof(bad) / sizeof(bad[0]));
	assert_int_equal(
	    parse(&cfg,
	          "outputs:\n  - {type: syslog, host: 127.0.0.1, port: 6514, transport: tls, ca_file: /ca.pem, "
	          "cert_file: /c.pem, key_file: /c.key, facility: auth, format: ecs}\n"
	          "  - {type: http, url: 'https://x/_bulk', body: elastic-bulk, index: ix, headers: ['X-A: 1'], "
	          "bearer_token: t, batch_events: 10}\n",
	          err),
	    0);
	assert_int_equal(cfg.n_outputs, 2);
	assert_int_equal(cfg.outputs[0].type, KS_OUT_SYSLOG);
	assert_int_equal(cfg.outputs[0].transport, KS_TR_TLS);
	assert_int_equal(cfg.outputs[0].facility, 4);
	assert_int_equal(cfg.outputs[0].format, KS_FMT_ECS);
	assert_string_equal(cfg.outputs[0].name, "syslog-1");
	assert_int_equal(cfg.outputs[1].body, KS_BODY_ELASTIC);
	assert_string_equal(cfg.outputs[1].headers[0], "X-A: 1");
	assert_int_equal(cfg.outputs[1].batch_events, 10);
	assert_int_equal(cfg.outputs[1].queue_max_kb, 256 * 1024);
}

static void test_missing_file(void **state)
{
	struct ks_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(ks_config_load(&cfg, "/nonexistent/kansoku.yaml", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot read config '/nonexistent/kansoku.yaml'"));
	assert_non_null(strstr(err, "--config"));
}

static void test_check_paths(void **state)
{
	struct ks_config cfg;
	char err[512], dir[] = "/tmp/ks-cfg-XXXXXX", text[1024];
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(text, sizeof(text),
	         "state_dir: %s/state/deep\nsocket: %s/run/k.sock\noutputs:\n  - type: file\n    path: %s/log/e.json\n",
	         dir, dir, dir);
	assert_int_equal(parse(&cfg, text, err), 0);
	assert_int_equal(ks_config_check_paths(&cfg, err, sizeof(err)), 0);
	assert_int_equal(stat(cfg.state_dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(access(cfg.outputs[0].path, W_OK), 0);

	/* an output path that cannot be opened: the error names the output and its line */
	snprintf(text, sizeof(text), "state_dir: %s/state\noutputs:\n  - type: file\n    path: /proc/version/x.json\n",
	         dir);
	assert_int_equal(parse(&cfg, text, err), 0);
	snprintf(cfg.socket, sizeof(cfg.socket), "%s/run/k.sock", dir);
	assert_int_equal(ks_config_check_paths(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.yaml:3: outputs[0].path: cannot open '/proc/version/x.json'"));

	/* a state_dir that cannot be created */
	snprintf(text, sizeof(text), "state_dir: /proc/version/state\n");
	assert_int_equal(parse(&cfg, text, err), 0);
	assert_int_equal(ks_config_check_paths(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.yaml:1: key 'state_dir': cannot create or write '/proc/version/state'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_and_empty),
	    cmocka_unit_test(test_full_valid_config),
	    cmocka_unit_test(test_every_error_names_key_and_line),
	    cmocka_unit_test(test_posture_section),
	    cmocka_unit_test(test_network_outputs),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_check_paths),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
