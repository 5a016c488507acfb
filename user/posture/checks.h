/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The evaluators, one family per file (check_*.c); the catalog names them. */
#ifndef KANSOKU_POSTURE_CHECKS_H
#define KANSOKU_POSTURE_CHECKS_H

#include "posture/posture.h"

/* check_kernel.c */
extern const struct ks_evaluator ks_ev_sysctl, ks_ev_lockdown, ks_ev_mac, ks_ev_kernel_file, ks_ev_mount;
/* check_ssh.c */
extern const struct ks_evaluator ks_ev_sshd;
/* check_accounts.c */
extern const struct ks_evaluator ks_ev_passwd_shadowed, ks_ev_shadow_empty, ks_ev_uid0, ks_ev_unique, ks_ev_sudoers,
    ks_ev_shadow_maxage, ks_ev_home_perms;
/* check_files.c */
extern const struct ks_evaluator ks_ev_file_mode, ks_ev_absent, ks_ev_walk, ks_ev_suid_packaged;
/* check_runtime.c */
extern const struct ks_evaluator ks_ev_listening, ks_ev_exe_unsafe;

/* Parameter validation helpers: a required string, an optional array of strings. */
int ks_need_str(struct json_object *params, const char *key, char *err, size_t errlen);
int ks_opt_strv(struct json_object *params, const char *key, char *err, size_t errlen);
struct json_object *ks_param(struct json_object *params, const char *key);

#endif
