/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Background priority for kansokud's own side work (posture's threads, the child compressing a rotated
 * file): whatever CPU and disk they use, the host's workload comes first.
 */
#ifndef KANSOKU_LIB_PRIO_H
#define KANSOKU_LIB_PRIO_H

enum ks_prio_class {
	KS_PRIO_IDLE,           /* SCHED_IDLE (nice 19 where refused), I/O class idle: may starve while busy */
	KS_PRIO_BACKGROUND,     /* nice 19, SCHED_BATCH, lowest best-effort I/O: always progresses, slowly */
	KS_PRIO_NORMAL_IO_IDLE, /* CPU unchanged (a budget governs it), I/O class idle */
};

/* Applies cls to the calling thread. Failures are ignored: priority is an optimisation, not a need. */
void ks_prio_lower(enum ks_prio_class cls);

#endif
