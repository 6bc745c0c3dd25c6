#include <stdio.h>
#include <string.h>

#include "router.h"

#define SEG_MAX	6

/* A pattern segment: a literal, ":id" or ":uuid". */
static const struct {
	const char	*segs[SEG_MAX];
	unsigned	 methods;
} routes[ROUTE__MAX] = {
	[ROUTE_STATUS] = { { "api", "status" }, M_BIT(M_GET) },
	[ROUTE_METRICS] = { { "api", "metrics" }, M_BIT(M_GET) },
	[ROUTE_BACKFILLS] = { { "api", "backfills" }, M_BIT(M_GET) },
	[ROUTE_BACKFILL] = { { "api", "backfills", ":id" },
	    M_BIT(M_GET) | M_BIT(M_PUT) | M_BIT(M_DELETE) },
	[ROUTE_PIPELINE_BACKFILLS] = {
	    { "api", "pipelines", ":uuid", "backfills" },
	    M_BIT(M_GET) | M_BIT(M_POST) },
	[ROUTE_PIPELINE_BACKFILL] = {
	    { "api", "pipelines", ":uuid", "backfills", ":id" },
	    M_BIT(M_GET) | M_BIT(M_PUT) | M_BIT(M_DELETE) },
	[ROUTE_PIPELINE_RUNS] = { { "api", "pipeline_runs" }, M_BIT(M_GET) },
	[ROUTE_PIPELINE_RUN_CLAIM] = { { "api", "pipeline_runs", "claim" },
	    M_BIT(M_POST) },
	[ROUTE_PIPELINE_RUN] = { { "api", "pipeline_runs", ":id" },
	    M_BIT(M_GET) | M_BIT(M_PUT) },
	[ROUTE_STATUSES] = { { "api", "statuses" }, M_BIT(M_GET) },
	[ROUTE_PROJECTS] = { { "api", "projects" }, M_BIT(M_GET) },
	[ROUTE_PIPELINE] = { { "api", "pipelines", ":uuid" }, M_BIT(M_GET) },
	[ROUTE_PIPELINE_VARIABLES] = {
	    { "api", "pipelines", ":uuid", "variables" }, M_BIT(M_GET) },
	[ROUTE_GIT_BRANCH] = { { "api", "git_branches", ":uuid" },
	    M_BIT(M_GET) },
	[ROUTE_PIPELINE_LOGS] = { { "api", "pipelines", ":uuid", "logs" },
	    M_BIT(M_GET) },
	/* What Mage's UI posts to for a run without a schedule (every run
	 * here): its runs table's "Retry run". */
	[ROUTE_SCHEDULE_RUNS] = { { "api", "pipeline_schedules",
	    "pipeline_runs" }, M_BIT(M_POST) },
	[ROUTE_OPENAPI] = { { "api", "openapi.json" }, M_BIT(M_GET) },
};
_Static_assert(sizeof(routes) / sizeof(routes[0]) == ROUTE__MAX,
    "one entry per route");

/* The routes' names, for the metrics' labels. */
static const char *const names[ROUTE__MAX] = {
	[ROUTE_STATUS] = "status",
	[ROUTE_METRICS] = "metrics",
	[ROUTE_BACKFILLS] = "backfills",
	[ROUTE_BACKFILL] = "backfill",
	[ROUTE_PIPELINE_BACKFILLS] = "pipeline_backfills",
	[ROUTE_PIPELINE_BACKFILL] = "pipeline_backfill",
	[ROUTE_PIPELINE_RUNS] = "pipeline_runs",
	[ROUTE_PIPELINE_RUN_CLAIM] = "pipeline_run_claim",
	[ROUTE_PIPELINE_RUN] = "pipeline_run",
	[ROUTE_STATUSES] = "statuses",
	[ROUTE_PROJECTS] = "projects",
	[ROUTE_PIPELINE] = "pipeline",
	[ROUTE_PIPELINE_VARIABLES] = "pipeline_variables",
	[ROUTE_GIT_BRANCH] = "git_branch",
	[ROUTE_PIPELINE_LOGS] = "pipeline_logs",
	[ROUTE_SCHEDULE_RUNS] = "schedule_runs",
	[ROUTE_OPENAPI] = "openapi",
};
_Static_assert(sizeof(names) / sizeof(names[0]) == ROUTE__MAX,
    "a name per route");

const char *
route_name(enum route r)
{
	return (unsigned)r < ROUTE__MAX && names[r] != NULL ? names[r] :
	    "none";
}

int
parse_id(const char *s, size_t len, int64_t *id)
{
	int64_t	 v = 0;
	size_t	 i;

	if (len == 0 || len > 16)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > (1LL << 53))
		return -1;
	*id = v;
	return 0;
}

int
valid_uuid(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > UUID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

enum route
route_match(const char *path, struct route_match *m)
{
	const char	*seg[SEG_MAX + 1];
	size_t		 len[SEG_MAX + 1], n = 0, plen;
	const char	*p, *slash;
	int		 r, k, bad;
	int64_t		 id;

	memset(m, 0, sizeof(*m));
	m->route = ROUTE_NONE;
	if (path == NULL || path[0] != '/')
		return ROUTE_NONE;
	plen = strlen(path);
	if (plen > 1 && path[plen - 1] == '/')
		plen--;		/* one trailing slash is allowed */
	for (p = path + 1; p <= path + plen; p = slash + 1) {
		if (n == SEG_MAX + 1)
			return ROUTE_NONE;
		slash = memchr(p, '/', (size_t)(path + plen - p));
		if (slash == NULL)
			slash = path + plen;
		seg[n] = p;
		len[n++] = (size_t)(slash - p);
	}
	for (r = 0; r < ROUTE__MAX; r++) {
		bad = 0;
		for (k = 0; k < SEG_MAX && routes[r].segs[k] != NULL; k++) {
			const char *pat = routes[r].segs[k];

			if ((size_t)k >= n)
				break;
			if (strcmp(pat, ":id") == 0) {
				if (parse_id(seg[k], len[k], &id) < 0)
					bad = 1;
				else
					m->id = id;
			} else if (strcmp(pat, ":uuid") == 0) {
				if (!valid_uuid(seg[k], len[k]))
					break;
				memcpy(m->pipeline, seg[k], len[k]);
				m->pipeline[len[k]] = '\0';
			} else if (strlen(pat) != len[k] ||
			    memcmp(pat, seg[k], len[k]) != 0)
				break;
		}
		if ((k == SEG_MAX || routes[r].segs[k] == NULL) &&
		    (size_t)k == n) {
			m->route = (enum route)r;
			m->bad_id = bad;
			return bad ? ROUTE_NONE : m->route;
		}
		m->id = 0;
		m->pipeline[0] = '\0';
	}
	return ROUTE_NONE;
}

unsigned
route_methods(enum route r)
{
	unsigned	 m;

	if ((unsigned)r >= ROUTE__MAX)
		return M_BIT(M_OPTIONS);
	m = routes[r].methods | M_BIT(M_OPTIONS);
	if (m & M_BIT(M_GET))
		m |= M_BIT(M_HEAD);
	return m;
}

void
route_allow(enum route r, char *out, size_t outlen)
{
	static const enum method order[] =
	    { M_GET, M_POST, M_PUT, M_DELETE, M_OPTIONS };
	unsigned	 ms = route_methods(r);
	size_t		 i, o = 0;
	int		 n;

	out[0] = '\0';
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(ms & M_BIT(order[i])))
			continue;
		n = snprintf(out + o, outlen - o, "%s%s", o ? ", " : "",
		    http_method_name(order[i]));
		if (n < 0 || (size_t)n >= outlen - o)
			return;		/* cut: out stays NUL-terminated */
		o += (size_t)n;
	}
}
