/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Canonical absolute path of a struct path, resolved in the kernel the way d_path() does it: walk the
 * dentries up to the mount root, cross to the parent mount at each mount point, stop at the root of the
 * mount tree. The result ignores chroot (the host's view) and never depends on what user space passed.
 *
 * Names are written right to left into a per-CPU buffer; offsets are masked with KS_PATH_MAX - 1 and each
 * name is at most NAME_MAX bytes, so every write stays inside the 2 * KS_PATH_MAX buffer and the verifier
 * can see it. The write position lives in the map value, not in a register: the verifier then sees an
 * unknown, masked offset on every iteration instead of a new range each time, so loop states prune and
 * the walk verifies in a few thousand instructions instead of exploding.
 */
#ifndef KS_PATH_BPF_H
#define KS_PATH_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

#define KS_NAME_MAX 255
#define KS_PATH_COMPONENTS 160 /* bounded loop; deeper paths are flagged truncated */

#define KS_PATH_OK 0
#define KS_PATH_TRUNCATED 1
#define KS_PATH_UNREACHABLE 2 /* dentry not reachable from a mount root: internal fs (memfd, pipe) */

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((void *)(ptr) - __builtin_offsetof(type, member)))
#endif

struct ks_path_result {
	u32 start;  /* the path is pb->buf[start .. KS_PATH_MAX - 1], NUL-terminated */
	u32 status; /* KS_PATH_* */
	u32 deleted;
};

static __always_inline int ks_dentry_deleted(struct dentry *dentry, struct dentry *mnt_root)
{
	/* d_unlinked(): unhashed and not a root; a mount root (bind-mounted file) is never "deleted". */
	return dentry != mnt_root && BPF_CORE_READ(dentry, d_hash.pprev) == NULL;
}

static __always_inline void ks_resolve_path(const struct path *path, struct ks_pathbuf *pb, struct ks_path_result *res)
{
	struct dentry *dentry = BPF_CORE_READ(path, dentry);
	struct vfsmount *vfsmnt = BPF_CORE_READ(path, mnt);
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	u32 pos;
	int i;

	res->status = KS_PATH_TRUNCATED;
	res->deleted = ks_dentry_deleted(dentry, mnt_root);
	pb->buf[KS_PATH_MAX - 1] = '\0';
	pb->pos = KS_PATH_MAX - 1;

	for (i = 0; i < KS_PATH_COMPONENTS; i++) {
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		const unsigned char *name;
		u32 len;

		if (dentry == mnt_root) {
			if (mnt == mnt_parent) { /* root of the mount tree */
				res->status = KS_PATH_OK;
				break;
			}
			/* cross to the mount point in the parent mount */
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
			vfsmnt = &mnt->mnt;
			mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
			continue;
		}

		name = BPF_CORE_READ(dentry, d_name.name);
		len = BPF_CORE_READ(dentry, d_name.len);
		if (len > KS_NAME_MAX)
			len = KS_NAME_MAX;
		pos = pb->pos;
		if (len + 1 > pos) /* no room left: keep the tail, flag the cut */
			break;
		pos -= len;
		bpf_probe_read_kernel(&pb->buf[pos & (KS_PATH_MAX - 1)], len & KS_NAME_MAX, name);
		pos -= 1;
		pb->buf[pos & (KS_PATH_MAX - 1)] = '/';
		pb->pos = pos;

		if (dentry == parent) { /* a root that is no mount's root: an internal, unmounted fs */
			res->status = KS_PATH_UNREACHABLE;
			break;
		}
		dentry = parent;
	}

	pos = pb->pos;
	if (pos == KS_PATH_MAX - 1) { /* the root itself */
		pos -= 1;
		pb->buf[pos & (KS_PATH_MAX - 1)] = '/';
	}
	res->start = pos & (KS_PATH_MAX - 1);
}

/*
 * Resolve path and copy it, NUL-terminated, to dst (which must have room for KS_PATH_MAX bytes). Returns
 * the bytes written (NUL included), 0 on failure; res says whether it was cut or unreachable or deleted.
 */
static __always_inline u32 ks_path_to(const struct path *path, char *dst, struct ks_path_result *res)
{
	u32 key = 0;
	struct ks_pathbuf *pb = bpf_map_lookup_elem(&ks_path_scratch, &key);
	long n;

	if (!pb)
		return 0;
	ks_resolve_path(path, pb, res);
	n = bpf_probe_read_kernel_str(dst, KS_PATH_MAX, &pb->buf[res->start & (KS_PATH_MAX - 1)]);
	return n > 0 ? (u32)n : 0;
}

#endif
