/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `kansoku status` as text (show_status.c). */
#ifndef KANSOKU_CLI_SHOW_STATUS_H
#define KANSOKU_CLI_SHOW_STATUS_H

struct json_object;

void ks_cli_show_status(struct json_object *st);

#endif
