/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* TLS client contexts for the network outputs (OpenSSL). RELP uses librelp's own GnuTLS backend. */
#ifndef KANSOKU_OUTPUTS_TLS_H
#define KANSOKU_OUTPUTS_TLS_H

#include <stddef.h>

#include "config/config.h"

struct ssl_ctx_st;

/* Verifies the server against ca_file (or the system store) and its name; a client certificate for mutual
 * TLS; TLS 1.2 at least. NULL with err naming the output and what failed. */
struct ssl_ctx_st *ks_tls_ctx(const struct ks_output_cfg *cfg, char *err, size_t errlen);
void ks_tls_ctx_free(struct ssl_ctx_st *ctx);

#endif
