// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sshd's effective configuration. On the running host with sshd installed, `sshd -T` says it exactly
 * (Match blocks aside). Otherwise (an image under --root, or sshd -T failing) sshd_config is parsed the
 * way sshd does: first value wins, Include globs are followed in place, the global section ends at the
 * first Match, and options not set take OpenSSH 9.2's defaults (Debian 12).
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "env.h"

#define SSHD_BIN "/usr/sbin/sshd"

static const char *const defaults[][2] = {
    {"permitrootlogin", "prohibit-password"},
    {"passwordauthentication", "yes"},
    {"permitemptypasswords", "no"},
    {"hostbasedauthentication", "no"},
    {"permituserenvironment", "no"},
    {"ignorerhosts", "yes"},
    {"usepam", "no"},
    {"clientaliveinterval", "0"},
    {"clientalivecountmax", "3"},
    {"maxauthtries", "6"},
    {"logingracetime", "120"},
    {"x11forwarding", "no"},
    {"loglevel", "INFO"},
    {"ciphers", "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,"
                "aes256-gcm@openssh.com"},
    {"macs", "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
             "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,"
             "hmac-sha2-256,hmac-sha2-512,hmac-sha1"},
    {"kexalgorithms", "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,"
                      "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
                      "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
                      "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"},
};

static const char *default_of(const char *kw)
{
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (!strcmp(defaults[i][0], kw))
			return defaults[i][1];
	return NULL;
}

/* "+x" appends to the default list, "-x" removes from it, "^x" puts first (sshd_config(5)). */
static void set_list_option(struct json_object *o, const char *kw, const char *v)
{
	const char *def = default_of(kw);
	char buf[2048];

	if (!def || (v[0] != '+' && v[0] != '-' && v[0] != '^')) {
		json_object_object_add(o, kw, json_object_new_string(v));
		return;
	}
	if (v[0] == '+')
		snprintf(buf, sizeof(buf), "%s,%s", def, v + 1);
	else if (v[0] == '^')
		snprintf(buf, sizeof(buf), "%s,%s", v + 1, def);
	else {
		char copy[2048], *tok, *save = NULL;
		size_t off = 0;

		snprintf(copy, sizeof(copy), "%s", def);
		buf[0] = 0;
		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			char needle[256];

			snprintf(needle, sizeof(needle), ",%s,", tok);
			{
				char hay[2048];

				snprintf(hay, sizeof(hay), ",%s,", v + 1);
				if (strstr(hay, needle))
					continue;
			}
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? "," : "", tok);
			if (off >= sizeof(buf))
				break;
		}
	}
	json_object_object_add(o, kw, json_object_new_string(buf));
}

struct parse {
	struct ks_posture_env *e;
	struct json_object *opts;
	bool in_match;
	char *err;
	size_t errlen;
};

static int parse_file(struct parse *p, const char *path, int depth);

/* One line: keyword, then arguments separated by spaces or one '='; quotes group words. */
static int parse_line(struct parse *p, const char *path, int lineno, char *line, int depth)
{
	char *kw, *args, *s = ks_trim(line);
	char lower[64];
	size_t i;

	if (!*s || *s == '#')
		return 0;
	kw = s;
	s += strcspn(s, " \t=");
	if (*s) {
		*s++ = 0;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '=')
			s++;
		while (*s == ' ' || *s == '\t')
			s++;
	}
	args = s;
	for (i = 0; kw[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)(kw[i] >= 'A' && kw[i] <= 'Z' ? kw[i] + 32 : kw[i]);
	lower[i] = 0;
	if (!*args) {
		snprintf(p->err, p->errlen, "%s line %d: '%s' has no value", path, lineno, kw);
		return -1;
	}
	{
		size_t q = 0;

		for (const char *c = args; *c; c++)
			q += *c == '"';
		if (q % 2) {
			snprintf(p->err, p->errlen, "%s line %d: unbalanced quotes", path, lineno);
			return -1;
		}
	}
	if (!strcmp(lower, "match")) {
		p->in_match = true; /* what follows is conditional: not the global configuration */
		return 0;
	}
	if (!strcmp(lower, "include")) {
		char *tok, *save = NULL;

		if (depth >= 16) {
			snprintf(p->err, p->errlen, "%s line %d: Include nested too deep", path, lineno);
			return -1;
		}
		for (tok = strtok_r(args, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
			char pattern[1024], **files;
			size_t n;

			if (tok[0] == '"') {
				tok++;
				tok[strcspn(tok, "\"")] = 0;
			}
			snprintf(pattern, sizeof(pattern), "%s%s", tok[0] == '/' ? "" : "/etc/ssh/", tok);
			if (ks_root_glob(p->e, pattern, &files, &n)) {
				snprintf(p->err, p->errlen, "%s line %d: cannot expand Include %s", path, lineno, tok);
				return -1;
			}
			for (size_t f = 0; f < n; f++)
				if (parse_file(p, files[f], depth + 1)) {
					ks_strv_free(files, n);
					return -1;
				}
			ks_strv_free(files, n);
		}
		return 0;
	}
	if (p->in_match || json_object_object_get_ex(p->opts, lower, NULL))
		return 0; /* first value wins */
	if (args[0] == '"') {
		args++;
		args[strcspn(args, "\"")] = 0;
	}
	if (!strcmp(lower, "ciphers") || !strcmp(lower, "macs") || !strcmp(lower, "kexalgorithms"))
		set_list_option(p->opts, lower, args);
	else {
		char lv[512];

		/* yes/no style values are case-insensitive: compare them in lower case */
		for (i = 0; args[i] && i + 1 < sizeof(lv); i++)
			lv[i] = (char)(args[i] >= 'A' && args[i] <= 'Z' ? args[i] + 32 : args[i]);
		lv[i] = 0;
		json_object_object_add(p->opts, lower, json_object_new_string(lv));
	}
	return 0;
}

static int parse_file(struct parse *p, const char *path, int depth)
{
	char *text, *line, *next;
	int rc = ks_root_read(p->e, path, &text, NULL), lineno = 0;

	if (rc) {
		snprintf(p->err, p->errlen, "cannot read %s: %s", path, strerror(-rc));
		return -1;
	}
	for (line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		if (strlen(line) != strcspn(line, "\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f")) {
			snprintf(p->err, p->errlen, "%s line %d: control characters in the line", path, lineno);
			free(text);
			return -1;
		}
		if (parse_line(p, path, lineno, line, depth)) {
			free(text);
			return -1;
		}
	}
	free(text);
	return 0;
}

/* `sshd -T`: lower-case "keyword value" lines; NULL with err when it fails. */
static struct json_object *sshd_t(char *err, size_t errlen)
{
	int out[2];
	char buf[65536];
	size_t len = 0;
	pid_t pid;
	int status = 0;
	struct json_object *o;

	if (pipe2(out, O_CLOEXEC))
		return NULL;
	pid = fork();
	if (pid < 0) {
		close(out[0]);
		close(out[1]);
		return NULL;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(out[1], 1);
		dup2(out[1], 2);
		dup2(devnull, 0);
		execl(SSHD_BIN, "sshd", "-T", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	for (;;) { /* bounded: 5 s, then the child is killed */
		struct pollfd pf = {.fd = out[0], .events = POLLIN};
		ssize_t n;

		if (poll(&pf, 1, 5000) <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		n = read(out[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len + 1 >= sizeof(buf))
			break;
	}
	close(out[0]);
	buf[len] = 0;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		buf[strcspn(buf, "\n")] = 0;
		snprintf(err, errlen, "sshd -T failed: %.200s", buf[0] ? buf : "no output");
		return NULL;
	}
	o = json_object_new_object();
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *sp = strchr(line, ' ');

		if (!sp)
			continue;
		*sp = 0;
		if (!json_object_object_get_ex(o, line, NULL))
			json_object_object_add(o, line, json_object_new_string(sp + 1));
	}
	return o;
}

struct json_object *ks_facts_sshd(struct ks_posture_env *e)
{
	struct stat st;
	struct parse p = {.e = e, .err = e->sshd_err, .errlen = sizeof(e->sshd_err)};
	bool have_bin = !ks_root_stat(e, SSHD_BIN, &st, true),
	     have_cfg = !ks_root_stat(e, "/etc/ssh/sshd_config", &st, true);
	char why[256] = "";

	if (e->sshd_loaded)
		return e->sshd;
	e->sshd_loaded = true;
	e->sshd_err[0] = e->sshd_t_err[0] = 0;
	e->sshd_absent = false;
	if (!have_bin && !have_cfg) {
		e->sshd_absent = true;
		return NULL;
	}
	if (e->live && have_bin && e->cfg.use_sshd_t) {
		e->sshd = sshd_t(why, sizeof(why));
		if (e->sshd) {
			snprintf(e->sshd_source, sizeof(e->sshd_source), "sshd -T");
			return e->sshd;
		}
		/* e.g. no host keys or no /run/sshd while sshd is stopped: the files still say what it would do */
		snprintf(e->sshd_t_err, sizeof(e->sshd_t_err), "%s", why[0] ? why : "sshd -T could not be run");
	}
	if (!have_cfg) {
		snprintf(e->sshd_err, sizeof(e->sshd_err), "sshd is installed but /etc/ssh/sshd_config is missing%s%s",
		         why[0] ? "; " : "", why);
		return NULL;
	}
	p.opts = json_object_new_object();
	if (parse_file(&p, "/etc/ssh/sshd_config", 0)) {
		json_object_put(p.opts);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (!json_object_object_get_ex(p.opts, defaults[i][0], NULL))
			json_object_object_add(p.opts, defaults[i][0], json_object_new_string(defaults[i][1]));
	e->sshd = p.opts;
	snprintf(e->sshd_source, sizeof(e->sshd_source), "sshd_config");
	return e->sshd;
}

/* ---- the evaluator: params.option with allowed | forbid | min ---- */

static int sshd_validate(struct json_object *params, char *err, size_t errlen)
{
	int n = !!ks_param(params, "allowed") + !!ks_param(params, "forbid") + !!ks_param(params, "min");

	if (ks_need_str(params, "option", err, errlen) || ks_opt_strv(params, "allowed", err, errlen) ||
	    ks_opt_strv(params, "forbid", err, errlen))
		return -1;
	if (n != 1 || (ks_param(params, "min") && !ks_param_str(params, "min"))) {
		snprintf(err, errlen, "params: exactly one of 'allowed', 'forbid' (lists) or 'min' (a number)");
		return -1;
	}
	return 0;
}

static int sshd_run(struct ks_posture_env *e, struct json_object *params, struct ks_check_result *r)
{
	const char *opt = ks_param_str(params, "option"), *v;
	struct json_object *o = ks_facts_sshd(e), *val, *arr;

	if (!o) {
		if (e->sshd_absent)
			return ks_result_na(r, "sshd is not installed");
		return ks_result_error(r, "%s", e->sshd_err);
	}
	if (!json_object_object_get_ex(o, opt, &val))
		return ks_result_error(r, "sshd option '%s' is unknown to %s", opt, e->sshd_source);
	v = json_object_get_string(val);
	ks_result_actual(r, "%s", v);
	if ((arr = ks_param(params, "allowed"))) {
		char buf[256] = "";
		size_t off = 0;

		for (size_t i = 0; i < json_object_array_length(arr); i++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? " or " : "",
			                        json_object_get_string(json_object_array_get_idx(arr, i)));
		ks_result_expected(r, "%s", buf);
		return ks_param_in(arr, v) ? KS_CHK_PASS : KS_CHK_FAIL;
	}
	if ((arr = ks_param(params, "forbid"))) {
		char copy[2048], *tok, *save = NULL;

		ks_result_expected(r, "none matching %s", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
		snprintf(copy, sizeof(copy), "%s", v);
		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			for (size_t i = 0; i < json_object_array_length(arr); i++)
				if (strstr(tok, json_object_get_string(json_object_array_get_idx(arr, i)))) {
					ks_result_item(r, tok, "%s allows %s", opt, tok);
					break;
				}
		return r->n_items ? KS_CHK_FAIL : KS_CHK_PASS;
	}
	ks_result_expected(r, ">= %s", ks_param_str(params, "min"));
	{
		char *end;
		long n = strtol(v, &end, 10);

		return *v && !*end && n >= atol(ks_param_str(params, "min")) ? KS_CHK_PASS : KS_CHK_FAIL;
	}
}

const struct ks_evaluator ks_eval_sshd = {"sshd", 0, sshd_validate, sshd_run, NULL};
