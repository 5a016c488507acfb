// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/hash.h"
#include "pipeline/ocsf.h"
#include "model/proctable.h"
#include "host/users.h"

/* Every event carries device (and most an actor): for all but 1007/1001/5001/5002/5020 they are the host
 * profile's attributes, and declaring it where the class has them too says the same thing. */
#define HOST "[\"host\"]"
const struct ks_ocsf_class ks_ocsf_process_activity = {1007, "Process Activity", 1, "System Activity", false, HOST};
const struct ks_ocsf_class ks_ocsf_app_lifecycle = {6002, "Application Lifecycle", 6, "Application Activity", false,
                                                    HOST};
const struct ks_ocsf_class ks_ocsf_file_activity = {1001, "File System Activity", 1, "System Activity", false, HOST};
const struct ks_ocsf_class ks_ocsf_network_activity = {4001, "Network Activity", 4, "Network Activity", false, HOST};
const struct ks_ocsf_class ks_ocsf_dns_activity = {4003, "DNS Activity", 4, "Network Activity", false, HOST};
const struct ks_ocsf_class ks_ocsf_compliance_finding = {2003, "Compliance Finding", 2, "Findings", false, HOST};
const struct ks_ocsf_class ks_ocsf_device_inventory = {5001, "Device Inventory Info", 5, "Discovery", true, HOST};
/* risk_score (the host's posture score) is the security_control profile's */
const struct ks_ocsf_class ks_ocsf_config_state = {
    5002, "Device Config State", 5, "Discovery", false, "[\"host\",\"security_control\"]"};
const struct ks_ocsf_class ks_ocsf_user_inventory = {5003, "User Inventory Info", 5, "Discovery", false, HOST};
const struct ks_ocsf_class ks_ocsf_software_inventory = {5020, "Software Inventory Info", 5, "Discovery", false, HOST};

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

/* The host's offset from UTC in minutes at time_ms, renewed each wall minute (daylight saving). */
static int tz_offset(struct ks_pipeline *pl, int64_t time_ms)
{
	int64_t minute = time_ms / 60000;
	time_t t = (time_t)(time_ms / 1000);
	struct tm tm;

	if (minute != pl->tz_minute && localtime_r(&t, &tm)) {
		pl->tz_offset = (int)(tm.tm_gmtoff / 60);
		pl->tz_minute = minute;
	}
	return pl->tz_offset;
}

/* Copies n bytes to p; returns their end (the hand-written runs of begin and observables). */
static inline char *put_bytes(char *p, const char *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

/* the same in every event: written as one piece */
static const char begin_product[] = "\"product\":{\"name\":\"kansoku\",\"vendor_name\":\"kansoku\","
                                    "\"version\":\"" KS_VERSION "\"}";

/* The envelope as the writer writes it, member by member: fills the prefix cache, and is the way when a
 * prefix does not fit it. */
static void begin_members(struct ks_pipeline *pl, const struct ks_ocsf_class *cls, int activity_id,
                          const char *activity_name, int severity_id, int64_t time_ms, int tz, const char uid[33])
{
	struct ks_jw *w = &pl->jw;

	ks_jw_ku64(w, "class_uid", (uint64_t)cls->class_uid);
	ks_jw_kcstr(w, "class_name", cls->class_name);
	ks_jw_ku64(w, "category_uid", (uint64_t)cls->category_uid);
	ks_jw_kcstr(w, "category_name", cls->category_name);
	ks_jw_ki64(w, "activity_id", activity_id);
	ks_jw_kcstr(w, "activity_name", activity_name);
	ks_jw_ki64(w, "type_uid", (int64_t)cls->class_uid * 100 + activity_id);
	ks_jw_ki64(w, "severity_id", severity_id);
	ks_jw_ki64(w, "time", time_ms);
	ks_jw_ki64(w, "timezone_offset", tz);

	ks_jw_key(w, "metadata");
	ks_jw_obj_begin(w);
	ks_jw_kcstr(w, "version", KS_OCSF_VERSION);
	if (cls->profiles) {
		ks_jw_key(w, "profiles");
		ks_jw_json(w, cls->profiles, strlen(cls->profiles));
	}
	ks_jw_kcstr(w, "uid", uid);
	ks_jw_ku64(w, "sequence", pl->seq);
	ks_jw_member_raw(w, begin_product, sizeof(begin_product) - 1);
	ks_jw_obj_end(w);
}

/*
 * What begin_members writes is constant but for time, timezone_offset, uid and sequence: the two constant
 * runs before time ({"class_uid":...,"time":) and after timezone_offset (,"metadata":{...,"uid":") are kept
 * per class, activity and severity, encoded once by begin_members itself, and an event copies them. Per
 * thread (posture's worker encodes too); a class is a constant, so its address names it.
 */
#define BEGIN_SLOTS 16
#define BEGIN_TEXT 384
struct begin_prefix {
	const struct ks_ocsf_class *cls;
	int activity_id, severity_id;
	char activity_name[48];
	uint16_t head_len, meta_len; /* head: up to "time":, meta: from ,"metadata" to "uid":" */
	char text[BEGIN_TEXT];
};
static __thread struct begin_prefix begin_cache[BEGIN_SLOTS];

/* The slot of this envelope, filled (NULL when it does not fit one: the event is written member by member) */
static const struct begin_prefix *begin_prefix(struct ks_pipeline *pl, const struct ks_ocsf_class *cls, int activity_id,
                                               const char *name, int severity_id)
{
	size_t h = ((uintptr_t)cls >> 4) * 31 + (unsigned)activity_id * 7 + (unsigned)severity_id;
	struct begin_prefix *e = &begin_cache[h % BEGIN_SLOTS];
	struct ks_jw *w = &pl->jw;
	size_t head, meta_at, meta_end;
	const char *time_at, *meta, *uid_at;
	static const char zero_uid[33] = "00000000000000000000000000000000";

	if (e->cls == cls && e->activity_id == activity_id && e->severity_id == severity_id &&
	    !strcmp(e->activity_name, name))
		return e;
	if (strlen(name) >= sizeof(e->activity_name))
		return NULL;
	/* encode the envelope with time 0, offset 0 and the writer's own calls, then cut the constant runs out */
	e->cls = NULL;
	ks_jw_reset(w);
	ks_jw_obj_begin(w);
	begin_members(pl, cls, activity_id, name, severity_id, 0, 0, zero_uid);
	if (w->oom)
		return NULL;
	time_at = strstr(w->buf, ",\"time\":0,");
	meta = time_at ? strstr(time_at, ",\"metadata\":{") : NULL;
	uid_at = meta ? strstr(meta, zero_uid) : NULL;
	if (!uid_at)
		return NULL;
	head = (size_t)(time_at - w->buf) + sizeof(",\"time\":") - 1;
	meta_at = (size_t)(meta - w->buf);
	meta_end = (size_t)(uid_at - w->buf);
	if (head + (meta_end - meta_at) > sizeof(e->text))
		return NULL;
	memcpy(e->text, w->buf, head);
	memcpy(e->text + head, w->buf + meta_at, meta_end - meta_at);
	e->head_len = (uint16_t)head;
	e->meta_len = (uint16_t)(meta_end - meta_at);
	snprintf(e->activity_name, sizeof(e->activity_name), "%s", name);
	e->activity_id = activity_id;
	e->severity_id = severity_id;
	e->cls = cls;
	return e;
}

void ks_ocsf_begin(struct ks_pipeline *pl, const struct ks_ocsf_class *cls, int activity_id, const char *activity_name,
                   int severity_id, int64_t time_ms)
{
	struct ks_jw *w = &pl->jw;
	const struct begin_prefix *e;
	char uid[40], *p;

	pl->seq++;
	ks_fmt_hex64(uid, ks_mix64(pl->instance));
	ks_fmt_hex64(uid + 16, ks_mix64(pl->instance ^ ks_mix64(pl->seq)));
	if (!pl->device_json)
		encode_device(pl);
	pl->n_obs = 0;
	pl->obs_used = 0;

	e = begin_prefix(pl, cls, activity_id, activity_name ? activity_name : "", severity_id);
	ks_jw_reset(w);
	ks_jw_obj_begin(w);
	/* the copies need at most: head, time, offset, meta, uid, sequence, product */
	if (!e || !ks_jw_reserve(w, e->head_len + e->meta_len + 20 + 40 + 32 + 40 + sizeof(begin_product))) {
		begin_members(pl, cls, activity_id, activity_name, severity_id, time_ms, tz_offset(pl, time_ms), uid);
		goto device;
	}
	p = w->buf; /* (over the '{' just written: the head starts with it) */
	p = put_bytes(p, e->text, e->head_len);
	p += ks_fmt_i64(p, time_ms);
	p = put_bytes(p, ",\"timezone_offset\":", sizeof(",\"timezone_offset\":") - 1);
	p += ks_fmt_i64(p, tz_offset(pl, time_ms));
	p = put_bytes(p, e->text + e->head_len, e->meta_len);
	p = put_bytes(p, uid, 32);
	p = put_bytes(p, "\",\"sequence\":", sizeof("\",\"sequence\":") - 1);
	p += ks_fmt_u64(p, pl->seq);
	*p++ = ',';
	p = put_bytes(p, begin_product, sizeof(begin_product) - 1);
	*p++ = '}';
	*p = '\0';
	w->len = (size_t)(p - w->buf);
	/* the writer's state after the member-by-member path: inside the event object, metadata closed */
	w->depth = 1;
	w->need_comma[1] = true;
	w->key_pending = false;
device:
	if (pl->device_json && !cls->own_device)
		ks_jw_member_raw(w, pl->device_json, pl->device_len);
}

void ks_ocsf_observe(struct ks_pipeline *pl, const char *name, enum ks_ocsf_obs_type type, const char *value)
{
	size_t n = value ? strlen(value) : 0;
	struct ks_obs *o;

	if (!n || pl->n_obs == KS_PIPELINE_OBS_MAX || n > sizeof(pl->obs_text) - pl->obs_used)
		return;
	o = &pl->obs[pl->n_obs++];
	o->name = name;
	o->type_id = type;
	o->off = (uint16_t)pl->obs_used;
	o->len = (uint16_t)n;
	memcpy(pl->obs_text + pl->obs_used, value, n);
	pl->obs_used += n;
}

/* One observable, {"name":"...","type_id":N,"value":"..."}, in one reservation when its name (an attribute
 * path, a literal) needs no escaping, as it never does; else member by member. */
static void observable(struct ks_jw *w, const struct ks_obs *o, const char *value)
{
	static const char name_key[] = "{\"name\":\"", type_key[] = "\",\"type_id\":", value_key[] = ",\"value\":";
	size_t n = strlen(o->name);
	char *p;

	ks_jw_sep(w);
	if (ks_json_plain_len(o->name, n) != n ||
	    !ks_jw_reserve(w, sizeof(name_key) + n + sizeof(type_key) + 20 + sizeof(value_key) +
	                          KS_JW_STR_MAX((size_t)o->len) + 1)) {
		w->key_pending = true; /* (the separator is written: the object opens without another) */
		ks_jw_obj_begin(w);
		ks_jw_kcstr(w, "name", o->name);
		ks_jw_ki64(w, "type_id", o->type_id);
		ks_jw_kstr(w, "value", value, o->len);
		ks_jw_obj_end(w);
		return;
	}
	p = w->buf + w->len;
	p = put_bytes(p, name_key, sizeof(name_key) - 1);
	p = put_bytes(p, o->name, n);
	p = put_bytes(p, type_key, sizeof(type_key) - 1);
	p += ks_fmt_i64(p, o->type_id);
	p = put_bytes(p, value_key, sizeof(value_key) - 1);
	w->len = (size_t)(p - w->buf);
	ks_jw_str_at(w, value, o->len);
	w->buf[w->len++] = '}';
	w->buf[w->len] = '\0';
}

void ks_ocsf_end(struct ks_pipeline *pl)
{
	struct ks_jw *w = &pl->jw;
	int i;

	if (pl->n_obs) {
		ks_jw_key(w, "observables");
		ks_jw_arr_begin(w);
		for (i = 0; i < pl->n_obs; i++)
			observable(w, &pl->obs[i], pl->obs_text + pl->obs[i].off);
		ks_jw_arr_end(w);
	}
	ks_jw_obj_end(w);
}

void ks_ocsf_message(struct ks_pipeline *pl, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = ks_ocsf_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	ks_jw_kstr(&pl->jw, "message", msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
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

int ks_ocsf_user_type(uint32_t uid)
{
	if (uid == 0)
		return KS_OCSF_USER_ADMIN;
	/* Debian's and Fedora's SYS_UID_MAX is 999; 65534 is nobody */
	return uid < 1000 || uid == 65534 ? KS_OCSF_USER_SYSTEM : KS_OCSF_USER_USER;
}

void ks_ocsf_user(struct ks_pipeline *pl, const char *key, uint32_t uid)
{
	struct ks_jw *w = &pl->jw;
	const char *name = ks_users_name(pl->users, uid);
	char num[24];
	size_t n = ks_fmt_u64(num, uid); /* snprintf was a third of this function */

	ks_jw_key(w, key);
	ks_jw_obj_begin(w);
	ks_jw_kstr(w, "uid", num, n);
	if (name)
		ks_jw_kcstr(w, "name", name);
	ks_jw_ku64(w, "type_id", ks_ocsf_user_type(uid));
	ks_jw_obj_end(w);
}

const char *ks_ocsf_proc_name(const struct ks_proc *p, char buf[KS_COMM_LEN + 1])
{
	if (p->exe && p->exe[0])
		return ks_basename(p->exe);
	memcpy(buf, p->comm, KS_COMM_LEN);
	buf[strnlen(p->comm, KS_COMM_LEN)] = '\0';
	return buf;
}

static void process_core(struct ks_pipeline *pl, const struct ks_proc *p)
{
	struct ks_jw *w = &pl->jw;
	char cmd[KS_ARGV_MAX + 1];
	/* the executable's length and name part found once (ks_ocsf_proc_name and ks_basename each looked) */
	size_t n, exe_len = p->exe ? strlen(p->exe) : 0;
	const char *slash = exe_len ? memrchr(p->exe, '/', exe_len) : NULL;
	const char *base = slash ? slash + 1 : p->exe;
	size_t base_len = exe_len - (size_t)(base - p->exe);

	ks_jw_ku64(w, "pid", p->pid);
	ks_jw_kcstr(w, "uid", p->id);
	if (exe_len)
		ks_jw_kstr(w, "name", base, base_len);
	else if (p->exe || p->comm[0])
		ks_jw_kstr(w, "name", p->comm, strnlen(p->comm, KS_COMM_LEN));
	n = ks_proc_cmdline(p, cmd, sizeof(cmd));
	if (n)
		ks_jw_kstr(w, "cmd_line", cmd, n);
	if (p->exe) {
		ks_jw_key(w, "file");
		ks_jw_obj_begin(w);
		ks_jw_kstr(w, "path", p->exe, exe_len);
		ks_jw_kstr(w, "name", base, base_len);
		ks_jw_ku64(w, "type_id", 1); /* Regular File */
		ks_jw_obj_end(w);
	}
	if (p->creds.uid != KS_NO_ID) /* unknown for a process the table never had */
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
		char sid[21];
		size_t sn = ks_fmt_u64(sid, p->creds.sessionid);

		ks_jw_key(w, "session");
		ks_jw_obj_begin(w);
		ks_jw_kstr(w, "uid", sid, sn);
		ks_jw_obj_end(w);
	}
	parent = ks_proc_parent(pl->procs, p);
	if (!parent && !p->ppid)
		goto ancestry; /* the parent is not known at all (pid 0 is no process) */
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
ancestry:
	/* the ancestors known to the table, parent first (OCSF 1.4+: ancestry replaces lineage) */
	n = ks_proc_lineage(pl->procs, p, lineage, KS_LINEAGE_MAX);
	ks_jw_key(w, "ancestry");
	ks_jw_arr_begin(w);
	for (i = 0; i < n; i++) {
		const struct ks_proc *a = lineage[i];

		ks_jw_obj_begin(w);
		ks_jw_ku64(w, "pid", a->pid);
		ks_jw_kcstr(w, "uid", a->id);
		if (a->exe && a->exe[0]) {
			ks_jw_kcstr(w, "name", ks_basename(a->exe));
			ks_jw_kcstr(w, "path", a->exe);
		} else {
			ks_jw_kstr(w, "name", a->comm, strnlen(a->comm, sizeof(a->comm)));
		}
		ks_jw_obj_end(w);
	}
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
		/* with its parent and ancestry; the same for every event of the process until the table changes */
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
	if (p) {
		char comm[KS_COMM_LEN + 1];

		ks_ocsf_observe(pl, "actor.process.name", KS_OCSF_OBS_PROCESS_NAME, ks_ocsf_proc_name(p, comm));
	}
	ks_ocsf_observe(pl, "actor.user.name", KS_OCSF_OBS_USER_NAME,
	                ks_users_name(pl->users, loginuid != KS_NO_ID ? loginuid : uid));
}
