/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel's TCP and UDP sockets, listed per network namespace off the event loop, for the reconcile
 * (sensors/net.h: ks_net_reconcile). A socket iterator lists the namespace of the thread that opens it
 * (bpf_iter_create: seq_file_net), so a short-lived thread enters each namespace the model holds entries
 * in (setns affects only the calling thread), through /proc/PID/ns/net of a process the model knows there,
 * else an `ip netns` name, else any process in it; lists; and exits. A namespace nothing holds any more is
 * reported gone (its lists empty). The loop starts a pass, then polls it each tick: it never waits.
 */
#ifndef KANSOKU_SENSORS_NETNS_H
#define KANSOKU_SENSORS_NETNS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/netmodel.h"
#include "sensors/net.h"

#define KS_NETNS_MAX 64 /* namespaces per pass; more wait for later passes */

struct ks_netns_pass {
	/* set before ks_netns_pass_start */
	int tcp_iter, udp_iter; /* the iterators' link fds (ks_loader_sock_iter); -1: not listed this pass */
	uint32_t self_netns;    /* the daemon's own: listed without entering it */
	struct ks_netns_owners want[KS_NETNS_MAX];
	size_t n;
	/* the result: out[i] lists want[i] (freed by ks_netns_pass_clear) */
	struct ks_net_listing out[KS_NETNS_MAX];
	/* the thread */
	pthread_t thread;
	atomic_bool done;
	bool running;
};

/* Lists want[0, n) in a new thread. Returns 0, or -1 (errno) when the thread cannot start. */
int ks_netns_pass_start(struct ks_netns_pass *p);
/* True when no pass runs (any finished one joined: its listings are in out[0, n)); never waits. */
bool ks_netns_pass_idle(struct ks_netns_pass *p);
/* Frees the listings; waits for a running pass first (at shutdown). */
void ks_netns_pass_clear(struct ks_netns_pass *p);

/* The inode of the calling thread's network namespace, 0 if unknown. */
uint32_t ks_netns_self(void);

#endif
