// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>

#include "pipeline/pipeline.h"

int ks_pipeline_add_sink(struct ks_pipeline *pl, const char *name, ks_sink_fn fn, void *ctx)
{
	if (pl->n_sinks >= KS_PIPELINE_SINKS_MAX)
		return -1;
	pl->sinks[pl->n_sinks++] = (struct ks_sink){.name = name, .fn = fn, .ctx = ctx};
	return 0;
}

void ks_pipeline_emit(struct ks_pipeline *pl, int class_uid)
{
	if (pl->jw.oom) { /* an event we could not encode is counted, never half-written */
		pl->counters.malformed++;
		return;
	}
	pl->counters.emitted++;
	for (int i = 0; i < pl->n_sinks; i++)
		pl->sinks[i].fn(pl->sinks[i].ctx, class_uid, pl->jw.buf, pl->jw.len);
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
	    [KS_EV_EXEC] = "exec", [KS_EV_FORK] = "fork", [KS_EV_EXIT] = "exit",
	    [KS_EV_SEED] = "seed", [KS_EV_FILE] = "file", [KS_EV_NET] = "network",
	};

	return kind < KS_EV_KIND_MAX && names[kind] ? names[kind] : "unknown";
}
