// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The process table: lineage, pid reuse, forks, exits of unknown processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/proctable.h"

static struct ks_proc *exec_(struct ks_proctable *t, uint32_t pid, uint64_t start, uint32_t ppid, uint64_t pstart,
                             const char *exe, const char *args, size_t args_len)
{
	struct ks_proc_image img = {.exe = exe, .exe_len = strlen(exe) + 1, .args = args, .args_len = args_len};
	bool created;
	struct ks_proc *p = ks_proc_get(t, pid, start, &created);

	assert_non_null(p);
	p->ppid = ppid;
	p->parent_start_ns = pstart;
	assert_int_equal(ks_proc_set_image(p, &img), 0);
	return p;
}

static void test_lineage_chain(void **state)
{
	struct ks_proctable *t = ks_proctable_new("boot-1");
	const struct ks_proc *out[KS_LINEAGE_MAX];
	struct ks_proc *leaf;
	size_t n;

	(void)state;
	exec_(t, 1, 10, 0, 0, "/sbin/init", NULL, 0);
	exec_(t, 100, 20, 1, 10, "/usr/sbin/sshd", NULL, 0);
	exec_(t, 200, 30, 100, 20, "/usr/bin/bash", NULL, 0);
	exec_(t, 300, 40, 200, 30, "/usr/bin/sudo", NULL, 0);
	leaf = exec_(t, 400, 50, 300, 40, "/usr/bin/id", "id\0-u\0", 6);
	n = ks_proc_lineage(t, leaf, out, KS_LINEAGE_MAX);
	assert_int_equal(n, 4);
	assert_string_equal(out[0]->exe, "/usr/bin/sudo");
	assert_string_equal(out[1]->exe, "/usr/bin/bash");
	assert_string_equal(out[2]->exe, "/usr/sbin/sshd");
	assert_string_equal(out[3]->exe, "/sbin/init");
	/* a bounded walk */
	assert_int_equal(ks_proc_lineage(t, leaf, out, 2), 2);
	assert_int_equal(ks_proctable_count(t), 5);
	ks_proctable_free(t);
}

static void test_pid_reuse_is_a_new_process(void **state)
{
	struct ks_proctable *t = ks_proctable_new("boot-1");
	struct ks_proc *old, *child, *p;
	char old_id[KS_PROC_ID_LEN];
	const struct ks_proc *out[4];
	bool created;

	(void)state;
	old = exec_(t, 500, 1000, 1, 0, "/usr/bin/old", "old\0", 4);
	snprintf(old_id, sizeof(old_id), "%s", old->id);
	child = exec_(t, 501, 1100, 500, 1000, "/usr/bin/child", NULL, 0);
	assert_ptr_equal(ks_proc_parent(t, child), old);

	/* pid 500 is reused by another process (its exit was never seen) */
	p = ks_proc_get(t, 500, 2000, &created);
	assert_true(created);
	assert_null(p->exe);
	assert_null(p->args);
	assert_string_not_equal(p->id, old_id);
	/* the child's parent is gone: the new holder of pid 500 is not it */
	assert_null(ks_proc_parent(t, child));
	assert_int_equal(ks_proc_lineage(t, child, out, 4), 0);
	/* the same (pid, start) is the same process */
	assert_ptr_equal(ks_proc_get(t, 500, 2000, &created), p);
	assert_false(created);
	assert_int_equal(ks_proctable_count(t), 2);
	ks_proctable_free(t);
}

static void test_stable_ids(void **state)
{
	char a[KS_PROC_ID_LEN], b[KS_PROC_ID_LEN], c[KS_PROC_ID_LEN], d[KS_PROC_ID_LEN];

	(void)state;
	ks_proc_make_id("boot-1", 42, 123456789, a);
	ks_proc_make_id("boot-1", 42, 123456789, b);
	ks_proc_make_id("boot-2", 42, 123456789, c);
	ks_proc_make_id("boot-1", 42, 123456790, d);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(a, d);
	assert_int_equal(strlen(a), 32);
}

static void test_exit_of_unknown_pid(void **state)
{
	struct ks_proctable *t = ks_proctable_new("b");

	(void)state;
	assert_false(ks_proc_remove(t, 12345, 1));
	exec_(t, 7, 70, 1, 0, "/bin/x", NULL, 0);
	assert_false(ks_proc_remove(t, 7, 71)); /* same pid, other process */
	assert_int_equal(ks_proctable_count(t), 1);
	assert_true(ks_proc_remove(t, 7, 70));
	assert_false(ks_proc_remove(t, 7, 70)); /* twice: the second is unknown */
	assert_int_equal(ks_proctable_count(t), 0);
	assert_null(ks_proc_lookup(t, 7));
	ks_proctable_free(t);
}

static void test_fork_inherits_then_exec_replaces(void **state)
{
	struct ks_proctable *t = ks_proctable_new("b");
	struct ks_proc *parent, *child;
	char cmd[64];

	(void)state;
	parent = exec_(t, 10, 100, 1, 0, "/usr/bin/bash", "bash\0-c\0x y\0", 12);
	parent->creds.uid = 1000;
	parent->creds.loginuid = 1000;
	child = ks_proc_fork(t, 11, 110, 10, 100);
	assert_non_null(child);
	assert_string_equal(child->exe, "/usr/bin/bash");
	assert_int_equal(child->args_len, 12);
	assert_int_equal(child->creds.uid, 1000);
	assert_int_equal(child->creds.loginuid, 1000);
	assert_ptr_equal(ks_proc_parent(t, child), parent);
	assert_int_equal(ks_proc_cmdline(child, cmd, sizeof(cmd)), 11);
	assert_string_equal(cmd, "bash -c x y");
	exec_(t, 11, 110, 10, 100, "/usr/bin/ls", "ls\0", 3);
	assert_string_equal(child->exe, "/usr/bin/ls");
	assert_string_equal(parent->exe, "/usr/bin/bash");

	/* a fork whose parent is unknown still makes an entry, with no image */
	child = ks_proc_fork(t, 99, 990, 98, 980);
	assert_non_null(child);
	assert_null(child->exe);
	assert_int_equal(child->ppid, 98);
	ks_proctable_free(t);
}

static void test_exited_kept_until_purged(void **state)
{
	struct ks_proctable *t = ks_proctable_new("b");
	struct ks_proc **all;
	size_t n;

	(void)state;
	exec_(t, 5, 50, 1, 0, "/bin/a", NULL, 0);
	exec_(t, 6, 60, 1, 0, "/bin/b", NULL, 0);
	assert_true(ks_proc_mark_exited(t, 5, 50, 1000));
	assert_false(ks_proc_mark_exited(t, 5, 50, 1001)); /* once */
	assert_false(ks_proc_mark_exited(t, 6, 61, 1000)); /* not that process */
	assert_non_null(ks_proc_lookup(t, 5));             /* still findable */
	assert_int_equal(ks_proctable_count(t), 1);        /* but not counted as running */
	all = ks_proctable_snapshot(t, &n);
	assert_int_equal(n, 1);
	assert_int_equal(all[0]->pid, 6);
	free(all);
	assert_int_equal(ks_proctable_purge(t, 1000), 0); /* exited at 1000: not before 1000 */
	assert_int_equal(ks_proctable_purge(t, 1001), 1);
	assert_null(ks_proc_lookup(t, 5));
	/* pid reuse of an exited entry */
	assert_true(ks_proc_mark_exited(t, 6, 60, 2000));
	exec_(t, 6, 70, 1, 0, "/bin/c", NULL, 0);
	assert_int_equal(ks_proctable_count(t), 1);
	assert_int_equal(ks_proctable_purge(t, UINT64_MAX), 0);
	ks_proctable_free(t);
}

/* The purge pops exits oldest first; entries removed or reused on the way leave the exited list. */
static void test_purge_in_exit_order(void **state)
{
	struct ks_proctable *t = ks_proctable_new("b");
	uint32_t pid;

	(void)state;
	for (pid = 1; pid <= 20000; pid++) /* more than the buckets: chains of several */
		exec_(t, pid, pid, 1, 0, "/x", NULL, 0);
	for (pid = 1; pid <= 20000; pid += 2)
		assert_true(ks_proc_mark_exited(t, pid, pid, 1000 + pid));
	assert_true(ks_proc_mark_exited(t, 4, 4, 500)); /* an exit that arrived late: behind later ones */
	assert_true(ks_proc_remove(t, 3, 3));           /* removed while on the list */
	exec_(t, 5, 55, 1, 0, "/y", NULL, 0);           /* pid 5 taken by a new process */
	assert_int_equal(ks_proctable_count(t), 10000 - 1 + 1);
	assert_int_equal(ks_proctable_purge(t, 1000 + 101), 48); /* 1, 7, 9, ..., 99: 3 and 5 left */
	assert_null(ks_proc_lookup(t, 1));
	assert_non_null(ks_proc_lookup(t, 4)); /* behind pid 101's exit: the next purge */
	assert_int_equal(ks_proc_lookup(t, 5)->start_ns, 55);
	assert_non_null(ks_proc_lookup(t, 101));
	assert_non_null(ks_proc_lookup(t, 2));
	assert_int_equal(ks_proctable_purge(t, UINT64_MAX), 10000 - 50 + 1);
	assert_null(ks_proc_lookup(t, 4));
	assert_null(ks_proc_lookup(t, 19999));
	assert_non_null(ks_proc_lookup(t, 20000));
	assert_int_equal(ks_proc_lookup(t, 5)->start_ns, 55);
	assert_int_equal(ks_proctable_count(t), 10000); /* the evens but 4, and the new 5 */
	assert_int_equal(ks_proctable_purge(t, UINT64_MAX), 0);
	ks_proctable_free(t);
}

/* The bound on exited entries: the oldest go first, only those due, and never below the bound. */
static void test_purge_beyond_a_bound(void **state)
{
	struct ks_proctable *t = ks_proctable_new("b");
	uint32_t pid;

	(void)state;
	for (pid = 1; pid <= 100; pid++) {
		exec_(t, pid, pid, 1, 0, "/x", NULL, 0);
		assert_true(ks_proc_mark_exited(t, pid, pid, 1000 + pid));
	}
	assert_int_equal(ks_proctable_purge_beyond(t, 1000 + 31, 60), 30);  /* due: 1..30, all go (70 left) */
	assert_int_equal(ks_proctable_purge_beyond(t, UINT64_MAX, 60), 10); /* 31..40 go, 60 stay */
	assert_null(ks_proc_lookup(t, 40));
	assert_non_null(ks_proc_lookup(t, 41));
	assert_int_equal(ks_proctable_purge_beyond(t, UINT64_MAX, 60), 0);
	assert_int_equal(ks_proctable_purge(t, UINT64_MAX), 60);
	ks_proctable_free(t);
}

static void test_snapshot_sorted_and_many(void **state)
{
	struct ks_proctable *t = ks_proctable_new("b");
	struct ks_proc **all;
	int pid;
	size_t n, i;

	(void)state;
	/* more entries than buckets, including colliding pids */
	for (pid = 40000; pid > 0; pid -= 3)
		exec_(t, (uint32_t)pid, (uint64_t)pid, 1, 0, "/x", NULL, 0);
	all = ks_proctable_snapshot(t, &n);
	assert_int_equal(n, ks_proctable_count(t));
	for (i = 1; i < n; i++)
		assert_true(all[i - 1]->pid < all[i]->pid);
	free(all);
	ks_proctable_free(t);
}

static void test_cmdline_truncates_safely(void **state)
{
	struct ks_proctable *t = ks_proctable_new("b");
	struct ks_proc *p = exec_(t, 1, 1, 0, 0, "/x", "abcdef\0ghi\0", 11);
	char small[5];

	(void)state;
	assert_int_equal(ks_proc_cmdline(p, small, sizeof(small)), 4);
	assert_string_equal(small, "abcd");
	assert_int_equal(ks_proc_cmdline(p, small, 1), 0);
	assert_string_equal(small, "");
	p = exec_(t, 2, 2, 0, 0, "/y", "a\0\0b c\0\0", 8); /* an empty argument; trailing NULs are not kept */
	assert_int_equal(ks_proc_cmdline(p, small, sizeof(small)), 4);
	assert_string_equal(small, "a  b");
	ks_proctable_free(t);
}

/* A new image may be built from the old one's own strings (one block holds them all), and NULLs stay NULL. */
static void test_image_from_its_own_strings(void **state)
{
	struct ks_proctable *t = ks_proctable_new("boot-1");
	struct ks_proc *p = exec_(t, 10, 1, 1, 0, "/usr/bin/python3", "python3\0-c\0", 11);
	struct ks_proc_image img = {.exe = p->exe,
	                            .exe_len = strlen(p->exe) + 1,
	                            .args = p->args,
	                            .args_len = p->args_len,
	                            .cgroup = "/system.slice/x.service",
	                            .cgroup_len = 23};

	(void)state;
	assert_null(p->script);
	assert_null(p->cgroup);
	assert_int_equal(ks_proc_set_image(p, &img), 0);
	assert_string_equal(p->exe, "/usr/bin/python3");
	assert_int_equal(p->args_len, 11);
	assert_memory_equal(p->args, "python3\0-c\0\0", 12);
	assert_string_equal(p->cgroup, "/system.slice/x.service");
	assert_null(p->script);
	img = (struct ks_proc_image){.exe = p->cgroup, .exe_len = strlen(p->cgroup)};
	assert_int_equal(ks_proc_set_image(p, &img), 0);
	assert_string_equal(p->exe, "/system.slice/x.service");
	assert_null(p->args);
	assert_int_equal(p->args_len, 0);
	assert_null(p->cgroup);
	ks_proctable_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lineage_chain),
	    cmocka_unit_test(test_pid_reuse_is_a_new_process),
	    cmocka_unit_test(test_stable_ids),
	    cmocka_unit_test(test_exit_of_unknown_pid),
	    cmocka_unit_test(test_fork_inherits_then_exec_replaces),
	    cmocka_unit_test(test_exited_kept_until_purged),
	    cmocka_unit_test(test_purge_in_exit_order),
	    cmocka_unit_test(test_purge_beyond_a_bound),
	    cmocka_unit_test(test_snapshot_sorted_and_many),
	    cmocka_unit_test(test_cmdline_truncates_safely),
	    cmocka_unit_test(test_image_from_its_own_strings),
	};

	return cmocka_run_group_tests_name("proctable", tests, NULL, NULL);
}
