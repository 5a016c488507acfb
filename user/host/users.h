/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * uid -> user name, read from the passwd file directly (not NSS: a hung directory service must not stall
 * the event loop). Reloaded when the file changes, checked at most once a second.
 */
#ifndef KANSOKU_USERS_H
#define KANSOKU_USERS_H

#include <stdint.h>

struct ks_users;

struct ks_users *ks_users_new(const char *passwd_path);
void ks_users_free(struct ks_users *u);
/* NULL when unknown; the pointer is valid until the next call. */
const char *ks_users_name(struct ks_users *u, uint32_t uid);

#endif
