// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The recent-events ring behind `kansoku events`: bounded in count and bytes, oldest out first, intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/recent.h"

/* Event n: its number repeated to len bytes, so any overwrite shows. */
static const char *event(unsigned n, size_t len)
{
	static char buf[4096];
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)('a' + (n + i) % 26);
	return buf;
}

static void assert_event(const struct ks_recent *r, uint64_t seq, unsigned n, size_t len, int cls)
{
	int got_cls = 0;
	size_t got_len = 0;
	const char *line = ks_recent_get(r, seq, &got_cls, &got_len);

	assert_non_null(line);
	assert_int_equal(got_len, len);
	assert_int_equal(got_cls, cls);
	assert_memory_equal(line, event(n, len), len);
}

static void test_count_bound(void **state)
{
	struct ks_recent *r = ks_recent_new(4, 1 << 16, false);
	unsigned i;

	(void)state;
	for (i = 0; i < 10; i++)
		ks_recent_add(r, 1000 + (int)i, event(i, 100), 100);
	assert_int_equal(ks_recent_first(r), 6);
	assert_int_equal(ks_recent_end(r), 10);
	for (i = 6; i < 10; i++)
		assert_event(r, i, i, 100, 1000 + (int)i);
	assert_null(ks_recent_get(r, 5, &(int){0}, &(size_t){0}));
	assert_null(ks_recent_get(r, 10, &(int){0}, &(size_t){0}));
	ks_recent_free(r);
}

/* Events of varied sizes over many laps of a small buffer: whatever is kept is intact, the newest always. */
static void test_byte_bound_over_laps(void **state)
{
	struct ks_recent *r = ks_recent_new(1000, 1000, false);
	unsigned i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		size_t len = 1 + (i * 37) % 400;
		uint64_t s, kept_bytes = 0;

		ks_recent_add(r, 1, event(i, len), len);
		assert_int_equal(ks_recent_end(r), i + 1);
		assert_true(ks_recent_first(r) <= i);
		for (s = ks_recent_first(r); s < ks_recent_end(r); s++) {
			size_t l = 1 + ((unsigned)s * 37) % 400;

			assert_event(r, s, (unsigned)s, l, 1);
			kept_bytes += l;
		}
		assert_true(kept_bytes <= 1000);
	}
	ks_recent_free(r);
}

/* A buffer that holds two events keeps the last two: the wrap to its start evicts only what it overlaps. */
static void test_wrap_keeps_what_fits(void **state)
{
	struct ks_recent *r = ks_recent_new(10, 300, false);

	(void)state;
	ks_recent_add(r, 1, event(0, 120), 120); /* [0, 120) */
	ks_recent_add(r, 1, event(1, 120), 120); /* [120, 240) */
	ks_recent_add(r, 1, event(2, 120), 120); /* wraps: [0, 120), event 0 out */
	assert_int_equal(ks_recent_first(r), 1);
	assert_event(r, 1, 1, 120, 1);
	assert_event(r, 2, 2, 120, 1);
	ks_recent_add(r, 1, event(3, 50), 50); /* [120, 170): event 1 out */
	assert_int_equal(ks_recent_first(r), 2);
	assert_event(r, 3, 3, 50, 1);
	ks_recent_free(r);
}

/* An event larger than the whole buffer is not kept (counted), and nothing kept is lost for it. */
static void test_too_large_is_counted(void **state)
{
	struct ks_recent *r = ks_recent_new(10, 256, false);

	(void)state;
	ks_recent_add(r, 1, event(0, 100), 100);
	ks_recent_add(r, 1, event(1, 257), 257);
	assert_int_equal(ks_recent_too_large(r), 1);
	assert_int_equal(ks_recent_end(r), 1);
	assert_event(r, 0, 0, 100, 1);
	ks_recent_free(r);
}

/* recent_events: 0 keeps nothing; huge pages, where asked, hold the same events. */
static void test_none_and_huge(void **state)
{
	struct ks_recent *none = ks_recent_new(0, 0, true), *huge = ks_recent_new(1000, 3 << 20, true);
	unsigned i;

	(void)state;
	assert_non_null(none);
	ks_recent_add(none, 1, "x", 1);
	assert_int_equal(ks_recent_end(none), 0);
	assert_non_null(huge);
	for (i = 0; i < 3000; i++)
		ks_recent_add(huge, 1007, event(i, 2600), 2600);
	assert_int_equal(ks_recent_end(huge) - ks_recent_first(huge), 1000);
	assert_event(huge, 2999, 2999, 2600, 1007);
	assert_event(huge, 2000, 2000, 2600, 1007);
	ks_recent_free(none);
	ks_recent_free(huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_count_bound),          cmocka_unit_test(test_byte_bound_over_laps),
	    cmocka_unit_test(test_wrap_keeps_what_fits), cmocka_unit_test(test_too_large_is_counted),
	    cmocka_unit_test(test_none_and_huge),
	};

	return cmocka_run_group_tests_name("recent", tests, NULL, NULL);
}
