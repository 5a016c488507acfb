// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/time.h"
#include "host/host.h"
#include "sensors/loader.h" /* before the skeleton: it defines u32/u64 */
#include "lib/log.h"
#include "sensors/watch.h"
#include "kansoku.skel.h"

/* libbpf's warnings (the verifier log among them) are kept so a failed load can show why. */
#define LIBBPF_LOG_LINES 24
static char libbpf_log[LIBBPF_LOG_LINES][256];
static unsigned libbpf_log_next;
static char last_libbpf_error[256];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *text = NULL, *line, *save = NULL;

	if (level == LIBBPF_DEBUG)
		return 0;
	/* the verifier log arrives as one large string: no fixed buffer */
	if (vasprintf(&text, fmt, ap) < 0)
		return 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		snprintf(libbpf_log[libbpf_log_next++ % LIBBPF_LOG_LINES], sizeof(libbpf_log[0]), "%s", line);
		snprintf(last_libbpf_error, sizeof(last_libbpf_error), "%s", line);
		ks_dbg("libbpf: %s", line);
	}
	free(text);
	return 0;
}

static void show_libbpf_log(void)
{
	unsigned i, n = libbpf_log_next < LIBBPF_LOG_LINES ? libbpf_log_next : LIBBPF_LOG_LINES;

	for (i = libbpf_log_next - n; i < libbpf_log_next; i++)
		ks_warn("  libbpf: %s", libbpf_log[i % LIBBPF_LOG_LINES]);
	libbpf_log_next = 0;
}

static int check_prereqs(char *err, size_t errlen)
{
	struct stat st;

	if (geteuid() != 0) {
		snprintf(err, errlen,
		         "kansokud must run as root (it loads BPF programs: needs CAP_BPF, CAP_PERFMON and "
		         "CAP_SYS_ADMIN for the task iterator); run it with sudo or from the systemd unit");
		return -1;
	}
	if (stat("/sys/kernel/btf/vmlinux", &st) < 0) {
		snprintf(err, errlen,
		         "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): kansoku needs a kernel built "
		         "with CONFIG_DEBUG_INFO_BTF=y (Debian, Ubuntu, RHEL 8.2+ and Fedora kernels have it)");
		return -1;
	}
	return 0;
}

static bool is_net_prog(struct bpf_program *prog)
{
	return !strncmp(bpf_program__name(prog), "ks_net_", 7) || !strcmp(bpf_program__name(prog), "ks_seed_socks");
}

static bool is_sec_prog(struct bpf_program *prog)
{
	return !strncmp(bpf_program__name(prog), "ks_sec_", 7);
}

static bool is_file_prog(struct bpf_program *prog)
{
	return !is_net_prog(prog) && !is_sec_prog(prog) && !strncmp(bpf_program__section_name(prog), "tracepoint", 10);
}

static const char *const sec_names[KS_SEC_SENSORS] = {
    [KS_SEC_PTRACE] = "ptrace", [KS_SEC_KMOD] = "kernel_modules", [KS_SEC_SETID] = "setid"};
static const char *const sec_prefixes[KS_SEC_SENSORS] = {
    [KS_SEC_PTRACE] = "ks_sec_ptrace_", [KS_SEC_KMOD] = "ks_sec_kmod_", [KS_SEC_SETID] = "ks_sec_setid_"};

const char *ks_sec_sensor_name(enum ks_sec_sensor s)
{
	return (unsigned)s < KS_SEC_SENSORS ? sec_names[s] : "?";
}

static int sec_sensor_of(struct bpf_program *prog)
{
	int i;

	for (i = 0; i < KS_SEC_SENSORS; i++)
		if (!strncmp(bpf_program__name(prog), sec_prefixes[i], strlen(sec_prefixes[i])))
			return i;
	return -1;
}

/* A security program could not attach: its tracepoint is missing. Say why in terms a user can act on. */
static void sec_missing(struct ks_loader *l, struct bpf_program *prog, int err)
{
	int s = sec_sensor_of(prog);
	const char *tp = strchr(bpf_program__section_name(prog), '/');
	struct ks_sec_state *st;
	struct stat sb;
	size_t n;

	if (s < 0)
		return;
	st = &l->sec_state[s];
	st->missing++;
	n = strlen(st->error);
	if (n >= sizeof(st->error) - 1)
		return;
	if (s == KS_SEC_KMOD && stat("/proc/modules", &sb) < 0)
		snprintf(st->error, sizeof(st->error),
		         "this kernel has no loadable module support (no /proc/modules, no init_module "
		         "tracepoints): no module can be loaded, so there is nothing to observe");
	else
		snprintf(st->error + n, sizeof(st->error) - n, "%s%s: %s (needs CONFIG_FTRACE_SYSCALLS)", n ? "; " : "",
		         tp ? tp + 1 : bpf_program__section_name(prog), strerror(err));
}

/* The programs of one hook flavour, the iterators, and the file and network programs when wanted. */
static void choose_programs(struct kansoku_bpf *skel, const char *flavour, bool files, bool net, bool security)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj)
	{
		const char *sec = bpf_program__section_name(prog);
		bool flavoured = !strncmp(sec, "tp_btf", 6) || !strncmp(sec, "raw_tp", 6);
		bool want = !flavoured || !strncmp(sec, flavour, strlen(flavour));

		if (is_sec_prog(prog))
			want = security;
		else if (is_net_prog(prog))
			want = want && net;
		else if (is_file_prog(prog))
			want = files;
		bpf_program__set_autoload(prog, want);
	}
}

/* libbpf finds syscall tracepoints in tracefs: mount it where a minimal system has not. */
static void ensure_tracefs(void)
{
	struct stat st;

	if (stat("/sys/kernel/tracing/events", &st) == 0 || stat("/sys/kernel/debug/tracing/events", &st) == 0)
		return;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) < 0)
		ks_warn("tracefs is not mounted and mounting it on /sys/kernel/tracing failed: %s", strerror(errno));
	else
		ks_info("mounted tracefs on /sys/kernel/tracing (needed for syscall tracepoints)");
}

static void set_file_config(struct kansoku_bpf *skel, const struct ks_config *cfg, const struct ks_rule *rules,
                            int n_rules)
{
	struct stat st;
	int i;

	for (i = 0; i < n_rules && i < KS_RULES_MAX; i++)
		memcpy((void *)&skel->rodata->ks_rules[i], &rules[i], sizeof(rules[i]));
	skel->rodata->ks_self_tgid = (u32)getpid();
	skel->bss->ks_epoch = ks_boot_ns_now() / NSEC_PER_SEC;
	skel->rodata->ks_agg_window_ns = (u64)cfg->files_window_ms * NSEC_PER_MSEC;
	skel->rodata->ks_file_wakeup_bytes = cfg->wakeup_bytes;
	if (stat("/proc/self/ns/mnt", &st) == 0)
		skel->rodata->ks_host_mntns = (u32)st.st_ino;
	bpf_map__set_max_entries(skel->maps.ks_rb_file, cfg->ringbuf_file_kb * 1024u);
}

static void set_net_config(struct kansoku_bpf *skel, const struct ks_config *cfg)
{
	uint64_t key = 0;
	FILE *f = fopen("/dev/urandom", "re");

	if (!f || fread(&key, sizeof(key), 1, f) != 1)
		key = ks_boot_ns_now() * 0x9e3779b97f4a7c15ull;
	if (f)
		fclose(f);
	skel->rodata->ks_sock_key = key;
	skel->rodata->ks_udp_window_ns = (u64)cfg->net_udp_window_ms * NSEC_PER_MSEC;
	skel->rodata->ks_net_wakeup_bytes = cfg->wakeup_bytes;
	skel->rodata->ks_connect_events = cfg->net_connect_events;
	bpf_map__set_max_entries(skel->maps.ks_rb_net, cfg->ringbuf_net_kb * 1024u);
}

static int try_load(struct ks_loader *l, const struct ks_config *cfg, const char *flavour, bool files, bool net,
                    bool sec, char *err, size_t errlen)
{
	struct kansoku_bpf *skel;
	int rc;

	skel = kansoku_bpf__open();
	if (!skel) {
		snprintf(err, errlen, "opening the BPF object failed: %s", strerror(errno));
		return -1;
	}
	choose_programs(skel, flavour, files, net, sec);
	set_file_config(skel, cfg, l->rules, l->n_rules);
	set_net_config(skel, cfg);
	skel->rodata->ks_sec_host_mntns = skel->rodata->ks_host_mntns;
	skel->rodata->ks_argv_max = cfg->argv_max;
	skel->rodata->ks_wakeup_bytes = cfg->wakeup_bytes;
	bpf_map__set_max_entries(skel->maps.ks_rb_process, cfg->ringbuf_process_kb * 1024u);
	libbpf_log_next = 0;
	rc = kansoku_bpf__load(skel);
	if (rc) {
		ks_warn("the kernel refused the %s%s%s programs; the end of libbpf's log:", flavour,
		        files ? " + file" : "", net ? " + network" : "");
		show_libbpf_log();
		snprintf(err, errlen, "loading the %s%s%s programs failed: %s (libbpf: %s)", flavour,
		         files ? " + file" : "", net ? " + network" : "", strerror(-rc), last_libbpf_error);
		kansoku_bpf__destroy(skel);
		return -1;
	}
	l->skel = skel;
	l->flavour = flavour;
	l->files = files;
	l->net = net;
	l->sec = sec;
	if (files) {
		struct ks_exe_id ids[KS_IGNORE_EXE_MAX];
		u32 k = 0;
		u8 one = 1;
		int fd = bpf_program__fd(skel->progs.ks_fh_file), i,
		    n = ks_watch_ignored_exes(cfg, ids, KS_IGNORE_EXE_MAX);

		for (i = 0; i < n; i++)
			bpf_map__update_elem(skel->maps.ks_ignore_exe, &ids[i], sizeof(ids[i]), &one, sizeof(one),
			                     BPF_ANY);

		bpf_map__update_elem(skel->maps.ks_file_handlers, &k, sizeof(k), &fd, sizeof(fd), BPF_ANY);
		k = 1;
		fd = bpf_program__fd(skel->progs.ks_fh_name);
		bpf_map__update_elem(skel->maps.ks_file_handlers, &k, sizeof(k), &fd, sizeof(fd), BPF_ANY);
	}
	return 0;
}

static int add_link(struct ks_loader *l, struct bpf_program *prog, struct bpf_link *link, char *err, size_t errlen)
{
	if (l->n_hooks == KS_MAX_HOOKS) {
		bpf_link__destroy(link);
		snprintf(err, errlen, "more programs than KS_MAX_HOOKS");
		return -1;
	}
	l->links[l->n_hooks] = link;
	snprintf(l->hooks[l->n_hooks].program, sizeof(l->hooks[0].program), "%s", bpf_program__name(prog));
	snprintf(l->hooks[l->n_hooks].attach, sizeof(l->hooks[0].attach), "%s", bpf_program__section_name(prog));
	l->n_hooks++;
	return 0;
}

static int attach(struct ks_loader *l, char *err, size_t errlen)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, l->skel->obj)
	{
		const char *sec = bpf_program__section_name(prog);
		struct bpf_link *link;

		if (!bpf_program__autoload(prog) || !strncmp(sec, "iter/", 5) || !strcmp(sec, "tracepoint"))
			continue;
		link = bpf_program__attach(prog);
		if (!link && is_sec_prog(prog)) {
			ks_warn("not attached: %s (%s)", sec, strerror(errno));
			sec_missing(l, prog, errno);
			continue;
		}
		if (link && is_sec_prog(prog) && sec_sensor_of(prog) >= 0)
			l->sec_state[sec_sensor_of(prog)].attached++;
		if (!link && (is_file_prog(prog) || is_net_prog(prog))) {
			/* a syscall this kernel or architecture does not have (open on arm64, ...) */
			ks_warn("not attached: %s (%s)", sec, strerror(errno));
			if (is_file_prog(prog))
				l->files_missing++;
			else
				l->net_missing++;
			continue;
		}
		if (!link) {
			snprintf(err, errlen, "attaching %s (%s) failed: %s", bpf_program__name(prog), sec,
			         strerror(errno));
			return -1;
		}
		if (add_link(l, prog, link, err, errlen))
			return -1;
	}
	return 0;
}

static void lockdown_hint(char *err, size_t errlen)
{
	char lockdown[128] = "";
	size_t n = strlen(err);

	ks_read_line("/sys/kernel/security/lockdown", lockdown, sizeof(lockdown));
	if (strstr(lockdown, "[confidentiality]"))
		snprintf(err + n, errlen - n,
		         ". The kernel is in lockdown=confidentiality, which forbids BPF programs that read kernel "
		         "memory: boot with lockdown=integrity (or none) to run kansoku");
	else
		snprintf(err + n, errlen - n,
		         ". kansoku needs Linux 5.8 or later with BTF; the verifier's reason is in the log above "
		         "(please report it with the output of uname -r)");
}

int ks_loader_open(struct ks_loader *l, const struct ks_config *cfg, char *err, size_t errlen)
{
	static const struct {
		bool files, net;
	} combos[] = {{true, true}, {true, false}, {false, true}, {false, false}};
	static const char *const flavours[] = {"tp_btf", "raw_tp"};
	char last[512] = "", files_err[512] = "", net_err[512] = "", sec_err[512] = "";
	unsigned fl, c;
	int sec;

	memset(l, 0, sizeof(*l));
	libbpf_set_print(libbpf_print);
	if (check_prereqs(err, errlen))
		return -1;
	l->nr_cpus = libbpf_num_possible_cpus();
	if (l->nr_cpus <= 0) {
		snprintf(err, errlen, "cannot count CPUs: %s", strerror(-l->nr_cpus));
		return -1;
	}
	if (cfg->files_enabled) {
		l->n_rules = ks_watch_build(cfg, l->rules, KS_RULES_MAX, err, errlen);
		if (l->n_rules < 0)
			return -1;
	}
	ensure_tracefs(); /* the security sensors use syscall tracepoints whatever the config */
	/* Prefer tp_btf (typed, cheaper arguments); raw_tp is the fallback every BTF kernel accepts. File
	 * programs need 5.17+ (bpf_loop, bpf_strncmp), network programs 5.9+ (TCP/UDP iterators): where the
	 * kernel refuses one part, the others go on without it and `kansoku status` says why. The security
	 * sensors are tried with everything first, then the whole search again without them. */
	for (sec = 1; sec >= 0; sec--) {
		for (fl = 0; fl < 2; fl++) {
			if ((fl == 0 && cfg->hooks == KS_HOOKS_RAW_TP) || (fl == 1 && cfg->hooks == KS_HOOKS_TP_BTF))
				continue;
			for (c = 0; c < sizeof(combos) / sizeof(combos[0]); c++) {
				if ((combos[c].files && !cfg->files_enabled) || (combos[c].net && !cfg->net_enabled))
					continue;
				if (try_load(l, cfg, flavours[fl], combos[c].files, combos[c].net, sec, last,
				             sizeof(last)) == 0)
					goto loaded;
				/* the error of the smallest set that still held the part tells best why it fails */
				if (combos[c].files)
					snprintf(files_err, sizeof(files_err), "%s", last);
				if (combos[c].net)
					snprintf(net_err, sizeof(net_err), "%s", last);
				if (sec && !combos[c].files && !combos[c].net)
					snprintf(sec_err, sizeof(sec_err), "%s", last);
			}
			if (fl == 0 && cfg->hooks == KS_HOOKS_TP_BTF)
				break;
			if (fl == 0)
				ks_warn("%s; falling back to raw_tp", last);
		}
	}
	snprintf(err, errlen, "%s%s", last,
	         cfg->hooks == KS_HOOKS_TP_BTF ? "; process.hooks is tp_btf, so no fallback was tried" : "");
	lockdown_hint(err, errlen);
	return -1;
loaded:
	if (attach(l, err, errlen)) {
		ks_loader_close(l);
		return -1;
	}
	if (cfg->files_enabled && !l->files) {
		snprintf(l->files_error, sizeof(l->files_error), "%s", files_err);
		ks_warn("file observation is off: %s", l->files_error);
	}
	if (cfg->net_enabled && !l->net) {
		snprintf(l->net_error, sizeof(l->net_error), "%s", net_err);
		ks_warn("network observation is off: %s", l->net_error);
	}
	if (!l->sec) {
		snprintf(l->sec_error, sizeof(l->sec_error), "%s", sec_err[0] ? sec_err : "the kernel refused them");
		ks_warn("security sensors (ptrace, kernel modules, set-id) are off: %s", l->sec_error);
	}
	ks_info("BPF programs loaded and attached (%s hooks%s%s%s)", l->flavour, l->files ? ", file observation" : "",
	        l->net ? ", network observation" : "", l->sec ? ", security sensors" : "");
	return 0;
}

/* Runs an iterator and returns everything it wrote (malloc'd, *len bytes), or NULL. */
static char *read_iter(struct bpf_program *prog, size_t *len)
{
	struct bpf_link *link;
	char *buf = NULL;
	size_t cap = 0;
	int fd;
	ssize_t n;

	*len = 0;
	link = bpf_program__attach_iter(prog, NULL);
	if (!link) {
		ks_warn("iterator %s: attach failed: %s; what exists now will be learnt as it acts",
		        bpf_program__name(prog), strerror(errno));
		return NULL;
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		ks_warn("iterator %s: %s", bpf_program__name(prog), strerror(errno));
		bpf_link__destroy(link);
		return NULL;
	}
	for (;;) {
		if (cap - *len < 65536) {
			char *p = realloc(buf, cap ? cap * 2 : 1 << 20);

			if (!p)
				break;
			buf = p;
			cap = cap ? cap * 2 : 1 << 20;
		}
		n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	bpf_link__destroy(link);
	return buf;
}

/* Runs an iterator whose records start with struct ks_hdr and hands each to fn. Returns records, or -1. */
static int run_iter(struct bpf_program *prog, int (*fn)(void *ctx, const void *rec, size_t size), void *ctx)
{
	size_t len, off = 0, cap = 0;
	char *buf = read_iter(prog, &len);
	void *rec = NULL;
	int count = 0;

	if (!buf)
		return -1;
	while (off + sizeof(struct ks_hdr) <= len) {
		struct ks_hdr h;

		memcpy(&h, buf + off, sizeof(h));
		if (h.size < sizeof(h) || off + h.size > len)
			break;
		/* records follow each other unpadded: the decoders get an aligned copy (start-up only) */
		if (h.size > cap) {
			void *bigger = realloc(rec, h.size);

			if (!bigger)
				break;
			rec = bigger;
			cap = h.size;
		}
		memcpy(rec, buf + off, h.size);
		fn(ctx, rec, h.size);
		off += h.size;
		count++;
	}
	free(rec);
	free(buf);
	return count;
}

/* An iterator's fixed-size records as one array (*n of them), or NULL. */
static void *iter_array(struct bpf_program *prog, size_t rec_size, size_t *n)
{
	size_t len;
	char *buf = read_iter(prog, &len);

	*n = buf ? len / rec_size : 0;
	return buf;
}

int ks_loader_seed(struct ks_loader *l, int (*fn)(void *ctx, const void *rec, size_t size), void *ctx)
{
	return run_iter(l->skel->progs.ks_seed_tasks, fn, ctx);
}

int ks_loader_seed_socks(struct ks_loader *l, int (*fn)(void *ctx, const void *rec, size_t size), void *ctx)
{
	int a, b;

	if (!l->net)
		return 0;
	l->skel->bss->ks_seed_pass = 0; /* listeners first */
	l->skel->bss->ks_seed_retry = 0;
	a = run_iter(l->skel->progs.ks_seed_socks, fn, ctx);
	l->skel->bss->ks_seed_pass = 1; /* then connections, which look their listener up */
	l->skel->bss->ks_seed_retry = 0;
	b = run_iter(l->skel->progs.ks_seed_socks, fn, ctx);
	return a < 0 || b < 0 ? -1 : a + b;
}

int ks_loader_sock_iter(struct ks_loader *l, enum ks_sock_iter which)
{
	struct bpf_program *prog;

	if (!l->net || which >= KS_SOCK_ITERS || l->sock_iter_failed[which])
		return -1;
	if (!l->sock_iters[which]) {
		prog = which == KS_ITER_TCP ? l->skel->progs.ks_net_tcp_iter : l->skel->progs.ks_net_udp_iter;
		l->sock_iters[which] = bpf_program__attach_iter(prog, NULL);
		if (!l->sock_iters[which]) {
			ks_warn("iterator %s: attach failed: %s; connections whose close is lost stay in the model",
			        bpf_program__name(prog), strerror(errno));
			l->sock_iter_failed[which] = true;
			return -1;
		}
	}
	return bpf_link__fd(l->sock_iters[which]);
}

struct ks_conn_bytes *ks_loader_conn_bytes(struct ks_loader *l, size_t *n)
{
	*n = 0;
	return l->net ? iter_array(l->skel->progs.ks_net_bytes_iter, sizeof(struct ks_conn_bytes), n) : NULL;
}

int ks_loader_ring_fd(struct ks_loader *l, enum ks_event_kind kind)
{
	if (kind == KS_EV_FILE)
		return l->files ? bpf_map__fd(l->skel->maps.ks_rb_file) : -1;
	if (kind == KS_EV_NET)
		return l->net ? bpf_map__fd(l->skel->maps.ks_rb_net) : -1;
	return bpf_map__fd(l->skel->maps.ks_rb_process);
}

void ks_loader_tick(struct ks_loader *l, uint64_t boot_ns)
{
	if (l->files && l->skel->bss)
		l->skel->bss->ks_epoch = boot_ns / NSEC_PER_SEC; /* the verdict cache's clock */
}

int ks_loader_agg_fd(struct ks_loader *l)
{
	return l->files ? bpf_map__fd(l->skel->maps.ks_file_agg) : -1;
}

void ks_loader_drops(struct ks_loader *l, uint64_t out[KS_EV_KIND_MAX])
{
	uint64_t *vals = calloc((size_t)l->nr_cpus, sizeof(uint64_t));
	uint32_t k;
	int cpu;

	memset(out, 0, sizeof(uint64_t) * KS_EV_KIND_MAX);
	if (!vals)
		return;
	for (k = 0; k < KS_EV_KIND_MAX; k++) {
		if (bpf_map__lookup_elem(l->skel->maps.ks_drops, &k, sizeof(k), vals,
		                         sizeof(uint64_t) * (size_t)l->nr_cpus, 0))
			continue;
		for (cpu = 0; cpu < l->nr_cpus; cpu++)
			out[k] += vals[cpu];
	}
	free(vals);
}

void ks_loader_close(struct ks_loader *l)
{
	int i;

	for (i = 0; i < l->n_hooks; i++)
		bpf_link__destroy(l->links[i]);
	for (i = 0; i < KS_SOCK_ITERS; i++)
		bpf_link__destroy(l->sock_iters[i]);
	if (l->skel)
		kansoku_bpf__destroy(l->skel);
	memset(l, 0, sizeof(*l));
}

uint64_t ks_loader_net_missed(struct ks_loader *l)
{
	struct bpf_program *progs[2][3];
	uint64_t total = 0;
	int f, i;

	if (!l->net)
		return 0;
	/* A transition is missed only when every program of the chain skipped it (each was already running on
	 * that CPU), and then each counts it: the least count bounds the real misses. One program's count alone
	 * (what this was) also counts the many transitions a program skipped while another one took them. */
	progs[0][0] = l->skel->progs.ks_net_state_btf;
	progs[0][1] = l->skel->progs.ks_net_state_btf_nested;
	progs[0][2] = l->skel->progs.ks_net_state_btf_nested2;
	progs[1][0] = l->skel->progs.ks_net_state_raw;
	progs[1][1] = l->skel->progs.ks_net_state_raw_nested;
	progs[1][2] = l->skel->progs.ks_net_state_raw_nested2;
	for (f = 0; f < 2; f++) {
		uint64_t least = UINT64_MAX;

		for (i = 0; i < 3; i++) {
			struct bpf_prog_info info;
			__u32 len = sizeof(info);

			memset(&info, 0, sizeof(info));
			if (bpf_program__fd(progs[f][i]) < 0 ||
			    bpf_obj_get_info_by_fd(bpf_program__fd(progs[f][i]), &info, &len) != 0) {
				least = 0; /* this flavour is not loaded */
				break;
			}
			if (info.recursion_misses < least)
				least = info.recursion_misses;
		}
		total += least == UINT64_MAX ? 0 : least;
	}
	return total;
}
