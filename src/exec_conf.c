/*
 * exec_conf: reads conf/exec.conf with inih, as conf.c reads the
 * service's conf: the first problem stops the load and is named by line
 * and key; lines longer than inih's (Debian's build: 199 bytes) are
 * refused rather than split.
 */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confval.h"
#include "exec_conf.h"

#define PIPELINES_MAX	1000	/* what a claim may name */

struct loader {
	struct exec_conf *c;
	char		  err[512];
	char		  dir[PATH_MAX];	/* the conf file's folder */
};

static void
defaults(struct exec_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->concurrency = 1;
	c->poll_interval = 5000;
	c->timeout = 0;
	c->kill_grace = 10000;
	c->http_timeout = 10000;
	c->connect_timeout = 5000;
	c->log_level = LOG_INFO;
	snprintf(c->log_dir, sizeof(c->log_dir), "/var/log/backfills-exec");
}

/* A duration: a whole number with an optional ms, s, m or h suffix
 * (none: seconds), in [lo, hi] ms. Returns 0 with *ms set, or -1. */
static int
parse_ms(const char *v, int64_t lo, int64_t hi, int64_t *ms)
{
	return confval_duration(v, 1, lo, hi, ms);
}

/* A whole decimal number in [lo, hi]. Returns 0 with *out set, or -1. */
static int
parse_int(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
	char		*end;
	long long	 n;

	errno = 0;
	if (*v < '0' || *v > '9')
		return -1;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

/* Copies v into dst. Returns 0, or -1 when it does not fit. */
static int
set_str(char *dst, size_t dstlen, const char *v)
{
	return (size_t)snprintf(dst, dstlen, "%s", v) < dstlen ? 0 : -1;
}

/* Whether s is a pipeline uuid as the service takes it:
 * [A-Za-z0-9_.-]{1,255}, or "*" for any. */
static int
uuid_ok(const char *s)
{
	size_t	 n = strlen(s);

	if (strcmp(s, "*") == 0)
		return 1;
	if (n == 0 || n > 255 || strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
		return 0;
	return 1;
}

/* The key of a [pipeline UUID] section. Returns 1 to go on, 0 with
 * l->err set. */
static int
on_pipeline_key(struct loader *l, const char *uuid, const char *key,
    const char *v)
{
	struct exec_conf	*c = l->c;
	struct exec_pipeline	*p = NULL, *np;
	size_t			 i;

	if (!uuid_ok(uuid)) {
		snprintf(l->err, sizeof(l->err), "[pipeline %s]: not a "
		    "pipeline uuid (1-255 of [A-Za-z0-9_.-], or *)", uuid);
		return 0;
	}
	for (i = 0; i < c->npipelines; i++)
		if (strcmp(c->pipelines[i].uuid, uuid) == 0)
			p = &c->pipelines[i];
	if (p == NULL) {
		if (c->npipelines == PIPELINES_MAX) {
			snprintf(l->err, sizeof(l->err), "more than %d "
			    "pipeline sections", PIPELINES_MAX);
			return 0;
		}
		np = realloc(c->pipelines, (c->npipelines + 1) * sizeof(*np));
		if (np == NULL) {
			snprintf(l->err, sizeof(l->err), "out of memory");
			return 0;
		}
		c->pipelines = np;
		p = &c->pipelines[c->npipelines++];
		memset(p, 0, sizeof(*p));
		snprintf(p->uuid, sizeof(p->uuid), "%s", uuid);
		p->timeout = -1;
	}
	if (strcmp(key, "command") == 0) {
		/* inih hands each continuation line over as the same key */
		if (p->command.len > 0)
			buf_putc(&p->command, '\n');
		buf_puts(&p->command, v);
		if (p->command.oom) {
			snprintf(l->err, sizeof(l->err), "out of memory");
			return 0;
		}
		return 1;
	}
	if (strcmp(key, "timeout") == 0) {
		if (parse_ms(v, 0, 7 * 86400000LL, &p->timeout) == 0)
			return 1;
		snprintf(l->err, sizeof(l->err), "[pipeline %s]: key "
		    "\"timeout\" must be a duration up to 7 days (ms, s, m, "
		    "h; 0: none)", uuid);
		return 0;
	}
	snprintf(l->err, sizeof(l->err), "[pipeline %s]: unknown key \"%s\" "
	    "(command, timeout)", uuid, key);
	return 0;
}

/* inih callback: returns 1 to go on, 0 to stop with l->err set. */
static int
on_key(void *user, const char *section, const char *key, const char *v)
{
	struct loader		*l = user;
	struct exec_conf	*c = l->c;
	const char		*why = "bad value";
	int64_t			 n;
	int			 rc = -1;

	if (l->err[0] != '\0')
		return 0;	/* keep the first problem */
	if (strncmp(section, "pipeline ", 9) == 0)
		return on_pipeline_key(l, section + 9, key, v);
	if (section[0] != '\0') {
		snprintf(l->err, sizeof(l->err), "section [%s] is not used: "
		    "[pipeline UUID] or none", section);
		return 0;
	}
	if (strcmp(key, "url") == 0) {
		why = "must be the API's http:// or https:// URL";
		if ((strncmp(v, "http://", 7) == 0 ||
		    strncmp(v, "https://", 8) == 0) &&
		    set_str(c->url, sizeof(c->url), v) == 0) {
			n = (int64_t)strlen(c->url);
			while (n > 0 && c->url[n - 1] == '/')
				c->url[--n] = '\0';
			rc = 0;
		}
	} else if (strcmp(key, "api_key") == 0) {
		why = "must be the API key, 1 to 180 characters";
		rc = v[0] == '\0' ? -1 : set_str(c->api_key,
		    sizeof(c->api_key), v);
	} else if (strcmp(key, "token") == 0) {
		why = "must be the OAuth token, 1 to 180 characters";
		rc = v[0] == '\0' ? -1 : set_str(c->token, sizeof(c->token), v);
	} else if (strcmp(key, "name") == 0) {
		why = "must be 1 to 180 characters";
		rc = v[0] == '\0' ? -1 : set_str(c->name, sizeof(c->name), v);
	} else if (strcmp(key, "log_dir") == 0) {
		why = "must be a folder";
		if (v[0] == '\0')
			rc = -1;
		else if (v[0] == '/' || l->dir[0] == '\0')
			rc = set_str(c->log_dir, sizeof(c->log_dir), v);
		else
			rc = (size_t)snprintf(c->log_dir, sizeof(c->log_dir),
			    "%s/%s", l->dir, v) < sizeof(c->log_dir) ? 0 : -1;
	} else if (strcmp(key, "ca_file") == 0) {
		why = "must be a file of CA certificates";
		rc = set_str(c->ca_file, sizeof(c->ca_file), v);
	} else if (strcmp(key, "concurrency") == 0) {
		why = "must be a whole number from 1 to 256";
		rc = parse_int(v, 1, 256, &c->concurrency);
	} else if (strcmp(key, "poll_interval") == 0) {
		why = "must be a duration from 100ms to 1h";
		rc = parse_ms(v, 100, 3600000, &c->poll_interval);
	} else if (strcmp(key, "timeout") == 0) {
		why = "must be a duration up to 7 days (0: none)";
		rc = parse_ms(v, 0, 7 * 86400000LL, &c->timeout);
	} else if (strcmp(key, "kill_grace") == 0) {
		why = "must be a duration up to 1h";
		rc = parse_ms(v, 0, 3600000, &c->kill_grace);
	} else if (strcmp(key, "http_timeout") == 0) {
		why = "must be a duration from 100ms to 10m";
		rc = parse_ms(v, 100, 600000, &c->http_timeout);
	} else if (strcmp(key, "connect_timeout") == 0) {
		why = "must be a duration from 100ms to 10m";
		rc = parse_ms(v, 100, 600000, &c->connect_timeout);
	} else if (strcmp(key, "log_level") == 0) {
		static const char *names[] =
		    { "error", "warn", "info", "debug" };
		why = "must be error, warn, info or debug";
		for (n = 0; n < 4; n++)
			if (strcmp(v, names[n]) == 0) {
				c->log_level = (enum log_level)n;
				rc = 0;
			}
	} else {
		snprintf(l->err, sizeof(l->err), "unknown key \"%s\"", key);
		return 0;
	}
	if (rc != 0) {
		snprintf(l->err, sizeof(l->err), "key \"%s\" %s", key, why);
		return 0;
	}
	return 1;
}

/* What the whole file must have once read. Returns 0, or -1 with err. */
static int
check_whole(const struct exec_conf *c, char *err, size_t errlen)
{
	size_t	 i;

	if (c->url[0] == '\0' || c->api_key[0] == '\0' ||
	    c->token[0] == '\0') {
		snprintf(err, errlen, "%s: url, api_key and token are "
		    "required", c->path);
		return -1;
	}
	if (c->npipelines == 0) {
		snprintf(err, errlen, "%s: no [pipeline UUID] section: "
		    "nothing to run", c->path);
		return -1;
	}
	for (i = 0; i < c->npipelines; i++)
		if (c->pipelines[i].command.len == 0) {
			snprintf(err, errlen, "%s: [pipeline %s] has no "
			    "command", c->path, c->pipelines[i].uuid);
			return -1;
		}
	return 0;
}

int
exec_conf_load(struct exec_conf *c, const char *path, char *err,
    size_t errlen)
{
	struct loader	 l;
	const char	*slash;
	int		 rc;

	defaults(c);
	memset(&l, 0, sizeof(l));
	l.c = c;
	if (set_str(c->path, sizeof(c->path), path) < 0) {
		snprintf(err, errlen, "conf path too long");
		return -1;
	}
	if ((slash = strrchr(path, '/')) != NULL)
		snprintf(l.dir, sizeof(l.dir), "%.*s",
		    (int)(slash - path == 0 ? 1 : slash - path), path);
	else if (getcwd(l.dir, sizeof(l.dir)) == NULL)
		l.dir[0] = '\0';
	if ((rc = confval_long_line(path)) > 0) {
		snprintf(err, errlen, "%s:%d: line longer than %d bytes (a "
		    "command may go on over indented lines)", path, rc,
		    CONFVAL_LINE_MAX);
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
		    l.err[0] ? l.err : "not a \"key = value\" line");
		return -1;
	}
	return check_whole(c, err, errlen);
}

void
exec_conf_free(struct exec_conf *c)
{
	size_t	 i;

	for (i = 0; i < c->npipelines; i++)
		buf_free(&c->pipelines[i].command);
	free(c->pipelines);
	c->pipelines = NULL;
	c->npipelines = 0;
}

const struct exec_pipeline *
exec_conf_pipeline(const struct exec_conf *c, const char *uuid)
{
	const struct exec_pipeline *any = NULL;
	size_t	 i;

	for (i = 0; i < c->npipelines; i++) {
		if (strcmp(c->pipelines[i].uuid, uuid) == 0)
			return &c->pipelines[i];
		if (strcmp(c->pipelines[i].uuid, "*") == 0)
			any = &c->pipelines[i];
	}
	return any;
}

void
exec_conf_pipelines_json(const struct exec_conf *c, struct buf *out)
{
	size_t	 i;

	buf_reset(out);
	for (i = 0; i < c->npipelines; i++)
		if (strcmp(c->pipelines[i].uuid, "*") == 0) {
			buf_puts(out, "null");	/* any pipeline */
			return;
		}
	buf_putc(out, '[');
	for (i = 0; i < c->npipelines; i++) {
		if (i > 0)
			buf_add(out, ", ", 2);
		buf_json_str(out, c->pipelines[i].uuid,
		    strlen(c->pipelines[i].uuid));
	}
	buf_putc(out, ']');
}
