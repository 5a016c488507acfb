/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The daemon's state, shared by its main loop (kansokud.c) and the control commands (commands.c). */
#ifndef KANSOKU_DAEMON_H
#define KANSOKU_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "sensors/loader.h"
#include "lib/loop.h"
#include "pipeline/pipeline.h"
#include "posture/posture.h"

struct json_object;
struct ks_ctl_client;
struct ks_outputs;
struct ks_recent;
struct ks_control;
struct ks_judge;
struct ks_rings;
struct ks_net_reconciler;

struct ks_daemon {
	struct ks_config cfg;
	struct ks_pipeline pl;
	struct ks_loader loader;
	struct ks_posture *posture; /* NULL when posture.enabled is false */
	/* the pipeline's sinks, registered in this order */
	struct ks_outputs *outs;  /* files and network outputs */
	struct ks_recent *recent; /* the last events, for `kansoku events` */
	struct ks_recent *alerts; /* the last Detection Findings, for `kansoku alerts` */
	struct ks_control *ctl;   /* the control socket and its live followers */
	struct ks_judge *judge;   /* the detection rules, an evaluator of the pipeline (NULL: rules off) */
	struct ks_rings *rings;   /* the kernel's ring buffers, drained in dependency order */
	int epfd;
	struct ks_loop_fd w_signal, w_timer, w_ring;
	uint64_t started_boot_ns;
	int64_t started_wall_ms;
	unsigned ticks;
	uint64_t drops_checked_ns;                  /* last look at the kernel's drop counters */
	struct ks_net_reconciler *reconciler;       /* the model against the kernel's sockets (NULL: network off) */
	uint64_t drops_reported[KS_EV_KIND_MAX];    /* drops already announced, per kind */
	uint64_t out_lost_reported[KS_MAX_OUTPUTS]; /* output losses already announced */
	uint64_t seq_reserved;                      /* metadata.sequence is durable up to here */
	uint64_t snapshot_waiters[8];               /* `snapshot --fresh` clients held for the next one */
	int n_snapshot_waiters;
	int loop_nice; /* the event loop thread's nice value (priority_boost) */
	bool stop;
};

/* The status document (`kansoku status`, heartbeat events). Caller puts it. */
struct json_object *ks_status_json(struct ks_daemon *d);
/* Re-reads the config file's rules section and the rule files; swaps the new set in only if all of it
 * loads. Returns 0, or -1 with err (FILE:LINE:COLUMN: what is wrong) and the running rules unchanged. */
int ks_daemon_reload_rules(struct ks_daemon *d, char *err, size_t errlen);
/* Control socket request handler (ctx is the daemon). */
void ks_commands_handle(void *ctx, struct ks_ctl_client *c, struct json_object *req);
/* After each posture snapshot: answers the clients that asked for a fresh one (ctx is the daemon). */
void ks_commands_snapshot_done(void *ctx);

#endif
