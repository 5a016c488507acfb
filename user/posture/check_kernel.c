// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Kernel state: sysctls, lockdown, mandatory access control, other kernel files, mount options. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "env.h"

struct json_object *ks_param(struct json_object *params, const char *key)
{
	struct json_object *v;

	return params && json_object_object_get_ex(params, key, &v) ? v : NULL;
}

int ks_need_str(struct json_object *params, const char *key, char *err, size_t errlen)
{
	if (!ks_param_str(params, key)) {
		snprintf(err, errlen, "params.%s: a string is required", key);
		return -1;
	}
	return 0;
}

int ks_opt_strv(struct json_object *params, const char *key, char *err, size_t errlen)
{
	struct json_object *v = ks_param(params, key);

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_array) || !json_object_array_length(v)) {
		snprintf(err, errlen, "params.%s: a non-empty list is required", key);
		return -1;
	}
	for (size_t i = 0; i < json_object_array_length(v); i++)
		if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string)) {
			snprintf(err, errlen, "params.%s[%zu]: a string is required", key, i);
			return -1;
		}
	return 0;
}

/* "a, b or c" from a list of allowed values. */
static void join(struct json_object *arr, const char *last, char *out, size_t len)
{
	size_t n = json_object_array_length(arr), off = 0;

	out[0] = 0;
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%s",
		                        i == 0       ? ""
		                        : i + 1 == n ? last
		                                     : ", ",
		                        json_object_get_string(json_object_array_get_idx(arr, i)));
}

/* A value checked against params.allowed (one of) or params.min (a number at least). */
static int validate_expect(struct json_object *params, char *err, size_t errlen)
{
	struct json_object *min = ks_param(params, "min");

	if (ks_opt_strv(params, "allowed", err, errlen))
		return -1;
	if (!!min == !!ks_param(params, "allowed")) {
		snprintf(err, errlen, "params: exactly one of 'allowed' (a list) or 'min' (a number) is required");
		return -1;
	}
	if (min && (!json_object_is_type(min, json_type_string) || !*json_object_get_string(min) ||
	            strspn(json_object_get_string(min), "0123456789") != strlen(json_object_get_string(min)))) {
		snprintf(err, errlen, "params.min: a whole number is required");
		return -1;
	}
	return 0;
}

static bool expect_ok(struct json_object *params, const char *value, struct ks_check_result *r)
{
	struct json_object *min = ks_param(params, "min");
	char buf[256];

	if (min) {
		char *end;
		long v = strtol(value, &end, 10);

		ks_result_expected(r, ">= %s", json_object_get_string(min));
		return *value && !*end && v >= atol(json_object_get_string(min));
	}
	join(ks_param(params, "allowed"), " or ", buf, sizeof(buf));
	ks_result_expected(r, "%s", buf);
	return ks_param_in(ks_param(params, "allowed"), value);
}

/* ---- sysctl: /proc/sys/<key with dots as slashes> ---- */

static int sysctl_validate(struct json_object *params, char *err, size_t errlen)
{
	const char *key;

	if (ks_need_str(params, "key", err, errlen) || validate_expect(params, err, errlen))
		return -1;
	key = ks_param_str(params, "key");
	if (strstr(key, "..") || strchr(key, '/') ||
	    strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(key)) {
		snprintf(err, errlen, "params.key '%s': not a sysctl name", key);
		return -1;
	}
	return 0;
}

static int sysctl_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	const char *key = ks_param_str(params, "key");
	char path[512], value[256];
	int rc;

	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	for (char *p = path + 10; *p; p++)
		if (*p == '.')
			*p = '/';
	rc = ks_root_line(e, path, value, sizeof(value));
	if (rc == -ENOENT)
		return ks_result_na(r, "%s does not exist in this kernel", key);
	if (rc)
		return ks_result_error(r, "cannot read %s: %s", path, strerror(-rc));
	/* multi-value sysctls use tabs; compare the first */
	value[strcspn(value, "\t ")] = 0;
	ks_result_actual(r, "%s", value);
	return expect_ok(params, value, r) ? KS_CHK_PASS : KS_CHK_FAIL;
}

const struct ks_evaluator ks_eval_sysctl = {"sysctl", 0, sysctl_validate, sysctl_run, NULL};

/* ---- a kernel file's first line (taint, module loading, ...) ---- */

static int kfile_validate(struct json_object *params, char *err, size_t errlen)
{
	return ks_need_str(params, "path", err, errlen) || validate_expect(params, err, errlen) ? -1 : 0;
}

static int kfile_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	const char *path = ks_param_str(params, "path");
	char value[256];
	int rc = ks_root_line(e, path, value, sizeof(value));

	if (rc == -ENOENT)
		return ks_result_na(r, "%s does not exist on this host", path);
	if (rc)
		return ks_result_error(r, "cannot read %s: %s", path, strerror(-rc));
	ks_result_actual(r, "%s", value);
	return expect_ok(params, value, r) ? KS_CHK_PASS : KS_CHK_FAIL;
}

const struct ks_evaluator ks_eval_kernel_file = {"kernel_file", 0, kfile_validate, kfile_run, NULL};

/* ---- lockdown: "none [integrity] confidentiality" ---- */

static int lockdown_validate(struct json_object *params, char *err, size_t errlen)
{
	if (!ks_param(params, "allowed")) {
		snprintf(err, errlen, "params.allowed: a list is required");
		return -1;
	}
	return ks_opt_strv(params, "allowed", err, errlen);
}

static int lockdown_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	char line[256], mode[64] = "";
	char *open_b, *close_b;
	int rc = ks_root_line(e, "/sys/kernel/security/lockdown", line, sizeof(line));

	if (rc == -ENOENT) {
		/* securityfs not mounted, or a kernel without the lockdown LSM: "none" either way */
		snprintf(mode, sizeof(mode), "none");
	} else if (rc) {
		return ks_result_error(r, "cannot read /sys/kernel/security/lockdown: %s", strerror(-rc));
	} else {
		open_b = strchr(line, '[');
		close_b = open_b ? strchr(open_b, ']') : NULL;
		if (!close_b)
			return ks_result_error(r, "unexpected lockdown text '%s'", line);
		snprintf(mode, sizeof(mode), "%.*s", (int)(close_b - open_b - 1), open_b + 1);
	}
	ks_result_actual(r, "%s", mode);
	return expect_ok(params, mode, r) ? KS_CHK_PASS : KS_CHK_FAIL;
}

const struct ks_evaluator ks_eval_lockdown = {"lockdown", 0, lockdown_validate, lockdown_run, NULL};

/* ---- mandatory access control: AppArmor or SELinux enforcing ---- */

static int mac_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	char v[64];
	(void)params;

	ks_result_expected(r, "AppArmor enabled with profiles loaded, or SELinux enforcing");
	if (!ks_root_line(e, "/sys/fs/selinux/enforce", v, sizeof(v))) {
		ks_result_actual(r, "SELinux %s", !strcmp(v, "1") ? "enforcing" : "permissive");
		return !strcmp(v, "1") ? KS_CHK_PASS : KS_CHK_FAIL;
	}
	if (!ks_root_line(e, "/sys/module/apparmor/parameters/enabled", v, sizeof(v)) && !strcmp(v, "Y")) {
		char *profiles;
		size_t len = 0, n = 0;

		if (ks_root_read(e, "/sys/kernel/security/apparmor/profiles", &profiles, &len)) {
			ks_result_actual(r, "AppArmor enabled, profiles unreadable (securityfs not mounted?)");
			return KS_CHK_FAIL;
		}
		for (size_t i = 0; i < len; i++)
			n += profiles[i] == '\n';
		free(profiles);
		ks_result_actual(r, "AppArmor enabled, %zu profiles", n);
		return n ? KS_CHK_PASS : KS_CHK_FAIL;
	}
	ks_result_actual(r, "neither AppArmor nor SELinux is active");
	return KS_CHK_FAIL;
}

const struct ks_evaluator ks_eval_mac = {"mac", 0, NULL, mac_run, NULL};

/* ---- mount options: a separate mount with the options set ---- */

static int mount_validate(struct json_object *params, char *err, size_t errlen)
{
	if (ks_need_str(params, "path", err, errlen) || ks_opt_strv(params, "options", err, errlen))
		return -1;
	if (!ks_param(params, "options")) {
		snprintf(err, errlen, "params.options: a list is required");
		return -1;
	}
	return 0;
}

static int mount_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	const char *want = ks_param_str(params, "path");
	struct json_object *opts = ks_param(params, "options");
	char *text, *line, *save = NULL, found[512] = "", missing[256] = "", want_s[256];
	int rc = ks_root_read(e, "/proc/self/mounts", &text, NULL);
	size_t off = 0;

	join(opts, ", ", want_s, sizeof(want_s));
	ks_result_expected(r, "a separate mount with %s", want_s);
	if (rc)
		return ks_result_error(r, "cannot read /proc/self/mounts: %s", strerror(-rc));
	/* the last mount on the path is the one in effect */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char dev[256], dir[512], type[64], o[512];

		if (sscanf(line, "%255s %511s %63s %511s", dev, dir, type, o) == 4 && !strcmp(dir, want))
			snprintf(found, sizeof(found), "%s", o);
	}
	free(text);
	if (!found[0]) {
		ks_result_actual(r, "not a separate mount");
		return KS_CHK_FAIL;
	}
	for (size_t i = 0; i < json_object_array_length(opts); i++) {
		const char *o = json_object_get_string(json_object_array_get_idx(opts, i));
		char padded[520], needle[80];

		snprintf(padded, sizeof(padded), ",%s,", found);
		snprintf(needle, sizeof(needle), ",%s,", o);
		if (!strstr(padded, needle))
			off += (size_t)snprintf(missing + off, sizeof(missing) - off, "%s%s", off ? ", " : "", o);
		if (off >= sizeof(missing))
			break;
	}
	if (missing[0]) {
		ks_result_actual(r, "mounted with %s (missing %s)", found, missing);
		return KS_CHK_FAIL;
	}
	ks_result_actual(r, "mounted with %s", found);
	return KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_mount = {"mount", 0, mount_validate, mount_run, NULL};
