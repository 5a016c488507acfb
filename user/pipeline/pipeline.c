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

void ks_pipeline_emit(struct ks_pipeline *pl, int class_uid)
{
	int i;

	if (pl->jw.oom) { /* an event we could not encode is counted, never half-written */
		pl->counters.malformed++;
		pl->dec.class_uid = 0;
		return;
	}
	pl->counters.emitted++;
	for (i = 0; i < pl->n_sinks; i++)
		pl->sinks[i].fn(pl->sinks[i].ctx, class_uid, pl->jw.buf, pl->jw.len);
	if (!pl->dec.class_uid || pl->judging)
		return;
	pl->judging = true;
	for (i = 0; i < pl->n_evaluators; i++)
		pl->evaluators[i].fn(pl->evaluators[i].ctx, pl, &pl->dec, pl->jw.buf, pl->jw.len);
	pl->judging = false;
	pl->dec.class_uid = 0;
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
