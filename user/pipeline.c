// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "kansoku/control.h"
#include "kansoku/output.h"
#include "kansoku/pipeline.h"
#include "kansoku/recent.h"

void ks_pipeline_emit(struct ks_pipeline *pl, int class_uid)
{
	if (pl->jw.oom) { /* an event we could not encode is counted, never half-written */
		pl->counters.malformed++;
		return;
	}
	pl->counters.emitted++;
	if (pl->outs)
		ks_outputs_write(pl->outs, pl->jw.buf, pl->jw.len);
	ks_recent_add(pl->recent, class_uid, pl->jw.buf, pl->jw.len);
	ks_control_broadcast(pl->ctl, class_uid, pl->jw.buf, pl->jw.len);
}

const char *ks_event_kind_name(unsigned kind)
{
	static const char *const names[KS_EV_KIND_MAX] = {
	    [KS_EV_EXEC] = "exec", [KS_EV_FORK] = "fork", [KS_EV_EXIT] = "exit",
	    [KS_EV_SEED] = "seed", [KS_EV_FILE] = "file", [KS_EV_NET] = "network",
	};

	return kind < KS_EV_KIND_MAX && names[kind] ? names[kind] : "unknown";
}
