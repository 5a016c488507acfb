/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `kansoku policy learn` (policy_learn.c): argv from the word "policy" on. Returns the exit status. */
#ifndef KANSOKU_CLI_POLICY_CMD_H
#define KANSOKU_CLI_POLICY_CMD_H

int ks_cli_policy(int argc, char **argv, const char *socket_path);

#endif
