// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>

#include "config/severity.h"

const char *const ks_sev_names[KS_SEV_MAX + 1] = {"info", "low", "medium", "high", "critical", NULL};

int ks_sev_parse(const char *s)
{
	for (int i = 0; i < KS_SEV_MAX; i++)
		if (s && !strcmp(s, ks_sev_names[i]))
			return i;
	return -1;
}
