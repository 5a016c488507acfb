// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Every config key, one row each: adding a key is adding a row (and its line in README.md's table and in
 * packaging/kansoku.yaml: tests/unit/test_config_docs.c checks all three agree). The rows' order is the
 * order of "known keys" in messages. Defaults are written as they would be in the config file and go
 * through the same checks as a user's value.
 */
#include <stddef.h>
#include <string.h>

#include "config/table.h"
#include "kansoku/events.h"
#include "lib/log.h"

#define FIELD(type, m) .off = offsetof(type, m), .size = sizeof(((type *)0)->m)
#define CFG(m) FIELD(struct ks_config, m)
#define OUT(m) FIELD(struct ks_output_cfg, m)
#define POS(m) FIELD(struct ks_posture_cfg, m)
#define RUL(m) FIELD(struct ks_rules_cfg, m)
/* an array field as a list: one item's size, its capacity, the int that counts the items */
#define LIST_OF(type, m, count)                                      \
	.off = offsetof(type, m), .size = sizeof(((type *)0)->m[0]), \
	.max = sizeof(((type *)0)->m) / sizeof(((type *)0)->m[0]), .count_off = offsetof(type, count)
/* designated initializers: replacement lists that cannot be parenthesized */
#define SECTION(s) .section = &(s)                                       /* NOLINT(bugprone-macro-parentheses) */
#define KEYS(rows) .keys = (rows), .n = sizeof(rows) / sizeof((rows)[0]) /* NOLINT(bugprone-macro-parentheses) */
#define POW2_KB .min = 64, .max = 1u << 20, .check = ks_cfg_check_pow2   /* ring buffers: KiB, a power of two */

static const char *const hooks_names[] = {"auto", "tp_btf", "raw_tp", NULL};
static const char *const type_names[] = {"file", "syslog", "http", NULL};
static const char *const format_names[] = {"ocsf", "ecs", NULL};
static const char *const transport_names[] = {"udp", "tcp", "tls", "relp", NULL};
static const char *const body_names[] = {"ndjson", "elastic-bulk", "splunk-hec", "loki", NULL};
/* RFC 5424's facility codes, in order */
static const char *const facility_names[] = {"kern",   "user",   "mail",   "daemon",   "auth",   "syslog", "lpr",
                                             "news",   "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",
                                             "alert",  "clock",  "local0", "local1",   "local2", "local3", "local4",
                                             "local5", "local6", "local7", NULL};

static const struct ks_cfg_key process_keys[] = {
    {"argv_max", KS_CFG_UINT, CFG(argv_max), .max = KS_CFG_ARGV_MAX, .def = "1024",
     .doc = "argv bytes kept per exec; longer is cut and marked"},
    {"hooks", KS_CFG_ENUM, CFG(hooks), .names = hooks_names, .def = "auto",
     .doc = "which BPF hooks: auto takes tp_btf where the kernel allows it, else raw_tp"},
};

static const struct ks_cfg_key ringbuf_keys[] = {
    {"process_kb", KS_CFG_UINT, CFG(ringbuf_process_kb), POW2_KB, .def = "8192",
     .doc = "process ring buffer, KiB, power of two >= 64"},
    {"wakeup_bytes", KS_CFG_UINT, CFG(wakeup_bytes), .max = 64u << 20, .def = "262144",
     .doc = "wake the daemon once each time another this much is queued (0: every event)"},
    {"poll_ms", KS_CFG_UINT, CFG(poll_ms), .min = 1, .max = 10000, .def = "100",
     .doc = "the daemon also drains on this period: the latency bound"},
};

static const struct ks_cfg_key files_keys[] = {
    {"enabled", KS_CFG_BOOL, CFG(files_enabled), .def = "true", .doc = "file access observation"},
    {"watch", KS_CFG_CUSTOM, .parse = ks_cfg_parse_watch, .def_fn = ks_cfg_default_watch,
     .doc = "paths watched, each with its operations; replaces the default list"},
    {"ignore", KS_CFG_CUSTOM, .parse = ks_cfg_parse_ignore, .doc = "paths (or executables) never reported"},
    {"aggregate_window_ms", KS_CFG_UINT, CFG(files_window_ms), .max = 3600000, .def = "5000",
     .doc = "repeats of one access by one process within the window become one event (0: off)"},
    {"ringbuf_kb", KS_CFG_UINT, CFG(ringbuf_file_kb), POW2_KB, .def = "8192",
     .doc = "file ring buffer, KiB, power of two >= 64"},
};

static const struct ks_cfg_key network_keys[] = {
    {"enabled", KS_CFG_BOOL, CFG(net_enabled), .def = "true", .doc = "TCP, UDP and DNS observation"},
    {"connect_events", KS_CFG_BOOL, CFG(net_connect_events), .def = "false",
     .doc = "also an event per connect() attempt"},
    {"udp_window_ms", KS_CFG_UINT, CFG(net_udp_window_ms), .min = 1, .max = 3600000, .def = "60000",
     .doc = "UDP datagrams of one (process, destination) are counted in the kernel this long"},
    {"ringbuf_kb", KS_CFG_UINT, CFG(ringbuf_net_kb), POW2_KB, .def = "8192",
     .doc = "network ring buffer, KiB, power of two >= 64"},
    {"accept_wait_ms", KS_CFG_UINT, CFG(net_accept_wait_ms), .max = 10000, .def = "200",
     .doc = "an inbound Open waits this long for accept() to name the acceptor (0: at once)"},
    {"short_lived_ms", KS_CFG_UINT, CFG(net_short_lived_ms), .max = 10000, .def = "200",
     .doc = "a connection closed within this is one Close event carrying its open (0: off)"},
};

static const struct ks_cfg_key output_keys[] = {
    {"type", KS_CFG_ENUM, OUT(type), .names = type_names, .doc = "the kind of output (required)"},
    {"format", KS_CFG_ENUM, OUT(format), .names = format_names, .def = "ocsf",
     .doc = "OCSF, or ECS 8 (the OCSF event kept under kansoku.ocsf)"},
    {"name", KS_CFG_STR, OUT(name), .check = ks_cfg_check_output_name,
     .doc = "names the output in status and its queue directory (default TYPE-N)"},
    {"path", KS_CFG_PATH, OUT(path), .ensure = ks_cfg_ensure_appendable, .doc = "file: absolute path"},
    {"max_size_kb", KS_CFG_UINT, OUT(max_size_kb), .max = 64u << 20, .check = ks_cfg_check_max_size, .def = "102400",
     .doc = "file: rotate at this size (>= 64; 0: never)"},
    {"keep", KS_CFG_UINT, OUT(keep), .min = 1, .max = 1000, .def = "5", .doc = "file: rotated files kept"},
    {"compress", KS_CFG_BOOL, OUT(compress), .def = "true", .doc = "file: gzip rotated files"},
    {"queue_max_kb", KS_CFG_UINT, OUT(queue_max_kb), .min = 64, .max = 64u << 20, .def = "262144",
     .doc = "network outputs: the durable queue's bound on disk"},
    {"ca_file", KS_CFG_PATH, OUT(ca_file), .doc = "TLS: the CA that verifies the server (default: system store)"},
    {"cert_file", KS_CFG_PATH, OUT(cert_file), .doc = "mutual TLS: the client certificate"},
    {"key_file", KS_CFG_PATH, OUT(key_file), .doc = "mutual TLS: the client key"},
    {"server_name", KS_CFG_STR, OUT(server_name), .doc = "TLS: the name the certificate carries (default host)"},
    {"host", KS_CFG_STR, OUT(host), .doc = "syslog: the receiver"},
    {"port", KS_CFG_UINT, OUT(port), .min = 1, .max = 65535, .doc = "syslog: the receiver's port"},
    {"transport", KS_CFG_ENUM, OUT(transport), .names = transport_names, .def = "tcp",
     .doc = "syslog: tcp is RFC 6587 octet counting, tls RFC 5425, relp acknowledged"},
    {"relp_tls", KS_CFG_BOOL, OUT(relp_tls), .def = "false", .doc = "RELP over TLS"},
    {"facility", KS_CFG_ENUM, OUT(facility), .names = facility_names, .def = "local0", .doc = "syslog facility"},
    {"app_name", KS_CFG_STR, OUT(app_name), .check = ks_cfg_check_app_name, .def = "kansoku", .doc = "syslog APP-NAME"},
    {"url", KS_CFG_STR, OUT(url), .check = ks_cfg_check_url, .doc = "http: http:// or https://"},
    {"body", KS_CFG_ENUM, OUT(body), .names = body_names, .def = "ndjson", .doc = "http: the body's format"},
    {"batch_events", KS_CFG_UINT, OUT(batch_events), .min = 1, .max = 100000, .def = "500",
     .doc = "http: events per batch"},
    {"batch_kb", KS_CFG_UINT, OUT(batch_kb), .min = 1, .max = 65536, .def = "1024", .doc = "http: KiB per batch"},
    {"batch_interval_ms", KS_CFG_UINT, OUT(batch_interval_ms), .min = 1, .max = 60000, .def = "1000",
     .doc = "http: a batch waits at most this long"},
    {"timeout_ms", KS_CFG_UINT, OUT(timeout_ms), .min = 100, .max = 600000, .def = "10000",
     .doc = "http: request timeout"},
    {"headers", KS_CFG_LIST, LIST_OF(struct ks_output_cfg, headers, n_headers), .item = ks_cfg_item_header,
     .doc = "http: extra \"Name: value\" lines"},
    {"bearer_token", KS_CFG_STR, OUT(bearer_token), .doc = "http: Authorization: Bearer"},
    {"basic_user", KS_CFG_STR, OUT(basic_user), .doc = "http: basic authentication (with basic_password)"},
    {"basic_password", KS_CFG_STR, OUT(basic_password), .doc = "http: basic authentication"},
    {"splunk_token", KS_CFG_STR, OUT(splunk_token), .doc = "http: splunk-hec token"},
    {"index", KS_CFG_STR, OUT(index), .doc = "http: elastic-bulk or splunk-hec index"},
    {"gzip", KS_CFG_BOOL, OUT(gzip), .def = "true", .doc = "http: gzip request bodies"},
};

static const struct ks_cfg_key posture_keys[] = {
    {"enabled", KS_CFG_BOOL, POS(enabled), .def = "true", .doc = "posture evaluation"},
    {"root", KS_CFG_PATH, POS(root), .def = "/", .doc = "checks read files below this directory"},
    {"interval", KS_CFG_UINT, POS(interval_s), .min = 10, .max = 86400, .def = "600",
     .doc = "seconds between full snapshots"},
    {"fs_scan_interval", KS_CFG_UINT, POS(fs_scan_interval_s), .max = 7 * 86400, .def = "3600",
     .doc = "seconds between filesystem walks (0: with every snapshot)"},
    {"scan_paths", KS_CFG_LIST, LIST_OF(struct ks_posture_cfg, scan_paths, n_scan_paths), .item = ks_cfg_item_path,
     .def = "[/bin, /sbin, /usr, /lib, /etc, /opt, /var, /tmp, /srv, /boot, /home, /root, /dev/shm]",
     .doc = "where the filesystem walk looks"},
    {"allowed_ports", KS_CFG_LIST, LIST_OF(struct ks_posture_cfg, allowed, n_allowed), .item = ks_cfg_item_port,
     .def = "[\"tcp/22\"]", .doc = "listening ports the host's role needs: tcp/N, udp/N or N"},
    {"ignore_loopback", KS_CFG_BOOL, POS(ignore_loopback), .def = "true",
     .doc = "listeners on loopback addresses are not exposure"},
    {"disable", KS_CFG_LIST, LIST_OF(struct ks_posture_cfg, disabled, n_disabled), .item = ks_cfg_item_str,
     .doc = "check ids turned off"},
    {"catalogs", KS_CFG_LIST, LIST_OF(struct ks_posture_cfg, catalogs, n_catalogs), .item = ks_cfg_item_path,
     .doc = "extra catalog files"},
    {"weights", KS_CFG_SEV_MAP, POS(weight), .max = 10000, .def = "{info: 0, low: 1, medium: 3, high: 7, critical: 10}",
     .doc = "score weight per severity"},
    {"grace_days", KS_CFG_SEV_MAP, POS(grace_days), .max = 10000,
     .def = "{info: 90, low: 90, medium: 30, high: 7, critical: 1}", .doc = "grace period per severity"},
    {"max_age_factor", KS_CFG_UINT, POS(max_age_factor), .min = 1, .max = 100, .def = "4",
     .doc = "the age factor stops growing here"},
    {"sshd_t", KS_CFG_BOOL, POS(use_sshd_t), .def = "true", .doc = "ask `sshd -T` for sshd's effective configuration"},
};

static const struct ks_cfg_key rules_keys[] = {
    {"enabled", KS_CFG_BOOL, RUL(enabled), .def = "true", .doc = "judge every event against the detection rules"},
    {"builtin", KS_CFG_BOOL, RUL(builtin), .def = "true", .doc = "read the built-in rules first"},
    {"paths", KS_CFG_LIST, LIST_OF(struct ks_rules_cfg, paths, n_paths), .item = ks_cfg_item_path,
     .def = "[/etc/kansoku/rules.d/*.yaml]", .doc = "rule files (globs), read after the built-in set, in order"},
    {"policy_paths", KS_CFG_LIST, LIST_OF(struct ks_rules_cfg, policy_paths, n_policy_paths), .item = ks_cfg_item_path,
     .def = "[/etc/kansoku/policy.d/*.yaml]",
     .doc = "access policy files (globs, docs/policy.md), read after the rule files"},
    {"disable", KS_CFG_LIST, LIST_OF(struct ks_rules_cfg, disable, n_disable), .item = ks_cfg_item_str,
     .doc = "rule ids turned off"},
    {"state_max", KS_CFG_UINT, RUL(state_max), .min = 1024, .max = 4u << 20, .def = "65536",
     .doc = "entries for sequence and threshold state (fixed at load)"},
    {"dedupe_window", KS_CFG_UINT, RUL(dedupe_window_s), .min = 1, .max = 86400, .def = "60",
     .doc = "seconds: the same rule on the same process is one finding that grows"},
    {"rate", KS_CFG_UINT, RUL(rate_per_s), .min = 1, .max = 100000, .def = "10",
     .doc = "new findings per rule per second; the excess is counted"},
    {"rate_burst", KS_CFG_UINT, RUL(rate_burst), .min = 1, .max = 100000, .def = "100",
     .doc = "new findings a rule may raise at once before the rate applies"},
    {"quiet_period", KS_CFG_UINT, RUL(quiet_period_s), .min = 1, .max = 30 * 86400, .def = "3600",
     .doc = "seconds: an open detection closes (Close finding) when its rule has not matched again"},
};

static const struct ks_cfg_section process_section = {"process", "process", KEYS(process_keys)};
static const struct ks_cfg_section ringbuf_section = {"ringbuf", "ringbuf", KEYS(ringbuf_keys)};
static const struct ks_cfg_section files_section = {"files", "files", KEYS(files_keys)};
static const struct ks_cfg_section network_section = {"network", "network", KEYS(network_keys)};
static const struct ks_cfg_section posture_section = {"posture", "posture", KEYS(posture_keys)};
static const struct ks_cfg_section rules_section = {"rules", "rules", KEYS(rules_keys)};
const struct ks_cfg_section ks_cfg_output = {"outputs[]", "outputs[]", KEYS(output_keys)};

static const struct ks_cfg_key root_keys[] = {
    {"state_dir", KS_CFG_PATH, CFG(state_dir), .has_line = true, .line_off = offsetof(struct ks_config, state_dir_line),
     .ensure = ks_cfg_ensure_dir, .def = "/var/lib/kansoku", .doc = "daemon state (created 0700)"},
    {"socket", KS_CFG_PATH, CFG(socket), .check = ks_cfg_check_socket, .has_line = true,
     .line_off = offsetof(struct ks_config, socket_line), .ensure = ks_cfg_ensure_parent,
     .def = "/run/kansoku/kansoku.sock", .doc = "control socket (created 0600)"},
    {"log_level", KS_CFG_ENUM, CFG(log_level), .names = ks_log_level_names, .def = "info",
     .doc = "diagnostics on stderr (never event data)"},
    {"heartbeat_interval", KS_CFG_UINT, CFG(heartbeat_s), .min = 1, .max = 86400, .def = "60",
     .doc = "seconds between heartbeat events"},
    {"recent_events", KS_CFG_UINT, CFG(recent_events), .max = 1000000, .def = "1000",
     .doc = "events kept in memory for `kansoku events`, in 3 KiB per event"},
    {"priority_boost", KS_CFG_UINT, CFG(priority_boost), .max = 20, .def = "5",
     .doc = "the event loop runs at nice -N, so a loaded host cannot starve the ring buffers (0: as started)"},
    {"process", KS_CFG_SECTION, .off = 0, SECTION(process_section)},
    {"ringbuf", KS_CFG_SECTION, .off = 0, SECTION(ringbuf_section)},
    {"outputs", KS_CFG_CUSTOM, .max = KS_MAX_OUTPUTS, SECTION(ks_cfg_output), .parse = ks_cfg_parse_outputs,
     .def_fn = ks_cfg_default_outputs, .doc = "list of outputs (default: one file output)"},
    {"files", KS_CFG_SECTION, .off = 0, SECTION(files_section)},
    {"network", KS_CFG_SECTION, .off = 0, SECTION(network_section)},
    {"posture", KS_CFG_SECTION, CFG(posture), SECTION(posture_section)},
    {"rules", KS_CFG_SECTION, CFG(rules), SECTION(rules_section)},
};

const struct ks_cfg_section ks_cfg_root = {"", "top level", KEYS(root_keys)};

void ks_config_defaults(struct ks_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	ks_cfg_section_defaults(&ks_cfg_root, cfg);
}

void ks_output_cfg_defaults(struct ks_output_cfg *o)
{
	memset(o, 0, sizeof(*o));
	ks_cfg_section_defaults(&ks_cfg_output, o);
}

void ks_posture_cfg_defaults(struct ks_posture_cfg *c)
{
	memset(c, 0, sizeof(*c));
	ks_cfg_section_defaults(&posture_section, c);
}
