/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The CPU budget of posture's threads: a token bucket of CPU time, refilled at a share of one core that
 * depends on how busy the host is (measured from /proc/stat, less posture's own use). While the host is
 * busy posture gets KS_BUDGET_BUSY_SHARE of one core; while it is idle, a whole core. The threads also run
 * at SCHED_IDLE and I/O priority idle, so whatever they do use, the host's work comes first.
 */
#ifndef KANSOKU_POSTURE_BUDGET_H
#define KANSOKU_POSTURE_BUDGET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define KS_BUDGET_BUSY_SHARE 0.05 /* of one core, while the host is busy */
#define KS_BUDGET_IDLE_SHARE 1.0  /* while it is idle */
#define KS_BUDGET_BURST_MS 100.0  /* CPU a thread may spend at once before the rate applies */
#define KS_BUDGET_BUSY_CORES 0.3  /* the host is busy when others use this many cores or more */
#define KS_BUDGET_LOAD_MS 250.0   /* how often the host's load is sampled */

enum ks_host_load { KS_HOST_IDLE, KS_HOST_BUSY };
enum ks_thread_class { KS_THREAD_IDLE, KS_THREAD_NICE }; /* SCHED_IDLE, or SCHED_OTHER at nice 0 (budgeted) */

struct ks_budget {
	pthread_mutex_t lock; /* the walk thread and the posture thread share one budget */
	double busy_share, idle_share, burst_ms;
	double tokens_ms; /* CPU that may be spent now; negative: a debt to sleep off */
	double refill_ms; /* monotonic ms of the last refill; 0 before the first charge */
	enum ks_host_load load;
	/* the last /proc/stat sample */
	double load_at_ms;
	uint64_t stat_busy, stat_total;
	double own_since_ms; /* posture CPU charged since load_at_ms */
	int ncpu;
	/* figures for status */
	double charged_ms, slept_ms;
	uint64_t busy_samples, idle_samples;
};

/* One thread's view: its CPU clock at the last charge. */
struct ks_budget_thread {
	double last_cpu_ms;
};

void ks_budget_init(struct ks_budget *b, double busy_share, double idle_share, double burst_ms);
void ks_budget_destroy(struct ks_budget *b);

/* The token bucket (no clock, no lock: the tests drive it): refills for the wall time since the last
 * call at the share the current load allows, takes cpu_ms, returns how long to sleep (ms) to repay. */
double ks_budget_charge(struct ks_budget *b, double now_ms, double cpu_ms);
/* The "cpu" line of /proc/stat: busy and total jiffies of all CPUs. Returns 0, or -1 if absent. */
int ks_budget_parse_stat(const char *text, uint64_t *busy, uint64_t *total);
/* A new /proc/stat sample: the load is busy when the host, less posture, used KS_BUDGET_BUSY_CORES. */
void ks_budget_sample(struct ks_budget *b, double now_ms, uint64_t busy, uint64_t total);

/* From a posture thread every few milliseconds of work: charges the thread's CPU since its last call,
 * samples the host's load when due and sleeps off any debt (in short steps; returns early on cancel). */
void ks_budget_spend(struct ks_budget *b, struct ks_budget_thread *t, const atomic_bool *cancel);
/* The same without the sleep: returns the debt (ms) for a caller that waits its own way. */
double ks_budget_charge_thread(struct ks_budget *b, struct ks_budget_thread *t);
/* The calling thread: its class, I/O class idle, and a name for top and the tests. */
void ks_budget_lower_priority(const char *name, enum ks_thread_class cls);
double ks_budget_thread_cpu_ms(void);

#endif
