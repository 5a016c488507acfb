// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>

#include "pipeline/ocsf.h"
#include "posture/ocsf_map.h"

/* network_interface.type_id */
enum ks_ocsf_if_type {
	KS_OCSF_IF_UNKNOWN = 0,
	KS_OCSF_IF_WIRED = 1,
	KS_OCSF_IF_WIRELESS = 2,
	KS_OCSF_IF_TUNNEL = 4,
	KS_OCSF_IF_OTHER = 99
};

/* package.type_id */
enum ks_ocsf_pkg_type { KS_OCSF_PKG_OS = 2 };

/* A first-level name of an OCSF object: copied as it is. */
static void copy(struct json_object *to, struct json_object *from, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(from, key, &v))
		json_object_object_add(to, key, json_object_get(v));
}

/* Everything of from whose key is not in ocsf[] goes to extra. */
static void rest(struct json_object *extra, struct json_object *from, const char *const *ocsf)
{
	json_object_object_foreach(from, key, val)
	{
		size_t i;

		for (i = 0; ocsf[i] && strcmp(ocsf[i], key); i++)
			;
		if (!ocsf[i])
			json_object_object_add(extra, key, json_object_get(val));
	}
}

static struct json_object *unmapped_part(struct json_object *unmapped, const char *key)
{
	struct json_object *o;

	if (json_object_object_get_ex(unmapped, key, &o))
		return o;
	o = json_object_new_object();
	json_object_object_add(unmapped, key, o);
	return o;
}

/* Drops unmapped[key] again when nothing went there. */
static void tidy(struct json_object *unmapped, const char *key)
{
	struct json_object *o;

	if (json_object_object_get_ex(unmapped, key, &o) && !json_object_object_length(o))
		json_object_object_del(unmapped, key);
}

static void interface_type(struct json_object *to, const char *link)
{
	int id = KS_OCSF_IF_UNKNOWN;
	const char *caption = "Unknown";

	if (!link) {
	} else if (!strcmp(link, "ethernet")) {
		id = KS_OCSF_IF_WIRED, caption = "Wired";
	} else if (!strcmp(link, "wireless")) {
		id = KS_OCSF_IF_WIRELESS, caption = "Wireless";
	} else if (!strcmp(link, "tunnel")) {
		id = KS_OCSF_IF_TUNNEL, caption = "Tunnel";
	} else { /* loopback, virtual: OCSF has no name for them, the source's word is the type */
		id = KS_OCSF_IF_OTHER, caption = link;
	}
	json_object_object_add(to, "type_id", json_object_new_int(id));
	json_object_object_add(to, "type", json_object_new_string(caption));
}

/* One OCSF network_interface per address (OCSF's has one ip), or one without an address. */
static struct json_object *interfaces(struct json_object *arr)
{
	struct json_object *out = json_object_new_array();

	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *ifc = json_object_array_get_idx(arr, i), *ips, *lt;
		const char *link = json_object_object_get_ex(ifc, "link_type", &lt) ? json_object_get_string(lt) : NULL;
		size_t n = json_object_object_get_ex(ifc, "ip_addresses", &ips) ? json_object_array_length(ips) : 0;

		for (size_t j = 0; j < (n ? n : 1); j++) {
			struct json_object *o = json_object_new_object();

			copy(o, ifc, "name");
			copy(o, ifc, "mac");
			if (n)
				json_object_object_add(o, "ip", json_object_get(json_object_array_get_idx(ips, j)));
			interface_type(o, link);
			json_object_array_add(out, o);
		}
	}
	return out;
}

struct json_object *ks_ocsf_map_device(struct json_object *inv, struct json_object *unmapped, int64_t now_ms)
{
	static const char *const dev_ocsf[] = {"type_id", "hostname", "uid", "boot_uid", "hypervisor", "os", NULL};
	static const char *const os_ocsf[] = {"type_id", "name", "version", "kernel_release", NULL};
	struct json_object *dev = json_object_new_object(), *extra = unmapped_part(unmapped, "device"), *v;

	for (size_t i = 0; dev_ocsf[i]; i++)
		if (strcmp(dev_ocsf[i], "os"))
			copy(dev, inv, dev_ocsf[i]);
	json_object_object_add(dev, "type", json_object_new_string("Server"));
	if (json_object_object_get_ex(inv, "hw_model", &v))
		json_object_object_add(dev, "model", json_object_get(v));
	if (json_object_object_get_ex(inv, "uptime_s", &v))
		json_object_object_add(dev, "boot_time",
		                       json_object_new_int64(now_ms - json_object_get_int64(v) * 1000));
	if (json_object_object_get_ex(inv, "os", &v)) {
		struct json_object *os = json_object_new_object(), *os_extra = json_object_new_object();

		for (size_t i = 0; os_ocsf[i]; i++)
			copy(os, v, os_ocsf[i]);
		json_object_object_add(os, "type", json_object_new_string("Linux"));
		json_object_object_add(dev, "os", os);
		rest(os_extra, v, os_ocsf);
		if (json_object_object_length(os_extra))
			json_object_object_add(extra, "os", os_extra);
		else
			json_object_put(os_extra);
	}
	if (json_object_object_get_ex(inv, "network_interfaces", &v))
		json_object_object_add(dev, "network_interfaces", interfaces(v));
	{ /* the rest, with the interfaces as the snapshot lists them (addresses per interface, link type) */
		static const char *const mapped[] = {"type_id",    "hostname", "uid",      "boot_uid",
		                                     "hypervisor", "os",       "hw_model", NULL};

		rest(extra, inv, mapped);
	}
	tidy(unmapped, "device");
	return dev;
}

/* user.type_id: as in every event (ks_ocsf_user_type), and members of the sudo groups administer. */
static void user_type(struct json_object *to, int64_t uid, bool sudo)
{
	int id = sudo ? KS_OCSF_USER_ADMIN : ks_ocsf_user_type((uint32_t)uid);
	static const char *const caption[] = {
	    [KS_OCSF_USER_USER] = "User", [KS_OCSF_USER_ADMIN] = "Admin", [KS_OCSF_USER_SYSTEM] = "System"};

	json_object_object_add(to, "type_id", json_object_new_int(id));
	json_object_object_add(to, "type", json_object_new_string(caption[id]));
}

struct json_object *ks_ocsf_map_user(struct json_object *inv, struct json_object *unmapped)
{
	static const char *const ocsf[] = {"name", "uid", "groups", NULL};
	struct json_object *u = json_object_new_object(), *extra = unmapped_part(unmapped, "user"), *v, *sudo;
	char num[24];
	int64_t uid = -1;

	copy(u, inv, "name");
	if (json_object_object_get_ex(inv, "uid", &v)) {
		uid = json_object_get_int64(v);
		snprintf(num, sizeof(num), "%lld", (long long)uid);
		json_object_object_add(u, "uid", json_object_new_string(num));
	}
	user_type(u, uid, json_object_object_get_ex(inv, "sudo", &sudo) && json_object_get_boolean(sudo));
	if (json_object_object_get_ex(inv, "groups", &v)) {
		struct json_object *groups = json_object_new_array();

		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *g = json_object_new_object();

			json_object_object_add(g, "name", json_object_get(json_object_array_get_idx(v, i)));
			json_object_array_add(groups, g);
		}
		json_object_object_add(u, "groups", groups);
	}
	rest(extra, inv, ocsf);
	tidy(unmapped, "user");
	return u;
}

struct json_object *ks_ocsf_map_package(struct json_object *inv, struct json_object *unmapped)
{
	static const char *const ocsf[] = {"name", "version", "architecture", "purl", "type", NULL};
	struct json_object *p = json_object_new_object(), *extra = unmapped_part(unmapped, "package"), *v;

	copy(p, inv, "name");
	copy(p, inv, "version");
	copy(p, inv, "architecture");
	copy(p, inv, "purl");
	/* the distribution's package manager installs the operating system's packages */
	json_object_object_add(p, "type_id", json_object_new_int(KS_OCSF_PKG_OS));
	json_object_object_add(p, "type", json_object_new_string("Operating System"));
	if (json_object_object_get_ex(inv, "type", &v)) /* the format: deb or rpm */
		json_object_object_add(
		    p, "package_manager",
		    json_object_new_string(strcmp(json_object_get_string(v), "deb") ? "rpm" : "dpkg"));
	rest(extra, inv, ocsf);
	tidy(unmapped, "package");
	return p;
}
