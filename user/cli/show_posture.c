// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Posture as tables: `kansoku posture`, `findings` and `inventory`. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/client.h"
#include "cli/show_posture.h"

/* A string from the daemon, made safe for the terminal, cut to width. */
static void cell(const char *s, int width, bool last)
{
	char buf[512];

	/* the precision says the cut is meant (a finding line is up to 1 KiB) */
	snprintf(buf, sizeof(buf), "%.*s", (int)sizeof(buf) - 1, s ? s : "");
	term_safe(buf);
	if (last)
		printf("%s\n", buf);
	else
		printf("%-*.*s ", width, width, buf);
}

void ks_cli_findings_table(struct json_object *arr)
{
	size_t n = json_object_array_length(arr);

	printf("%-8s %6s %-8s %-12s %s\n", "SEVERITY", "SCORE", "AGE", "CHECK", "FINDING");
	for (size_t i = 0; i < n; i++) {
		struct json_object *f = json_object_array_get_idx(arr, i);
		char line[1024];

		int64_t a = jint(f, "age_s");
		char age[32];

		if (a >= 86400)
			snprintf(age, sizeof(age), "%lldd%lldh", (long long)(a / 86400), (long long)(a % 86400 / 3600));
		else if (a >= 3600)
			snprintf(age, sizeof(age), "%lldh%lldm", (long long)(a / 3600), (long long)(a % 3600 / 60));
		else
			snprintf(age, sizeof(age), "%lldm%llds", (long long)(a / 60), (long long)(a % 60));
		printf("%-8s %6.1f %-8s ", jstr(f, "severity", ""),
		       json_object_get_double(json_object_object_get(f, "score")), age);
		cell(jstr(f, "check", ""), 12, false);
		snprintf(line, sizeof(line), "%s: %s", jstr(f, "title", ""), jstr(f, "actual", ""));
		cell(line, 0, true);
	}
	if (!n)
		printf("(no open findings)\n");
}

void ks_cli_show_posture(struct json_object *d)
{
	struct json_object *areas, *errors, *worst, *det, *dareas = NULL;
	bool has_det = json_object_object_get_ex(d, "detections", &det);

	printf("host risk score %.1f: %lld open findings; checks %lld pass, %lld fail, %lld error, %lld not "
	       "applicable\n\n",
	       json_object_get_double(json_object_object_get(d, "host")), (long long)jint(d, "findings"),
	       (long long)jint(d, "checks_pass"), (long long)jint(d, "checks_fail"), (long long)jint(d, "checks_error"),
	       (long long)jint(d, "checks_not_applicable"));
	if (has_det) {
		json_object_object_get_ex(det, "areas", &dareas);
		printf("detections: risk score %.1f from %lld open detections (rules.quiet_period closes them)\n\n",
		       json_object_get_double(json_object_object_get(det, "host")), (long long)jint(det, "open"));
		printf("%-8s %8s %9s %10s %10s\n", "AREA", "SCORE", "FINDINGS", "DETECTION", "DETECTIONS");
	} else {
		printf("%-8s %8s %9s\n", "AREA", "SCORE", "FINDINGS");
	}
	if (json_object_object_get_ex(d, "areas", &areas)) {
		json_object_object_foreach(areas, k, v)
		{
			struct json_object *dv = dareas ? json_object_object_get(dareas, k) : NULL;

			printf("%-8s %8.1f %9lld", k, json_object_get_double(json_object_object_get(v, "score")),
			       (long long)jint(v, "findings"));
			if (dv)
				printf(" %10.1f %10lld", json_object_get_double(json_object_object_get(dv, "score")),
				       (long long)jint(dv, "open"));
			printf("\n");
		}
	}
	if (json_object_object_get_ex(d, "worst", &worst) && json_object_array_length(worst)) {
		printf("\nworst findings:\n");
		ks_cli_findings_table(worst);
	}
	if (json_object_object_get_ex(d, "errors", &errors) && json_object_array_length(errors)) {
		printf("\nchecks that could not run:\n");
		for (size_t i = 0; i < json_object_array_length(errors); i++) {
			struct json_object *e = json_object_array_get_idx(errors, i);

			cell(jstr(e, "check", ""), 12, false);
			cell(jstr(e, "reason", ""), 0, true);
		}
	}
}

void ks_cli_show_inventory(struct json_object *d, const char *kind)
{
	struct json_object *arr = d;

	// NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): main() refuses inventory without a kind
	if (!strcmp(kind, "users")) {
		json_object_object_get_ex(d, "users", &arr);
		printf("%-16s %7s %-8s %-5s %-5s %s\n", "NAME", "UID", "PASSWORD", "LOGIN", "SUDO", "SHELL");
		for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
			struct json_object *u = json_object_array_get_idx(arr, i);

			cell(jstr(u, "name", ""), 16, false);
			printf("%7lld %-8s %-5s %-5s ", (long long)jint(u, "uid"), jstr(u, "password", ""),
			       json_object_get_boolean(json_object_object_get(u, "interactive")) ? "yes" : "no",
			       json_object_get_boolean(json_object_object_get(u, "sudo")) ? "yes" : "no");
			cell(jstr(u, "shell", ""), 0, true);
		}
		return;
	}
	if (!strcmp(kind, "packages")) {
		printf("%-36s %-36s %s\n", "NAME", "VERSION", "ARCH");
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *p = json_object_array_get_idx(arr, i);

			cell(jstr(p, "name", ""), 36, false);
			cell(jstr(p, "version", ""), 36, false);
			cell(jstr(p, "architecture", ""), 0, true);
		}
		return;
	}
	if (!strcmp(kind, "ports")) {
		printf("%-5s %-40s %5s %8s %s\n", "PROTO", "ADDRESS", "PORT", "PID", "PROCESS");
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *p = json_object_array_get_idx(arr, i);

			printf("%-5s ", jstr(p, "protocol", ""));
			cell(jstr(p, "address", ""), 40, false);
			printf("%5lld %8lld ", (long long)jint(p, "port"), (long long)jint(p, "pid"));
			cell(jstr(p, "process", "?"), 0, true);
		}
		return;
	}
	printf("%s\n", json_object_to_json_string_ext(d, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}
