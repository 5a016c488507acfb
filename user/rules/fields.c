// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The field table (name, type) as data, the view's setters and the OCSF activity names per class. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

struct ks_rfield_def {
	const char *name;
	enum ks_rtype type;
};

/* Indexed by enum ks_rfield; names are the OCSF paths of kansoku's events (docs/rules.md, Fields). */
static const struct ks_rfield_def fields[KS_RF_MAX] = {
    [KS_RF_CLASS_UID] = {"class_uid", KS_RT_INT},
    [KS_RF_ACTIVITY_ID] = {"activity_id", KS_RT_INT},
    [KS_RF_ACTIVITY_NAME] = {"activity_name", KS_RT_STR},
    [KS_RF_SEVERITY_ID] = {"severity_id", KS_RT_INT},
    [KS_RF_STATUS_ID] = {"status_id", KS_RT_INT},
    [KS_RF_STATUS_DETAIL] = {"status_detail", KS_RT_STR},
    [KS_RF_COUNT] = {"count", KS_RT_INT},
    [KS_RF_EXIT_CODE] = {"exit_code", KS_RT_INT},
    [KS_RF_PROC_PID] = {"process.pid", KS_RT_INT},
    [KS_RF_PROC_UID] = {"process.uid", KS_RT_STR},
    [KS_RF_PROC_NAME] = {"process.name", KS_RT_STR},
    [KS_RF_PROC_CMDLINE] = {"process.cmd_line", KS_RT_STR},
    [KS_RF_PROC_ARGS] = {"process.args", KS_RT_LIST},
    [KS_RF_PROC_EXE] = {"process.file.path", KS_RT_STR},
    [KS_RF_PROC_EXE_NAME] = {"process.file.name", KS_RT_STR},
    [KS_RF_PROC_SCRIPT] = {"process.script_path", KS_RT_STR},
    [KS_RF_PROC_EXE_DELETED] = {"process.exe_deleted", KS_RT_BOOL},
    [KS_RF_PROC_EXE_MEMFD] = {"process.exe_memfd", KS_RT_BOOL},
    [KS_RF_PROC_USER_UID] = {"process.user.uid", KS_RT_INT},
    [KS_RF_PROC_USER_NAME] = {"process.user.name", KS_RT_STR},
    [KS_RF_PROC_EUID] = {"process.euid", KS_RT_INT},
    [KS_RF_PROC_GID] = {"process.gid", KS_RT_INT},
    [KS_RF_PROC_LOGINUID] = {"process.loginuid", KS_RT_INT},
    [KS_RF_PROC_TTY] = {"process.tty", KS_RT_STR},
    [KS_RF_PROC_HAS_TTY] = {"process.has_tty", KS_RT_BOOL},
    [KS_RF_PROC_CGROUP] = {"process.cgroup", KS_RT_STR},
    [KS_RF_PROC_UNIT] = {"process.unit", KS_RT_STR},
    [KS_RF_PARENT_PID] = {"process.parent_process.pid", KS_RT_INT},
    [KS_RF_PARENT_NAME] = {"process.parent_process.name", KS_RT_STR},
    [KS_RF_PARENT_EXE] = {"process.parent_process.file.path", KS_RT_STR},
    [KS_RF_PARENT_CMDLINE] = {"process.parent_process.cmd_line", KS_RT_STR},
    [KS_RF_PARENT_USER_UID] = {"process.parent_process.user.uid", KS_RT_INT},
    [KS_RF_PROC_LINEAGE] = {"process.lineage", KS_RT_LIST},
    [KS_RF_ACTOR_USER_UID] = {"actor.user.uid", KS_RT_INT},
    [KS_RF_ACTOR_USER_NAME] = {"actor.user.name", KS_RT_STR},
    [KS_RF_FILE_PATH] = {"file.path", KS_RT_STR},
    [KS_RF_FILE_NAME] = {"file.name", KS_RT_STR},
    [KS_RF_FILE_TYPE_ID] = {"file.type_id", KS_RT_INT},
    [KS_RF_FILE_RESULT_PATH] = {"file_result.path", KS_RT_STR},
    [KS_RF_SRC_IP] = {"src_endpoint.ip", KS_RT_IP},
    [KS_RF_SRC_PORT] = {"src_endpoint.port", KS_RT_INT},
    [KS_RF_DST_IP] = {"dst_endpoint.ip", KS_RT_IP},
    [KS_RF_DST_PORT] = {"dst_endpoint.port", KS_RT_INT},
    [KS_RF_DIRECTION] = {"connection_info.direction", KS_RT_STR},
    [KS_RF_DIRECTION_ID] = {"connection_info.direction_id", KS_RT_INT},
    [KS_RF_PROTOCOL_NAME] = {"connection_info.protocol_name", KS_RT_STR},
    [KS_RF_QUERY_HOSTNAME] = {"query.hostname", KS_RT_STR},
    [KS_RF_QUERY_TYPE] = {"query.type", KS_RT_STR},
    [KS_RF_PROC_STDIO_SOCKET] = {"process.stdio_socket", KS_RT_BOOL},
    [KS_RF_FILE_SETUID] = {"file.setuid", KS_RT_BOOL},
    [KS_RF_FILE_SETGID] = {"file.setgid", KS_RT_BOOL},
    [KS_RF_SEVERITY] = {"severity", KS_RT_STR},
    [KS_RF_FINDING_UID] = {"finding_info.uid", KS_RT_STR},
    [KS_RF_FINDING_TITLE] = {"finding_info.title", KS_RT_STR},
    [KS_RF_FINDING_DESC] = {"finding_info.desc", KS_RT_STR},
    [KS_RF_COMPLIANCE_CONTROL] = {"compliance.control", KS_RT_STR},
    [KS_RF_COMPLIANCE_STATUS] = {"compliance.status", KS_RT_STR},
    [KS_RF_COMPLIANCE_STATUS_ID] = {"compliance.status_id", KS_RT_INT},
    [KS_RF_POSTURE_AREA] = {"unmapped.area", KS_RT_STR},
    [KS_RF_POSTURE_SEVERITY] = {"unmapped.severity", KS_RT_STR},
    [KS_RF_POSTURE_ITEM] = {"unmapped.item", KS_RT_STR},
    [KS_RF_POSTURE_EXPECTED] = {"unmapped.expected", KS_RT_STR},
    [KS_RF_POSTURE_ACTUAL] = {"unmapped.actual", KS_RT_STR},
    [KS_RF_POSTURE_AT_START] = {"unmapped.found_at_start", KS_RT_BOOL},
};

const char *ks_rseverity_caption(int64_t severity_id)
{
	enum { KS_RSEV_FATAL = 6, KS_RSEV_OTHER = 99 }; /* OCSF severity_id */
	static const char *const captions[KS_RSEV_FATAL + 1] = {"Unknown", "Informational", "Low",  "Medium",
	                                                        "High",    "Critical",      "Fatal"};

	if (severity_id == KS_RSEV_OTHER)
		return "Other";
	return severity_id >= 0 && severity_id <= KS_RSEV_FATAL ? captions[severity_id] : "Unknown";
}

const char *ks_rfield_name(enum ks_rfield f)
{
	return (unsigned)f < KS_RF_MAX ? fields[f].name : "?";
}

enum ks_rtype ks_rfield_type(enum ks_rfield f)
{
	return (unsigned)f < KS_RF_MAX ? fields[f].type : KS_RT_STR;
}

const char *ks_rtype_name(enum ks_rtype t)
{
	switch (t) {
	case KS_RT_STR:
		return "string";
	case KS_RT_INT:
		return "int";
	case KS_RT_IP:
		return "ip";
	case KS_RT_BOOL:
		return "bool";
	case KS_RT_LIST:
		return "list";
	}
	return "?";
}

int ks_rfield_lookup(const char *name, size_t len)
{
	int i;

	for (i = 0; i < KS_RF_MAX; i++)
		if (strlen(fields[i].name) == len && !memcmp(fields[i].name, name, len))
			return i;
	return -1;
}

void ks_rview_reset(struct ks_rview *v)
{
	memset(v, 0, sizeof(*v));
}

void ks_rview_str(struct ks_rview *v, enum ks_rfield f, const char *s)
{
	if (s)
		ks_rview_strn(v, f, s, strlen(s));
}

void ks_rview_strn(struct ks_rview *v, enum ks_rfield f, const char *s, size_t len)
{
	v->f[f].set = true;
	v->f[f].s = s;
	v->f[f].len = (uint32_t)len;
}

void ks_rview_int(struct ks_rview *v, enum ks_rfield f, int64_t i)
{
	v->f[f].set = true;
	v->f[f].i = i;
}

void ks_rview_bool(struct ks_rview *v, enum ks_rfield f, bool b)
{
	v->f[f].set = true;
	v->f[f].b = b;
}

void ks_rview_list(struct ks_rview *v, enum ks_rfield f, const char *const *list, uint32_t n)
{
	v->f[f].set = true;
	v->f[f].list = list;
	v->f[f].len = n;
}

void ks_rview_ip(struct ks_rview *v, enum ks_rfield f, int family, const void *addr)
{
	struct ks_rval *x = &v->f[f];

	x->set = true;
	memset(&x->ip, 0, sizeof(x->ip));
	x->ip.family = family == 6 ? 6 : 4;
	memcpy(x->ip.addr, addr, family == 6 ? 16 : 4);
}

bool ks_rview_ip_str(struct ks_rview *v, enum ks_rfield f, const char *s)
{
	struct ks_rip ip;

	if (!s || !ks_ip_parse(s, &ip))
		return false;
	v->f[f].set = true;
	v->f[f].ip = ip;
	return true;
}

/* The last component of the path that names a unit (systemd puts a service's processes in
 * .../NAME.service, a login session in .../session-N.scope). */
bool ks_rules_unit_from_cgroup(const char *cgroup, char *out, size_t outlen)
{
	static const char *const suffixes[] = {".service", ".scope", ".socket", ".mount", ".swap", ".slice"};
	const char *p = cgroup, *best = NULL, *end;
	size_t best_len = 0, i, n;

	while (p && *p) {
		while (*p == '/')
			p++;
		end = strchr(p, '/');
		n = end ? (size_t)(end - p) : strlen(p);
		for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
			size_t sl = strlen(suffixes[i]);

			/* a slice only when nothing more specific follows */
			if (n > sl && !memcmp(p + n - sl, suffixes[i], sl) && (i < 5 || !best)) {
				best = p;
				best_len = n;
			}
		}
		p = end;
	}
	if (!best || best_len + 1 > outlen)
		return false;
	memcpy(out, best, best_len);
	out[best_len] = '\0';
	return true;
}

struct ks_activity_def {
	int64_t class_uid;
	int id;
	const char *name;
};

/* As user/process.c, file.c and net.c name them. */
static const struct ks_activity_def activities[] = {
    {1007, 1, "Launch"},   {1007, 2, "Terminate"}, {1001, 1, "Create"},       {1001, 2, "Read"},    {1001, 3, "Update"},
    {1001, 4, "Delete"},   {1001, 5, "Rename"},    {1001, 7, "Set Security"}, {4001, 1, "Open"},    {4001, 2, "Close"},
    {4001, 3, "Reset"},    {4001, 4, "Fail"},      {4001, 5, "Refuse"},       {4001, 6, "Traffic"}, {4001, 7, "Listen"},
    {4001, 99, "Connect"}, {4003, 1, "Query"},     {2003, 1, "Create"},       {2003, 2, "Update"},  {2003, 3, "Close"},
    {6002, 3, "Start"},    {6002, 4, "Stop"},      {6002, 99, "Heartbeat"},   {1007, 3, "Open"},    {1007, 4, "Inject"},
    {1002, 1, "Load"},     {1002, 2, "Unload"},
};

int ks_activity_id(int64_t class_uid, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(activities) / sizeof(activities[0]); i++)
		if (activities[i].class_uid == class_uid && strlen(activities[i].name) == len &&
		    !memcmp(activities[i].name, name, len))
			return activities[i].id;
	return -1;
}

/* The value as text for templates and step summaries; returns bytes written ("" when absent). */
size_t ks_rval_format(int field, const struct ks_rval *val, char *out, size_t len)
{
	size_t o = 0;
	uint32_t i;
	int n;

	if (!len)
		return 0;
	out[0] = '\0';
	if (!val->set)
		return 0;
	switch (ks_rfield_type((enum ks_rfield)field)) {
	case KS_RT_STR:
		n = snprintf(out, len, "%s", val->s);
		break;
	case KS_RT_INT:
		n = snprintf(out, len, "%" PRId64, val->i);
		break;
	case KS_RT_BOOL:
		n = snprintf(out, len, "%s", val->b ? "true" : "false");
		break;
	case KS_RT_IP:
		n = inet_ntop(val->ip.family == 6 ? AF_INET6 : AF_INET, val->ip.addr, out, (socklen_t)len)
		        ? (int)strlen(out)
		        : 0;
		break;
	case KS_RT_LIST:
		for (i = 0; i < val->len && o + 1 < len; i++) {
			n = snprintf(out + o, len - o, "%s%s", i ? "," : "", val->list[i]);
			o += n > 0 ? (size_t)n : 0;
		}
		return o < len ? o : len - 1;
	default:
		n = 0;
	}
	if (n < 0)
		return 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}
