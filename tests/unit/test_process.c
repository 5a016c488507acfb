// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Wire records -> process table -> OCSF: decoding checks, and the events a record turns into. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outputs/outputs.h"
#include "sensors/process.h"
#include "host/users.h"
#include "pipeline_fixture.h"

static struct ks_exec *make_exec(uint32_t pid, uint64_t start, uint32_t ppid, uint64_t pstart, const char *exe,
                                 const char *args, size_t args_len, size_t *size)
{
	struct ks_exec *e = calloc(1, sizeof(*e));
	size_t off = 0, l = strlen(exe) + 1;

	e->hdr.kind = KS_EV_EXEC;
	e->hdr.version = KS_WIRE_VERSION;
	e->hdr.ts_ns = start + 1000;
	e->hdr.pid = e->hdr.tid = pid;
	e->start_ns = start;
	e->ppid = ppid;
	e->parent_start_ns = pstart;
	e->creds.loginuid = e->creds.sessionid = KS_NO_ID;
	memcpy(e->data + off, exe, l);
	e->exe_len = (uint16_t)l;
	off += l;
	memcpy(e->data + off, args, args_len);
	e->argv_len = (uint16_t)args_len;
	e->argv_total = (uint32_t)args_len;
	off += args_len;
	memcpy(e->data + off, "/", 2);
	e->cgroup_len = 2;
	off += 2;
	*size = KS_EXEC_FIXED_SIZE + off;
	e->hdr.size = (uint32_t)*size;
	return e;
}

static void test_launch_event(void **state)
{
	struct fixture *f = *state;
	static const char args[] = "vi\0/etc/sh\"ad\now\0bad\xff\0";
	struct json_object *ev, *arr;
	struct ks_exec *parent, *e;
	size_t size;

	parent = make_exec(100, 5000, 1, 1, "/usr/bin/bash", "bash\0", 5, &size);
	assert_int_equal(ks_process_handle(&f->pl, parent, size), 0);
	e = make_exec(200, 9000, 100, 5000, "/usr/bin/vim.basic", args, sizeof(args) - 1, &size);
	e->creds.uid = 0;
	e->creds.loginuid = 1000;
	e->creds.sessionid = 3;
	assert_int_equal(ks_process_handle(&f->pl, e, size), 0);
	ev = last_event(f);
	assert_int_equal(json_object_get_int(get(ev, "class_uid")), 1007);
	assert_int_equal(json_object_get_int(get(ev, "type_uid")), 100701);
	assert_string_equal(gets_(ev, "process.file.path"), "/usr/bin/vim.basic");
	assert_string_equal(gets_(ev, "process.name"), "vim.basic");
	assert_string_equal(gets_(ev, "process.cmd_line"), "vi /etc/sh\"ad\now bad\xef\xbf\xbd");
	assert_string_equal(gets_(ev, "process.user.name"), "root");
	assert_string_equal(gets_(ev, "actor.user.uid"), "1000");
	assert_string_equal(gets_(ev, "actor.user.name"), "alice");
	assert_string_equal(gets_(ev, "actor.process.file.path"), "/usr/bin/bash");
	assert_string_equal(gets_(ev, "process.parent_process.file.path"), "/usr/bin/bash");
	assert_string_equal(gets_(ev, "process.session.uid"), "3");
	arr = get(ev, "process.ancestry"); /* OCSF 1.4+: ancestry, not the deprecated lineage */
	assert_int_equal(json_object_array_length(arr), 1);
	assert_string_equal(gets_(ev, "process.ancestry.0.path"), "/usr/bin/bash");
	assert_int_equal(json_object_get_int(get(ev, "process.ancestry.0.pid")), 100);
	assert_string_equal(gets_(ev, "process.ancestry.0.uid"), gets_(ev, "actor.process.uid"));
	assert_null(get(ev, "process.lineage"));
	/* the envelope: OCSF 1.8.0 with the profile whose attributes it uses */
	assert_string_equal(gets_(ev, "metadata.version"), "1.8.0");
	assert_string_equal(gets_(ev, "metadata.profiles.0"), "host");
	assert_non_null(get(ev, "timezone_offset"));
	assert_string_equal(gets_(ev, "message"), "/usr/bin/vim.basic (pid 200) launched by bash (pid 100)");
	assert_string_equal(gets_(ev, "observables.0.name"), "process.name");
	assert_string_equal(gets_(ev, "observables.0.value"), "vim.basic");
	assert_string_equal(gets_(ev, "observables.4.name"), "actor.user.name");
	assert_string_equal(gets_(ev, "observables.4.value"), "alice");
	arr = get(ev, "unmapped.args");
	assert_int_equal(json_object_array_length(arr), 3);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(arr, 1)), "/etc/sh\"ad\now");
	assert_string_equal(gets_(ev, "unmapped.args_hex"), "7669002f6574632f73682261640a6f7700626164ff");
	json_object_put(ev);
	free(parent);
	free(e);
}

/* A parent the table does not have (it ended before the exec was read): the actor is still named. */
static void test_launch_of_unknown_parent_names_the_actor(void **state)
{
	struct fixture *f = *state;
	struct json_object *ev;
	struct ks_exec *e;
	char id[KS_PROC_ID_LEN];
	size_t size;

	e = make_exec(400, 9000, 399, 8000, "/usr/bin/true", "true\0", 5, &size);
	assert_int_equal(ks_process_handle(&f->pl, e, size), 0);
	ev = last_event(f);
	assert_int_equal(json_object_get_int(get(ev, "actor.process.pid")), 399);
	ks_proc_make_id(f->pl.host.boot_id, 399, 8000, id);
	assert_string_equal(gets_(ev, "actor.process.uid"), id);
	assert_string_equal(gets_(ev, "process.parent_process.uid"), id);
	assert_non_null(get(ev, "unmapped.actor_unknown"));
	json_object_put(ev);
	free(e);
}

/* A Terminate without process.file says why: a process forked by one never seen, that never exec'd. */
static void test_terminate_without_image_says_why(void **state)
{
	struct fixture *f = *state;
	struct ks_fork fk = {0};
	struct ks_exit x = {0};
	struct json_object *ev;

	fk.hdr.kind = KS_EV_FORK;
	fk.hdr.version = KS_WIRE_VERSION;
	fk.hdr.size = sizeof(fk);
	fk.hdr.pid = fk.hdr.tid = 500;
	fk.start_ns = 11000;
	fk.ppid = 499; /* not in the table */
	fk.parent_start_ns = 10000;
	assert_int_equal(ks_process_handle(&f->pl, &fk, sizeof(fk)), 0);
	x.hdr.kind = KS_EV_EXIT;
	x.hdr.version = KS_WIRE_VERSION;
	x.hdr.size = sizeof(x);
	x.hdr.pid = x.hdr.tid = 500;
	x.start_ns = 11000;
	assert_int_equal(ks_process_handle(&f->pl, &x, sizeof(x)), 0);
	ev = last_event(f);
	assert_null(get(ev, "process.file"));
	assert_non_null(get(ev, "unmapped.image_unknown"));
	assert_int_equal(json_object_get_int(get(ev, "process.parent_process.pid")), 499);
	json_object_put(ev);
}

static void test_terminate_with_signal_and_unknown_pid(void **state)
{
	struct fixture *f = *state;
	struct ks_exit x = {0};
	struct json_object *ev;
	struct ks_exec *e;
	size_t size;

	e = make_exec(300, 7000, 1, 1, "/usr/bin/sleep",
	              "sleep\0"
	              "9\0",
	              8, &size);
	assert_int_equal(ks_process_handle(&f->pl, e, size), 0);
	x.hdr.kind = KS_EV_EXIT;
	x.hdr.version = KS_WIRE_VERSION;
	x.hdr.size = sizeof(x);
	x.hdr.pid = x.hdr.tid = 300;
	x.start_ns = 7000;
	x.exit_code = 9 | 0x80; /* SIGKILL, core */
	assert_int_equal(ks_process_handle(&f->pl, &x, sizeof(x)), 0);
	ev = last_event(f);
	assert_int_equal(json_object_get_int(get(ev, "activity_id")), 2);
	assert_int_equal(json_object_get_int(get(ev, "exit_code")), 137);
	assert_string_equal(gets_(ev, "unmapped.signal.name"), "SIGKILL");
	assert_true(json_object_get_boolean(get(ev, "unmapped.signal.core_dumped")));
	assert_string_equal(gets_(ev, "process.file.path"), "/usr/bin/sleep");
	json_object_put(ev);
	/* kept, marked exited, for events still in flight; gone after the purge */
	assert_non_null(ks_proc_lookup(f->pl.procs, 300));
	assert_true(ks_proc_lookup(f->pl.procs, 300)->exited_ns != 0);
	/* a second exit record of the same process (two threads ending at once) is dropped, counted */
	assert_int_equal(ks_process_handle(&f->pl, &x, sizeof(x)), 0);
	assert_int_equal(f->pl.counters.exit_duplicate, 1);
	assert_int_equal(f->pl.counters.exit_unknown, 0);
	assert_int_equal(ks_proctable_purge(f->pl.procs, UINT64_MAX), 1);
	assert_null(ks_proc_lookup(f->pl.procs, 300));

	/* the same exit again, and one of a pid never seen: reported, counted, not fatal */
	x.exit_code = 3 << 8;
	assert_int_equal(ks_process_handle(&f->pl, &x, sizeof(x)), 0);
	ev = last_event(f);
	assert_int_equal(json_object_get_int(get(ev, "exit_code")), 3);
	assert_int_equal(json_object_get_int(get(ev, "process.pid")), 300);
	assert_null(get(ev, "process.file"));
	/* nothing made up: no user, no name, no parent pid 0; why, in the event */
	assert_null(get(ev, "process.user"));
	assert_null(get(ev, "process.name"));
	assert_null(get(ev, "process.parent_process"));
	assert_non_null(get(ev, "unmapped.process_unknown"));
	json_object_put(ev);
	assert_int_equal(f->pl.counters.exit_unknown, 1);
	free(e);
}

static void test_malformed_records_rejected(void **state)
{
	struct fixture *f = *state;
	struct ks_exec *e;
	struct ks_exec_view v;
	struct ks_hdr h = {.kind = 77, .version = KS_WIRE_VERSION, .size = sizeof(h)};
	size_t size;

	e = make_exec(1, 1, 0, 0, "/x", "x\0", 2, &size);
	assert_int_equal(ks_exec_decode(e, size, &v), 0);
	assert_int_equal(ks_exec_decode(e, size - 1, &v), -1); /* record says it is longer than what came */
	e->argv_len = 60000;                                   /* tail lengths beyond the record */
	assert_int_equal(ks_exec_decode(e, size, &v), -1);
	assert_int_equal(ks_process_handle(&f->pl, e, size), -1);
	e->argv_len = 2;
	e->hdr.version = 99;
	assert_int_equal(ks_process_handle(&f->pl, e, size), -1);
	assert_int_equal(ks_process_handle(&f->pl, &h, sizeof(h)), -1);
	assert_int_equal(ks_process_handle(&f->pl, &h, 3), -1);
	assert_int_equal(f->pl.counters.malformed, 4);
	free(e);
}

static void test_relative_script_made_absolute(void **state)
{
	struct fixture *f = *state;
	struct ks_exec *e = calloc(1, sizeof(*e));
	static const char tail[] = "/usr/bin/dash\0/bin/sh\0./run me.sh\0./run me.sh\0/home/a b\0/user.slice\0";
	struct json_object *ev;

	e->hdr.kind = KS_EV_EXEC;
	e->hdr.version = KS_WIRE_VERSION;
	e->hdr.pid = 400;
	e->start_ns = 1;
	e->flags = KS_F_SCRIPT | KS_F_SCRIPT_REL;
	e->creds.loginuid = e->creds.sessionid = KS_NO_ID;
	memcpy(e->data, tail, sizeof(tail) - 1);
	e->exe_len = 14;
	e->argv_len = 8 + 12;
	e->script_len = 12;
	e->cwd_len = 10;
	e->cgroup_len = 12;
	e->hdr.size = (uint32_t)(KS_EXEC_FIXED_SIZE + sizeof(tail) - 1);
	assert_int_equal(ks_process_handle(&f->pl, e, e->hdr.size), 0);
	ev = last_event(f);
	assert_string_equal(gets_(ev, "unmapped.script_path"), "/home/a b/run me.sh");
	assert_string_equal(gets_(ev, "unmapped.interpreter"), "/usr/bin/dash");
	assert_string_equal(gets_(ev, "unmapped.cgroup.path"), "/user.slice");
	json_object_put(ev);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_launch_event, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_launch_of_unknown_parent_names_the_actor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_terminate_without_image_says_why, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_terminate_with_signal_and_unknown_pid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_records_rejected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_relative_script_made_absolute, setup, teardown),
	};

	return cmocka_run_group_tests_name("process", tests, NULL, NULL);
}
