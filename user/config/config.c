// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config/config.h"
#include "kansoku/events.h"
#include "lib/log.h"

struct ctx {
	yaml_document_t *doc;
	const char *name;
	char *err;
	size_t errlen;
};

static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		snprintf(c->err, c->errlen, "%s:%zu:%zu: %s", c->name, n->start_mark.line + 1, n->start_mark.column + 1,
		         msg);
	else
		snprintf(c->err, c->errlen, "%s: %s", c->name, msg);
	return -1;
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static int get_str(struct ctx *c, const char *key, const yaml_node_t *v, char *dst, size_t cap)
{
	if (v->type != YAML_SCALAR_NODE)
		return fail(c, v, "key '%s': expected a string, found %s", key, kind_name(v));
	if (v->data.scalar.length == 0 || v->data.scalar.length >= cap)
		return fail(c, v, "key '%s': expected a non-empty string shorter than %zu bytes", key, cap);
	if (memchr(v->data.scalar.value, '\0', v->data.scalar.length))
		return fail(c, v, "key '%s': string holds a NUL byte", key);
	memcpy(dst, v->data.scalar.value, v->data.scalar.length);
	dst[v->data.scalar.length] = '\0';
	return 0;
}

static int get_path(struct ctx *c, const char *key, const yaml_node_t *v, char *dst, size_t cap)
{
	if (get_str(c, key, v, dst, cap))
		return -1;
	if (dst[0] != '/')
		return fail(c, v, "key '%s': '%s' is not an absolute path", key, dst);
	return 0;
}

static int get_uint(struct ctx *c, const char *key, const yaml_node_t *v, unsigned min, unsigned max, unsigned *out)
{
	char buf[32], *end;
	unsigned long long x;

	if (v->type != YAML_SCALAR_NODE || v->data.scalar.length == 0 || v->data.scalar.length >= sizeof(buf))
		return fail(c, v, "key '%s': expected an integer from %u to %u", key, min, max);
	memcpy(buf, v->data.scalar.value, v->data.scalar.length);
	buf[v->data.scalar.length] = '\0';
	errno = 0;
	x = strtoull(buf, &end, 10);
	if (errno || *end || buf[0] == '-' || buf[0] == '+' || buf[0] == ' ')
		return fail(c, v, "key '%s': expected an integer from %u to %u, found '%s'", key, min, max, buf);
	if (x < min || x > max)
		return fail(c, v, "key '%s': %llu is out of range (%u to %u)", key, x, min, max);
	*out = (unsigned)x;
	return 0;
}

static int get_enum(struct ctx *c, const char *key, const yaml_node_t *v, const char *const *names, int *out)
{
	char buf[64], list[256] = "";
	int i;

	if (v->type == YAML_SCALAR_NODE && v->data.scalar.length < sizeof(buf)) {
		memcpy(buf, v->data.scalar.value, v->data.scalar.length);
		buf[v->data.scalar.length] = '\0';
		for (i = 0; names[i]; i++)
			if (!strcmp(buf, names[i])) {
				*out = i;
				return 0;
			}
	}
	for (i = 0; names[i]; i++) {
		strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
		strncat(list, names[i], sizeof(list) - strlen(list) - 1);
	}
	return fail(c, v, "key '%s': expected one of: %s", key, list);
}

/* Iterate a mapping's pairs; key names are checked against `known` (NULL-terminated). */
typedef int (*pair_fn)(struct ctx *c, const char *key, yaml_node_t *v, void *arg);

static int each_pair(struct ctx *c, const char *section, yaml_node_t *map, const char *const *known, pair_fn fn,
                     void *arg)
{
	yaml_node_pair_t *pair;

	if (map->type != YAML_MAPPING_NODE)
		return fail(c, map, "'%s': expected a mapping, found %s", section, kind_name(map));
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
		yaml_node_pair_t *prev;
		char key[64], list[512] = "";
		int i, found = 0;

		if (!k || !v || k->type != YAML_SCALAR_NODE || k->data.scalar.length >= sizeof(key))
			return fail(c, k, "'%s': keys must be short strings", section);
		memcpy(key, k->data.scalar.value, k->data.scalar.length);
		key[k->data.scalar.length] = '\0';
		for (prev = map->data.mapping.pairs.start; prev < pair; prev++) {
			yaml_node_t *pk = yaml_document_get_node(c->doc, prev->key);

			if (pk && pk->type == YAML_SCALAR_NODE && pk->data.scalar.length == k->data.scalar.length &&
			    !memcmp(pk->data.scalar.value, key, k->data.scalar.length))
				return fail(c, k, "key '%s' appears twice in '%s'", key, section);
		}
		for (i = 0; known[i]; i++) {
			if (!strcmp(key, known[i]))
				found = 1;
			strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
			strncat(list, known[i], sizeof(list) - strlen(list) - 1);
		}
		if (!found)
			return fail(c, k, "unknown key '%s' in '%s' (known keys: %s)", key, section, list);
		if (fn(c, key, v, arg))
			return -1;
	}
	return 0;
}

static int ringbuf_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	struct ks_config *cfg = arg;

	if (!strcmp(key, "process_kb")) {
		if (get_uint(c, "ringbuf.process_kb", v, 64, 1u << 20, &cfg->ringbuf_process_kb))
			return -1;
		if (cfg->ringbuf_process_kb & (cfg->ringbuf_process_kb - 1))
			return fail(c, v, "key 'ringbuf.process_kb': %u is not a power of two",
			            cfg->ringbuf_process_kb);
		return 0;
	}
	if (!strcmp(key, "wakeup_bytes"))
		return get_uint(c, "ringbuf.wakeup_bytes", v, 0, 64u << 20, &cfg->wakeup_bytes);
	return get_uint(c, "ringbuf.poll_ms", v, 1, 10000, &cfg->poll_ms);
}

static int process_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	static const char *const hooks[] = {"auto", "tp_btf", "raw_tp", NULL};
	struct ks_config *cfg = arg;
	int h;

	if (!strcmp(key, "argv_max"))
		return get_uint(c, "process.argv_max", v, 0, KS_ARGV_MAX, &cfg->argv_max);
	if (get_enum(c, "process.hooks", v, hooks, &h))
		return -1;
	cfg->hooks = (enum ks_hooks_mode)h;
	return 0;
}

struct out_arg {
	struct ks_output_cfg *o;
	bool has_type, has_path;
	int tls_line; /* a TLS key given (ca_file, cert_file...), for the plaintext check */
};

static int each_item(struct ctx *c, const char *key, yaml_node_t *seq, int max,
                     int (*fn)(struct ctx *c, const char *key, yaml_node_t *v, int i, void *arg), void *arg);

static int header_item(struct ctx *c, const char *key, yaml_node_t *v, int i, void *arg)
{
	struct ks_output_cfg *o = arg;
	char *colon;

	if (get_str(c, key, v, o->headers[i], sizeof(o->headers[i])))
		return -1;
	colon = strchr(o->headers[i], ':');
	if (!colon || colon == o->headers[i] || strpbrk(o->headers[i], "\r\n"))
		return fail(c, v, "key '%s': expected \"Name: value\" on one line", key);
	o->n_headers = i + 1;
	return 0;
}

static int output_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	static const char *const types[] = {"file", "syslog", "http", NULL};
	static const char *const formats[] = {"ocsf", "ecs", NULL};
	static const char *const transports[] = {"udp", "tcp", "tls", "relp", NULL};
	static const char *const bodies[] = {"ndjson", "elastic-bulk", "splunk-hec", "loki", NULL};
	static const char *const bools[] = {"false", "true", NULL};
	static const char *const facilities[] = {"kern",   "user",   "mail",   "daemon",   "auth",   "syslog", "lpr",
	                                         "news",   "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",
	                                         "alert",  "clock",  "local0", "local1",   "local2", "local3", "local4",
	                                         "local5", "local6", "local7", NULL};
	struct out_arg *oa = arg;
	struct ks_output_cfg *o = oa->o;
	int t;

	if (!strcmp(key, "type")) {
		if (get_enum(c, "outputs[].type", v, types, &t))
			return -1;
		o->type = (enum ks_output_type)t;
		oa->has_type = true;
		return 0;
	}
	if (!strcmp(key, "format")) {
		if (get_enum(c, "outputs[].format", v, formats, &t))
			return -1;
		o->format = (enum ks_output_format)t;
		return 0;
	}
	if (!strcmp(key, "name")) {
		if (get_str(c, "outputs[].name", v, o->name, sizeof(o->name)))
			return -1;
		if (strspn(o->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
		        strlen(o->name) ||
		    o->name[0] == '.')
			return fail(c, v, "key 'outputs[].name': letters, digits, '-', '_' and '.' only");
		return 0;
	}
	if (!strcmp(key, "max_size_kb")) {
		if (get_uint(c, "outputs[].max_size_kb", v, 0, 64u << 20, &o->max_size_kb))
			return -1;
		if (o->max_size_kb && o->max_size_kb < 64)
			return fail(c, v, "key 'outputs[].max_size_kb': %u is below 64 (or 0 to never rotate)",
			            o->max_size_kb);
		return 0;
	}
	if (!strcmp(key, "keep"))
		return get_uint(c, "outputs[].keep", v, 1, 1000, &o->keep);
	if (!strcmp(key, "compress") || !strcmp(key, "gzip") || !strcmp(key, "relp_tls")) {
		char name[48];

		snprintf(name, sizeof(name), "outputs[].%s", key);
		if (get_enum(c, name, v, bools, &t))
			return -1;
		if (!strcmp(key, "compress"))
			o->compress = t;
		else if (!strcmp(key, "gzip"))
			o->gzip = t;
		else
			o->relp_tls = t;
		return 0;
	}
	if (!strcmp(key, "queue_max_kb"))
		return get_uint(c, "outputs[].queue_max_kb", v, 64, 64u << 20, &o->queue_max_kb);
	if (!strcmp(key, "ca_file") || !strcmp(key, "cert_file") || !strcmp(key, "key_file")) {
		char name[48];

		snprintf(name, sizeof(name), "outputs[].%s", key);
		oa->tls_line = (int)v->start_mark.line + 1;
		return get_path(c, name, v,
		                !strcmp(key, "ca_file")     ? o->ca_file
		                : !strcmp(key, "cert_file") ? o->cert_file
		                                            : o->key_file,
		                KS_CFG_PATH_MAX);
	}
	if (!strcmp(key, "server_name"))
		return get_str(c, "outputs[].server_name", v, o->server_name, sizeof(o->server_name));
	if (!strcmp(key, "host"))
		return get_str(c, "outputs[].host", v, o->host, sizeof(o->host));
	if (!strcmp(key, "port"))
		return get_uint(c, "outputs[].port", v, 1, 65535, &o->port);
	if (!strcmp(key, "transport")) {
		if (get_enum(c, "outputs[].transport", v, transports, &t))
			return -1;
		o->transport = (enum ks_transport)t;
		return 0;
	}
	if (!strcmp(key, "facility")) {
		if (get_enum(c, "outputs[].facility", v, facilities, &t))
			return -1;
		o->facility = (unsigned)t;
		return 0;
	}
	if (!strcmp(key, "app_name")) {
		if (get_str(c, "outputs[].app_name", v, o->app_name, sizeof(o->app_name)))
			return -1;
		for (const char *p = o->app_name; *p; p++) /* RFC 5424: PRINTUSASCII, no space */
			if (*p < 33 || *p > 126)
				return fail(c, v, "key 'outputs[].app_name': printable ASCII without spaces only");
		return 0;
	}
	if (!strcmp(key, "url")) {
		if (get_str(c, "outputs[].url", v, o->url, sizeof(o->url)))
			return -1;
		if (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8))
			return fail(c, v, "key 'outputs[].url': expected http:// or https://");
		return 0;
	}
	if (!strcmp(key, "body")) {
		if (get_enum(c, "outputs[].body", v, bodies, &t))
			return -1;
		o->body = (enum ks_http_body)t;
		return 0;
	}
	if (!strcmp(key, "batch_events"))
		return get_uint(c, "outputs[].batch_events", v, 1, 100000, &o->batch_events);
	if (!strcmp(key, "batch_kb"))
		return get_uint(c, "outputs[].batch_kb", v, 1, 65536, &o->batch_kb);
	if (!strcmp(key, "batch_interval_ms"))
		return get_uint(c, "outputs[].batch_interval_ms", v, 1, 60000, &o->batch_interval_ms);
	if (!strcmp(key, "timeout_ms"))
		return get_uint(c, "outputs[].timeout_ms", v, 100, 600000, &o->timeout_ms);
	if (!strcmp(key, "headers")) {
		o->n_headers = 0;
		return each_item(c, "outputs[].headers", v, KS_MAX_HEADERS, header_item, o);
	}
	if (!strcmp(key, "bearer_token"))
		return get_str(c, "outputs[].bearer_token", v, o->bearer_token, sizeof(o->bearer_token));
	if (!strcmp(key, "basic_user"))
		return get_str(c, "outputs[].basic_user", v, o->basic_user, sizeof(o->basic_user));
	if (!strcmp(key, "basic_password"))
		return get_str(c, "outputs[].basic_password", v, o->basic_password, sizeof(o->basic_password));
	if (!strcmp(key, "splunk_token"))
		return get_str(c, "outputs[].splunk_token", v, o->splunk_token, sizeof(o->splunk_token));
	if (!strcmp(key, "index"))
		return get_str(c, "outputs[].index", v, o->index, sizeof(o->index));
	oa->has_path = true;
	return get_path(c, "outputs[].path", v, o->path, sizeof(o->path));
}

/* What a network output needs, and no TLS setting on a plaintext transport: there is no silent
 * downgrade, a certificate given to a plaintext output is a mistake to report. */
static int output_check(struct ctx *c, yaml_node_t *n, struct out_arg *oa, int idx)
{
	struct ks_output_cfg *o = oa->o;
	bool tls;

	if (!o->name[0])
		snprintf(o->name, sizeof(o->name), "%s-%d",
		         o->type == KS_OUT_FILE     ? "file"
		         : o->type == KS_OUT_SYSLOG ? "syslog"
		                                    : "http",
		         idx + 1);
	switch (o->type) {
	case KS_OUT_FILE:
		if (!oa->has_path)
			return fail(c, n, "output of type file: key 'path' is required");
		break;
	case KS_OUT_SYSLOG:
		if (!o->host[0] || !o->port)
			return fail(c, n, "output of type syslog: keys 'host' and 'port' are required");
		tls = o->transport == KS_TR_TLS || (o->transport == KS_TR_RELP && o->relp_tls);
		if (oa->tls_line && !tls)
			return fail(c, n,
			            "output %s: ca_file/cert_file/key_file given but the transport is plaintext "
			            "(use transport: tls, or relp with relp_tls: true)",
			            o->name);
		if (o->transport == KS_TR_RELP && o->relp_tls && !o->ca_file[0]) /* it would trust nothing */
			return fail(c, n,
			            "output %s: relp_tls needs ca_file (librelp does not read the system's CA store)",
			            o->name);
		break;
	case KS_OUT_HTTP:
		if (!o->url[0])
			return fail(c, n, "output of type http: key 'url' is required");
		if (oa->tls_line && strncmp(o->url, "https://", 8))
			return fail(c, n, "output %s: ca_file/cert_file/key_file given but the url is not https://",
			            o->name);
		if (o->body == KS_BODY_SPLUNK && !o->splunk_token[0])
			return fail(c, n, "output %s: body splunk-hec needs 'splunk_token'", o->name);
		if (!!o->basic_user[0] != !!o->basic_password[0])
			return fail(c, n, "output %s: basic_user and basic_password go together", o->name);
		break;
	}
	if (!!o->cert_file[0] != !!o->key_file[0])
		return fail(c, n, "output %s: cert_file and key_file (mutual TLS) go together", o->name);
	return 0;
}

static int outputs(struct ctx *c, struct ks_config *cfg, yaml_node_t *seq)
{
	static const char *const known[] = {"type",
	                                    "format",
	                                    "name",
	                                    "path",
	                                    "max_size_kb",
	                                    "keep",
	                                    "compress",
	                                    "queue_max_kb",
	                                    "ca_file",
	                                    "cert_file",
	                                    "key_file",
	                                    "server_name",
	                                    "host",
	                                    "port",
	                                    "transport",
	                                    "relp_tls",
	                                    "facility",
	                                    "app_name",
	                                    "url",
	                                    "body",
	                                    "batch_events",
	                                    "batch_kb",
	                                    "batch_interval_ms",
	                                    "timeout_ms",
	                                    "headers",
	                                    "bearer_token",
	                                    "basic_user",
	                                    "basic_password",
	                                    "splunk_token",
	                                    "index",
	                                    "gzip",
	                                    NULL};
	yaml_node_item_t *it;

	if (seq->type != YAML_SEQUENCE_NODE)
		return fail(c, seq, "key 'outputs': expected a list, found %s", kind_name(seq));
	cfg->n_outputs = 0;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(c->doc, *it);
		struct out_arg oa = {0};

		if (cfg->n_outputs == KS_MAX_OUTPUTS)
			return fail(c, n, "key 'outputs': at most %d outputs", KS_MAX_OUTPUTS);
		oa.o = &cfg->outputs[cfg->n_outputs];
		ks_output_cfg_defaults(oa.o);
		oa.o->line = (int)n->start_mark.line + 1;
		if (each_pair(c, "outputs[]", n, known, output_pair, &oa))
			return -1;
		if (!oa.has_type)
			return fail(c, n, "output: key 'type' is required (file, syslog or http)");
		if (output_check(c, n, &oa, cfg->n_outputs))
			return -1;
		for (int k = 0; k < cfg->n_outputs; k++)
			if (!strcmp(cfg->outputs[k].name, oa.o->name))
				return fail(c, n,
				            "output name '%s' is used twice (each network output has its own queue)",
				            oa.o->name);
		cfg->n_outputs++;
	}
	if (cfg->n_outputs == 0)
		return fail(c, seq, "key 'outputs': at least one output is required");
	return 0;
}

static const char *const op_names[] = {"read", "write", "create", "delete", "rename", "attrib", "all", NULL};

/* A watch/ignore path: absolute, canonical (no "." or ".." parts, no "//", no trailing '/'). */
static int get_rule_path(struct ctx *c, const char *key, const yaml_node_t *v, char *dst, size_t cap)
{
	if (get_path(c, key, v, dst, cap))
		return -1;
	if (strstr(dst, "//") || strstr(dst, "/./") || strstr(dst, "/../") ||
	    (strlen(dst) > 1 && dst[strlen(dst) - 1] == '/') ||
	    (strlen(dst) >= 2 && !strcmp(dst + strlen(dst) - 2, "/.")) ||
	    (strlen(dst) >= 3 && !strcmp(dst + strlen(dst) - 3, "/..")))
		return fail(c, v, "key '%s': '%s' is not a canonical path (no '.', '..', '//' or trailing '/')", key,
		            dst);
	return 0;
}

static int get_ops(struct ctx *c, yaml_node_t *seq, unsigned *ops)
{
	yaml_node_item_t *it;
	int o;

	if (seq->type != YAML_SEQUENCE_NODE)
		return fail(c, seq, "key 'files.watch[].ops': expected a list such as [read, write]");
	*ops = 0;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		if (get_enum(c, "files.watch[].ops", yaml_document_get_node(c->doc, *it), op_names, &o))
			return -1;
		*ops |= o == 6 ? KS_OPS_ALL : (1u << o);
	}
	if (!*ops)
		return fail(c, seq, "key 'files.watch[].ops': empty: give at least one operation");
	return 0;
}

struct rule_arg {
	struct ks_watch_cfg *w;
	bool has_path;
};

static int rule_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	struct rule_arg *ra = arg;

	if (!strcmp(key, "path") || !strcmp(key, "exe")) {
		if (ra->has_path)
			return fail(c, v, "give either 'path' or 'exe', once");
		ra->has_path = true;
		ra->w->exe = key[0] == 'e';
		if (ra->w->exe && !ra->w->ignore)
			return fail(c, v,
			            "key 'exe' belongs in files.ignore (executables whose accesses are not reported)");
		return get_rule_path(c, ra->w->exe ? "files.ignore[].exe" : "files.watch[].path", v, ra->w->path,
		                     sizeof(ra->w->path));
	}
	if (ra->w->ignore)
		return fail(c, v, "key 'files.ignore[].ops': ignore rules take no ops");
	return get_ops(c, v, &ra->w->ops);
}

/* files.watch / files.ignore: each item a path (all ops) or {path, ops}. */
static int rules(struct ctx *c, struct ks_config *cfg, yaml_node_t *seq, bool ignore)
{
	static const char *const known_watch[] = {"path", "ops", NULL}, *const known_ignore[] = {"path", "exe", NULL};
	const char *const *known = ignore ? known_ignore : known_watch;
	const char *name = ignore ? "files.ignore" : "files.watch";
	yaml_node_item_t *it;

	if (seq->type != YAML_SEQUENCE_NODE)
		return fail(c, seq, "key '%s': expected a list", name);
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(c->doc, *it);
		struct ks_watch_cfg *w;

		if (cfg->n_watch == KS_CFG_RULES_MAX)
			return fail(c, n, "'%s': at most %d rules in all", name, KS_CFG_RULES_MAX);
		w = &cfg->watch[cfg->n_watch];
		memset(w, 0, sizeof(*w));
		w->ignore = ignore;
		w->ops = ignore ? 0 : KS_OPS_ALL;
		w->line = (int)n->start_mark.line + 1;
		if (n->type == YAML_SCALAR_NODE) {
			if (get_rule_path(c, name, n, w->path, sizeof(w->path)))
				return -1;
		} else {
			struct rule_arg ra = {.w = w};

			if (each_pair(c, name, n, known, rule_pair, &ra))
				return -1;
			if (!ra.has_path)
				return fail(c, n, "'%s' item: key '%s' is required", name,
				            ignore ? "path' or 'exe" : "path");
		}
		cfg->n_watch++;
	}
	return 0;
}

struct files_arg {
	struct ks_config *cfg;
};

static int files_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	static const char *const bools[] = {"false", "true", NULL};
	struct files_arg *fa = arg;
	int b;

	if (!strcmp(key, "enabled")) {
		if (get_enum(c, "files.enabled", v, bools, &b))
			return -1;
		fa->cfg->files_enabled = b;
		return 0;
	}
	if (!strcmp(key, "aggregate_window_ms"))
		return get_uint(c, "files.aggregate_window_ms", v, 0, 3600000, &fa->cfg->files_window_ms);
	if (!strcmp(key, "ringbuf_kb")) {
		if (get_uint(c, "files.ringbuf_kb", v, 64, 1u << 20, &fa->cfg->ringbuf_file_kb))
			return -1;
		if (fa->cfg->ringbuf_file_kb & (fa->cfg->ringbuf_file_kb - 1))
			return fail(c, v, "key 'files.ringbuf_kb': %u is not a power of two", fa->cfg->ringbuf_file_kb);
		return 0;
	}
	if (!strcmp(key, "watch")) { /* a watch list replaces the default one; ignore rules stay */
		int i, k = 0;

		for (i = 0; i < fa->cfg->n_watch; i++)
			if (fa->cfg->watch[i].ignore)
				fa->cfg->watch[k++] = fa->cfg->watch[i];
		fa->cfg->n_watch = k;
	}
	return rules(c, fa->cfg, v, !strcmp(key, "ignore"));
}

static int network_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	static const char *const bools[] = {"false", "true", NULL};
	struct ks_config *cfg = arg;
	int b;

	if (!strcmp(key, "enabled") || !strcmp(key, "connect_events")) {
		char name[48];

		snprintf(name, sizeof(name), "network.%s", key);
		if (get_enum(c, name, v, bools, &b))
			return -1;
		if (!strcmp(key, "enabled"))
			cfg->net_enabled = b;
		else
			cfg->net_connect_events = b;
		return 0;
	}
	if (!strcmp(key, "udp_window_ms"))
		return get_uint(c, "network.udp_window_ms", v, 1, 3600000, &cfg->net_udp_window_ms);
	if (!strcmp(key, "accept_wait_ms"))
		return get_uint(c, "network.accept_wait_ms", v, 0, 10000, &cfg->net_accept_wait_ms);
	if (get_uint(c, "network.ringbuf_kb", v, 64, 1u << 20, &cfg->ringbuf_net_kb))
		return -1;
	if (cfg->ringbuf_net_kb & (cfg->ringbuf_net_kb - 1))
		return fail(c, v, "key 'network.ringbuf_kb': %u is not a power of two", cfg->ringbuf_net_kb);
	return 0;
}

/* Each scalar of a list, with its index, to fn. */
static int each_item(struct ctx *c, const char *key, yaml_node_t *seq, int max,
                     int (*fn)(struct ctx *c, const char *key, yaml_node_t *v, int i, void *arg), void *arg)
{
	yaml_node_item_t *it;
	int i = 0;

	if (seq->type != YAML_SEQUENCE_NODE)
		return fail(c, seq, "key '%s': expected a list, found %s", key, kind_name(seq));
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++, i++) {
		if (i >= max)
			return fail(c, seq, "key '%s': at most %d entries", key, max);
		if (fn(c, key, yaml_document_get_node(c->doc, *it), i, arg))
			return -1;
	}
	return 0;
}

static int scan_path_item(struct ctx *c, const char *key, yaml_node_t *v, int i, void *arg)
{
	struct ks_posture_cfg *pc = arg;

	pc->n_scan_paths = i + 1;
	return get_path(c, key, v, pc->scan_paths[i], sizeof(pc->scan_paths[i]));
}

static int catalog_item(struct ctx *c, const char *key, yaml_node_t *v, int i, void *arg)
{
	struct ks_posture_cfg *pc = arg;

	pc->n_catalogs = i + 1;
	return get_path(c, key, v, pc->catalogs[i], sizeof(pc->catalogs[i]));
}

static int disable_item(struct ctx *c, const char *key, yaml_node_t *v, int i, void *arg)
{
	struct ks_posture_cfg *pc = arg;

	pc->n_disabled = i + 1;
	return get_str(c, key, v, pc->disabled[i], sizeof(pc->disabled[i]));
}

/* "tcp/22", "udp/53" or "22" (both protocols). */
static int port_item(struct ctx *c, const char *key, yaml_node_t *v, int i, void *arg)
{
	struct ks_posture_cfg *pc = arg;
	char buf[32], *num = buf, *end;
	unsigned long port;

	if (get_str(c, key, v, buf, sizeof(buf)))
		return -1;
	pc->allowed[i].proto[0] = 0;
	if (!strncmp(buf, "tcp/", 4) || !strncmp(buf, "udp/", 4)) {
		snprintf(pc->allowed[i].proto, sizeof(pc->allowed[i].proto), "%.3s", buf);
		num = buf + 4;
	}
	errno = 0;
	port = strtoul(num, &end, 10);
	if (errno || *end || !*num || port == 0 || port > 65535)
		return fail(c, v, "key '%s': '%s' is not a port (\"tcp/22\", \"udp/53\" or \"22\")", key, buf);
	pc->allowed[i].port = (uint16_t)port;
	pc->n_allowed = i + 1;
	return 0;
}

static int sev_map_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	unsigned *vals = arg;
	char name[48];
	int s = ks_sev_parse(key);

	snprintf(name, sizeof(name), "posture.*.%s", key);
	return get_uint(c, name, v, 0, 10000, &vals[s]);
}

static int posture_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	static const char *const bools[] = {"false", "true", NULL};
	static const char *const sevs[] = {"info", "low", "medium", "high", "critical", NULL};
	struct ks_posture_cfg *pc = arg;
	int b;

	if (!strcmp(key, "enabled") || !strcmp(key, "ignore_loopback") || !strcmp(key, "sshd_t")) {
		char name[48];

		snprintf(name, sizeof(name), "posture.%s", key);
		if (get_enum(c, name, v, bools, &b))
			return -1;
		if (!strcmp(key, "enabled"))
			pc->enabled = b;
		else if (!strcmp(key, "ignore_loopback"))
			pc->ignore_loopback = b;
		else
			pc->use_sshd_t = b;
		return 0;
	}
	if (!strcmp(key, "root"))
		return get_path(c, "posture.root", v, pc->root, sizeof(pc->root));
	if (!strcmp(key, "interval"))
		return get_uint(c, "posture.interval", v, 10, 86400, &pc->interval_s);
	if (!strcmp(key, "fs_scan_interval"))
		return get_uint(c, "posture.fs_scan_interval", v, 0, 7 * 86400, &pc->fs_scan_interval_s);
	if (!strcmp(key, "max_age_factor"))
		return get_uint(c, "posture.max_age_factor", v, 1, 100, &pc->max_age_factor);
	if (!strcmp(key, "scan_paths")) {
		pc->n_scan_paths = 0;
		return each_item(c, "posture.scan_paths", v, 16, scan_path_item, pc);
	}
	if (!strcmp(key, "catalogs"))
		return each_item(c, "posture.catalogs", v, 8, catalog_item, pc);
	if (!strcmp(key, "disable"))
		return each_item(c, "posture.disable", v, 128, disable_item, pc);
	if (!strcmp(key, "allowed_ports")) {
		pc->n_allowed = 0;
		return each_item(c, "posture.allowed_ports", v, 64, port_item, pc);
	}
	return each_pair(c, !strcmp(key, "weights") ? "posture.weights" : "posture.grace_days", v, sevs, sev_map_pair,
	                 !strcmp(key, "weights") ? pc->weight : pc->grace_days);
}

static int root_pair(struct ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	static const char *const ringbuf_keys[] = {"process_kb", "wakeup_bytes", "poll_ms", NULL};
	static const char *const process_keys[] = {"argv_max", "hooks", NULL};
	struct ks_config *cfg = arg;

	if (!strcmp(key, "state_dir")) {
		cfg->state_dir_line = (int)v->start_mark.line + 1;
		return get_path(c, key, v, cfg->state_dir, sizeof(cfg->state_dir));
	}
	if (!strcmp(key, "socket")) {
		cfg->socket_line = (int)v->start_mark.line + 1;
		if (get_path(c, key, v, cfg->socket, sizeof(cfg->socket)))
			return -1;
		if (strlen(cfg->socket) >= 108) /* sizeof(sun_path) */
			return fail(c, v, "key 'socket': path longer than 107 bytes cannot be a Unix socket");
		return 0;
	}
	if (!strcmp(key, "log_level"))
		return get_enum(c, key, v, ks_log_level_names, &cfg->log_level);
	if (!strcmp(key, "heartbeat_interval"))
		return get_uint(c, key, v, 1, 86400, &cfg->heartbeat_s);
	if (!strcmp(key, "recent_events"))
		return get_uint(c, key, v, 0, 1000000, &cfg->recent_events);
	if (!strcmp(key, "process"))
		return each_pair(c, "process", v, process_keys, process_pair, cfg);
	if (!strcmp(key, "ringbuf"))
		return each_pair(c, "ringbuf", v, ringbuf_keys, ringbuf_pair, cfg);
	if (!strcmp(key, "files")) {
		static const char *const files_keys[] = {"enabled",    "watch", "ignore", "aggregate_window_ms",
		                                         "ringbuf_kb", NULL};
		struct files_arg fa = {.cfg = cfg};

		return each_pair(c, "files", v, files_keys, files_pair, &fa);
	}
	if (!strcmp(key, "network")) {
		static const char *const network_keys[] = {"enabled",    "connect_events", "udp_window_ms",
		                                           "ringbuf_kb", "accept_wait_ms", NULL};

		return each_pair(c, "network", v, network_keys, network_pair, cfg);
	}
	if (!strcmp(key, "posture")) {
		static const char *const posture_keys[] = {
		    "enabled",         "root",    "interval", "fs_scan_interval", "scan_paths", "allowed_ports",
		    "ignore_loopback", "disable", "catalogs", "weights",          "grace_days", "max_age_factor",
		    "sshd_t",          NULL};

		return each_pair(c, "posture", v, posture_keys, posture_pair, &cfg->posture);
	}
	return outputs(c, cfg, v);
}

void ks_output_cfg_defaults(struct ks_output_cfg *o)
{
	memset(o, 0, sizeof(*o));
	o->max_size_kb = 100 * 1024; /* 100 MiB, 5 kept, gzip: bounded disk use without logrotate */
	o->keep = 5;
	o->compress = true;
	o->queue_max_kb = 256 * 1024; /* 256 MiB of events on disk while a receiver is away */
	o->transport = KS_TR_TCP;
	o->facility = 16; /* local0 */
	snprintf(o->app_name, sizeof(o->app_name), "kansoku");
	o->body = KS_BODY_NDJSON;
	o->batch_events = 500;
	o->batch_kb = 1024;
	o->batch_interval_ms = 1000;
	o->timeout_ms = 10000;
	o->gzip = true;
}

void ks_config_defaults(struct ks_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "/var/lib/kansoku");
	snprintf(cfg->socket, sizeof(cfg->socket), "/run/kansoku/kansoku.sock");
	cfg->log_level = KS_LOG_INFO;
	cfg->heartbeat_s = 60;
	cfg->recent_events = 1000;
	cfg->argv_max = 1024;
	cfg->hooks = KS_HOOKS_AUTO;
	cfg->ringbuf_process_kb = 8192;
	cfg->wakeup_bytes = 256 * 1024;
	cfg->poll_ms = 100;
	cfg->n_outputs = 1;
	ks_output_cfg_defaults(&cfg->outputs[0]);
	cfg->outputs[0].type = KS_OUT_FILE;
	snprintf(cfg->outputs[0].path, sizeof(cfg->outputs[0].path), "/var/log/kansoku/events.json");
	cfg->files_enabled = true;
	cfg->files_window_ms = 5000;
	cfg->ringbuf_file_kb = 8192;
	ks_config_default_watch(cfg);
	cfg->net_enabled = true;
	cfg->net_udp_window_ms = 60000;
	cfg->ringbuf_net_kb = 8192; /* holds a 100,000-close burst (1 MiB lost a third of it) */
	cfg->net_accept_wait_ms = 200;
	ks_posture_cfg_defaults(&cfg->posture);
}

/*
 * What a zero-trust auditor asks about first: changes to system configuration, binaries, boot and
 * scheduled jobs; any access to credentials and SSH keys. Reads of ordinary /etc files are left out:
 * every process reads them, and the noise would bury the rest.
 */
void ks_config_default_watch(struct ks_config *cfg)
{
	static const struct {
		const char *path;
		unsigned ops;
	} defaults[] = {
	    {"/etc", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/etc/shadow", KS_OPS_ALL},
	    {"/etc/gshadow", KS_OPS_ALL},
	    {"/etc/sudoers", KS_OPS_ALL},
	    {"/etc/sudoers.d", KS_OPS_ALL},
	    {"/etc/ssh", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/root", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/root/.ssh", KS_OPS_ALL},
	    {"/home/*/.ssh", KS_OPS_ALL},
	    {"/boot", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/usr/bin", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/usr/sbin", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/usr/lib/systemd", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/etc/systemd", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/var/spool/cron", KS_OPS_ALL},
	    {"/etc/cron.d", KS_OPS_ALL & ~KS_OPS_READ},
	    {"/etc/ld.so.preload", KS_OPS_ALL & ~KS_OPS_READ},
	};
	size_t i;

	cfg->n_watch = 0;
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		struct ks_watch_cfg *w = &cfg->watch[cfg->n_watch++];

		memset(w, 0, sizeof(*w));
		snprintf(w->path, sizeof(w->path), "%s", defaults[i].path);
		w->ops = defaults[i].ops;
	}
}

int ks_config_parse(struct ks_config *cfg, const char *name, const char *text, size_t len, char *err, size_t errlen)
{
	static const char *const known[] = {"state_dir",     "socket",  "log_level", "heartbeat_interval",
	                                    "recent_events", "process", "ringbuf",   "outputs",
	                                    "files",         "network", "posture",   NULL};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	struct ctx c = {.doc = &doc, .name = name, .err = err, .errlen = errlen};
	int rc = -1;

	ks_config_defaults(cfg);
	snprintf(cfg->source, sizeof(cfg->source), "%s", name);
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: YAML syntax error: %s", name, parser.problem_mark.line + 1,
		         parser.problem_mark.column + 1, parser.problem ? parser.problem : "unknown");
		yaml_parser_delete(&parser);
		return -1;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root) { /* empty file: all defaults */
		rc = 0;
		goto cleanup;
	}
	if (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0) {
		rc = 0;
		goto cleanup;
	}
	rc = each_pair(&c, "top level", root, known, root_pair, cfg);
	if (rc == 0 && cfg->argv_max > KS_ARGV_MAX - 1)
		cfg->argv_max = KS_ARGV_MAX - 1; /* the BPF side keeps one byte for masking */
cleanup:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

int ks_config_load(struct ks_config *cfg, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0, cap = 0;
	FILE *f = fopen(path, "re");
	int rc;

	if (!f) {
		snprintf(err, errlen,
		         "cannot read config '%s': %s (give one with --config FILE; the documented default "
		         "is packaging/kansoku.yaml)",
		         path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (len + 4096 > cap) {
			char *p;

			cap = cap ? cap * 2 : 8192;
			if (cap > (1u << 20)) {
				snprintf(err, errlen, "config '%s' is larger than 1 MiB", path);
				free(text);
				fclose(f);
				return -1;
			}
			p = realloc(text, cap);
			if (!p) {
				free(text);
				fclose(f);
				snprintf(err, errlen, "out of memory reading '%s'", path);
				return -1;
			}
			text = p;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	rc = ks_config_parse(cfg, path, text ? text : "", len, err, errlen);
	free(text);
	return rc;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[KS_CFG_PATH_MAX];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int ks_config_check_paths(const struct ks_config *cfg, char *err, size_t errlen)
{
	char dir[KS_CFG_PATH_MAX], *slash;
	int i, fd;

	if (mkdir_p(cfg->state_dir, 0700) < 0 || access(cfg->state_dir, W_OK) < 0) {
		snprintf(err, errlen, "%s:%d: key 'state_dir': cannot create or write '%s': %s", cfg->source,
		         cfg->state_dir_line, cfg->state_dir, strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", cfg->socket);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, 0755) < 0 || access(dir, W_OK) < 0) {
			snprintf(err, errlen, "%s:%d: key 'socket': cannot create or write directory '%s': %s",
			         cfg->source, cfg->socket_line, dir, strerror(errno));
			return -1;
		}
	}
	for (i = 0; i < cfg->n_outputs; i++) {
		const struct ks_output_cfg *o = &cfg->outputs[i];

		if (o->type != KS_OUT_FILE)
			continue;
		snprintf(dir, sizeof(dir), "%s", o->path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			mkdir_p(dir, 0750); /* an error shows in the open below */
		}
		fd = open(o->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (fd < 0) {
			snprintf(err, errlen, "%s:%d: outputs[%d].path: cannot open '%s' for appending: %s",
			         cfg->source, o->line, i, o->path, strerror(errno));
			return -1;
		}
		close(fd);
	}
	return 0;
}
