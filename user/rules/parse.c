// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The condition language (docs/rules.md, Conditions): tokens, a recursive-descent parser with bounded
 * depth, macro expansion with cycle detection, list expansion, and typed comparisons built once.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const op_names[KS_OP_MAX] = {
    [KS_OP_EQ] = "=",
    [KS_OP_NE] = "!=",
    [KS_OP_LT] = "<",
    [KS_OP_LE] = "<=",
    [KS_OP_GT] = ">",
    [KS_OP_GE] = ">=",
    [KS_OP_IN] = "in",
    [KS_OP_CONTAINS] = "contains",
    [KS_OP_STARTSWITH] = "startswith",
    [KS_OP_ENDSWITH] = "endswith",
    [KS_OP_GLOB] = "glob",
    [KS_OP_MATCHES] = "matches",
    [KS_OP_IN_CIDR] = "in_cidr",
    [KS_OP_EXISTS] = "exists",
};

const char *ks_rop_name(enum ks_rop op)
{
	return op < KS_OP_MAX ? op_names[op] : "?";
}

int ks_rop_lookup(const char *s, size_t len)
{
	int i;

	for (i = 0; i < KS_OP_MAX; i++)
		if (strlen(op_names[i]) == len && !memcmp(op_names[i], s, len))
			return i;
	return -1;
}

/* Which operators fit which field type. */
bool ks_op_fits(enum ks_rtype t, enum ks_rop op)
{
	switch (op) {
	case KS_OP_EQ:
	case KS_OP_NE:
	case KS_OP_EXISTS:
		return true;
	case KS_OP_LT:
	case KS_OP_LE:
	case KS_OP_GT:
	case KS_OP_GE:
		return t == KS_RT_INT;
	case KS_OP_IN:
		return t != KS_RT_BOOL;
	case KS_OP_CONTAINS:
	case KS_OP_STARTSWITH:
	case KS_OP_ENDSWITH:
	case KS_OP_GLOB:
	case KS_OP_MATCHES:
		return t == KS_RT_STR || t == KS_RT_LIST;
	case KS_OP_IN_CIDR:
		return t == KS_RT_IP;
	default:
		return false;
	}
}

struct ks_rpos ks_rpos_of(const char *file, const char *src, size_t src_len, const yaml_node_t *n)
{
	struct ks_rpos p = {.file = file,
	                    .line = (int)n->start_mark.line + 1,
	                    .col = (int)n->start_mark.column + 1,
	                    .src = src,
	                    .src_len = src_len,
	                    .src_index = n->start_mark.index};

	if (n->type == YAML_SCALAR_NODE)
		p.style = n->data.scalar.style;
	return p;
}

/* A block scalar's text starts on the line after its indicator; each source line gives its content after
 * the indentation, and one character (newline, or a space when folded) separates lines in the value. */
static void block_pos(const struct ks_rpos *pos, size_t off, int *line, int *col)
{
	const char *p = pos->src + pos->src_index, *end = pos->src + pos->src_len, *eol;
	bool folded = pos->style == YAML_FOLDED_SCALAR_STYLE, blank_run = false;
	size_t consumed = 0, indent = SIZE_MAX, n, sp;
	int ln = pos->line;

	if (pos->src_index > pos->src_len || !(p = memchr(p, '\n', (size_t)(end - p))))
		return;
	for (p++, ln++; p < end; p = eol + 1, ln++) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		n = (size_t)(eol - p);
		for (sp = 0; sp < n && p[sp] == ' '; sp++)
			;
		if (sp == n) { /* a blank line: a newline in the value (folded: not the first of a run) */
			consumed += folded && !blank_run ? 0 : 1;
			blank_run = true;
			continue;
		}
		blank_run = false;
		if (indent == SIZE_MAX)
			indent = sp;
		if (sp < indent)
			break;
		if (off < consumed + n - indent) {
			*line = ln;
			*col = (int)(indent + off - consumed) + 1;
			return;
		}
		consumed += n - indent + 1;
	}
}

/* A plain scalar may continue on more lines: each line break with the next line's indentation is one space
 * in the value. Walk the source from the scalar's start, counting value characters up to the offset. */
static void plain_pos(const struct ks_rpos *pos, size_t off, int *line, int *col)
{
	const char *s = pos->src, *end = pos->src + pos->src_len, *p = s + pos->src_index, *bol = NULL;
	size_t v = 0;
	int ln = pos->line;

	if (pos->src_index > pos->src_len)
		return;
	while (p < end && v < off) {
		if (*p != '\n') {
			p++;
			v++;
			continue;
		}
		for (p++, ln++, bol = p; p < end && (*p == ' ' || *p == '\t'); p++)
			;
		v++; /* the folded space */
	}
	if (!bol) /* all on the first line */
		return;
	*line = ln;
	*col = (int)(p - bol) + 1;
}

void ks_rerr(struct ks_rules_err *e, const struct ks_rpos *pos, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (!e || e->msg[0]) /* the first error wins: later ones are usually its echo */
		return;
	snprintf(e->file, sizeof(e->file), "%s", pos && pos->file ? pos->file : "");
	e->line = pos ? pos->line : 0;
	e->col = pos ? pos->col : 0;
	if (pos && pos->src && (pos->style == YAML_LITERAL_SCALAR_STYLE || pos->style == YAML_FOLDED_SCALAR_STYLE))
		block_pos(pos, off, &e->line, &e->col);
	else if (pos && pos->src && pos->style == YAML_PLAIN_SCALAR_STYLE)
		plain_pos(pos, off, &e->line, &e->col);
	if (pos && e->line == pos->line && pos->style != YAML_LITERAL_SCALAR_STYLE &&
	    pos->style != YAML_FOLDED_SCALAR_STYLE) /* on the scalar's first line: after its start (and quote) */
		e->col += (int)off + (pos->style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		                      pos->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

const char *ks_rules_err_str(const struct ks_rules_err *e, char *buf, size_t len)
{
	if (e->line)
		snprintf(buf, len, "%s:%d:%d: %s", e->file, e->line, e->col, e->msg);
	else
		snprintf(buf, len, "%s: %s", e->file[0] ? e->file : "rules", e->msg);
	return buf;
}

enum tok_kind { T_EOF, T_LP, T_RP, T_COMMA, T_WORD, T_STR, T_OP, T_ERR };

struct tok {
	enum tok_kind t;
	const char *s; /* text (unescaped for T_STR) */
	size_t len, off;
};

struct parser {
	struct ks_pctx *c;
	const struct ks_rpos *pos;
	const char *text;
	size_t len, at;
	struct tok cur;
};

static bool word_char(char ch)
{
	return !isspace((unsigned char)ch) && !strchr("(),\"'=<>!", ch);
}

static int lex_string(struct parser *p, struct tok *t)
{
	char q = p->text[p->at++], *out;
	size_t o = 0, start = p->at, end = start;

	/* find the end first: the copy is sized to the string, not to the rest of the condition */
	while (end < p->len && p->text[end] != q)
		end += (q == '"' && p->text[end] == '\\' && end + 1 < p->len) ? 2 : 1;
	if (end >= p->len) {
		ks_rerr(p->c->err, p->pos, t->off, "unterminated string: add the closing %c", q);
		return -1;
	}
	out = ks_arena_alloc(&p->c->r->arena, end - start + 1);
	if (!out)
		return -1;
	for (; p->at < end; p->at++) {
		if (q == '"' && p->text[p->at] == '\\')
			p->at++;
		out[o++] = p->text[p->at];
	}
	p->at++;
	t->t = T_STR;
	t->s = out;
	t->len = o;
	return 0;
}

static void next(struct parser *p)
{
	struct tok *t = &p->cur;
	char ch;

	while (p->at < p->len && isspace((unsigned char)p->text[p->at]))
		p->at++;
	t->off = p->at;
	t->s = p->text + p->at;
	t->len = 1;
	if (p->at >= p->len) {
		t->t = T_EOF;
		t->len = 0;
		return;
	}
	ch = p->text[p->at];
	if (ch == '(' || ch == ')' || ch == ',') {
		t->t = ch == '(' ? T_LP : ch == ')' ? T_RP : T_COMMA;
		p->at++;
	} else if (ch == '"' || ch == '\'') {
		if (lex_string(p, t))
			t->t = T_ERR;
	} else if (strchr("=<>!", ch)) {
		t->t = T_OP;
		p->at++;
		if (p->at < p->len && p->text[p->at] == '=' && ch != '=') {
			p->at++;
			t->len = 2;
		}
		if (ch == '!' && t->len == 1) {
			ks_rerr(p->c->err, p->pos, t->off, "'!' alone is not an operator: use '!=' or 'not'");
			t->t = T_ERR;
		}
	} else {
		while (p->at < p->len && word_char(p->text[p->at]))
			p->at++;
		t->t = T_WORD;
		t->len = p->at - t->off;
	}
}

static bool is_word(const struct tok *t, const char *w)
{
	return t->t == T_WORD && t->len == strlen(w) && !memcmp(t->s, w, t->len);
}

struct ks_node *ks_node_new(struct ks_pctx *c, enum ks_nkind kind, uint32_t n_kids)
{
	struct ks_node *n;

	if (++c->nodes > KS_R_NODES_MAX)
		return NULL;
	n = ks_arena_alloc(&c->r->arena, sizeof(*n));
	if (!n)
		return NULL;
	n->kind = (uint8_t)kind;
	n->n = n_kids;
	if (n_kids && !(n->kids = ks_arena_alloc(&c->r->arena, n_kids * sizeof(*n->kids))))
		return NULL;
	return n;
}

static const struct ks_rdef_list *find_list(const struct ks_rules_builder *b, const char *s, size_t len)
{
	size_t i;

	for (i = b->n_lists; i-- > 0;) /* the last definition wins */
		if (strlen(b->lists[i].name) == len && !memcmp(b->lists[i].name, s, len))
			return &b->lists[i];
	return NULL;
}

static const struct ks_rdef_macro *find_macro(const struct ks_rules_builder *b, const char *s, size_t len)
{
	size_t i;

	for (i = b->n_macros; i-- > 0;)
		if (strlen(b->macros[i].name) == len && !memcmp(b->macros[i].name, s, len))
			return &b->macros[i];
	return NULL;
}

/* A growing array of values in the arena (old copies are left behind: freed with the engine). */
struct vals {
	struct ks_rstr *v;
	uint32_t n, cap;
};

static int vals_push(struct ks_pctx *c, struct vals *vs, const char *s, size_t len)
{
	if (vs->n >= KS_R_LIST_MAX)
		return -1;
	if (vs->n == vs->cap) {
		uint32_t cap = vs->cap ? vs->cap * 2 : 16;
		struct ks_rstr *nv = ks_arena_alloc(&c->r->arena, cap * sizeof(*nv));

		if (!nv)
			return -1;
		if (vs->n)
			memcpy(nv, vs->v, vs->n * sizeof(*nv));
		vs->v = nv;
		vs->cap = cap;
	}
	vs->v[vs->n].s = s;
	vs->v[vs->n].len = (uint32_t)len;
	vs->n++;
	return 0;
}

/* A list's items, expanding items that name other lists (bounded depth: a cycle is an error). */
static int expand_list(struct parser *p, const struct ks_rdef_list *l, struct vals *vs, size_t off, int depth)
{
	yaml_node_item_t *it;

	if (depth > 8) {
		ks_rerr(p->c->err, p->pos, off, "list '%s' nests lists more than 8 deep (a cycle?)", l->name);
		return -1;
	}
	for (it = l->items->data.sequence.items.start; it < l->items->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(l->doc, *it);
		const char *s = (const char *)n->data.scalar.value;
		size_t len = n->data.scalar.length;
		const struct ks_rdef_list *sub =
		    n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? find_list(p->c->b, s, len) : NULL;

		if (sub && sub != l) {
			if (expand_list(p, sub, vs, off, depth + 1))
				return -1;
		} else if (vals_push(p->c, vs, s, len)) {
			ks_rerr(p->c->err, p->pos, off, "list '%s' has more than %d items", l->name, KS_R_LIST_MAX);
			return -1;
		}
	}
	return 0;
}

/* Lists are named in snake_case: a bare word like that which names no list is a typo, not a value
 * (a misspelt list in `not ... in (...)` would otherwise silently match everything). */
static bool looks_like_list_name(const char *s, size_t len)
{
	bool underscore = false;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '_')
			underscore = true;
		else if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' && s[i] <= '9'))
			return false;
	}
	return underscore;
}

/* VALUE, or ( ITEM, ... ) where an item may name a list, or (for `in`) a bare list name. */
static int parse_values(struct parser *p, enum ks_rop op, struct vals *vs, bool *paren)
{
	const struct ks_rdef_list *l;
	size_t off = p->cur.off;

	*paren = false;
	if (p->cur.t == T_WORD && op == KS_OP_IN) {
		if (!(l = find_list(p->c->b, p->cur.s, p->cur.len))) {
			ks_rerr(p->c->err, p->pos, off, "undefined list '%.*s' ('in' takes a list name or ( values ))",
			        (int)(p->cur.len > 100 ? 100 : p->cur.len), p->cur.s);
			return -1;
		}
		*paren = true;
		next(p);
		return expand_list(p, l, vs, off, 0);
	}
	if (p->cur.t == T_WORD || p->cur.t == T_STR) {
		if (vals_push(p->c, vs, p->cur.s, p->cur.len))
			return -1;
		next(p);
		return 0;
	}
	if (p->cur.t != T_LP) {
		ks_rerr(p->c->err, p->pos, off, "'%s' needs a value or a ( list )", ks_rop_name(op));
		return -1;
	}
	*paren = true;
	next(p);
	while (p->cur.t != T_RP) {
		if (p->cur.t == T_WORD && (l = find_list(p->c->b, p->cur.s, p->cur.len))) {
			if (expand_list(p, l, vs, p->cur.off, 0))
				return -1;
		} else if (p->cur.t == T_WORD && looks_like_list_name(p->cur.s, p->cur.len)) {
			ks_rerr(p->c->err, p->pos, p->cur.off,
			        "undefined list '%.*s' (quote it if you mean the string)",
			        (int)(p->cur.len > 100 ? 100 : p->cur.len), p->cur.s);
			return -1;
		} else if (p->cur.t == T_WORD || p->cur.t == T_STR) {
			if (vals_push(p->c, vs, p->cur.s, p->cur.len)) {
				ks_rerr(p->c->err, p->pos, p->cur.off, "more than %d values", KS_R_LIST_MAX);
				return -1;
			}
		} else {
			ks_rerr(p->c->err, p->pos, p->cur.off, "expected a value or ')' in the list of '%s'",
			        ks_rop_name(op));
			return -1;
		}
		next(p);
		if (p->cur.t == T_COMMA)
			next(p);
		else if (p->cur.t != T_RP) {
			ks_rerr(p->c->err, p->pos, p->cur.off, "expected ',' or ')' in the list of '%s'",
			        ks_rop_name(op));
			return -1;
		}
	}
	next(p);
	return 0;
}

static int parse_op(struct parser *p, enum ks_rop *op)
{
	int o;

	if (p->cur.t == T_OP || p->cur.t == T_WORD)
		o = ks_rop_lookup(p->cur.s, p->cur.len);
	else
		o = -1;
	if (o < 0) {
		ks_rerr(p->c->err, p->pos, p->cur.off,
		        "expected an operator (=, !=, <, <=, >, >=, in, contains, "
		        "startswith, endswith, glob, matches, in_cidr, exists) here");
		return -1;
	}
	*op = (enum ks_rop)o;
	next(p);
	return 0;
}

static struct ks_node *parse_test(struct parser *p, int field, size_t field_off)
{
	enum ks_rtype t = ks_rfield_type((enum ks_rfield)field);
	struct vals vs = {0};
	size_t op_off = p->cur.off;
	enum ks_rop op;
	bool paren;

	if (parse_op(p, &op))
		return NULL;
	if (!ks_op_fits(t, op)) {
		ks_rerr(p->c->err, p->pos, op_off, "operator '%s' does not apply to '%s' (%s)", ks_rop_name(op),
		        ks_rfield_name((enum ks_rfield)field), ks_rtype_name(t));
		return NULL;
	}
	(void)field_off;
	if (op == KS_OP_EXISTS)
		return ks_make_cmp(p->c, field, op, NULL, 0, p->pos, op_off);
	op_off = p->cur.off;
	if (parse_values(p, op, &vs, &paren))
		return NULL;
	if (paren && op <= KS_OP_GE) {
		ks_rerr(p->c->err, p->pos, op_off, "'%s' takes one value, not a list (use 'in')", ks_rop_name(op));
		return NULL;
	}
	return ks_make_cmp(p->c, field, op, vs.v, vs.n, p->pos, op_off);
}

static struct ks_node *parse_or(struct parser *p, int depth);

static struct ks_node *expand_macro(struct parser *p, const struct ks_rdef_macro *m, int depth)
{
	struct ks_pctx *c = p->c;
	struct ks_node *n;
	int i;

	for (i = 0; i < c->n_macro; i++)
		if (!strcmp(c->macro_stack[i], m->name)) {
			char chain[256];
			size_t o = 0;
			int j;

			for (j = i; j < c->n_macro && o < sizeof(chain); j++)
				o += (size_t)snprintf(chain + o, sizeof(chain) - o, "%s -> ", c->macro_stack[j]);
			ks_rerr(c->err, p->pos, p->cur.off, "macro cycle: %s%s", o < sizeof(chain) ? chain : "",
			        m->name);
			return NULL;
		}
	if (c->n_macro >= KS_R_MACRO_DEPTH) {
		ks_rerr(c->err, p->pos, p->cur.off, "macros nest more than %d deep", KS_R_MACRO_DEPTH);
		return NULL;
	}
	c->macro_stack[c->n_macro++] = m->name;
	n = ks_parse_cond(c, m->text, m->len, &m->pos, depth + 1);
	c->n_macro--;
	return n;
}

static struct ks_node *parse_primary(struct parser *p, int depth)
{
	const struct ks_rdef_macro *m;
	struct ks_node *n;
	size_t off = p->cur.off;
	int field;

	if (depth > KS_R_DEPTH_MAX) {
		ks_rerr(p->c->err, p->pos, off, "condition nests more than %d deep", KS_R_DEPTH_MAX);
		return NULL;
	}
	if (p->cur.t == T_LP) {
		next(p);
		n = parse_or(p, depth + 1);
		if (!n)
			return NULL;
		if (p->cur.t != T_RP) {
			ks_rerr(p->c->err, p->pos, p->cur.off, "expected ')' to close the '(' at offset %zu", off);
			return NULL;
		}
		next(p);
		return n;
	}
	if (p->cur.t != T_WORD) {
		ks_rerr(p->c->err, p->pos, off, "expected a field, a macro, 'not' or '(' here");
		return NULL;
	}
	field = ks_rfield_lookup(p->cur.s, p->cur.len);
	if (field >= 0) {
		next(p);
		return parse_test(p, field, off);
	}
	m = find_macro(p->c->b, p->cur.s, p->cur.len);
	if (m) {
		n = expand_macro(p, m, depth);
		next(p);
		return n;
	}
	if (is_word(&p->cur, "true") || is_word(&p->cur, "false")) {
		bool t = p->cur.s[0] == 't';

		next(p);
		n = ks_node_new(p->c, KS_N_TRUE, 0);
		if (n && !t) {
			struct ks_node *x = ks_node_new(p->c, KS_N_NOT, 1);

			if (x)
				x->kids[0] = n;
			n = x;
		}
		return n;
	}
	ks_rerr(p->c->err, p->pos, off, "unknown field or undefined macro '%.*s' (fields: docs/rules.md)",
	        (int)(p->cur.len > 100 ? 100 : p->cur.len), p->cur.s);
	return NULL;
}

static struct ks_node *parse_not(struct parser *p, int depth)
{
	struct ks_node *n, *x;

	if (!is_word(&p->cur, "not"))
		return parse_primary(p, depth);
	if (depth > KS_R_DEPTH_MAX) {
		ks_rerr(p->c->err, p->pos, p->cur.off, "condition nests more than %d deep", KS_R_DEPTH_MAX);
		return NULL;
	}
	next(p);
	x = parse_not(p, depth + 1);
	if (!x)
		return NULL;
	n = ks_node_new(p->c, KS_N_NOT, 1);
	if (n)
		n->kids[0] = x;
	return n;
}

/* A growing array of child nodes in the arena. */
struct kids {
	struct ks_node **v;
	uint32_t n, cap;
};

static int kids_push(struct ks_pctx *c, struct kids *k, struct ks_node *n)
{
	if (k->n == k->cap) {
		uint32_t cap = k->cap ? k->cap * 2 : 8;
		struct ks_node **nv = ks_arena_alloc(&c->r->arena, cap * sizeof(*nv));

		if (!nv)
			return -1;
		if (k->n)
			memcpy(nv, k->v, k->n * sizeof(*nv));
		k->v = nv;
		k->cap = cap;
	}
	k->v[k->n++] = n;
	return 0;
}

/* term (WORD term)*: and/or chains become one n-ary node (evaluation depth stays the nesting depth). */
static struct ks_node *parse_chain(struct parser *p, int depth, const char *word, enum ks_nkind kind)
{
	struct ks_node *first, *n;
	struct kids k = {0};

	first = kind == KS_N_AND ? parse_not(p, depth) : parse_chain(p, depth, "and", KS_N_AND);
	if (!first || !is_word(&p->cur, word))
		return first;
	if (kids_push(p->c, &k, first))
		return NULL;
	while (is_word(&p->cur, word)) {
		next(p);
		n = kind == KS_N_AND ? parse_not(p, depth) : parse_chain(p, depth, "and", KS_N_AND);
		if (!n || kids_push(p->c, &k, n))
			return NULL;
	}
	n = ks_node_new(p->c, kind, 0);
	if (!n)
		return NULL;
	n->kids = k.v;
	n->n = k.n;
	return n;
}

static struct ks_node *parse_or(struct parser *p, int depth)
{
	return parse_chain(p, depth, "or", KS_N_OR);
}

struct ks_node *ks_parse_cond(struct ks_pctx *c, const char *text, size_t len, const struct ks_rpos *pos, int depth)
{
	struct parser p = {.c = c, .pos = pos, .text = text, .len = len};
	struct ks_node *n;

	if (len > KS_R_COND_MAX) {
		ks_rerr(c->err, pos, 0, "condition of %zu bytes is longer than the limit of %d", len, KS_R_COND_MAX);
		return NULL;
	}
	next(&p);
	if (p.cur.t == T_EOF) {
		ks_rerr(c->err, pos, 0, "empty condition");
		return NULL;
	}
	n = p.cur.t == T_ERR ? NULL : parse_or(&p, depth);
	if (n && p.cur.t != T_EOF) {
		ks_rerr(c->err, pos, p.cur.off, "unexpected '%.*s' (missing 'and'/'or', or an unbalanced ')')",
		        (int)(p.cur.len > 40 ? 40 : p.cur.len), p.cur.s);
		return NULL;
	}
	if (!n && !c->err->msg[0])
		ks_rerr(c->err, pos, p.cur.off,
		        c->nodes > KS_R_NODES_MAX ? "condition too large: more than 100000 nodes after macro expansion"
		                                  : "out of memory");
	return n;
}
