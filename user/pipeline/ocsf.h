/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* OCSF encoding: the envelope every event shares and the objects several classes use. */
#ifndef KANSOKU_OCSF_H
#define KANSOKU_OCSF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/pipeline.h"

#define KS_OCSF_VERSION "1.8.0"

/* severity_id (every class) */
enum ks_ocsf_severity {
	KS_OCSF_SEV_UNKNOWN = 0,
	KS_OCSF_SEV_INFO = 1,
	KS_OCSF_SEV_LOW = 2,
	KS_OCSF_SEV_MEDIUM = 3,
	KS_OCSF_SEV_HIGH = 4,
	KS_OCSF_SEV_CRITICAL = 5,
	KS_OCSF_SEV_FATAL = 6,
	KS_OCSF_SEV_OTHER = 99,
};

/* activity_id of Process Activity (1007) */
enum ks_ocsf_process_activity { KS_OCSF_PROC_LAUNCH = 1, KS_OCSF_PROC_TERMINATE = 2 };

/* activity_id of Application Lifecycle (6002); kansokud's own reports (heartbeat, drops) are Other */
enum ks_ocsf_app_activity { KS_OCSF_APP_START = 3, KS_OCSF_APP_STOP = 4, KS_OCSF_APP_OTHER = 99 };

/* activity_id of Network Activity (4001) and DNS Activity (4003) */
enum ks_ocsf_net_activity {
	KS_OCSF_NET_OPEN = 1,
	KS_OCSF_NET_CLOSE = 2,
	KS_OCSF_NET_RESET = 3,
	KS_OCSF_NET_FAIL = 4,
	KS_OCSF_NET_REFUSE = 5,
	KS_OCSF_NET_TRAFFIC = 6,
	KS_OCSF_NET_LISTEN = 7,
	KS_OCSF_NET_OTHER = 99,
};
enum ks_ocsf_dns_activity { KS_OCSF_DNS_QUERY = 1 };
/* Detection Finding (2004): the rule engine's findings */
#define KS_OCSF_DETECTION_FINDING 2004
enum ks_ocsf_finding_activity { KS_OCSF_FINDING_CREATE = 1, KS_OCSF_FINDING_UPDATE = 2, KS_OCSF_FINDING_CLOSE = 3 };
extern const struct ks_ocsf_class ks_ocsf_detection_finding;

/* activity_id of the inventory classes (5001, 5002, 5003, 5020) */
enum ks_ocsf_inventory_activity { KS_OCSF_INV_COLLECT = 2 };

/* observable type_id (the observable object): what an analyst pivots on */
enum ks_ocsf_obs_type {
	KS_OCSF_OBS_HOSTNAME = 1,
	KS_OCSF_OBS_IP = 2,
	KS_OCSF_OBS_USER_NAME = 4,
	KS_OCSF_OBS_PROCESS_NAME = 9,
	KS_OCSF_OBS_COMMAND_LINE = 13,
	KS_OCSF_OBS_FILE_PATH = 45,
};

/* user.type_id */
enum ks_ocsf_user_type {
	KS_OCSF_USER_UNKNOWN = 0,
	KS_OCSF_USER_USER = 1,
	KS_OCSF_USER_ADMIN = 2,
	KS_OCSF_USER_SYSTEM = 3,
};

/* connection_info.direction_id */
enum ks_ocsf_direction { KS_OCSF_DIR_UNKNOWN = 0, KS_OCSF_DIR_INBOUND = 1, KS_OCSF_DIR_OUTBOUND = 2 };

#define KS_OCSF_PROCESS_ACTIVITY 1007
#define KS_OCSF_APP_LIFECYCLE 6002

struct ks_proc;

struct ks_ocsf_class {
	int class_uid;
	const char *class_name;
	int category_uid;
	const char *category_name;
	bool own_device;      /* the event carries its own (inventory) device object */
	const char *profiles; /* metadata.profiles, as a JSON array: the profiles whose attributes it uses */
};

extern const struct ks_ocsf_class ks_ocsf_process_activity;
extern const struct ks_ocsf_class ks_ocsf_app_lifecycle;
extern const struct ks_ocsf_class ks_ocsf_file_activity;

#define KS_OCSF_FILE_ACTIVITY 1001
#define KS_OCSF_NETWORK_ACTIVITY 4001
#define KS_OCSF_DNS_ACTIVITY 4003
extern const struct ks_ocsf_class ks_ocsf_network_activity;
extern const struct ks_ocsf_class ks_ocsf_dns_activity;
/* posture (user/posture/engine.c) */
extern const struct ks_ocsf_class ks_ocsf_compliance_finding, ks_ocsf_device_inventory, ks_ocsf_config_state,
    ks_ocsf_user_inventory, ks_ocsf_software_inventory;

/* Opens the event object and writes class, activity, time, timezone_offset, metadata and device. Close with
 * ks_ocsf_end. */
void ks_ocsf_begin(struct ks_pipeline *pl, const struct ks_ocsf_class *cls, int activity_id, const char *activity_name,
                   int severity_id, int64_t time_ms);
/* Writes the observables noted since ks_ocsf_begin and closes the event object. */
void ks_ocsf_end(struct ks_pipeline *pl);
/* Notes an observable: name is the attribute's path in this event (a literal), value its value as written
 * there (copied). Skipped when value is NULL or empty, or when the event has too many. */
void ks_ocsf_observe(struct ks_pipeline *pl, const char *name, enum ks_ocsf_obs_type type, const char *value);
/* The event's "message": one line a person reads in a SIEM's list (cut at 511 bytes). */
void ks_ocsf_message(struct ks_pipeline *pl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* vsnprintf's result for fmt, without printf for %s, %d, %i, %u (with l, ll or z) and %%, which is all the
 * messages use; any other format is vsnprintf's. (ocsf_message.c) */
int ks_ocsf_vformat(char *buf, size_t cap, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
/* A product object {name, vendor_name, version} of kansoku's own code under key (product, app). */
void ks_ocsf_product(struct ks_pipeline *pl, const char *key, const char *name);
/* user.type_id of a uid: root is Admin, accounts below 1000 and nobody System, the others User. */
int ks_ocsf_user_type(uint32_t uid);
/* A user object {uid, name, type_id} under key. */
void ks_ocsf_user(struct ks_pipeline *pl, const char *key, uint32_t uid);
/* A process object under key; with detail, also session, parent_process and ancestry. */
void ks_ocsf_process(struct ks_pipeline *pl, const char *key, const struct ks_proc *p, bool detail);
/* The actor object: the process p (with ancestry) when known, else what the kernel said (pid, start, uid);
 * the user is the login user when there is one. Notes actor.process.name and actor.user.name as observables. */
void ks_ocsf_actor(struct ks_pipeline *pl, struct ks_proc *p, uint32_t pid, uint64_t start_ns, uint32_t uid,
                   uint32_t loginuid);
/* The name a process object carries: its executable's, else its comm (copied into buf). */
const char *ks_ocsf_proc_name(const struct ks_proc *p, char buf[KS_COMM_LEN + 1]);
/* The name part of a path (after the last '/'). */
const char *ks_basename(const char *path);

#endif
