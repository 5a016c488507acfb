// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * syslog: RFC 5424 messages whose MSG is the JSON event, over UDP (one datagram each), TCP with RFC 6587
 * octet counting ("LEN SP MSG"), or TLS (RFC 5425, OpenSSL; the server is always verified).
 * The structured data uses IANA-registered SD-IDs only: [origin software swVersion][meta sequenceId].
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "outputs/netout.h"

struct sys_state {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	struct ks_jw jw;  /* one message */
	struct ks_jw out; /* a batch of framed messages (TCP, TLS) */
};

size_t ks_sd_escape(char *out, size_t outlen, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\' || s[i] == ']') {
			if (o + 1 < outlen)
				out[o] = '\\';
			o++;
		}
		if (o + 1 < outlen)
			out[o] = s[i] ? s[i] : '?'; /* NUL cannot travel in a PARAM-VALUE */
		o++;
	}
	if (outlen)
		out[o < outlen ? o : outlen - 1] = 0;
	return o;
}

/* A number after "key": in the event's text (our own encoder wrote it: no need to parse the JSON). */
static long long json_num(const char *rec, size_t len, const char *key)
{
	char pat[48];
	const char *p;
	size_t pl = (size_t)snprintf(pat, sizeof(pat), "\"%s\":", key);

	p = memmem(rec, len, pat, pl);
	return p ? strtoll(p + pl, NULL, 10) : -1;
}

void ks_syslog_format(struct ks_netout *o, const char *rec, size_t len, struct ks_jw *w)
{
	static const int sev_of[] = {6, 6, 5, 4, 3, 2, 1}; /* OCSF severity_id -> syslog severity */
	long long sev = json_num(rec, len, "severity_id"), ms = json_num(rec, len, "time"),
	          cls = json_num(rec, len, "class_uid"), seq = json_num(rec, len, "sequence");
	char head[1024], ts[96], esc[128];
	struct tm tm;
	time_t t;
	int n;

	if (ms < 0)
		ms = (long long)time(NULL) * 1000;
	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
	ks_sd_escape(esc, sizeof(esc), KS_VERSION, strlen(KS_VERSION));
	n = snprintf(head, sizeof(head), "<%u>1 %s %.255s %s %d %lld [origin software=\"kansoku\" swVersion=\"%s\"]",
	             o->cfg.facility * 8 + (unsigned)sev_of[sev >= 0 && sev <= 6 ? sev : 0], ts, o->hostname,
	             o->cfg.app_name, o->pid, cls >= 0 ? cls : 0, esc);
	if (seq > 0 && seq <= 2147483647) /* RFC 5424 7.3.1: 1 to 2147483647 */
		n += snprintf(head + n, sizeof(head) - (size_t)n, "[meta sequenceId=\"%lld\"]", seq);
	ks_jw_reset(w);
	ks_jw_raw(w, head, (size_t)n);
	ks_jw_raw(w, " ", 1);
	ks_jw_raw(w, rec, len);
}

/* ---- sockets ---- */

static int dial(const struct ks_output_cfg *cfg, int socktype, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = socktype}, *res, *ai;
	struct timeval tv = {.tv_sec = 10};
	char port[8];
	int fd = -1, rc, last = 0, one = 1;

	snprintf(port, sizeof(port), "%u", cfg->port);
	rc = getaddrinfo(cfg->host, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "%s: %s", cfg->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (socktype == SOCK_STREAM) /* batches are written whole: Nagle would hold each one's tail */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		last = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "connect %s:%u: %s", cfg->host, cfg->port, strerror(last));
	return fd;
}

static struct sys_state *state(struct ks_netout *o)
{
	if (!o->transport_state) {
		struct sys_state *s = calloc(1, sizeof(*s));

		if (!s)
			return NULL;
		s->fd = -1;
		ks_jw_init(&s->jw);
		ks_jw_init(&s->out);
		o->transport_state = s;
	}
	return o->transport_state;
}

static void sys_close(struct ks_netout *o)
{
	struct sys_state *s = o->transport_state;

	if (!s)
		return;
	if (s->ssl) {
		SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static int sys_open(struct ks_netout *o, char *err, size_t errlen)
{
	struct sys_state *s = state(o);

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->fd = dial(&o->cfg, o->cfg.transport == KS_TR_UDP ? SOCK_DGRAM : SOCK_STREAM, err, errlen);
	if (s->fd < 0)
		return -1;
	if (o->cfg.transport != KS_TR_TLS)
		return 0;
	if (!s->ctx && !(s->ctx = ks_tls_ctx(&o->cfg, err, errlen))) {
		sys_close(o);
		return -1;
	}
	s->ssl = SSL_new(s->ctx);
	{
		const char *name = o->cfg.server_name[0] ? o->cfg.server_name : o->cfg.host;

		SSL_set_tlsext_host_name(s->ssl, name);
		SSL_set1_host(s->ssl, name); /* the certificate must name the server */
	}
	SSL_set_fd(s->ssl, s->fd);
	if (SSL_connect(s->ssl) != 1) {
		long v = SSL_get_verify_result(s->ssl);
		unsigned long e = ERR_get_error();

		snprintf(err, errlen, "TLS handshake with %s:%u failed: %s", o->cfg.host, o->cfg.port,
		         v != X509_V_OK ? X509_verify_cert_error_string(v)
		         : e            ? ERR_reason_error_string(e)
		                        : "connection closed");
		ERR_clear_error();
		sys_close(o);
		return -1;
	}
	return 0;
}

static void sys_send(struct ks_netout *o, const struct ks_batch *b, struct ks_send_result *r)
{
	struct sys_state *s = o->transport_state;
	size_t done = 0;

	if (o->cfg.transport == KS_TR_UDP) {
		for (size_t i = 0; i < b->n; i++) {
			ks_syslog_format(o, b->buf + b->off[i], b->off[i + 1] - b->off[i] - 1, &s->jw);
			/* no acknowledgement exists: sent is all UDP can say (a refused port shows as ECONNREFUSED) */
			if (send(s->fd, s->jw.buf, s->jw.len, 0) < 0 && errno != EMSGSIZE) {
				snprintf(r->error, sizeof(r->error), "send to %s:%u: %s", o->cfg.host, o->cfg.port,
				         strerror(errno));
				r->delivered = i;
				r->broken = true;
				return;
			}
		}
		r->delivered = b->n;
		return;
	}
	ks_jw_reset(&s->out);
	for (size_t i = 0; i < b->n; i++) {
		char len[24];
		int ln;

		ks_syslog_format(o, b->buf + b->off[i], b->off[i + 1] - b->off[i] - 1, &s->jw);
		ln = snprintf(len, sizeof(len), "%zu ", s->jw.len);
		ks_jw_raw(&s->out, len, (size_t)ln);
		ks_jw_raw(&s->out, s->jw.buf, s->jw.len);
	}
	if (s->out.oom) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		r->retry = true;
		return;
	}
	while (done < s->out.len) {
		ssize_t n = s->ssl ? SSL_write(s->ssl, s->out.buf + done, (int)(s->out.len - done))
		                   : send(s->fd, s->out.buf + done, s->out.len - done, MSG_NOSIGNAL);

		if (n <= 0) {
			if (!s->ssl && n < 0 && errno == EINTR)
				continue;
			snprintf(r->error, sizeof(r->error), "write to %s:%u: %s", o->cfg.host, o->cfg.port,
			         s->ssl ? "TLS write failed" : strerror(errno));
			r->broken = true;
			return; /* what the kernel took may or may not have arrived: all of it goes again */
		}
		done += (size_t)n;
	}
	/* TCP has no application acknowledgement: written is what it can say (RELP can say more) */
	r->delivered = b->n;
}

const struct ks_sender ks_tr_syslog_udp = {"syslog-udp", sys_open, sys_send, NULL, sys_close};
const struct ks_sender ks_tr_syslog_tcp = {"syslog-tcp", sys_open, sys_send, NULL, sys_close};
const struct ks_sender ks_tr_syslog_tls = {"syslog-tls", sys_open, sys_send, NULL, sys_close};
