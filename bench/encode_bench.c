// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * make encode-bench: the cost of turning decoded kernel records into OCSF lines, without BPF or a kernel.
 * The records are the ones the two storms of `make bench` produce (bench/workload.c): exec (fork + exec of
 * /bin/true with one argument, then its exit, under a shell in a session) and rr (a loopback connection
 * accepted by a thread of the same process, then both sides closed: 4 network events). They go through the
 * real sensors (process table, network model, OCSF encoders) into a sink that only checksums the lines.
 *
 *   encode_bench [--rounds N] [--ops N] [--dump FILE]
 * prints ns per event min/median/max over the rounds, per storm; --dump writes every line of one round of
 * each storm to FILE, with fixed ids and clocks, so two builds can be compared byte for byte (cmp).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/netmodel.h"
#include "model/proctable.h"
#include "host/users.h"
#include "pipeline/pipeline.h"
#include "sensors/net.h"
#include "sensors/process.h"

#define BOOT_ID "2c5a1f0e-8d7b-4c3a-9e21-5b6f7a8c9d0e"
#define SHELL_PID 4000u
#define WORKLOAD_PID 4100u
#define NETNS 4026531840u

static const uint8_t loopback[4] = {127, 0, 0, 1};

struct capture {
	FILE *dump;
	uint64_t events, bytes, sum;
};

static void capture_sink(void *ctx, int class_uid, const char *line, size_t len)
{
	struct capture *c = ctx;

	(void)class_uid;
	c->events++;
	c->bytes += len;
	c->sum = c->sum * 31 + (unsigned char)line[len / 2] + len; /* keeps the lines observable */
	if (c->dump) {
		fwrite(line, 1, len, c->dump);
		fputc('\n', c->dump);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* An exec record: exe, argv (NUL-separated, as taken from the new image) and cgroup path. */
static size_t make_exec(struct ks_exec *e, uint32_t pid, uint64_t start, uint32_t ppid, uint64_t pstart,
                        const char *exe, const char *args, size_t args_len)
{
	static const char cgroup[] = "/user.slice/user-1000.slice/session-3.scope";
	size_t off = 0, l = strlen(exe) + 1;

	memset(e, 0, KS_EXEC_FIXED_SIZE);
	e->hdr.kind = KS_EV_EXEC;
	e->hdr.version = KS_WIRE_VERSION;
	e->hdr.ts_ns = start + 350000;
	e->hdr.pid = e->hdr.tid = pid;
	e->start_ns = start;
	e->ppid = ppid;
	e->parent_start_ns = pstart;
	e->creds.uid = e->creds.euid = e->creds.gid = e->creds.egid = 0;
	e->creds.loginuid = 1000;
	e->creds.sessionid = 3;
	e->hdr.cgroup_id = 4242;
	memcpy(e->tty, "pts0", 5);
	memcpy(e->comm, "true", 5);
	memcpy(e->data + off, exe, l);
	e->exe_len = (uint16_t)l;
	off += l;
	memcpy(e->data + off, args, args_len);
	e->argv_len = (uint16_t)args_len;
	e->argv_total = (uint32_t)args_len;
	off += args_len;
	memcpy(e->data + off, cgroup, sizeof(cgroup));
	e->cgroup_len = sizeof(cgroup);
	off += sizeof(cgroup);
	e->hdr.size = (uint32_t)(KS_EXEC_FIXED_SIZE + off);
	return e->hdr.size;
}

static void handle_process(struct ks_pipeline *pl, const void *rec, size_t size)
{
	if (ks_process_handle(pl, rec, size) != 0) {
		fprintf(stderr, "encode_bench: a process record was refused: the bench's records are out of date\n");
		exit(1);
	}
}

static void handle_net(struct ks_pipeline *pl, const struct ks_net *e)
{
	if (ks_net_handle(pl, e, sizeof(*e)) != 0) {
		fprintf(stderr, "encode_bench: a network record was refused: the bench's records are out of date\n");
		exit(1);
	}
}

/* The shell and the workload process, in the table before any storm (as the daemon's seed has them). */
static void seed_processes(struct ks_pipeline *pl, struct ks_exec *e)
{
	handle_process(pl, e, make_exec(e, SHELL_PID, 1000000, 1, 1, "/usr/bin/bash", "-bash\0", 6));
	handle_process(pl, e,
	               make_exec(e, WORKLOAD_PID, 2000000, SHELL_PID, 1000000, "/work/build/bench/workload",
	                         "build/bench/workload\0exec\0"
	                         "20000\0m\0",
	                         35));
}

/* One exec operation: fork of the workload, exec of /bin/true m, exit 0 (Launch + Terminate). */
static void exec_op(struct ks_pipeline *pl, struct ks_exec *e, uint32_t pid, uint64_t t)
{
	struct ks_fork fk = {0};
	struct ks_exit x = {0};

	fk.hdr.kind = KS_EV_FORK;
	fk.hdr.version = KS_WIRE_VERSION;
	fk.hdr.size = sizeof(fk);
	fk.hdr.ts_ns = t;
	fk.hdr.pid = fk.hdr.tid = pid;
	fk.start_ns = t;
	fk.ppid = WORKLOAD_PID;
	fk.parent_start_ns = 2000000;
	handle_process(pl, &fk, sizeof(fk));
	/* every 16th carries what needs escaping (quote, backslash, tab, UTF-8, an invalid byte), so a --dump
	 * comparison covers the escaper too */
	if (pid % 16)
		handle_process(pl, e,
		               make_exec(e, pid, t, WORKLOAD_PID, 2000000, "/usr/bin/true", "/bin/true\0m\0", 12));
	else
		handle_process(pl, e,
		               make_exec(e, pid, t, WORKLOAD_PID, 2000000, "/usr/bin/true",
		                         "/bin/true\0a \"b\\c\td\0\xe8\xa6\xb3\xe6\xb8\xac\xff\0", 27));
	x.hdr.kind = KS_EV_EXIT;
	x.hdr.version = KS_WIRE_VERSION;
	x.hdr.size = sizeof(x);
	x.hdr.ts_ns = t + 700000;
	x.hdr.pid = x.hdr.tid = pid;
	x.start_ns = t;
	x.exit_code = pid % 7 ? (pid % 5) << 8 : 9; /* exit codes 0-4; some are killed (SIGKILL) */
	handle_process(pl, &x, sizeof(x));
}

static struct ks_net net_rec(uint8_t action, uint64_t sock, uint64_t t, uint8_t dir, uint16_t sport, uint16_t dport)
{
	struct ks_net e;

	memset(&e, 0, sizeof(e));
	e.hdr.kind = KS_EV_NET;
	e.hdr.version = KS_WIRE_VERSION;
	e.hdr.size = sizeof(e);
	e.hdr.ts_ns = t;
	e.hdr.pid = WORKLOAD_PID;
	e.hdr.tid = WORKLOAD_PID + 1;
	e.start_ns = 2000000;
	e.action = action;
	e.sock_id = sock;
	e.direction = dir;
	e.proto = 6;
	e.family = 4;
	e.uid = 0;
	e.loginuid = 1000;
	e.netns = NETNS;
	memcpy(e.saddr, loopback, 4); /* (inet_pton here was 3% of the bench, none of it the encoders') */
	memcpy(e.daddr, loopback, 4);
	e.sport = sport;
	e.dport = dport;
	return e;
}

/* One rr operation: connect (client Open), the acceptor's side established then accepted (Open), then the
 * acceptor closes and the client resets after reading EOF (two Closes). */
static void rr_op(struct ks_pipeline *pl, uint64_t i, uint64_t t)
{
	uint16_t port = 9000, eph = (uint16_t)(32768 + i % 28000);
	uint64_t cli = 0x100000000ull + i * 2, srv = cli + 1;
	struct ks_net e;

	e = net_rec(KS_NA_ESTABLISHED, cli, t + 30000, KS_DIR_OUT, eph, port);
	e.since_ns = t;
	handle_net(pl, &e);
	e = net_rec(KS_NA_ESTABLISHED, srv, t + 31000, KS_DIR_IN, port, eph);
	e.since_ns = t + 31000;
	e.lpid = WORKLOAD_PID;
	e.lstart_ns = 2000000;
	handle_net(pl, &e);
	e = net_rec(KS_NA_ACCEPT, srv, t + 40000, KS_DIR_IN, 0, 0);
	handle_net(pl, &e);
	e = net_rec(KS_NA_CLOSE, srv, t + 60000, KS_DIR_IN, 0, 0);
	e.bytes_out = 1;
	handle_net(pl, &e);
	e = net_rec(KS_NA_CLOSE, cli, t + 70000, KS_DIR_OUT, 0, 0);
	e.bytes_in = 1;
	e.nflags = KS_NF_RESET; /* the client resets after reading EOF */
	e.err = 104;            /* ECONNRESET */
	handle_net(pl, &e);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, uint64_t *ns, int rounds, uint64_t events_per_round)
{
	int mid = rounds / 2;
	double per = (double)events_per_round;

	qsort(ns, (size_t)rounds, sizeof(*ns), cmp_u64);
	printf("%-5s %8llu events/round  ns/event min %6.0f  median %6.0f  max %6.0f\n", name,
	       (unsigned long long)events_per_round, (double)ns[0] / per, (double)ns[mid] / per,
	       (double)ns[rounds - 1] / per);
}

struct options {
	int rounds, ops;
	const char *dump;
};

/* 0, or 2 after saying what is wrong */
static int parse_args(int argc, char **argv, struct options *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			o->rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--ops") && i + 1 < argc)
			o->ops = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dump") && i + 1 < argc)
			o->dump = argv[++i];
		else
			goto usage;
	}
	if (o->rounds >= 1 && o->rounds <= 64 && o->ops >= 1)
		return 0;
usage:
	fprintf(stderr, "usage: encode_bench [--rounds N (1-64)] [--ops N (> 0)] [--dump FILE]\n");
	return 2;
}

/* The pipeline of a host with fixed ids and clocks: the dump is the same every run. 0, or -1. */
static int setup_pipeline(struct ks_pipeline *pl, struct capture *cap)
{
	memset(pl, 0, sizeof(*pl));
	snprintf(pl->host.boot_id, sizeof(pl->host.boot_id), BOOT_ID);
	snprintf(pl->host.machine_id, sizeof(pl->host.machine_id), "0b5d3c1a9e8f7a6b5c4d3e2f1a0b9c8d");
	snprintf(pl->host.hostname, sizeof(pl->host.hostname), "bench-host");
	snprintf(pl->host.os_name, sizeof(pl->host.os_name), "Debian GNU/Linux");
	snprintf(pl->host.os_version, sizeof(pl->host.os_version), "12");
	snprintf(pl->host.kernel_release, sizeof(pl->host.kernel_release), "6.1.0-28-amd64");
	pl->host.boot_to_wall_ns = 1764633600000000000ll;
	pl->instance = 0x6b616e736f6b75ull;
	pl->users = ks_users_new("/etc/passwd");
	pl->procs = ks_proctable_new(BOOT_ID);
	pl->net = ks_netmodel_new(200000000ull);
	if (!pl->users || !pl->procs || !pl->net || ks_pipeline_add_sink(pl, "capture", capture_sink, cap)) {
		fprintf(stderr, "encode_bench: cannot set up the pipeline (out of memory?)\n");
		return -1;
	}
	return 0;
}

static void free_pipeline(struct ks_pipeline *pl)
{
	ks_netmodel_free(pl->net);
	ks_proctable_free(pl->procs);
	ks_users_free(pl->users);
	ks_jw_free(&pl->jw);
	free(pl->device_json);
	ks_pipeline_free_actors(pl);
}

/* The storms, interleaved round by round so both see the same noise; 0, or -1 when one wrote nothing. */
static int run_rounds(struct ks_pipeline *pl, struct capture *cap, struct ks_exec *e, const struct options *o)
{
	uint64_t exec_ns[64], rr_ns[64], exec_events = 0, rr_events = 0, t = 10000000000ull, pid = 10000;
	int r, k;

	for (r = 0; r < o->rounds; r++) {
		uint64_t t0, before = cap->events;

		t0 = now_ns();
		for (k = 0; k < o->ops; k++, t += 1000000)
			exec_op(pl, e, (uint32_t)pid++, t);
		exec_ns[r] = now_ns() - t0;
		exec_events = cap->events - before;
		before = cap->events;
		t0 = now_ns();
		for (k = 0; k < o->ops; k++, t += 1000000)
			rr_op(pl, (uint64_t)r * (uint64_t)o->ops + (uint64_t)k, t);
		rr_ns[r] = now_ns() - t0;
		rr_events = cap->events - before;
		if (cap->dump) { /* one round of each is enough to compare */
			fclose(cap->dump);
			cap->dump = NULL;
		}
		if (pid > 4000000)
			pid = 10000;
	}
	if (!exec_events || !rr_events) {
		fprintf(stderr, "encode_bench: a storm produced no events (%llu exec, %llu rr)\n",
		        (unsigned long long)exec_events, (unsigned long long)rr_events);
		return -1;
	}
	report("exec", exec_ns, o->rounds, exec_events);
	report("rr", rr_ns, o->rounds, rr_events);
	printf("(%d rounds of %d operations each; checksum %016llx, %.0f bytes/event)\n", o->rounds, o->ops,
	       (unsigned long long)cap->sum, (double)cap->bytes / (double)cap->events);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = {9, 20000, NULL};
	struct capture cap = {0};
	struct ks_pipeline pl;
	struct ks_exec *e = NULL;
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc;
	rc = 1;
	if (setup_pipeline(&pl, &cap))
		goto cleanup;
	e = malloc(sizeof(*e));
	if (!e) {
		fprintf(stderr, "encode_bench: out of memory\n");
		goto cleanup;
	}
	if (o.dump && !(cap.dump = fopen(o.dump, "w"))) {
		fprintf(stderr, "encode_bench: cannot write %s: %s\n", o.dump, strerror(errno));
		goto cleanup;
	}
	seed_processes(&pl, e);
	if (run_rounds(&pl, &cap, e, &o) == 0)
		rc = 0;
cleanup:
	if (cap.dump)
		fclose(cap.dump);
	free_pipeline(&pl);
	free(e);
	return rc;
}
