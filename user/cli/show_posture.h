/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Posture as tables (show_posture.c): posture, findings, inventory. */
#ifndef KANSOKU_CLI_SHOW_POSTURE_H
#define KANSOKU_CLI_SHOW_POSTURE_H

struct json_object;

/* `findings`: severity, score, age, check, finding. */
void ks_cli_findings_table(struct json_object *arr);
/* `posture`: the host's score, per area, worst findings, checks that failed to run. */
void ks_cli_show_posture(struct json_object *d);
/* `inventory KIND`: packages, users or ports as a table; anything else as JSON. */
void ks_cli_show_inventory(struct json_object *d, const char *kind);

#endif
