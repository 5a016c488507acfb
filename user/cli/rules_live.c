// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Tables for the daemon's view of its rules: per-rule cost is what tells a costly rule from a cheap one. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/rules_live.h"

static long long jnum(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? (long long)json_object_get_int64(v) : 0;
}

static const char *jtext(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

void ks_cli_show_rules(struct json_object *rules)
{
	size_t i, n = json_object_array_length(rules);

	printf("%-24s %-8s %-3s %10s %12s %9s %9s %s\n", "RULE", "SEVERITY", "ON", "MATCHES", "EVALUATIONS", "MEAN_NS",
	       "P99_NS", "TITLE");
	for (i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(rules, i), *on;
		bool enabled = json_object_object_get_ex(r, "enabled", &on) && json_object_get_boolean(on);

		printf("%-24s %-8s %-3s %10lld %12lld %9lld %9lld %s%s%s\n", jtext(r, "id"), jtext(r, "severity"),
		       enabled ? "yes" : "no", jnum(r, "matches"), jnum(r, "evaluations"), jnum(r, "cost_mean_ns"),
		       jnum(r, "cost_p99_ns"), strcmp(jtext(r, "kind"), "policy") ? "" : "policy: ", jtext(r, "title"),
		       jnum(r, "rate_dropped") ? " (findings dropped by the rate limit)" : "");
	}
}

void ks_cli_show_rules_status(struct json_object *st)
{
	printf("rules reloaded: %lld rules, %lld bytes of sequence/threshold state\n", jnum(st, "rules"),
	       jnum(st, "state_bytes"));
}

void ks_cli_show_alert(struct json_object *f)
{
	static const char *const sev[] = {"unknown", "info", "low", "medium", "high", "critical", "fatal"};
	struct json_object *info = NULL, *an = NULL;
	long long s = jnum(f, "severity_id");
	char when[32] = "";
	time_t t = (time_t)(jnum(f, "time") / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	json_object_object_get_ex(f, "finding_info", &info);
	if (info)
		json_object_object_get_ex(info, "analytic", &an);
	printf("%s %-8s %-6s %-18s x%-4lld %s\n", when, s >= 0 && s <= 6 ? sev[s] : "other", jtext(f, "activity_name"),
	       an ? jtext(an, "uid") : "?", jnum(f, "count"), jtext(f, "message"));
	fflush(stdout);
}

void ks_cli_show_rules_line(struct json_object *st)
{
	struct json_object *r;

	if (!json_object_object_get_ex(st, "rules", &r))
		return;
	printf("rules       %lld loaded (%lld access policies), %lld events judged, %lld findings (%lld updates)%s%s\n",
	       jnum(r, "rules"), jnum(r, "policies"), jnum(r, "events_judged"), jnum(r, "findings_created"),
	       jnum(r, "findings_updated"), *jtext(r, "last_load_error") ? "; last reload failed: " : "",
	       jtext(r, "last_load_error"));
}
