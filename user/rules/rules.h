/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The detection rule engine (docs/rules.md). Self-contained: the daemon fills a view of each decoded
 * record (struct ks_rview: values by field id, no JSON) and calls ks_rules_eval; the offline tester fills
 * the same view from OCSF JSON. A load builds a whole new engine or nothing.
 */
#ifndef KANSOKU_RULES_H
#define KANSOKU_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Field ids: the table in fields.c gives each its name and type. */
enum ks_rfield {
	KS_RF_CLASS_UID,
	KS_RF_ACTIVITY_ID,
	KS_RF_ACTIVITY_NAME,
	KS_RF_SEVERITY_ID,
	KS_RF_STATUS_ID,
	KS_RF_STATUS_DETAIL,
	KS_RF_COUNT,
	KS_RF_EXIT_CODE,
	KS_RF_PROC_PID,
	KS_RF_PROC_UID,
	KS_RF_PROC_NAME,
	KS_RF_PROC_CMDLINE,
	KS_RF_PROC_ARGS,
	KS_RF_PROC_EXE,
	KS_RF_PROC_EXE_NAME,
	KS_RF_PROC_SCRIPT,
	KS_RF_PROC_EXE_DELETED,
	KS_RF_PROC_EXE_MEMFD,
	KS_RF_PROC_USER_UID,
	KS_RF_PROC_USER_NAME,
	KS_RF_PROC_EUID,
	KS_RF_PROC_GID,
	KS_RF_PROC_LOGINUID,
	KS_RF_PROC_TTY,
	KS_RF_PROC_HAS_TTY,
	KS_RF_PROC_CGROUP,
	KS_RF_PROC_UNIT,
	KS_RF_PARENT_PID,
	KS_RF_PARENT_NAME,
	KS_RF_PARENT_EXE,
	KS_RF_PARENT_CMDLINE,
	KS_RF_PARENT_USER_UID,
	KS_RF_PROC_LINEAGE,
	KS_RF_ACTOR_USER_UID,
	KS_RF_ACTOR_USER_NAME,
	KS_RF_FILE_PATH,
	KS_RF_FILE_NAME,
	KS_RF_FILE_TYPE_ID,
	KS_RF_FILE_RESULT_PATH,
	KS_RF_SRC_IP,
	KS_RF_SRC_PORT,
	KS_RF_DST_IP,
	KS_RF_DST_PORT,
	KS_RF_DIRECTION,
	KS_RF_DIRECTION_ID,
	KS_RF_PROTOCOL_NAME,
	KS_RF_QUERY_HOSTNAME,
	KS_RF_QUERY_TYPE,
	KS_RF_PROC_STDIO_SOCKET, /* the security sensors (bpf/security.bpf.c, exec flags) */
	KS_RF_FILE_SETUID,
	KS_RF_FILE_SETGID,
	KS_RF_SEVERITY, /* the OCSF caption of severity_id, every class */
	/* posture's Compliance Findings (2003): a control's state changed */
	KS_RF_FINDING_UID,
	KS_RF_FINDING_TITLE,
	KS_RF_FINDING_DESC,
	KS_RF_COMPLIANCE_CONTROL,
	KS_RF_COMPLIANCE_STATUS,
	KS_RF_COMPLIANCE_STATUS_ID,
	KS_RF_POSTURE_AREA,
	KS_RF_POSTURE_SEVERITY,
	KS_RF_POSTURE_ITEM,
	KS_RF_POSTURE_EXPECTED,
	KS_RF_POSTURE_ACTUAL,
	KS_RF_POSTURE_AT_START,
	KS_RF_MAX,
};

/* OCSF classes and activities kansoku's events use (user/ocsf.c). */
enum ks_rclass_uid {
	KS_RCLASS_FILE = 1001,
	KS_RCLASS_PROCESS = 1007,
	KS_RCLASS_NETWORK = 4001,
	KS_RCLASS_DNS = 4003,
	KS_RCLASS_COMPLIANCE = 2003,
};
enum ks_rprocess_activity { KS_RACT_LAUNCH = 1, KS_RACT_TERMINATE = 2 };
enum ks_rnet_activity { KS_RACT_NET_OPEN = 1, KS_RACT_NET_CLOSE = 2, KS_RACT_NET_RESET = 3 };

enum ks_rtype { KS_RT_STR = 1, KS_RT_INT, KS_RT_IP, KS_RT_BOOL, KS_RT_LIST };

struct ks_rip {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
};

/* One value of the view. Strings are NUL-terminated and len excludes the NUL. */
struct ks_rval {
	bool set;
	uint32_t len; /* string bytes, or list elements */
	union {
		const char *s;
		int64_t i;
		bool b;
		struct ks_rip ip;
		const char *const *list;
	};
};

/* A process that may have started a sequence: the subject and its ancestors (nearest first). */
struct ks_rproc_id {
	uint32_t pid;
	uint64_t start_ns;
};

/* What the engine sees of one event. Reset with ks_rview_reset, then set what the record has. */
struct ks_rview {
	struct ks_rval f[KS_RF_MAX];
	struct ks_rproc_id proc;             /* the subject process (0/0 when unknown) */
	const struct ks_rproc_id *ancestors; /* for sequences by descendants; may be NULL */
	uint32_t n_ancestors;
	uint64_t time_ns;   /* event time, recorded in sequence steps */
	uint64_t event_seq; /* the metadata.sequence the event carries: a finding can point at each step's event */
};

void ks_rview_reset(struct ks_rview *v);
void ks_rview_str(struct ks_rview *v, enum ks_rfield f, const char *s);
/* s of len bytes, NUL-terminated (the engine's regexes and templates read it as a C string) */
void ks_rview_strn(struct ks_rview *v, enum ks_rfield f, const char *s, size_t len);
void ks_rview_int(struct ks_rview *v, enum ks_rfield f, int64_t i);
void ks_rview_bool(struct ks_rview *v, enum ks_rfield f, bool b);
void ks_rview_list(struct ks_rview *v, enum ks_rfield f, const char *const *list, uint32_t n);
/* family 4: addr holds 4 bytes (network order); 6: 16 bytes. */
void ks_rview_ip(struct ks_rview *v, enum ks_rfield f, int family, const void *addr);
/* Parses "1.2.3.4" or "fe80::1"; returns false when it is not an address. */
bool ks_rview_ip_str(struct ks_rview *v, enum ks_rfield f, const char *s);
/* The systemd unit named by a cgroup v2 path ("/system.slice/nginx.service" -> "nginx.service"), into
 * out; returns false when the path names none. */
bool ks_rules_unit_from_cgroup(const char *cgroup, char *out, size_t outlen);

/* Field table access (for `kansoku rules fields`, templates, the offline reader). */
const char *ks_rfield_name(enum ks_rfield f);
enum ks_rtype ks_rfield_type(enum ks_rfield f);
const char *ks_rtype_name(enum ks_rtype t);
int ks_rfield_lookup(const char *name, size_t len); /* -1 when unknown */
/* OCSF's caption of a severity_id ("Medium"); "Unknown" for 0 and ids OCSF does not define, "Other" for 99. */
const char *ks_rseverity_caption(int64_t severity_id);

enum ks_rarea { KS_RAREA_DEVICE, KS_RAREA_USER, KS_RAREA_SYSTEM, KS_RAREA_DATA };

/* A loaded rule as the daemon and the CLI see it, with its counters. */
struct ks_rule_info {
	const char *id, *title, *description, *remediation, *file;
	const char *condition; /* as written (NULL for a sequence); exceptions are not in it */
	int line;
	int severity_id; /* OCSF 1..6 */
	const char *severity;
	enum ks_rarea area;
	const char *const *tags;
	uint32_t n_tags;
	bool enabled;
	bool any_class;       /* evaluated on every event: its condition does not pin class_uid */
	bool policy;          /* an access policy (docs/policy.md): a match is an access outside it */
	const char *resource; /* policies: what it governs, e.g. "files /etc/shadow (read)" */
	uint64_t evaluations, matches, deduped, rate_dropped, regex_errors, state_full;
	uint64_t cost_samples, cost_sum_ns, cost_p99_ns;
	uint64_t cost_outliers; /* timed samples over 1 ms (the thread was preempted): kept out of the mean */
};

#define KS_RULES_SEQ_MAX 4
#define KS_RULES_STEP_TEXT 256

/* One step of a sequence as it happened. */
struct ks_rules_step {
	uint64_t time_ns;
	int class_uid, activity_id;
	uint32_t pid;
	uint64_t event_seq;            /* the step's event (metadata.sequence), from the view */
	char text[KS_RULES_STEP_TEXT]; /* the step's summary, rendered when it matched */
};

struct ks_rules_match {
	const struct ks_rule_info *rule;
	const char *output; /* rendered template, valid during the callback */
	size_t output_len;
	uint64_t count; /* findings merged by dedupe: 1 for a new finding */
	bool update;    /* an earlier finding of this rule and process grew (count > 1) */
	const struct ks_rules_step *steps;
	uint32_t n_steps;
	uint64_t threshold_count; /* threshold rules: events counted */
	struct ks_rproc_id proc;
};

typedef void (*ks_rules_match_fn)(void *ctx, const struct ks_rules_match *m);

struct ks_rules_opts {
	uint32_t state_max;   /* sequence/threshold entries (0: 65536) */
	uint64_t dedupe_ns;   /* same rule + process within this = one finding (0: 60 s; UINT64_MAX: off) */
	uint32_t rate_per_s;  /* new findings per rule per second (0: 10) */
	uint32_t rate_burst;  /* (0: 100) */
	uint32_t cost_sample; /* time 1 evaluation in N, a power of two (0: 64; 1: every one) */
	uint32_t dedupe_max;  /* findings remembered for dedupe (0: 4096) */
};

struct ks_rules_err {
	char file[256];
	int line, col; /* 1-based; 0 when unknown */
	char msg[512];
};

/* Prints "FILE:LINE:COL: msg" into buf. */
const char *ks_rules_err_str(const struct ks_rules_err *e, char *buf, size_t len);

struct ks_rules_builder;
struct ks_rules;

struct ks_rules_builder *ks_rules_builder_new(void);
void ks_rules_builder_free(struct ks_rules_builder *b);
/* Read one file (or text, for tests and the fuzzer). Returns 0, or -1 with err filled: then free the builder
 * (what it read of that file may be partial). */
int ks_rules_add_file(struct ks_rules_builder *b, const char *path, struct ks_rules_err *err);
int ks_rules_add_text(struct ks_rules_builder *b, const char *name, const char *text, size_t len,
                      struct ks_rules_err *err);
int ks_rules_disable(struct ks_rules_builder *b, const char *id);
/* Compile everything read into a new engine (NULL with err filled: nothing half-loads). The builder can
 * be freed afterwards. */
struct ks_rules *ks_rules_build(struct ks_rules_builder *b, const struct ks_rules_opts *opts, struct ks_rules_err *err);
void ks_rules_free(struct ks_rules *r);

void ks_rules_set_sink(struct ks_rules *r, ks_rules_match_fn fn, void *ctx);
/* Judge one event. Returns the number of matches passed to the sink. No allocation. */
size_t ks_rules_eval(struct ks_rules *r, const struct ks_rview *v, uint64_t now_ns);
/* Could any loaded rule match an event of this class and activity? (No: the caller need not fill a view;
 * the exec storm's Terminate events meet no default rule.) */
bool ks_rules_may_match(const struct ks_rules *r, int64_t class_uid, int64_t activity_id);
/* The process ended: free its sequence/threshold state (call on Terminate). */
void ks_rules_proc_exit(struct ks_rules *r, uint32_t pid, uint64_t start_ns);

/* Does any loaded rule read field f? (The daemon may skip costly fields no rule reads.) */
bool ks_rules_needs(const struct ks_rules *r, enum ks_rfield f);
size_t ks_rules_count(const struct ks_rules *r);
/* The rule's info with its counters brought up to date (p99 from the cost histogram). */
const struct ks_rule_info *ks_rules_info(struct ks_rules *r, size_t i);
/* Bytes of sequence/threshold/dedupe state (fixed at load) and entries in use. */
size_t ks_rules_state_bytes(const struct ks_rules *r);
size_t ks_rules_state_used(const struct ks_rules *r);

#endif
