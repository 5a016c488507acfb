/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A network output: the loop appends each event to a durable queue (queue.c) and returns; the output's
 * own thread reads batches, formats them (OCSF as is, or ECS), sends them over its transport (syslog
 * UDP/TCP/TLS, RELP, HTTP) and acknowledges what the receiver accepted. A dead receiver only fills the
 * queue: it never stalls the loop or the other outputs.
 */
#ifndef KANSOKU_NETOUT_H
#define KANSOKU_NETOUT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "config/config.h"
#include "lib/json.h"
#include "outputs/outputs.h"
#include "outputs/ecs.h"
#include "outputs/queue.h"
#include "outputs/tls.h"

struct ks_netout;

struct ks_send_result {
	size_t delivered; /* the oldest records in flight the receiver has now accepted (or refused for good) */
	size_t rejected;  /* of those, refused for good: set aside and counted, never retried */
	bool retry;       /* back off, then send what is in flight again */
	bool broken;      /* the connection is gone: reconnect before the next try */
	long retry_after_ms;
	char error[320]; /* the receiver's answer or the local error, for `kansoku status` */
};

struct ks_sender {
	const char *name;
	int (*open)(struct ks_netout *o, char *err, size_t errlen);
	/* Sends b (already formatted). Records not confirmed yet may stay in flight (RELP's window). */
	void (*send)(struct ks_netout *o, const struct ks_batch *b, struct ks_send_result *r);
	/* Nothing more to send for now: confirm what is in flight (optional). */
	void (*idle)(struct ks_netout *o, struct ks_send_result *r);
	void (*close)(struct ks_netout *o);
};

struct ks_netout {
	struct ks_output base;
	struct ks_output_cfg cfg;
	const struct ks_sender *tr;
	void *transport_state; /* the transport's own (struct http_state, relp_state...) */
	struct ks_queue *q;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	bool connected;
	char hostname[256];
	int pid;
	/* figures the thread updates and status reads (under mu) */
	pthread_mutex_t mu;
	char error[320];
	char refusal[320]; /* the receiver's answer to the last batch it refused for good */
	uint64_t delivered, set_aside, retries, connects;
	bool healthy;
	int setaside_fd;
	struct ks_batch fmt; /* the batch in the output's format (ECS) */
	struct ks_jw jw;
	char **rec_ptrs;
};

/* Transports */
extern const struct ks_sender ks_tr_syslog_udp, ks_tr_syslog_tcp, ks_tr_syslog_tls, ks_tr_relp, ks_tr_http;

/* RFC 5424 message for one event (the JSON is the MSG). Returns its length in w. */
void ks_syslog_format(struct ks_netout *o, const char *rec, size_t len, struct ks_jw *w);
/* SD-PARAM value escaping (RFC 5424 6.3.3): '"', '\' and ']' get a backslash. */
size_t ks_sd_escape(char *out, size_t outlen, const char *s, size_t n);

struct ks_output *ks_output_net_open(const struct ks_output_cfg *cfg, const char *state_dir, char *err, size_t errlen);

#endif
