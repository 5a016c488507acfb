// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Inventory: the device (OCSF 5001), installed software (5020), accounts (5003), exposure. Everything is
 * read through the posture root; password hashes are classified, never copied. */
#include <errno.h>
#include <ifaddrs.h>
#include <json-c/json.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utmp.h>

#include "env.h"
#include "host/host.h"

static void add_str(struct json_object *o, const char *key, const char *v)
{
	if (v && *v)
		json_object_object_add(o, key, json_object_new_string(v));
}

static void add_line(struct ks_posture_env *e, struct json_object *o, const char *key, const char *path)
{
	char buf[512];

	if (!ks_root_line(e, path, buf, sizeof(buf)))
		add_str(o, key, buf);
}

/* ---- device ---- */

static void os_release(struct ks_posture_env *e, struct json_object *os)
{
	ks_facts_os(e);
	add_str(os, "name", e->os_name);
	add_str(os, "version", e->os_version_id);
	add_str(os, "pretty_name", e->os_pretty);
	add_str(os, "distro", e->os_id);
}

/* What kind of link an interface is, from sysfs: its ARPHRD type, a wireless directory, a device behind it. */
static const char *link_type(struct ks_posture_env *e, const char *sysdir)
{
	char path[512], type[16];
	struct stat st;
	int t;

	snprintf(path, sizeof(path), "%s/type", sysdir);
	if (ks_root_line(e, path, type, sizeof(type)))
		return NULL;
	t = atoi(type);
	if (t == 772) /* ARPHRD_LOOPBACK */
		return "loopback";
	snprintf(path, sizeof(path), "%s/wireless", sysdir);
	if (!ks_root_stat(e, path, &st, false))
		return "wireless";
	/* ARPHRD_TUNNEL, TUNNEL6, SIT, IPGRE, IP6GRE, NONE (tun, wireguard) */
	if (t == 768 || t == 769 || t == 776 || t == 778 || t == 823 || t == 65534)
		return "tunnel";
	snprintf(path, sizeof(path), "%s/device", sysdir);
	if (t == 1 && !ks_root_stat(e, path, &st, false)) /* ARPHRD_ETHER with a device behind it */
		return "ethernet";
	return "virtual"; /* bridges, veth, bonds, dummies... */
}

static void interfaces(struct ks_posture_env *e, struct json_object *dev)
{
	struct json_object *arr = json_object_new_array();
	char **names;
	size_t n;

	if (!ks_root_glob(e, "/sys/class/net/*", &names, &n)) {
		for (size_t i = 0; i < n; i++) {
			struct json_object *ifc = json_object_new_object(), *ips = json_object_new_array();
			const char *name = strrchr(names[i], '/') + 1;
			char path[512], mac[64];

			add_str(ifc, "name", name);
			add_str(ifc, "link_type", link_type(e, names[i]));
			snprintf(path, sizeof(path), "%s/address", names[i]);
			if (!ks_root_line(e, path, mac, sizeof(mac)) && strcmp(mac, "00:00:00:00:00:00"))
				add_str(ifc, "mac", mac);
			if (e->live) { /* addresses are only known for the running host */
				struct ifaddrs *ifa, *p;

				if (!getifaddrs(&ifa)) {
					for (p = ifa; p; p = p->ifa_next) {
						char ip[INET6_ADDRSTRLEN];
						const void *a;

						if (!p->ifa_addr || strcmp(p->ifa_name, name))
							continue;
						if (p->ifa_addr->sa_family == AF_INET)
							a = &((struct sockaddr_in *)p->ifa_addr)->sin_addr;
						else if (p->ifa_addr->sa_family == AF_INET6)
							a = &((struct sockaddr_in6 *)p->ifa_addr)->sin6_addr;
						else
							continue;
						if (inet_ntop(p->ifa_addr->sa_family, a, ip, sizeof(ip)))
							json_object_array_add(ips, json_object_new_string(ip));
					}
					freeifaddrs(ifa);
				}
			}
			json_object_object_add(ifc, "ip_addresses", ips);
			json_object_array_add(arr, ifc);
		}
		ks_strv_free(names, n);
	}
	json_object_object_add(dev, "network_interfaces", arr);
}

static void virtualization(struct ks_posture_env *e, struct json_object *dev)
{
	char vendor[256] = "", product[256] = "", *cpu;
	bool hyper = false;

	ks_root_line(e, "/sys/class/dmi/id/sys_vendor", vendor, sizeof(vendor));
	ks_root_line(e, "/sys/class/dmi/id/product_name", product, sizeof(product));
	if (!ks_root_read(e, "/proc/cpuinfo", &cpu, NULL)) {
		hyper = strstr(cpu, " hypervisor") != NULL;
		free(cpu);
	}
	json_object_object_add(dev, "is_virtual", json_object_new_boolean(hyper));
	if (vendor[0] || product[0]) {
		char hw[520];

		snprintf(hw, sizeof(hw), "%s%s%s", vendor, vendor[0] && product[0] ? " " : "", product);
		add_str(dev, "hypervisor", hyper ? hw : NULL);
		add_str(dev, "hw_model", hw);
	}
}

/* The live host's id is the daemon's own (it may be generated); an image's is read through the root, so
 * an audited image never shows the host's id, and says so when it has none. */
static void device_uid(struct ks_posture_env *e, struct json_object *dev)
{
	char id[128];

	if (e->live && e->device_uid[0]) {
		add_str(dev, "uid", e->device_uid);
		add_str(dev, "machine_id_source", e->device_uid_source);
		return;
	}
	for (int i = 0; i < KS_MACHINE_ID_PATHS; i++)
		if (!ks_root_line(e, ks_machine_id_paths[i], id, sizeof(id)) && ks_machine_id_valid(id)) {
			add_str(dev, "uid", id);
			add_str(dev, "machine_id_source", ks_machine_id_paths[i]);
			return;
		}
	add_str(dev, "machine_id_source", "none");
}

struct json_object *ks_inventory_device(struct ks_posture_env *e)
{
	struct json_object *dev = json_object_new_object(), *os = json_object_new_object();
	char buf[512];

	json_object_object_add(dev, "type_id", json_object_new_int(1));
	if (e->live && !gethostname(buf, sizeof(buf)))
		add_str(dev, "hostname", buf);
	else
		add_line(e, dev, "hostname", "/etc/hostname");
	device_uid(e, dev);
	add_line(e, dev, "boot_uid", "/proc/sys/kernel/random/boot_id");
	json_object_object_add(os, "type_id", json_object_new_int(200));
	os_release(e, os);
	add_line(e, os, "kernel_release", "/proc/sys/kernel/osrelease");
	if (e->live) {
		struct utsname u;

		if (!uname(&u))
			add_str(os, "cpu_arch", u.machine);
	}
	json_object_object_add(dev, "os", os);
	if (!ks_root_line(e, "/proc/uptime", buf, sizeof(buf)))
		json_object_object_add(dev, "uptime_s", json_object_new_int64(atoll(buf)));
	if (!ks_root_line(e, "/etc/timezone", buf, sizeof(buf)))
		add_str(dev, "time_zone", buf);
	else if (!ks_root_readlink(e, "/etc/localtime", buf, sizeof(buf))) {
		const char *z = strstr(buf, "zoneinfo/");

		add_str(dev, "time_zone", z ? z + 9 : buf);
	}
	virtualization(e, dev);
	interfaces(e, dev);
	return dev;
}

/* ---- software ---- */

/* purl (package-url spec): the version's ':' (epoch) and '+' are percent-encoded. */
static void purl(char *out, size_t len, const char *type, const char *ns, const char *name, const char *ver,
                 const char *arch)
{
	char v[256];
	size_t o = 0;

	for (const char *p = ver; *p && o + 4 < sizeof(v); p++)
		if (*p == ':' || *p == '+' || *p == '%' || *p == ' ')
			o += (size_t)snprintf(v + o, sizeof(v) - o, "%%%02X", (unsigned char)*p);
		else
			v[o++] = *p;
	v[o] = 0;
	snprintf(out, len, "pkg:%s/%s/%s@%s?arch=%s", type, ns, name, v, arch);
}

static void add_package(struct ks_posture_env *e, struct json_object *arr, const char *type, const char *name,
                        const char *ver, const char *arch)
{
	struct json_object *p = json_object_new_object();
	char u[800];

	add_str(p, "name", name);
	add_str(p, "version", ver);
	add_str(p, "architecture", arch);
	add_str(p, "type", type);
	purl(u, sizeof(u), type, e->os_id[0] ? e->os_id : (strcmp(type, "deb") ? "rpm" : "debian"), name, ver, arch);
	add_str(p, "purl", u);
	json_object_array_add(arr, p);
}

static void dpkg_status(struct ks_posture_env *e, struct json_object *arr, char *text)
{
	char name[256] = "", ver[256] = "", arch[64] = "", status[128] = "";
	char *line, *next;

	ks_facts_os(e);
	for (line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!*line) { /* end of a stanza */
			if (name[0] && !strcmp(status, "install ok installed"))
				add_package(e, arr, "deb", name, ver, arch);
			name[0] = ver[0] = arch[0] = status[0] = 0;
			continue;
		}
		if (!strncmp(line, "Package: ", 9))
			snprintf(name, sizeof(name), "%s", line + 9);
		else if (!strncmp(line, "Version: ", 9))
			snprintf(ver, sizeof(ver), "%s", line + 9);
		else if (!strncmp(line, "Architecture: ", 14))
			snprintf(arch, sizeof(arch), "%s", line + 14);
		else if (!strncmp(line, "Status: ", 8))
			snprintf(status, sizeof(status), "%s", line + 8);
	}
	if (name[0] && !strcmp(status, "install ok installed")) /* a last stanza without a blank line */
		add_package(e, arr, "deb", name, ver, arch);
}

/* rpm's database is not a text file: ask rpm itself, on the running host only. */
static void rpm_packages(struct ks_posture_env *e, struct json_object *arr)
{
	struct stat st;
	FILE *f;
	char line[1024];

	if (!e->live || ks_root_stat(e, "/usr/bin/rpm", &st, true) ||
	    (ks_root_stat(e, "/var/lib/rpm", &st, true) && ks_root_stat(e, "/usr/lib/sysimage/rpm", &st, true)))
		return;
	f = popen("/usr/bin/rpm -qa --qf '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\n' 2>/dev/null", "r");
	if (!f)
		return;
	ks_facts_os(e);
	while (fgets(line, sizeof(line), f)) {
		char *name = strtok(line, "\t\n"), *ver = strtok(NULL, "\t\n"), *arch = strtok(NULL, "\t\n");

		if (!name || !ver || !arch)
			continue;
		add_package(e, arr, "rpm", name, !strncmp(ver, "0:", 2) ? ver + 2 : ver, arch);
	}
	pclose(f);
}

struct json_object *ks_inventory_packages(struct ks_posture_env *e, char *err, size_t errlen)
{
	struct json_object *arr = json_object_new_array();
	char *text;
	int rc = ks_root_read(e, "/var/lib/dpkg/status", &text, NULL);

	err[0] = 0;
	if (!rc) {
		dpkg_status(e, arr, text);
		free(text);
	}
	rpm_packages(e, arr);
	if (rc && !json_object_array_length(arr))
		snprintf(err, errlen, "no package database: /var/lib/dpkg/status: %s", strerror(-rc));
	return arr;
}

/* ---- accounts ---- */

static bool member(const struct ks_grp *g, const char *user)
{
	size_t n = strlen(user);

	for (const char *p = g->members; *p;) {
		size_t len = strcspn(p, ",");

		if (len == n && !strncmp(p, user, n))
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

static struct json_object *logged_in(struct ks_posture_env *e)
{
	struct json_object *arr = json_object_new_array();
	char *text;
	size_t len;

	if (ks_root_read(e, "/run/utmp", &text, &len) && ks_root_read(e, "/var/run/utmp", &text, &len))
		return arr;
	for (size_t off = 0; off + sizeof(struct utmp) <= len; off += sizeof(struct utmp)) {
		struct utmp u;
		struct json_object *s;
		char buf[UT_HOSTSIZE + 1];

		memcpy(&u, text + off, sizeof(u));
		if (u.ut_type != USER_PROCESS)
			continue;
		s = json_object_new_object();
		snprintf(buf, sizeof(buf), "%.*s", (int)sizeof(u.ut_user), u.ut_user);
		add_str(s, "user", buf);
		snprintf(buf, sizeof(buf), "%.*s", (int)sizeof(u.ut_line), u.ut_line);
		add_str(s, "tty", buf);
		snprintf(buf, sizeof(buf), "%.*s", (int)sizeof(u.ut_host), u.ut_host);
		add_str(s, "host", buf);
		json_object_object_add(s, "pid", json_object_new_int(u.ut_pid));
		json_object_object_add(s, "login_time", json_object_new_int64((int64_t)u.ut_tv.tv_sec * 1000));
		json_object_array_add(arr, s);
	}
	free(text);
	return arr;
}

/* Who sudoers grants something: the first word of each rule ("alice", "%admins"), from /etc/sudoers and
 * the files of /etc/sudoers.d sudo reads (no '.' in the name, no trailing '~'). */
static struct json_object *sudo_subjects(struct ks_posture_env *e)
{
	struct json_object *set = json_object_new_object();
	char **files = NULL, *text, *line, *save;
	size_t n = 0;

	if (ks_root_glob(e, "/etc/sudoers.d/*", &files, &n))
		n = 0;
	for (size_t i = 0; i <= n; i++) {
		const char *path = i == n ? "/etc/sudoers" : files[i], *b = strrchr(path, '/') + 1;

		if (i < n && !ks_sudoers_d_name(b))
			continue;
		if (ks_root_read(e, path, &text, NULL))
			continue;
		save = NULL;
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *l = ks_trim(line), word[128];

			if (!*l || *l == '#' || *l == '@' || !strncmp(l, "Defaults", 8) ||
			    !strncmp(l, "User_Alias", 10) || !strncmp(l, "Cmnd_Alias", 10) ||
			    !strncmp(l, "Host_Alias", 10) || !strncmp(l, "Runas_Alias", 11))
				continue;
			snprintf(word, sizeof(word), "%.*s", (int)strcspn(l, " \t"), l);
			json_object_object_add(set, word, json_object_new_boolean(true));
		}
		free(text);
	}
	ks_strv_free(files, n);
	return set;
}

struct json_object *ks_inventory_users(struct ks_posture_env *e)
{
	struct json_object *doc = json_object_new_object(), *users = json_object_new_array(),
	                   *groups = json_object_new_array(), *uid0 = json_object_new_array();
	size_t npw = 0, ngr = 0, nsp = 0;
	int err;
	const struct ks_pw *pw = ks_facts_passwd(e, &npw, &err);
	const struct ks_grp *gr = ks_facts_group(e, &ngr, &err);
	const struct ks_sp *sp = ks_facts_shadow(e, &nsp, &err);
	struct json_object *granted = sudo_subjects(e);

	for (size_t i = 0; pw && i < npw; i++) {
		struct json_object *u = json_object_new_object(), *ug = json_object_new_array();
		const struct ks_sp *s = NULL;
		bool sudo = false;

		for (size_t j = 0; sp && j < nsp; j++)
			if (!strcmp(sp[j].name, pw[i].name))
				s = &sp[j];
		add_str(u, "name", pw[i].name);
		json_object_object_add(u, "uid", json_object_new_int64(pw[i].uid));
		json_object_object_add(u, "gid", json_object_new_int64(pw[i].gid));
		add_str(u, "home", pw[i].home);
		add_str(u, "shell", pw[i].shell);
		json_object_object_add(u, "interactive", json_object_new_boolean(ks_login_shell(pw[i].shell)));
		json_object_object_add(u, "password",
		                       json_object_new_string(strcmp(pw[i].pw, "x") ? ks_pw_state(pw[i].pw)
		                                              : s                   ? ks_pw_state(s->pw)
		                                                                    : "none"));
		if (s && s->last_change >= 0)
			json_object_object_add(u, "password_last_change_days", json_object_new_int64(s->last_change));
		if (s && s->max_days >= 0)
			json_object_object_add(u, "password_max_days", json_object_new_int64(s->max_days));
		for (size_t j = 0; gr && j < ngr; j++)
			if (gr[j].gid == pw[i].gid || member(&gr[j], pw[i].name)) {
				json_object_array_add(ug, json_object_new_string(gr[j].name));
				if (!strcmp(gr[j].name, "sudo") || !strcmp(gr[j].name, "wheel") ||
				    !strcmp(gr[j].name, "admin"))
					sudo = true;
			}
		json_object_object_add(u, "groups", ug);
		json_object_object_add(u, "sudo", json_object_new_boolean(sudo || pw[i].uid == 0));
		if (pw[i].uid == 0)
			json_object_array_add(uid0, json_object_new_string(pw[i].name));
		json_object_array_add(users, u);
	}
	for (size_t j = 0; gr && j < ngr; j++) {
		struct json_object *g = json_object_new_object();

		add_str(g, "name", gr[j].name);
		json_object_object_add(g, "gid", json_object_new_int64(gr[j].gid));
		json_object_object_add(g, "members", json_object_new_string(gr[j].members));
		json_object_array_add(groups, g);
	}
	json_object_object_add(doc, "users", users);
	json_object_object_add(doc, "groups", groups);
	json_object_object_add(doc, "uid0", uid0);
	json_object_object_add(doc, "logged_in", logged_in(e));
	json_object_put(granted);
	return doc;
}

/* ---- kernel security state ---- */

struct json_object *ks_inventory_kernel_security(struct ks_posture_env *e)
{
	struct json_object *k = json_object_new_object();
	char buf[512];
	char *sb;
	size_t len;

	if (!ks_root_line(e, "/sys/kernel/security/lockdown", buf, sizeof(buf))) {
		char *o = strchr(buf, '['), *c = o ? strchr(o, ']') : NULL;

		if (c) {
			*c = 0;
			add_str(k, "lockdown", o + 1);
		}
	} else
		add_str(k, "lockdown", "none");
	add_line(e, k, "lsm", "/sys/kernel/security/lsm");
	if (!ks_root_line(e, "/sys/fs/selinux/enforce", buf, sizeof(buf)))
		add_str(k, "selinux", !strcmp(buf, "1") ? "enforcing" : "permissive");
	else
		add_str(k, "selinux", "disabled");
	if (!ks_root_line(e, "/sys/module/apparmor/parameters/enabled", buf, sizeof(buf)) && !strcmp(buf, "Y"))
		add_str(k, "apparmor", "enabled");
	else
		add_str(k, "apparmor", "disabled");
	/* EFI variable: 4 attribute bytes, then the value */
	if (!ks_root_read(e, "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c", &sb, &len)) {
		json_object_object_add(k, "secure_boot", json_object_new_boolean(len >= 5 && sb[4] == 1));
		free(sb);
	} else
		add_str(k, "secure_boot", "unknown (no EFI variables)");
	add_line(e, k, "modules_disabled", "/proc/sys/kernel/modules_disabled");
	add_line(e, k, "tainted", "/proc/sys/kernel/tainted");
	add_line(e, k, "unprivileged_bpf_disabled", "/proc/sys/kernel/unprivileged_bpf_disabled");
	add_line(e, k, "kexec_load_disabled", "/proc/sys/kernel/kexec_load_disabled");
	return k;
}

/* ---- exposure ---- */

struct json_object *ks_listeners_json(const struct ks_listener *l, size_t n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		add_str(o, "protocol", l[i].proto);
		add_str(o, "address", l[i].addr);
		json_object_object_add(o, "port", json_object_new_int(l[i].port));
		json_object_object_add(o, "loopback", json_object_new_boolean(l[i].loopback));
		if (l[i].pid)
			json_object_object_add(o, "pid", json_object_new_int64(l[i].pid));
		add_str(o, "process", l[i].comm);
		json_object_array_add(arr, o);
	}
	return arr;
}

struct json_object *ks_inventory_listeners(struct ks_posture_env *e)
{
	size_t n;
	const struct ks_listener *l = ks_facts_listeners(e, &n);

	return ks_listeners_json(l, n);
}

struct json_object *ks_inventory_processes(struct ks_posture_env *e)
{
	struct json_object *o = json_object_new_object(), *unpackaged = json_object_new_array();
	size_t n, m = 0;
	const struct ks_proc_exe *p = ks_facts_procs(e, &n);
	const char **paths = calloc(n + 1, sizeof(*paths));
	bool *owned = calloc(n + 1, sizeof(*owned));
	char err[256];

	json_object_object_add(o, "total", json_object_new_int64((int64_t)n));
	if (paths && owned) {
		for (size_t i = 0; i < n; i++)
			if (p[i].exe[0] == '/' && !strstr(p[i].exe, " (deleted)"))
				paths[m++] = p[i].exe;
		if (!ks_facts_pkg_owned(e, paths, m, owned, err, sizeof(err))) {
			for (size_t i = 0; i < m; i++) {
				bool dup = false;

				for (size_t j = 0; j < i && !dup; j++)
					dup = !strcmp(paths[i], paths[j]);
				if (!owned[i] && !dup)
					json_object_array_add(unpackaged, json_object_new_string(paths[i]));
			}
		} else
			add_str(o, "unpackaged_error", err);
	}
	free(paths);
	free(owned);
	json_object_object_add(o, "unpackaged_executables", unpackaged);
	return o;
}
