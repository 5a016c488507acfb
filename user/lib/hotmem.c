// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <sys/mman.h>

#include "lib/hotmem.h"

#define HUGE_PAGE ((size_t)2 << 20)

void *ks_hot_alloc(size_t *bytes)
{
	void *p;

	if (*bytes < HUGE_PAGE / 2) /* a small buffer stays small: its few pages stay in the TLB anyway */
		return malloc(*bytes);
	*bytes = (*bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	p = aligned_alloc(HUGE_PAGE, *bytes);
	if (p)
		(void)madvise(p, *bytes, MADV_HUGEPAGE);
	return p;
}
