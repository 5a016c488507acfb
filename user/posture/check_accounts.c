// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Accounts: passwd/shadow/group hygiene, sudoers, home directories. Password hashes are read to classify
 * them and never copied into a result. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "env.h"

static int tab_error(struct ks_check_result *r, const char *file, int err)
{
	return ks_result_error(r, "cannot read %s: %s", file, strerror(-err));
}

static int passwd_shadowed_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	size_t n;
	int err;
	const struct ks_pw *pw = ks_facts_passwd(e, &n, &err);
	(void)params;

	ks_result_expected(r, "'x' in the password field of every /etc/passwd entry");
	if (!pw)
		return tab_error(r, "/etc/passwd", err);
	for (size_t i = 0; i < n; i++)
		if (strcmp(pw[i].pw, "x"))
			ks_result_item(r, pw[i].name, "%s has its password %s in /etc/passwd", pw[i].name,
			               pw[i].pw[0] ? "hash" : "field empty");
	return r->n_items ? KS_CHK_FAIL : KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_passwd_shadowed = {"passwd_shadowed", 0, NULL, passwd_shadowed_run, NULL};

static int shadow_empty_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	size_t n;
	int err;
	const struct ks_sp *sp = ks_facts_shadow(e, &n, &err);
	(void)params;

	ks_result_expected(r, "no account with an empty password");
	if (!sp)
		return tab_error(r, "/etc/shadow", err);
	for (size_t i = 0; i < n; i++)
		if (!sp[i].pw[0])
			ks_result_item(r, sp[i].name, "%s has an empty password", sp[i].name);
	return r->n_items ? KS_CHK_FAIL : KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_shadow_empty = {"shadow_empty", 0, NULL, shadow_empty_run, NULL};

static int uid0_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	size_t n;
	int err;
	const struct ks_pw *pw = ks_facts_passwd(e, &n, &err);
	(void)params;

	ks_result_expected(r, "root is the only account with UID 0");
	if (!pw)
		return tab_error(r, "/etc/passwd", err);
	for (size_t i = 0; i < n; i++)
		if (pw[i].uid == 0 && strcmp(pw[i].name, "root"))
			ks_result_item(r, pw[i].name, "%s has UID 0", pw[i].name);
	return r->n_items ? KS_CHK_FAIL : KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_uid0 = {"uid0", 0, NULL, uid0_run, NULL};

/* ---- duplicates: params.table passwd|group, params.field name|id ---- */

static int unique_validate(struct json_object *params, char *err, size_t errlen)
{
	const char *t = ks_param_str(params, "table"), *f = ks_param_str(params, "field");

	if (!t || !f || (strcmp(t, "passwd") && strcmp(t, "group")) || (strcmp(f, "name") && strcmp(f, "id"))) {
		snprintf(err, errlen, "params: 'table' (passwd or group) and 'field' (name or id) are required");
		return -1;
	}
	return 0;
}

static int unique_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	bool passwd = !strcmp(ks_param_str(params, "table"), "passwd"),
	     by_name = !strcmp(ks_param_str(params, "field"), "name");
	size_t n;
	int err;
	const struct ks_pw *pw = passwd ? ks_facts_passwd(e, &n, &err) : NULL;
	const struct ks_grp *gr = passwd ? NULL : ks_facts_group(e, &n, &err);

	ks_result_expected(r, "every %s %s unique", passwd ? "user" : "group", by_name ? "name" : "ID");
	if (passwd ? !pw : !gr)
		return tab_error(r, passwd ? "/etc/passwd" : "/etc/group", err);
	for (size_t i = 0; i < n; i++) /* tables are small: quadratic is fine and keeps the order */
		for (size_t j = 0; j < i; j++) {
			const char *ni = passwd ? pw[i].name : gr[i].name, *nj = passwd ? pw[j].name : gr[j].name;
			uint32_t ii = passwd ? pw[i].uid : gr[i].gid, ij = passwd ? pw[j].uid : gr[j].gid;
			char key[64];

			if (by_name ? strcmp(ni, nj) : ii != ij)
				continue;
			if (by_name)
				snprintf(key, sizeof(key), "%.60s", ni);
			else
				snprintf(key, sizeof(key), "%u", ii);
			ks_result_item(r, key, "%s and %s share %s %s", nj, ni, by_name ? "the name" : "ID", key);
			break;
		}
	return r->n_items ? KS_CHK_FAIL : KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_unique = {"unique", 0, unique_validate, unique_run, NULL};

/* ---- password maximum age ---- */

static int maxage_validate(struct json_object *params, char *err, size_t errlen)
{
	const char *m = ks_param_str(params, "max_days");

	if (!m || !*m || strspn(m, "0123456789") != strlen(m)) {
		snprintf(err, errlen, "params.max_days: a whole number is required");
		return -1;
	}
	return 0;
}

static int maxage_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	long max = atol(ks_param_str(params, "max_days"));
	size_t n;
	int err;
	const struct ks_sp *sp = ks_facts_shadow(e, &n, &err);

	ks_result_expected(r, "passwords expire within %ld days", max);
	if (!sp)
		return tab_error(r, "/etc/shadow", err);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ks_pw_state(sp[i].pw), "set") && (sp[i].max_days < 0 || sp[i].max_days > max))
			ks_result_item(r, sp[i].name, "%s: maximum password age %s", sp[i].name,
			               sp[i].max_days < 0 ? "unset" : "too long");
	return r->n_items ? KS_CHK_FAIL : KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_shadow_maxage = {"shadow_maxage", 0, maxage_validate, maxage_run, NULL};

/* ---- home directories of login accounts: not writable by group or others ---- */

static int home_perms_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	size_t n;
	int err;
	const struct ks_pw *pw = ks_facts_passwd(e, &n, &err);
	(void)params;

	ks_result_expected(r, "home directories of login accounts owned by the account, not group/other writable");
	if (!pw)
		return tab_error(r, "/etc/passwd", err);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (!ks_login_shell(pw[i].shell) || !pw[i].home[0] || ks_root_stat(e, pw[i].home, &st, false) ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (st.st_mode & (S_IWGRP | S_IWOTH))
			ks_result_item(r, pw[i].home, "%s is mode %04o", pw[i].home, st.st_mode & 07777);
		else if (st.st_uid != pw[i].uid)
			ks_result_item(r, pw[i].home, "%s is owned by UID %u, not %s", pw[i].home, st.st_uid,
			               pw[i].name);
	}
	return r->n_items ? KS_CHK_FAIL : KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_home_perms = {"home_perms", 0, NULL, home_perms_run, NULL};

/* ---- sudoers: /etc/sudoers and what it includes ---- */

struct sudo_scan {
	struct ks_posture_env *e;
	const char *forbid, *require_default;
	struct ks_check_result *r;
	bool found_default;
	char err[256];
};

static int sudo_file(struct sudo_scan *s, const char *path, int depth);

static int sudo_include(struct sudo_scan *s, const char *arg, bool dir, int depth)
{
	char pattern[1024], **files;
	size_t n;
	int rc = 0;

	if (depth > 8)
		return 0;
	/* #includedir reads every file not ending in '~' and without a '.' (sudoers(5)) */
	snprintf(pattern, sizeof(pattern), "%s%s", arg, dir ? "/*" : "");
	if (ks_root_glob(s->e, pattern, &files, &n))
		return 0;
	for (size_t i = 0; !rc && i < n; i++) {
		const char *b = strrchr(files[i], '/') + 1;

		if (dir && !ks_sudoers_d_name(b))
			continue;
		rc = sudo_file(s, files[i], depth + 1);
	}
	ks_strv_free(files, n);
	return rc;
}

static int sudo_file(struct sudo_scan *s, const char *path, int depth)
{
	char *text, *line, *save = NULL;
	int rc = ks_root_read(s->e, path, &text, NULL), lineno = 0;

	if (rc) {
		snprintf(s->err, sizeof(s->err), "cannot read %s: %s", path, strerror(-rc));
		return -1;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *l = ks_trim(line);

		lineno++;
		if (!strncmp(l, "#includedir ", 12) || !strncmp(l, "@includedir ", 12)) {
			if (sudo_include(s, ks_trim(l + 12), true, depth))
				break;
			continue;
		}
		if (!strncmp(l, "#include ", 9) || !strncmp(l, "@include ", 9)) {
			if (sudo_include(s, ks_trim(l + 9), false, depth))
				break;
			continue;
		}
		if (!*l || *l == '#')
			continue;
		if (s->forbid && strstr(l, s->forbid)) {
			char key[600];

			snprintf(key, sizeof(key), "%s:%d", path, lineno);
			ks_result_item(s->r, key, "%s line %d: %.200s", path, lineno, l);
		}
		if (s->require_default && !strncmp(l, "Defaults", 8) && (l[8] == ' ' || l[8] == '\t')) {
			char copy[1024], *tok, *tsave = NULL;

			snprintf(copy, sizeof(copy), "%s", l + 9);
			for (tok = strtok_r(copy, " \t,", &tsave); tok; tok = strtok_r(NULL, " \t,", &tsave))
				if (!strcmp(tok, s->require_default))
					s->found_default = true;
		}
	}
	free(text);
	return s->err[0] ? -1 : 0;
}

static int sudoers_validate(struct json_object *params, char *err, size_t errlen)
{
	if (!!ks_param_str(params, "forbid") == !!ks_param_str(params, "require_default")) {
		snprintf(err, errlen, "params: exactly one of 'forbid' or 'require_default' (strings)");
		return -1;
	}
	return 0;
}

static int sudoers_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	struct sudo_scan s = {.e = e,
	                      .forbid = ks_param_str(params, "forbid"),
	                      .require_default = ks_param_str(params, "require_default"),
	                      .r = r};
	struct stat st;

	if (ks_root_stat(e, "/etc/sudoers", &st, true))
		return ks_result_na(r, "sudo is not installed (no /etc/sudoers)");
	if (s.forbid)
		ks_result_expected(r, "no rule with %s", s.forbid);
	else
		ks_result_expected(r, "Defaults %s", s.require_default);
	if (sudo_file(&s, "/etc/sudoers", 0))
		return ks_result_error(r, "%s", s.err);
	if (s.require_default) {
		ks_result_actual(r, "%s", s.found_default ? "set" : "not set");
		return s.found_default ? KS_CHK_PASS : KS_CHK_FAIL;
	}
	return r->n_items ? KS_CHK_FAIL : KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_sudoers = {"sudoers", 0, sudoers_validate, sudoers_run, NULL};
