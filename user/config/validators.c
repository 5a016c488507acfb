// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What a row's type cannot say: small named checks the rows of keys.c point to, list items that are more
 * than a string, and the outputs list with its cross-field rules (TLS settings on a plaintext transport,
 * RELP TLS without a CA, keys that go together).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/table.h"

#define KS_DEFAULT_EVENTS_FILE "/var/log/kansoku/events.json"

int ks_cfg_check_pow2(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, void *field)
{
	unsigned x = *(unsigned *)field;

	if (x & (x - 1))
		return ks_cfg_fail(c, v, "key '%s': %u is not a power of two", key, x);
	return 0;
}

int ks_cfg_check_socket(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, void *field)
{
	if (strlen(field) >= 108) /* sizeof(sun_path) */
		return ks_cfg_fail(c, v, "key '%s': path longer than 107 bytes cannot be a Unix socket", key);
	return 0;
}

int ks_cfg_check_max_size(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, void *field)
{
	unsigned kb = *(unsigned *)field;

	if (kb && kb < 64)
		return ks_cfg_fail(c, v, "key '%s': %u is below 64 (or 0 to never rotate)", key, kb);
	return 0;
}

/* The name is a directory under state_dir/queue: nothing that could climb out of it. */
int ks_cfg_check_output_name(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, void *field)
{
	const char *name = field;

	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(name) ||
	    name[0] == '.')
		return ks_cfg_fail(c, v, "key '%s': letters, digits, '-', '_' and '.' only", key);
	return 0;
}

int ks_cfg_check_app_name(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, void *field)
{
	for (const char *p = field; *p; p++) /* RFC 5424: PRINTUSASCII, no space */
		if (*p < 33 || *p > 126)
			return ks_cfg_fail(c, v, "key '%s': printable ASCII without spaces only", key);
	return 0;
}

int ks_cfg_check_url(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, void *field)
{
	if (strncmp(field, "http://", 7) && strncmp(field, "https://", 8))
		return ks_cfg_fail(c, v, "key '%s': expected http:// or https://", key);
	return 0;
}

int ks_cfg_item_str(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, const yaml_node_t *v, void *slot)
{
	return ks_cfg_get_str(c, key, v, slot, k->size);
}

int ks_cfg_item_path(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, const yaml_node_t *v,
                     void *slot)
{
	return ks_cfg_get_path(c, key, v, slot, k->size);
}

int ks_cfg_item_header(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, const yaml_node_t *v,
                       void *slot)
{
	char *h = slot, *colon;

	if (ks_cfg_get_str(c, key, v, h, k->size))
		return -1;
	colon = strchr(h, ':');
	if (!colon || colon == h || strpbrk(h, "\r\n"))
		return ks_cfg_fail(c, v, "key '%s': expected \"Name: value\" on one line", key);
	return 0;
}

/* "tcp/22", "udp/53" or "22" (both protocols). */
int ks_cfg_item_port(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, const yaml_node_t *v,
                     void *slot)
{
	struct ks_allowed_port *ap = slot;
	char buf[32], *num = buf, *end;
	unsigned long port;

	(void)k;
	if (ks_cfg_get_str(c, key, v, buf, sizeof(buf)))
		return -1;
	ap->proto[0] = 0;
	if (!strncmp(buf, "tcp/", 4) || !strncmp(buf, "udp/", 4)) {
		snprintf(ap->proto, sizeof(ap->proto), "%.3s", buf);
		num = buf + 4;
	}
	errno = 0;
	port = strtoul(num, &end, 10);
	if (errno || *end || !*num || port == 0 || port > 65535)
		return ks_cfg_fail(c, v, "key '%s': '%s' is not a port (\"tcp/22\", \"udp/53\" or \"22\")", key, buf);
	ap->port = (uint16_t)port;
	return 0;
}

static int check_syslog(struct ks_cfg_ctx *c, const yaml_node_t *n, const struct ks_output_cfg *o, bool tls_keys)
{
	bool tls = o->transport == KS_TR_TLS || (o->transport == KS_TR_RELP && o->relp_tls);

	if (!o->host[0] || !o->port)
		return ks_cfg_fail(c, n, "output of type syslog: keys 'host' and 'port' are required");
	if (tls_keys && !tls)
		return ks_cfg_fail(c, n,
		                   "output %s: ca_file/cert_file/key_file given but the transport is plaintext "
		                   "(use transport: tls, or relp with relp_tls: true)",
		                   o->name);
	if (o->transport == KS_TR_RELP && o->relp_tls && !o->ca_file[0]) /* it would trust nothing */
		return ks_cfg_fail(
		    c, n, "output %s: relp_tls needs ca_file (librelp does not read the system's CA store)", o->name);
	return 0;
}

static int check_http(struct ks_cfg_ctx *c, const yaml_node_t *n, const struct ks_output_cfg *o, bool tls_keys)
{
	if (!o->url[0])
		return ks_cfg_fail(c, n, "output of type http: key 'url' is required");
	if (tls_keys && strncmp(o->url, "https://", 8))
		return ks_cfg_fail(c, n, "output %s: ca_file/cert_file/key_file given but the url is not https://",
		                   o->name);
	if (o->body == KS_BODY_SPLUNK && !o->splunk_token[0])
		return ks_cfg_fail(c, n, "output %s: body splunk-hec needs 'splunk_token'", o->name);
	if (!!o->basic_user[0] != !!o->basic_password[0])
		return ks_cfg_fail(c, n, "output %s: basic_user and basic_password go together", o->name);
	return 0;
}

/* What each output type needs, and no TLS setting on a plaintext transport: there is no silent
 * downgrade, a certificate given to a plaintext output is a mistake to report. */
static int check_output(struct ks_cfg_ctx *c, const yaml_node_t *n, struct ks_output_cfg *o, uint64_t seen, int idx)
{
	static const char *const type_names[] = {"file", "syslog", "http"};
	const struct ks_cfg_section *s = &ks_cfg_output;
	bool tls_keys =
	    ks_cfg_seen(s, seen, "ca_file") || ks_cfg_seen(s, seen, "cert_file") || ks_cfg_seen(s, seen, "key_file");
	int rc = 0;

	if (!ks_cfg_seen(s, seen, "type"))
		return ks_cfg_fail(c, n, "output: key 'type' is required (file, syslog or http)");
	if (!o->name[0])
		snprintf(o->name, sizeof(o->name), "%s-%d", type_names[o->type], idx + 1);
	switch (o->type) {
	case KS_OUT_FILE:
		if (!ks_cfg_seen(s, seen, "path"))
			rc = ks_cfg_fail(c, n, "output of type file: key 'path' is required");
		break;
	case KS_OUT_SYSLOG:
		rc = check_syslog(c, n, o, tls_keys);
		break;
	case KS_OUT_HTTP:
		rc = check_http(c, n, o, tls_keys);
		break;
	}
	if (rc == 0 && !!o->cert_file[0] != !!o->key_file[0])
		rc = ks_cfg_fail(c, n, "output %s: cert_file and key_file (mutual TLS) go together", o->name);
	return rc;
}

/* outputs: a list of mappings, each read against the outputs[] rows, then checked as a whole. */
int ks_cfg_parse_outputs(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, yaml_node_t *seq,
                         void *base)
{
	struct ks_config *cfg = base;
	yaml_node_item_t *it;

	if (seq->type != YAML_SEQUENCE_NODE)
		return ks_cfg_fail(c, seq, "key '%s': expected a list, found %s", key, ks_cfg_kind_name(seq));
	cfg->n_outputs = 0;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(c->doc, *it);
		struct ks_output_cfg *o;
		uint64_t seen = 0;

		if ((unsigned)cfg->n_outputs == k->max)
			return ks_cfg_fail(c, n, "key '%s': at most %u outputs", key, k->max);
		o = &cfg->outputs[cfg->n_outputs];
		ks_output_cfg_defaults(o);
		o->line = (int)n->start_mark.line + 1;
		if (ks_cfg_parse_section(c, k->section, n, o, &seen) || check_output(c, n, o, seen, cfg->n_outputs))
			return -1;
		for (int i = 0; i < cfg->n_outputs; i++)
			if (!strcmp(cfg->outputs[i].name, o->name))
				return ks_cfg_fail(
				    c, n, "output name '%s' is used twice (each network output has its own queue)",
				    o->name);
		cfg->n_outputs++;
	}
	if (cfg->n_outputs == 0)
		return ks_cfg_fail(c, seq, "key '%s': at least one output is required", key);
	return 0;
}

/* One file output, unnamed as before this table existed (`kansoku status` shows the name). */
void ks_cfg_default_outputs(void *base)
{
	struct ks_config *cfg = base;

	cfg->n_outputs = 1;
	ks_output_cfg_defaults(&cfg->outputs[0]);
	cfg->outputs[0].type = KS_OUT_FILE;
	snprintf(cfg->outputs[0].path, sizeof(cfg->outputs[0].path), "%s", KS_DEFAULT_EVENTS_FILE);
}
