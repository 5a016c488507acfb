// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `kansoku rules test|check|fields`: the rule engine offline (no daemon, no root), for rule authors and CI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/rules_cmd.h"
#include "rules/offline.h"
#include "rules/rules.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: kansoku rules test RULES.yaml... [EVENTS.ndjson] [--json]\n"
	           "       kansoku rules check RULES.yaml...\n"
	           "       kansoku rules fields\n\n"
	           "  test    evaluate the rules on recorded events (kansoku's file output; stdin when no\n"
	           "          events file is given) and print each match with its reason, then a summary\n"
	           "  check   load the rules and report the first error as FILE:LINE:COLUMN\n"
	           "  fields  the fields conditions can use, with their types\n");
}

static bool is_rule_file(const char *p)
{
	size_t n = strlen(p);

	return (n > 5 && !strcmp(p + n - 5, ".yaml")) || (n > 4 && !strcmp(p + n - 4, ".yml"));
}

static struct ks_rules *load(char **files, int n)
{
	/* offline every evaluation is timed, and every repeat shown (no dedupe, no rate limit) */
	struct ks_rules_opts opts = {
	    .cost_sample = 1, .dedupe_ns = UINT64_MAX, .rate_per_s = UINT32_MAX / 2, .rate_burst = UINT32_MAX / 2};
	struct ks_rules_builder *b = ks_rules_builder_new();
	struct ks_rules *r = NULL;
	struct ks_rules_err err;
	char msg[1024];
	int i;

	if (!b) {
		fprintf(stderr, "kansoku: out of memory\n");
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (ks_rules_add_file(b, files[i], &err))
			goto cleanup;
	r = ks_rules_build(b, &opts, &err);
cleanup:
	if (!r)
		fprintf(stderr, "%s\n", ks_rules_err_str(&err, msg, sizeof(msg)));
	ks_rules_builder_free(b);
	return r;
}

static void summary(struct ks_rules *r, size_t events, size_t matches)
{
	size_t i;

	printf("\n%zu events, %zu matches\n%-32s %8s %12s %8s %8s %8s\n", events, matches, "RULE", "MATCHES",
	       "EVALUATIONS", "MEAN_NS", "P99_NS", "ENABLED");
	for (i = 0; i < ks_rules_count(r); i++) {
		const struct ks_rule_info *in = ks_rules_info(r, i);
		unsigned long long mean = in->cost_samples ? in->cost_sum_ns / in->cost_samples : 0;

		printf("%-32s %8llu %12llu %8llu %8llu %8s%s\n", in->id, (unsigned long long)in->matches,
		       (unsigned long long)in->evaluations, mean, (unsigned long long)in->cost_p99_ns,
		       in->enabled ? "yes" : "no", in->any_class ? "  (every event: pins no class_uid)" : "");
	}
}

static int cmd_test(char **files, int n_rules, const char *events, bool json)
{
	struct ks_rules *r = load(files, n_rules);
	struct ks_rules_offline *o = NULL;
	size_t n_events = 0, bad = 0;
	FILE *in = stdin;
	int rc = 1;

	if (!r)
		return 1;
	if (!events && isatty(STDIN_FILENO))
		fprintf(stderr, "kansoku: reading events from stdin (one JSON event per line; Ctrl-D ends)\n");
	if (events && !(in = fopen(events, "re"))) {
		fprintf(stderr, "kansoku: cannot open %s: %m\n", events);
		goto cleanup;
	}
	o = ks_rules_offline_new(r, stdout, json);
	if (!o) {
		fprintf(stderr, "kansoku: out of memory\n");
		goto cleanup;
	}
	if (ks_rules_offline_run(o, in, events ? events : "stdin", &n_events, &bad)) {
		fprintf(stderr, "kansoku: reading %s failed: %m\n", events ? events : "stdin");
		goto cleanup;
	}
	if (!json) {
		size_t matched = 0, i;

		for (i = 0; i < ks_rules_count(r); i++)
			matched += ks_rules_info(r, i)->matches;
		summary(r, n_events, matched);
	}
	if (bad)
		fprintf(stderr, "kansoku: %zu lines were not JSON objects\n", bad);
	rc = 0;
cleanup:
	ks_rules_offline_free(o);
	if (in && in != stdin)
		fclose(in);
	ks_rules_free(r);
	return rc;
}

static int cmd_fields(void)
{
	int i;

	for (i = 0; i < KS_RF_MAX; i++)
		printf("%-36s %s\n", ks_rfield_name((enum ks_rfield)i),
		       ks_rtype_name(ks_rfield_type((enum ks_rfield)i)));
	return 0;
}

int ks_cli_rules(int argc, char **argv)
{
	const char *events = NULL;
	char **files;
	int i, n = 0, rc;
	bool json = false;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "fields"))
		return cmd_fields();
	files = calloc((size_t)argc, sizeof(*files));
	if (!files)
		return 1;
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (is_rule_file(argv[i]))
			files[n++] = argv[i];
		else if (!events && argv[i][0] != '-')
			events = argv[i];
		else {
			fprintf(stderr, "kansoku rules: unexpected argument '%s' (rule files end in .yaml or .yml)\n",
			        argv[i]);
			free(files);
			return 2;
		}
	}
	if (!n || (strcmp(argv[1], "test") && strcmp(argv[1], "check")) || (events && strcmp(argv[1], "test"))) {
		usage(stderr);
		free(files);
		return 2;
	}
	if (!strcmp(argv[1], "check")) {
		struct ks_rules *r = load(files, n);

		if (r)
			printf("%zu rules loaded\n", ks_rules_count(r));
		rc = r ? 0 : 1;
		ks_rules_free(r);
	} else {
		rc = cmd_test(files, n, events, json);
	}
	free(files);
	return rc;
}
