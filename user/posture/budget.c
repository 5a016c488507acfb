// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The CPU budget of posture's threads (see budget.h). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "lib/prio.h"

#define SLEEP_STEP_MS 50.0 /* a stopping daemon waits at most this for a sleeping thread */

void ks_budget_init(struct ks_budget *b, double busy_share, double idle_share, double burst_ms)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	b->busy_share = busy_share;
	b->idle_share = idle_share;
	b->burst_ms = burst_ms;
	b->tokens_ms = burst_ms;
	b->load = KS_HOST_BUSY; /* until measured, assume the host needs its CPU */
	b->ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (b->ncpu < 1)
		b->ncpu = 1;
}

void ks_budget_destroy(struct ks_budget *b)
{
	pthread_mutex_destroy(&b->lock);
}

double ks_budget_charge(struct ks_budget *b, double now_ms, double cpu_ms)
{
	double share = b->load == KS_HOST_BUSY ? b->busy_share : b->idle_share;

	if (b->refill_ms && now_ms > b->refill_ms)
		b->tokens_ms += (now_ms - b->refill_ms) * share;
	if (!b->refill_ms || now_ms > b->refill_ms)
		b->refill_ms = now_ms;
	if (b->tokens_ms > b->burst_ms)
		b->tokens_ms = b->burst_ms;
	b->tokens_ms -= cpu_ms;
	b->charged_ms += cpu_ms;
	b->own_since_ms += cpu_ms;
	if (b->tokens_ms >= 0 || share <= 0)
		return 0;
	return -b->tokens_ms / share;
}

int ks_budget_parse_stat(const char *text, uint64_t *busy, uint64_t *total)
{
	unsigned long long v[10] = {0};
	int n;

	if (strncmp(text, "cpu ", 4))
		return -1;
	n = sscanf(text + 4, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
	           &v[5], &v[6], &v[7], &v[8], &v[9]);
	if (n < 4)
		return -1;
	/* user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice) */
	*total = 0;
	for (int i = 0; i < n && i < 8; i++)
		*total += v[i];
	*busy = *total - v[3] - (n > 4 ? v[4] : 0);
	return 0;
}

void ks_budget_sample(struct ks_budget *b, double now_ms, uint64_t busy, uint64_t total)
{
	if (b->load_at_ms && total > b->stat_total && now_ms > b->load_at_ms) {
		double cores = (double)(busy - b->stat_busy) / (double)(total - b->stat_total) * b->ncpu;
		double own = b->own_since_ms / (now_ms - b->load_at_ms);

		b->load = cores - own >= KS_BUDGET_BUSY_CORES ? KS_HOST_BUSY : KS_HOST_IDLE;
		if (b->load == KS_HOST_BUSY)
			b->busy_samples++;
		else
			b->idle_samples++;
	}
	b->load_at_ms = now_ms;
	b->stat_busy = busy;
	b->stat_total = total;
	b->own_since_ms = 0;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double ks_budget_thread_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sample_load(struct ks_budget *b, double now_ms)
{
	char text[256];
	uint64_t busy, total;
	ssize_t n;
	int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return; /* no /proc: the load stays as it was (busy at first), which only slows posture */
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return;
	text[n] = 0;
	if (!ks_budget_parse_stat(text, &busy, &total))
		ks_budget_sample(b, now_ms, busy, total);
}

double ks_budget_charge_thread(struct ks_budget *b, struct ks_budget_thread *t)
{
	double cpu = ks_budget_thread_cpu_ms(), now = mono_ms(), debt;

	pthread_mutex_lock(&b->lock);
	if (now - b->load_at_ms >= KS_BUDGET_LOAD_MS)
		sample_load(b, now);
	debt = ks_budget_charge(b, now, t->last_cpu_ms ? cpu - t->last_cpu_ms : 0);
	b->slept_ms += debt;
	pthread_mutex_unlock(&b->lock);
	t->last_cpu_ms = cpu;
	return debt;
}

void ks_budget_spend(struct ks_budget *b, struct ks_budget_thread *t, const atomic_bool *cancel)
{
	double debt = b ? ks_budget_charge_thread(b, t) : 0;

	while (debt > 0 && !(cancel && atomic_load_explicit(cancel, memory_order_relaxed))) {
		double step = debt < SLEEP_STEP_MS ? debt : SLEEP_STEP_MS;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(step * 1e6)};

		nanosleep(&ts, NULL);
		debt -= step;
	}
}

void ks_budget_lower_priority(const char *name, enum ks_thread_class cls)
{
	pthread_setname_np(pthread_self(), name);
	ks_prio_lower(cls == KS_THREAD_IDLE ? KS_PRIO_IDLE : KS_PRIO_NORMAL_IO_IDLE);
}
