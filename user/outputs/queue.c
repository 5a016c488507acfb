// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The durable queue (include/kansoku/queue.h). Segment files NNNN.seg hold one event per line; the file
 * "ack" holds the first unacknowledged position (segment, offset). The loop writes whole lines with one
 * write() per commit, so a killed daemon leaves at most a partial last line, cut at the next open. Data
 * in the page cache survives a killed process; fsync is left to the kernel's writeback (a power loss
 * may cost the last seconds).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "outputs/queue.h"

struct seg {
	uint64_t id, size, records, acked; /* acked: records of this segment acknowledged (first segment) */
};

struct pos {
	uint64_t seg, off;
};

struct ks_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int dirfd, ackfd, wfd, rfd;
	uint64_t rfd_seg;
	bool reading; /* the sender is in pread on rfd (outside the lock) */
	uint64_t max_bytes, seg_max;
	struct seg *segs; /* oldest first; the last is the writer's */
	size_t n_segs, cap_segs;
	uint64_t ack_off; /* in segs[0] */
	struct pos rd;    /* next byte to read */
	struct pos *infl; /* end of each record read and not acknowledged, oldest first */
	size_t infl_head, infl_n, infl_cap;
	uint64_t gen; /* bumped when unacknowledged data is dropped */
	bool wake;
	char *wbuf; /* loop side, not locked */
	size_t wlen, wcap, wrecs;
	struct ks_queue_stats st;
};

static void seg_name(char *out, size_t len, uint64_t id)
{
	snprintf(out, len, "%016" PRIx64 ".seg", id);
}

static uint64_t total_bytes(const struct ks_queue *q)
{
	uint64_t t = 0;

	for (size_t i = 0; i < q->n_segs; i++)
		t += q->segs[i].size;
	return t;
}

static void save_ack(struct ks_queue *q)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%016" PRIx64 " %016" PRIx64 "\n", q->segs[0].id, q->ack_off);

	/* one small pwrite: replaced whole as far as a killed process is concerned */
	if (pwrite(q->ackfd, line, (size_t)n, 0) != n)
		q->st.last_errno = errno;
}

/* Locked. A deleted segment's space only comes back when no fd holds it: the reader's goes now, or
 * right after its read when it is reading. */
static void unlink_seg(struct ks_queue *q, uint64_t id)
{
	char name[64];

	seg_name(name, sizeof(name), id);
	unlinkat(q->dirfd, name, 0);
	if (q->rfd >= 0 && q->rfd_seg == id && !q->reading) {
		close(q->rfd);
		q->rfd = -1;
	}
}

static struct pos infl_at(const struct ks_queue *q, size_t i)
{
	return q->infl[(q->infl_head + i) % q->infl_cap];
}

/*
 * Locked. The oldest segment goes; what in it was not acknowledged is lost, except the records already
 * sent and waiting for the receiver's word: they stay in flight (their segment marked gone, 0) and
 * count as delivered if acknowledged, as lost if the sender has to give them up (rewind).
 */
static void drop_oldest(struct ks_queue *q)
{
	uint64_t id = q->segs[0].id, sent = 0;

	for (size_t i = 0; i < q->infl_n; i++) {
		struct pos *p = &q->infl[(q->infl_head + i) % q->infl_cap];

		if (p->seg == id) {
			p->seg = 0;
			sent++;
		}
	}
	q->st.lost += q->segs[0].records - q->segs[0].acked - sent;
	unlink_seg(q, id);
	memmove(q->segs, q->segs + 1, (q->n_segs - 1) * sizeof(*q->segs));
	q->n_segs--;
	q->ack_off = 0;
	q->segs[0].acked = 0;
	if (q->rd.seg == id)
		q->rd = (struct pos){q->segs[0].id, 0};
	q->gen++;
	save_ack(q);
}

/* Locked. Segments wholly acknowledged go (the writer's own once it has moved to a new one). */
static void reclaim_acked(struct ks_queue *q)
{
	while (q->n_segs > 1 && q->segs[0].acked == q->segs[0].records && q->ack_off >= q->segs[0].size) {
		unlink_seg(q, q->segs[0].id);
		memmove(q->segs, q->segs + 1, (q->n_segs - 1) * sizeof(*q->segs));
		q->n_segs--;
		q->segs[0].acked = 0;
		q->ack_off = 0;
		if (q->rd.seg < q->segs[0].id)
			q->rd = (struct pos){q->segs[0].id, 0};
		save_ack(q);
		q->st.last_errno = 0; /* space came back: a full disk shows again at the next failed write */
	}
}

static int new_segment(struct ks_queue *q)
{
	char name[64];
	uint64_t id = q->n_segs ? q->segs[q->n_segs - 1].id + 1 : 1;
	int fd;

	if (q->n_segs == q->cap_segs) {
		struct seg *ns = realloc(q->segs, (q->cap_segs ? q->cap_segs * 2 : 16) * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		q->segs = ns;
		q->cap_segs = q->cap_segs ? q->cap_segs * 2 : 16;
	}
	seg_name(name, sizeof(name), id);
	fd = openat(q->dirfd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (q->wfd >= 0)
		close(q->wfd);
	q->wfd = fd;
	q->segs[q->n_segs++] = (struct seg){.id = id};
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Counts the records of an existing segment, cuts a partial last line (a killed writer), and counts the
 * records before ack_off. */
static int scan_segment(struct ks_queue *q, struct seg *s, uint64_t ack_off, uint64_t *acked)
{
	char name[64], buf[65536];
	uint64_t off = 0, last_nl = 0;
	ssize_t n;
	int fd;

	seg_name(name, sizeof(name), s->id);
	fd = openat(q->dirfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*acked = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n') {
				s->records++;
				last_nl = off + (uint64_t)i + 1;
				if (last_nl <= ack_off)
					(*acked)++;
			}
		off += (uint64_t)n;
	}
	if (off != last_nl && ftruncate(fd, (off_t)last_nl)) {
		close(fd);
		return -errno;
	}
	s->size = last_nl;
	close(fd);
	return 0;
}

struct ks_queue *ks_queue_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
	struct ks_queue *q = calloc(1, sizeof(*q));
	uint64_t *ids = NULL, ack_seg = 0, ack_off = 0;
	size_t n_ids = 0, cap = 0;
	struct dirent *de;
	char line[64];
	DIR *d;
	ssize_t n;

	if (!q) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->wfd = q->rfd = q->ackfd = -1;
	q->max_bytes = max_bytes;
	/* small segments: the oldest can go early when the disk, not the bound, runs out */
	q->seg_max = max_bytes / 8 < (1u << 20) ? (max_bytes / 8 ? max_bytes / 8 : 1) : (1u << 20);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "queue directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	q->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q->dirfd < 0) {
		snprintf(err, errlen, "queue directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	q->ackfd = openat(q->dirfd, "ack", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (q->ackfd < 0) {
		snprintf(err, errlen, "queue %s/ack: %s", dir, strerror(errno));
		goto fail;
	}
	n = pread(q->ackfd, line, sizeof(line) - 1, 0);
	if (n > 0) {
		line[n] = 0;
		if (sscanf(line, "%" SCNx64 " %" SCNx64, &ack_seg, &ack_off) != 2)
			ack_seg = ack_off = 0; /* unreadable: resend everything rather than lose it */
	}
	d = fdopendir(dup(q->dirfd));
	while (d && (de = readdir(d))) {
		uint64_t id;
		char *end;

		if (strlen(de->d_name) != 20 || strcmp(de->d_name + 16, ".seg"))
			continue;
		id = strtoull(de->d_name, &end, 16);
		if (end != de->d_name + 16)
			continue;
		if (n_ids == cap) {
			uint64_t *ni = realloc(ids, (cap = cap ? cap * 2 : 16) * sizeof(*ni));

			if (!ni)
				break;
			ids = ni;
		}
		ids[n_ids++] = id;
	}
	if (d)
		closedir(d);
	if (n_ids)
		qsort(ids, n_ids, sizeof(*ids), cmp_u64);
	for (size_t i = 0; i < n_ids; i++) {
		struct seg s = {.id = ids[i]};
		uint64_t acked = 0;

		if (ids[i] < ack_seg) { /* fully acknowledged before the restart */
			seg_name(line, sizeof(line), ids[i]);
			unlinkat(q->dirfd, line, 0);
			continue;
		}
		if (scan_segment(q, &s, ids[i] == ack_seg ? ack_off : 0, &acked))
			continue;
		if (q->n_segs == q->cap_segs) {
			struct seg *ns = realloc(q->segs, (q->cap_segs ? q->cap_segs * 2 : 16) * sizeof(*ns));

			if (!ns)
				break;
			q->segs = ns;
			q->cap_segs = q->cap_segs ? q->cap_segs * 2 : 16;
		}
		if (!q->n_segs && ids[i] == ack_seg) {
			s.acked = acked;
			q->ack_off = ack_off <= s.size ? ack_off : s.size;
		}
		q->st.resumed += s.records - s.acked;
		q->segs[q->n_segs++] = s;
	}
	free(ids);
	q->st.pending = q->st.resumed;
	if (new_segment(q)) {
		snprintf(err, errlen, "queue %s: cannot create a segment: %s", dir, strerror(errno));
		goto fail;
	}
	q->rd = (struct pos){q->segs[0].id, q->ack_off};
	save_ack(q);
	return q;
fail:
	ks_queue_close(q);
	return NULL;
}

void ks_queue_close(struct ks_queue *q)
{
	if (!q)
		return;
	ks_queue_commit(q);
	if (q->wfd >= 0)
		close(q->wfd);
	if (q->rfd >= 0)
		close(q->rfd);
	if (q->ackfd >= 0)
		close(q->ackfd);
	if (q->dirfd > 0)
		close(q->dirfd);
	free(q->segs);
	free(q->infl);
	free(q->wbuf);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
}

/* ---- the loop's side ---- */

void ks_queue_append(struct ks_queue *q, const char *line, size_t len)
{
	if (q->wlen + len + 1 > q->wcap) {
		size_t cap = q->wcap ? q->wcap : 65536;
		char *nb;

		if (q->wlen >= (1u << 20))
			ks_queue_commit(q); /* keep the buffer small: the file is the queue */
		while (cap < q->wlen + len + 1)
			cap *= 2;
		nb = cap > q->wcap ? realloc(q->wbuf, cap) : q->wbuf;
		if (!nb) {
			pthread_mutex_lock(&q->mu);
			q->st.lost++;
			pthread_mutex_unlock(&q->mu);
			return;
		}
		q->wbuf = nb;
		q->wcap = cap;
	}
	memcpy(q->wbuf + q->wlen, line, len);
	q->wbuf[q->wlen + len] = '\n';
	q->wlen += len + 1;
	q->wrecs++;
}

void ks_queue_commit(struct ks_queue *q)
{
	struct seg *cur;
	bool written = false;

	if (!q->wlen)
		return;
	pthread_mutex_lock(&q->mu);
	cur = &q->segs[q->n_segs - 1];
	/* a new segment when this one is full, or when everything in it was delivered (its space comes back) */
	if (cur->size &&
	    (cur->size + q->wlen > q->seg_max ||
	     (q->n_segs == 1 && cur->acked == cur->records && cur->size >= 65536)) &&
	    new_segment(q) == 0)
		reclaim_acked(q);
	pthread_mutex_unlock(&q->mu);
	for (int attempt = 0; attempt < 64 && !written; attempt++) {
		size_t done = 0;
		int er = 0;
		struct stat fst;

		pthread_mutex_lock(&q->mu);
		cur = &q->segs[q->n_segs - 1];
		/* the file holds exactly what was committed: a half-failed write never leaves bytes behind */
		if (!fstat(q->wfd, &fst) && (uint64_t)fst.st_size != cur->size && ftruncate(q->wfd, (off_t)cur->size))
			q->st.last_errno = errno;
		pthread_mutex_unlock(&q->mu);

		while (done < q->wlen) {
			ssize_t n = write(q->wfd, q->wbuf + done, q->wlen - done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				er = n < 0 ? errno : ENOSPC;
				break;
			}
			done += (size_t)n;
		}
		pthread_mutex_lock(&q->mu);
		cur = &q->segs[q->n_segs - 1];
		if (!er) {
			written = true;
			cur->size += q->wlen;
			cur->records += q->wrecs;
			q->st.appended += q->wrecs;
			q->st.last_errno = 0;
		} else {
			/* no half line: cut back, make room by dropping the oldest data, try again */
			if (ftruncate(q->wfd, (off_t)cur->size))
				er = errno;
			q->st.last_errno = er;
			if (q->n_segs == 1 && cur->acked == cur->records && cur->size && new_segment(q) == 0) {
				reclaim_acked(q); /* all delivered: start afresh and free the old one */
				pthread_mutex_unlock(&q->mu);
				continue;
			}
			if (q->n_segs < 2 || (er != ENOSPC && er != EDQUOT)) {
				q->st.lost += q->wrecs; /* nothing older left to make room with */
				q->st.appended += q->wrecs;
				pthread_mutex_unlock(&q->mu);
				break;
			}
			drop_oldest(q);
		}
		pthread_mutex_unlock(&q->mu);
	}
	pthread_mutex_lock(&q->mu);
	/* the bound: oldest first */
	while (q->n_segs > 1 && total_bytes(q) > q->max_bytes)
		drop_oldest(q);
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	q->wlen = 0;
	q->wrecs = 0;
}

/* ---- the sender's side ---- */

static struct seg *find_seg(struct ks_queue *q, uint64_t id)
{
	for (size_t i = 0; i < q->n_segs; i++)
		if (q->segs[i].id == id)
			return &q->segs[i];
	return NULL;
}

static int push_infl(struct ks_queue *q, struct pos p)
{
	if (q->infl_n == q->infl_cap) {
		size_t cap = q->infl_cap ? q->infl_cap * 2 : 1024;
		struct pos *ni = malloc(cap * sizeof(*ni));

		if (!ni)
			return -1;
		for (size_t i = 0; i < q->infl_n; i++)
			ni[i] = infl_at(q, i);
		free(q->infl);
		q->infl = ni;
		q->infl_cap = cap;
		q->infl_head = 0;
	}
	q->infl[(q->infl_head + q->infl_n) % q->infl_cap] = p;
	q->infl_n++;
	return 0;
}

int ks_batch_reserve(struct ks_batch *b, size_t n, size_t len)
{
	if (b->cap_n < b->n + n + 1) {
		size_t *no = realloc(b->off, (b->n + n + 1) * sizeof(*no));

		if (!no)
			return -1;
		b->off = no;
		b->cap_n = b->n + n + 1;
	}
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		char *nb;

		while (cap < b->len + len)
			cap *= 2;
		nb = realloc(b->buf, cap);
		if (!nb)
			return -1;
		b->buf = nb;
		b->cap = cap;
	}
	return 0;
}

size_t ks_queue_read(struct ks_queue *q, struct ks_batch *b, size_t max_n, size_t max_bytes, int wait_ms)
{
	struct timespec until;
	size_t got = 0;

	b->len = b->n = 0;
	if (ks_batch_reserve(b, max_n, 0))
		return 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q->mu);
	if (q->rfd >= 0 && !find_seg(q, q->rfd_seg)) { /* deleted: an open fd would keep its space taken */
		close(q->rfd);
		q->rfd = -1;
	}
	while (got < max_n && b->len < max_bytes) {
		struct seg *s = find_seg(q, q->rd.seg);
		uint64_t want, gen;
		char name[64];
		ssize_t n;

		if (!s) { /* dropped under us: continue at the oldest */
			q->rd = (struct pos){q->segs[0].id, q->ack_off};
			continue;
		}
		if (q->rd.off >= s->size) {
			if (s != &q->segs[q->n_segs - 1]) {
				q->rd = (struct pos){s[1].id, 0};
				continue;
			}
			if (got || q->wake)
				break;
			if (pthread_cond_timedwait(&q->cv, &q->mu, &until) == ETIMEDOUT)
				break;
			continue;
		}
		want = s->size - q->rd.off;
		if (want > max_bytes - b->len + 65536)
			want = max_bytes - b->len + 65536;
		if (ks_batch_reserve(b, 0, want + 1)) {
			break;
		}
		if (q->rfd < 0 || q->rfd_seg != s->id) {
			if (q->rfd >= 0)
				close(q->rfd);
			seg_name(name, sizeof(name), s->id);
			q->rfd = openat(q->dirfd, name, O_RDONLY | O_CLOEXEC);
			q->rfd_seg = s->id;
			if (q->rfd < 0)
				break;
		}
		gen = q->gen;
		{
			uint64_t at = q->rd.off, segid = s->id;
			int fd = q->rfd;

			q->reading = true;
			pthread_mutex_unlock(&q->mu); /* the bytes below the committed size never change */
			n = pread(fd, b->buf + b->len, want, (off_t)at);
			pthread_mutex_lock(&q->mu);
			q->reading = false;
			if (!find_seg(q, segid)) { /* deleted while we read: let its space go */
				close(q->rfd);
				q->rfd = -1;
			}
			if (n <= 0 || gen != q->gen || !find_seg(q, segid))
				continue; /* dropped meanwhile: the loop above starts again from the oldest */
		}
		{
			size_t start = b->len, i = 0;

			while (i < (size_t)n && got < max_n) {
				char *nl = memchr(b->buf + start + i, '\n', (size_t)n - i);
				size_t rec;

				if (!nl)
					break; /* a record longer than the read: the next round reads from its start */
				rec = (size_t)(nl - (b->buf + start + i)) + 1;
				if (got && b->len + rec > max_bytes)
					break;
				b->off[b->n++] = b->len;
				b->len += rec;
				i += rec;
				q->rd.off += rec;
				got++;
				if (push_infl(q, q->rd)) {
					got--;
					b->n--;
					b->len -= rec;
					q->rd.off -= rec;
					break;
				}
			}
			if (i == 0) { /* nothing whole fitted: grow the read for a very long record */
				if (want >= s->size - q->rd.off)
					break; /* cannot happen for committed whole lines */
				max_bytes += 65536;
			}
		}
	}
	b->off[b->n] = b->len;
	pthread_mutex_unlock(&q->mu);
	return got;
}

void ks_queue_ack(struct ks_queue *q, size_t n)
{
	pthread_mutex_lock(&q->mu);
	if (n > q->infl_n)
		n = q->infl_n;
	for (size_t i = 0; i < n; i++) {
		struct pos p = infl_at(q, 0);

		q->infl_head = (q->infl_head + 1) % q->infl_cap;
		q->infl_n--;
		if (!p.seg) { /* its segment was dropped while it was in flight: delivered after all */
			q->st.acked++;
			continue;
		}
		/* segments before the acknowledged one are done: delete them */
		while (q->segs[0].id < p.seg && q->n_segs > 1) {
			unlink_seg(q, q->segs[0].id);
			memmove(q->segs, q->segs + 1, (q->n_segs - 1) * sizeof(*q->segs));
			q->n_segs--;
			q->segs[0].acked = 0;
		}
		q->segs[0].acked++;
		q->ack_off = p.off;
		q->st.acked++;
	}
	if (n) {
		save_ack(q);
		reclaim_acked(q);
		if (q->n_segs == 1 && q->segs[0].acked == q->segs[0].records)
			q->st.last_errno = 0; /* all delivered: the disk is as empty as this queue can make it */
	}
	pthread_mutex_unlock(&q->mu);
}

void ks_queue_rewind(struct ks_queue *q)
{
	pthread_mutex_lock(&q->mu);
	for (size_t i = 0; i < q->infl_n; i++) /* sent, unconfirmed, and no longer on disk: lost now */
		q->st.lost += infl_at(q, i).seg == 0;
	q->rd = (struct pos){q->segs[0].id, q->ack_off};
	q->infl_n = 0;
	q->infl_head = 0;
	pthread_mutex_unlock(&q->mu);
}

size_t ks_queue_inflight(struct ks_queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->infl_n;
	pthread_mutex_unlock(&q->mu);
	return n;
}

void ks_queue_wake(struct ks_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->wake = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void ks_queue_stats(struct ks_queue *q, struct ks_queue_stats *st)
{
	uint64_t recs = 0;

	pthread_mutex_lock(&q->mu);
	*st = q->st;
	for (size_t i = 0; i < q->n_segs; i++)
		recs += q->segs[i].records - (i == 0 ? q->segs[0].acked : 0);
	st->pending = recs;
	st->bytes = total_bytes(q);
	pthread_mutex_unlock(&q->mu);
}

void ks_batch_free(struct ks_batch *b)
{
	free(b->buf);
	free(b->off);
	memset(b, 0, sizeof(*b));
}
