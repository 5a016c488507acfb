// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The security sensors' records -> OCSF: decoding checks, and the events each record turns into. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/ocsf.h"
#include "sensors/process.h"
#include "sensors/security.h"
#include "pipeline_fixture.h"

static void hdr(struct ks_hdr *h, uint16_t kind, uint32_t pid, uint32_t size)
{
	h->kind = kind;
	h->version = KS_WIRE_VERSION;
	h->size = size;
	h->ts_ns = 1000000;
	h->pid = h->tid = pid;
}

/* A process in the table, as an exec record would put it there. */
static void add_proc(struct fixture *f, uint32_t pid, uint64_t start, uint32_t ppid, const char *exe, uint32_t flags)
{
	static struct ks_exec e;
	size_t l = strlen(exe) + 1, n = strlen(ks_basename(exe)) + 1;

	memset(&e, 0, sizeof(e));
	hdr(&e.hdr, KS_EV_EXEC, pid, 0);
	e.start_ns = start;
	e.ppid = ppid;
	e.flags = flags;
	e.creds.loginuid = e.creds.sessionid = KS_NO_ID;
	memcpy(e.data, exe, l);
	e.exe_len = (uint16_t)l;
	memcpy(e.data + l, ks_basename(exe), n);
	e.argv_len = (uint16_t)n;
	memcpy(e.data + l + n, "/", 2);
	e.cgroup_len = 2;
	e.hdr.size = (uint32_t)(KS_EXEC_FIXED_SIZE + l + n + 2);
	assert_int_equal(ks_process_handle(&f->pl, &e, e.hdr.size), 0);
}

static struct ks_ptrace make_ptrace(uint32_t req, int32_t ret)
{
	struct ks_ptrace t;

	memset(&t, 0, sizeof(t));
	hdr(&t.hdr, KS_EV_PTRACE, 300, sizeof(t));
	t.start_ns = 3000;
	t.creds.uid = 1000;
	t.creds.loginuid = 1000;
	t.ret = ret;
	t.request = req;
	t.target_arg = 400;
	t.target_pid = ret == 0 ? 400 : 0;
	t.target_tid = t.target_pid;
	t.target_start_ns = ret == 0 ? 4000 : 0;
	t.addr = 0x7ffd1000;
	return t;
}

static void test_ptrace_attach_is_open_with_tracee_and_tracer(void **state)
{
	struct fixture *f = *state;
	struct ks_ptrace t = make_ptrace(KS_PTRACE_SEIZE, 0);
	struct json_object *ev;

	add_proc(f, 300, 3000, 1, "/usr/bin/gdb", 0);
	add_proc(f, 400, 4000, 1, "/usr/sbin/sshd", 0);
	/* through the process ring's handler, as the daemon receives it */
	assert_int_equal(ks_process_handle(&f->pl, &t, sizeof(t)), 0);
	ev = last_event(f);
	assert_int_equal(json_object_get_int(get(ev, "class_uid")), 1007);
	assert_int_equal(json_object_get_int(get(ev, "activity_id")), 3);
	assert_string_equal(gets_(ev, "activity_name"), "Open");
	assert_int_equal(json_object_get_int(get(ev, "type_uid")), 100703);
	assert_string_equal(gets_(ev, "status"), "Success");
	assert_string_equal(gets_(ev, "process.file.path"), "/usr/sbin/sshd");
	assert_int_equal(json_object_get_int(get(ev, "process.pid")), 400);
	assert_string_equal(gets_(ev, "actor.process.file.path"), "/usr/bin/gdb");
	assert_string_equal(gets_(ev, "actor.user.name"), "alice");
	assert_string_equal(gets_(ev, "unmapped.ptrace_request"), "PTRACE_SEIZE");
	assert_null(get(ev, "injection_type_id"));
	assert_int_equal(f->pl.counters.sec_events, 1);
	assert_int_equal(f->pl.counters.received[KS_EV_PTRACE], 1);
	json_object_put(ev);
}

static void test_ptrace_refused_attach_and_unresolved_tracee(void **state)
{
	struct fixture *f = *state;
	struct ks_ptrace t = make_ptrace(KS_PTRACE_ATTACH, -EPERM);
	struct json_object *ev;

	assert_int_equal(ks_security_handle(&f->pl, &t, sizeof(t)), 0);
	ev = last_event(f);
	assert_string_equal(gets_(ev, "status"), "Failure");
	assert_string_equal(gets_(ev, "status_detail"), "EPERM");
	assert_int_equal(json_object_get_int(get(ev, "process.pid")), 400); /* the argument, as given */
	assert_true(json_object_get_boolean(get(ev, "unmapped.target_unresolved")));
	json_object_put(ev);
}

static void test_ptrace_poke_is_inject(void **state)
{
	struct fixture *f = *state;
	struct ks_ptrace t = make_ptrace(KS_PTRACE_POKEDATA, 0);
	struct json_object *ev;

	assert_int_equal(ks_security_handle(&f->pl, &t, sizeof(t)), 0);
	ev = last_event(f);
	assert_int_equal(json_object_get_int(get(ev, "activity_id")), 4);
	assert_string_equal(gets_(ev, "activity_name"), "Inject");
	assert_int_equal(json_object_get_int(get(ev, "injection_type_id")), 99);
	assert_string_equal(gets_(ev, "injection_type"), "ptrace");
	assert_string_equal(gets_(ev, "unmapped.address"), "0x7ffd1000");
	assert_string_equal(gets_(ev, "unmapped.ptrace_request"), "PTRACE_POKEDATA");
	json_object_put(ev);
}

static void test_ptrace_decode_refuses_short_or_wrong(void **state)
{
	struct fixture *f = *state;
	struct ks_ptrace t = make_ptrace(KS_PTRACE_ATTACH, 0);
	const struct ks_ptrace *out;

	assert_int_equal(ks_ptrace_decode(&t, sizeof(t), &out), 0);
	assert_int_equal(ks_ptrace_decode(&t, sizeof(t) - 1, &out), -1);
	t.hdr.kind = KS_EV_KMOD;
	assert_int_equal(ks_ptrace_decode(&t, sizeof(t), &out), -1);
	assert_int_equal(ks_security_handle(&f->pl, &t, sizeof(t)), -1);
	assert_int_equal(f->pl.counters.malformed, 1);
	assert_string_equal(ks_ptrace_request_name(KS_PTRACE_POKEUSR), "PTRACE_POKEUSER");
	assert_string_equal(ks_ptrace_request_name(1), "unknown");
}

static size_t make_kmod(struct ks_kmod *m, uint32_t call, const char *path, const char *params)
{
	size_t pl = path ? strlen(path) + 1 : 0, ql = strlen(params) + 1;

	memset(m, 0, sizeof(*m));
	m->start_ns = 3000;
	m->call = call;
	m->ret = 0;
	m->creds.loginuid = KS_NO_ID;
	if (path)
		memcpy(m->data, path, pl);
	memcpy(m->data + pl, params, ql);
	m->path_len = (uint16_t)pl;
	m->params_len = (uint16_t)ql;
	hdr(&m->hdr, KS_EV_KMOD, 300, (uint32_t)(KS_KMOD_FIXED_SIZE + pl + ql));
	return m->hdr.size;
}

static void test_kmod_finit_and_init(void **state)
{
	struct fixture *f = *state;
	static struct ks_kmod m;
	struct json_object *ev;
	size_t size;

	add_proc(f, 300, 3000, 1, "/usr/sbin/insmod", 0);
	size = make_kmod(&m, KS_KMOD_FINIT, "/tmp/rootkit.ko", "hide=1");
	assert_int_equal(ks_process_handle(&f->pl, &m, size), 0);
	ev = last_event(f);
	assert_int_equal(json_object_get_int(get(ev, "class_uid")), 1002);
	assert_string_equal(gets_(ev, "class_name"), "Kernel Extension Activity");
	assert_string_equal(gets_(ev, "activity_name"), "Load");
	assert_int_equal(json_object_get_int(get(ev, "type_uid")), 100201);
	assert_string_equal(gets_(ev, "driver.file.path"), "/tmp/rootkit.ko");
	assert_string_equal(gets_(ev, "driver.file.name"), "rootkit.ko");
	assert_string_equal(gets_(ev, "unmapped.parameters"), "hide=1");
	assert_string_equal(gets_(ev, "unmapped.syscall"), "finit_module");
	assert_string_equal(gets_(ev, "actor.process.file.path"), "/usr/sbin/insmod");
	json_object_put(ev);

	size = make_kmod(&m, KS_KMOD_INIT, NULL, "");
	m.image_len = 123456;
	m.ret = -EEXIST;
	assert_int_equal(ks_security_handle(&f->pl, &m, size), 0);
	ev = last_event(f);
	assert_null(get(ev, "driver.file.path"));
	assert_int_equal(json_object_get_int(get(ev, "unmapped.image_bytes")), 123456);
	assert_null(get(ev, "unmapped.parameters"));
	assert_string_equal(gets_(ev, "status_detail"), "EEXIST");
	json_object_put(ev);
}

static void test_kmod_decode_refuses_bad_tails(void **state)
{
	static struct ks_kmod m;
	struct ks_kmod_view v;
	size_t size;

	(void)state;
	size = make_kmod(&m, KS_KMOD_FINIT, "/lib/modules/x.ko", "");
	assert_int_equal(ks_kmod_decode(&m, size, &v), 0);
	assert_string_equal(v.path, "/lib/modules/x.ko");
	m.path_len = 2000; /* beyond the record */
	assert_int_equal(ks_kmod_decode(&m, size, &v), -1);
	size = make_kmod(&m, KS_KMOD_FINIT, "/lib/modules/x.ko", "");
	m.data[m.path_len - 1] = 'x'; /* not NUL-terminated */
	assert_int_equal(ks_kmod_decode(&m, size, &v), -1);
	size = make_kmod(&m, KS_KMOD_FINIT, "/lib/modules/x.ko", "");
	m.hdr.size = (uint32_t)size + 1; /* claims more than was read */
	assert_int_equal(ks_kmod_decode(&m, size, &v), -1);
}

static size_t make_setid(struct ks_setid *s, uint32_t call, const char *base, const char *name, uint32_t mode)
{
	size_t bl = base ? strlen(base) + 1 : 0, nl = name ? strlen(name) + 1 : 0;

	memset(s, 0, sizeof(*s));
	s->start_ns = 3000;
	s->call = call;
	s->mode = mode;
	s->creds.loginuid = KS_NO_ID;
	if (base)
		memcpy(s->data, base, bl);
	if (name)
		memcpy(s->data + bl, name, nl);
	s->base_len = (uint16_t)bl;
	s->name_len = (uint16_t)nl;
	hdr(&s->hdr, KS_EV_SETID, 300, (uint32_t)(KS_SETID_FIXED_SIZE + bl + nl));
	return s->hdr.size;
}

static void test_setid_relative_name_is_joined_and_folded(void **state)
{
	struct fixture *f = *state;
	static struct ks_setid s;
	struct json_object *ev;
	size_t size;

	size = make_setid(&s, KS_SETID_FCHMODAT, "/srv/app", "../../tmp/./x", 04755);
	assert_int_equal(ks_process_handle(&f->pl, &s, size), 0);
	ev = last_event(f);
	assert_int_equal(json_object_get_int(get(ev, "class_uid")), 1001);
	assert_string_equal(gets_(ev, "activity_name"), "Set Security");
	assert_string_equal(gets_(ev, "file.path"), "/tmp/x");
	assert_string_equal(gets_(ev, "unmapped.path_as_given"), "../../tmp/./x");
	assert_string_equal(gets_(ev, "unmapped.mode_requested"), "04755");
	assert_true(json_object_get_boolean(get(ev, "unmapped.setuid")));
	assert_false(json_object_get_boolean(get(ev, "unmapped.setgid")));
	assert_string_equal(gets_(ev, "unmapped.syscall"), "fchmodat");
	json_object_put(ev);
}

static void test_setid_fchmod_uses_the_file(void **state)
{
	struct fixture *f = *state;
	static struct ks_setid s;
	struct json_object *ev;
	size_t size;

	size = make_setid(&s, KS_SETID_FCHMOD, "/usr/local/bin/tool", NULL, 02755);
	s.file_mode = 0102755;
	s.ino = 42;
	s.sflags = KS_SF_FROM_FILE;
	assert_int_equal(ks_security_handle(&f->pl, &s, size), 0);
	ev = last_event(f);
	assert_string_equal(gets_(ev, "file.path"), "/usr/local/bin/tool");
	assert_int_equal(json_object_get_int(get(ev, "file.type_id")), 1);
	assert_string_equal(gets_(ev, "file.uid"), "42");
	assert_string_equal(gets_(ev, "unmapped.mode"), "02755");
	assert_true(json_object_get_boolean(get(ev, "unmapped.setgid")));
	assert_string_equal(gets_(ev, "unmapped.path_source"), "file");
	assert_null(get(ev, "unmapped.path_as_given"));
	json_object_put(ev);
}

static void test_setid_decode_refuses_bad_tails(void **state)
{
	static struct ks_setid s;
	static struct ks_setid_view v;
	size_t size;

	(void)state;
	size = make_setid(&s, KS_SETID_CHMOD, NULL, NULL, 04755); /* no path at all */
	assert_int_equal(ks_setid_decode(&s, size, &v), -1);
	size = make_setid(&s, KS_SETID_CHMOD, NULL, "/x", 04755);
	assert_int_equal(ks_setid_decode(&s, size, &v), 0);
	assert_string_equal(v.path, "/x");
	s.name_len = 9000;
	assert_int_equal(ks_setid_decode(&s, size, &v), -1);
	assert_int_equal(ks_setid_decode(&s, KS_SETID_FIXED_SIZE - 1, &v), -1);
}

static void test_exec_stdio_on_inet_socket(void **state)
{
	struct fixture *f = *state;
	struct json_object *ev, *arr;

	add_proc(f, 500, 5000, 1, "/usr/bin/bash", KS_F_STDIN_INET | KS_F_STDERR_INET);
	ev = last_event(f);
	assert_true(json_object_get_boolean(get(ev, "unmapped.stdio_socket")));
	arr = get(ev, "unmapped.stdio_sockets");
	assert_int_equal(json_object_array_length(arr), 2);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(arr, 0)), "stdin");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(arr, 1)), "stderr");
	json_object_put(ev);

	add_proc(f, 501, 5001, 1, "/usr/bin/bash", 0);
	ev = last_event(f);
	assert_null(get(ev, "unmapped.stdio_socket"));
	json_object_put(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ptrace_attach_is_open_with_tracee_and_tracer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ptrace_refused_attach_and_unresolved_tracee, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ptrace_poke_is_inject, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ptrace_decode_refuses_short_or_wrong, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kmod_finit_and_init, setup, teardown),
	    cmocka_unit_test(test_kmod_decode_refuses_bad_tails),
	    cmocka_unit_test_setup_teardown(test_setid_relative_name_is_joined_and_folded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_setid_fchmod_uses_the_file, setup, teardown),
	    cmocka_unit_test(test_setid_decode_refuses_bad_tails),
	    cmocka_unit_test_setup_teardown(test_exec_stdio_on_inet_socket, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
