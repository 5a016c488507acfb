// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Output building blocks: the durable queue (order, acknowledgement, resend after a restart, a killed
 * writer's partial line, oldest-first loss at the bound, counted exactly), RFC 5424 formatting and
 * SD-PARAM escaping of hostile values, and the OCSF -> ECS mapping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "config/config.h"
#include "outputs/netout.h"
#include "outputs/outputs.h"
#include "outputs/queue.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ks-queue-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void put_n(struct ks_queue *q, int from, int n)
{
	char line[64];

	for (int i = from; i < from + n; i++) {
		int len = snprintf(line, sizeof(line), "{\"n\":%d}", i);

		ks_queue_append(q, line, (size_t)len);
	}
	ks_queue_commit(q);
}

static int rec_n(const struct ks_batch *b, size_t i)
{
	return atoi(b->buf + b->off[i] + 5);
}

static void test_queue_order_ack_and_resume(void **state)
{
	char err[256];
	struct ks_batch b = {0};
	struct ks_queue_stats st;
	struct ks_queue *q = ks_queue_open(dir, 1 << 20, err, sizeof(err));

	(void)state;
	assert_non_null(q);
	put_n(q, 0, 100);
	assert_int_equal(ks_queue_read(q, &b, 30, 1 << 20, 0), 30);
	assert_int_equal(rec_n(&b, 0), 0);
	assert_int_equal(rec_n(&b, 29), 29);
	assert_int_equal(ks_queue_read(q, &b, 30, 1 << 20, 0), 30); /* reads ahead of acks */
	assert_int_equal(rec_n(&b, 0), 30);
	ks_queue_ack(q, 40);
	ks_queue_rewind(q); /* the connection broke: 40..59 go again */
	assert_int_equal(ks_queue_read(q, &b, 10, 1 << 20, 0), 10);
	assert_int_equal(rec_n(&b, 0), 40);
	ks_queue_stats(q, &st);
	assert_int_equal(st.acked, 40);
	assert_int_equal(st.pending, 60);
	ks_queue_close(q); /* as if killed: what was not acknowledged is there after the restart */

	q = ks_queue_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(q);
	ks_queue_stats(q, &st);
	assert_int_equal(st.resumed, 60);
	assert_int_equal(ks_queue_read(q, &b, 1000, 1 << 20, 0), 60);
	assert_int_equal(rec_n(&b, 0), 40);
	assert_int_equal(rec_n(&b, 59), 99);
	ks_queue_ack(q, 60);
	ks_queue_stats(q, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(ks_queue_read(q, &b, 10, 1 << 20, 50), 0); /* empty: waits, then nothing */
	ks_queue_close(q);
	ks_batch_free(&b);
}

static void test_queue_cuts_a_partial_line(void **state)
{
	char err[256], path[128];
	struct ks_batch b = {0};
	struct ks_queue *q = ks_queue_open(dir, 1 << 20, err, sizeof(err));
	int fd;

	(void)state;
	put_n(q, 0, 3);
	ks_queue_close(q);
	/* a writer killed in the middle of a line */
	snprintf(path, sizeof(path), "%s/0000000000000001.seg", dir);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"n\":3", 6), 6);
	close(fd);
	q = ks_queue_open(dir, 1 << 20, err, sizeof(err));
	assert_int_equal(ks_queue_read(q, &b, 100, 1 << 20, 0), 3);
	assert_int_equal(rec_n(&b, 2), 2);
	ks_queue_close(q);
	ks_batch_free(&b);
}

/* A bound of 64 KiB (8 KiB segments): the oldest goes first and every lost record is counted. */
static void test_queue_bound_drops_oldest_and_counts(void **state)
{
	char err[256];
	struct ks_batch b = {0};
	struct ks_queue_stats st;
	struct ks_queue *q = ks_queue_open(dir, 64 * 1024, err, sizeof(err));
	uint64_t got = 0;
	int first = -1, last = -1;

	(void)state;
	for (int i = 0; i < 20000; i += 100)
		put_n(q, i, 100); /* ~10 bytes each: 200 KB in all, the bound keeps ~64 KB */
	ks_queue_stats(q, &st);
	assert_true(st.lost > 0);
	assert_true(st.bytes <= 64 * 1024);
	for (size_t n; (n = ks_queue_read(q, &b, 1000, 1 << 20, 0));) {
		if (first < 0)
			first = rec_n(&b, 0);
		assert_int_equal(rec_n(&b, n - 1), first + (int)got + (int)n - 1); /* no gap inside */
		last = rec_n(&b, n - 1);
		got += n;
		ks_queue_ack(q, n);
	}
	assert_int_equal(last, 19999);              /* the newest is kept */
	assert_int_equal(got + st.lost, 20000);     /* exactly */
	assert_int_equal((uint64_t)first, st.lost); /* the oldest went */
	ks_queue_close(q);
	ks_batch_free(&b);
}

/* A disk smaller than the bound: ENOSPC makes room by dropping the oldest segment, and the count of
 * what was lost is exact (delivered + lost = appended). Needs root for the tmpfs. */
static void test_queue_full_disk_counts_exactly(void **state)
{
	char err[256], cmd[200], line[256];
	struct ks_batch b = {0};
	struct ks_queue_stats st;
	struct ks_queue *q;
	uint64_t got = 0;

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=256k tmpfs %s", dir);
	assert_int_equal(system(cmd), 0);
	q = ks_queue_open(dir, 64u << 20, err, sizeof(err)); /* the bound is far: the disk is the limit */
	assert_non_null(q);
	for (int i = 0; i < 5000; i++) {
		int len = snprintf(line, sizeof(line), "{\"n\":%d,\"pad\":\"%0180d\"}", i, 0);

		ks_queue_append(q, line, (size_t)len);
		if (i % 50 == 49)
			ks_queue_commit(q);
	}
	ks_queue_stats(q, &st);
	assert_int_equal(st.appended, 5000);
	assert_true(st.lost > 0);
	for (size_t n; (n = ks_queue_read(q, &b, 1000, 1 << 20, 0));) {
		got += n;
		ks_queue_ack(q, n);
	}
	ks_queue_stats(q, &st);
	assert_int_equal(got + st.lost, 5000);
	assert_int_equal(st.pending, 0);
	ks_queue_close(q);
	ks_batch_free(&b);
	snprintf(cmd, sizeof(cmd), "umount %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_sd_escape(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(ks_sd_escape(out, sizeof(out), "a\"b\\c]d", 7), 10);
	assert_string_equal(out, "a\\\"b\\\\c\\]d");
	assert_int_equal(ks_sd_escape(out, sizeof(out), "x\0y", 3), 3);
	assert_string_equal(out, "x?y");
}

static void test_syslog_format(void **state)
{
	struct ks_netout o = {0};
	struct ks_jw w;
	const char *ev = "{\"class_uid\":1001,\"severity_id\":4,\"time\":1790000000123,\"metadata\":{\"sequence\":42},"
	                 "\"file\":{\"path\":\"/tmp/a\\nb]\\\"\"}}";

	(void)state;
	o.cfg.facility = 16;
	snprintf(o.cfg.app_name, sizeof(o.cfg.app_name), "kansoku");
	snprintf(o.hostname, sizeof(o.hostname), "host1");
	o.pid = 77;
	ks_jw_init(&w);
	ks_syslog_format(&o, ev, strlen(ev), &w);
	/* <16*8+3>1 TIMESTAMP HOSTNAME APP PROCID MSGID SD MSG; the JSON carries its escapes as they are */
	assert_int_equal(strncmp(w.buf,
	                         "<131>1 2026-09-21T14:13:20.123Z host1 kansoku 77 1001 [origin software=\"kansoku\" "
	                         "swVersion=\"" KS_VERSION "\"][meta sequenceId=\"42\"] {\"class_uid\":1001",
	                         strlen("<131>1 2026-09-21T14:13:20.123Z host1 kansoku 77 1001 [origin "
	                                "software=\"kansoku\" swVersion=\"" KS_VERSION "\"][meta sequenceId=\"42\"] "
	                                "{\"class_uid\":1001")),
	                 0);
	assert_null(memchr(w.buf, '\n', w.len)); /* one record, whatever the path held */
	ks_jw_free(&w);
}

static void test_ecs_mapping(void **state)
{
	const char *ev = "{\"class_uid\":1007,\"activity_id\":1,\"activity_name\":\"Launch\",\"severity_id\":1,"
	                 "\"time\":1790000000123,\"metadata\":{\"uid\":\"abc\",\"sequence\":7},"
	                 "\"device\":{\"hostname\":\"h\",\"uid\":\"m\",\"boot_uid\":\"b\",\"os\":{\"name\":\"Debian\","
	                 "\"kernel_release\":\"6.1\"}},\"process\":{\"pid\":10,\"uid\":\"p1\",\"file\":{\"path\":"
	                 "\"/bin/true\"},\"cmd_line\":\"true x\",\"parent_process\":{\"pid\":1}},\"actor\":{\"user\":"
	                 "{\"uid\":\"0\",\"name\":\"root\"}}}";
	struct ks_jw w;
	struct json_object *d, *v;

	(void)state;
	ks_jw_init(&w);
	assert_int_equal(ks_ecs_from_ocsf(ev, strlen(ev), &w), 0);
	d = json_tokener_parse(w.buf);
	assert_non_null(d);
	assert_string_equal(json_object_get_string(json_object_object_get(d, "@timestamp")),
	                    "2026-09-21T14:13:20.123Z");
	v = json_object_object_get(d, "event");
	assert_string_equal(json_object_get_string(json_object_object_get(v, "kind")), "event");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(json_object_object_get(v, "category"), 0)),
	                    "process");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(json_object_object_get(v, "type"), 0)),
	                    "start");
	assert_string_equal(json_object_get_string(json_object_object_get(v, "id")), "abc");
	v = json_object_object_get(d, "process");
	assert_string_equal(json_object_get_string(json_object_object_get(v, "executable")), "/bin/true");
	assert_int_equal(json_object_get_int(json_object_object_get(json_object_object_get(v, "parent"), "pid")), 1);
	assert_string_equal(json_object_get_string(json_object_object_get(json_object_object_get(d, "host"), "id")),
	                    "m");
	assert_string_equal(json_object_get_string(json_object_object_get(json_object_object_get(d, "user"), "name")),
	                    "root");
	assert_non_null(json_object_object_get(json_object_object_get(d, "kansoku"), "ocsf"));
	/* a host sensor is ECS's agent, not an observer; the version is one the output is checked against */
	assert_string_equal(json_object_get_string(json_object_object_get(json_object_object_get(d, "agent"), "type")),
	                    "kansoku");
	assert_null(json_object_object_get(d, "observer"));
	assert_string_equal(json_object_get_string(json_object_object_get(json_object_object_get(d, "ecs"), "version")),
	                    "8.17.0");
	json_object_put(d);

	/* a resolved finding: configuration has no "end" in ECS, it is a change; the standards are names, not
	 * a rule.reference URL; a count is kansoku's (event.* is ECS's reserved set) */
	ev = "{\"class_uid\":2003,\"activity_id\":3,\"time\":1790000000123,\"count\":4,\"message\":\"m\","
	     "\"compliance\":{\"control\":\"KS-1\",\"standards\":[\"CIS 1.5.1\"]}}";
	ks_jw_reset(&w);
	assert_int_equal(ks_ecs_from_ocsf(ev, strlen(ev), &w), 0);
	d = json_tokener_parse(w.buf);
	assert_non_null(d);
	v = json_object_object_get(d, "event");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(json_object_object_get(v, "type"), 0)),
	                    "change");
	assert_null(json_object_object_get(v, "count"));
	assert_string_equal(json_object_get_string(json_object_object_get(d, "message")), "m");
	assert_null(json_object_object_get(json_object_object_get(d, "rule"), "reference"));
	v = json_object_object_get(d, "kansoku");
	assert_int_equal(json_object_get_int(json_object_object_get(v, "count")), 4);
	assert_string_equal(
	    json_object_get_string(json_object_array_get_idx(json_object_object_get(v, "standards"), 0)), "CIS 1.5.1");
	json_object_put(d);
	assert_int_equal(ks_ecs_from_ocsf("not json", 8, &w), -1);
	ks_jw_free(&w);
}

/* A file output on a character device (a null device made in the temp dir: a real /dev/null is never
 * put at risk) reaches max_size: it must not be renamed away and replaced by a plain file. */
static void test_file_output_never_rotates_a_device(void **state)
{
	struct ks_output_cfg cfg = {.type = KS_OUT_FILE, .max_size_kb = 64, .keep = 2, .compress = false};
	char path[128], rotated[160], err[256], line[1024];
	struct ks_output *o;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/null", dir);
	if (mknod(path, S_IFCHR | 0666, makedev(1, 3)))
		skip(); /* not root */
	snprintf(cfg.path, sizeof(cfg.path), "%s", path);
	snprintf(cfg.name, sizeof(cfg.name), "devnull");
	o = ks_output_file_open(&cfg, err, sizeof(err));
	assert_non_null(o);
	memset(line, 'x', sizeof(line));
	for (int i = 0; i < 300; i++) /* ~300 KiB: past max_size_kb several times */
		o->ops->write(o, line, sizeof(line));
	o->ops->flush(o);
	o->ops->close(o);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	assert_int_equal(access(rotated, F_OK), -1);
}

/* A rotated file larger than one compression chunk (1 MiB) becomes several gzip members: the system's
 * gzip must accept it (-t) and give back exactly the lines written, in order, with the current file. */
static void test_file_output_rotated_file_is_whole_gzip(void **state)
{
	struct ks_output_cfg cfg = {.type = KS_OUT_FILE, .max_size_kb = 2560, .keep = 2, .compress = true};
	char path[128], cmd[512], err[256], line[256];
	struct ks_output *o;
	FILE *want;
	int i, n;

	(void)state;
	snprintf(path, sizeof(path), "%s/events.json", dir);
	snprintf(cfg.path, sizeof(cfg.path), "%s", path);
	snprintf(cfg.name, sizeof(cfg.name), "file");
	o = ks_output_file_open(&cfg, err, sizeof(err));
	assert_non_null(o);
	snprintf(cmd, sizeof(cmd), "%s/want", dir);
	want = fopen(cmd, "w");
	assert_non_null(want);
	for (i = 0; i < 16000; i++) { /* ~3 MiB: one rotation of a 2.5 MiB file, three members */
		n = snprintf(line, sizeof(line), "{\"n\":%d,\"x\":\"%0*d\"}", i, 120 + i % 97, i * 7919);
		o->ops->write(o, line, (size_t)n);
		fprintf(want, "%s\n", line);
		if (i % 500 == 499)
			o->ops->flush(o); /* rotation is decided at a flush, as on the loop */
	}
	o->ops->flush(o);
	o->ops->close(o); /* waits for the compression */
	fclose(want);
	snprintf(cmd, sizeof(cmd), "gzip -t %s/events.json.1.gz && test ! -e %s/events.json.1", dir, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "test $(gzip -l %s/events.json.1.gz | awk 'NR == 2 {print $1}') -lt 2621440", dir);
	assert_int_equal(system(cmd), 0); /* compressed, not a copy */
	snprintf(cmd, sizeof(cmd), "zcat %s/events.json.1.gz | cat - %s/events.json | cmp -s - %s/want", dir, dir, dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_queue_order_ack_and_resume, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_cuts_a_partial_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_bound_drops_oldest_and_counts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_full_disk_counts_exactly, setup, teardown),
	    cmocka_unit_test(test_sd_escape),
	    cmocka_unit_test(test_syslog_format),
	    cmocka_unit_test(test_ecs_mapping),
	    cmocka_unit_test_setup_teardown(test_file_output_never_rotates_a_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_output_rotated_file_is_whole_gzip, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
