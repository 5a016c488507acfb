// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The kernel-matrix guests run a static kansokud with file outputs only: libcurl, OpenSSL and librelp
 * have no complete static builds in Debian. This stands in for user/outputs/{netout,syslog,relp,http}.c
 * in that one binary; a network output in its config is refused with this message.
 */
#include <stdio.h>

#include "outputs/outputs.h"

struct ks_output *ks_output_net_open(const struct ks_output_cfg *cfg, const char *state_dir, char *err, size_t errlen)
{
	(void)state_dir;
	snprintf(err, errlen, "output %s: network outputs are not in this static build", cfg->name);
	return NULL;
}

void ks_net_outputs_init(const struct ks_config *cfg)
{
	(void)cfg;
}
