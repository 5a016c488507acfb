// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/control.h"
#include "lib/log.h"
#include "lib/loop.h"

#define MAX_CLIENTS 64
#define MAX_REQUEST 65536       /* one request line */
#define MAX_PENDING (4u << 20)  /* bytes queued for a slow follower before it is dropped */
#define STREAM_LOW (64u << 10)  /* a streamed reply makes more rows when less than this is queued */
#define STREAM_TURN (64u << 10) /* bytes a stream makes per turn of the loop (a few ms): other work goes on */

struct ks_ctl_client {
	struct ks_loop_fd watch;
	struct ks_control *ctl;
	char in[MAX_REQUEST];
	size_t in_len;
	char *out;
	size_t out_len, out_cap;
	bool follow, finishing, dead;
	bool held;   /* the reply comes later (ks_ctl_hold) */
	uint64_t id; /* finds a held client again, never reused */
	int follow_class;
	ks_ctl_next_fn produce; /* a streamed reply in progress: makes the next rows */
	ks_ctl_free_fn stream_free;
	void *stream_ctx;
	struct ks_ctl_client *next;
};

struct ks_control {
	struct ks_loop_fd listen;
	int epfd;
	char path[108];
	ks_ctl_handler handler;
	void *hctx;
	struct ks_ctl_client *clients;
	unsigned nclients;
	uint64_t follower_drops;
	uint64_t next_id;
};

static void client_free(struct ks_ctl_client *c)
{
	struct ks_control *ctl = c->ctl;
	struct ks_ctl_client **pp;

	for (pp = &ctl->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	ks_loop_del(ctl->epfd, &c->watch);
	close(c->watch.fd);
	if (c->produce && c->stream_free)
		c->stream_free(c->stream_ctx);
	free(c->out);
	free(c);
	ctl->nclients--;
}

static void send_queued(struct ks_ctl_client *c)
{
	size_t off = 0;

	while (off < c->out_len) {
		ssize_t n = send(c->watch.fd, c->out + off, c->out_len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			c->dead = true;
			return;
		}
		off += (size_t)n;
	}
	if (off) { /* out is NULL until something was queued: memmove(NULL...) is undefined even for 0 */
		memmove(c->out, c->out + off, c->out_len - off);
		c->out_len -= off;
	}
}

static void stream_end(struct ks_ctl_client *c)
{
	if (c->stream_free)
		c->stream_free(c->stream_ctx);
	c->produce = NULL;
	c->stream_free = NULL;
	c->stream_ctx = NULL;
	if (!c->follow)
		c->finishing = true;
}

/*
 * Sends what is queued and, for a streamed reply, makes rows while the socket takes them: never more than
 * STREAM_LOW ahead of the reader (memory stays bounded whatever the reply's size) and never more than
 * STREAM_TURN per call (a large reply shares the loop; EPOLLOUT brings it back).
 */
static void client_flush(struct ks_ctl_client *c)
{
	size_t made = 0;

	for (;;) {
		while (c->produce && !c->dead && c->out_len < STREAM_LOW && made < STREAM_TURN) {
			size_t before = c->out_len;

			if (!c->produce(c->stream_ctx, c))
				stream_end(c);
			made += c->out_len - before;
		}
		send_queued(c);
		if (c->dead || !c->produce || c->out_len >= STREAM_LOW || made >= STREAM_TURN)
			break;
	}
	if (c->dead)
		return;
	/* wait for EPOLLOUT only while something is queued or a stream has more */
	ks_loop_mod(c->ctl->epfd, &c->watch, EPOLLIN | EPOLLRDHUP | (c->out_len || c->produce ? EPOLLOUT : 0));
	if (!c->out_len && !c->produce && c->finishing)
		c->dead = true;
}

static void queue(struct ks_ctl_client *c, const char *s, size_t n, bool newline)
{
	size_t need = c->out_len + n + 1;

	if (c->dead)
		return;
	if (c->follow && need > MAX_PENDING) {
		/* a follower that cannot keep up: cut it off instead of buffering without bound (a reply is
		 * streamed at the reader's pace instead, see client_flush) */
		c->ctl->follower_drops++;
		ks_warn("control client too slow (%zu bytes queued, %zu more to send, at most %zu): disconnecting it",
		        c->out_len, n + 1, (size_t)MAX_PENDING);
		c->dead = true;
		return;
	}
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 16384;
		char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p) {
			c->dead = true;
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
	if (newline)
		c->out[c->out_len++] = '\n';
}

void ks_ctl_reply_raw(struct ks_ctl_client *c, const char *line, size_t len)
{
	queue(c, line, len, true);
}

void ks_ctl_reply_json(struct ks_ctl_client *c, struct json_object *obj)
{
	struct json_object *r = json_object_new_object();
	const char *s;

	json_object_object_add(r, "ok", json_object_new_boolean(1));
	json_object_object_add(r, "data", obj);
	s = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN);
	queue(c, s, strlen(s), true);
	json_object_put(r);
}

void ks_ctl_reply_error(struct ks_ctl_client *c, const char *fmt, ...)
{
	struct json_object *r = json_object_new_object();
	char msg[512];
	const char *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(r, "ok", json_object_new_boolean(0));
	json_object_object_add(r, "error", json_object_new_string(msg));
	s = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN);
	queue(c, s, strlen(s), true);
	json_object_put(r);
}

void ks_ctl_follow(struct ks_ctl_client *c, int class_uid)
{
	c->follow = true;
	c->follow_class = class_uid;
}

void ks_ctl_finish(struct ks_ctl_client *c)
{
	c->finishing = true;
}

uint64_t ks_ctl_hold(struct ks_ctl_client *c)
{
	c->held = true;
	return c->id;
}

struct ks_ctl_client *ks_ctl_held(struct ks_control *ctl, uint64_t id)
{
	for (struct ks_ctl_client *c = ctl->clients; c; c = c->next)
		if (c->id == id && c->held && !c->dead)
			return c;
	return NULL; /* gone meanwhile */
}

void ks_ctl_release(struct ks_ctl_client *c)
{
	c->held = false;
	ks_ctl_finish(c);
	client_flush(c);
	if (c->dead)
		client_free(c);
}

void ks_ctl_stream(struct ks_ctl_client *c, ks_ctl_next_fn next, ks_ctl_free_fn free_fn, void *ctx)
{
	if (c->produce && c->stream_free) /* one stream per request: a second replaces nothing, it is refused */
		c->stream_free(c->stream_ctx);
	c->produce = next;
	c->stream_free = free_fn;
	c->stream_ctx = ctx;
}

static void handle_line(struct ks_ctl_client *c, char *line, size_t len)
{
	struct json_tokener *tok;
	struct json_object *req;

	if (c->follow || c->finishing || c->held || c->produce) /* one request per connection */
		return;
	tok = json_tokener_new();
	req = json_tokener_parse_ex(tok, line, (int)len);
	if (!req || json_tokener_get_error(tok) != json_tokener_success || tok->char_offset != (int)len) {
		ks_ctl_reply_error(c,
		                   "malformed request: expected one JSON object per line, e.g. {\"cmd\":\"status\"}");
		ks_ctl_finish(c);
	} else if (!json_object_is_type(req, json_type_object)) {
		ks_ctl_reply_error(c, "malformed request: expected a JSON object");
		ks_ctl_finish(c);
	} else {
		c->ctl->handler(c->ctl->hctx, c, req);
		if (!c->follow && !c->held && !c->produce)
			ks_ctl_finish(c);
	}
	json_object_put(req);
	json_tokener_free(tok);
}

static void client_io(struct ks_loop_fd *w, uint32_t events)
{
	struct ks_ctl_client *c = w->ctx;

	if (events & EPOLLIN) {
		for (;;) {
			ssize_t n;
			char *nl;

			if (c->in_len == sizeof(c->in)) {
				ks_ctl_reply_error(c, "request longer than %d bytes", MAX_REQUEST);
				ks_ctl_finish(c);
				c->in_len = 0;
				break;
			}
			n = recv(c->watch.fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0) { /* peer closed: a follower is done */
				if (c->follow || (!c->out_len && !c->produce))
					c->dead = true;
				c->finishing = true;
				break;
			}
			c->in_len += (size_t)n;
			while ((nl = memchr(c->in, '\n', c->in_len))) {
				size_t l = (size_t)(nl - c->in);

				handle_line(c, c->in, l);
				memmove(c->in, nl + 1, c->in_len - l - 1);
				c->in_len -= l + 1;
			}
		}
	}
	if ((events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN))
		c->dead = true;
	if (!c->dead)
		client_flush(c);
	if (c->dead)
		client_free(c);
}

static void accept_io(struct ks_loop_fd *w, uint32_t events)
{
	struct ks_control *ctl = w->ctx;
	(void)events;

	for (;;) {
		struct ks_ctl_client *c;
		struct ucred cred;
		socklen_t len = sizeof(cred);
		int fd = accept4(ctl->listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		/* the socket mode already keeps others out; check the peer anyway (defence in depth) */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
		    (cred.uid != 0 && cred.uid != geteuid())) {
			static const char msg[] = "{\"ok\":false,\"error\":\"permission denied: the control socket is "
			                          "for root only\"}\n";
			ssize_t r = send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);

			(void)r;
			ks_warn("control: refused a client with uid %u", (unsigned)cred.uid);
			close(fd);
			continue;
		}
		if (ctl->nclients >= MAX_CLIENTS) {
			static const char msg[] = "{\"ok\":false,\"error\":\"too many control clients\"}\n";
			ssize_t r = send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);

			(void)r;
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->ctl = ctl;
		c->id = ++ctl->next_id;
		c->watch.fd = fd;
		c->watch.fn = client_io;
		c->watch.ctx = c;
		if (ks_loop_add(ctl->epfd, &c->watch, EPOLLIN | EPOLLRDHUP) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = ctl->clients;
		ctl->clients = c;
		ctl->nclients++;
	}
}

struct ks_control *ks_control_open(const char *path, int epfd, ks_ctl_handler handler, void *hctx, char *err,
                                   size_t errlen)
{
	struct ks_control *ctl = calloc(1, sizeof(*ctl));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old;
	int fd = -1;

	if (!ctl) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path '%s' is too long", path);
		goto fail;
	}
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		goto fail;
	}
	/* a socket left by a killed daemon: remove it, but only if nobody answers on it */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		snprintf(err, errlen, "control socket %s: another kansokud is running (stop it first)", path);
		goto fail;
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	unlink(path);
	old = umask(0177); /* created 0600: root only */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		umask(old);
		snprintf(err, errlen, "control socket %s: bind: %s", path, strerror(errno));
		goto fail;
	}
	umask(old);
	chmod(path, 0600);
	if (listen(fd, 16) < 0) {
		snprintf(err, errlen, "control socket %s: listen: %s", path, strerror(errno));
		goto fail;
	}
	ctl->epfd = epfd;
	ctl->handler = handler;
	ctl->hctx = hctx;
	ctl->listen.fd = fd;
	ctl->listen.fn = accept_io;
	ctl->listen.ctx = ctl;
	if (ks_loop_add(epfd, &ctl->listen, EPOLLIN) < 0) {
		snprintf(err, errlen, "control socket: epoll: %s", strerror(errno));
		goto fail;
	}
	return ctl;
fail:
	if (fd >= 0)
		close(fd);
	free(ctl);
	return NULL;
}

void ks_control_close(struct ks_control *ctl)
{
	if (!ctl)
		return;
	for (struct ks_ctl_client *c = ctl->clients, *next; c; c = next) {
		next = c->next; /* client_free unlinks c */
		client_flush(c);
		client_free(c);
	}
	ks_loop_del(ctl->epfd, &ctl->listen);
	close(ctl->listen.fd);
	unlink(ctl->path);
	free(ctl);
}

void ks_control_broadcast(struct ks_control *ctl, int class_uid, const char *line, size_t len)
{
	struct ks_ctl_client *c, *next;

	if (!ctl)
		return;
	for (c = ctl->clients; c; c = next) {
		next = c->next;
		if (!c->follow || (c->follow_class && c->follow_class != class_uid))
			continue;
		queue(c, line, len, true);
		if (!c->dead)
			client_flush(c);
		/* not freed here: the event loop's current batch may still hold an event for this client's
		 * watch (a use after free, seen with ASan). Shut down, its own watch wakes and frees it. */
		if (c->dead)
			shutdown(c->watch.fd, SHUT_RDWR);
	}
}

unsigned ks_control_clients(const struct ks_control *ctl)
{
	return ctl ? ctl->nclients : 0;
}

uint64_t ks_control_follower_drops(const struct ks_control *ctl)
{
	return ctl ? ctl->follower_drops : 0;
}
