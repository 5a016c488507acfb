// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kansokud: loads the BPF programs, then runs one epoll loop that owns all state. Data flows one way:
 *
 *   ring buffers (sensors/loader.c) -> decoders (sensors/process.c, file_access.c, net.c)
 *     -> live model (model/proctable.c, model/netmodel.c) -> encoders (pipeline/ocsf.c)
 *     -> ks_pipeline_emit -> the sinks registered here: outputs, recent ring, control followers
 *   posture (posture/) evaluates the host beside the loop and emits through the same pipeline
 *   control socket -> daemon/commands.c (status, ps, events, posture...)
 *   timer -> ring drain (batched wake-ups), output flush, heartbeat
 *   signalfd -> stop (INT, TERM) or reopen outputs (HUP)
 *
 * main() below reads in that order: arguments, config, pipeline and sinks, sensors, posture, loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "config/config.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "sensors/file_access.h"
#include "lib/log.h"
#include "lib/time.h"
#include "sensors/net.h"
#include "sensors/net_reconcile.h"
#include "pipeline/ocsf.h"
#include "outputs/outputs.h"
#include "posture/posture.h"
#include "sensors/process.h"
#include "sensors/rings.h"
#include "model/proctable.h"
#include "daemon/recent.h"
#include "detect/judge.h"
#include "host/users.h"

/* Opens an OCSF Application Lifecycle event about kansokud itself, stamped now. */
static void begin_app_event(struct ks_daemon *d, int activity_id, const char *activity_name, int severity_id)
{
	ks_ocsf_begin(&d->pl, &ks_ocsf_app_lifecycle, activity_id, activity_name, severity_id,
	              ks_host_wall_ms(&d->pl.host, ks_boot_ns_now()));
	ks_ocsf_product(&d->pl, "app", "kansokud");
}

/* kansoku's own lifecycle as OCSF Application Lifecycle: Start (3), Stop (4), heartbeat (99). */
static void emit_lifecycle(struct ks_daemon *d, int activity_id, const char *activity_name)
{
	struct ks_pipeline *pl = &d->pl;
	struct json_object *st = ks_status_json(d);
	const char *s = json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN);

	begin_app_event(d, activity_id, activity_name, KS_OCSF_SEV_INFO);
	ks_ocsf_message(pl, "kansokud %s %s", KS_VERSION,
	                activity_id == KS_OCSF_APP_START  ? "started"
	                : activity_id == KS_OCSF_APP_STOP ? "stopping"
	                                                  : "is running");
	ks_jw_key(&pl->jw, "unmapped");
	ks_jw_json(&pl->jw, s, strlen(s));
	ks_ocsf_end(pl);
	ks_pipeline_emit(pl, KS_OCSF_APP_LIFECYCLE);
	json_object_put(st);
}

/*
 * Drops are reported as they happen, not only in the next heartbeat: a High-severity event naming how
 * many records of each kind the kernel could not queue since the last report (the ring buffer was full).
 */
static void check_drops(struct ks_daemon *d)
{
	struct ks_jw *w = &d->pl.jw;
	uint64_t drops[KS_EV_KIND_MAX], total = 0, fresh = 0;
	int k;

	ks_loader_drops(&d->loader, drops);
	for (k = 1; k < KS_EV_KIND_MAX; k++) {
		total += drops[k];
		fresh += drops[k] - d->drops_reported[k];
	}
	if (drops[KS_EV_NET] != d->drops_reported[KS_EV_NET]) {
		ks_net_reconciler_soon(d->reconciler); /* Closes may be among them: repair the model now */
	}
	if (!fresh)
		return;
	ks_warn("the kernel dropped %llu events (ring buffer full while the event loop was behind, loop nice %d): "
	        "raise the ringbuf sizes or priority_boost",
	        (unsigned long long)fresh, d->loop_nice);
	begin_app_event(d, KS_OCSF_APP_OTHER, "Events Dropped", KS_OCSF_SEV_HIGH);
	ks_jw_kcstr(w, "message", "events were lost in the kernel: its ring buffer was full");
	ks_jw_key(w, "unmapped");
	ks_jw_obj_begin(w);
	ks_jw_key(w, "dropped");
	ks_jw_obj_begin(w);
	for (k = 1; k < KS_EV_KIND_MAX; k++) {
		if (drops[k] != d->drops_reported[k])
			ks_jw_ku64(w, ks_event_kind_name((unsigned)k), drops[k] - d->drops_reported[k]);
		d->drops_reported[k] = drops[k];
	}
	ks_jw_obj_end(w);
	ks_jw_ku64(w, "dropped_total", total);
	ks_jw_obj_end(w);
	ks_ocsf_end(&d->pl);
	ks_pipeline_emit(&d->pl, KS_OCSF_APP_LIFECYCLE);
}

/*
 * Losses of an output (disk full, a network output's queue full) are announced once the output works
 * again, so the event reaches the receiver that missed the others: Events Lost, with the count.
 */
static void check_output_losses(struct ks_daemon *d)
{
	struct ks_output_stats os[KS_MAX_OUTPUTS];
	size_t n = ks_outputs_stats(d->outs, os, KS_MAX_OUTPUTS);
	struct ks_jw *w = &d->pl.jw;

	for (size_t i = 0; i < n && i < KS_MAX_OUTPUTS; i++) {
		if (os[i].lost <= d->out_lost_reported[i] || !os[i].healthy)
			continue;
		ks_warn("output %s (%s): %llu events lost while it failed", os[i].name[0] ? os[i].name : os[i].kind,
		        os[i].target, (unsigned long long)(os[i].lost - d->out_lost_reported[i]));
		begin_app_event(d, KS_OCSF_APP_OTHER, "Events Lost", KS_OCSF_SEV_HIGH);
		ks_jw_kcstr(w, "message", "an output lost events while it failed; it works again");
		ks_jw_key(w, "unmapped");
		ks_jw_obj_begin(w);
		ks_jw_kcstr(w, "output", os[i].name[0] ? os[i].name : os[i].kind);
		ks_jw_kcstr(w, "target", os[i].target);
		ks_jw_ku64(w, "lost", os[i].lost - d->out_lost_reported[i]);
		ks_jw_ku64(w, "lost_total", os[i].lost);
		ks_jw_obj_end(w);
		ks_ocsf_end(&d->pl);
		d->out_lost_reported[i] = os[i].lost;
		ks_pipeline_emit(&d->pl, KS_OCSF_APP_LIFECYCLE);
	}
}

/*
 * metadata.sequence never repeats within a boot, across restarts: blocks of a million are reserved in
 * state_dir/sequence before use (a killed daemon skips the rest of its block), and a clean stop records
 * the exact value. With the device uid and boot id it lets a receiver drop resent duplicates.
 */
static void seq_save(struct ks_daemon *d, uint64_t v)
{
	char path[KS_CFG_PATH_MAX + 32], tmp[KS_CFG_PATH_MAX + 40], text[64];
	int fd, n;

	snprintf(path, sizeof(path), "%s/sequence", d->cfg.state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(text, sizeof(text), "%s %llu\n", d->pl.host.boot_id, (unsigned long long)v);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, (size_t)n) != n || fsync(fd) || rename(tmp, path))
		ks_warn("cannot record the event sequence in %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void seq_load(struct ks_daemon *d)
{
	char path[KS_CFG_PATH_MAX + 32], boot[64] = "";
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/sequence", d->cfg.state_dir);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%63s %llu", boot, &v) != 2 || strcmp(boot, d->pl.host.boot_id))
			v = 0; /* another boot: the boot id tells the sequences apart */
		fclose(f);
	}
	d->pl.seq = v;
	d->seq_reserved = v + 1000000;
	seq_save(d, d->seq_reserved);
}

static void seq_tick(struct ks_daemon *d)
{
	if (d->pl.seq + 200000 >= d->seq_reserved) {
		d->seq_reserved = d->pl.seq + 1000000;
		seq_save(d, d->seq_reserved);
	}
}

static int on_record(void *ctx, void *data, size_t size)
{
	ks_process_handle(ctx, data, size);
	return 0;
}

static int on_file_record(void *ctx, void *data, size_t size)
{
	ks_file_handle(ctx, data, size);
	return 0;
}

static int on_net_record(void *ctx, void *data, size_t size)
{
	ks_net_handle(ctx, data, size);
	return 0;
}

static int on_net_seed(void *ctx, const void *rec, size_t size)
{
	return ks_net_seed(ctx, rec, size);
}

static int on_seed(void *ctx, const void *rec, size_t size)
{
	return ks_process_seed(ctx, rec, size, "/proc");
}

static void drain(struct ks_daemon *d)
{
	ks_rings_drain(d->rings, d->stop);
	ks_files_tick(&d->pl, ks_boot_ns_now(), d->stop);
	ks_net_tick(&d->pl, ks_boot_ns_now(), d->stop);
	ks_outputs_flush(d->outs);
}

static void ring_io(struct ks_loop_fd *w, uint32_t events)
{
	(void)events;
	drain(w->ctx);
}

/* Exited processes kept longer for held file events, at most: past it (a long aggregation window on a
 * host starting thousands of processes a second) the oldest go, and a held event of theirs names its
 * process by pid and start time only. ~400 bytes each. */
#define KS_EXITED_HELD_MAX 16384

/* Exited processes stay findable for 5-6 s, as their last records may still be queued, and longer if a
 * file event of theirs is held for its aggregation window: no process exits before its own file event,
 * so the oldest held event's time bounds them all. */
static void purge_exited(struct ks_daemon *d)
{
	uint64_t before = ks_boot_ns_now() - 5 * NSEC_PER_SEC, held = ks_files_held_since(&d->pl);

	ks_proctable_purge(d->pl.procs, held < before ? held : before);
	ks_proctable_purge_beyond(d->pl.procs, before, KS_EXITED_HELD_MAX);
}

static void timer_io(struct ks_loop_fd *w, uint32_t events)
{
	struct ks_daemon *d = w->ctx;
	uint64_t expirations;
	unsigned per_beat;
	(void)events;

	if (read(w->fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	drain(d);
	seq_tick(d);
	ks_loader_tick(&d->loader, ks_boot_ns_now());
	if (ks_boot_ns_now() - d->drops_checked_ns >= NSEC_PER_SEC) {
		d->drops_checked_ns = ks_boot_ns_now();
		check_drops(d);
		check_output_losses(d);
		purge_exited(d);
	}
	ks_net_reconciler_tick(d->reconciler, &d->pl, &d->loader, ks_boot_ns_now(),
	                       ks_rings_drained_ns(d->rings, KS_RING_NET));
	if (d->posture)
		ks_posture_tick(d->posture, &d->pl, ks_host_wall_ms(&d->pl.host, ks_boot_ns_now()),
		                d->pl.counters.net_listen_changes);
	ks_judge_tick(d->judge, &d->pl, ks_boot_ns_now()); /* detections quiet long enough close */
	d->ticks += (unsigned)expirations;
	per_beat = d->cfg.heartbeat_s * 1000 / d->cfg.poll_ms;
	if (per_beat && d->ticks >= per_beat) {
		d->ticks = 0;
		ks_host_refresh_clock(&d->pl.host); /* follow NTP steps and suspend */
		emit_lifecycle(d, KS_OCSF_APP_OTHER, "Heartbeat");
		ks_outputs_flush(d->outs);
	}
}

static void signal_io(struct ks_loop_fd *w, uint32_t events)
{
	struct ks_daemon *d = w->ctx;
	struct signalfd_siginfo si;
	(void)events;

	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			char err[1024];

			ks_info("SIGHUP: reopening outputs, reloading rules");
			drain(d);
			ks_outputs_reopen(d->outs);
			if (d->judge && ks_daemon_reload_rules(d, err, sizeof(err)))
				ks_err("rules not reloaded, the running rules stay: %s", err);
		} else {
			ks_info("%s: stopping", strsignal((int)si.ssi_signo));
			d->stop = true;
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: kansokud [--config FILE] [--check-config] [--log-level LEVEL] [--root DIR]\n"
	           "       kansokud --audit [--root DIR] [--config FILE]\n"
	           "       kansokud --print-config-keys | --version | --help\n\n"
	           "Observes processes, files and network from the kernel (eBPF), evaluates the host's posture\n"
	           "and writes OCSF events.\n\n"
	           "  -c, --config FILE     configuration (default " KS_DEFAULT_CONFIG ")\n"
	           "  -n, --check-config    validate the configuration and its paths, then exit\n"
	           "  -l, --log-level L     error, warning, info or debug (overrides the config)\n"
	           "  -r, --root DIR        posture checks read files below DIR (overrides posture.root)\n"
	           "  -a, --audit           evaluate the posture once, print the snapshot (JSON), exit;\n"
	           "                        no BPF, no daemon: for images mounted under --root\n"
	           "  -K, --print-config-keys  every config key: type, bounds, default, meaning\n"
	           "  -V, --version         print the version\n"
	           "  -h, --help            this help\n");
}

/* --audit: the posture once, through a root, printed as JSON. Needs neither BPF nor root privileges
 * beyond reading the files. */
static int run_audit(const char *config_path, const char *root)
{
	static struct ks_config cfg;
	static struct ks_host host;
	struct ks_posture *p;
	struct json_object *doc;
	char err[1024];
	struct timespec now;

	if (config_path) {
		if (ks_config_load(&cfg, config_path, err, sizeof(err))) {
			ks_err("%s", err);
			return 1;
		}
	} else
		ks_config_defaults(&cfg);
	if (root)
		snprintf(cfg.posture.root, sizeof(cfg.posture.root), "%s", root);
	p = ks_posture_new(&cfg.posture, NULL, err, sizeof(err));
	if (!p) {
		ks_err("posture: %s", err);
		return 1;
	}
	/* this host's id may have been generated by the daemon; read it, never create it (nor use it for an
	 * image: the inventory reads an image's own) */
	if (!ks_host_device_id(&host, "/", cfg.state_dir, false, err, sizeof(err)) && host.machine_id[0])
		ks_posture_set_device(p, host.machine_id, host.machine_id_source);
	clock_gettime(CLOCK_REALTIME, &now);
	ks_posture_snapshot(p, NULL, (int64_t)now.tv_sec * (int64_t)MSEC_PER_SEC + now.tv_nsec / (long)NSEC_PER_MSEC);
	doc = ks_posture_snapshot_json(p);
	printf("%s\n", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	ks_posture_free(p);
	return 0;
}

static int setup_fds(struct ks_daemon *d, char *err, size_t errlen)
{
	struct itimerspec its = {0};
	sigset_t mask;
	int fd;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		return -1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		return -1;
	}
	d->w_signal = (struct ks_loop_fd){.fd = fd, .fn = signal_io, .ctx = d};
	ks_loop_add(d->epfd, &d->w_signal, EPOLLIN);

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "timerfd: %s", strerror(errno));
		return -1;
	}
	its.it_interval.tv_sec = d->cfg.poll_ms / 1000;
	its.it_interval.tv_nsec = (long)((d->cfg.poll_ms % MSEC_PER_SEC) * NSEC_PER_MSEC);
	its.it_value = its.it_interval;
	timerfd_settime(fd, 0, &its, NULL);
	d->w_timer = (struct ks_loop_fd){.fd = fd, .fn = timer_io, .ctx = d};
	ks_loop_add(d->epfd, &d->w_timer, EPOLLIN);
	return 0;
}

/* What the command line asked for. */
struct ks_args {
	const char *config_path, *level, *root;
	bool check_only, audit, config_given;
};

/* Parses the command line; returns -1 to go on, or the exit code (--version, --help, a usage error). */
static int parse_args(int argc, char **argv, struct ks_args *a)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 'n'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"root", required_argument, NULL, 'r'},
	    {"audit", no_argument, NULL, 'a'},
	    {"print-config-keys", no_argument, NULL, 'K'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	*a = (struct ks_args){.config_path = KS_DEFAULT_CONFIG};
	while ((opt = getopt_long(argc, argv, "c:nl:r:aKVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			a->config_path = optarg;
			a->config_given = true;
			break;
		case 'r':
			a->root = optarg;
			break;
		case 'a':
			a->audit = true;
			break;
		case 'n':
			a->check_only = true;
			break;
		case 'l':
			a->level = optarg;
			break;
		case 'K':
			ks_config_print_keys(stdout);
			return 0;
		case 'V':
			printf("kansokud %s (wire format %d, OCSF %s)\n", KS_VERSION, KS_WIRE_VERSION, KS_OCSF_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kansokud: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/* Loads the config and applies the command line over it; returns -1 to go on, or the exit code. */
static int load_config(struct ks_daemon *d, const struct ks_args *a)
{
	char err[1024];

	if (ks_config_load(&d->cfg, a->config_path, err, sizeof(err))) {
		ks_err("%s", err);
		return 1;
	}
	if (a->level) {
		int i, found = -1;

		for (i = 0; ks_log_level_names[i]; i++)
			if (!strcmp(a->level, ks_log_level_names[i]))
				found = i;
		if (found < 0) {
			ks_err("--log-level: expected error, warning, info or debug");
			return 2;
		}
		d->cfg.log_level = found;
	}
	ks_log_set_level((enum ks_log_level)d->cfg.log_level);
	if (a->root)
		snprintf(d->cfg.posture.root, sizeof(d->cfg.posture.root), "%s", a->root);
	if (ks_config_check_paths(&d->cfg, err, sizeof(err))) {
		ks_err("%s", err);
		return 1;
	}
	if (a->check_only) {
		printf("%s: configuration OK\n", a->config_path);
		return 0;
	}
	return -1;
}

/* The pipeline's sinks: outputs first (what must not be lost), then the in-memory views. */
static void sink_outputs(void *ctx, int class_uid, const char *line, size_t len)
{
	(void)class_uid;
	ks_outputs_write(ctx, line, len);
}

static void sink_recent(void *ctx, int class_uid, const char *line, size_t len)
{
	ks_recent_add(ctx, class_uid, line, len);
}

static void sink_alerts(void *ctx, int class_uid, const char *line, size_t len)
{
	if (class_uid == KS_OCSF_DETECTION_FINDING)
		ks_recent_add(ctx, class_uid, line, len);
}

static void sink_followers(void *ctx, int class_uid, const char *line, size_t len)
{
	ks_control_broadcast(ctx, class_uid, line, len);
}

/* The live model, the sinks and the control socket: everything but BPF. Returns 0, or -1 (logged). */
static int open_pipeline(struct ks_daemon *d)
{
	char err[1024];

	d->started_boot_ns = ks_boot_ns_now();
	ks_host_load(&d->pl.host, "/");
	if (ks_host_device_id(&d->pl.host, "/", d->cfg.state_dir, true, err, sizeof(err))) {
		ks_err("device id: %s", err);
		return -1;
	}
	ks_info("device id %s (from %s)", d->pl.host.machine_id, d->pl.host.machine_id_source);
	d->started_wall_ms = ks_host_wall_ms(&d->pl.host, d->started_boot_ns);
	if (getrandom(&d->pl.instance, sizeof(d->pl.instance), 0) != sizeof(d->pl.instance))
		d->pl.instance = d->started_boot_ns ^ (uint64_t)getpid();
	ks_jw_init(&d->pl.jw);
	seq_load(d);
	d->pl.users = ks_users_new("/etc/passwd");
	d->pl.procs = ks_proctable_new(d->pl.host.boot_id);
	d->recent = ks_recent_new(d->cfg.recent_events, d->cfg.recent_events * KS_RECENT_EVENT_BYTES, true);
	d->alerts = ks_recent_new(KS_RECENT_ALERTS, KS_RECENT_ALERTS * KS_RECENT_ALERT_BYTES, false);
	if (!d->pl.users || !d->pl.procs || !d->recent || !d->alerts) {
		ks_err("out of memory");
		return -1;
	}
	d->outs = ks_outputs_open(&d->cfg, err, sizeof(err));
	if (!d->outs) {
		ks_err("%s", err);
		return -1;
	}
	if (setup_fds(d, err, sizeof(err))) {
		ks_err("%s", err);
		return -1;
	}
	d->ctl = ks_control_open(d->cfg.socket, d->epfd, ks_commands_handle, d, err, sizeof(err));
	if (!d->ctl) {
		ks_err("%s", err);
		return -1;
	}
	ks_pipeline_add_sink(&d->pl, "outputs", sink_outputs, d->outs);
	ks_pipeline_add_sink(&d->pl, "recent", sink_recent, d->recent);
	ks_pipeline_add_sink(&d->pl, "alerts", sink_alerts, d->alerts);
	ks_pipeline_add_sink(&d->pl, "followers", sink_followers, d->ctl);
	return 0;
}

/* Loads and attaches the BPF programs, then the models that decode what they send. Returns 0 or -1. */
static int open_sensors(struct ks_daemon *d)
{
	char err[1024];

	if (ks_loader_open(&d->loader, &d->cfg, err, sizeof(err))) {
		ks_err("%s", err);
		return -1;
	}
	if (d->loader.files) {
		d->pl.files = ks_files_new(d->loader.rules, d->loader.n_rules, ks_loader_agg_fd(&d->loader),
		                           (uint64_t)d->cfg.files_window_ms * NSEC_PER_MSEC);
		if (!d->pl.files) {
			ks_err("out of memory");
			return -1;
		}
	}
	if (d->loader.net) {
		d->pl.net = ks_netmodel_new((uint64_t)d->cfg.net_accept_wait_ms * NSEC_PER_MSEC);
		if (!d->pl.net) {
			ks_err("out of memory");
			return -1;
		}
		d->pl.net->short_lived_ns = (uint64_t)d->cfg.net_short_lived_ms * NSEC_PER_MSEC;
		d->reconciler = ks_net_reconciler_new();
		if (!d->reconciler) {
			ks_err("out of memory");
			return -1;
		}
	}
	return 0;
}

/* Posture runs beside the loop; a catalog error stops the start: a check silently off is worse than no
 * daemon. Returns 0 or -1. */
static int open_posture(struct ks_daemon *d)
{
	char err[1024] = "";

	if (!d->cfg.posture.enabled)
		return 0;
	d->posture = ks_posture_new(&d->cfg.posture, d->cfg.state_dir, err, sizeof(err));
	if (!d->posture) {
		ks_err("posture: %s", err);
		return -1;
	}
	ks_posture_set_device(d->posture, d->pl.host.machine_id, d->pl.host.machine_id_source);
	/* evaluations run on the posture thread; the loop hands it the model's listeners and, through an
	 * evaluator, the pids that exec'd, and emits what it finds */
	if (ks_posture_start(d->posture, d->pl.net ? ks_posture_model_listeners : NULL, &d->pl, err, sizeof(err)) ||
	    ks_pipeline_add_evaluator(&d->pl, "posture", ks_posture_eval, d->posture)) {
		ks_err("posture: %s", err[0] ? err : "no room for its evaluator");
		return -1;
	}
	ks_posture_on_snapshot(d->posture, ks_commands_snapshot_done, d);
	return 0;
}

/* The detection rules judge every event after the sinks have it; a rule file that does not load stops the
 * start, as a posture catalog does: rules silently off are worse than no daemon. Returns 0 or -1. */
static int open_rules(struct ks_daemon *d)
{
	char err[1024];

	if (!d->cfg.rules.enabled)
		return 0;
	d->judge = ks_judge_new();
	if (!d->judge) {
		ks_err("out of memory");
		return -1;
	}
	if (ks_judge_load(d->judge, &d->cfg.rules, err, sizeof(err))) {
		ks_err("rules: %s", err);
		return -1;
	}
	ks_pipeline_add_evaluator(&d->pl, "rules", ks_judge_event, d->judge);
	return 0;
}

/* Ring buffers into the loop, then what already runs: attached first, seeded second, so a process cannot
 * fall between the two. Returns 0 or -1. */
static int start_observing(struct ks_daemon *d)
{
	const ks_ring_fn fns[KS_RING_MAX] = {on_record, on_file_record, on_net_record};
	char err[256];
	int seeded, socks;

	d->rings = ks_rings_new(&d->loader, d->pl.procs, fns, &d->pl, err, sizeof(err));
	if (!d->rings) {
		ks_err("%s", err);
		return -1;
	}
	d->w_ring = (struct ks_loop_fd){.fd = ks_rings_fd(d->rings), .fn = ring_io, .ctx = d};
	ks_loop_add(d->epfd, &d->w_ring, EPOLLIN);
	seeded = ks_loader_seed(&d->loader, on_seed, &d->pl);
	socks = ks_loader_seed_socks(&d->loader, on_net_seed, &d->pl);
	ks_info("%d running processes and %d sockets loaded; writing events to %d output(s); control socket %s", seeded,
	        socks, d->cfg.n_outputs, d->cfg.socket);
	return 0;
}

/*
 * The loop's thread at nice -priority_boost: it consumes what the kernel produces, and on a host whose CPUs
 * are busy a loop at the default weight waited in the run queue for seconds (schedstat: 6.3 s waiting, 0.2 s
 * running during a 50,000-connection close burst) while the rings overflowed; a higher weight is spent only
 * while there are events to handle. Only this thread: the posture thread and the output senders were
 * started before and keep their priority (on Linux a nice value is per thread). Not fatal: a daemon
 * without CAP_SYS_NICE runs unboosted and says so.
 */
static void boost_loop(struct ks_daemon *d)
{
	id_t tid = (id_t)gettid();

	if (d->cfg.priority_boost && setpriority(PRIO_PROCESS, tid, -(int)d->cfg.priority_boost))
		ks_warn("priority_boost %u: cannot raise the event loop's priority (%s): it runs at the default "
		        "weight and may lose events on a busy host; grant CAP_SYS_NICE or set priority_boost: 0",
		        d->cfg.priority_boost, strerror(errno));
	errno = 0;
	d->loop_nice = getpriority(PRIO_PROCESS, tid);
}

/* The event loop, until a stop signal. Returns 0 or -1. */
static int run_loop(struct ks_daemon *d)
{
	while (!d->stop) {
		struct epoll_event evs[32];
		int i, n = epoll_wait(d->epfd, evs, 32, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ks_err("epoll_wait: %s", strerror(errno));
			return -1;
		}
		for (i = 0; i < n; i++) {
			struct ks_loop_fd *w = evs[i].data.ptr;

			w->fn(w, evs[i].events);
		}
	}
	return 0;
}

/* Stop: detach first so nothing new arrives, then drain what is queued and say goodbye. */
static void stop_observing(struct ks_daemon *d)
{
	for (int i = 0; i < d->loader.n_hooks; i++) {
		bpf_link__destroy(d->loader.links[i]);
		d->loader.links[i] = NULL;
	}
	drain(d);
	emit_lifecycle(d, KS_OCSF_APP_STOP, "Stop");
	ks_outputs_flush(d->outs);
	seq_save(d, d->pl.seq); /* a clean stop: the next start continues right after */
}

static void close_all(struct ks_daemon *d)
{
	ks_control_close(d->ctl);
	ks_judge_free(d->judge);
	ks_posture_free(d->posture);
	ks_rings_free(d->rings);
	ks_net_reconciler_free(d->reconciler); /* before the loader: its thread reads the loader's iterators */
	ks_loader_close(&d->loader);
	ks_outputs_close(d->outs);
	ks_files_free(d->pl.files);
	ks_netmodel_free(d->pl.net);
	ks_recent_free(d->recent);
	ks_recent_free(d->alerts);
	ks_proctable_free(d->pl.procs);
	ks_users_free(d->pl.users);
	ks_jw_free(&d->pl.jw);
	free(d->pl.device_json);
	ks_pipeline_free_actors(&d->pl);
	if (d->w_signal.fd > 0)
		close(d->w_signal.fd);
	if (d->w_timer.fd > 0)
		close(d->w_timer.fd);
	if (d->epfd > 0)
		close(d->epfd);
}

int main(int argc, char **argv)
{
	static struct ks_daemon d; /* large: keep it off the stack */
	struct ks_args args;
	sigset_t mask;
	int rc;

	ks_log_set_prefix("kansokud");
	/* Blocks of 128 KiB and more (a posture file read, the rule engine's tables, libbpf's BTF) in mappings of
	 * their own, given back when freed. Left to itself glibc raises this threshold to the largest block
	 * freed so far (libbpf frees multi-MiB BTF buffers at load): later large blocks then come from a heap
	 * whose freed middle is never returned (~3 MiB of an idle daemon's RSS, more on a busy host:
	 * bench/memory.py). No hot path allocates blocks that large. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	/* block the signals from the very start: they are read from a signalfd in the loop */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = parse_args(argc, argv, &args);
	if (rc >= 0)
		return rc;
	if (args.audit)
		return run_audit(args.config_given ? args.config_path : NULL, args.root);
	if (!args.check_only && geteuid() != 0) {
		ks_err("kansokud must run as root: it loads BPF programs (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN); "
		       "run it with sudo or from the systemd unit");
		return 1;
	}
	rc = load_config(&d, &args);
	if (rc >= 0)
		return rc;

	rc = 1;
	if (open_pipeline(&d) || open_rules(&d) || open_sensors(&d) || open_posture(&d) || start_observing(&d))
		goto cleanup;
	boost_loop(&d);
	emit_lifecycle(&d, KS_OCSF_APP_START, "Start");
	drain(&d);
	if (run_loop(&d))
		goto cleanup;
	stop_observing(&d);
	rc = 0;
cleanup:
	close_all(&d);
	return rc;
}
