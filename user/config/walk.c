// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The YAML walker: reads a config file's mappings against the table's rows (keys.c), so every key is
 * parsed, bounded, defaulted and refused when unknown in one way. Messages are
 * FILE:LINE:COLUMN: key 'PATH': what is wrong.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/table.h"

#define KS_CFG_KEY_PATH 96 /* "outputs[].batch_interval_ms" and the like */

static const char *const bool_names[] = {"false", "true", NULL};

int ks_cfg_fail(struct ks_cfg_ctx *c, const yaml_node_t *n, const char *fmt, ...)
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

const char *ks_cfg_kind_name(const yaml_node_t *n)
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

int ks_cfg_get_str(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, char *dst, size_t cap)
{
	if (v->type != YAML_SCALAR_NODE)
		return ks_cfg_fail(c, v, "key '%s': expected a string, found %s", key, ks_cfg_kind_name(v));
	if (v->data.scalar.length == 0 || v->data.scalar.length >= cap)
		return ks_cfg_fail(c, v, "key '%s': expected a non-empty string shorter than %zu bytes", key, cap);
	if (memchr(v->data.scalar.value, '\0', v->data.scalar.length))
		return ks_cfg_fail(c, v, "key '%s': string holds a NUL byte", key);
	memcpy(dst, v->data.scalar.value, v->data.scalar.length);
	dst[v->data.scalar.length] = '\0';
	return 0;
}

int ks_cfg_get_path(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, char *dst, size_t cap)
{
	if (ks_cfg_get_str(c, key, v, dst, cap))
		return -1;
	if (dst[0] != '/')
		return ks_cfg_fail(c, v, "key '%s': '%s' is not an absolute path", key, dst);
	return 0;
}

static int get_uint(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, unsigned min, unsigned max,
                    unsigned *out)
{
	char buf[32], *end;
	unsigned long long x;

	if (v->type != YAML_SCALAR_NODE || v->data.scalar.length == 0 || v->data.scalar.length >= sizeof(buf))
		return ks_cfg_fail(c, v, "key '%s': expected an integer from %u to %u", key, min, max);
	memcpy(buf, v->data.scalar.value, v->data.scalar.length);
	buf[v->data.scalar.length] = '\0';
	errno = 0;
	x = strtoull(buf, &end, 10);
	if (errno || *end || buf[0] == '-' || buf[0] == '+' || buf[0] == ' ')
		return ks_cfg_fail(c, v, "key '%s': expected an integer from %u to %u, found '%s'", key, min, max, buf);
	if (x < min || x > max)
		return ks_cfg_fail(c, v, "key '%s': %llu is out of range (%u to %u)", key, x, min, max);
	*out = (unsigned)x;
	return 0;
}

static void join(char *list, size_t cap, const char *const *names)
{
	list[0] = '\0';
	for (int i = 0; names[i]; i++) {
		strncat(list, i ? ", " : "", cap - strlen(list) - 1);
		strncat(list, names[i], cap - strlen(list) - 1);
	}
}

int ks_cfg_get_enum(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, const char *const *names, int *out)
{
	char buf[64], list[256];
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
	join(list, sizeof(list), names);
	return ks_cfg_fail(c, v, "key '%s': expected one of: %s", key, list);
}

/* Whether the pair before `pair` in map already has this key. */
static bool seen_before(struct ks_cfg_ctx *c, yaml_node_t *map, yaml_node_pair_t *pair, const char *key, size_t len)
{
	for (yaml_node_pair_t *prev = map->data.mapping.pairs.start; prev < pair; prev++) {
		yaml_node_t *pk = yaml_document_get_node(c->doc, prev->key);

		if (pk && pk->type == YAML_SCALAR_NODE && pk->data.scalar.length == len &&
		    !memcmp(pk->data.scalar.value, key, len))
			return true;
	}
	return false;
}

int ks_cfg_each_pair(struct ks_cfg_ctx *c, const char *section, yaml_node_t *map, const char *const *known,
                     ks_cfg_pair_fn fn, void *arg)
{
	yaml_node_pair_t *pair;

	if (map->type != YAML_MAPPING_NODE)
		return ks_cfg_fail(c, map, "'%s': expected a mapping, found %s", section, ks_cfg_kind_name(map));
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
		char key[64], list[512];
		int i, found = 0;

		if (!k || !v || k->type != YAML_SCALAR_NODE || k->data.scalar.length >= sizeof(key))
			return ks_cfg_fail(c, k, "'%s': keys must be short strings", section);
		memcpy(key, k->data.scalar.value, k->data.scalar.length);
		key[k->data.scalar.length] = '\0';
		if (seen_before(c, map, pair, key, k->data.scalar.length))
			return ks_cfg_fail(c, k, "key '%s' appears twice in '%s'", key, section);
		for (i = 0; known[i]; i++)
			found |= !strcmp(key, known[i]);
		if (!found) {
			join(list, sizeof(list), known);
			return ks_cfg_fail(c, k, "unknown key '%s' in '%s' (known keys: %s)", key, section, list);
		}
		if (fn(c, key, v, arg))
			return -1;
	}
	return 0;
}

static void key_path(const struct ks_cfg_section *s, const struct ks_cfg_key *k, char *dst, size_t cap)
{
	snprintf(dst, cap, "%s%s%s", s->path, s->path[0] ? "." : "", k->name);
}

/* KS_CFG_LIST: each scalar item into its slot; the count follows. */
static int parse_list(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, yaml_node_t *seq, void *base)
{
	int *count = (int *)((char *)base + k->count_off);
	yaml_node_item_t *it;
	unsigned i = 0;

	if (seq->type != YAML_SEQUENCE_NODE)
		return ks_cfg_fail(c, seq, "key '%s': expected a list, found %s", key, ks_cfg_kind_name(seq));
	*count = 0;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++, i++) {
		if (i >= k->max)
			return ks_cfg_fail(c, seq, "key '%s': at most %u entries", key, k->max);
		if (k->item(c, key, k, yaml_document_get_node(c->doc, *it), (char *)base + k->off + i * k->size))
			return -1;
		*count = (int)i + 1;
	}
	return 0;
}

struct sev_map_arg {
	const char *key;
	const struct ks_cfg_key *k;
	unsigned *vals;
};

static int sev_pair(struct ks_cfg_ctx *c, const char *sev, yaml_node_t *v, void *arg)
{
	struct sev_map_arg *a = arg;
	char key[KS_CFG_KEY_PATH];

	snprintf(key, sizeof(key), "%s.%s", a->key, sev);
	return get_uint(c, key, v, a->k->min, a->k->max, &a->vals[ks_sev_parse(sev)]);
}

static int set_enum(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, const yaml_node_t *v,
                    void *field)
{
	int i;

	if (k->size != sizeof(int))
		return ks_cfg_fail(c, v, "key '%s': the table gives a field of %zu bytes for an enum", key, k->size);
	if (ks_cfg_get_enum(c, key, v, k->names, &i))
		return -1;
	memcpy(field, &i, sizeof(i));
	return 0;
}

static int set_bool(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, void *field)
{
	int b = 0;

	if (ks_cfg_get_enum(c, key, v, bool_names, &b))
		return -1;
	*(bool *)field = b;
	return 0;
}

/* One row's value (its type's parse, then its check) into base, the struct of the row's section. */
static int set_value(struct ks_cfg_ctx *c, const struct ks_cfg_section *s, const struct ks_cfg_key *k, yaml_node_t *v,
                     void *base)
{
	void *field = (char *)base + k->off;
	char key[KS_CFG_KEY_PATH];
	int rc = -1;

	key_path(s, k, key, sizeof(key));
	switch (k->type) {
	case KS_CFG_BOOL:
		rc = set_bool(c, key, v, field);
		break;
	case KS_CFG_UINT:
		rc = get_uint(c, key, v, k->min, k->max, field);
		break;
	case KS_CFG_STR:
		rc = ks_cfg_get_str(c, key, v, field, k->size);
		break;
	case KS_CFG_PATH:
		rc = ks_cfg_get_path(c, key, v, field, k->size);
		break;
	case KS_CFG_ENUM:
		rc = set_enum(c, key, k, v, field);
		break;
	case KS_CFG_LIST:
		rc = parse_list(c, key, k, v, base);
		break;
	case KS_CFG_SEV_MAP: {
		struct sev_map_arg a = {key, k, field};

		rc = ks_cfg_each_pair(c, key, v, ks_sev_names, sev_pair, &a);
		break;
	}
	case KS_CFG_SECTION:
		rc = ks_cfg_parse_section(c, k->section, v, field, NULL);
		break;
	case KS_CFG_CUSTOM:
		rc = k->parse(c, key, k, v, base);
		break;
	}
	if (rc == 0 && k->check)
		rc = k->check(c, key, v, field);
	if (rc == 0 && k->has_line && !c->is_default)
		*(int *)((char *)base + k->line_off) = (int)v->start_mark.line + 1;
	return rc;
}

struct section_arg {
	const struct ks_cfg_section *s;
	void *base;
	uint64_t seen;
};

static int section_pair(struct ks_cfg_ctx *c, const char *key, yaml_node_t *v, void *arg)
{
	struct section_arg *a = arg;

	for (size_t i = 0; i < a->s->n; i++)
		if (!strcmp(a->s->keys[i].name, key)) {
			a->seen |= 1ull << i;
			return set_value(c, a->s, &a->s->keys[i], v, a->base);
		}
	return ks_cfg_fail(c, v, "key '%s': not in the table", key); /* each_pair checked: unreachable */
}

int ks_cfg_parse_section(struct ks_cfg_ctx *c, const struct ks_cfg_section *s, yaml_node_t *map, void *base,
                         uint64_t *seen)
{
	const char *known[65];
	struct section_arg a = {s, base, 0};
	size_t i;

	if (s->n >= sizeof(known) / sizeof(known[0]))
		return ks_cfg_fail(c, map, "'%s': more rows than the walker tracks", s->name);
	for (i = 0; i < s->n; i++)
		known[i] = s->keys[i].name;
	known[i] = NULL;
	if (ks_cfg_each_pair(c, s->name, map, known, section_pair, &a))
		return -1;
	if (seen)
		*seen = a.seen;
	return 0;
}

bool ks_cfg_seen(const struct ks_cfg_section *s, uint64_t seen, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->keys[i].name, name))
			return seen & (1ull << i);
	return false;
}

int ks_cfg_key_default(const struct ks_cfg_section *s, const struct ks_cfg_key *k, void *base, char *err, size_t errlen)
{
	char name[KS_CFG_KEY_PATH + 32], key[KS_CFG_KEY_PATH];
	yaml_parser_t parser;
	yaml_document_t doc;
	struct ks_cfg_ctx c = {.doc = &doc, .name = name, .err = err, .errlen = errlen, .is_default = true};
	yaml_node_t *root;
	int rc = -1;

	if (k->type == KS_CFG_SECTION) {
		ks_cfg_section_defaults(k->section, (char *)base + k->off);
		return 0;
	}
	if (k->def_fn)
		k->def_fn(base);
	if (!k->def)
		return 0;
	key_path(s, k, key, sizeof(key));
	snprintf(name, sizeof(name), "the default of '%s'", key);
	if (!yaml_parser_initialize(&parser))
		return ks_cfg_fail(&c, NULL, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)k->def, strlen(k->def));
	if (!yaml_parser_load(&parser, &doc)) {
		ks_cfg_fail(&c, NULL, "YAML syntax error: %s", parser.problem ? parser.problem : "unknown");
		yaml_parser_delete(&parser);
		return -1;
	}
	root = yaml_document_get_root_node(&doc);
	if (root)
		rc = set_value(&c, s, k, root, base);
	else
		ks_cfg_fail(&c, NULL, "empty");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

void ks_cfg_section_defaults(const struct ks_cfg_section *s, void *base)
{
	char err[512];

	for (size_t i = 0; i < s->n; i++) {
		if (ks_cfg_key_default(s, &s->keys[i], base, err, sizeof(err)) == 0)
			continue;
		/* only a table that contradicts itself (tests/unit/test_config_docs.c) or no memory get here */
		fprintf(stderr, "kansoku: config table: %s\n", err);
		abort();
	}
}

static void each_key_in(const struct ks_cfg_section *s, void (*fn)(const char *, const struct ks_cfg_key *, void *),
                        void *arg)
{
	char path[KS_CFG_KEY_PATH];

	for (size_t i = 0; i < s->n; i++) {
		const struct ks_cfg_key *k = &s->keys[i];

		if (k->type == KS_CFG_SECTION) {
			each_key_in(k->section, fn, arg);
			continue;
		}
		key_path(s, k, path, sizeof(path));
		fn(path, k, arg);
		if (k->type == KS_CFG_CUSTOM && k->section)
			each_key_in(k->section, fn, arg);
	}
}

void ks_cfg_each_key(void (*fn)(const char *path, const struct ks_cfg_key *k, void *arg), void *arg)
{
	each_key_in(&ks_cfg_root, fn, arg);
}

struct find_arg {
	const char *path;
	const struct ks_cfg_key *found;
};

static void find_one(const char *path, const struct ks_cfg_key *k, void *arg)
{
	struct find_arg *a = arg;

	if (!strcmp(path, a->path))
		a->found = k;
}

const struct ks_cfg_key *ks_cfg_find(const char *path)
{
	struct find_arg a = {path, NULL};

	ks_cfg_each_key(find_one, &a);
	return a.found;
}

static void print_key(const char *path, const struct ks_cfg_key *k, void *arg)
{
	static const char *const kinds[] = {
	    [KS_CFG_BOOL] = "bool",
	    [KS_CFG_UINT] = "integer",
	    [KS_CFG_STR] = "string",
	    [KS_CFG_PATH] = "absolute path",
	    [KS_CFG_ENUM] = "one of",
	    [KS_CFG_LIST] = "list",
	    [KS_CFG_SEV_MAP] = "per severity",
	    [KS_CFG_SECTION] = "section",
	    [KS_CFG_CUSTOM] = "list",
	};
	char type[256], names[200];

	if (k->type == KS_CFG_UINT || k->type == KS_CFG_SEV_MAP)
		snprintf(type, sizeof(type), "%s %u-%u", kinds[k->type], k->min, k->max);
	else if (k->type == KS_CFG_ENUM) {
		join(names, sizeof(names), k->names);
		snprintf(type, sizeof(type), "%s: %s", kinds[k->type], names);
	} else if (k->type == KS_CFG_LIST || (k->type == KS_CFG_CUSTOM && k->max))
		snprintf(type, sizeof(type), "%s (at most %u)", kinds[k->type], k->max);
	else
		snprintf(type, sizeof(type), "%s", kinds[k->type]);
	fprintf(arg, "%s\n    %s; default: %s\n    %s\n", path, type,
	        k->def      ? k->def
	        : k->def_fn ? "(see README.md)"
	                    : "none",
	        k->doc);
}

void ks_config_print_keys(FILE *f)
{
	ks_cfg_each_key(print_key, f);
}

int ks_config_parse(struct ks_config *cfg, const char *name, const char *text, size_t len, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	struct ks_cfg_ctx c = {.doc = &doc, .name = name, .err = err, .errlen = errlen};
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
	if (!root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
		rc = 0; /* an empty file: all defaults */
		goto cleanup;
	}
	rc = ks_cfg_parse_section(&c, &ks_cfg_root, root, cfg, NULL);
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
	int rc = -1;

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
				goto cleanup;
			}
			p = realloc(text, cap);
			if (!p) {
				snprintf(err, errlen, "out of memory reading '%s'", path);
				goto cleanup;
			}
			text = p;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	rc = ks_config_parse(cfg, path, text ? text : "", len, err, errlen);
cleanup:
	fclose(f);
	free(text);
	return rc;
}
