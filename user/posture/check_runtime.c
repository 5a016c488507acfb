// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The running system: listening sockets outside the allow-list, executables running from deleted or
 * writable files. Both re-run when the live model changes (a new listener, a new process). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "env.h"

static bool allowed(const struct ks_posture_cfg *cfg, const struct ks_listener *l)
{
	for (int i = 0; i < cfg->n_allowed; i++)
		if (cfg->allowed[i].port == l->port &&
		    (!cfg->allowed[i].proto[0] || !strcmp(cfg->allowed[i].proto, l->proto)))
			return true;
	return false;
}

static int listening_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	size_t n, open = 0;
	const struct ks_listener *l = ks_facts_listeners(e, &n);
	char list[256] = "";
	size_t off = 0;
	(void)params;

	for (int i = 0; i < e->cfg.n_allowed && off < sizeof(list); i++)
		off +=
		    (size_t)snprintf(list + off, sizeof(list) - off, "%s%s%s%u", i ? ", " : "", e->cfg.allowed[i].proto,
		                     e->cfg.allowed[i].proto[0] ? "/" : "", e->cfg.allowed[i].port);
	ks_result_expected(r, "only allowed ports listen%s: %s", e->cfg.ignore_loopback ? " (loopback excepted)" : "",
	                   list[0] ? list : "none");
	for (size_t i = 0; i < n; i++) {
		char key[96];

		if ((e->cfg.ignore_loopback && l[i].loopback) || allowed(&e->cfg, &l[i]))
			continue;
		open++;
		snprintf(key, sizeof(key), "%s/%s:%u", l[i].proto, l[i].addr, l[i].port);
		if (l[i].pid)
			ks_result_item(r, key, "%s %s port %u open by pid %u (%s)", l[i].proto, l[i].addr, l[i].port,
			               l[i].pid, l[i].comm[0] ? l[i].comm : "?");
		else
			ks_result_item(r, key, "%s %s port %u open", l[i].proto, l[i].addr, l[i].port);
	}
	if (!open)
		ks_result_actual(r, "%zu listening, all allowed", n);
	return open ? KS_CHK_FAIL : KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_listening = {"listening_ports", KS_TRIG_PORTS, NULL, listening_run};

static int exe_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	size_t n;
	const struct ks_proc_exe *p = ks_facts_procs(e, &n);
	(void)params;

	ks_result_expected(r, "every running executable is a file on disk that only root can change");
	for (size_t i = 0; i < n; i++) {
		const char *exe = p[i].exe;
		size_t len = strlen(exe);
		struct stat st, dst;
		char dir[4096];
		bool dup = false;

		for (size_t j = 0; j < r->n_items && !dup; j++) /* one item per executable */
			dup = !strcmp(r->items[j].key, exe);
		if (dup || exe[0] != '/')
			continue;
		if (len > 10 && !strcmp(exe + len - 10, " (deleted)")) {
			ks_result_item(r, exe, "pid %u runs %s: the file was deleted or replaced", p[i].pid, exe);
			continue;
		}
		if (ks_root_stat(e, exe, &st, true))
			continue; /* gone since the listing */
		snprintf(dir, sizeof(dir), "%s", exe);
		*strrchr(dir, '/') = 0;
		if (st.st_mode & (S_IWGRP | S_IWOTH))
			ks_result_item(r, exe, "pid %u runs %s, mode %04o (writable by group or others)", p[i].pid, exe,
			               st.st_mode & 07777);
		else if (!ks_root_stat(e, dir[0] ? dir : "/", &dst, true) && (dst.st_mode & S_IWOTH))
			ks_result_item(r, exe, "pid %u runs %s from a world-writable directory", p[i].pid, exe);
	}
	if (!r->n_items)
		ks_result_actual(r, "%zu processes checked", n);
	return r->n_items ? KS_CHK_FAIL : KS_CHK_PASS;
}

const struct ks_evaluator ks_eval_exe_unsafe = {"exe_unsafe", KS_TRIG_EXEC, NULL, exe_run};
