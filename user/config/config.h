/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The daemon's configuration (YAML). Every key is one row of a table: an unknown key, a wrong type or an
 * out-of-range value is an error that names the key and its line, and the daemon does not start.
 *
 * user/config/: keys.c the table (one row per key: path, type, bounds, default, offset, doc); walk.c the
 * YAML walker (parse, unknown keys, defaults, --print-config-keys); validators.c what a type cannot say
 * (outputs' cross-field rules, ports, headers); watch_rules.c files.watch/ignore; paths.c --check-config's
 * path checks; severity.h and posture_cfg.h what posture/ reads. Config includes only lib/ and
 * include/kansoku/; everything above it (sensors, posture, outputs, daemon) includes config.
 */
#ifndef KANSOKU_CONFIG_H
#define KANSOKU_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config/posture_cfg.h"
#include "config/rules_cfg.h"
#include "kansoku/events.h"

#define KS_DEFAULT_CONFIG "/etc/kansoku/kansoku.yaml"
#define KS_MAX_OUTPUTS 16
#define KS_CFG_PATH_MAX 1024
/* process.argv_max's one bound, as documented (0-4095): below KS_ARGV_MAX, the kernel side's buffer. */
#define KS_CFG_ARGV_MAX (KS_ARGV_MAX - 1)

enum ks_hooks_mode { KS_HOOKS_AUTO, KS_HOOKS_TP_BTF, KS_HOOKS_RAW_TP };
enum ks_output_type { KS_OUT_FILE, KS_OUT_SYSLOG, KS_OUT_HTTP };
enum ks_output_format { KS_FMT_OCSF, KS_FMT_ECS };
enum ks_transport { KS_TR_UDP, KS_TR_TCP, KS_TR_TLS, KS_TR_RELP };
enum ks_http_body { KS_BODY_NDJSON, KS_BODY_ELASTIC, KS_BODY_SPLUNK, KS_BODY_LOKI };
#define KS_MAX_HEADERS 8

struct ks_output_cfg {
	enum ks_output_type type;
	enum ks_output_format format;
	char name[64]; /* names the output in status and its queue directory (default TYPE-N) */
	char path[KS_CFG_PATH_MAX];
	unsigned max_size_kb; /* file: rotate when the file reaches this size (0: never) */
	unsigned keep;        /* file: rotated files kept (PATH.1.gz newest) */
	bool compress;        /* file: gzip rotated files */
	int line;             /* where the output is declared, for later errors */
	/* network outputs (syslog, http) */
	unsigned queue_max_kb; /* the durable queue under state_dir/queue/NAME is bounded to this */
	char ca_file[KS_CFG_PATH_MAX], cert_file[KS_CFG_PATH_MAX], key_file[KS_CFG_PATH_MAX];
	char server_name[256]; /* the name the server's certificate must carry (default: host) */
	/* syslog */
	char host[256];
	unsigned port;
	enum ks_transport transport;
	bool relp_tls; /* RELP over TLS */
	unsigned facility;
	char app_name[49];
	/* http */
	char url[1024];
	enum ks_http_body body;
	unsigned batch_events, batch_kb, batch_interval_ms, timeout_ms;
	char headers[KS_MAX_HEADERS][512];
	int n_headers;
	char bearer_token[512], basic_user[128], basic_password[256], splunk_token[128];
	char index[128]; /* elastic-bulk index, splunk-hec index (empty: the token's default) */
	bool gzip;
};

#define KS_CFG_RULES_MAX 64 /* before wildcard expansion */
#define KS_CFG_RULE_PATH 128

struct ks_watch_cfg {
	char path[KS_CFG_RULE_PATH]; /* absolute, may hold '*' as a whole component */
	unsigned ops;                /* KS_OPS_* (0 for ignore rules) */
	bool ignore;
	bool exe; /* an ignore rule naming an executable: its file accesses are never reported */
	int line;
};

struct ks_config {
	char source[KS_CFG_PATH_MAX];
	char state_dir[KS_CFG_PATH_MAX];
	int state_dir_line;
	char socket[KS_CFG_PATH_MAX];
	int socket_line;
	int log_level;            /* enum ks_log_level */
	unsigned heartbeat_s;     /* heartbeat event period */
	unsigned recent_events;   /* kept in memory for `kansoku events` */
	unsigned priority_boost;  /* the event loop's thread runs at nice -priority_boost (0: unchanged) */
	unsigned argv_max;        /* bytes of argv per exec */
	enum ks_hooks_mode hooks; /* which hook flavour to use */
	unsigned ringbuf_process_kb;
	unsigned wakeup_bytes; /* batch reader wake-ups; 0 = wake per event */
	unsigned poll_ms;      /* reader poll period when wake-ups are batched */
	struct ks_output_cfg outputs[KS_MAX_OUTPUTS];
	int n_outputs;
	bool files_enabled;       /* file access observation */
	unsigned files_window_ms; /* aggregation window for repeats; 0 = off */
	unsigned ringbuf_file_kb;
	struct ks_watch_cfg watch[KS_CFG_RULES_MAX]; /* files.watch then files.ignore */
	int n_watch;
	bool net_enabled;           /* network observation */
	bool net_connect_events;    /* also an event for each connect() attempt (default: in Open/Fail) */
	unsigned net_udp_window_ms; /* UDP repeats of a (process, destination) are counted this long */
	unsigned ringbuf_net_kb;
	unsigned net_accept_wait_ms; /* an inbound Open waits this long for accept() to name the acceptor */
	unsigned net_short_lived_ms; /* a TCP connection closed within this of its Open: one event (0: off) */
	struct ks_posture_cfg posture;
	struct ks_rules_cfg rules;
};

void ks_config_defaults(struct ks_config *cfg);
void ks_output_cfg_defaults(struct ks_output_cfg *o);
/* The default files.watch set (see config/watch_rules.c for the reasons). */
void ks_config_default_watch(struct ks_config *cfg);
/* Parse YAML text; name is used in messages. Returns 0, or -1 with err filled. */
int ks_config_parse(struct ks_config *cfg, const char *name, const char *text, size_t len, char *err, size_t errlen);
int ks_config_load(struct ks_config *cfg, const char *path, char *err, size_t errlen);
/* Creates state_dir and the socket's directory, and checks that every output path can be opened for
 * appending. Returns 0, or -1 with err naming the key and line. */
int ks_config_check_paths(const struct ks_config *cfg, char *err, size_t errlen);
/* Every key a config file can hold, with its type, bounds, default and meaning (kansokud --print-config-keys). */
void ks_config_print_keys(FILE *f);

#endif
