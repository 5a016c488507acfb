/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Elastic Common Schema: an OCSF event re-written as an ECS document, for outputs with `format: ecs`. */
#ifndef KANSOKU_OUTPUTS_ECS_H
#define KANSOKU_OUTPUTS_ECS_H

#include <stddef.h>

#include "lib/json.h"

/* OCSF event -> ECS document (one JSON object). Returns 0, or -1 if the line is not a JSON object. */
int ks_ecs_from_ocsf(const char *line, size_t len, struct ks_jw *out);

#endif
