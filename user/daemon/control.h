/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The control socket: a Unix stream socket (mode 0600, peers checked with SO_PEERCRED) speaking one JSON
 * request per line; each reply is one JSON line, or a stream: a head line, one line per row, and (for
 * tables) an end line. Streams are made at the reader's pace from a cursor, a bounded amount at a time, so
 * a reply of any size neither holds memory nor stalls the loop. A follower (`events --follow`) that reads
 * too slowly is disconnected rather than allowed to hold memory.
 */
#ifndef KANSOKU_CONTROL_H
#define KANSOKU_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct ks_control;
struct ks_ctl_client;

/* Called for each well-formed request object; reply with ks_ctl_reply* or ks_ctl_stream. */
typedef void (*ks_ctl_handler)(void *ctx, struct ks_ctl_client *c, struct json_object *req);
/* A streamed reply's producer: queues its next rows (a few dozen, with ks_ctl_reply_raw); returns false
 * once it has queued its last. */
typedef bool (*ks_ctl_next_fn)(void *ctx, struct ks_ctl_client *c);
typedef void (*ks_ctl_free_fn)(void *ctx);

struct ks_control *ks_control_open(const char *path, int epfd, ks_ctl_handler handler, void *ctx, char *err,
                                   size_t errlen);
void ks_control_close(struct ks_control *ctl);
/* Send an event line to every client following class_uid (or all classes). */
void ks_control_broadcast(struct ks_control *ctl, int class_uid, const char *line, size_t len);
unsigned ks_control_clients(const struct ks_control *ctl);
uint64_t ks_control_follower_drops(const struct ks_control *ctl);

void ks_ctl_reply_raw(struct ks_ctl_client *c, const char *line, size_t len); /* adds the newline */
void ks_ctl_reply_json(struct ks_ctl_client *c, struct json_object *obj);     /* {"ok":true,"data":obj} */
void ks_ctl_reply_error(struct ks_ctl_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Keep the connection open and stream new events of class_uid (0 = all) to it. */
void ks_ctl_follow(struct ks_ctl_client *c, int class_uid);
/* Reply with a stream: next is called whenever the reader has taken what was queued, until it returns
 * false; then free_fn(ctx) (also if the client goes first), and the connection closes unless following. */
void ks_ctl_stream(struct ks_ctl_client *c, ks_ctl_next_fn next, ks_ctl_free_fn free_fn, void *ctx);
/* Close once everything queued is sent. */
void ks_ctl_finish(struct ks_ctl_client *c);
/* Answer later: keeps the connection; returns an id that ks_ctl_held finds it by (NULL once the client
 * went away). Reply, then ks_ctl_release. */
uint64_t ks_ctl_hold(struct ks_ctl_client *c);
struct ks_ctl_client *ks_ctl_held(struct ks_control *ctl, uint64_t id);
void ks_ctl_release(struct ks_ctl_client *c);

#endif
