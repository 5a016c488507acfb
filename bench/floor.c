// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of a tracepoint hook: an empty BPF program ("return 0") attached to one tracepoint, so the
 * benchmark can measure what any program there costs before it does any work.
 *   floor CATEGORY/EVENT   e.g. floor syscalls/sys_exit_openat
 * Prints "ready" once attached and stays attached until its standard input closes.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The tracepoint's id from tracefs (where it is mounted on current systems, then the debugfs path). */
static long tracepoint_id(const char *tp)
{
	static const char *const roots[] = {"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"};
	char path[512];
	size_t i;
	long id = -1;

	for (i = 0; i < sizeof(roots) / sizeof(roots[0]) && id < 0; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s/id", roots[i], tp);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%ld", &id) != 1)
			id = -1;
		fclose(f);
	}
	return id;
}

int main(int argc, char **argv)
{
	const struct bpf_insn prog[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	struct perf_event_attr attr = {
	    .type = PERF_TYPE_TRACEPOINT, .size = sizeof(attr), .sample_period = 1, .wakeup_events = 1};
	int pfd = -1, efd = -1, rc = 1;
	char c;
	long id;

	if (argc != 2) {
		fprintf(stderr, "usage: floor CATEGORY/EVENT (e.g. syscalls/sys_exit_openat)\n");
		return 2;
	}
	id = tracepoint_id(argv[1]);
	if (id < 0) {
		fprintf(stderr, "floor: no tracepoint %s in tracefs (is tracefs mounted?)\n", argv[1]);
		return 1;
	}
	pfd = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, "ks_floor", "GPL", prog, 2, NULL);
	if (pfd < 0) {
		fprintf(stderr, "floor: loading the empty program failed: %s (run as root)\n", strerror(errno));
		goto cleanup;
	}
	attr.config = (unsigned long long)id;
	efd = (int)syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (efd < 0 || ioctl(efd, PERF_EVENT_IOC_SET_BPF, pfd) < 0 || ioctl(efd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
		fprintf(stderr, "floor: attaching to %s failed: %s\n", argv[1], strerror(errno));
		goto cleanup;
	}
	printf("ready\n");
	fflush(stdout);
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	rc = 0;
cleanup:
	if (efd >= 0)
		close(efd);
	if (pfd >= 0)
		close(pfd);
	return rc;
}
