// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * File output: one JSON event per line, appended. Lines are gathered in a buffer and written with one
 * write(2) per loop turn, so the file only ever holds whole lines. If a write fails (disk full, I/O error)
 * the events in the buffer are counted lost and the error is kept for `kansoku status`; the next turn
 * tries again. SIGHUP reopens the file (after logrotate moved it).
 *
 * Rotation by size: when the file reaches max_size_kb it is renamed PATH.1 (older ones shift to PATH.2 ...,
 * the oldest beyond `keep` is removed) and a new PATH is opened; PATH.1 is then gzip-compressed to
 * PATH.1.gz by a forked child, so a large file never stalls the event loop. While a compression still
 * runs, rotation is put off (the file grows past the limit a little) rather than waiting for it: the loop
 * must keep draining the kernel. A write is never split across files.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <libdeflate.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/hotmem.h"
#include "lib/log.h"
#include "lib/prio.h"
#include "outputs/outputs.h"
#include "outputs/ecs.h"

#define GZ_CHUNK (1024 * 1024)     /* input per gzip member: larger compresses no better */
#define FILE_BUF (2 * 1024 * 1024) /* one huge page (lib/hotmem.h): every event is copied into it */

struct file_output {
	struct ks_output base;
	int fd;
	char *buf;
	size_t len, cap;
	uint64_t pending; /* events in buf */
	uint64_t size;    /* bytes in the current file */
	uint64_t max_size;
	unsigned keep;
	bool compress;
	pid_t gz_pid; /* the child compressing PATH.1, 0 if none */
	bool ecs;     /* format: ecs, converted here (on the loop: prefer a network output for volume) */
	struct ks_jw ecs_jw;
};

static int open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
}

static void rotated_name(char *out, size_t len, const char *path, unsigned i, bool gz)
{
	snprintf(out, len, "%s.%u%s", path, i, gz ? ".gz" : "");
}

/* write(2) until all of buf is out (a regular file on a full disk says ENOSPC, not a short count) */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * In the child: PATH.1 -> PATH.1.gz (via a temporary name, so a reader never sees half a file). Each
 * GZ_CHUNK of input becomes one gzip member (RFC 1952 2.2: a file may hold several; gunzip, zcat and
 * every gzip library read them as one stream). libdeflate's level 1 takes half the CPU of zlib's and
 * writes a fifth less: a connection storm fills 100 MiB in seconds, and this CPU is the host's too.
 */
static int gzip_file(const char *src, const char *dst)
{
	char tmp[KS_CFG_PATH_MAX + 40]; /* dst is rotated_name's: the path and ".N.gz" */
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(1);
	size_t bound = c ? libdeflate_gzip_compress_bound(c, GZ_CHUNK) : 0;
	char *in = malloc(GZ_CHUNK), *out = malloc(bound ? bound : 1);
	int in_fd = -1, out_fd = -1, ok = 0;
	ssize_t n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
	if (!c || !in || !out)
		goto cleanup;
	in_fd = open(src, O_RDONLY | O_CLOEXEC);
	out_fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (in_fd < 0 || out_fd < 0 || fchmod(out_fd, 0640) < 0) /* whatever the umask: events are private */
		goto cleanup;
	for (;;) {
		size_t len = 0, z;

		while (len < GZ_CHUNK && (n = read(in_fd, in + len, GZ_CHUNK - len)) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				goto cleanup;
			len += (size_t)n;
		}
		if (!len)
			break;
		z = libdeflate_gzip_compress(c, in, len, out, bound);
		if (!z || write_all(out_fd, out, z))
			goto cleanup;
		if (len < GZ_CHUNK)
			break;
	}
	ok = close(out_fd) == 0 && rename(tmp, dst) == 0;
	out_fd = -1;
cleanup:
	if (out_fd >= 0)
		close(out_fd);
	if (in_fd >= 0)
		close(in_fd);
	if (!ok)
		unlink(tmp);
	else
		unlink(src);
	free(in);
	free(out);
	libdeflate_free_compressor(c);
	return ok ? 0 : -1;
}

/* Reap the compressing child; with wait, block until it is done. */
static void reap(struct file_output *f, bool wait)
{
	int status;
	pid_t r;

	if (!f->gz_pid)
		return;
	do
		r = waitpid(f->gz_pid, &status, wait ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return;
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		ks_warn("output file %s: compressing the rotated file failed; it stays uncompressed as %s.1",
		        f->base.stats.target, f->base.stats.target);
	f->gz_pid = 0;
}

static void rotate(struct file_output *f)
{
	const char *path = f->base.stats.target;
	char from[KS_CFG_PATH_MAX + 32], to[KS_CFG_PATH_MAX + 32];
	struct stat st;
	unsigned i;
	int fd, g;

	/* /dev/null, a FIFO, a terminal: renaming one would put a plain file in its place (for every program
	 * on the host, in /dev/null's case) */
	if (fstat(f->fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		ks_info("output file %s is not a regular file: it is never rotated", path);
		f->max_size = 0;
		return;
	}
	/* the oldest goes, the others move up one (no compression runs now: the caller made sure) */
	for (g = 0; g < 2; g++) {
		rotated_name(from, sizeof(from), path, f->keep, g);
		unlink(from);
	}
	for (i = f->keep - 1; i >= 1; i--)
		for (g = 0; g < 2; g++) {
			rotated_name(from, sizeof(from), path, i, g);
			rotated_name(to, sizeof(to), path, i + 1, g);
			if (rename(from, to) < 0 && errno != ENOENT)
				ks_warn("output file %s: rotating %s: %s", path, from, strerror(errno));
		}
	rotated_name(to, sizeof(to), path, 1, false);
	if (rename(path, to) < 0) {
		ks_warn("output file %s: rotation failed: %s; writing on in the same file", path, strerror(errno));
		return;
	}
	fd = open_file(path);
	if (fd < 0) {
		f->base.stats.last_errno = errno;
		ks_warn("output file %s: opening a new file after rotation failed: %s", path, strerror(errno));
	}
	if (f->fd >= 0)
		close(f->fd);
	f->fd = fd;
	f->size = 0;
	f->base.stats.rotations++;
	if (!f->compress)
		return;
	rotated_name(from, sizeof(from), path, 1, false);
	rotated_name(to, sizeof(to), path, 1, true);
	f->gz_pid = fork();
	if (f->gz_pid == 0) {
		/* a storm that filled the file must not also pay for compressing it: lowest weight, but it
		 * always progresses (rotation waits for it, so starving it would let the file grow) */
		ks_prio_lower(KS_PRIO_BACKGROUND); /* (and not the loop's priority_boost) */
		_exit(gzip_file(from, to) == 0 ? 0 : 1);
	}
	if (f->gz_pid < 0) {
		ks_warn("output file %s: cannot fork to compress %s: %s", path, from, strerror(errno));
		f->gz_pid = 0;
	}
}

static uint64_t fd_size(int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void file_flush(struct ks_output *o)
{
	struct file_output *f = (struct file_output *)o;
	size_t off = 0;

	if (!f->len)
		return;
	if (f->fd < 0) {
		f->fd = open_file(o->stats.target);
		if (f->fd < 0) {
			o->stats.last_errno = errno;
			goto lost;
		}
		f->size = fd_size(f->fd);
	}
	while (off < f->len) {
		ssize_t n = write(f->fd, f->buf + off, f->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			if (o->stats.healthy || o->stats.last_errno != e)
				ks_warn(
				    "output file %s: write failed: %s; events are counted as lost until it recovers",
				    o->stats.target, strerror(e));
			o->stats.last_errno = e;
			/* a partial line must not stay behind: cut the file back to the last whole line */
			if (off) {
				off_t end = lseek(f->fd, 0, SEEK_END);

				if (end < (off_t)off || ftruncate(f->fd, end - (off_t)off))
					ks_warn("output file %s: cannot cut back a partial line: %s", o->stats.target,
					        strerror(errno));
			}
			goto lost;
		}
		off += (size_t)n;
	}
	if (!o->stats.healthy)
		ks_info("output file %s: writing again", o->stats.target);
	o->stats.events += f->pending;
	o->stats.bytes += f->len;
	f->size += f->len;
	o->stats.healthy = true;
	o->stats.last_errno = 0;
	f->len = 0;
	f->pending = 0;
	reap(f, false);
	if (f->max_size && f->size >= f->max_size && !f->gz_pid)
		rotate(f);
	return;
lost:
	o->stats.lost += f->pending;
	o->stats.healthy = false;
	f->len = 0;
	f->pending = 0;
}

static void file_write(struct ks_output *o, const char *line, size_t len)
{
	struct file_output *f = (struct file_output *)o;

	if (f->ecs) {
		ks_jw_reset(&f->ecs_jw);
		if (!ks_ecs_from_ocsf(line, len, &f->ecs_jw) && !f->ecs_jw.oom) {
			line = f->ecs_jw.buf;
			len = f->ecs_jw.len;
		}
	}

	if (f->len + len + 1 > f->cap)
		file_flush(o);
	if (len + 1 > f->cap) { /* cannot happen with bounded events; count rather than cut */
		o->stats.lost++;
		return;
	}
	memcpy(f->buf + f->len, line, len);
	f->buf[f->len + len] = '\n';
	f->len += len + 1;
	f->pending++;
}

static void file_reopen(struct ks_output *o)
{
	struct file_output *f = (struct file_output *)o;
	int fd;

	file_flush(o);
	fd = open_file(o->stats.target);
	if (fd < 0) {
		ks_warn("output file %s: reopen failed: %s; keeping the old file", o->stats.target, strerror(errno));
		return;
	}
	if (f->fd >= 0)
		close(f->fd);
	f->fd = fd;
	f->size = fd_size(fd);
}

static void file_close(struct ks_output *o)
{
	struct file_output *f = (struct file_output *)o;

	reap(f, true);
	if (f->fd >= 0)
		close(f->fd);
	ks_jw_free(&f->ecs_jw);
	free(f->buf);
	free(f);
}

static const struct ks_output_ops file_ops = {
    .kind = "file",
    .write = file_write,
    .flush = file_flush,
    .reopen = file_reopen,
    .close = file_close,
};

struct ks_output *ks_output_file_open(const struct ks_output_cfg *cfg, char *err, size_t errlen)
{
	struct file_output *f = calloc(1, sizeof(*f));
	size_t cap = FILE_BUF;

	if (!f || !(f->buf = ks_hot_alloc(&cap))) {
		free(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->cap = cap;
	f->base.ops = &file_ops;
	snprintf(f->base.stats.kind, sizeof(f->base.stats.kind), "file");
	snprintf(f->base.stats.target, sizeof(f->base.stats.target), "%s", cfg->path);
	f->fd = open_file(cfg->path);
	if (f->fd < 0) {
		snprintf(err, errlen, "output file '%s' (config line %d): cannot open for appending: %s", cfg->path,
		         cfg->line, strerror(errno));
		free(f->buf);
		free(f);
		return NULL;
	}
	f->base.stats.healthy = true;
	f->size = fd_size(f->fd);
	f->max_size = (uint64_t)cfg->max_size_kb * 1024;
	f->keep = cfg->keep ? cfg->keep : 1;
	f->compress = cfg->compress;
	f->ecs = cfg->format == KS_FMT_ECS;
	ks_jw_init(&f->ecs_jw);
	snprintf(f->base.stats.name, sizeof(f->base.stats.name), "%s", cfg->name);
	return &f->base;
}
