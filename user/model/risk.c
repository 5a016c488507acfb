// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The risk score (docs/posture.md): a finding scores weight[severity] x age factor. The factor is 1 until
 * the severity's grace period is over, then grows by 1 for each further grace period, up to
 * max_age_factor. Areas and the host sum their findings.
 */
#include "model/risk.h"

double ks_score_age_factor(const struct ks_posture_cfg *cfg, enum ks_sev sev, int64_t age_s)
{
	double grace = (double)cfg->grace_days[sev] * 86400.0, f;

	if (age_s <= 0 || grace <= 0 || (double)age_s <= grace)
		return 1.0;
	f = 1.0 + ((double)age_s - grace) / grace;
	return f > (double)cfg->max_age_factor ? (double)cfg->max_age_factor : f;
}

double ks_score_finding(const struct ks_posture_cfg *cfg, enum ks_sev sev, int64_t age_s)
{
	return (double)cfg->weight[sev] * ks_score_age_factor(cfg, sev, age_s);
}
