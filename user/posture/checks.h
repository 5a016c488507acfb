/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The evaluators, one family per file (check_*.c); the catalog names them. */
#ifndef KANSOKU_POSTURE_CHECKS_H
#define KANSOKU_POSTURE_CHECKS_H

#include "posture/posture.h"

/* check_kernel.c */
extern const struct ks_evaluator ks_eval_sysctl, ks_eval_lockdown, ks_eval_mac, ks_eval_kernel_file, ks_eval_mount;
/* check_ssh.c */
extern const struct ks_evaluator ks_eval_sshd;
/* check_accounts.c */
extern const struct ks_evaluator ks_eval_passwd_shadowed, ks_eval_shadow_empty, ks_eval_uid0, ks_eval_unique,
    ks_eval_sudoers, ks_eval_shadow_maxage, ks_eval_home_perms;
/* check_files.c */
extern const struct ks_evaluator ks_eval_file_mode, ks_eval_absent, ks_eval_walk, ks_eval_suid_packaged;
/* check_runtime.c */
extern const struct ks_evaluator ks_eval_listening, ks_eval_exe_unsafe;

/* Parameter validation helpers: a required string, an optional array of strings. */
int ks_need_str(struct json_object *params, const char *key, char *err, size_t errlen);
int ks_opt_strv(struct json_object *params, const char *key, char *err, size_t errlen);
struct json_object *ks_param(struct json_object *params, const char *key);

#endif
