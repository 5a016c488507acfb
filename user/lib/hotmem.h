/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Memory for a buffer the loop writes at every event (the recent-events ring, a file output's buffer): on a
 * transparent huge page, so that one TLB entry covers 2 MiB of it. Written across many 4 KiB pages, each
 * copy missed the TLB, and under a hypervisor a page walk is two-dimensional: a 2.5 KB event took ~9 us
 * to copy into a cold slot, ~0.2 us on a huge page (measured in the daemon during an exec storm).
 */
#ifndef KANSOKU_HOTMEM_H
#define KANSOKU_HOTMEM_H

#include <stddef.h>

/* *bytes of memory, rounded up to whole huge pages (and *bytes updated) when it is 1 MiB or more; only
 * advice to the kernel: without transparent huge pages it is ordinary memory. NULL if out of memory.
 * Freed with free(). */
void *ks_hot_alloc(size_t *bytes);

#endif
