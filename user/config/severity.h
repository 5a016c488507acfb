/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Finding severities. They live here, below posture, because the config names them
 * (posture.weights.<severity>, posture.grace_days.<severity>); posture and the control commands use them too.
 */
#ifndef KANSOKU_CONFIG_SEVERITY_H
#define KANSOKU_CONFIG_SEVERITY_H

enum ks_sev { KS_SEV_INFO, KS_SEV_LOW, KS_SEV_MEDIUM, KS_SEV_HIGH, KS_SEV_CRITICAL, KS_SEV_MAX };

extern const char *const ks_sev_names[KS_SEV_MAX + 1]; /* NULL-terminated */
/* The severity named s, or -1. */
int ks_sev_parse(const char *s);

#endif
