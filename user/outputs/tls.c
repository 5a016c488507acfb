// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The TLS client context every TLS transport starts from (syslog TLS, HTTPS checks at start). */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>

#include "outputs/tls.h"

struct ssl_ctx_st *ks_tls_ctx(const struct ks_output_cfg *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		snprintf(err, errlen, "output %s: TLS: cannot create a context", cfg->name);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL); /* always: there is no "insecure" switch */
	if (cfg->ca_file[0] ? SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1
	                    : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "output %s: ca_file %s: %s", cfg->name,
		         cfg->ca_file[0] ? cfg->ca_file : "(system)", ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (cfg->cert_file[0] && (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1 ||
	                          SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
	                          SSL_CTX_check_private_key(ctx) != 1)) {
		snprintf(err, errlen, "output %s: client certificate %s / key %s: %s", cfg->name, cfg->cert_file,
		         cfg->key_file, ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void ks_tls_ctx_free(struct ssl_ctx_st *ctx)
{
	SSL_CTX_free(ctx);
}
