// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Files: permissions of critical files, files that must not exist, and what the filesystem walk finds
 * (world-writable directories without the sticky bit, world-writable files, unowned files, SUID/SGID
 * binaries that no package installed). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "env.h"

static int paths_validate(struct json_object *params, char *err, size_t errlen)
{
	if (!ks_param(params, "paths")) {
		snprintf(err, errlen, "params.paths: a list is required");
		return -1;
	}
	return ks_opt_strv(params, "paths", err, errlen);
}

/* ---- file_mode: params.paths (globs), max_mode (octal), owner, groups ---- */

static int mode_validate(struct json_object *params, char *err, size_t errlen)
{
	const char *m = ks_param_str(params, "max_mode");

	if (paths_validate(params, err, errlen) || ks_opt_strv(params, "groups", err, errlen))
		return -1;
	if (!m || strlen(m) != 4 || strspn(m, "01234567") != 4) {
		snprintf(err, errlen, "params.max_mode: four octal digits are required (e.g. \"0640\")");
		return -1;
	}
	return 0;
}

static const char *user_name(struct ks_posture_env *e, uint32_t uid, char *buf, size_t len)
{
	size_t n;
	int err;
	const struct ks_pw *pw = ks_facts_passwd(e, &n, &err);

	for (size_t i = 0; pw && i < n; i++)
		if (pw[i].uid == uid)
			return pw[i].name;
	snprintf(buf, len, "%u", uid);
	return buf;
}

static const char *group_name(struct ks_posture_env *e, uint32_t gid, char *buf, size_t len)
{
	size_t n;
	int err;
	const struct ks_grp *gr = ks_facts_group(e, &n, &err);

	for (size_t i = 0; gr && i < n; i++)
		if (gr[i].gid == gid)
			return gr[i].name;
	snprintf(buf, len, "%u", gid);
	return buf;
}

static int mode_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	struct json_object *paths = ks_param(params, "paths"), *groups = ks_param(params, "groups");
	const char *owner = ks_param_str(params, "owner");
	unsigned max = (unsigned)strtoul(ks_param_str(params, "max_mode"), NULL, 8);
	size_t seen = 0;

	if (!owner)
		owner = "root";
	ks_result_expected(r, "mode %04o or stricter, owner %s%s%s", max, owner, groups ? ", group " : "",
	                   groups ? json_object_to_json_string_ext(groups, JSON_C_TO_STRING_PLAIN) : "");
	for (size_t p = 0; p < json_object_array_length(paths); p++) {
		char **files;
		size_t n;
		int rc = ks_root_glob(e, json_object_get_string(json_object_array_get_idx(paths, p)), &files, &n);

		if (rc)
			return ks_result_error(r, "cannot expand %s: %s",
			                       json_object_get_string(json_object_array_get_idx(paths, p)),
			                       strerror(-rc));
		for (size_t i = 0; i < n; i++) {
			struct stat st;
			char ub[16], gb[16];
			const char *u, *g;

			rc = ks_root_stat(e, files[i], &st, false);
			if (rc == -ENOENT)
				continue;
			if (rc) {
				ks_result_error(r, "cannot stat %s: %s", files[i], strerror(-rc));
				ks_strv_free(files, n);
				return KS_CHK_ERROR;
			}
			seen++;
			u = user_name(e, st.st_uid, ub, sizeof(ub));
			g = group_name(e, st.st_gid, gb, sizeof(gb));
			if ((st.st_mode & 07777 & ~max) || strcmp(u, owner) || (groups && !ks_param_in(groups, g)))
				ks_result_item(r, files[i], "%s is %04o %s:%s", files[i], st.st_mode & 07777, u, g);
			else if (!r->actual[0])
				ks_result_actual(r, "%s is %04o %s:%s", files[i], st.st_mode & 07777, u, g);
		}
		ks_strv_free(files, n);
	}
	if (!seen)
		return ks_result_na(r, "none of the files exist");
	if (r->n_items)
		r->actual[0] = 0; /* the failing items say it */
	return r->n_items ? KS_CHK_FAIL : KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_file_mode = {"file_mode", 0, mode_validate, mode_run, NULL};

/* ---- absent: none of params.paths (globs) exists ---- */

static int absent_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	struct json_object *paths = ks_param(params, "paths");

	ks_result_expected(r, "absent: %s", json_object_to_json_string_ext(paths, JSON_C_TO_STRING_PLAIN));
	for (size_t p = 0; p < json_object_array_length(paths); p++) {
		char **files;
		size_t n;
		int rc = ks_root_glob(e, json_object_get_string(json_object_array_get_idx(paths, p)), &files, &n);

		if (rc)
			return ks_result_error(r, "cannot expand %s: %s",
			                       json_object_get_string(json_object_array_get_idx(paths, p)),
			                       strerror(-rc));
		for (size_t i = 0; i < n; i++)
			ks_result_item(r, files[i], "%s exists", files[i]);
		ks_strv_free(files, n);
	}
	return r->n_items ? KS_CHK_FAIL : KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_absent = {"absent", 0, paths_validate, absent_run, NULL};

/* ---- walk: params.find ww_dir | ww_file | unowned ---- */

static const char *const walk_kinds[] = {"ww_dir", "ww_file", "unowned", NULL};
static const unsigned walk_bits[] = {KS_HIT_WW_DIR, KS_HIT_WW_FILE, KS_HIT_UNOWNED};

static int walk_validate(struct json_object *params, char *err, size_t errlen)
{
	const char *f = ks_param_str(params, "find");

	for (int i = 0; f && walk_kinds[i]; i++)
		if (!strcmp(f, walk_kinds[i]))
			return ks_opt_strv(params, "except", err, errlen);
	snprintf(err, errlen, "params.find: ww_dir, ww_file or unowned");
	return -1;
}

static bool under(const char *path, struct json_object *prefixes)
{
	for (size_t i = 0; prefixes && i < json_object_array_length(prefixes); i++) {
		const char *p = json_object_get_string(json_object_array_get_idx(prefixes, i));
		size_t n = strlen(p);

		if (!strncmp(path, p, n) && (path[n] == '/' || !path[n]))
			return true;
	}
	return false;
}

static int walk_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	const char *f = ks_param_str(params, "find");
	struct json_object *except = ks_param(params, "except");
	const struct ks_walk *w = ks_facts_walk(e);
	unsigned bit = 0;
	int k;

	for (k = 0; walk_kinds[k]; k++)
		if (!strcmp(f, walk_kinds[k]))
			bit = walk_bits[k];
	k = __builtin_ctz(bit);
	ks_result_expected(r, "%s",
	                   bit == KS_HIT_WW_DIR    ? "every world-writable directory has the sticky bit"
	                   : bit == KS_HIT_WW_FILE ? "no world-writable files"
	                                           : "every file owned by a known user and group");
	if (w->err[0])
		return ks_result_error(r, "%s", w->err);
	if (!w->done)
		return ks_result_error(r, "the first filesystem walk has not finished yet");
	for (size_t i = 0; i < w->n; i++)
		if (w->hits[i].kind == bit && !under(w->hits[i].path, except))
			ks_result_item(r, w->hits[i].path, "%s (%04o, %u:%u)", w->hits[i].path, w->hits[i].mode & 07777,
			               w->hits[i].uid, w->hits[i].gid);
	if (w->overflow[k])
		ks_result_item(r, "(more)", "%llu more not listed", (unsigned long long)w->overflow[k]);
	return r->n_items ? KS_CHK_FAIL : KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_walk = {"walk", KS_TRIG_WALK, walk_validate, walk_run, NULL};

/* ---- SUID/SGID binaries no package installed ---- */

static int suid_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	const struct ks_walk *w = ks_facts_walk(e);
	const char **paths;
	bool *owned;
	size_t n = 0;
	char err[256];
	(void)params;

	ks_result_expected(r, "every SUID/SGID executable belongs to an installed package");
	if (!w->done)
		return ks_result_error(r, "the first filesystem walk has not finished yet");
	paths = calloc(w->n + 1, sizeof(*paths));
	owned = calloc(w->n + 1, sizeof(*owned));
	if (!paths || !owned) {
		free(paths);
		free(owned);
		return ks_result_error(r, "out of memory");
	}
	for (size_t i = 0; i < w->n; i++)
		if (w->hits[i].kind & (KS_HIT_SUID | KS_HIT_SGID))
			paths[n++] = w->hits[i].path;
	if (n && ks_facts_pkg_owned(e, paths, n, owned, err, sizeof(err))) {
		free(paths);
		free(owned);
		return ks_result_error(r, "%s", err);
	}
	for (size_t i = 0; i < n; i++)
		if (!owned[i] && (i == 0 || strcmp(paths[i], paths[i - 1]))) /* SUID+SGID: one item */
			ks_result_item(r, paths[i], "%s is set-id and belongs to no package", paths[i]);
	if (!r->n_items)
		ks_result_actual(r, "%zu set-id executables, all from packages", n);
	free(paths);
	free(owned);
	return r->n_items ? KS_CHK_FAIL : KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_suid_packaged = {"suid_packaged", KS_TRIG_WALK, NULL, suid_run, NULL};
