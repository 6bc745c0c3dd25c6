#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "confval.h"

/* inih (Debian's build) reads lines of at most 199 bytes and splits
 * longer ones; conf_load() refuses those up front, so values stay below
 * this. */
#define VALUE_MAX	180

struct loader {
	struct conf	*c;
	char		*err;
	size_t		 errlen;
	char		 dir[PATH_MAX];	/* the conf file's folder */
};

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->database, sizeof(c->database), "var/backfills.db");
	c->durability_full = 1;
	c->max_body = 64 * 1024;
	c->max_answer = 8 << 20;
	c->busy_timeout = 5000;
	c->max_runs = 100000;
	c->require_auth = 0;
	snprintf(c->cors_origin, sizeof(c->cors_origin), "*");
	c->log_level = LOG_INFO;
	c->sandbox = 1;
	c->http_error_codes = 1;
	snprintf(c->project_name, sizeof(c->project_name), "backfills");
	snprintf(c->metrics_allow, sizeof(c->metrics_allow), "127.0.0.1 ::1");
	c->run_lease = 60;
	c->request_deadline = 25;
	c->retry.retries = 0;
	c->retry.delay = 5;
	c->retry.max_delay = 60;
	c->retry.exponential = 1;
	c->file_mode = 0600;
}

mode_t
conf_umask(const struct conf *c)
{
	return c->file_mode == 0640 ? 027 : 077;
}

/* A duration in seconds in [lo, hi]: a whole number with an optional s,
 * m or h suffix. Returns 0 or -1. */
static int
parse_seconds(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
	int64_t	 ms;

	if (confval_duration(v, 0, lo * 1000, hi * 1000, &ms) < 0)
		return -1;
	*out = ms / 1000;
	return 0;
}

/* Binary multiples a byte count may carry: K and M, and G for sizes. */
static const struct confval_unit bytes[] = {
	{ "K", 1 << 10 }, { "k", 1 << 10 }, { "M", 1 << 20 }, { "m", 1 << 20 },
	{ "G", 1 << 30 }, { "g", 1 << 30 }
};

/* Parses a whole decimal number in [lo, hi], with an optional K or M
 * (binary) suffix when units is set. Returns 0 or -1. */
static int
parse_num(const char *v, int64_t lo, int64_t hi, int units, int64_t *out)
{
	return confval_scaled(v, bytes, units ? 4 : 0, 1, lo, hi, out);
}

/* A size in bytes with an optional K, M or G suffix; 0 allowed. */
static int
parse_size(const char *v, int64_t *out)
{
	return confval_scaled(v, bytes, 6, 1, 0, 1LL << 40, out);
}

static int
parse_bool(const char *v, int *out)
{
	static const char *yes[] = { "on", "yes", "true", "1" };
	static const char *no[] = { "off", "no", "false", "0" };
	size_t	 i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

static int
set_str(char *dst, size_t dstlen, const char *v)
{
	return (size_t)snprintf(dst, dstlen, "%s", v) < dstlen ? 0 : -1;
}

/* Whether every entry of a list of addresses and networks parses. */
static int
addr_list_ok(const char *v)
{
	char	 one[64];
	size_t	 n;

	for (;;) {
		v += strspn(v, " ,");
		if (*v == '\0')
			return 1;
		n = strcspn(v, " ,");
		if (n >= sizeof(one))
			return 0;
		memcpy(one, v, n);
		one[n] = '\0';
		if (addr_match(one, NULL) < 0)
			return 0;
		v += n;
	}
}

/* inih callback: returns 1 to go on, 0 to stop with err set. */

/* dir/rel into out, its folder resolved (no "conf/../var" left) when it
 * exists. Returns 0, or -1 when it does not fit. */
static int
join_tidy(const char *dir, const char *rel, char *out, size_t outlen)
{
	char	 joined[PATH_MAX], real[PATH_MAX], *slash;

	if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", dir, rel) >=
	    sizeof(joined))
		return -1;
	slash = strrchr(joined, '/');
	*slash = '\0';
	if (realpath(joined, real) != NULL)
		return (size_t)snprintf(out, outlen, "%s/%s",
		    strcmp(real, "/") == 0 ? "" : real, slash + 1) < outlen ?
		    0 : -1;
	*slash = '/';
	return set_str(out, outlen, joined);
}

static int
on_key(void *user, const char *section, const char *key, const char *v)
{
	struct loader	*l = user;
	struct conf	*c = l->c;
	int64_t		 n;
	int		 b, rc = -1;
	const char	*why = "bad value";

	if (l->err[0] != '\0')
		return 0;	/* keep the first problem; apply nothing after it */
	if (section[0] != '\0') {
		snprintf(l->err, l->errlen, "section [%s] is not used; "
		    "write keys without sections", section);
		return 0;
	}
	if (strcmp(key, "database") == 0) {
		why = "must be a path";
		if (v[0] == '\0')
			rc = -1;
		else if (v[0] == '/' || l->dir[0] == '\0' ||
		    strncmp(v, "postgresql://", 13) == 0 ||
		    strncmp(v, "postgres://", 11) == 0)
			rc = set_str(c->database, sizeof(c->database), v);
		else
			rc = join_tidy(l->dir, v, c->database,
			    sizeof(c->database));
	} else if (strcmp(key, "durability") == 0) {
		why = "must be full or normal";
		if (strcmp(v, "full") == 0)
			rc = 0, c->durability_full = 1;
		else if (strcmp(v, "normal") == 0)
			rc = 0, c->durability_full = 0;
	} else if (strcmp(key, "max_body") == 0) {
		why = "must be bytes from 64 to 16M (K and M suffixes allowed)";
		if ((rc = parse_num(v, 64, 16 << 20, 1, &n)) == 0)
			c->max_body = (size_t)n;
	} else if (strcmp(key, "max_answer") == 0) {
		why = "must be bytes from 64K to 1G (K, M and G suffixes)";
		if ((rc = parse_size(v, &n)) == 0 &&
		    (n < (64 << 10) || n > (1 << 30)))
			rc = -1;
		if (rc == 0)
			c->max_answer = (size_t)n;
	} else if (strcmp(key, "busy_timeout") == 0) {
		why = "must be milliseconds from 0 to 600000";
		if ((rc = parse_num(v, 0, 600000, 0, &n)) == 0)
			c->busy_timeout = (int)n;
	} else if (strcmp(key, "max_runs") == 0) {
		why = "must be a whole number from 1 to 10000000";
		if ((rc = parse_num(v, 1, 10000000, 0, &n)) == 0)
			c->max_runs = n;
	} else if (strcmp(key, "max_db_size") == 0) {
		why = "must be bytes (K, M or G suffixes), 0 for no cap, up to 1 TiB";
		if ((rc = parse_size(v, &n)) == 0)
			c->max_db_size = n;
	} else if (strcmp(key, "require_authentication") == 0) {
		why = "must be on or off";
		if ((rc = parse_bool(v, &b)) == 0)
			c->require_auth = b;
	} else if (strcmp(key, "sandbox") == 0) {
		why = "must be on or off";
		if ((rc = parse_bool(v, &b)) == 0)
			c->sandbox = b;
	} else if (strcmp(key, "file_mode") == 0) {
		why = "must be 0600 or 0640";
		if (strcmp(v, "0600") == 0 || strcmp(v, "0640") == 0)
			rc = 0, c->file_mode = v[2] == '4' ? 0640 : 0600;
	} else if (strcmp(key, "jwt_secret") == 0) {
		why = "must be 1 to 180 characters";
		rc = v[0] == '\0' || strlen(v) > VALUE_MAX ? -1 :
		    set_str(c->jwt_secret, sizeof(c->jwt_secret), v);
	} else if (strcmp(key, "cors_origin") == 0) {
		why = "must be an origin, * or empty, up to 180 characters";
		rc = strlen(v) > VALUE_MAX ? -1 :
		    set_str(c->cors_origin, sizeof(c->cors_origin), v);
	} else if (strcmp(key, "http_error_codes") == 0) {
		why = "must be on or off";
		if ((rc = parse_bool(v, &b)) == 0)
			c->http_error_codes = b;
	} else if (strcmp(key, "project_name") == 0) {
		why = "must be 1 to 180 characters";
		rc = v[0] == '\0' || strlen(v) > VALUE_MAX ? -1 :
		    set_str(c->project_name, sizeof(c->project_name), v);
	} else if (strcmp(key, "metrics_allow") == 0) {
		why = "must be addresses or networks (a.b.c.d/n, ::1), "
		    "separated by spaces or commas, up to 180 characters";
		rc = strlen(v) > VALUE_MAX || !addr_list_ok(v) ? -1 :
		    set_str(c->metrics_allow, sizeof(c->metrics_allow), v);
	} else if (strcmp(key, "max_requests") == 0) {
		why = "must be a whole number from 0 (no limit) to 1000000000";
		if ((rc = parse_num(v, 0, 1000000000, 0, &n)) == 0)
			c->max_requests = n;
	} else if (strcmp(key, "run_lease") == 0) {
		why = "must be seconds from 5 to 86400 (s, m, h suffixes)";
		if ((rc = parse_seconds(v, 5, 86400, &n)) == 0)
			c->run_lease = n;
	} else if (strcmp(key, "request_deadline") == 0) {
		why = "must be seconds from 0 (none) to 3600 (s, m, h "
		    "suffixes), below the web server's read timeout";
		if ((rc = parse_seconds(v, 0, 3600, &n)) == 0)
			c->request_deadline = n;
	} else if (strcmp(key, "retries") == 0) {
		why = "must be a whole number from 0 to 100";
		if ((rc = parse_num(v, 0, 100, 0, &n)) == 0)
			c->retry.retries = n;
	} else if (strcmp(key, "retry_delay") == 0) {
		why = "must be seconds from 0 to 86400 (s, m, h suffixes)";
		if ((rc = parse_seconds(v, 0, 86400, &n)) == 0)
			c->retry.delay = n;
	} else if (strcmp(key, "retry_max_delay") == 0) {
		why = "must be seconds from 0 to 86400 (s, m, h suffixes)";
		if ((rc = parse_seconds(v, 0, 86400, &n)) == 0)
			c->retry.max_delay = n;
	} else if (strcmp(key, "retry_exponential_backoff") == 0) {
		why = "must be on or off";
		if ((rc = parse_bool(v, &b)) == 0)
			c->retry.exponential = b;
	} else if (strcmp(key, "log_level") == 0) {
		static const char *names[] =
		    { "error", "warn", "info", "debug" };
		why = "must be error, warn, info or debug";
		for (b = 0; b < 4; b++)
			if (strcmp(v, names[b]) == 0) {
				c->log_level = (enum log_level)b;
				rc = 0;
			}
	} else {
		snprintf(l->err, l->errlen, "unknown key \"%s\"", key);
		return 0;
	}
	if (rc != 0) {
		snprintf(l->err, l->errlen, "key \"%s\" %s", key, why);
		return 0;
	}
	return 1;
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	struct loader	 l = { c, NULL, 0, "" };
	char		 msg[512] = "";
	const char	*slash;
	int		 rc;

	l.err = msg;
	l.errlen = sizeof(msg);
	if ((slash = strrchr(path, '/')) != NULL)
		snprintf(l.dir, sizeof(l.dir), "%.*s",
		    (int)(slash - path == 0 ? 1 : slash - path), path);
	else if (getcwd(l.dir, sizeof(l.dir)) == NULL)
		l.dir[0] = '\0';
	if ((rc = confval_long_line(path)) > 0) {
		snprintf(err, errlen, "%s:%d: line longer than %d bytes", path,
		    rc, CONFVAL_LINE_MAX);
		return -1;
	}
	rc = ini_parse(path, on_key, &l);
	if (rc == -1) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, rc,
		    msg[0] ? msg : "not a \"key = value\" line");
		return -1;
	}
	set_str(c->path, sizeof(c->path), path);
	return 0;
}

int
conf_locate(const char *flag, char *out, size_t outlen, char *err,
    size_t errlen)
{
	/* Beside the program, a checkout's conf/, an installed PREFIX's
	 * etc/, and /etc (PREFIX=/usr). */
	static const char *const rel[] = { "/backfills.conf",
	    "/../conf/backfills.conf", "/../etc/backfills/backfills.conf" };
	static const char *const sys = "/etc/backfills/backfills.conf";
	char		 exe[PATH_MAX], a[PATH_MAX + 40];
	const char	*env;
	ssize_t		 n;
	size_t		 i;
	char		*slash;

	if (flag != NULL && flag[0] != '\0')
		return set_str(out, outlen, flag) == 0 ? 0 :
		    (snprintf(err, errlen, "conf path too long"), -1);
	if ((env = getenv("BACKFILLS_CONF")) != NULL && env[0] != '\0')
		return set_str(out, outlen, env) == 0 ? 0 :
		    (snprintf(err, errlen, "BACKFILLS_CONF too long"), -1);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	for (i = 0; n > 0 && i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(a, sizeof(a), "%s%s", exe, rel[i]);
		if (access(a, R_OK) == 0)
			return set_str(out, outlen, realpath(a, exe) ? exe :
			    a) == 0 ? 0 :
			    (snprintf(err, errlen, "conf path too long"), -1);
	}
	if (access(sys, R_OK) == 0)
		return set_str(out, outlen, sys);
	snprintf(err, errlen, "no conf found beside the program, in its "
	    "../conf/ or ../etc/backfills/, or at %s: name one on the "
	    "command line or in BACKFILLS_CONF", sys);
	return -1;
}

int
addr_match(const char *entry, const char *addr)
{
	unsigned char	 net[16], a[16];
	char		 host[64], *slash;
	int		 af, bits, len, i;

	if (snprintf(host, sizeof(host), "%s", entry) >= (int)sizeof(host))
		return -1;
	bits = -1;
	if ((slash = strchr(host, '/')) != NULL) {
		*slash++ = '\0';
		if (*slash < '0' || *slash > '9' || strlen(slash) > 3)
			return -1;
		bits = atoi(slash);
	}
	af = strchr(host, ':') != NULL ? AF_INET6 : AF_INET;
	len = af == AF_INET ? 4 : 16;
	if (inet_pton(af, host, net) != 1 || bits > len * 8)
		return -1;
	if (bits < 0)
		bits = len * 8;
	if (addr == NULL || inet_pton(af, addr, a) != 1)
		return 0;
	for (i = 0; i < len && bits > 0; i++, bits -= 8) {
		unsigned char m = bits >= 8 ? 0xff :
		    (unsigned char)(0xff << (8 - bits));

		if ((a[i] & m) != (net[i] & m))
			return 0;
	}
	return 1;
}

int
addr_allowed(const char *list, const char *addr)
{
	char	 one[64];
	size_t	 n;

	if (addr == NULL)
		return 0;
	for (;;) {
		list += strspn(list, " ,");
		if (*list == '\0')
			return 0;
		n = strcspn(list, " ,");
		if (n < sizeof(one)) {
			memcpy(one, list, n);
			one[n] = '\0';
			if (addr_match(one, addr) == 1)
				return 1;
		}
		list += n;
	}
}
