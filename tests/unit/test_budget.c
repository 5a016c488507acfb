// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Posture's CPU budget: the token bucket (burst, then the share of a core the host's load allows), the
 * /proc/stat parser and load classification, and a real thread held to its share by ks_budget_spend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "posture/budget.h"

/* Work in steps of step_ms CPU (taking as long in wall time), sleeping what the bucket asks, for
 * wall_ms; returns the share of one core used. */
static double simulate(struct ks_budget *b, double step_ms, double wall_ms)
{
	double now = 1000, cpu = 0;

	while (now < 1000 + wall_ms) {
		now += step_ms;
		cpu += step_ms;
		now += ks_budget_charge(b, now, step_ms);
	}
	return cpu / (now - 1000);
}

static void test_burst_then_busy_share(void **state)
{
	struct ks_budget b;
	(void)state;

	ks_budget_init(&b, 0.05, 1.0, 100);
	assert_int_equal(b.load, KS_HOST_BUSY);           /* unmeasured: assume the host needs its CPU */
	assert_true(ks_budget_charge(&b, 1000, 60) == 0); /* within the burst */
	assert_true(ks_budget_charge(&b, 1000, 30) == 0); /* 10 ms left */
	double sleep = ks_budget_charge(&b, 1000, 30);    /* 20 ms in debt at 5% of a core */
	assert_true(sleep > 399.9 && sleep < 400.1);
	/* 400 ms later the debt is repaid, nothing more */
	assert_true(ks_budget_charge(&b, 1400, 0) == 0);
	assert_true(b.tokens_ms > -0.01 && b.tokens_ms < 0.01);
	/* sustained: 5% of a core over 100 s (the burst adds at most 0.1%) */
	double share = simulate(&b, 5, 100000);
	assert_true(share <= 0.0512);
	assert_true(share >= 0.048);
	ks_budget_destroy(&b);
}

static void test_idle_host_gets_a_core(void **state)
{
	struct ks_budget b;
	(void)state;

	ks_budget_init(&b, 0.05, 1.0, 100);
	b.load = KS_HOST_IDLE;
	assert_true(simulate(&b, 5, 10000) > 0.99); /* never slowed down */
	/* the host gets busy: the rate drops at once */
	b.load = KS_HOST_BUSY;
	assert_true(simulate(&b, 5, 100000) < 0.052);
	ks_budget_destroy(&b);
}

static void test_tokens_do_not_pile_up(void **state)
{
	struct ks_budget b;
	(void)state;

	ks_budget_init(&b, 0.05, 1.0, 100);
	ks_budget_charge(&b, 1000, 0);
	/* an hour idle refills the burst, not an hour of CPU */
	assert_true(ks_budget_charge(&b, 1000 + 3600e3, 100) == 0);
	assert_true(ks_budget_charge(&b, 1000 + 3600e3, 5) > 99);
	/* a clock that goes backwards refills nothing */
	assert_true(ks_budget_charge(&b, 500, 0) > 0);
	ks_budget_destroy(&b);
}

static void test_parse_stat(void **state)
{
	uint64_t busy = 0, total = 0;
	(void)state;

	/* user nice system idle iowait irq softirq steal guest guest_nice */
	assert_int_equal(ks_budget_parse_stat("cpu  100 5 50 1000 20 0 3 2 7 0\ncpu0 1 2 3 4\n", &busy, &total), 0);
	assert_int_equal(total, 1180); /* guest time is inside user already */
	assert_int_equal(busy, 160);
	assert_int_equal(ks_budget_parse_stat("cpu  1 2 3 4\n", &busy, &total), 0); /* old kernels */
	assert_int_equal(total, 10);
	assert_int_equal(busy, 6);
	assert_int_equal(ks_budget_parse_stat("intr 12 3\n", &busy, &total), -1);
	assert_int_equal(ks_budget_parse_stat("cpu  12\n", &busy, &total), -1);
	assert_int_equal(ks_budget_parse_stat("", &busy, &total), -1);
}

static void test_load_leaves_out_posture_itself(void **state)
{
	struct ks_budget b;
	(void)state;

	ks_budget_init(&b, 0.05, 1.0, 100);
	b.ncpu = 2;
	ks_budget_sample(&b, 1000, 0, 0); /* the first sample only sets the base */
	assert_int_equal(b.load, KS_HOST_BUSY);
	/* a quiet second: 5% of the machine (0.1 core) */
	ks_budget_sample(&b, 2000, 10, 200);
	assert_int_equal(b.load, KS_HOST_IDLE);
	/* a core busy for a second: busy */
	ks_budget_sample(&b, 3000, 110, 400);
	assert_int_equal(b.load, KS_HOST_BUSY);
	/* the same, but posture used 0.9 s of it: the host itself is idle */
	ks_budget_charge(&b, 3500, 900);
	ks_budget_sample(&b, 4000, 210, 600);
	assert_int_equal(b.load, KS_HOST_IDLE);
	assert_int_equal(b.busy_samples, 1);
	assert_int_equal(b.idle_samples, 2);
	/* no jiffies passed (a sample too soon): the load stays */
	ks_budget_sample(&b, 4001, 210, 600);
	assert_int_equal(b.load, KS_HOST_IDLE);
	ks_budget_destroy(&b);
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A real thread spinning and calling ks_budget_spend each millisecond stays near its share whatever the
 * load (both shares are 2% here, so the host's load does not matter; a host so loaded that the thread gets
 * less than that on its own only makes it sleep less). */
static void test_spend_holds_a_spinning_thread(void **state)
{
	struct ks_budget b;
	struct ks_budget_thread t = {0};
	atomic_bool cancel = false;
	double w0 = mono_ms(), c0 = ks_budget_thread_cpu_ms(), share;
	(void)state;

	ks_budget_init(&b, 0.02, 0.02, 10);
	while (mono_ms() - w0 < 2000) {
		double s = ks_budget_thread_cpu_ms();

		while (ks_budget_thread_cpu_ms() - s < 1)
			;
		ks_budget_spend(&b, &t, &cancel);
	}
	share = (ks_budget_thread_cpu_ms() - c0) / (mono_ms() - w0);
	print_message("spinning thread under a 2%% budget used %.1f%% of a core; slept %.0f ms\n", share * 100,
	              b.slept_ms);
	assert_true(share < 0.035);
	assert_true(b.charged_ms > 0 && (b.slept_ms > 0 || share < 0.02));
	ks_budget_destroy(&b);
}

static void test_cancel_ends_the_sleep(void **state)
{
	struct ks_budget b;
	struct ks_budget_thread t = {.last_cpu_ms = 0};
	atomic_bool cancel = true;
	double w0;
	(void)state;

	ks_budget_init(&b, 0.001, 0.001, 0);
	t.last_cpu_ms = ks_budget_thread_cpu_ms() - 1000; /* a second of CPU to repay at 0.1%: 1000 s */
	w0 = mono_ms();
	ks_budget_spend(&b, &t, &cancel);
	assert_true(mono_ms() - w0 < 100);
	ks_budget_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_then_busy_share),          cmocka_unit_test(test_idle_host_gets_a_core),
	    cmocka_unit_test(test_tokens_do_not_pile_up),          cmocka_unit_test(test_parse_stat),
	    cmocka_unit_test(test_load_leaves_out_posture_itself), cmocka_unit_test(test_spend_holds_a_spinning_thread),
	    cmocka_unit_test(test_cancel_ends_the_sleep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
