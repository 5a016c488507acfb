/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the daemon says of its detection rules (`kansoku rules list`, `kansoku rules reload`), as tables. */
#ifndef KANSOKU_CLI_RULES_LIVE_H
#define KANSOKU_CLI_RULES_LIVE_H

struct json_object;

/* `rules list`: one row per rule with matches, evaluations and cost. */
void ks_cli_show_rules(struct json_object *rules);
/* One Detection Finding as a line: time, severity, rule, count, message. */
void ks_cli_show_alert(struct json_object *finding);
/* The `rules` part of `kansoku status`. */
void ks_cli_show_rules_line(struct json_object *status);
/* `rules reload`: what is loaded now. */
void ks_cli_show_rules_status(struct json_object *st);

#endif
