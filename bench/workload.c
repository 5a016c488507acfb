// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Benchmark workloads. Prints one JSON line: operations, wall seconds, rate, and the CPU seconds the
 * workload used (itself and its children), so run.sh can report CPU per operation.
 *   workload exec N [ARG]   fork + exec /bin/true [ARG] N times, one after another, as fast as possible
 *   workload open N PATH    openat + read + close of PATH N times
 *   workload miss N PATH    openat of PATH, which does not exist, N times (a search path: libraries, locales)
 *   workload conn N PORT    N loopback TCP connections to 127.0.0.1:PORT: the client connects and closes, a
 *                           forked server accepts and closes (loopback reuses the client's TIME_WAIT ports)
 *   workload rr N PORT      N request/response connections in one process: an acceptor thread accepts and
 *                           closes at once; the client connects, reads until the server's close, then closes
 *                           with SO_LINGER {1, 0} (a reset: no TIME_WAIT), so each round trip waits on the last
 */
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

static int exec_storm(long n, const char *arg)
{
	char *const args[] = {"/bin/true", (char *)arg, NULL};
	long i;

	for (i = 0; i < n; i++) {
		pid_t pid = fork();
		int status;

		if (pid < 0) {
			perror("fork");
			return -1;
		}
		if (pid == 0) {
			execv(args[0], args);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "child failed\n");
			return -1;
		}
	}
	return 0;
}

/* Each open must fail with ENOENT: a file that exists would measure the other path. */
static int miss_storm(long n, const char *path)
{
	long i;

	for (i = 0; i < n; i++) {
		int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0 || errno != ENOENT) {
			fprintf(stderr, "workload miss: %s must not exist (open gave %d, %s)\n", path, fd,
			        fd >= 0 ? "a file" : strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
	}
	return 0;
}

static int open_storm(long n, const char *path)
{
	char buf[256];
	long i;

	for (i = 0; i < n; i++) {
		int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			perror(path);
			return -1;
		}
		if (read(fd, buf, sizeof(buf)) < 0) {
			perror("read");
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

static int conn_storm(long n, int port)
{
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1, srv, status;
	pid_t pid;
	long i;

	srv = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv < 0 || setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(srv, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(srv, 4096) < 0) {
		perror("listen");
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < n; i++) {
			int c = accept(srv, NULL, NULL);

			if (c < 0) {
				perror("accept");
				_exit(1);
			}
			close(c);
		}
		_exit(0);
	}
	close(srv);
	for (i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			perror("connect");
			return -1;
		}
		close(c);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

struct rr_acceptor {
	int srv;
	long n;
	int failed;
};

static void *rr_accept_loop(void *arg)
{
	struct rr_acceptor *a = arg;
	long i;

	for (i = 0; i < a->n; i++) {
		int c = accept4(a->srv, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			perror("accept");
			a->failed = 1;
			return NULL;
		}
		close(c);
	}
	return NULL;
}

/* One request/response round: connect, read until the server's close (EOF), close with a reset. */
static int rr_round(const struct sockaddr_in *sa)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	char buf[64];
	ssize_t r;
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (c < 0 || connect(c, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		perror("connect");
		goto fail;
	}
	while ((r = read(c, buf, sizeof(buf))) > 0)
		;
	if (r < 0) {
		perror("read");
		goto fail;
	}
	if (setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0) {
		perror("SO_LINGER");
		goto fail;
	}
	close(c);
	return 0;
fail:
	if (c >= 0)
		close(c);
	return -1;
}

static int rr_storm(long n, int port)
{
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct rr_acceptor a = {.n = n};
	pthread_t th;
	int one = 1, rc = 0;
	long i;

	a.srv = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (a.srv < 0 || setsockopt(a.srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(a.srv, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(a.srv, 4096) < 0) {
		perror("listen");
		return -1;
	}
	if (pthread_create(&th, NULL, rr_accept_loop, &a)) {
		fprintf(stderr, "pthread_create failed\n");
		close(a.srv);
		return -1;
	}
	for (i = 0; i < n && !rc; i++)
		rc = rr_round(&sa);
	if (rc) /* wake the acceptor: shutting the listener down makes accept() fail */
		shutdown(a.srv, SHUT_RDWR);
	pthread_join(th, NULL);
	close(a.srv);
	return rc || a.failed ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct rusage self, kids;
	double t0, t1;
	long n;

	int rc;

	if (argc < 3 ||
	    (strcmp(argv[1], "exec") && strcmp(argv[1], "open") && strcmp(argv[1], "miss") && strcmp(argv[1], "conn") &&
	     strcmp(argv[1], "rr")) ||
	    (strcmp(argv[1], "exec") && argc < 4)) {
		fprintf(stderr, "usage: workload exec N [ARG] | workload open|miss N PATH | workload conn|rr N PORT\n");
		return 2;
	}
	n = atol(argv[2]);
	t0 = now();
	if (!strcmp(argv[1], "exec"))
		rc = exec_storm(n, argc > 3 ? argv[3] : "bench");
	else if (!strcmp(argv[1], "open"))
		rc = open_storm(n, argv[3]);
	else if (!strcmp(argv[1], "miss"))
		rc = miss_storm(n, argv[3]);
	else if (!strcmp(argv[1], "conn"))
		rc = conn_storm(n, atoi(argv[3]));
	else
		rc = rr_storm(n, atoi(argv[3]));
	if (rc < 0)
		return 1;
	t1 = now();
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	printf("{\"ops\":%ld,\"seconds\":%.6f,\"ops_per_s\":%.1f,\"cpu_s\":%.6f}\n", n, t1 - t0, (double)n / (t1 - t0),
	       tv(self.ru_utime) + tv(self.ru_stime) + tv(kids.ru_utime) + tv(kids.ru_stime));
	return 0;
}
