/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The `posture:` section of the config. Its keys, bounds and defaults are rows of the config table
 * (config/keys.c); posture/ reads this struct and includes this header, never the reverse.
 */
#ifndef KANSOKU_CONFIG_POSTURE_CFG_H
#define KANSOKU_CONFIG_POSTURE_CFG_H

#include <stdbool.h>
#include <stdint.h>

#include "config/severity.h"

struct ks_allowed_port {
	char proto[4]; /* tcp / udp / "" for both */
	uint16_t port;
};

struct ks_posture_cfg {
	bool enabled;
	char root[1024];
	unsigned interval_s;
	unsigned fs_scan_interval_s; /* the filesystem walk is reused between snapshots for this long */
	char scan_paths[16][256];
	int n_scan_paths;
	struct ks_allowed_port allowed[64];
	int n_allowed;
	bool ignore_loopback; /* listeners on loopback addresses are not exposure */
	char disabled[128][32];
	int n_disabled;
	char catalogs[8][1024]; /* extra catalog files */
	int n_catalogs;
	unsigned weight[KS_SEV_MAX];
	unsigned grace_days[KS_SEV_MAX];
	unsigned max_age_factor; /* the age factor stops growing here */
	bool use_sshd_t;         /* ask `sshd -T` for the effective configuration when root is / */
};

/* The table's defaults for the posture section. */
void ks_posture_cfg_defaults(struct ks_posture_cfg *c);

#endif
