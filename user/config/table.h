/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The config as one table: each key is one row (its name, type, bounds, default, where it is stored and a
 * line of doc). The YAML walker (walk.c) parses, refuses unknown keys and applies defaults from the rows;
 * what a type cannot say is a small named validator a row points to (validators.c, watch_rules.c);
 * `--check-config`'s path checks are rows' `ensure` functions (paths.c). The tables are in keys.c.
 */
#ifndef KANSOKU_CONFIG_TABLE_H
#define KANSOKU_CONFIG_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config/config.h"

enum ks_cfg_type {
	KS_CFG_BOOL,    /* false | true, into a bool */
	KS_CFG_UINT,    /* a decimal from min to max, into an unsigned */
	KS_CFG_STR,     /* a non-empty string shorter than size, into char[size] */
	KS_CFG_PATH,    /* a KS_CFG_STR that is an absolute path */
	KS_CFG_ENUM,    /* one of names; its index into an int-sized field */
	KS_CFG_LIST,    /* at most max scalars, each given to item at off + i * size; the count at count_off */
	KS_CFG_SEV_MAP, /* {severity: uint from min to max}, into unsigned[KS_SEV_MAX] */
	KS_CFG_SECTION, /* a mapping whose keys are section's rows, the struct at off */
	KS_CFG_CUSTOM,  /* the node is given to parse (watch rules, the outputs list) */
};

/* How the walker reports: the document, the file's name for messages, the error buffer. */
struct ks_cfg_ctx {
	yaml_document_t *doc;
	const char *name;
	char *err;
	size_t errlen;
	bool is_default; /* a row's built-in default, which has no line in the user's file */
};

struct ks_cfg_key;

/* A check after the type's own: field is the parsed value in its struct; key the full path. */
typedef int (*ks_cfg_check_fn)(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, void *field);
/* One list item into slot (KS_CFG_LIST). */
typedef int (*ks_cfg_item_fn)(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, const yaml_node_t *v,
                              void *slot);
/* A whole node (KS_CFG_CUSTOM); base is the struct of the row's section. */
typedef int (*ks_cfg_parse_fn)(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, yaml_node_t *v,
                               void *base);
/* A default no line of YAML says well; base is the struct of the row's section. */
typedef void (*ks_cfg_default_fn)(void *base);
/* --check-config: makes or opens what the value names; 0, or -1 with err (where: "FILE:LINE"). */
typedef int (*ks_cfg_ensure_fn)(const char *where, const char *key, const void *field, char *err, size_t errlen);

struct ks_cfg_section {
	const char *path; /* prefix of the keys' paths: "", "process", "outputs[]" */
	const char *name; /* the mapping in messages: 'top level', 'process', 'outputs[]' */
	const struct ks_cfg_key *keys;
	size_t n;
};

struct ks_cfg_key {
	const char *name;
	enum ks_cfg_type type;
	unsigned min, max;                    /* UINT, SEV_MAP: bounds; LIST: most items */
	bool has_line;                        /* the value's line is kept at line_off (an int), for later errors */
	size_t off, size;                     /* the field in its section's struct (LIST: one item) */
	const char *const *names;             /* ENUM, NULL-terminated */
	const struct ks_cfg_section *section; /* SECTION; CUSTOM: the section of each item (outputs[]) */
	ks_cfg_check_fn check;
	ks_cfg_item_fn item;   /* LIST */
	size_t count_off;      /* LIST: the int counting items */
	ks_cfg_parse_fn parse; /* CUSTOM */
	size_t line_off;
	ks_cfg_ensure_fn ensure; /* --check-config */
	const char *def;         /* the default as written in a config file; NULL: zero, or def_fn */
	ks_cfg_default_fn def_fn;
	const char *doc;
};

/* The top level of the config file. */
extern const struct ks_cfg_section ks_cfg_root;
/* One item of `outputs:`. */
extern const struct ks_cfg_section ks_cfg_output;

/* ---- the walker (walk.c) ---- */
int ks_cfg_fail(struct ks_cfg_ctx *c, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *ks_cfg_kind_name(const yaml_node_t *n);
int ks_cfg_get_str(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, char *dst, size_t cap);
int ks_cfg_get_path(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, char *dst, size_t cap);
int ks_cfg_get_enum(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, const char *const *names, int *out);
/* Each pair of a mapping whose keys must be in known (NULL-terminated), duplicates refused. */
typedef int (*ks_cfg_pair_fn)(struct ks_cfg_ctx *c, const char *key, yaml_node_t *v, void *arg);
int ks_cfg_each_pair(struct ks_cfg_ctx *c, const char *section, yaml_node_t *map, const char *const *known,
                     ks_cfg_pair_fn fn, void *arg);
/* A mapping against a section's rows into base; seen gets a bit per row given (may be NULL). */
int ks_cfg_parse_section(struct ks_cfg_ctx *c, const struct ks_cfg_section *s, yaml_node_t *map, void *base,
                         uint64_t *seen);
/* Whether the row named name was in seen (from ks_cfg_parse_section). */
bool ks_cfg_seen(const struct ks_cfg_section *s, uint64_t seen, const char *name);
/* The defaults of a section's rows (and its subsections') into base, which the caller zeroed. */
void ks_cfg_section_defaults(const struct ks_cfg_section *s, void *base);
/* Applies one row's default; 0, or -1 with err (a default the row's own checks refuse). */
int ks_cfg_key_default(const struct ks_cfg_section *s, const struct ks_cfg_key *k, void *base, char *err,
                       size_t errlen);
/* Calls fn for every key that a config file can hold, with its full path ("outputs[].port"); sections
 * themselves are not keys, their rows are. */
void ks_cfg_each_key(void (*fn)(const char *path, const struct ks_cfg_key *k, void *arg), void *arg);
/* The row for a full path ("network.udp_window_ms", "outputs[].port"), or NULL. */
const struct ks_cfg_key *ks_cfg_find(const char *path);

/* ---- named validators (validators.c, watch_rules.c) ---- */
int ks_cfg_check_pow2(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, void *field);
int ks_cfg_check_socket(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, void *field);
int ks_cfg_check_max_size(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, void *field);
int ks_cfg_check_output_name(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, void *field);
int ks_cfg_check_app_name(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, void *field);
int ks_cfg_check_url(struct ks_cfg_ctx *c, const char *key, const yaml_node_t *v, void *field);
int ks_cfg_item_str(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, const yaml_node_t *v,
                    void *slot);
int ks_cfg_item_path(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, const yaml_node_t *v,
                     void *slot);
int ks_cfg_item_header(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, const yaml_node_t *v,
                       void *slot);
int ks_cfg_item_port(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, const yaml_node_t *v,
                     void *slot);
int ks_cfg_parse_outputs(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, yaml_node_t *v, void *base);
void ks_cfg_default_outputs(void *base);
int ks_cfg_parse_watch(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, yaml_node_t *v, void *base);
int ks_cfg_parse_ignore(struct ks_cfg_ctx *c, const char *key, const struct ks_cfg_key *k, yaml_node_t *v, void *base);
void ks_cfg_default_watch(void *base);

/* ---- --check-config (paths.c) ---- */
int ks_cfg_ensure_dir(const char *where, const char *key, const void *field, char *err, size_t errlen);
int ks_cfg_ensure_parent(const char *where, const char *key, const void *field, char *err, size_t errlen);
int ks_cfg_ensure_appendable(const char *where, const char *key, const void *field, char *err, size_t errlen);

#endif
