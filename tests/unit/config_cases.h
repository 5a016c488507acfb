/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Table-driven config error checks shared by the unit tests (include after cmocka.h). */
#ifndef KS_TEST_CONFIG_CASES_H
#define KS_TEST_CONFIG_CASES_H

#include <string.h>

#include "config/config.h"

struct config_case {
	const char *text;   /* the YAML */
	const char *expect; /* text the error must contain */
};

/* Each config must fail, with an error holding the expected text (file:line:col and the key). */
static inline void expect_config_errors(const struct config_case *cases, size_t n)
{
	struct ks_config cfg;
	char err[512];
	size_t i;

	for (i = 0; i < n; i++) {
		err[0] = '\0';
		if (ks_config_parse(&cfg, "t.yaml", cases[i].text, strlen(cases[i].text), err, sizeof(err)) != -1 ||
		    !strstr(err, cases[i].expect))
			fail_msg("case %zu: config %s\n  expected error containing: %s\n  got: %s", i, cases[i].text,
			         cases[i].expect, err);
	}
}

#endif
