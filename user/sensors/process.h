/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Process lifecycle: wire records -> process table -> OCSF Process Activity (Launch, Terminate). */
#ifndef KANSOKU_PROCESS_H
#define KANSOKU_PROCESS_H

#include <stddef.h>

#include "kansoku/events.h"
#include "pipeline/pipeline.h"
#include "model/proctable.h"

/* An exec/seed record with its tail split and checked against the record size. */
struct ks_exec_view {
	const struct ks_exec *e;
	struct ks_proc_image img;
	const char *cwd;
	size_t cwd_len;
};

/* Returns 0, or -1 if the record is inconsistent (lengths beyond its size, wrong kind). */
int ks_exec_decode(const void *data, size_t size, struct ks_exec_view *v);

/* Handle one record from the process ring buffer (exec, fork, exit). Returns -1 if malformed. */
int ks_process_handle(struct ks_pipeline *pl, const void *data, size_t size);
/* Handle one seed record from the task iterator (no event emitted: the table learns the process). */
int ks_process_seed(struct ks_pipeline *pl, const void *data, size_t size, const char *proc_root);

#endif
