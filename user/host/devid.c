// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The device id (OCSF device.uid): with the boot id and the sequence it is the key receivers use to drop
 * duplicates, so it is never empty. /etc/machine-id, else D-Bus's copy, else an id generated once and kept
 * under state_dir (hosts without systemd, container images, appliances).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/host.h"

const char *const ks_machine_id_paths[KS_MACHINE_ID_PATHS] = {"/etc/machine-id", "/var/lib/dbus/machine-id"};

bool ks_machine_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < KS_MACHINE_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return s[i] == '\0';
}

static void set_id(struct ks_host *h, const char *id, const char *source)
{
	snprintf(h->machine_id, sizeof(h->machine_id), "%s", id);
	snprintf(h->machine_id_source, sizeof(h->machine_id_source), "%s", source);
}

/* The first valid id of ks_machine_id_paths under root; empty or "uninitialized" files count as absent. */
static bool from_files(struct ks_host *h, const char *root)
{
	char path[4096], id[64];

	for (int i = 0; i < KS_MACHINE_ID_PATHS; i++) {
		snprintf(path, sizeof(path), "%s%s", root, ks_machine_id_paths[i]);
		if (ks_read_line(path, id, sizeof(id)) > 0 && ks_machine_id_valid(id)) {
			set_id(h, id, ks_machine_id_paths[i]);
			return true;
		}
	}
	return false;
}

/* 128 random bits as 32 hex digits, marked as a version 4 UUID like systemd's own. */
static int generate(char *out, size_t len, char *err, size_t errlen)
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (size_t i = 0; i < sizeof(b) && 2 * i + 2 < len; i++)
		snprintf(out + 2 * i, len - 2 * i, "%02x", b[i]);
	return 0;
}

/* tmp + fsync + rename + fsync of the directory: a crash leaves the old state or the whole new file. */
static int write_atomic(const char *dir, const char *path, const char *text, char *err, size_t errlen)
{
	char tmp[PATH_MAX + 8];
	size_t n = strlen(text);
	int fd, dfd = -1, rc = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fchmod(fd, 0600) || write(fd, text, n) != (ssize_t)n || fsync(fd)) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	if (rename(tmp, path)) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto cleanup;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		fsync(dfd);
	rc = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (rc)
		unlink(tmp);
	return rc;
}

int ks_host_device_id(struct ks_host *h, const char *root, const char *state_dir, bool create, char *err, size_t errlen)
{
	char path[PATH_MAX], source[KS_MACHINE_ID_SOURCE_MAX], id[64], text[72];
	int n;

	if (!root || !strcmp(root, "/"))
		root = "";
	set_id(h, "", "none");
	if (from_files(h, root) || !state_dir)
		return 0;
	if (snprintf(path, sizeof(path), "%s/machine-id", state_dir) >= (int)sizeof(path)) {
		snprintf(err, errlen, "state_dir is too long: %s", state_dir);
		return -1;
	}
	snprintf(source, sizeof(source), "generated (%s)", path);
	n = ks_read_line(path, id, sizeof(id));
	if (n < 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot read the device id kept in %s: %s", path, strerror(errno));
		return -1;
	}
	if (n >= 0) {
		if (!ks_machine_id_valid(id)) {
			/* a new id would make this host look like another one to every receiver: ask a person */
			snprintf(err, errlen,
			         "%s does not hold a device id (32 hex digits); restore it from a backup, or remove it "
			         "to generate a new one (receivers will see a new device)",
			         path);
			return -1;
		}
		set_id(h, id, source);
		return 0;
	}
	if (!create)
		return 0;
	if (generate(id, sizeof(id), err, errlen))
		return -1;
	snprintf(text, sizeof(text), "%s\n", id);
	if (write_atomic(state_dir, path, text, err, errlen))
		return -1;
	set_id(h, id, source);
	return 0;
}
