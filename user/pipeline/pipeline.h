/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The state one event loop owns, passed down the pipeline: decode -> enrich (process table) -> encode
 * (OCSF) -> emit to the sinks the daemon registered at start (outputs, recent-events ring, live followers,
 * later the rule engine). The pipeline knows no sink by name. No locks: only the loop thread touches it.
 */
#ifndef KANSOKU_PIPELINE_H
#define KANSOKU_PIPELINE_H

#include <stdint.h>

#include "host/host.h"
#include "kansoku/events.h"
#include "lib/json.h"

struct ks_users;
struct ks_proctable;
struct ks_files;
struct ks_netmodel;

/* A consumer of encoded events: line is one JSON object without its newline, valid only for the call. */
typedef void (*ks_sink_fn)(void *ctx, int class_uid, const char *line, size_t len);
struct ks_sink {
	const char *name;
	ks_sink_fn fn;
	void *ctx;
};
#define KS_PIPELINE_SINKS_MAX 8

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
	uint64_t net_listen_changes; /* listeners started or ended: posture's trigger */
	uint64_t net_self;           /* records of kansokud's own output connections, not reported */
	uint64_t sec_events;         /* ptrace, kernel module and set-id events */
};

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
	struct ks_counters counters;
	struct ks_sink sinks[KS_PIPELINE_SINKS_MAX]; /* in the order they were added */
	int n_sinks;
};

/* "exec", "fork", ... for a wire kind (status, heartbeats, drop reports). */
const char *ks_event_kind_name(unsigned kind);

/* Adds a sink; every event emitted afterwards reaches it, after the sinks added before it. Returns 0, or
 * -1 when KS_PIPELINE_SINKS_MAX are registered already. */
int ks_pipeline_add_sink(struct ks_pipeline *pl, const char *name, ks_sink_fn fn, void *ctx);

/* Hand the event in pl->jw (one JSON object, no newline) to every sink. */
void ks_pipeline_emit(struct ks_pipeline *pl, int class_uid);

#endif
