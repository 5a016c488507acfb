/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The rule engine's private types: compiled conditions, the builder's definitions, the engine. */
#ifndef KANSOKU_RULES_INTERNAL_H
#define KANSOKU_RULES_INTERNAL_H

#include <yaml.h>

#include "rules.h"

/* Limits that keep hostile rule files bounded (docs/rules.md, Limits). */
#define KS_R_COND_MAX (64 * 1024)
#define KS_R_DEPTH_MAX 64
#define KS_R_NODES_MAX 100000
#define KS_R_LIST_MAX 65536
#define KS_R_REGEX_MAX 1024
#define KS_R_REGEX_MATCH_LIMIT 100000
#define KS_R_REGEX_DEPTH_LIMIT 1000
#define KS_R_MACRO_DEPTH 32
#define KS_R_ID_MAX 64
#define KS_R_TAGS_MAX 32
#define KS_R_OUTPUT_MAX 2048
#define KS_R_WINDOW_MAX_NS (7ull * 24 * 3600 * 1000000000ull) /* sequence/threshold windows */
#define KS_R_ACT_MAX 128 /* activity ids indexed directly; higher ones go to the class's catch-all list */

/* ---- arena: everything compiled for one engine lives here and is freed at once ---- */
struct ks_arena_chunk;
struct ks_arena {
	struct ks_arena_chunk *head;
	size_t bytes;
};
void *ks_arena_alloc(struct ks_arena *a, size_t n); /* zeroed; NULL on OOM */
char *ks_arena_strndup(struct ks_arena *a, const char *s, size_t n);
void ks_arena_free(struct ks_arena *a);

uint64_t ks_rhash(const void *p, size_t n);

/* ---- compiled conditions ---- */
enum ks_nkind { KS_N_AND, KS_N_OR, KS_N_NOT, KS_N_TRUE, KS_N_CMP };

enum ks_rop {
	KS_OP_EQ,
	KS_OP_NE,
	KS_OP_LT,
	KS_OP_LE,
	KS_OP_GT,
	KS_OP_GE,
	KS_OP_IN,
	KS_OP_CONTAINS,
	KS_OP_STARTSWITH,
	KS_OP_ENDSWITH,
	KS_OP_GLOB,
	KS_OP_MATCHES,
	KS_OP_IN_CIDR,
	KS_OP_EXISTS,
	KS_OP_MAX,
};

struct ks_rstr {
	const char *s;
	uint32_t len;
};

/* A hash set of strings (open addressing; `in` on strings). */
struct ks_strset {
	uint32_t mask, n;
	struct ks_rstr *slot;
	uint64_t *hash;
};

struct ks_cidr {
	struct ks_rip net;
	uint8_t bits;
};

struct ks_regex; /* PCRE2 code, match data and limits (eval.c) */

struct ks_node {
	uint8_t kind; /* enum ks_nkind */
	uint8_t op;   /* enum ks_rop, for KS_N_CMP */
	uint16_t field;
	uint32_t n; /* children (and/or), values (any-of lists, cidrs, ints) */
	union {
		struct ks_node **kids;
		int64_t i;
		bool b;
		struct ks_rip ip;
		struct ks_rstr str;
		struct ks_rstr *strs; /* contains/startswith/endswith/glob: any of n */
		struct ks_strset *set;
		int64_t *ints; /* sorted */
		struct ks_cidr *cidrs;
		struct ks_regex *re;
	};
};

struct ks_rules; /* for regex error counting */
/* What one evaluation of one event carries: the view, where regex failures count (the rule's counter), and
 * string hashes computed once per event for every `in` that reads the same field. */
struct ks_ectx {
	const struct ks_rview *v;
	uint64_t *rx_err;
	uint64_t hashed; /* bit per field: hash[] holds its value's hash */
	uint64_t hash[KS_RF_MAX];
};
bool ks_node_eval(const struct ks_node *n, struct ks_ectx *x);
bool ks_glob(const char *pat, uint32_t plen, const char *s, uint32_t slen);
bool ks_cidr_parse(const char *s, struct ks_cidr *out);
bool ks_ip_parse(const char *s, struct ks_rip *out);
/* Compile a regex into the arena's list (freed by ks_regex_free_all). NULL with msg on error. */
struct ks_regex *ks_regex_compile(struct ks_regex **all, const char *pat, size_t len, char *msg, size_t msglen);
void ks_regex_free_all(struct ks_regex *all);
struct ks_strset *ks_strset_new(struct ks_arena *a, const struct ks_rstr *v, uint32_t n);
bool ks_strset_has(const struct ks_strset *s, const char *p, uint32_t len);
bool ks_strset_has_hash(const struct ks_strset *s, const char *p, uint32_t len, uint64_t h);

/* ---- the builder's definitions (pointers into the YAML documents it keeps) ---- */
struct ks_rpos {
	const char *file;
	int line, col; /* 1-based */
	int style;     /* yaml_scalar_style_t of the scalar: maps offsets inside it to columns */
	/* the document's source and the node's place in it: block scalars map offsets through its lines */
	const char *src;
	size_t src_len, src_index;
};
/* The position of a YAML node of a document read from src. */
struct ks_rpos ks_rpos_of(const char *file, const char *src, size_t src_len, const yaml_node_t *n);

struct ks_rdef_macro {
	const char *name, *text;
	size_t len;
	struct ks_rpos pos, name_pos;
};

struct ks_rdef_list {
	const char *name;
	struct ks_rpos pos;
	yaml_document_t *doc;
	yaml_node_t *items; /* a sequence of scalars */
};

struct ks_rdef_rule {
	const char *id;
	struct ks_rpos pos;
	yaml_document_t *doc;
	yaml_node_t *node; /* the rule's mapping */
	bool policy;       /* an access policy (policies:, docs/policy.md), compiled by policy.c */
};

struct ks_rules_builder {
	yaml_document_t **docs;
	char **names; /* file name per document */
	char **srcs;  /* its text, for error positions inside block scalars */
	size_t *src_lens;
	size_t n_docs;
	struct ks_rdef_macro *macros;
	size_t n_macros;
	struct ks_rdef_list *lists;
	size_t n_lists;
	struct ks_rdef_rule *rules;
	size_t n_rules;
	char **disabled;
	struct ks_rpos *disabled_pos; /* where a rule file disabled it (file NULL: the API, i.e. the config) */
	size_t n_disabled;
};

/* ---- compiled rules and the engine ---- */
enum ks_rkind { KS_RK_PLAIN, KS_RK_SEQUENCE, KS_RK_THRESHOLD };

/* A message template: literal pieces and field references, alternating. */
struct ks_tmpl_part {
	struct ks_rstr lit;
	int field; /* -1: literal only */
};
struct ks_tmpl {
	struct ks_tmpl_part *parts;
	uint32_t n;
};

#define KS_COST_BUCKETS 128

struct ks_crule {
	struct ks_rule_info info;
	uint32_t idx;
	enum ks_rkind kind;
	struct ks_node *cond; /* plain/threshold: condition with exceptions folded in */
	struct ks_node *steps[KS_RULES_SEQ_MAX];
	struct ks_tmpl step_out[KS_RULES_SEQ_MAX];
	uint32_t n_steps;
	uint64_t within_ns;
	uint64_t thr_count;
	int thr_by; /* field id, or -1: the process */
	struct ks_tmpl out;
	uint32_t cost_hist[KS_COST_BUCKETS];
	double tokens;
	uint64_t refill_ns;
	uint64_t active; /* live state entries: a sequence with none skips the lookups */
};

struct ks_rlist {
	uint32_t *v;
	uint32_t n;
};

struct ks_kidx; /* index.c: a field's values -> rules */

/* Rules of one (class, activity) cell: those evaluated on every event of it, and those keyed by value. */
struct ks_rbucket {
	struct ks_rlist plain;
	struct ks_kidx *kidx;
	uint32_t n_kidx;
};

struct ks_rclass {
	int64_t class_uid;
	struct ks_rbucket any;
	struct ks_rbucket act[KS_R_ACT_MAX];
};

struct ks_rstate; /* state.c */
struct ks_rdedupe;

struct ks_rules {
	struct ks_arena arena;
	struct ks_regex *regexes;
	struct ks_crule *rules;
	size_t n_rules;
	struct ks_rbucket global; /* rules that pin no class */
	struct ks_rclass *classes;
	size_t n_classes;
	uint64_t needs[(KS_RF_MAX + 63) / 64];
	uint32_t *stateful; /* sequence and threshold-by-process rules: freed per process at exit */
	size_t n_stateful;
	struct ks_rules_opts opts;
	uint64_t ev_seq, sample_mask;
	ks_rules_match_fn sink;
	void *sink_ctx;
	char out_buf[KS_R_OUTPUT_MAX];
	struct ks_rstate *seq, *thr;
	uint32_t seq_mask, thr_mask;
	struct ks_rdedupe *dd;
	uint32_t dd_mask;
	size_t state_bytes;
};

/* parse.c: a condition (text at pos) into a node; NULL with err. */
struct ks_pctx {
	struct ks_rules_builder *b;
	struct ks_rules *r;
	struct ks_rules_err *err;
	size_t nodes;
	const char *macro_stack[KS_R_MACRO_DEPTH];
	int n_macro;
};
struct ks_node *ks_parse_cond(struct ks_pctx *c, const char *text, size_t len, const struct ks_rpos *pos, int depth);
/* A single comparison built from YAML values (exceptions): field OP value(s). */
struct ks_node *ks_make_cmp(struct ks_pctx *c, int field, enum ks_rop op, const struct ks_rstr *vals, uint32_t n,
                            const struct ks_rpos *pos, size_t off);
int ks_rop_lookup(const char *s, size_t len); /* -1 when unknown */
bool ks_op_fits(enum ks_rtype t, enum ks_rop op);
const char *ks_rop_name(enum ks_rop op);
struct ks_node *ks_node_new(struct ks_pctx *c, enum ks_nkind kind, uint32_t n_kids);
void ks_rerr(struct ks_rules_err *e, const struct ks_rpos *pos, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* fields.c */
int ks_activity_id(int64_t class_uid, const char *name, size_t len); /* -1 when unknown */
size_t ks_rval_format(int field, const struct ks_rval *val, char *out, size_t len);

/* template.c */
int ks_tmpl_compile(struct ks_pctx *c, const char *text, size_t len, const struct ks_rpos *pos, struct ks_tmpl *t);
size_t ks_tmpl_render(const struct ks_tmpl *t, const struct ks_rview *v, char *out, size_t len);

/* state.c */
int ks_state_init(struct ks_rules *r);
void ks_state_free(struct ks_rules *r);
void ks_eval_sequence(struct ks_rules *r, struct ks_crule *cr, struct ks_ectx *x, uint64_t now_ns, size_t *matches);
void ks_eval_threshold(struct ks_rules *r, struct ks_crule *cr, struct ks_ectx *x, uint64_t now_ns, size_t *matches);
void ks_state_proc_exit(struct ks_rules *r, uint32_t pid, uint64_t start_ns);
size_t ks_state_used(const struct ks_rules *r);

/* index.c */
int ks_index_rule(struct ks_rules *r, uint32_t idx);
void ks_index_free(struct ks_rules *r);
void ks_bucket_eval(struct ks_rules *r, const struct ks_rbucket *b, struct ks_ectx *x, uint64_t now_ns, bool timed,
                    size_t *matches);

/* engine.c: the dedupe table, sized at load. Returns 0 or -1 (out of memory). */
int ks_dedupe_init(struct ks_rules *r);
/* engine.c: one rule on one event (counted, 1 in N timed). */
void ks_eval_rule(struct ks_rules *r, struct ks_crule *cr, struct ks_ectx *x, uint64_t now_ns, bool timed,
                  size_t *matches);
/* engine.c: hand a match to dedupe, the rate limit and the sink. */
void ks_emit(struct ks_rules *r, struct ks_crule *cr, const struct ks_rview *v, uint64_t now_ns,
             const struct ks_rules_step *steps, uint32_t n_steps, uint64_t thr_count, size_t *matches);

#endif
