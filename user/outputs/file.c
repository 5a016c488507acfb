// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * File output: one JSON event per line, appended. Lines are gathered in a buffer and written with one
 * write(2) per loop turn, so the file only ever holds whole lines. If a write fails (disk full, I/O error)
 * the events in the buffer are counted lost and the error is kept for `kansoku status`; the next turn
 * tries again. SIGHUP reopens the file (after logrotate moved it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kansoku/log.h"
#include "kansoku/output.h"

#define FILE_BUF (256 * 1024)

struct file_output {
	struct ks_output base;
	int fd;
	char *buf;
	size_t len;
	uint64_t pending; /* events in buf */
};

static int open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
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

				if (end >= (off_t)off && ftruncate(f->fd, end - (off_t)off) == 0)
					off = 0;
			}
			goto lost;
		}
		off += (size_t)n;
	}
	if (!o->stats.healthy)
		ks_info("output file %s: writing again", o->stats.target);
	o->stats.events += f->pending;
	o->stats.bytes += f->len;
	o->stats.healthy = true;
	o->stats.last_errno = 0;
	f->len = 0;
	f->pending = 0;
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

	if (f->len + len + 1 > FILE_BUF)
		file_flush(o);
	if (len + 1 > FILE_BUF) { /* cannot happen with bounded events; count rather than cut */
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
}

static void file_close(struct ks_output *o)
{
	struct file_output *f = (struct file_output *)o;

	if (f->fd >= 0)
		close(f->fd);
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

	if (!f || !(f->buf = malloc(FILE_BUF))) {
		free(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
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
	return &f->base;
}
