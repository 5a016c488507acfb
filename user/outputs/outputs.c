// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>

#include "outputs/outputs.h"

struct ks_outputs {
	struct ks_output *o[KS_MAX_OUTPUTS];
	size_t n;
};

struct ks_outputs *ks_outputs_open(const struct ks_config *cfg, char *err, size_t errlen)
{
	struct ks_outputs *os = calloc(1, sizeof(*os));
	int i;

	if (!os)
		return NULL;
	ks_net_outputs_init(cfg); /* before any output thread exists */
	for (i = 0; i < cfg->n_outputs; i++) {
		struct ks_output *o = NULL;

		switch (cfg->outputs[i].type) {
		case KS_OUT_FILE:
			o = ks_output_file_open(&cfg->outputs[i], err, errlen);
			break;
		case KS_OUT_SYSLOG:
		case KS_OUT_HTTP:
			o = ks_output_net_open(&cfg->outputs[i], cfg->state_dir, err, errlen);
			break;
		}
		if (!o) {
			ks_outputs_close(os);
			return NULL;
		}
		os->o[os->n++] = o;
	}
	return os;
}

void ks_outputs_write(struct ks_outputs *os, const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < os->n; i++)
		os->o[i]->ops->write(os->o[i], line, len);
}

void ks_outputs_flush(struct ks_outputs *os)
{
	size_t i;

	for (i = 0; i < os->n; i++)
		os->o[i]->ops->flush(os->o[i]);
}

void ks_outputs_reopen(struct ks_outputs *os)
{
	size_t i;

	for (i = 0; i < os->n; i++)
		os->o[i]->ops->reopen(os->o[i]);
}

void ks_outputs_close(struct ks_outputs *os)
{
	size_t i;

	if (!os)
		return;
	for (i = 0; i < os->n; i++) {
		os->o[i]->ops->flush(os->o[i]);
		os->o[i]->ops->close(os->o[i]);
	}
	free(os);
}

size_t ks_outputs_stats(struct ks_outputs *os, struct ks_output_stats *out, size_t max)
{
	size_t i;

	for (i = 0; i < os->n && i < max; i++)
		out[i] = os->o[i]->stats;
	return os->n;
}
