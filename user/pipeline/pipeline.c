// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
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

const char *ks_event_kind_name(unsigned kind)
{
	static const char *const names[KS_EV_KIND_MAX] = {
	    [KS_EV_EXEC] = "exec",     [KS_EV_FORK] = "fork",          [KS_EV_EXIT] = "exit",
	    [KS_EV_SEED] = "seed",     [KS_EV_FILE] = "file",          [KS_EV_NET] = "network",
	    [KS_EV_PTRACE] = "ptrace", [KS_EV_KMOD] = "kernel_module", [KS_EV_SETID] = "setid",
	};

	return kind < KS_EV_KIND_MAX && names[kind] ? names[kind] : "unknown";
}
