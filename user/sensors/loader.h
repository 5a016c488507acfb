/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Opens the BPF skeleton, chooses the hooks the kernel offers (tp_btf, else raw_tp), sets the config into
 * the programs' read-only globals, loads, attaches, and gives access to the ring buffers and counters.
 */
#ifndef KANSOKU_LOADER_H
#define KANSOKU_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "kansoku/events.h"

struct kansoku_bpf;
struct bpf_link;

#define KS_MAX_HOOKS 48

struct ks_hook_info {
	char program[48];
	char attach[64]; /* e.g. tp_btf/sched_process_exec */
};

/* The security sensors (bpf/security.bpf.c): programs named ks_sec_<sensor>_*. */
enum ks_sec_sensor { KS_SEC_PTRACE, KS_SEC_KMOD, KS_SEC_SETID, KS_SEC_SENSORS };

struct ks_sec_state {
	int attached, missing; /* programs attached / whose tracepoint this kernel lacks */
	char error[256];       /* why a part is not observed */
};

/* The socket iterators the reconcile reads: every TCP socket (listeners included), UDP sockets bound. */
enum ks_sock_iter { KS_ITER_TCP, KS_ITER_UDP, KS_SOCK_ITERS };

struct ks_loader {
	struct kansoku_bpf *skel;
	const char *flavour; /* "tp_btf" or "raw_tp" */
	struct ks_hook_info hooks[KS_MAX_HOOKS];
	struct bpf_link *links[KS_MAX_HOOKS];
	int n_hooks;
	int nr_cpus;
	bool files;            /* file programs loaded */
	int files_missing;     /* file tracepoints this kernel does not have */
	char files_error[512]; /* why file observation is off */
	bool net;              /* network programs loaded */
	int net_missing;       /* network hooks this kernel could not attach */
	char net_error[512];   /* why network observation is off or partial */
	bool sec;              /* security sensor programs loaded */
	char sec_error[512];   /* why they are not */
	struct ks_sec_state sec_state[KS_SEC_SENSORS];
	struct ks_rule rules[KS_RULES_MAX];
	int n_rules;
	struct bpf_link *sock_iters[KS_SOCK_ITERS]; /* ks_loader_sock_iter */
	bool sock_iter_failed[KS_SOCK_ITERS];
};

/* Checks the prerequisites and loads and attaches everything. Returns 0, or -1 with err saying what is
 * missing and what to do. */
int ks_loader_open(struct ks_loader *l, const struct ks_config *cfg, char *err, size_t errlen);
/* Runs the task iterator once and passes each seed record to fn. Returns records seen, or -1. */
int ks_loader_seed(struct ks_loader *l, int (*fn)(void *ctx, const void *rec, size_t size), void *ctx);
/* Sockets that exist now (struct ks_net records, action KS_NA_SEED); 0 without network observation. */
int ks_loader_seed_socks(struct ks_loader *l, int (*fn)(void *ctx, const void *rec, size_t size), void *ctx);
/* The link of a socket iterator, made on first use: its fd, or -1 without network observation or when
 * the kernel refused it (said once). Each bpf_iter_create() on it writes the ids (sock_id, u64) of the
 * sockets of the network namespace of the thread that calls it (sensors/netns.h). */
int ks_loader_sock_iter(struct ks_loader *l, enum ks_sock_iter which);
/* Bytes so far of each live TCP connection, *n of them; caller frees. NULL as above. */
struct ks_conn_bytes *ks_loader_conn_bytes(struct ks_loader *l, size_t *n);
/* The ring buffer map of a kind of record (KS_EV_FILE, KS_EV_NET, else the process ring); -1 when that
 * part is not loaded. sensors/rings.c drains them. */
int ks_loader_ring_fd(struct ks_loader *l, enum ks_event_kind kind);
/* Advance the programs' coarse clock (call at least once a second). */
void ks_loader_tick(struct ks_loader *l, uint64_t boot_ns);
/* The kernel's aggregation map (struct ks_agg_key -> struct ks_agg_val), -1 without file observation. */
int ks_loader_agg_fd(struct ks_loader *l);
/* Kernel-side drops per event kind, summed over CPUs. */
void ks_loader_drops(struct ks_loader *l, uint64_t out[KS_EV_KIND_MAX]);
/* TCP state transitions the kernel may have skipped (its recursion guard hit both state programs). */
uint64_t ks_loader_net_missed(struct ks_loader *l);
void ks_loader_close(struct ks_loader *l);
/* "ptrace", "kernel_modules", "setid" */
const char *ks_sec_sensor_name(enum ks_sec_sensor s);

#endif
