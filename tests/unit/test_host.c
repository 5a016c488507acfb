// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The device id: /etc/machine-id, else D-Bus's copy, else one generated once under state_dir. Each test
 * builds a private root and state dir in a temp directory, so the host's own files never matter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/host.h"

static const char *const ETC_ID = "0123456789abcdef0123456789abcdef";
static const char *const DBUS_ID = "fedcba9876543210fedcba9876543210";

struct fx {
	char dir[64], root[128], state[128];
	struct ks_host h;
	char err[512];
};

/* Writes dir/rel, making the directories on the way. */
static void put(const char *dir, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", dir, rel);
	for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/ks-test-host-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	assert_int_equal(mkdir(f->root, 0755), 0);
	assert_int_equal(mkdir(f->state, 0700), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(f);
	return 0;
}

static int devid(struct fx *f, const char *state_dir, bool create)
{
	return ks_host_device_id(&f->h, f->root, state_dir, create, f->err, sizeof(f->err));
}

static void test_valid_ids(void **state)
{
	(void)state;
	assert_true(ks_machine_id_valid(ETC_ID));
	assert_true(ks_machine_id_valid("0123456789ABCDEF0123456789ABCDEF"));
	assert_false(ks_machine_id_valid(""));
	assert_false(ks_machine_id_valid("uninitialized"));
	assert_false(ks_machine_id_valid("0123456789abcdef0123456789abcde"));   /* 31 */
	assert_false(ks_machine_id_valid("0123456789abcdef0123456789abcdef0")); /* 33 */
	assert_false(ks_machine_id_valid("0123456789abcdef0123456789abcdeg"));
}

static void test_etc_machine_id_first(void **state)
{
	struct fx *f = *state;

	put(f->root, "/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
	put(f->root, "/var/lib/dbus/machine-id", "fedcba9876543210fedcba9876543210\n");
	assert_int_equal(devid(f, f->state, true), 0);
	assert_string_equal(f->h.machine_id, ETC_ID);
	assert_string_equal(f->h.machine_id_source, "/etc/machine-id");
	assert_int_equal(access(strcat(f->state, "/machine-id"), F_OK), -1); /* nothing generated */
}

static void test_dbus_when_etc_empty_or_absent(void **state)
{
	struct fx *f = *state;

	put(f->root, "/var/lib/dbus/machine-id", "fedcba9876543210fedcba9876543210\n");
	assert_int_equal(devid(f, f->state, true), 0);
	assert_string_equal(f->h.machine_id, DBUS_ID);
	assert_string_equal(f->h.machine_id_source, "/var/lib/dbus/machine-id");
	put(f->root, "/etc/machine-id", ""); /* an empty file, as a container image ships it */
	assert_int_equal(devid(f, f->state, true), 0);
	assert_string_equal(f->h.machine_id, DBUS_ID);
	put(f->root, "/etc/machine-id", "uninitialized\n"); /* systemd's first boot */
	assert_int_equal(devid(f, f->state, true), 0);
	assert_string_equal(f->h.machine_id, DBUS_ID);
}

static void test_generated_once_and_kept(void **state)
{
	struct fx *f = *state;
	char path[256], first[64], expect[300];
	struct stat st;

	put(f->root, "/etc/machine-id", "");
	assert_int_equal(devid(f, f->state, true), 0);
	assert_true(ks_machine_id_valid(f->h.machine_id));
	snprintf(path, sizeof(path), "%s/machine-id", f->state);
	snprintf(expect, sizeof(expect), "generated (%s)", path);
	assert_string_equal(f->h.machine_id_source, expect);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), ".tmp");
	assert_int_equal(access(path, F_OK), -1); /* renamed into place, no leftover */
	snprintf(first, sizeof(first), "%s", f->h.machine_id);
	/* a restart: the same id */
	assert_int_equal(devid(f, f->state, true), 0);
	assert_string_equal(f->h.machine_id, first);
	/* read-only (--audit): the kept id is found, nothing else is created */
	assert_int_equal(devid(f, f->state, false), 0);
	assert_string_equal(f->h.machine_id, first);
}

static void test_two_state_dirs_two_ids(void **state)
{
	struct fx *f = *state;
	char other[160], first[64];

	snprintf(other, sizeof(other), "%s/other", f->dir);
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(devid(f, f->state, true), 0);
	snprintf(first, sizeof(first), "%s", f->h.machine_id);
	assert_int_equal(devid(f, other, true), 0);
	assert_true(ks_machine_id_valid(f->h.machine_id));
	assert_string_not_equal(f->h.machine_id, first);
}

static void test_no_state_dir_or_no_create_says_none(void **state)
{
	struct fx *f = *state;

	assert_int_equal(devid(f, NULL, true), 0);
	assert_string_equal(f->h.machine_id, "");
	assert_string_equal(f->h.machine_id_source, "none");
	assert_int_equal(devid(f, f->state, false), 0);
	assert_string_equal(f->h.machine_id, "");
	assert_string_equal(f->h.machine_id_source, "none");
}

static void test_corrupt_kept_id_is_an_error(void **state)
{
	struct fx *f = *state;

	put(f->state, "/machine-id", "not an id\n");
	assert_int_equal(devid(f, f->state, true), -1);
	assert_non_null(strstr(f->err, "/machine-id does not hold a device id"));
	assert_non_null(strstr(f->err, "remove it"));
}

static void test_unwritable_state_dir_is_an_error(void **state)
{
	struct fx *f = *state;
	char missing[200];

	snprintf(missing, sizeof(missing), "%s/absent", f->dir);
	assert_int_equal(devid(f, missing, true), -1);
	assert_non_null(strstr(f->err, "cannot write"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_ids),
	    cmocka_unit_test_setup_teardown(test_etc_machine_id_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dbus_when_etc_empty_or_absent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_generated_once_and_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_state_dirs_two_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_state_dir_or_no_create_says_none, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_kept_id_is_an_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unwritable_state_dir_is_an_error, setup, teardown),
	};

	return cmocka_run_group_tests_name("host", tests, NULL, NULL);
}
