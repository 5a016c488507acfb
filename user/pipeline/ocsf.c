// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "pipeline/ocsf.h"
#include "model/proctable.h"
#include "host/users.h"

const struct ks_ocsf_class ks_ocsf_process_activity = {1007, "Process Activity", 1, "System Activity"};
const struct ks_ocsf_class ks_ocsf_app_lifecycle = {6002, "Application Lifecycle", 6, "Application Activity"};
const struct ks_ocsf_class ks_ocsf_file_activity = {1001, "File System Activity", 1, "System Activity"};
const struct ks_ocsf_class ks_ocsf_network_activity = {4001, "Network Activity", 4, "Network Activity"};
const struct ks_ocsf_class ks_ocsf_dns_activity = {4003, "DNS Activity", 4, "Network Activity"};
const struct ks_ocsf_class ks_ocsf_compliance_finding = {2003, "Compliance Finding", 2, "Findings", false};
const struct ks_ocsf_class ks_ocsf_device_inventory = {5001, "Device Inventory Info", 5, "Discovery", true};
const struct ks_ocsf_class ks_ocsf_config_state = {5002, "Device Config State", 5, "Discovery", false};
const struct ks_ocsf_class ks_ocsf_user_inventory = {5003, "User Inventory Info", 5, "Discovery", false};
const struct ks_ocsf_class ks_ocsf_software_inventory = {5020, "Software Inventory Info", 5, "Discovery", false};

const char *ks_basename(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : (path ? path : "");
}

/* The device object never changes while the daemon runs: encoded once, copied into every event. */
static void encode_device(struct ks_pipeline *pl)
{
	struct ks_jw w;

	ks_jw_init(&w);
	ks_jw_obj_begin(&w);
	ks_jw_key(&w, "device");
	ks_jw_obj_begin(&w);
	ks_jw_ku64(&w, "type_id", 1); /* Server */
	ks_jw_kcstr(&w, "hostname", pl->host.hostname);
	ks_jw_kcstr(&w, "uid", pl->host.machine_id);
	ks_jw_kcstr(&w, "boot_uid", pl->host.boot_id);
	ks_jw_key(&w, "os");
	ks_jw_obj_begin(&w);
	ks_jw_kcstr(&w, "name", pl->host.os_name[0] ? pl->host.os_name : "Linux");
	ks_jw_ku64(&w, "type_id", 200); /* Linux */
	if (pl->host.os_version[0])
		ks_jw_kcstr(&w, "version", pl->host.os_version);
	ks_jw_kcstr(&w, "kernel_release", pl->host.kernel_release);
	ks_jw_obj_end(&w);
	ks_jw_obj_end(&w);
	if (!w.oom && w.len > 1) {
		pl->device_len = w.len - 1; /* without the outer '{' */
		pl->device_json = malloc(pl->device_len);
		if (pl->device_json)
			memcpy(pl->device_json, w.buf + 1, pl->device_len);
	}
	ks_jw_free(&w);
}

void ks_ocsf_begin(struct ks_pipeline *pl, const struct ks_ocsf_class *cls, int activity_id, const char *activity_name,
                   int severity_id, int64_t time_ms)
{
	struct ks_jw *w = &pl->jw;
	char uid[40];

	pl->seq++;
	ks_fmt_hex64(uid, ks_mix64(pl->instance));
	ks_fmt_hex64(uid + 16, ks_mix64(pl->instance ^ ks_mix64(pl->seq)));
	if (!pl->device_json)
		encode_device(pl);

	ks_jw_reset(w);
	ks_jw_obj_begin(w);
	ks_jw_ku64(w, "class_uid", (uint64_t)cls->class_uid);
	ks_jw_kcstr(w, "class_name", cls->class_name);
	ks_jw_ku64(w, "category_uid", (uint64_t)cls->category_uid);
	ks_jw_kcstr(w, "category_name", cls->category_name);
	ks_jw_ki64(w, "activity_id", activity_id);
	ks_jw_kcstr(w, "activity_name", activity_name);
	ks_jw_ki64(w, "type_uid", (int64_t)cls->class_uid * 100 + activity_id);
	ks_jw_ki64(w, "severity_id", severity_id);
	ks_jw_ki64(w, "time", time_ms);

	ks_jw_key(w, "metadata");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "version", KS_OCSF_VERSION);
	ks_jw_kcstr(w, "uid", uid);
	ks_jw_ku64(w, "sequence", pl->seq);
	ks_ocsf_product(pl, "product", "kansoku");
	ks_jw_obj_end(w);
	if (pl->device_json && !cls->own_device)
		ks_jw_member_raw(w, pl->device_json, pl->device_len);
}

void ks_ocsf_product(struct ks_pipeline *pl, const char *key, const char *name)
{
	struct ks_jw *w = &pl->jw;

	ks_jw_key(w, key);
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "name", name);
	ks_jw_kcstr(w, "vendor_name", "kansoku");
	ks_jw_kcstr(w, "version", KS_VERSION);
	ks_jw_obj_end(w);
}

void ks_ocsf_user(struct ks_pipeline *pl, const char *key, uint32_t uid)
{
	struct ks_jw *w = &pl->jw;
	const char *name = ks_users_name(pl->users, uid);
	char num[16];

	snprintf(num, sizeof(num), "%u", uid);
	ks_jw_key(w, key);
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "uid", num);
	if (name)
		ks_jw_kcstr(w, "name", name);
	ks_jw_ku64(w, "type_id", uid == 0 ? 2 : 1); /* Admin / User */
	ks_jw_obj_end(w);
}

static void process_core(struct ks_pipeline *pl, const struct ks_proc *p)
{
	struct ks_jw *w = &pl->jw;
	char cmd[KS_ARGV_MAX + 1];
	size_t n;

	ks_jw_ku64(w, "pid", p->pid);
	ks_jw_kcstr(w, "uid", p->id);
	if (p->exe && p->exe[0])
		ks_jw_kcstr(w, "name", ks_basename(p->exe));
	else
		ks_jw_kstr(w, "name", p->comm, strnlen(p->comm, sizeof(p->comm)));
	n = ks_proc_cmdline(p, cmd, sizeof(cmd));
	if (n)
		ks_jw_kstr(w, "cmd_line", cmd, n);
	if (p->exe) {
		ks_jw_key(w, "file");
		ks_jw_obj_begin(w);
		ks_jw_kcstr(w, "path", p->exe);
		ks_jw_kcstr(w, "name", ks_basename(p->exe));
		ks_jw_ku64(w, "type_id", 1); /* Regular File */
		ks_jw_obj_end(w);
	}
	ks_ocsf_user(pl, "user", p->creds.uid);
	if (p->start_ns)
		ks_jw_ki64(w, "created_time", ks_host_wall_ms(&pl->host, p->start_ns));
}

void ks_ocsf_process(struct ks_pipeline *pl, const char *key, const struct ks_proc *p, bool detail)
{
	struct ks_jw *w = &pl->jw;
	const struct ks_proc *lineage[KS_LINEAGE_MAX];
	struct ks_proc *parent;
	size_t n, i;

	ks_jw_key(w, key);
	ks_jw_obj_begin(w);
	process_core(pl, p);
	if (!detail) {
		ks_jw_obj_end(w);
		return;
	}
	if (p->creds.sessionid != KS_NO_ID) {
		char sid[16];

		snprintf(sid, sizeof(sid), "%u", p->creds.sessionid);
		ks_jw_key(w, "session");
		ks_jw_obj_begin(w);
		ks_jw_kcstr(w, "uid", sid);
		ks_jw_obj_end(w);
	}
	parent = ks_proc_parent(pl->procs, p);
	ks_jw_key(w, "parent_process");
	ks_jw_obj_begin(w);
	if (parent) {
		process_core(pl, parent);
	} else {
		char id[KS_PROC_ID_LEN];

		ks_jw_ku64(w, "pid", p->ppid);
		if (p->parent_start_ns) {
			ks_proc_make_id(pl->host.boot_id, p->ppid, p->parent_start_ns, id);
			ks_jw_kcstr(w, "uid", id);
		}
	}
	ks_jw_obj_end(w);
	n = ks_proc_lineage(pl->procs, p, lineage, KS_LINEAGE_MAX);
	ks_jw_key(w, "lineage");
	ks_jw_arr_begin(w);
	for (i = 0; i < n; i++)
		ks_jw_cstr(w, lineage[i]->exe ? lineage[i]->exe : lineage[i]->comm);
	ks_jw_arr_end(w);
	ks_jw_obj_end(w);
}

void ks_ocsf_actor(struct ks_pipeline *pl, struct ks_proc *p, uint32_t pid, uint64_t start_ns, uint32_t uid,
                   uint32_t loginuid)
{
	struct ks_jw *w = &pl->jw;

	ks_jw_key(w, "actor");
	ks_jw_obj_begin(w);
	if (p) {
		/* with its parent and lineage; the same for every event of the process until the table changes */
		uint64_t gen = ks_proctable_gen(pl->procs);
		struct ks_actor_slot *s;

		if (!pl->actors)
			pl->actors = calloc(KS_ACTOR_SLOTS, sizeof(*pl->actors));
		s = pl->actors ? &pl->actors[p->pid % KS_ACTOR_SLOTS] : NULL;
		if (s && s->len && s->pid == p->pid && s->start_ns == p->start_ns && s->gen == gen) {
			ks_jw_member_raw(w, s->json, s->len);
		} else {
			size_t start = w->len, len;

			ks_ocsf_process(pl, "process", p, true);
			len = w->len - start;
			if (s && !w->oom && len > s->cap) {
				char *buf = realloc(s->json, len);

				if (buf) {
					s->json = buf;
					s->cap = len;
				}
			}
			if (s && !w->oom && len <= s->cap) {
				memcpy(s->json, w->buf + start, len);
				*s = (struct ks_actor_slot){p->pid, p->start_ns, gen, s->json, len, s->cap};
			}
		}
	} else {
		char id[KS_PROC_ID_LEN];

		ks_jw_key(w, "process");
		ks_jw_obj_begin(w);
		ks_jw_ku64(w, "pid", pid);
		if (start_ns) {
			ks_proc_make_id(pl->host.boot_id, pid, start_ns, id);
			ks_jw_kcstr(w, "uid", id);
		}
		ks_ocsf_user(pl, "user", uid);
		ks_jw_obj_end(w);
	}
	ks_ocsf_user(pl, "user", loginuid != KS_NO_ID ? loginuid : uid);
	ks_jw_obj_end(w);
}
