/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The `rules:` section of the config (detection rules, docs/rules.md); its keys are rows of config/keys.c. */
#ifndef KANSOKU_CONFIG_RULES_CFG_H
#define KANSOKU_CONFIG_RULES_CFG_H

#include <stdbool.h>

#define KS_RULES_PATHS_MAX 16
#define KS_RULES_DISABLE_MAX 256

struct ks_rules_cfg {
	bool enabled;
	bool builtin;                         /* the built-in set (packaging/rules/, compiled in) is read first */
	char paths[KS_RULES_PATHS_MAX][1024]; /* globs of the operator's rule files, read in order */
	int n_paths;
	char policy_paths[KS_RULES_PATHS_MAX][1024]; /* globs of access policy files (docs/policy.md), read last */
	int n_policy_paths;
	char disable[KS_RULES_DISABLE_MAX][65]; /* rule ids turned off */
	int n_disable;
	unsigned state_max;       /* sequence/threshold entries */
	unsigned dedupe_window_s; /* the same rule on the same process within this is one finding that grows */
	unsigned rate_per_s;      /* new findings per rule per second; the excess is counted, not sent */
	unsigned rate_burst;      /* findings a rule may raise at once before the rate applies */
	unsigned quiet_period_s;  /* an open detection closes when its rule has not matched again this long */
};

#endif
