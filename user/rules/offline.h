/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Offline evaluation of recorded OCSF events (kansoku's file output, one JSON object per line). */
#ifndef KANSOKU_RULES_OFFLINE_H
#define KANSOKU_RULES_OFFLINE_H

#include <stdio.h>

#include "rules.h"

struct json_object;
struct ks_rules_offline;

/* Matches are printed to out (text with the reason, or one JSON object per line). */
struct ks_rules_offline *ks_rules_offline_new(struct ks_rules *r, FILE *out, bool json);
void ks_rules_offline_free(struct ks_rules_offline *o);
/* The view of one event, as the daemon would fill it; now_ns: the event's time. Pointers into ev and o. */
void ks_rules_view_from_json(struct ks_rules_offline *o, struct json_object *ev, struct ks_rview *v, uint64_t *now_ns);
/* The member at a dotted path ("actor.process.pid") of an OCSF event, or NULL. */
struct json_object *ks_json_path(struct json_object *o, const char *path);
/* Every line of in; lines that are not JSON objects are reported on stderr and counted in bad. */
int ks_rules_offline_run(struct ks_rules_offline *o, FILE *in, const char *name, size_t *events, size_t *bad);

#endif
