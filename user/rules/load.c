// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reading rule files: each YAML document is kept whole (with its line/column marks) and its lists,
 * macros and rules are noted by name; ks_rules_build compiles them once every file is read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define RULE_FILE_MAX (16 * 1024 * 1024)

struct ks_rules_builder *ks_rules_builder_new(void)
{
	return calloc(1, sizeof(struct ks_rules_builder));
}

void ks_rules_builder_free(struct ks_rules_builder *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->n_docs; i++) {
		yaml_document_delete(b->docs[i]);
		free(b->docs[i]);
		free(b->names[i]);
		free(b->srcs[i]);
	}
	for (i = 0; i < b->n_disabled; i++)
		free(b->disabled[i]);
	free(b->docs);
	free(b->names);
	free(b->srcs);
	free(b->src_lens);
	free(b->macros);
	free(b->lists);
	free(b->rules);
	free(b->disabled);
	free(b->disabled_pos);
	free(b);
}

static int disable_at(struct ks_rules_builder *b, const char *id, const struct ks_rpos *pos)
{
	char **nd = realloc(b->disabled, (b->n_disabled + 1) * sizeof(*nd));
	struct ks_rpos *np;

	if (nd)
		b->disabled = nd;
	np = realloc(b->disabled_pos, (b->n_disabled + 1) * sizeof(*np));
	if (np)
		b->disabled_pos = np;
	if (!nd || !np || !(b->disabled[b->n_disabled] = strdup(id)))
		return -1;
	b->disabled_pos[b->n_disabled] = pos ? *pos : (struct ks_rpos){0};
	b->n_disabled++;
	return 0;
}

int ks_rules_disable(struct ks_rules_builder *b, const char *id)
{
	return disable_at(b, id, NULL);
}

/* doc holds the file name and source of the document being read. */
static struct ks_rpos node_pos(const struct ks_rpos *doc, const yaml_node_t *n)
{
	return ks_rpos_of(doc->file, doc->src, doc->src_len, n);
}

static bool scalar_is(const yaml_node_t *n, const char *s)
{
	return n->type == YAML_SCALAR_NODE && !strcmp((const char *)n->data.scalar.value, s);
}

static void *grow(void *v, size_t n, size_t size)
{
	return realloc(v, (n + 1) * size);
}

static int add_lists(struct ks_rules_builder *b, const struct ks_rpos *doc, yaml_document_t *d, yaml_node_t *m,
                     struct ks_rules_err *err)
{
	yaml_node_pair_t *pr;

	for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(d, pr->key), *v = yaml_document_get_node(d, pr->value);
		struct ks_rpos kp = node_pos(doc, k), vp = node_pos(doc, v);
		yaml_node_item_t *it;
		struct ks_rdef_list *nl;

		if (k->type != YAML_SCALAR_NODE || v->type != YAML_SEQUENCE_NODE) {
			ks_rerr(err, &kp, 0, "a list is NAME: [item, ...]");
			return -1;
		}
		for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++)
			if (yaml_document_get_node(d, *it)->type != YAML_SCALAR_NODE) {
				ks_rerr(err, &vp, 0, "list '%s': items must be scalars",
				        (const char *)k->data.scalar.value);
				return -1;
			}
		if (!(nl = grow(b->lists, b->n_lists, sizeof(*nl))))
			return -1;
		b->lists = nl;
		b->lists[b->n_lists++] = (struct ks_rdef_list){(const char *)k->data.scalar.value, kp, d, v};
	}
	return 0;
}

static int add_macros(struct ks_rules_builder *b, const struct ks_rpos *doc, yaml_document_t *d, yaml_node_t *m,
                      struct ks_rules_err *err)
{
	yaml_node_pair_t *pr;

	for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(d, pr->key), *v = yaml_document_get_node(d, pr->value);
		struct ks_rpos kp = node_pos(doc, k);
		struct ks_rdef_macro *nm;

		if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) {
			ks_rerr(err, &kp, 0, "a macro is NAME: condition");
			return -1;
		}
		if (ks_rfield_lookup((const char *)k->data.scalar.value, k->data.scalar.length) >= 0) {
			ks_rerr(err, &kp, 0, "macro '%s' has the name of a field", (const char *)k->data.scalar.value);
			return -1;
		}
		if (!(nm = grow(b->macros, b->n_macros, sizeof(*nm))))
			return -1;
		b->macros = nm;
		b->macros[b->n_macros++] =
		    (struct ks_rdef_macro){(const char *)k->data.scalar.value, (const char *)v->data.scalar.value,
		                           v->data.scalar.length, node_pos(doc, v), kp};
	}
	return 0;
}

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	yaml_node_pair_t *pr;

	for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++)
		if (scalar_is(yaml_document_get_node(d, pr->key), key))
			return yaml_document_get_node(d, pr->value);
	return NULL;
}

/* A rule with an id already read replaces it, in its place. */
static int add_rules(struct ks_rules_builder *b, const struct ks_rpos *doc, yaml_document_t *d, yaml_node_t *s,
                     bool policy, struct ks_rules_err *err)
{
	yaml_node_item_t *it;
	size_t i;

	for (it = s->data.sequence.items.start; it < s->data.sequence.items.top; it++) {
		yaml_node_t *r = yaml_document_get_node(d, *it), *id;
		struct ks_rpos rp = node_pos(doc, r);
		struct ks_rdef_rule def, *nr;

		if (r->type != YAML_MAPPING_NODE) {
			ks_rerr(err, &rp, 0,
			        policy ? "a policy is a mapping with id, title, files|exec|network, allow, ..."
			               : "a rule is a mapping with id, title, condition, ...");
			return -1;
		}
		id = map_get(d, r, "id");
		if (!id || id->type != YAML_SCALAR_NODE || !id->data.scalar.length) {
			ks_rerr(err, &rp, 0, "%s without an id: add 'id: ...'", policy ? "policy" : "rule");
			return -1;
		}
		def = (struct ks_rdef_rule){(const char *)id->data.scalar.value, rp, d, r, policy};
		for (i = 0; i < b->n_rules && strcmp(b->rules[i].id, def.id); i++)
			;
		if (i < b->n_rules) {
			b->rules[i] = def;
			continue;
		}
		if (!(nr = grow(b->rules, b->n_rules, sizeof(*nr))))
			return -1;
		b->rules = nr;
		b->rules[b->n_rules++] = def;
	}
	return 0;
}

static int add_disable(struct ks_rules_builder *b, const struct ks_rpos *doc, yaml_document_t *d, yaml_node_t *s,
                       struct ks_rules_err *err)
{
	yaml_node_item_t *it;

	for (it = s->data.sequence.items.start; it < s->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(d, *it);
		struct ks_rpos p = node_pos(doc, n);

		if (n->type != YAML_SCALAR_NODE) {
			ks_rerr(err, &p, 0, "disable: a list of rule ids");
			return -1;
		}
		if (disable_at(b, (const char *)n->data.scalar.value, &p))
			return -1;
	}
	return 0;
}

static int add_doc(struct ks_rules_builder *b, const struct ks_rpos *doc, yaml_document_t *d, struct ks_rules_err *err)
{
	yaml_node_t *root = yaml_document_get_root_node(d);
	yaml_node_pair_t *pr;

	if (!root)
		return 0; /* an empty file */
	if (root->type != YAML_MAPPING_NODE) {
		struct ks_rpos p = node_pos(doc, root);

		ks_rerr(err, &p, 0, "a rule file is a mapping with lists, macros, rules and disable");
		return -1;
	}
	for (pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(d, pr->key), *v = yaml_document_get_node(d, pr->value);
		struct ks_rpos kp = node_pos(doc, k);
		bool map = v->type == YAML_MAPPING_NODE, seq = v->type == YAML_SEQUENCE_NODE;
		int rc;

		if (scalar_is(k, "lists") && map)
			rc = add_lists(b, doc, d, v, err);
		else if (scalar_is(k, "macros") && map)
			rc = add_macros(b, doc, d, v, err);
		else if (scalar_is(k, "rules") && seq)
			rc = add_rules(b, doc, d, v, false, err);
		else if (scalar_is(k, "policies") && seq)
			rc = add_rules(b, doc, d, v, true, err);
		else if (scalar_is(k, "disable") && seq)
			rc = add_disable(b, doc, d, v, err);
		else {
			ks_rerr(err, &kp, 0,
			        "unknown key or wrong type: a rule file has lists (mapping), macros (mapping), rules "
			        "(sequence), policies (sequence), disable (sequence)");
			return -1;
		}
		if (rc) {
			if (!err->msg[0])
				ks_rerr(err, &kp, 0, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* Room for one more document in each per-document array (the new slots NULL). */
static int grow_docs(struct ks_rules_builder *b)
{
	size_t n = b->n_docs + 1;
	yaml_document_t **nd = realloc(b->docs, n * sizeof(*nd));
	char **nn, **ns;
	size_t *nl;

	if (nd)
		b->docs = nd;
	nn = realloc(b->names, n * sizeof(*nn));
	if (nn)
		b->names = nn;
	ns = realloc(b->srcs, n * sizeof(*ns));
	if (ns)
		b->srcs = ns;
	nl = realloc(b->src_lens, n * sizeof(*nl));
	if (nl)
		b->src_lens = nl;
	if (!nd || !nn || !ns || !nl)
		return -1;
	b->names[b->n_docs] = b->srcs[b->n_docs] = NULL;
	return 0;
}

int ks_rules_add_text(struct ks_rules_builder *b, const char *name, const char *text, size_t len,
                      struct ks_rules_err *err)
{
	yaml_parser_t parser;
	yaml_document_t *d = calloc(1, sizeof(*d));
	struct ks_rpos doc = {0};
	int rc = -1;

	memset(err, 0, sizeof(*err));
	if (!d || !yaml_parser_initialize(&parser)) {
		free(d);
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, d)) {
		struct ks_rpos p = {.file = name,
		                    .line = (int)parser.problem_mark.line + 1,
		                    .col = (int)parser.problem_mark.column + 1};

		ks_rerr(err, &p, 0, "YAML: %s%s%s", parser.problem ? parser.problem : "syntax error",
		        parser.context ? " " : "", parser.context ? parser.context : "");
		free(d);
		d = NULL;
		goto cleanup;
	}
	if (grow_docs(b)) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		goto cleanup;
	}
	b->names[b->n_docs] = strdup(name);
	b->srcs[b->n_docs] = malloc(len + 1);
	if (!b->names[b->n_docs] || !b->srcs[b->n_docs]) {
		free(b->names[b->n_docs]);
		free(b->srcs[b->n_docs]);
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		goto cleanup;
	}
	memcpy(b->srcs[b->n_docs], text, len);
	b->srcs[b->n_docs][len] = '\0';
	b->src_lens[b->n_docs] = len;
	doc.file = b->names[b->n_docs];
	doc.src = b->srcs[b->n_docs];
	doc.src_len = len;
	b->docs[b->n_docs++] = d;
	d = NULL; /* owned by the builder now */
	rc = add_doc(b, &doc, b->docs[b->n_docs - 1], err);
cleanup:
	if (d) {
		yaml_document_delete(d);
		free(d);
	}
	yaml_parser_delete(&parser);
	return rc;
}

int ks_rules_add_file(struct ks_rules_builder *b, const char *path, struct ks_rules_err *err)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	long size;
	int rc = -1;

	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", path);
	if (!f) {
		snprintf(err->msg, sizeof(err->msg), "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		snprintf(err->msg, sizeof(err->msg), "cannot read: %s", strerror(errno));
		goto cleanup;
	}
	if (size > RULE_FILE_MAX) {
		snprintf(err->msg, sizeof(err->msg), "%ld bytes: larger than the limit of %d", size, RULE_FILE_MAX);
		goto cleanup;
	}
	buf = malloc((size_t)size + 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		snprintf(err->msg, sizeof(err->msg), "cannot read: %s", buf ? strerror(errno) : "out of memory");
		goto cleanup;
	}
	rc = ks_rules_add_text(b, path, buf, (size_t)size, err);
cleanup:
	free(buf);
	fclose(f);
	return rc;
}
