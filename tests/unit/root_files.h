/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests that build a small host image under a temporary root (posture's checks read it). */
#ifndef KANSOKU_TEST_ROOT_FILES_H
#define KANSOKU_TEST_ROOT_FILES_H

#include <stdio.h>
#include <stdlib.h>

/* Writes text to root/path, creating its directories. */
static void put(const char *root, const char *path, const char *text)
{
	char full[600], cmd[700];
	FILE *f;

	snprintf(full, sizeof(full), "%s%s", root, path);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", full);
	assert_int_equal(system(cmd), 0);
	f = fopen(full, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#endif
