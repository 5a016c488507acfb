/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The state one event loop owns, passed down the pipeline: decode -> enrich (process table) -> encode
 * (OCSF) -> emit to the sinks the daemon registered at start (outputs, recent-events ring, live followers,
 * later the rule engine). The pipeline knows no sink by name. No locks: only the loop thread touches it.
 */
#ifndef KANSOKU_PIPELINE_H
#define KANSOKU_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/host.h"
#include "kansoku/events.h"
#include "lib/json.h"

struct ks_users;
struct ks_proc;
struct ks_proctable;
struct ks_files;
struct ks_netmodel;
struct ks_pipeline;

/* A consumer of encoded events: line is one JSON object without its newline, valid only for the call. */
typedef void (*ks_sink_fn)(void *ctx, int class_uid, const char *line, size_t len);
struct ks_sink {
	const char *name;
	ks_sink_fn fn;
	void *ctx;
};
#define KS_PIPELINE_SINKS_MAX 8

/* A posture Compliance Finding (2003) as posture/emit.c encodes it: the rule engine judges posture changes
 * from these, never from the JSON. Strings are valid until ks_pipeline_emit returns. */
struct ks_decoded_finding {
	const char *uid, *title, *desc;          /* finding_info */
	const char *control, *compliance_status; /* compliance: the check id, "Fail" or "Pass" */
	int compliance_status_id;
	const char *area, *severity, *item, *expected, *actual; /* unmapped */
	bool found_at_start; /* by the check's first conclusive run since the daemon started (or kept from before) */
};

/*
 * What a sensor (or posture) decoded, for the evaluators that judge each event (the rule engine): filled
 * from the wire record and the model right before the sensor encodes, so an evaluator never parses JSON.
 * Pointers are valid until ks_pipeline_emit returns. class_uid 0: nothing to judge (kansokud's own events).
 */
struct ks_decoded {
	int class_uid, activity_id;
	const char *activity_name;
	int severity_id;
	int status_id;             /* 1 success, 2 failure; 0 when the class has none */
	const char *status_detail; /* the errno name of a failure */
	uint64_t ts_ns;            /* boot ns */
	/* the subject: the process (1007) or the actor's process; proc NULL when the model does not know it */
	const struct ks_proc *proc;
	uint32_t pid, uid, loginuid;
	uint64_t start_ns;
	int64_t exit_code; /* Terminate */
	bool has_exit_code;
	uint64_t count; /* file: repeats in the aggregation window */
	const char *file_path, *file_result_path;
	int file_type_id;
	/* network: as on the wire (family 4 or 6); src is the initiator */
	uint8_t family, proto, direction_id;
	const uint8_t *src_addr, *dst_addr;
	uint16_t src_port, dst_port;
	const char *query_hostname, *query_type;
	bool has_setid, setuid, setgid;           /* a chmod that sets a set-id bit (sensors/security.c) */
	const struct ks_decoded_finding *finding; /* class 2003: a posture finding (posture/emit.c) */
};

/* An evaluator judges the decoded event after the sinks have it; line is that event's JSON, valid until the
 * evaluator emits anything itself (its findings go through ks_pipeline_emit and are not judged again). line is
 * NULL for an event judged before it is written (ks_pipeline_judge): ks_pipeline_judged_line gives it then. */
typedef void (*ks_evaluator_fn)(void *ctx, struct ks_pipeline *pl, const struct ks_decoded *ev, const char *line,
                                size_t len);

/* Encodes the event being judged into pl->jw and hands it to the sinks with ks_pipeline_write (it was judged
 * already): what ks_pipeline_judge runs when an evaluator needs the JSON of an event not yet written. */
typedef void (*ks_write_fn)(struct ks_pipeline *pl, void *ctx);
struct ks_evaluator_reg {
	const char *name;
	ks_evaluator_fn fn;
	void *ctx;
};
#define KS_PIPELINE_EVALUATORS_MAX 4

struct ks_counters {
	uint64_t received[KS_EV_KIND_MAX]; /* records read from the kernel, per kind */
	uint64_t malformed;                /* records that failed validation (never expected) */
	uint64_t emitted;                  /* events encoded and handed to the outputs */
	uint64_t emitted_launch, emitted_terminate;
	uint64_t exit_unknown;   /* exits of processes the table did not know */
	uint64_t exit_duplicate; /* a second exit record of one process (threads ending at once), dropped */
	uint64_t seeded;         /* processes loaded at start */
	uint64_t file_events, file_filtered_user, file_aggregated, file_agg_unknown;
	uint64_t net_events, net_dns, net_model_full, net_unowned;
	uint64_t net_listen_changes;   /* listeners started or ended: posture's trigger */
	uint64_t net_self;             /* records of kansokud's own output connections, not reported */
	uint64_t net_reconciled;       /* TCP entries ended because the kernel no longer had them (Close lost) */
	uint64_t net_folded;           /* short-lived connections whose Open went into their Close */
	uint64_t net_open_for_finding; /* held Opens written at once because a finding needed them as evidence */
	uint64_t sec_events;           /* ptrace, kernel module and set-id events */
};

/* A process encoded as an actor ("process":{...}), valid while the table's generation is gen. */
#define KS_ACTOR_SLOTS 1024 /* direct-mapped by pid: memory stays bounded whatever the number of processes */
struct ks_actor_slot {
	uint32_t pid;
	uint64_t start_ns, gen;
	char *json; /* the buffer is kept when the slot is reused: steady state allocates nothing */
	size_t len, cap;
};

/* An OCSF observable the encoder noted while writing an event: written at its end (ks_ocsf_end). */
struct ks_obs {
	const char *name;  /* the attribute's path in the event, e.g. "actor.user.name" */
	int type_id;       /* enum ks_ocsf_obs_type */
	uint16_t off, len; /* the value in obs_text */
};
#define KS_PIPELINE_OBS_MAX 12
#define KS_PIPELINE_OBS_TEXT 8192

struct ks_pipeline {
	struct ks_host host;
	struct ks_users *users;
	struct ks_proctable *procs;
	struct ks_files *files;
	struct ks_netmodel *net;
	struct ks_jw jw;   /* the one reusable encode buffer */
	char *device_json; /* the constant "device":{...} member, encoded once */
	size_t device_len;
	uint64_t seq;      /* metadata.sequence of the last event */
	uint64_t instance; /* random per daemon start: event uids never repeat across restarts */
	int64_t tz_minute; /* the wall minute tz_offset was computed for */
	int tz_offset;     /* minutes east of UTC (timezone_offset) */
	struct ks_obs obs[KS_PIPELINE_OBS_MAX];
	int n_obs;
	size_t obs_used;
	char obs_text[KS_PIPELINE_OBS_TEXT];
	struct ks_actor_slot *actors; /* KS_ACTOR_SLOTS, made at first use */
	struct ks_counters counters;
	struct ks_sink sinks[KS_PIPELINE_SINKS_MAX]; /* in the order they were added */
	int n_sinks;
	struct ks_evaluator_reg evaluators[KS_PIPELINE_EVALUATORS_MAX];
	int n_evaluators;
	bool judging;          /* an evaluator is running: what it emits is not judged again */
	struct ks_decoded dec; /* the event being encoded, as decoded */
	/* the event being judged: its JSON once written, or how to write it (ks_pipeline_judge) */
	const char *judged_line;
	size_t judged_len;
	ks_write_fn judged_write;
	void *judged_write_ctx;
	bool judged_written; /* judged_write ran: the held event is in the stream */
};

/* "exec", "fork", ... for a wire kind (status, heartbeats, drop reports). */
const char *ks_event_kind_name(unsigned kind);

/* Adds a sink; every event emitted afterwards reaches it, after the sinks added before it. Returns 0, or
 * -1 when KS_PIPELINE_SINKS_MAX are registered already. */
int ks_pipeline_add_sink(struct ks_pipeline *pl, const char *name, ks_sink_fn fn, void *ctx);

/* Adds an evaluator (same contract as sinks). Returns 0, or -1 when the list is full. */
int ks_pipeline_add_evaluator(struct ks_pipeline *pl, const char *name, ks_evaluator_fn fn, void *ctx);

/* Starts the decoded view of the event a sensor is about to encode: zeroed, with class and activity. */
struct ks_decoded *ks_pipeline_decoded(struct ks_pipeline *pl, int class_uid, int activity_id,
                                       const char *activity_name, uint64_t ts_ns);

/* Frees the actor cache. */
void ks_pipeline_free_actors(struct ks_pipeline *pl);

/* Hand the event in pl->jw (one JSON object, no newline) to every sink, then the decoded view (if a sensor
 * filled one) to every evaluator. */
void ks_pipeline_emit(struct ks_pipeline *pl, int class_uid);

/* Hand the event in pl->jw to every sink only: it was judged before it was written (ks_pipeline_judge). */
void ks_pipeline_write(struct ks_pipeline *pl, int class_uid);

/*
 * Judges the decoded view (pl->dec, from ks_pipeline_decoded) now, without writing the event: a sensor that
 * holds an event back (a connection's Open, to fold it into its Close) has it judged in time all the same,
 * and writes it later with ks_pipeline_write, never judged twice. Nothing is encoded unless an evaluator
 * asks for the JSON (ks_pipeline_judged_line: a finding's evidence); write then encodes the event and writes
 * it at once, so the evidence names an event the sinks have, in sequence. Returns true when write ran.
 */
bool ks_pipeline_judge(struct ks_pipeline *pl, ks_write_fn write, void *ctx);

/* For an evaluator: the JSON of the event being judged (written by the judged event's write function if it
 * was not yet), valid until anything else is encoded; NULL (len 0) when it could not be encoded. */
const char *ks_pipeline_judged_line(struct ks_pipeline *pl, size_t *len);

#endif
