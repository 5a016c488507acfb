/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The security sensors' records (bpf/security.bpf.c) -> OCSF: ptrace attach and writes into a tracee
 * (Process Activity 1007, Open / Inject), kernel module loading (Kernel Extension Activity 1002, Load) and a
 * set-id bit set by chmod (File System Activity 1001, Set Security).
 */
#ifndef KANSOKU_SECURITY_H
#define KANSOKU_SECURITY_H

#include <stdbool.h>
#include <stddef.h>

#include "kansoku/events.h"
#include "pipeline/pipeline.h"

/* A kernel module record with its tail split and checked. */
struct ks_kmod_view {
	const struct ks_kmod *m;
	const char *path; /* NULL for init_module (an image from memory) */
	const char *params;
};

/* A set-id record with its path joined: path is absolute and folded (or the name as given when the
 * kernel could not resolve the base). */
struct ks_setid_view {
	const struct ks_setid *s;
	char path[2 * KS_PATH_MAX + 2];
	const char *name_as_given; /* NULL for fchmod */
};

/* Each returns 0, or -1 when the record is inconsistent (size, kind, lengths beyond the record). */
int ks_ptrace_decode(const void *data, size_t size, const struct ks_ptrace **out);
int ks_kmod_decode(const void *data, size_t size, struct ks_kmod_view *v);
int ks_setid_decode(const void *data, size_t size, struct ks_setid_view *v);

/* "PTRACE_ATTACH", ... ; "unknown" for others. */
const char *ks_ptrace_request_name(uint32_t req);
/* Is the request an attach (Open), or a write into the tracee (Inject)? */
bool ks_ptrace_is_attach(uint32_t req);

/* Handle one record of kind KS_EV_PTRACE, KS_EV_KMOD or KS_EV_SETID. Returns -1 if malformed. */
int ks_security_handle(struct ks_pipeline *pl, const void *data, size_t size);

#endif
