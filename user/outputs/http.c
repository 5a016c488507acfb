// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * http: batched POSTs (libcurl, one kept-alive connection) with gzip, in the body the receiver expects:
 *   ndjson        one event per line (the CRSA repository)
 *   elastic-bulk  {"create":{"_index":I,"_id":UID}} + event per pair; per-item results are read: 409 (the
 *                 event is there already, a resend) counts as delivered, 429/5xx items retry the batch,
 *                 other refusals are set aside
 *   splunk-hec    {"time","host","source","sourcetype","event"} objects, "Authorization: Splunk TOKEN"
 *   loki          {"streams":[{"stream":{labels},"values":[["ns","line"],...]}]}
 * 2xx: delivered. 408/429/5xx and connection errors: retried with backoff (Retry-After honoured).
 * Other 4xx: the batch is set aside with the receiver's answer, never retried forever.
 */
#include <curl/curl.h>
#include <json-c/json.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outputs/netout.h"

struct http_state {
	CURL *curl;
	struct curl_slist *headers;
	struct ks_jw body;
	struct libdeflate_compressor *gzc;
	char *gz;
	size_t gz_cap;
	char *resp;
	size_t resp_len, resp_cap;
	long retry_after_s;
	char curl_err[CURL_ERROR_SIZE];
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct http_state *s = arg;
	size_t len = size * n, keep = len;

	if (s->resp_len + len + 1 > s->resp_cap) {
		size_t cap = s->resp_cap ? s->resp_cap : 4096;
		char *nb;

		while (cap < s->resp_len + len + 1 && cap < (8u << 20))
			cap *= 2;
		if (s->resp_len + len + 1 > cap) /* a huge answer: keep what fits, read the rest */
			keep = cap > s->resp_len + 1 ? cap - s->resp_len - 1 : 0;
		nb = realloc(s->resp, cap);
		if (!nb)
			return len;
		s->resp = nb;
		s->resp_cap = cap;
	}
	memcpy(s->resp + s->resp_len, p, keep);
	s->resp_len += keep;
	s->resp[s->resp_len] = 0;
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct http_state *s = arg;
	size_t len = size * n;

	if (len > 12 && !strncasecmp(p, "Retry-After:", 12))
		s->retry_after_s = strtol(p + 12, NULL, 10);
	return len;
}

static void http_close(struct ks_netout *o)
{
	struct http_state *s = o->transport_state;

	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	curl_slist_free_all(s->headers);
	s->curl = NULL;
	s->headers = NULL;
}

static int http_open(struct ks_netout *o, char *err, size_t errlen)
{
	static const char *const types[] = {"application/x-ndjson", "application/x-ndjson", "application/json",
	                                    "application/json"};
	struct http_state *s = o->transport_state;
	char h[700];

	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		ks_jw_init(&s->body);
		o->transport_state = s;
	}
	s->curl = curl_easy_init();
	if (!s->curl) {
		snprintf(err, errlen, "cannot create a curl handle");
		return -1;
	}
	snprintf(h, sizeof(h), "Content-Type: %s", types[o->cfg.body]);
	s->headers = curl_slist_append(s->headers, h);
	if (o->cfg.gzip)
		s->headers = curl_slist_append(s->headers, "Content-Encoding: gzip");
	if (o->cfg.bearer_token[0]) {
		snprintf(h, sizeof(h), "Authorization: Bearer %s", o->cfg.bearer_token);
		s->headers = curl_slist_append(s->headers, h);
	}
	if (o->cfg.splunk_token[0]) {
		snprintf(h, sizeof(h), "Authorization: Splunk %s", o->cfg.splunk_token);
		s->headers = curl_slist_append(s->headers, h);
	}
	for (int i = 0; i < o->cfg.n_headers; i++)
		s->headers = curl_slist_append(s->headers, o->cfg.headers[i]);
	s->headers = curl_slist_append(s->headers, "Expect:"); /* no 100-continue round trip */
	curl_easy_setopt(s->curl, CURLOPT_URL, o->cfg.url);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(s->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, (long)o->cfg.timeout_ms);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)o->cfg.timeout_ms);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->curl_err);
	curl_easy_setopt(s->curl, CURLOPT_USERAGENT, "kansoku/" KS_VERSION);
	curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->curl, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect could downgrade to plaintext */
	curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, 1L); /* always */
	curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(s->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (o->cfg.ca_file[0])
		curl_easy_setopt(s->curl, CURLOPT_CAINFO, o->cfg.ca_file);
	if (o->cfg.cert_file[0]) {
		curl_easy_setopt(s->curl, CURLOPT_SSLCERT, o->cfg.cert_file);
		curl_easy_setopt(s->curl, CURLOPT_SSLKEY, o->cfg.key_file);
	}
	if (o->cfg.basic_user[0]) {
		curl_easy_setopt(s->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(s->curl, CURLOPT_USERNAME, o->cfg.basic_user);
		curl_easy_setopt(s->curl, CURLOPT_PASSWORD, o->cfg.basic_password);
	}
	return 0;
}

/* "metadata":{...,"uid":"X" in our own encoding (ECS: "event":{..."id":"X"). */
static const char *event_uid(const char *rec, size_t len, size_t *n)
{
	const char *p = memmem(rec, len, "\"metadata\":{", 12), *q;

	if (!p)
		p = memmem(rec, len, "\"event\":{", 9);
	if (!p)
		return NULL;
	q = memmem(p, len - (size_t)(p - rec), "\"uid\":\"", 7);
	if (!q)
		q = memmem(p, len - (size_t)(p - rec), "\"id\":\"", 6);
	if (!q)
		return NULL;
	q = strchr(q, ':') + 2;
	*n = strcspn(q, "\"");
	return q;
}

static long long num_after(const char *rec, size_t len, const char *pat)
{
	const char *p = memmem(rec, len, pat, strlen(pat));

	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* Literal text (strlen, so no length can be miscounted). */
#define RAW(w, lit) ks_jw_raw((w), (lit), strlen(lit))

/* A JSON string inside text built by hand: the writer's comma bookkeeping is not wanted here. */
static void raw_str(struct ks_jw *w, const char *str, size_t n)
{
	w->need_comma[w->depth] = false;
	w->key_pending = false;
	ks_jw_str(w, str, n);
	w->need_comma[w->depth] = false;
}

static void build_body(struct ks_netout *o, struct http_state *s, const struct ks_batch *b)
{
	struct ks_jw *w = &s->body;

	ks_jw_reset(w);
	if (o->cfg.body == KS_BODY_LOKI) {
		RAW(w, "{\"streams\":[{\"stream\":{\"job\":\"kansoku\",\"host\":");
		raw_str(w, o->hostname, strlen(o->hostname));
		RAW(w, o->cfg.format == KS_FMT_ECS ? ",\"format\":\"ecs\"},\"values\":["
		                                   : ",\"format\":\"ocsf\"},\"values\":[");
	}
	for (size_t i = 0; i < b->n; i++) {
		const char *rec = b->buf + b->off[i];
		size_t len = b->off[i + 1] - b->off[i] - 1, un = 0;
		const char *uid;
		long long ms;
		char num[64];

		switch (o->cfg.body) {
		case KS_BODY_NDJSON:
			ks_jw_raw(w, rec, len);
			RAW(w, "\n");
			break;
		case KS_BODY_ELASTIC:
			RAW(w, "{\"create\":{\"_index\":");
			raw_str(w, o->cfg.index[0] ? o->cfg.index : "kansoku",
			        strlen(o->cfg.index[0] ? o->cfg.index : "kansoku"));
			uid = event_uid(rec, len, &un);
			if (uid) { /* the event's uid as _id: a resent event is a 409, not a duplicate */
				RAW(w, ",\"_id\":");
				raw_str(w, uid, un);
			}
			RAW(w, "}}\n");
			ks_jw_raw(w, rec, len);
			RAW(w, "\n");
			break;
		case KS_BODY_SPLUNK:
			ms = num_after(rec, len, "\"time\":");
			snprintf(num, sizeof(num), "{\"time\":%lld.%03lld,\"host\":", ms / 1000, ms % 1000);
			ks_jw_raw(w, num, strlen(num));
			raw_str(w, o->hostname, strlen(o->hostname));
			RAW(w, ",\"source\":\"kansoku\",\"sourcetype\":");
			RAW(w, o->cfg.format == KS_FMT_ECS ? "\"ecs\"" : "\"ocsf\"");
			if (o->cfg.index[0]) {
				RAW(w, ",\"index\":");
				raw_str(w, o->cfg.index, strlen(o->cfg.index));
			}
			RAW(w, ",\"event\":");
			ks_jw_raw(w, rec, len);
			RAW(w, "}\n");
			break;
		case KS_BODY_LOKI:
			ms = num_after(rec, len, "\"time\":"); /* ECS: the one in kansoku.ocsf */
			if (ms < 0)
				ms = 0;
			snprintf(num, sizeof(num), "%s[\"%lld000000\",", i ? "," : "", ms);
			ks_jw_raw(w, num, strlen(num));
			raw_str(w, rec, len); /* the line is a JSON string */
			RAW(w, "]");
			break;
		}
	}
	if (o->cfg.body == KS_BODY_LOKI)
		RAW(w, "]}]}");
}

/* The body as one gzip member, libdeflate's level 1 (the file output's rotation uses the same): the
 * compressor is made once and kept, not set up and torn down per batch. */
static int gzip_body(struct http_state *s, const char *in, size_t len, size_t *out_len)
{
	size_t cap;

	if (!s->gzc && !(s->gzc = libdeflate_alloc_compressor(1)))
		return -1;
	cap = libdeflate_gzip_compress_bound(s->gzc, len);
	if (cap > s->gz_cap) {
		char *nb = realloc(s->gz, cap);

		if (!nb)
			return -1;
		s->gz = nb;
		s->gz_cap = cap;
	}
	*out_len = libdeflate_gzip_compress(s->gzc, in, len, s->gz, s->gz_cap);
	return *out_len ? 0 : -1;
}

/* The receiver's answer, short and on one line, for status. */
static void answer(char *out, size_t outlen, long code, const char *resp, size_t len)
{
	char body[200];
	size_t n = len < sizeof(body) - 1 ? len : sizeof(body) - 1;

	memcpy(body, resp ? resp : "", resp ? n : 0);
	body[resp ? n : 0] = 0;
	for (char *p = body; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	snprintf(out, outlen, "HTTP %ld: %s", code, body);
}

/* _bulk: each item's status. Returns -1 if the answer is not a bulk response. */
static int bulk_items(struct http_state *s, size_t n, size_t *retry, size_t *refused, char *first, size_t flen)
{
	struct json_object *doc = json_tokener_parse(s->resp ? s->resp : ""), *items, *errors;

	*retry = *refused = 0;
	if (!doc || !json_object_object_get_ex(doc, "items", &items) || !json_object_is_type(items, json_type_array)) {
		json_object_put(doc);
		return -1;
	}
	if (json_object_object_get_ex(doc, "errors", &errors) && !json_object_get_boolean(errors)) {
		json_object_put(doc);
		return 0;
	}
	for (size_t i = 0; i < json_object_array_length(items) && i < n; i++) {
		struct json_object *it = json_object_array_get_idx(items, i), *op = NULL, *st;
		long code;

		json_object_object_foreach(it, k, v)
		{
			(void)k;
			op = v;
		}
		if (!op || !json_object_object_get_ex(op, "status", &st))
			continue;
		code = json_object_get_int(st);
		if (code < 300 || code == 409)
			continue;
		if (code == 429 || code >= 500)
			(*retry)++;
		else {
			(*refused)++;
			if (!first[0]) {
				struct json_object *e = json_object_object_get(op, "error");

				snprintf(first, flen, "bulk item %zu: %ld %s", i, code,
				         e ? json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN) : "");
			}
		}
	}
	json_object_put(doc);
	return 0;
}

static void http_send(struct ks_netout *o, const struct ks_batch *b, struct ks_send_result *r)
{
	struct http_state *s = o->transport_state;
	const char *data;
	size_t len;
	long code = 0;
	CURLcode rc;

	build_body(o, s, b);
	if (s->body.oom) {
		snprintf(r->error, sizeof(r->error), "out of memory building the request");
		r->retry = true;
		return;
	}
	data = s->body.buf;
	len = s->body.len;
	if (o->cfg.gzip) {
		if (gzip_body(s, s->body.buf, s->body.len, &len)) {
			snprintf(r->error, sizeof(r->error), "gzip failed");
			r->retry = true;
			return;
		}
		data = s->gz;
	}
	s->resp_len = 0;
	s->retry_after_s = 0;
	s->curl_err[0] = 0;
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = curl_easy_perform(s->curl);
	if (rc != CURLE_OK) {
		snprintf(r->error, sizeof(r->error), "POST %.120s: %.180s", o->cfg.url,
		         s->curl_err[0] ? s->curl_err : curl_easy_strerror(rc));
		r->broken = true;
		return;
	}
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300) {
		if (o->cfg.body == KS_BODY_ELASTIC) {
			size_t retry = 0, refused = 0;
			char first[256] = "";

			if (bulk_items(s, b->n, &retry, &refused, first, sizeof(first)) == 0 && retry) {
				snprintf(r->error, sizeof(r->error), "bulk: %zu items to retry (429/5xx)", retry);
				r->retry = true;
				return;
			}
			if (refused) { /* the batch is done; its refused items are kept aside */
				snprintf(r->error, sizeof(r->error), "%s", first);
				r->delivered = b->n;
				r->rejected = refused;
				return;
			}
		}
		r->delivered = b->n;
		return;
	}
	answer(r->error, sizeof(r->error), code, s->resp, s->resp_len);
	if (code == 408 || code == 429 || code >= 500) {
		r->retry = true;
		if (s->retry_after_s > 0)
			r->retry_after_ms = s->retry_after_s * 1000 > 300000 ? 300000 : s->retry_after_s * 1000;
		return;
	}
	/* 4xx: this batch will never be accepted as it is: set aside, counted, the queue moves on */
	r->delivered = b->n;
	r->rejected = b->n;
}

const struct ks_sender ks_tr_http = {"http", http_open, http_send, NULL, http_close};
