/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Outputs: every encoded event goes to each configured output. Failures are counted, never silent. */
#ifndef KANSOKU_OUTPUT_H
#define KANSOKU_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct ks_output_stats {
	char kind[16];
	char name[64];
	char target[KS_CFG_PATH_MAX];
	uint64_t events; /* events written (network: accepted by the receiver) */
	uint64_t bytes;
	uint64_t lost; /* events that could not be written (disk full, I/O error; network: queue full) */
	uint64_t rotations;
	uint64_t queued, queue_bytes; /* network: waiting in the durable queue */
	uint64_t set_aside;           /* network: refused by the receiver for good (4xx), kept aside */
	uint64_t retries;
	int last_errno; /* 0 when the last write succeeded */
	bool healthy;
	char error[320];   /* network: the receiver's answer or the connection error */
	char refusal[320]; /* network: the answer to the last batch refused for good (set aside) */
};

struct ks_output; /* one output */

struct ks_output_ops {
	const char *kind;
	/* queue one line (without newline); may write when its buffer fills */
	void (*write)(struct ks_output *o, const char *line, size_t len);
	void (*flush)(struct ks_output *o);
	void (*reopen)(struct ks_output *o);
	void (*close)(struct ks_output *o);
};

struct ks_output {
	const struct ks_output_ops *ops;
	struct ks_output_stats stats;
};

struct ks_output *ks_output_file_open(const struct ks_output_cfg *cfg, char *err, size_t errlen);
/* syslog (UDP, TCP, TLS, RELP) and http: queued under state_dir, sent by the output's own thread */
struct ks_output *ks_output_net_open(const struct ks_output_cfg *cfg, const char *state_dir, char *err, size_t errlen);
/* Process-wide set-up the network outputs need (libcurl's global init), before any thread exists. */
void ks_net_outputs_init(const struct ks_config *cfg);

struct ks_outputs;
struct ks_outputs *ks_outputs_open(const struct ks_config *cfg, char *err, size_t errlen);
void ks_outputs_write(struct ks_outputs *os, const char *line, size_t len);
void ks_outputs_flush(struct ks_outputs *os);
void ks_outputs_reopen(struct ks_outputs *os);
void ks_outputs_close(struct ks_outputs *os);
/* Copies up to max stats; returns the number of outputs. */
size_t ks_outputs_stats(struct ks_outputs *os, struct ks_output_stats *out, size_t max);

#endif
