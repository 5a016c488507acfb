// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include <stdlib.h>

#include "pipeline/pipeline.h"

int ks_pipeline_add_sink(struct ks_pipeline *pl, const char *name, ks_sink_fn fn, void *ctx)
{
	if (pl->n_sinks >= KS_PIPELINE_SINKS_MAX)
		return -1;
	pl->sinks[pl->n_sinks++] = (struct ks_sink){.name = name, .fn = fn, .ctx = ctx};
	return 0;
}

int ks_pipeline_add_evaluator(struct ks_pipeline *pl, const char *name, ks_evaluator_fn fn, void *ctx)
{
	if (pl->n_evaluators >= KS_PIPELINE_EVALUATORS_MAX)
		return -1;
	pl->evaluators[pl->n_evaluators++] = (struct ks_evaluator_reg){.name = name, .fn = fn, .ctx = ctx};
	return 0;
}

struct ks_decoded *ks_pipeline_decoded(struct ks_pipeline *pl, int class_uid, int activity_id,
                                       const char *activity_name, uint64_t ts_ns)
{
	struct ks_decoded *d = &pl->dec;

	memset(d, 0, sizeof(*d));
	d->class_uid = class_uid;
	d->activity_id = activity_id;
	d->activity_name = activity_name;
	d->ts_ns = ts_ns;
	return d;
}

/* The event in pl->jw to every sink; false when it could not be encoded (counted, never half-written). */
static bool write_sinks(struct ks_pipeline *pl, int class_uid)
{
	if (pl->jw.oom) {
		pl->counters.malformed++;
		return false;
	}
	pl->counters.emitted++;
	for (int i = 0; i < pl->n_sinks; i++)
		pl->sinks[i].fn(pl->sinks[i].ctx, class_uid, pl->jw.buf, pl->jw.len);
	return true;
}

/* ev to every evaluator; line NULL: not written yet, pl->judged_write writes it on demand. */
static void run_evaluators(struct ks_pipeline *pl, const struct ks_decoded *ev, const char *line, size_t len)
{
	pl->judging = true;
	pl->judged_line = line;
	pl->judged_len = len;
	for (int i = 0; i < pl->n_evaluators; i++)
		pl->evaluators[i].fn(pl->evaluators[i].ctx, pl, ev, line, len);
	pl->judging = false;
	pl->judged_line = NULL;
	pl->judged_len = 0;
	pl->judged_write = NULL;
	pl->judged_write_ctx = NULL;
	pl->dec.class_uid = 0;
}

void ks_pipeline_emit(struct ks_pipeline *pl, int class_uid)
{
	if (!write_sinks(pl, class_uid)) {
		pl->dec.class_uid = 0;
		return;
	}
	if (!pl->dec.class_uid || pl->judging)
		return;
	run_evaluators(pl, &pl->dec, pl->jw.buf, pl->jw.len);
}

void ks_pipeline_write(struct ks_pipeline *pl, int class_uid)
{
	write_sinks(pl, class_uid);
	if (!pl->judging) /* judged already: its view must not reach the evaluators with a later event */
		pl->dec.class_uid = 0;
}

bool ks_pipeline_judge(struct ks_pipeline *pl, ks_write_fn write, void *ctx)
{
	/* a copy: writing the event on demand fills pl->dec again while the evaluators read this one */
	struct ks_decoded ev = pl->dec;

	pl->dec.class_uid = 0;
	if (!ev.class_uid || pl->judging || !pl->n_evaluators)
		return false;
	pl->judged_write = write;
	pl->judged_write_ctx = ctx;
	pl->judged_written = false;
	run_evaluators(pl, &ev, NULL, 0);
	return pl->judged_written;
}

const char *ks_pipeline_judged_line(struct ks_pipeline *pl, size_t *len)
{
	ks_write_fn write = pl->judged_write;

	if (write) {
		pl->judged_write = NULL; /* once: the event is in the stream now */
		write(pl, pl->judged_write_ctx);
		pl->judged_written = true;
		pl->judged_line = pl->jw.oom ? NULL : pl->jw.buf;
		pl->judged_len = pl->jw.oom ? 0 : pl->jw.len;
	}
	*len = pl->judged_len;
	return pl->judged_line;
}

void ks_pipeline_free_actors(struct ks_pipeline *pl)
{
	size_t i;

	for (i = 0; pl->actors && i < KS_ACTOR_SLOTS; i++)
		free(pl->actors[i].json);
	free(pl->actors);
	pl->actors = NULL;
}

const char *ks_event_kind_name(unsigned kind)
{
	static const char *const names[KS_EV_KIND_MAX] = {
	    [KS_EV_EXEC] = "exec",     [KS_EV_FORK] = "fork",          [KS_EV_EXIT] = "exit",
	    [KS_EV_SEED] = "seed",     [KS_EV_FILE] = "file",          [KS_EV_NET] = "network",
	    [KS_EV_PTRACE] = "ptrace", [KS_EV_KMOD] = "kernel_module", [KS_EV_SETID] = "setid",
	};

	return kind < KS_EV_KIND_MAX && names[kind] ? names[kind] : "unknown";
}
