// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/prio.h"

/* linux/ioprio.h is not in every libc's headers: the values it would give */
enum {
	KS_IOPRIO_WHO_PROCESS = 1,
	KS_IOPRIO_CLASS_BE = 2,
	KS_IOPRIO_CLASS_IDLE = 3,
	KS_IOPRIO_CLASS_SHIFT = 13,
	KS_IOPRIO_BE_LOWEST = 7,
};

void ks_prio_lower(enum ks_prio_class cls)
{
	struct sched_param sp = {0};
	pid_t tid = (pid_t)syscall(SYS_gettid);
	int io = KS_IOPRIO_CLASS_IDLE << KS_IOPRIO_CLASS_SHIFT;

	switch (cls) {
	case KS_PRIO_IDLE:
		/* SCHED_IDLE runs only on a CPU with nothing else to do */
		if (sched_setscheduler(tid, SCHED_IDLE, &sp))
			setpriority(PRIO_PROCESS, (id_t)tid, 19);
		break;
	case KS_PRIO_BACKGROUND:
		/* a CPU-bound batch job at the lowest weight: ~1.5% of a CPU beside a busy nice-0 task */
		sched_setscheduler(tid, SCHED_BATCH, &sp);
		setpriority(PRIO_PROCESS, (id_t)tid, 19);
		io = KS_IOPRIO_CLASS_BE << KS_IOPRIO_CLASS_SHIFT | KS_IOPRIO_BE_LOWEST;
		break;
	case KS_PRIO_NORMAL_IO_IDLE:
		break;
	}
	syscall(SYS_ioprio_set, KS_IOPRIO_WHO_PROCESS, tid, io);
}
