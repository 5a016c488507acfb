// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sink_cost: what the default file output costs per byte, without the rest of kansokud. An events file's
 * bytes are appended to a new file in DIR in 2 MiB writes (the file output's buffer), then that file is
 * compressed as rotation does it (libdeflate level 1, one gzip member per MiB). Prints the CPU (user +
 * system, getrusage) of each per KiB, min/median/max over the rounds. The bytes an rr connection writes
 * (`kansoku status`: outputs[].bytes over connections) times these is what recording it costs in the sink
 * alone, whatever the sensor does before.
 *   sink_cost EVENTS_FILE DIR [ROUNDS]
 */
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define WRITE_CHUNK (2u << 20)
#define GZ_CHUNK (1u << 20)
#define ROUNDS_MAX 64

static double cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static char *slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	int fd = open(path, O_RDONLY);
	size_t got = 0;

	if (fd < 0 || fstat(fd, &st) < 0 || !(buf = malloc((size_t)st.st_size + 1)))
		goto fail;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0)
			goto fail;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
fail:
	perror(path);
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* One round: seconds of CPU to write, then to compress, the len bytes. */
static int round_once(const char *dir, const char *data, size_t len, double *w_s, double *z_s)
{
	static char in[GZ_CHUNK];
	char path[4096], gz[4200];
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(1);
	size_t bound = c ? libdeflate_gzip_compress_bound(c, GZ_CHUNK) : 0, off;
	char *out = bound ? malloc(bound) : NULL;
	int fd = -1, zfd = -1, rc = -1;
	double t0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/sink_cost.json", dir);
	snprintf(gz, sizeof(gz), "%s.gz", path);
	if (!out)
		goto cleanup;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		goto cleanup;
	t0 = cpu_now();
	for (off = 0; off < len; off += WRITE_CHUNK)
		if (write_all(fd, data + off, len - off < WRITE_CHUNK ? len - off : WRITE_CHUNK))
			goto cleanup;
	*w_s = cpu_now() - t0;
	close(fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	zfd = open(gz, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || zfd < 0)
		goto cleanup;
	t0 = cpu_now();
	while ((n = read(fd, in, GZ_CHUNK)) > 0) {
		size_t z = libdeflate_gzip_compress(c, in, (size_t)n, out, bound);

		if (!z || write_all(zfd, out, z))
			goto cleanup;
	}
	*z_s = cpu_now() - t0;
	rc = n < 0 ? -1 : 0;
cleanup:
	if (rc)
		perror("sink_cost");
	if (fd >= 0)
		close(fd);
	if (zfd >= 0)
		close(zfd);
	unlink(path);
	unlink(gz);
	free(out);
	libdeflate_free_compressor(c);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void spread(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("  %s: %.3f / %.3f / %.3f us per KiB (min / median / max)\n", what, v[0],
	       n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v[n - 1]);
}

int main(int argc, char **argv)
{
	double w[ROUNDS_MAX], z[ROUNDS_MAX];
	int rounds = argc > 3 ? atoi(argv[3]) : 7, r;
	size_t len;
	char *data;

	if (argc < 3 || rounds < 1 || rounds > ROUNDS_MAX) {
		fprintf(stderr, "usage: sink_cost EVENTS_FILE DIR [ROUNDS (1-%d)]\n", ROUNDS_MAX);
		return 2;
	}
	if (!(data = slurp(argv[1], &len)) || !len) {
		free(data);
		return 1;
	}
	for (r = 0; r < rounds; r++) {
		if (round_once(argv[2], data, len, &w[r], &z[r])) {
			free(data);
			return 1;
		}
		w[r] = w[r] * 1e6 / ((double)len / 1024);
		z[r] = z[r] * 1e6 / ((double)len / 1024);
	}
	printf("sink_cost: %zu bytes, %d rounds\n", len, rounds);
	spread("append (2 MiB writes)", w, rounds);
	spread("gzip (libdeflate level 1, 1 MiB members)", z, rounds);
	free(data);
	return 0;
}
