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
#include <time.h>

#include "lib/hash.h"
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

/* The envelope as it was always written, member by member with the writer: what ks_ocsf_begin's copies of
 * its constant runs must reproduce byte for byte. */
static void expected_begin(struct ks_jw *w, struct ks_pipeline *pl, const struct ks_ocsf_class *cls, int act,
                           const char *name, int sev, int64_t time_ms, int tz)
{
	char uid[40];

	ks_fmt_hex64(uid, ks_mix64(pl->instance));
	ks_fmt_hex64(uid + 16, ks_mix64(pl->instance ^ ks_mix64(pl->seq)));
	ks_jw_reset(w);
	ks_jw_obj_begin(w);
	ks_jw_ku64(w, "class_uid", (uint64_t)cls->class_uid);
	ks_jw_kcstr(w, "class_name", cls->class_name);
	ks_jw_ku64(w, "category_uid", (uint64_t)cls->category_uid);
	ks_jw_kcstr(w, "category_name", cls->category_name);
	ks_jw_ki64(w, "activity_id", act);
	ks_jw_kcstr(w, "activity_name", name);
	ks_jw_ki64(w, "type_uid", (int64_t)cls->class_uid * 100 + act);
	ks_jw_ki64(w, "severity_id", sev);
	ks_jw_ki64(w, "time", time_ms);
	ks_jw_ki64(w, "timezone_offset", tz);
	ks_jw_key(w, "metadata");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "version", KS_OCSF_VERSION);
	if (cls->profiles) {
		ks_jw_key(w, "profiles");
		ks_jw_json(w, cls->profiles, strlen(cls->profiles));
	}
	ks_jw_kcstr(w, "uid", uid);
	ks_jw_ku64(w, "sequence", pl->seq);
	ks_jw_key(w, "product");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "name", "kansoku");
	ks_jw_kcstr(w, "vendor_name", "kansoku");
	ks_jw_kcstr(w, "version", KS_VERSION);
	ks_jw_obj_end(w);
	ks_jw_obj_end(w);
	ks_jw_member_raw(w, pl->device_json, pl->device_len);
	ks_jw_kcstr(w, "after", "x"); /* the writer's state after the envelope: a comma comes next */
	ks_jw_obj_end(w);
}

/* Every class with several activities and severities, in an order that makes the envelope cache miss,
 * hit and evict, at times near the epoch and now, in a timezone east and one west of UTC. */
static void test_envelope_is_written_as_member_by_member(void **state)
{
	static const struct ks_ocsf_class own = {9999, "A \"quoted\" class", 9, "Tests", false, NULL};
	const struct ks_ocsf_class *classes[] = {
	    &ks_ocsf_process_activity, &ks_ocsf_app_lifecycle,     &ks_ocsf_file_activity,
	    &ks_ocsf_network_activity, &ks_ocsf_dns_activity,      &ks_ocsf_compliance_finding,
	    &ks_ocsf_config_state,     &ks_ocsf_detection_finding, &own};
	static const char *const names[] = {"Launch", "Other", "Ünïcode \"name\"", ""};
	static const char *const zones[] = {"Asia/Tokyo", "America/St_Johns", "UTC"};
	static const int64_t times[] = {86400000, 1764633600123, -1000, 1764633660000};
	struct ks_pipeline *pl = calloc(1, sizeof(*pl));
	struct ks_jw want;
	size_t c, k, z, t;

	(void)state;
	assert_non_null(pl);
	snprintf(pl->host.hostname, sizeof(pl->host.hostname), "h");
	snprintf(pl->host.machine_id, sizeof(pl->host.machine_id), "m");
	pl->instance = 42;
	ks_jw_init(&want);
	for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		setenv("TZ", zones[z], 1);
		tzset();
		for (k = 0; k < 40; k++)
			for (c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
				const char *name = names[k % 4];
				int act = (int)(k % 5) + (k % 7 == 0 ? 94 : 0), sev = (int)(k % 3);
				struct tm tm;
				time_t secs;

				if (classes[c]->own_device)
					continue;
				t = (k + c) % (sizeof(times) / sizeof(times[0]));
				ks_ocsf_begin(pl, classes[c], act, name, sev, times[t]);
				ks_jw_kcstr(&pl->jw, "after", "x");
				ks_jw_obj_end(&pl->jw);
				secs = (time_t)(times[t] / 1000);
				assert_non_null(localtime_r(&secs, &tm));
				expected_begin(&want, pl, classes[c], act, name, sev, times[t],
				               (int)(tm.tm_gmtoff / 60));
				assert_string_equal(pl->jw.buf, want.buf);
				assert_int_equal(pl->jw.len, want.len);
			}
	}
	unsetenv("TZ");
	tzset();
	ks_jw_free(&want);
	ks_jw_free(&pl->jw);
	free(pl->device_json);
	free(pl);
}

/* Observables as they were always written, member by member: plain names, values that need escaping, a
 * name that would need it (written the slow way), empty and NULL values skipped. */
static void test_observables_written_as_member_by_member(void **state)
{
	static const struct {
		const char *name, *value;
		int type;
	} obs[] = {
	    {"process.name", "true", KS_OCSF_OBS_PROCESS_NAME},
	    {"process.file.path", "/tmp/a \"b\"\\c\td\xe8\xa6\xb3\xff", KS_OCSF_OBS_FILE_PATH},
	    {"actor.user.name", "", KS_OCSF_OBS_USER_NAME},
	    {"odd \"name\"", "x", KS_OCSF_OBS_HOSTNAME},
	    {"actor.user.name", NULL, KS_OCSF_OBS_USER_NAME},
	    {"dst_endpoint.ip", "::1", KS_OCSF_OBS_IP},
	};
	struct ks_pipeline *pl = calloc(1, sizeof(*pl));
	struct ks_jw want;
	size_t i;

	(void)state;
	assert_non_null(pl);
	ks_jw_init(&want);
	ks_jw_obj_begin(&pl->jw);
	ks_jw_ku64(&pl->jw, "before", 1);
	ks_jw_obj_begin(&want);
	ks_jw_ku64(&want, "before", 1);
	ks_jw_key(&want, "observables");
	ks_jw_arr_begin(&want);
	for (i = 0; i < sizeof(obs) / sizeof(obs[0]); i++) {
		ks_ocsf_observe(pl, obs[i].name, obs[i].type, obs[i].value);
		if (!obs[i].value || !obs[i].value[0])
			continue;
		ks_jw_obj_begin(&want);
		ks_jw_kcstr(&want, "name", obs[i].name);
		ks_jw_ki64(&want, "type_id", obs[i].type);
		ks_jw_kcstr(&want, "value", obs[i].value);
		ks_jw_obj_end(&want);
	}
	ks_jw_arr_end(&want);
	ks_jw_obj_end(&want);
	ks_ocsf_end(pl);
	assert_string_equal(pl->jw.buf, want.buf);
	assert_int_equal(pl->jw.len, want.len);
	assert_int_equal(pl->n_obs, 4);
	ks_jw_free(&want);
	ks_jw_free(&pl->jw);
	free(pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_formats_in_use),
	    cmocka_unit_test(test_other_formats_and_null),
	    cmocka_unit_test(test_message_cut_and_escaped_as_before),
	    cmocka_unit_test(test_envelope_is_written_as_member_by_member),
	    cmocka_unit_test(test_observables_written_as_member_by_member),
	};

	return cmocka_run_group_tests_name("ocsf", tests, NULL, NULL);
}
