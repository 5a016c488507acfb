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
