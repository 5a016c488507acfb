/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The CRSA risk score (docs/posture.md): a finding scores weight[severity] x age factor, summed per area and
 * for the host. Posture's findings and the detection rules' findings score the same way.
 */
#ifndef KANSOKU_MODEL_RISK_H
#define KANSOKU_MODEL_RISK_H

#include <stdint.h>

#include "config/posture_cfg.h"

double ks_score_age_factor(const struct ks_posture_cfg *cfg, enum ks_sev sev, int64_t age_s);
double ks_score_finding(const struct ks_posture_cfg *cfg, enum ks_sev sev, int64_t age_s);

#endif
