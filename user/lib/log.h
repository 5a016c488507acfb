/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Daemon and CLI diagnostics to stderr. Never log secrets or event payloads here. */
#ifndef KANSOKU_LOG_H
#define KANSOKU_LOG_H

enum ks_log_level { KS_LOG_ERROR, KS_LOG_WARN, KS_LOG_INFO, KS_LOG_DEBUG };

/* "error", "warning", "info", "debug" by enum value, NULL-terminated: the one spelling for config and flags. */
extern const char *const ks_log_level_names[];

void ks_log_set_level(enum ks_log_level level);
void ks_log_set_prefix(const char *prefix);
void ks_log(enum ks_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ks_err(...) ks_log(KS_LOG_ERROR, __VA_ARGS__)
#define ks_warn(...) ks_log(KS_LOG_WARN, __VA_ARGS__)
#define ks_info(...) ks_log(KS_LOG_INFO, __VA_ARGS__)
#define ks_dbg(...) ks_log(KS_LOG_DEBUG, __VA_ARGS__)

#endif
