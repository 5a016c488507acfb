// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The network output's queue and sender thread (netout.h); the transports are in syslog.c, relp.c and
 * http.c. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "outputs/netout.h"

#define SETASIDE_MAX (64ull << 20) /* refused events kept for inspection, then only counted */

static void set_error(struct ks_netout *o, const char *msg)
{
	pthread_mutex_lock(&o->mu);
	if (strcmp(o->error, msg))
		ks_warn("output %s: %s", o->cfg.name, msg); /* no event data, no secrets: the transport's words */
	snprintf(o->error, sizeof(o->error), "%s", msg);
	o->healthy = false;
	pthread_mutex_unlock(&o->mu);
}

/* Sleeps ms, waking early when the daemon stops. */
static void nap(struct ks_netout *o, long ms)
{
	while (ms > 0 && !atomic_load(&o->stop)) {
		struct timespec ts = {0, (ms > 100 ? 100 : ms) * 1000000L};

		nanosleep(&ts, NULL);
		ms -= 100;
	}
}

/* Exponential backoff with jitter: 0.5 s doubling to 30 s, each wait drawn from [d/2, 3d/2). */
static long backoff_ms(unsigned failures)
{
	long d = 500L << (failures < 6 ? failures : 6);
	unsigned r = 0;

	if (d > 30000)
		d = 30000;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned)time(NULL);
	return d / 2 + (long)(r % (unsigned)d);
}

static void set_aside(struct ks_netout *o, const struct ks_batch *b, size_t n, const char *why)
{
	struct stat st;

	if (o->setaside_fd >= 0 && !fstat(o->setaside_fd, &st) && (uint64_t)st.st_size < SETASIDE_MAX) {
		char head[400];
		int hl = snprintf(head, sizeof(head), "# %zu refused: %.300s\n", n, why);

		if (write(o->setaside_fd, head, (size_t)hl) < 0 || write(o->setaside_fd, b->buf, b->off[b->n]) < 0)
			ks_warn("output %s: cannot keep refused events: %s", o->cfg.name, strerror(errno));
	}
	pthread_mutex_lock(&o->mu);
	o->set_aside += n;
	snprintf(o->refusal, sizeof(o->refusal), "%s", why);
	pthread_mutex_unlock(&o->mu);
}

/* The batch as the receiver wants it: OCSF lines as they are, or each converted to ECS. */
static const struct ks_batch *formatted(struct ks_netout *o, const struct ks_batch *b)
{
	if (o->cfg.format != KS_FMT_ECS)
		return b;
	o->fmt.len = o->fmt.n = 0;
	if (ks_batch_reserve(&o->fmt, b->n, 0))
		return b;
	for (size_t i = 0; i < b->n; i++) {
		ks_jw_reset(&o->jw);
		if (ks_ecs_from_ocsf(b->buf + b->off[i], b->off[i + 1] - b->off[i] - 1, &o->jw) || o->jw.oom) {
			ks_jw_reset(&o->jw); /* never expected: the record came from our own encoder */
			ks_jw_raw(&o->jw, "{}", 2);
		}
		if (ks_batch_reserve(&o->fmt, 0, o->jw.len + 1))
			return b;
		o->fmt.off[o->fmt.n++] = o->fmt.len;
		memcpy(o->fmt.buf + o->fmt.len, o->jw.buf, o->jw.len);
		o->fmt.len += o->jw.len;
		o->fmt.buf[o->fmt.len++] = '\n';
	}
	o->fmt.off[o->fmt.n] = o->fmt.len;
	return &o->fmt;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* When each batch still waiting for a confirmation was sent, oldest first. RELP's window confirms records
 * only as later ones are sent: at a high rate the oldest unconfirmed record is a few milliseconds old, at a
 * low rate it could wait indefinitely, so once it has waited a second the transport is asked to confirm
 * (idle). Closing the session on a clock instead, while traffic flows, stalled the receiver once a second. */
#define SENT_CAP 256
struct sent_times {
	struct {
		size_t n;
		int64_t ms;
	} e[SENT_CAP];
	unsigned head, len;
};

static void sent_push(struct sent_times *s, size_t n, int64_t ms)
{
	if (s->len == SENT_CAP) /* merged into the newest entry: its older time only confirms sooner */
		s->e[(s->head + s->len - 1) % SENT_CAP].n += n;
	else {
		s->e[(s->head + s->len) % SENT_CAP].n = n;
		s->e[(s->head + s->len) % SENT_CAP].ms = ms;
		s->len++;
	}
}

static void sent_ack(struct sent_times *s, size_t n)
{
	while (n && s->len) {
		if (s->e[s->head].n > n) {
			s->e[s->head].n -= n;
			return;
		}
		n -= s->e[s->head].n;
		s->head = (s->head + 1) % SENT_CAP;
		s->len--;
	}
}

static void *sender(void *arg)
{
	struct ks_netout *o = arg;
	struct ks_batch b = {0};
	unsigned failures = 0;
	size_t max_n = o->cfg.type == KS_OUT_HTTP ? o->cfg.batch_events : 512;
	size_t max_bytes = o->cfg.type == KS_OUT_HTTP ? (size_t)o->cfg.batch_kb * 1024 : 1u << 20;
	int wait_ms = o->cfg.type == KS_OUT_HTTP ? (int)o->cfg.batch_interval_ms : 200;
	struct sent_times sent = {0};

	while (!atomic_load(&o->stop)) {
		struct ks_send_result r = {0};
		char err[320];
		size_t n;

		if (!o->connected) {
			err[0] = 0;
			if (o->tr->open(o, err, sizeof(err))) {
				set_error(o, err);
				pthread_mutex_lock(&o->mu);
				o->retries++;
				pthread_mutex_unlock(&o->mu);
				nap(o, backoff_ms(failures++));
				continue;
			}
			o->connected = true;
			pthread_mutex_lock(&o->mu);
			o->connects++;
			pthread_mutex_unlock(&o->mu);
		}
		/* no record waits more than a second for its acknowledgement */
		if (o->tr->idle && sent.len && mono_ms() - sent.e[sent.head].ms >= 1000) {
			o->tr->idle(o, &r);
			n = 0;
		} else {
			n = ks_queue_read(o->q, &b, max_n, max_bytes, wait_ms);
			if (!n) {
				if (o->tr->idle && ks_queue_inflight(o->q))
					o->tr->idle(o, &r);
				else
					continue;
			} else {
				o->tr->send(o, formatted(o, &b), &r);
			}
		}
		if (n && !r.retry && !r.broken)
			sent_push(&sent, n, mono_ms());
		if (r.delivered) {
			if (r.rejected) /* the whole batch is kept aside with the answer; the count is the refused items
			                 */
				set_aside(o, &b, r.rejected, r.error);
			ks_queue_ack(o->q, r.delivered);
			sent_ack(&sent, r.delivered);
			pthread_mutex_lock(&o->mu);
			o->delivered += r.delivered - r.rejected;
			if (!r.retry && !r.broken) {
				o->healthy = true;
				/* a refusal stays visible (what the receiver said) until the next clean batch */
				snprintf(o->error, sizeof(o->error), "%s", r.rejected ? r.error : "");
			}
			pthread_mutex_unlock(&o->mu);
			if (!r.retry && !r.broken)
				failures = 0;
		}
		if (r.broken || r.retry) {
			set_error(o, r.error[0] ? r.error : "send failed");
			if (r.broken) {
				o->tr->close(o);
				o->connected = false;
			}
			ks_queue_rewind(o->q); /* what was not confirmed goes again */
			sent.len = 0;
			pthread_mutex_lock(&o->mu);
			o->retries++;
			pthread_mutex_unlock(&o->mu);
			nap(o, r.retry_after_ms > 0 ? r.retry_after_ms : backoff_ms(failures++));
		}
	}
	if (o->connected) {
		struct ks_send_result r = {0};

		if (o->tr->idle && ks_queue_inflight(o->q)) { /* a clean stop confirms RELP's window */
			o->tr->idle(o, &r);
			if (r.delivered)
				ks_queue_ack(o->q, r.delivered);
		}
		o->tr->close(o);
		o->connected = false;
	}
	ks_batch_free(&b);
	return NULL;
}

/* ---- output ops (the loop) ---- */

static void net_write(struct ks_output *base, const char *line, size_t len)
{
	struct ks_netout *o = (struct ks_netout *)base;

	ks_queue_append(o->q, line, len);
}

static void net_flush(struct ks_output *base)
{
	struct ks_netout *o = (struct ks_netout *)base;
	struct ks_queue_stats st;

	ks_queue_commit(o->q);
	ks_queue_stats(o->q, &st);
	pthread_mutex_lock(&o->mu);
	o->base.stats.events = o->delivered;
	o->base.stats.lost = st.lost;
	o->base.stats.queued = st.pending;
	o->base.stats.queue_bytes = st.bytes;
	o->base.stats.set_aside = o->set_aside;
	o->base.stats.retries = o->retries;
	o->base.stats.last_errno = st.last_errno;
	o->base.stats.healthy = o->healthy && !st.last_errno;
	snprintf(o->base.stats.refusal, sizeof(o->base.stats.refusal), "%s", o->refusal);
	snprintf(o->base.stats.error, sizeof(o->base.stats.error), "%s",
	         o->error[0]     ? o->error
	         : st.last_errno ? strerror(st.last_errno)
	                         : "");
	pthread_mutex_unlock(&o->mu);
}

static void net_reopen(struct ks_output *base)
{
	(void)base; /* nothing to reopen: the queue's files are kansoku's own */
}

static void net_close(struct ks_output *base)
{
	struct ks_netout *o = (struct ks_netout *)base;

	if (o->started) {
		atomic_store(&o->stop, true);
		ks_queue_wake(o->q);
		pthread_join(o->thread, NULL);
	}
	ks_queue_close(o->q);
	if (o->setaside_fd >= 0)
		close(o->setaside_fd);
	ks_batch_free(&o->fmt);
	ks_jw_free(&o->jw);
	pthread_mutex_destroy(&o->mu);
	free(o);
}

void ks_net_outputs_init(const struct ks_config *cfg)
{
	for (int i = 0; i < cfg->n_outputs; i++)
		if (cfg->outputs[i].type == KS_OUT_HTTP) {
			curl_global_init(CURL_GLOBAL_DEFAULT); /* not thread-safe: once, first */
			return;
		}
}

static const struct ks_output_ops net_ops = {
    .kind = "network", .write = net_write, .flush = net_flush, .reopen = net_reopen, .close = net_close};

struct ks_output *ks_output_net_open(const struct ks_output_cfg *cfg, const char *state_dir, char *err, size_t errlen)
{
	struct ks_netout *o = calloc(1, sizeof(*o));
	char dir[KS_CFG_PATH_MAX + 128];

	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o->base.ops = &net_ops;
	o->cfg = *cfg;
	o->setaside_fd = -1;
	o->pid = getpid();
	pthread_mutex_init(&o->mu, NULL);
	ks_jw_init(&o->jw);
	if (gethostname(o->hostname, sizeof(o->hostname)) || !o->hostname[0])
		snprintf(o->hostname, sizeof(o->hostname), "-");
	if (cfg->type == KS_OUT_HTTP)
		o->tr = &ks_tr_http;
	else
		o->tr = cfg->transport == KS_TR_UDP   ? &ks_tr_syslog_udp
		        : cfg->transport == KS_TR_TCP ? &ks_tr_syslog_tcp
		        : cfg->transport == KS_TR_TLS ? &ks_tr_syslog_tls
		                                      : &ks_tr_relp;
	snprintf(o->base.stats.kind, sizeof(o->base.stats.kind), "%s",
	         cfg->type == KS_OUT_HTTP       ? "http"
	         : cfg->transport == KS_TR_RELP ? "relp"
	                                        : "syslog");
	if (cfg->type == KS_OUT_HTTP)
		snprintf(o->base.stats.target, sizeof(o->base.stats.target), "%s", cfg->url);
	else
		snprintf(o->base.stats.target, sizeof(o->base.stats.target), "%s://%s:%u",
		         cfg->transport == KS_TR_UDP   ? "udp"
		         : cfg->transport == KS_TR_TCP ? "tcp"
		         : cfg->transport == KS_TR_TLS ? "tls"
		                                       : (cfg->relp_tls ? "relp+tls" : "relp"),
		         cfg->host, cfg->port);
	snprintf(o->base.stats.name, sizeof(o->base.stats.name), "%s", cfg->name);
	snprintf(dir, sizeof(dir), "%s/queue", state_dir);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "output %s: %s: %s", cfg->name, dir, strerror(errno));
		goto fail;
	}
	snprintf(dir, sizeof(dir), "%s/queue/%s", state_dir, cfg->name);
	o->q = ks_queue_open(dir, (uint64_t)cfg->queue_max_kb * 1024, err, errlen);
	if (!o->q)
		goto fail;
	snprintf(dir, sizeof(dir), "%s/queue/%s/refused.ndjson", state_dir, cfg->name);
	o->setaside_fd = open(dir, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	/* TLS settings are checked now: a bad CA file is a start-up error, not a silent retry loop */
	if ((cfg->type == KS_OUT_SYSLOG && cfg->transport == KS_TR_TLS)) {
		struct ssl_ctx_st *ctx = ks_tls_ctx(cfg, err, errlen);

		if (!ctx)
			goto fail;
		ks_tls_ctx_free(ctx);
	}
	o->healthy = true;
	o->base.stats.healthy = true;
	{
		struct ks_queue_stats st;

		ks_queue_stats(o->q, &st);
		if (st.resumed)
			ks_info("output %s: %llu events queued before the restart will be sent", cfg->name,
			        (unsigned long long)st.resumed);
	}
	if (pthread_create(&o->thread, NULL, sender, o)) {
		snprintf(err, errlen, "output %s: cannot start its thread: %s", cfg->name, strerror(errno));
		goto fail;
	}
	o->started = true;
	return &o->base;
fail:
	net_close(&o->base);
	return NULL;
}
