// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * RELP (librelp): syslog messages the receiver acknowledges one by one. librelp sends within a window of
 * W unacknowledged messages and blocks when it is full, so after n messages at least n - W are
 * acknowledged: those are acknowledged in our queue at once. The last W are confirmed when there is
 * nothing more to send for a moment, by closing the session (the close's reply comes after every ack).
 * A daemon killed in between resends at most W messages: the receiver can drop them by (device uid, boot
 * id, sequence).
 */
#include <stddef.h>

#include <librelp.h> /* needs size_t first */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "outputs/netout.h"

/* rsyslog's imrelp answers each frame from one thread: a deeper window keeps it busy while acks travel
 * (into rsyslog here: 20,000-24,000 events/s with 128, 30,000-38,000 with 1024, no gain at 4096). A
 * killed daemon resends at most this many; librelp holds them in memory (~2 MB of events). */
#define RELP_WINDOW 1024

struct relp_state {
	relpEngine_t *engine;
	relpClt_t *clt;
	size_t unconfirmed; /* sent in this session, not known to be acknowledged */
	struct ks_jw jw;
	char err[256];
};

static void on_err(void *usr, char *objinfo, char *errmsg, relpRetVal code)
{
	struct relp_state *s = usr;

	(void)objinfo;
	if (!strncmp(s->err, "RELP TLS:", 9)) /* the certificate's fault: keep that, not the "cannot open" after it */
		return;
	snprintf(s->err, sizeof(s->err), "RELP: %s (librelp %d)", errmsg ? errmsg : "error", (int)code);
}

/* A server certificate refused: what was wrong with it, for `kansoku status`. */
static void on_auth_err(void *usr, char *authinfo, char *errmsg, relpRetVal code)
{
	struct relp_state *s = usr;

	(void)code; /* the connect's own code follows in the message status shows */
	snprintf(s->err, sizeof(s->err), "RELP TLS: %s%s%.120s", errmsg ? errmsg : "authentication failed",
	         authinfo && authinfo[0] ? ": " : "", authinfo ? authinfo : "");
}

/* librelp calls its debug printer unconditionally: it must be set. */
static void no_dbg(char *fmt, ...)
{
	(void)fmt;
}

static void on_generic_err(char *objinfo, char *errmsg, relpRetVal code)
{
	(void)objinfo;
	(void)errmsg;
	(void)code;
}

static void relp_close(struct ks_netout *o)
{
	struct relp_state *s = o->transport_state;

	if (!s)
		return;
	if (s->clt)
		relpEngineCltDestruct(s->engine, &s->clt);
	if (s->engine)
		relpEngineDestruct(&s->engine);
	s->clt = NULL;
	s->engine = NULL;
	s->unconfirmed = 0;
}

static int relp_open(struct ks_netout *o, char *err, size_t errlen)
{
	struct relp_state *s = o->transport_state;
	char port[8];
	relpRetVal rc;

	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		ks_jw_init(&s->jw);
		o->transport_state = s;
	}
	s->err[0] = 0;
	if (relpEngineConstruct(&s->engine) != RELP_RET_OK) {
		snprintf(err, errlen, "RELP: cannot create the engine");
		return -1;
	}
	relpEngineSetDbgprint(s->engine, no_dbg);
	relpEngineSetOnErr(s->engine, on_err);
	relpEngineSetOnAuthErr(s->engine, on_auth_err);
	relpEngineSetOnGenericErr(s->engine, on_generic_err);
	relpEngineSetEnableCmd(s->engine, (unsigned char *)"syslog", eRelpCmdState_Required);
	if (o->cfg.relp_tls)
		/* GnuTLS, not OpenSSL: librelp's OpenSSL backend keeps one SSL_CTX for the whole process, set
		 * up with the CA file of whichever session connects first, so one RELP output's ca_file would
		 * be trusted by another (seen in CI: the wrong-CA output delivered). Its GnuTLS backend gives
		 * each session its own credentials. */
		if (relpEngineSetTLSLibByName(s->engine, "gnutls") != RELP_RET_OK) {
			snprintf(err, errlen, "RELP: this librelp has no GnuTLS support for relp_tls");
			relp_close(o);
			return -1;
		}
	if (relpEngineCltConstruct(s->engine, &s->clt) != RELP_RET_OK) {
		snprintf(err, errlen, "RELP: cannot create the client");
		relp_close(o);
		return -1;
	}
	relpCltSetUsrPtr(s->clt, s);
	relpCltSetTimeout(s->clt, o->cfg.timeout_ms / 1000 ? o->cfg.timeout_ms / 1000 : 1);
	relpCltSetWindowSize(s->clt, RELP_WINDOW);
	if (o->cfg.relp_tls) {
		const char *name = o->cfg.server_name[0] ? o->cfg.server_name : o->cfg.host;

		/* verified like every TLS output: the CA, and the server's certificate name; TLS 1.2 or later */
		if (relpCltEnableTLS(s->clt) != RELP_RET_OK ||
		    relpCltSetGnuTLSPriString(s->clt, (char *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2") !=
		        RELP_RET_OK ||
		    relpCltSetCACert(s->clt, o->cfg.ca_file) != RELP_RET_OK || /* config: relp_tls needs ca_file */
		    (o->cfg.cert_file[0] && (relpCltSetOwnCert(s->clt, o->cfg.cert_file) != RELP_RET_OK ||
		                             relpCltSetPrivKey(s->clt, o->cfg.key_file) != RELP_RET_OK)) ||
		    relpCltSetAuthMode(s->clt, (char *)"name") != RELP_RET_OK ||
		    relpCltAddPermittedPeer(s->clt, (char *)name) != RELP_RET_OK) {
			snprintf(err, errlen, "RELP: TLS settings refused by librelp");
			relp_close(o);
			return -1;
		}
	}
	snprintf(port, sizeof(port), "%u", o->cfg.port);
	rc = relpCltConnect(s->clt, 0, (unsigned char *)port, (unsigned char *)o->cfg.host);
	if (rc != RELP_RET_OK) {
		snprintf(err, errlen, "RELP connect %.100s:%u failed%s%.150s (librelp %d)", o->cfg.host, o->cfg.port,
		         s->err[0] ? ": " : "", s->err, (int)rc);
		relp_close(o);
		return -1;
	}
	s->unconfirmed = 0;
	return 0;
}

static void relp_send(struct ks_netout *o, const struct ks_batch *b, struct ks_send_result *r)
{
	struct relp_state *s = o->transport_state;

	relpCltHintBurstBegin(s->clt);
	for (size_t i = 0; i < b->n; i++) {
		relpRetVal rc;

		ks_syslog_format(o, b->buf + b->off[i], b->off[i + 1] - b->off[i] - 1, &s->jw);
		rc = relpCltSendSyslog(s->clt, (unsigned char *)s->jw.buf, s->jw.len);
		if (rc != RELP_RET_OK) {
			relpCltHintBurstEnd(s->clt);
			snprintf(r->error, sizeof(r->error), "RELP send to %.100s:%u failed%s%.150s (librelp %d)",
			         o->cfg.host, o->cfg.port, s->err[0] ? ": " : "", s->err, (int)rc);
			r->broken = true; /* everything unconfirmed goes again after the reconnect */
			r->delivered = 0;
			return;
		}
		s->unconfirmed++;
	}
	relpCltHintBurstEnd(s->clt);
	if (s->unconfirmed > RELP_WINDOW) { /* the window guarantees these were acknowledged */
		r->delivered = s->unconfirmed - RELP_WINDOW;
		s->unconfirmed = RELP_WINDOW;
	}
}

/* Quiet: close the session to confirm the window (the close is answered after every ack). */
static void relp_idle(struct ks_netout *o, struct ks_send_result *r)
{
	struct relp_state *s = o->transport_state;
	relpRetVal rc;
	size_t n = s ? s->unconfirmed : 0;

	if (!s || !s->clt)
		return;
	s->err[0] = 0;
	rc = relpEngineCltDestruct(s->engine, &s->clt);
	s->clt = NULL;
	relpEngineDestruct(&s->engine);
	s->engine = NULL;
	s->unconfirmed = 0;
	o->connected = false; /* the next batch opens a new session */
	/* librelp reports the server's closing of the session through the error callback even when the
	 * close went as it should: the return code is what says whether the close was answered */
	if (rc == RELP_RET_OK)
		r->delivered = n;
	else {
		snprintf(r->error, sizeof(r->error), "RELP close failed%s%.200s", s->err[0] ? ": " : "", s->err);
		r->broken = true;
	}
}

const struct ks_sender ks_tr_relp = {"relp", relp_open, relp_send, relp_idle, relp_close};
