// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The config table against itself and its documentation: every key in the table is in README.md's
 * configuration table and in packaging/kansoku.yaml (its commented-out examples included), neither
 * documents a key the table does not know, the defaults they show are the table's, and every row's
 * bounds hold at both ends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/table.h"

#define MAX_KEYS 256

struct key_set {
	char *path[MAX_KEYS];
	char *def[MAX_KEYS]; /* the documented default, when one value is given for the key */
	int n;
};

static void set_add(struct key_set *s, const char *path, const char *def, size_t def_len)
{
	assert_true(s->n < MAX_KEYS);
	s->path[s->n] = strdup(path);
	s->def[s->n] = def ? strndup(def, def_len) : NULL;
	s->n++;
}

static int set_find(const struct key_set *s, const char *path)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->path[i], path))
			return i;
	return -1;
}

static void set_free(struct key_set *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->path[i]);
		free(s->def[i]);
	}
	s->n = 0;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

static void table_key(const char *path, const struct ks_cfg_key *k, void *arg)
{
	set_add(arg, path, k->def, k->def ? strlen(k->def) : 0);
}

/* Both directions: a table key missing from the docs, a documented key missing from the table. */
static void expect_same_keys(const struct key_set *table, const struct key_set *docs, const char *where)
{
	int bad = 0;

	for (int i = 0; i < table->n; i++)
		if (set_find(docs, table->path[i]) < 0) {
			print_error("key '%s' is in the config table but not in %s\n", table->path[i], where);
			bad++;
		}
	for (int i = 0; i < docs->n; i++)
		if (set_find(table, docs->path[i]) < 0) {
			print_error("%s documents key '%s', which the config table does not know\n", where,
			            docs->path[i]);
			bad++;
		}
	if (bad)
		fail_msg("%d key(s) differ between the config table and %s", bad, where);
}

/* The `...` spans of one markdown cell, in order. */
static int cell_tokens(const char *cell, const char *end, const char **tok, size_t *len, int max)
{
	int n = 0;

	for (const char *p = cell; p < end && n < max; p++) {
		const char *q;

		if (*p != '`')
			continue;
		q = memchr(p + 1, '`', (size_t)(end - p - 1));
		if (!q)
			break;
		tok[n] = p + 1;
		len[n++] = (size_t)(q - p - 1);
		p = q;
	}
	return n;
}

/* README.md's "## Configuration" table: | `key`[, `key`...] | default[, default...] | meaning | */
static void readme_keys(struct key_set *docs)
{
	char *text = read_text("README.md"), *line, *save = NULL;
	bool in_section = false;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *keys[16], *defs[16], *c1, *c2, *c3;
		size_t klen[16], dlen[16];
		char path[128];
		int nk, nd;

		if (!strncmp(line, "## ", 3))
			in_section = !strcmp(line, "## Configuration");
		if (!in_section || strncmp(line, "| `", 3))
			continue;
		c1 = line + 1;
		c2 = strchr(c1, '|');
		assert_non_null(c2);
		c3 = strchr(c2 + 1, '|');
		assert_non_null(c3);
		nk = cell_tokens(c1, c2, keys, klen, 16);
		nd = cell_tokens(c2 + 1, c3, defs, dlen, 16);
		for (int i = 0; i < nk; i++) {
			snprintf(path, sizeof(path), "%.*s", (int)klen[i], keys[i]);
			set_add(docs, path, nd == nk ? defs[i] : NULL, nd == nk ? dlen[i] : 0);
		}
	}
	free(text);
}

/* A comment that is commented-out YAML ("# - type: syslog", "#   port: 6514", "# watch:"), not prose. */
static bool is_yaml_comment(const char *rest)
{
	size_t id;

	rest += strspn(rest, " ");
	if (!strncmp(rest, "- ", 2))
		return true;
	id = strspn(rest, "abcdefghijklmnopqrstuvwxyz_");
	return id && rest[id] == ':' && (rest[id + 1] == ' ' || rest[id + 1] == '\0');
}

/* packaging/kansoku.yaml with its examples uncommented ("  # - type: x" becomes "  - type: x"). */
static char *shipped_with_examples(void)
{
	char *text = read_text("packaging/kansoku.yaml"), *out = calloc(1, strlen(text) + 1), *line, *save = NULL;

	assert_non_null(out);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t indent = strspn(line, " ");

		if (!strncmp(line + indent, "# ", 2) && is_yaml_comment(line + indent + 2)) {
			strncat(out, line, indent);
			strcat(out, line + indent + 2);
		} else {
			strcat(out, line);
		}
		strcat(out, "\n");
	}
	free(text);
	return out;
}

/* The keys of a YAML mapping, read as the table reads them (sections and outputs' items descended). */
static void yaml_keys(yaml_document_t *doc, yaml_node_t *map, const struct ks_cfg_section *s, struct key_set *docs)
{
	assert_int_equal(map->type, YAML_MAPPING_NODE);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);
		const struct ks_cfg_key *row = NULL;
		char path[128];

		snprintf(path, sizeof(path), "%s%s%s", s->path, s->path[0] ? "." : "", (char *)k->data.scalar.value);
		for (size_t i = 0; i < s->n; i++)
			if (!strcmp(s->keys[i].name, (char *)k->data.scalar.value))
				row = &s->keys[i];
		if (row && row->type == KS_CFG_SECTION) {
			yaml_keys(doc, v, row->section, docs);
			continue;
		}
		if (set_find(docs, path) < 0)
			set_add(docs, path, NULL, 0);
		if (row && row->type == KS_CFG_CUSTOM && row->section && v->type == YAML_SEQUENCE_NODE)
			for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++)
				yaml_keys(doc, yaml_document_get_node(doc, *it), row->section, docs);
	}
}

static void test_readme_documents_every_key(void **state)
{
	struct key_set table = {0}, docs = {0};
	int bad = 0;

	(void)state;
	ks_cfg_each_key(table_key, &table);
	readme_keys(&docs);
	expect_same_keys(&table, &docs, "README.md's configuration table");
	/* where the README shows one value per key, it is the table's default as written there */
	for (int i = 0; i < docs.n; i++) {
		int t = set_find(&table, docs.path[i]);

		if (docs.def[i] && table.def[t] && strcmp(docs.def[i], table.def[t])) {
			print_error("README.md gives '%s' a default of `%s`; the table says `%s`\n", docs.path[i],
			            docs.def[i], table.def[t]);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	set_free(&table);
	set_free(&docs);
}

static void test_shipped_config_documents_every_key(void **state)
{
	struct key_set table = {0}, docs = {0};
	char *text = shipped_with_examples(), err[512];
	yaml_parser_t parser;
	yaml_document_t doc;
	struct ks_config cfg;

	(void)state;
	ks_cfg_each_key(table_key, &table);
	assert_true(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	assert_true(yaml_parser_load(&parser, &doc));
	yaml_keys(&doc, yaml_document_get_root_node(&doc), &ks_cfg_root, &docs);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	expect_same_keys(&table, &docs, "packaging/kansoku.yaml");
	/* the examples, uncommented, are a config the daemon takes */
	if (ks_config_parse(&cfg, "kansoku.yaml+examples", text, strlen(text), err, sizeof(err)))
		fail_msg("the examples of packaging/kansoku.yaml, uncommented, are refused: %s", err);
	free(text);
	set_free(&table);
	set_free(&docs);
}

static void *field_of(struct ks_config *cfg, const char *path, const struct ks_cfg_key *k);

struct two_configs {
	struct ks_config *a, *b;
	int differ;
};

static void same_field(const char *path, const struct ks_cfg_key *k, void *arg)
{
	struct two_configs *t = arg;

	if (k->size && memcmp(field_of(t->a, path, k), field_of(t->b, path, k), k->size)) {
		print_error("packaging/kansoku.yaml gives '%s' a value other than its default\n", path);
		t->differ++;
	}
}

/* packaging/kansoku.yaml is "the documented default": as shipped, it changes nothing. */
static void test_shipped_config_is_the_defaults(void **state)
{
	static struct ks_config cfg, def;
	struct two_configs t = {&cfg, &def, 0};
	char *text = read_text("packaging/kansoku.yaml"), err[512];

	(void)state;
	if (ks_config_parse(&cfg, "kansoku.yaml", text, strlen(text), err, sizeof(err)))
		fail_msg("%s", err);
	ks_config_defaults(&def);
	/* what only a file has: its name, the lines keys were on, the output's generated name */
	memcpy(def.source, cfg.source, sizeof(def.source));
	def.state_dir_line = cfg.state_dir_line;
	def.socket_line = cfg.socket_line;
	def.outputs[0].line = cfg.outputs[0].line;
	memcpy(def.outputs[0].name, cfg.outputs[0].name, sizeof(def.outputs[0].name));
	ks_cfg_each_key(same_field, &t); /* names the key first */
	assert_int_equal(t.differ, 0);
	assert_memory_equal(&cfg, &def, sizeof(def));
	free(text);
}

/* Each row is well formed, and its default passes its own checks. */
static void check_rows(const struct ks_cfg_section *s)
{
	static char base[sizeof(struct ks_config)];
	char err[512];

	for (size_t i = 0; i < s->n; i++) {
		const struct ks_cfg_key *k = &s->keys[i];

		for (size_t j = 0; j < i; j++)
			if (!strcmp(k->name, s->keys[j].name))
				fail_msg("'%s' has two rows in '%s'", k->name, s->name);
		switch (k->type) {
		case KS_CFG_BOOL:
			assert_int_equal(k->size, sizeof(bool));
			break;
		case KS_CFG_UINT:
			assert_int_equal(k->size, sizeof(unsigned));
			assert_true(k->min <= k->max);
			break;
		case KS_CFG_ENUM:
			assert_int_equal(k->size, sizeof(int));
			assert_non_null(k->names);
			break;
		case KS_CFG_STR:
		case KS_CFG_PATH:
			assert_true(k->size > 1);
			break;
		case KS_CFG_LIST:
			assert_true(k->item && k->max > 0 && k->size > 0);
			break;
		case KS_CFG_SEV_MAP:
			assert_int_equal(k->size, sizeof(unsigned) * KS_SEV_MAX);
			break;
		case KS_CFG_SECTION:
			assert_non_null(k->section);
			check_rows(k->section);
			continue;
		case KS_CFG_CUSTOM:
			assert_non_null(k->parse);
			break;
		}
		if (!k->doc || !k->doc[0])
			fail_msg("key '%s' in '%s' has no doc line", k->name, s->name);
		memset(base, 0, sizeof(base));
		if (ks_cfg_key_default(s, k, base, err, sizeof(err)))
			fail_msg("%s", err);
		if (k->type == KS_CFG_CUSTOM && k->section)
			check_rows(k->section);
	}
}

static void test_table_rows_are_well_formed(void **state)
{
	(void)state;
	check_rows(&ks_cfg_root);
}

/* "network.udp_window_ms: 5" as YAML; an outputs[] key goes into a file output. */
static void yaml_for(const char *path, unsigned long long value, char *dst, size_t cap)
{
	const char *dot = strchr(path, '.');

	if (!strncmp(path, "outputs[].", 10))
		snprintf(dst, cap, "outputs:\n  - type: file\n    path: /x\n    %s: %llu\n", path + 10, value);
	else if (dot)
		snprintf(dst, cap, "%.*s:\n  %s: %llu\n", (int)(dot - path), path, dot + 1, value);
	else
		snprintf(dst, cap, "%s: %llu\n", path, value);
}

static void *field_of(struct ks_config *cfg, const char *path, const struct ks_cfg_key *k)
{
	if (!strncmp(path, "outputs[].", 10))
		return (char *)&cfg->outputs[0] + k->off;
	if (!strncmp(path, "posture.", 8))
		return (char *)&cfg->posture + k->off;
	if (!strncmp(path, "rules.", 6))
		return (char *)&cfg->rules + k->off;
	return (char *)cfg + k->off;
}

/* Every integer key takes both of its bounds, stored where the table says, and refuses one past them. */
static void bounds_hold(const char *path, const struct ks_cfg_key *k, void *arg)
{
	static struct ks_config cfg;
	unsigned long long ends[2] = {k->min, k->max};
	char text[256], err[512], want[160];
	unsigned got;

	(void)arg;
	if (k->type != KS_CFG_UINT)
		return;
	for (int i = 0; i < 2; i++) {
		yaml_for(path, ends[i], text, sizeof(text));
		if (ks_config_parse(&cfg, "t.yaml", text, strlen(text), err, sizeof(err)))
			fail_msg("%s: %llu refused: %s", path, ends[i], err);
		memcpy(&got, field_of(&cfg, path, k), sizeof(got));
		assert_int_equal(got, ends[i]);
	}
	for (int i = 0; i < 2; i++) {
		unsigned long long past = i ? (unsigned long long)k->max + 1 : (unsigned long long)k->min - 1;

		if (i == 0 && k->min == 0)
			continue;
		yaml_for(path, past, text, sizeof(text));
		snprintf(want, sizeof(want), "key '%s': %llu is out of range (%u to %u)", path, past, k->min, k->max);
		assert_int_equal(ks_config_parse(&cfg, "t.yaml", text, strlen(text), err, sizeof(err)), -1);
		if (!strstr(err, want))
			fail_msg("%s: expected '%s', got '%s'", path, want, err);
	}
}

static void test_every_bound_holds(void **state)
{
	(void)state;
	ks_cfg_each_key(bounds_hold, NULL);
}

/* argv_max: one bound, the one the README gives, and the value given is the value used. */
static void test_argv_max_bound(void **state)
{
	const struct ks_cfg_key *k = ks_cfg_find("process.argv_max");
	struct ks_config cfg;
	char err[512];

	(void)state;
	assert_non_null(k);
	assert_int_equal(k->max, 4095);
	assert_int_equal(ks_config_parse(&cfg, "t.yaml", "process:\n  argv_max: 4095\n", 26, err, sizeof(err)), 0);
	assert_int_equal(cfg.argv_max, 4095);
	assert_int_equal(ks_config_parse(&cfg, "t.yaml", "process:\n  argv_max: 4096\n", 26, err, sizeof(err)), -1);
	assert_string_equal(err, "t.yaml:2:13: key 'process.argv_max': 4096 is out of range (0 to 4095)");
	ks_config_defaults(&cfg);
	assert_int_equal(cfg.argv_max, 1024);
}

/* kansokud --print-config-keys: every key, with its bounds and default as the table has them. */
static void test_print_config_keys(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	assert_non_null(f);
	ks_config_print_keys(f);
	fclose(f);
	assert_non_null(strstr(out, "process.argv_max\n    integer 0-4095; default: 1024\n"));
	assert_non_null(strstr(out, "outputs[].transport\n    one of: udp, tcp, tls, relp; default: tcp\n"));
	assert_non_null(strstr(out, "posture.allowed_ports\n    list (at most 64); default: [\"tcp/22\"]\n"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_rows_are_well_formed),
	    cmocka_unit_test(test_readme_documents_every_key),
	    cmocka_unit_test(test_shipped_config_documents_every_key),
	    cmocka_unit_test(test_shipped_config_is_the_defaults),
	    cmocka_unit_test(test_every_bound_holds),
	    cmocka_unit_test(test_argv_max_bound),
	    cmocka_unit_test(test_print_config_keys),
	};

	return cmocka_run_group_tests_name("config_docs", tests, NULL, NULL);
}
