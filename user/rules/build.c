// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Building an engine from what the builder read: every rule compiled, disabled ids checked, rules indexed
 * by class and activity. Any error frees the half-built engine: the caller's running one is untouched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

static int apply_disable(struct ks_rules_builder *b, struct ks_rules *r, struct ks_rules_err *err)
{
	size_t i, j;

	for (i = 0; i < b->n_disabled; i++) {
		for (j = 0; j < r->n_rules && strcmp(r->rules[j].info.id, b->disabled[i]); j++)
			;
		if (j == r->n_rules) {
			ks_rerr(err, b->disabled_pos[i].file ? &b->disabled_pos[i] : NULL, 0,
			        "disable: no rule has the id '%.200s' (a typo?)", b->disabled[i]);
			return -1;
		}
		r->rules[j].info.enabled = false;
	}
	return 0;
}

static void set_opts(struct ks_rules *r, const struct ks_rules_opts *o)
{
	if (o)
		r->opts = *o;
	if (!r->opts.state_max)
		r->opts.state_max = 65536;
	if (!r->opts.dedupe_ns)
		r->opts.dedupe_ns = 60000000000ull;
	if (!r->opts.rate_per_s)
		r->opts.rate_per_s = 10;
	if (!r->opts.rate_burst)
		r->opts.rate_burst = 100;
	if (!r->opts.cost_sample || (r->opts.cost_sample & (r->opts.cost_sample - 1)))
		r->opts.cost_sample = 64;
	if (!r->opts.dedupe_max)
		r->opts.dedupe_max = 4096;
	r->sample_mask = r->opts.cost_sample - 1;
}

struct ks_rules *ks_rules_build(struct ks_rules_builder *b, const struct ks_rules_opts *opts, struct ks_rules_err *err)
{
	struct ks_rules *r = calloc(1, sizeof(*r));
	struct ks_pctx c = {.b = b, .r = r, .err = err};
	size_t i;

	memset(err, 0, sizeof(*err));
	if (!r || !(r->rules = calloc(b->n_rules ? b->n_rules : 1, sizeof(*r->rules)))) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		goto fail;
	}
	set_opts(r, opts);
	for (i = 0; i < b->n_rules; i++) {
		r->rules[i].idx = (uint32_t)i;
		if ((b->rules[i].policy ? ks_compile_policy : ks_compile_rule)(&c, &b->rules[i], &r->rules[i]))
			goto fail;
		/* the builder's names go with it */
		r->rules[i].info.file = ks_arena_strndup(&r->arena, b->rules[i].pos.file, strlen(b->rules[i].pos.file));
		r->rules[i].tokens = r->opts.rate_burst;
		r->n_rules++;
	}
	if (apply_disable(b, r, err))
		goto fail;
	for (i = 0; i < r->n_rules; i++)
		if (ks_index_rule(r, (uint32_t)i)) {
			snprintf(err->msg, sizeof(err->msg), "out of memory");
			goto fail;
		}
	if (ks_state_init(r)) {
		snprintf(err->msg, sizeof(err->msg), "out of memory for %u state entries (rules.state_max)",
		         r->opts.state_max);
		goto fail;
	}
	return r;
fail:
	if (!err->msg[0])
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	ks_rules_free(r);
	return NULL;
}

void ks_rules_free(struct ks_rules *r)
{
	if (!r)
		return;
	ks_state_free(r);
	ks_regex_free_all(r->regexes);
	ks_index_free(r);
	free(r->rules);
	ks_arena_free(&r->arena);
	free(r);
}
