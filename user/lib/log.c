// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>

#include "lib/log.h"

const char *const ks_log_level_names[] = {"error", "warning", "info", "debug", NULL};

static enum ks_log_level log_level = KS_LOG_INFO;
static const char *log_prefix = "kansoku";

void ks_log_set_level(enum ks_log_level level)
{
	log_level = level;
}

void ks_log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

void ks_log(enum ks_log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one write per line so concurrent writers do not interleave */
	fprintf(stderr, "%s: %s: %s\n", log_prefix, ks_log_level_names[level], line);
}
