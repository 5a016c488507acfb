/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The posture inventory (the snapshot document's own shape, which `--audit` prints and the tests read) as
 * OCSF objects for the inventory events: what OCSF defines goes where OCSF says, everything else into the
 * event's unmapped object under the same key (unmapped.device, unmapped.user, unmapped.package), values
 * unchanged, so nothing the snapshot says is lost.
 */
#ifndef KANSOKU_POSTURE_OCSF_MAP_H
#define KANSOKU_POSTURE_OCSF_MAP_H

#include <json-c/json.h>
#include <stdint.h>

/* Each returns a new OCSF object built from inv (not changed) and adds what OCSF lacks to unmapped[key]. */
struct json_object *ks_ocsf_map_device(struct json_object *inv, struct json_object *unmapped, int64_t now_ms);
struct json_object *ks_ocsf_map_user(struct json_object *inv, struct json_object *unmapped);
struct json_object *ks_ocsf_map_package(struct json_object *inv, struct json_object *unmapped);

#endif
