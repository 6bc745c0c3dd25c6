/*
 * router: PATH_INFO -> a route of docs/API.md "Routes", from a const table
 * indexed by enum route, with the path's parameters taken out.
 */
#ifndef ROUTER_H
#define ROUTER_H

#include <stdint.h>

#include "http.h"

/* Matched in this order: a literal segment before an :id in the same
 * place (claim before a run's id). */
enum route {
	ROUTE_STATUS,			/* /api/status */
	ROUTE_METRICS,			/* /api/metrics (Prometheus) */
	ROUTE_BACKFILLS,		/* /api/backfills */
	ROUTE_BACKFILL,			/* /api/backfills/:id */
	ROUTE_PIPELINE_BACKFILLS,	/* /api/pipelines/:uuid/backfills */
	ROUTE_PIPELINE_BACKFILL,	/* .../backfills/:id */
	ROUTE_PIPELINE_RUNS,		/* /api/pipeline_runs */
	ROUTE_PIPELINE_RUN_CLAIM,	/* /api/pipeline_runs/claim */
	ROUTE_PIPELINE_RUN,		/* /api/pipeline_runs/:id */
	ROUTE_STATUSES,			/* /api/statuses (Mage's frame) */
	ROUTE_PROJECTS,			/* /api/projects */
	ROUTE_PIPELINE,			/* /api/pipelines/:uuid */
	ROUTE_PIPELINE_VARIABLES,	/* /api/pipelines/:uuid/variables */
	ROUTE_GIT_BRANCH,		/* /api/git_branches/:uuid */
	ROUTE_PIPELINE_LOGS,		/* /api/pipelines/:uuid/logs */
	ROUTE_SCHEDULE_RUNS,		/* /api/pipeline_schedules/pipeline_runs:
					 * Mage's "Retry run" */
	ROUTE_OPENAPI,			/* /api/openapi.json */
	ROUTE__MAX,
	ROUTE_NONE = ROUTE__MAX
};

#define UUID_MAX	255

struct route_match {
	enum route	 route;
	int		 bad_id;	/* shape matched, :id malformed */
	int64_t		 id;		/* 0 when the route has none */
	char		 pipeline[UUID_MAX + 1];	/* "" when none */
};

/* Matches path (one trailing slash allowed). Returns the route, or
 * ROUTE_NONE; m->bad_id is set when only a malformed :id kept a route
 * from matching, which docs/API.md answers with 400 invalid_query. */
enum route	 route_match(const char *path, struct route_match *m);

/* The route's name ("backfill"), "none" for ROUTE_NONE. */
const char	*route_name(enum route);

/* The methods a route accepts, as M_BIT()s; OPTIONS always. */
unsigned	 route_methods(enum route);

/* Writes the Allow header value for a route ("GET, PUT, ...") to out. */
void		 route_allow(enum route, char *out, size_t outlen);

/* Parses a positive decimal id with no sign or leading junk, at most
 * 2^53. Returns 0 and sets *id, or -1. */
int		 parse_id(const char *s, size_t len, int64_t *id);

/* Returns 1 when s[0..len) is a pipeline uuid: 1-255 of [A-Za-z0-9_.-]. */
int		 valid_uuid(const char *s, size_t len);

#endif
