/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The durable queue of a network output: events as lines in segment files under state_dir/queue/NAME,
 * bounded in bytes. The loop appends; the output's sender thread reads ahead, sends, and acknowledges
 * what the receiver accepted. The acknowledged position is kept on disk, so a daemon killed with SIGKILL
 * resends after restart whatever was queued and not acknowledged. When the bound (or the disk) is
 * reached, the oldest segment goes first and every event in it not yet acknowledged is counted as lost.
 */
#ifndef KANSOKU_QUEUE_H
#define KANSOKU_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_queue;

/* Records read by the sender, in order: lines (without newline) in one buffer. */
struct ks_batch {
	char *buf;
	size_t len, cap;
	size_t *off; /* start of record i in buf; record i ends at off[i+1]-1 (the newline) */
	size_t n, cap_n;
};

struct ks_queue_stats {
	uint64_t appended; /* records accepted from the loop */
	uint64_t acked;    /* records the receiver accepted */
	uint64_t lost;     /* records dropped: queue full (oldest first) or the disk refused them */
	uint64_t pending;  /* records on disk not acknowledged */
	uint64_t bytes;    /* bytes on disk */
	uint64_t resumed;  /* records found unacknowledged at open (from before a restart) */
	int last_errno;    /* the disk's last error, 0 if none */
};

struct ks_queue *ks_queue_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen);
void ks_queue_close(struct ks_queue *q);

/* Loop side. Appends buffer; commit makes them visible to the reader (and writes them to the file). */
void ks_queue_append(struct ks_queue *q, const char *line, size_t len);
void ks_queue_commit(struct ks_queue *q);

/* Sender side. Reads up to max_n records / max_bytes past what was read already, waiting up to wait_ms
 * for data; returns the count added to b (b is reset first). */
size_t ks_queue_read(struct ks_queue *q, struct ks_batch *b, size_t max_n, size_t max_bytes, int wait_ms);
/* The oldest n records read are delivered (or set aside): forgotten for good. */
void ks_queue_ack(struct ks_queue *q, size_t n);
/* Read but not acknowledged records are to be sent again (a connection broke). */
void ks_queue_rewind(struct ks_queue *q);
/* Records read and not acknowledged. */
size_t ks_queue_inflight(struct ks_queue *q);
/* Wake a reader waiting in ks_queue_read (stop). */
void ks_queue_wake(struct ks_queue *q);

void ks_queue_stats(struct ks_queue *q, struct ks_queue_stats *st);
/* Room in b for n more records and len more bytes: 0, or -1 when out of memory (b unchanged). */
int ks_batch_reserve(struct ks_batch *b, size_t n, size_t len);
void ks_batch_free(struct ks_batch *b);

#endif
