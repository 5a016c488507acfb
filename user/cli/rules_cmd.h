/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `kansoku rules ...` (rules_cmd.c): argv from the word "rules" on. Returns the exit status. */
#ifndef KANSOKU_CLI_RULES_CMD_H
#define KANSOKU_CLI_RULES_CMD_H

int ks_cli_rules(int argc, char **argv);

#endif
