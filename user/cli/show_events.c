// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The event stream: `kansoku events`, `files` (the file class) and `alerts` (Detection Findings). */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/client.h"
#include "cli/rules_live.h"
#include "cli/show_events.h"

static void show_event(const char *line)
{
	struct json_object *e = json_tokener_parse(line), *proc = NULL, *file = NULL;
	char when[32] = "";
	time_t t;
	struct tm tm;

	if (!e) {
		printf("%s\n", line);
		return;
	}
	t = (time_t)(jint(e, "time") / 1000);
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	json_object_object_get_ex(e, "process", &proc);
	if (proc)
		json_object_object_get_ex(proc, "file", &file);
	printf("%s %-22s %-10s", when, jstr(e, "class_name", "?"), jstr(e, "activity_name", "?"));
	if (proc) {
		char cmd[512];
		size_t i;

		snprintf(cmd, sizeof(cmd), "%s", jstr(proc, "cmd_line", ""));
		for (i = 0; cmd[i]; i++)
			if ((unsigned char)cmd[i] < 0x20 || cmd[i] == 0x7f)
				cmd[i] = '?';
		printf(" pid %-7lld %s  %s", (long long)jint(proc, "pid"), jstr(file, "path", jstr(proc, "name", "")),
		       cmd);
		if (json_object_object_get_ex(e, "exit_code", NULL))
			printf("  exit %lld", (long long)jint(e, "exit_code"));
	}
	printf("\n");
	fflush(stdout);
	json_object_put(e);
}

/* Does the event touch a path under prefix (file or rename target)? */
static bool under(struct json_object *e, const char *prefix)
{
	static const char *const keys[] = {"file", "file_result"};
	size_t i, n = strlen(prefix);

	if (!prefix[0])
		return true;
	while (n > 1 && prefix[n - 1] == '/')
		n--;
	for (i = 0; i < 2; i++) {
		struct json_object *f;
		const char *p;

		if (!json_object_object_get_ex(e, keys[i], &f))
			continue;
		p = jstr(f, "path", "");
		if (!strncmp(p, prefix, n) && (p[n] == '/' || p[n] == '\0' || prefix[n - 1] == '/'))
			return true;
	}
	return false;
}

static void show_file_event(struct json_object *e)
{
	struct json_object *f = NULL, *r = NULL, *actor = NULL, *proc = NULL, *user = NULL;
	char when[32] = "", path[1024];
	time_t t = (time_t)(jint(e, "time") / 1000);
	struct tm tm;
	size_t i;

	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	json_object_object_get_ex(e, "file", &f);
	json_object_object_get_ex(e, "file_result", &r);
	json_object_object_get_ex(e, "actor", &actor);
	if (actor) {
		json_object_object_get_ex(actor, "process", &proc);
		json_object_object_get_ex(actor, "user", &user);
	}
	snprintf(path, sizeof(path), "%s%s%s", jstr(f, "path", ""), r ? " -> " : "", r ? jstr(r, "path", "") : "");
	for (i = 0; path[i]; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			path[i] = '?';
	printf("%-8s %-12s %-7s %-8s %6lld %7lld %-16s %s\n", when, jstr(e, "activity_name", "?"),
	       jint(e, "status_id") == 2 ? jstr(e, "status_detail", "FAIL") : "ok",
	       jstr(user, "name", jstr(user, "uid", "?")), (long long)jint(e, "count"), (long long)jint(proc, "pid"),
	       jstr(proc, "name", ""), path);
	fflush(stdout);
}

void ks_cli_read_files(struct ks_cli_reader *r, const char *path_prefix, bool json)
{
	size_t len;
	char *line;

	if (!json)
		printf("%-8s %-12s %-7s %-8s %6s %7s %-16s %s\n", "TIME", "ACTIVITY", "RESULT", "USER", "COUNT", "PID",
		       "PROCESS", "PATH");
	while ((line = ks_cli_next_line(r, &len))) {
		struct json_object *e = json_tokener_parse(line);

		if (e && under(e, path_prefix ? path_prefix : "")) {
			if (json)
				printf("%s\n", line);
			else
				show_file_event(e);
			fflush(stdout);
		}
		json_object_put(e);
	}
}

void ks_cli_read_events(struct ks_cli_reader *r, bool alerts, bool follow, bool json)
{
	size_t len;
	char *line;

	while ((line = ks_cli_next_line(r, &len))) {
		if (json) {
			fwrite(line, 1, len, stdout);
			fputc('\n', stdout);
			if (follow)
				fflush(stdout);
		} else if (alerts) {
			struct json_object *e = json_tokener_parse(line);

			if (e)
				ks_cli_show_alert(e);
			json_object_put(e);
		} else {
			show_event(line);
		}
	}
}
