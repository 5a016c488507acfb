// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The check catalog: YAML data (the built-in packaging/posture/catalog.yaml, compiled in, then the files
 * in posture.catalogs), validated against the evaluators' parameter rules at load, so a typo stops the
 * daemon at start instead of silently passing a check forever.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "checks.h"
#include "env.h"

/* The built-in catalog (catalog_data.S). */
extern const char ks_catalog_builtin[];
extern const char ks_catalog_builtin_end[];

static const struct ks_evaluator *const evaluators[] = {
    &ks_eval_sysctl,        &ks_eval_sshd,        &ks_eval_file_mode,     &ks_eval_absent,     &ks_eval_passwd_shadowed,
    &ks_eval_shadow_empty,  &ks_eval_uid0,        &ks_eval_unique,        &ks_eval_sudoers,    &ks_eval_walk,
    &ks_eval_suid_packaged, &ks_eval_mount,       &ks_eval_listening,     &ks_eval_exe_unsafe, &ks_eval_lockdown,
    &ks_eval_mac,           &ks_eval_kernel_file, &ks_eval_shadow_maxage, &ks_eval_home_perms,
};

const struct ks_evaluator *ks_evaluator_find(const char *name)
{
	for (size_t i = 0; i < sizeof(evaluators) / sizeof(evaluators[0]); i++)
		if (!strcmp(evaluators[i]->name, name))
			return evaluators[i];
	return NULL;
}

/* ---- YAML -> json-c ---- */

static struct json_object *node_to_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
	struct json_object *o;

	if (!n || depth > 32)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return json_object_new_string_len((const char *)n->data.scalar.value, (int)n->data.scalar.length);
	case YAML_SEQUENCE_NODE:
		o = json_object_new_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			struct json_object *v = node_to_json(doc, yaml_document_get_node(doc, *it), depth + 1);

			if (!v) {
				json_object_put(o);
				return NULL;
			}
			json_object_array_add(o, v);
		}
		return o;
	case YAML_MAPPING_NODE:
		o = json_object_new_object();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			struct json_object *v;

			if (!k || k->type != YAML_SCALAR_NODE) {
				json_object_put(o);
				return NULL;
			}
			v = node_to_json(doc, yaml_document_get_node(doc, p->value), depth + 1);
			if (!v) {
				json_object_put(o);
				return NULL;
			}
			json_object_object_add(o, (const char *)k->data.scalar.value, v);
		}
		return o;
	default:
		return NULL;
	}
}

struct json_object *ks_yaml_to_json(const char *text, size_t len, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct json_object *o = NULL;

	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "line %zu, column %zu: %s", parser.problem_mark.line + 1,
		         parser.problem_mark.column + 1, parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		return NULL;
	}
	o = node_to_json(&doc, yaml_document_get_root_node(&doc), 0);
	if (!o)
		snprintf(err, errlen, "empty document, or a mapping key that is not a plain value");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return o;
}

/* ---- the catalog ---- */

static const char *field(struct json_object *c, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(c, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (!n || n > 31)
		return false;
	return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
}

static int add_check(struct ks_catalog *cat, const char *name, size_t idx, struct json_object *c, char *err,
                     size_t errlen)
{
	static const char *const known[] = {"id",          "title",     "area",   "severity", "reference",
	                                    "remediation", "evaluator", "params", "enabled",  NULL};
	const char *id = field(c, "id"), *title = field(c, "title"), *area = field(c, "area"),
	           *sev = field(c, "severity"), *ref = field(c, "reference"), *rem = field(c, "remediation"),
	           *evn = field(c, "evaluator"), *en = field(c, "enabled");
	struct json_object *params = NULL;
	struct ks_check chk = {0}, *slot = NULL;
	char perr[256];

	if (!json_object_is_type(c, json_type_object)) {
		snprintf(err, errlen, "%s: checks[%zu]: expected a mapping", name, idx);
		return -1;
	}
	json_object_object_foreach(c, key, val)
	{
		bool ok = false;

		(void)val;
		for (int i = 0; known[i]; i++)
			ok |= !strcmp(key, known[i]);
		if (!ok) {
			snprintf(err, errlen, "%s: checks[%zu] (%s): unknown field '%s'", name, idx, id ? id : "?",
			         key);
			return -1;
		}
	}
	if (!id || !valid_id(id)) {
		snprintf(err, errlen, "%s: checks[%zu]: 'id' must be 1-31 characters of A-Z 0-9 . - _", name, idx);
		return -1;
	}
	if (!title || !area || !sev || !evn) {
		snprintf(err, errlen, "%s: check %s: 'title', 'area', 'severity' and 'evaluator' are required", name,
		         id);
		return -1;
	}
	chk.id = id;
	chk.title = title;
	chk.reference = ref ? ref : "";
	chk.remediation = rem ? rem : "";
	if (ks_area_parse(area) < 0) {
		snprintf(err, errlen, "%s: check %s: area '%s': expected device, user, system or data", name, id, area);
		return -1;
	}
	chk.area = (enum ks_area)ks_area_parse(area);
	if (ks_sev_parse(sev) < 0) {
		snprintf(err, errlen, "%s: check %s: severity '%s': expected info, low, medium, high or critical", name,
		         id, sev);
		return -1;
	}
	chk.sev = (enum ks_sev)ks_sev_parse(sev);
	chk.ev = ks_evaluator_find(evn);
	if (!chk.ev) {
		snprintf(err, errlen, "%s: check %s: no evaluator named '%s'", name, id, evn);
		return -1;
	}
	if (json_object_object_get_ex(c, "params", &params) && !json_object_is_type(params, json_type_object)) {
		snprintf(err, errlen, "%s: check %s: 'params' must be a mapping", name, id);
		return -1;
	}
	chk.params = params;
	if (chk.ev->validate && chk.ev->validate(params, perr, sizeof(perr))) {
		snprintf(err, errlen, "%s: check %s (%s): %s", name, id, evn, perr);
		return -1;
	}
	chk.enabled = true;
	if (en) {
		if (strcmp(en, "true") && strcmp(en, "false")) {
			snprintf(err, errlen, "%s: check %s: 'enabled' must be true or false", name, id);
			return -1;
		}
		chk.enabled = !strcmp(en, "true");
	}
	for (size_t i = 0; i < cat->n; i++)
		if (!strcmp(cat->checks[i].id, id))
			slot = &cat->checks[i]; /* a later file replaces a check: extend or override */
	if (!slot) {
		struct ks_check *nc = realloc(cat->checks, (cat->n + 1) * sizeof(*nc));

		if (!nc) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		cat->checks = nc;
		slot = &cat->checks[cat->n++];
	}
	*slot = chk;
	return 0;
}

int ks_catalog_add_text(struct ks_catalog *cat, const char *name, const char *text, size_t len, char *err,
                        size_t errlen)
{
	struct json_object *doc, *checks;
	char yerr[256];

	if (cat->n_docs >= (int)(sizeof(cat->docs) / sizeof(cat->docs[0]))) {
		snprintf(err, errlen, "%s: too many catalog files", name);
		return -1;
	}
	doc = ks_yaml_to_json(text, len, yerr, sizeof(yerr));
	if (!doc) {
		snprintf(err, errlen, "%s: %s", name, yerr);
		return -1;
	}
	cat->docs[cat->n_docs++] = doc;
	if (!json_object_is_type(doc, json_type_object) || !json_object_object_get_ex(doc, "checks", &checks) ||
	    !json_object_is_type(checks, json_type_array)) {
		snprintf(err, errlen, "%s: expected a mapping with a 'checks' list", name);
		return -1;
	}
	for (size_t i = 0; i < json_object_array_length(checks); i++)
		if (add_check(cat, name, i, json_object_array_get_idx(checks, i), err, errlen))
			return -1;
	return 0;
}

void ks_catalog_free(struct ks_catalog *cat)
{
	if (!cat)
		return;
	for (int i = 0; i < cat->n_docs; i++)
		json_object_put(cat->docs[i]);
	free(cat->checks);
	free(cat);
}

const struct ks_check *ks_catalog_find(const struct ks_catalog *cat, const char *id)
{
	for (size_t i = 0; i < cat->n; i++)
		if (!strcmp(cat->checks[i].id, id))
			return &cat->checks[i];
	return NULL;
}

struct ks_catalog *ks_catalog_load(const struct ks_posture_cfg *cfg, char *err, size_t errlen)
{
	struct ks_catalog *cat = calloc(1, sizeof(*cat));

	if (!cat) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (ks_catalog_add_text(cat, "built-in catalog", ks_catalog_builtin,
	                        (size_t)(ks_catalog_builtin_end - ks_catalog_builtin), err, errlen))
		goto fail;
	for (int i = 0; i < cfg->n_catalogs; i++) {
		FILE *f = fopen(cfg->catalogs[i], "re");
		char *text = NULL;
		size_t len = 0;
		int rc;

		if (!f) {
			snprintf(err, errlen, "posture.catalogs: %s: %s", cfg->catalogs[i], strerror(errno));
			goto fail;
		}
		{
			char buf[8192];
			size_t n;

			while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
				char *nt = len + n > (4u << 20) ? NULL : realloc(text, len + n + 1);

				if (!nt) {
					free(text);
					fclose(f);
					snprintf(err, errlen, "posture.catalogs: %s: too large or out of memory",
					         cfg->catalogs[i]);
					goto fail;
				}
				text = nt;
				memcpy(text + len, buf, n);
				len += n;
			}
		}
		fclose(f);
		rc = ks_catalog_add_text(cat, cfg->catalogs[i], text ? text : "", len, err, errlen);
		free(text);
		if (rc)
			goto fail;
	}
	for (int i = 0; i < cfg->n_disabled; i++) {
		bool found = false;

		for (size_t j = 0; j < cat->n; j++)
			if (!strcmp(cat->checks[j].id, cfg->disabled[i])) {
				cat->checks[j].enabled = false;
				found = true;
			}
		if (!found) { /* a typo would leave the check on while the user thinks it is off */
			snprintf(err, errlen, "posture.disable: no check with id '%s'", cfg->disabled[i]);
			goto fail;
		}
	}
	return cat;
fail:
	ks_catalog_free(cat);
	return NULL;
}

int ks_check_run(struct ks_posture_env *e, const struct ks_check *c, struct ks_check_result *r)
{
	ks_result_reset(r);
	r->status = (enum ks_chk_status)c->ev->run(e, c->params, r);
	if (r->status == KS_CHK_FAIL && !r->actual[0] && r->n_items) {
		/* a list check: the actual value names how many and the first items */
		size_t off = (size_t)snprintf(r->actual, sizeof(r->actual), "%zu:", r->n_items);

		for (size_t i = 0; i < r->n_items && off + 2 < sizeof(r->actual); i++)
			off += (size_t)snprintf(r->actual + off, sizeof(r->actual) - off, " %s%s", r->items[i].key,
			                        i + 1 < r->n_items ? "," : "");
		if (off >= sizeof(r->actual))
			memcpy(r->actual + sizeof(r->actual) - 4, "...", 4);
	}
	return r->status;
}
