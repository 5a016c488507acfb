// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The OCSF message formatter: the same text, length and cut as vsnprintf, for every format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/ocsf.h"

/* ks_ocsf_vformat and vsnprintf on the same arguments, into buffers of cap bytes: same result, same bytes
 * (the rest of the buffer too: neither writes past what it reports). */
static void __attribute__((format(printf, 2, 3))) same_as_printf(size_t cap, const char *fmt, ...)
{
	char got[600], want[600];
	va_list ap;
	int n, m;

	assert_true(cap <= sizeof(got));
	memset(got, 'X', sizeof(got));
	memset(want, 'X', sizeof(want));
	va_start(ap, fmt);
	n = ks_ocsf_vformat(got, cap, fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	m = vsnprintf(want, cap, fmt, ap);
	va_end(ap);
	assert_int_equal(n, m);
	assert_memory_equal(got, want, sizeof(got));
}

/* The formats the sensors, posture, rules and daemon use, with their kinds of values */
static void test_formats_in_use(void **state)
{
	static const size_t caps[] = {512, 0, 1, 2, 7, 20, 33};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		size_t c = caps[i];

		same_as_printf(c, "%s (pid %u) launched by %s (pid %u)", "/usr/bin/true", 4294967295u, "bash", 0u);
		same_as_printf(c, "%s (pid %u) exited with %d", "true", 17u, -1);
		same_as_printf(c, "%s (pid %u) exited with %d", "true", 17u, INT_MIN);
		same_as_printf(c, "%s (pid %u) killed by %s", "a process", 1u, "SIGKILL");
		same_as_printf(c, "%s %s %s:%u -> %s:%u by %s (pid %u)", "Open", "tcp", "127.0.0.1", 32768u, "::1",
		               65535u, "workload", 4100u);
		same_as_printf(c, "%s %s %s port %u by %s (pid %u)", "Listen", "udp", "0.0.0.0", 53u, "dnsmasq", 7u);
		same_as_printf(c, "%s %s by %s (pid %u) failed: %s", "Open", "/etc/shadow", "cat", 99u, "EACCES");
		same_as_printf(c, "%s closed: %s (%llu match%s, pid %u)", "T1003", "expired", 18446744073709551615ull,
		               "es", 1u);
		same_as_printf(c, "%s: %s%s%s", "Fail", "sshd: PermitRootLogin", ": ", "yes");
		same_as_printf(c, "kansokud %s %s", "0.1.0", "started");
		same_as_printf(c, "100%% of %ld and %lu and %zu and %i", LONG_MIN, ULONG_MAX, (size_t)0, 0);
		same_as_printf(c, "no conversion at all");
		same_as_printf(c, "%s", "");
	}
}

/* What the formatter leaves to vsnprintf (flags, widths, precisions, other conversions) still means the
 * same, and a NULL string reads as glibc writes it. */
static void test_other_formats_and_null(void **state)
{
	const char *volatile null = NULL; /* (hidden from the compiler's format checks) */

	(void)state;
	same_as_printf(512, "%5d|%-4u|%.3s|%x|%c|%08.3f", 42, 7u, "abcdef", 255u, 'z', 3.14159);
	same_as_printf(9, "before %s then %x", "a string", 0xbeefu);
	same_as_printf(512, "%s and %s", "x", null);
	same_as_printf(3, "%s and %s", null, "x");
}

/* A message longer than 511 bytes is cut there, and a UTF-8 character cut in two becomes U+FFFD in the
 * event, as with printf (the writer's escaper): the same bytes as the event had before. */
static void test_message_cut_and_escaped_as_before(void **state)
{
	char path[600], want[512];
	struct ks_pipeline *pl = calloc(1, sizeof(*pl));
	struct ks_jw w;
	size_t i;

	(void)state;
	assert_non_null(pl);
	for (i = 0; i + 3 <= sizeof(path) - 1; i += 3)
		memcpy(path + i, "\xe8\xa6\xb3", 3); /* 観, 3 bytes: 511 falls inside one */
	path[i] = '\0';
	path[7] = '"';
	path[8] = '\n';
	ks_jw_init(&pl->jw);
	ks_jw_obj_begin(&pl->jw);
	ks_ocsf_message(pl, "%s (pid %u) exited with %d", path, 12u, 0);
	ks_jw_obj_end(&pl->jw);
	assert_true(snprintf(want, sizeof(want), "%s (pid %u) exited with %d", path, 12u, 0) > 511);
	ks_jw_init(&w);
	ks_jw_obj_begin(&w);
	ks_jw_kstr(&w, "message", want, strlen(want));
	ks_jw_obj_end(&w);
	assert_int_equal(strlen(want), 511);
	assert_string_equal(pl->jw.buf, w.buf);
	assert_non_null(strstr(w.buf, "\\\"\\n"));
	assert_non_null(strstr(w.buf, "\xef\xbf\xbd\"}")); /* the cut character */
	ks_jw_free(&w);
	ks_jw_free(&pl->jw);
	free(pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_formats_in_use),
	    cmocka_unit_test(test_other_formats_and_null),
	    cmocka_unit_test(test_message_cut_and_escaped_as_before),
	};

	return cmocka_run_group_tests_name("ocsf", tests, NULL, NULL);
}
