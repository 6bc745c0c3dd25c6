#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "datetime.h"
#include "handlers.h"
#include "lifecycle.h"
#include "log.h"
#include "service.h"
#include "store.h"

/* A route that answers without credentials (SPEC "Authentication"). */
#define PUBLIC	0x1

/* Which handler answers a method on a route (NULL where none), and how
 * the route is guarded. */
static const struct {
	handler_fn	 fn[M__MAX];
	unsigned	 flags;
} handlers[ROUTE__MAX] = {
	[ROUTE_STATUS] = { {
		[M_GET] = h_status, [M_HEAD] = h_status }, PUBLIC },
	[ROUTE_BACKFILLS] = { {
		[M_GET] = h_backfill_list, [M_HEAD] = h_backfill_list }, 0 },
	[ROUTE_BACKFILL] = { {
		[M_GET] = h_backfill_show, [M_HEAD] = h_backfill_show,
		[M_PUT] = h_backfill_update, [M_DELETE] = h_backfill_delete },
		0 },
	[ROUTE_PIPELINE_BACKFILLS] = { {
		[M_GET] = h_backfill_list, [M_HEAD] = h_backfill_list,
		[M_POST] = h_backfill_create }, 0 },
	[ROUTE_PIPELINE_BACKFILL] = { {
		[M_GET] = h_backfill_show, [M_HEAD] = h_backfill_show,
		[M_PUT] = h_backfill_update, [M_DELETE] = h_backfill_delete },
		0 },
	[ROUTE_PIPELINE_RUNS] = { {
		[M_GET] = h_run_list, [M_HEAD] = h_run_list }, 0 },
	[ROUTE_PIPELINE_RUN_CLAIM] = { {
		[M_POST] = h_run_claim }, 0 },
	[ROUTE_PIPELINE_RUN] = { {
		[M_GET] = h_run_show, [M_HEAD] = h_run_show,
		[M_PUT] = h_run_update }, 0 },
	/* Mage's statuses answer without credentials, as Mage's do: its
	 * UI asks before anyone signed in. */
	[ROUTE_STATUSES] = { {
		[M_GET] = h_statuses, [M_HEAD] = h_statuses }, PUBLIC },
	[ROUTE_PROJECTS] = { {
		[M_GET] = h_projects, [M_HEAD] = h_projects }, 0 },
	[ROUTE_PIPELINE] = { {
		[M_GET] = h_pipeline_show, [M_HEAD] = h_pipeline_show }, 0 },
	[ROUTE_PIPELINE_VARIABLES] = { {
		[M_GET] = h_pipeline_variables,
		[M_HEAD] = h_pipeline_variables }, 0 },
};
_Static_assert(sizeof(handlers) / sizeof(handlers[0]) == ROUTE__MAX,
    "one entry per route");

void
service_init(struct ctx *c, const struct conf *conf)
{
	memset(c, 0, sizeof(*c));
	c->conf = *conf;
}

enum err
service_open(struct ctx *c, char *why, size_t whylen)
{
	struct store_opts o = {
		.path = c->conf.database,
		.durability_full = c->conf.durability_full,
		.busy_timeout = c->conf.busy_timeout,
		.create = 0,
		.max_size = c->conf.max_db_size,
		.wlock = c->wlock,
		.idle_upkeep = 1,
	};

	if (c->store != NULL)
		return ERR_OK;
	return store_open(&c->store, &o, why, whylen);
}

void
service_close(struct ctx *c)
{
	store_close(c->store);
	c->store = NULL;
	free(c->auth);
	c->auth = NULL;
}

/* Looks for lapsed leases between requests, at most once per quarter
 * of a lease: a read that finds none costs one indexed look; what it
 * finds is failed in a write of its own (lifecycle_sweep). Claims sweep
 * too; this covers the time when no executor claims. */
static void
sweep(struct ctx *c)
{
	struct lifecycle lc;
	int64_t		 now = dt_now(), id;
	size_t		 n = 0;

	if (now - c->swept_at < c->conf.run_lease * 250000)
		return;
	c->swept_at = now;
	if (store_begin_read(c->store) != ERR_OK)
		return;
	(void)store_runs_lapsed(c->store, now, &id, 1, &n);
	store_rollback(c->store);
	if (n == 0 || store_begin(c->store) != ERR_OK)
		return;
	lifecycle_init(&lc, c->store, &c->conf);
	if (lifecycle_sweep(&lc, now, &n) == ERR_OK)
		(void)store_commit(c->store);
	else
		store_rollback(c->store);
}

void
service_idle(struct ctx *c)
{
	if (c->store == NULL)
		return;
	sweep(c);
	store_idle(c->store);
}

static void
cors_headers(const struct ctx *c, const struct request *req,
    struct response *resp)
{
	const char	*o = c->conf.cors_origin;

	(void)req;
	if (o[0] == '\0')
		return;
	resp_header(resp, "Access-Control-Allow-Origin", o);
	if (strcmp(o, "*") != 0) {
		resp_header(resp, "Access-Control-Allow-Credentials", "true");
		resp_header(resp, "Vary", "Origin");
	}
	resp_header(resp, "Access-Control-Expose-Headers", "ETag, Location");
}

static int handle(struct ctx *, const struct request *,
    struct response *);

/*
 * Mage's error convention (http_error_codes = off): an error answers
 * HTTP 200 with its JSON body, unless the query asks for real codes
 * (_http_error_codes with any value, as Mage reads it), or Mage itself
 * would answer with a real status: a refused credential (401), a method
 * a route does not take (405), a path no route has (404).
 */
static int
mage_status(const struct ctx *c, const struct request *req,
    const struct response *resp, int unrouted)
{
	char	 v[2];
	int	 rc;

	if (c->conf.http_error_codes || resp->status < 400 ||
	    resp->status == 401 || resp->status == 405 || unrouted)
		return resp->status;
	rc = query_get(req->query, "_http_error_codes", v, sizeof(v));
	if (rc == -1 || (rc == 1 && v[0] != '\0'))
		return resp->status;
	return 200;
}

void
service_handle(struct ctx *c, const struct request *req,
    struct response *resp)
{
	int	 unrouted = handle(c, req, resp);

	resp->status = mage_status(c, req, resp, unrouted);
	/* A database that went missing or bad is reopened next time. */
	if (c->store != NULL && store_broken(c->store)) {
		log_msg(LOG_WARN, "database %s failed; reopening it on the "
		    "next request", c->conf.database);
		store_close(c->store);
		c->store = NULL;
	}
}

/* Answers the request into resp; returns 1 when no route has its path
 * (a 404 that is not a record's). */
static int
handle(struct ctx *c, const struct request *req, struct response *resp)
{
	struct route_match	 m;
	enum route		 r;
	handler_fn		 fn;
	char			 allow[64], why[256];
	int			 writing;
	enum err		 e;

	resp_reset(resp);
	resp->body.limit = c->conf.max_answer;
	cors_headers(c, req, resp);
	r = route_match(req->path, &m);
	if (req->method == M_OPTIONS) {
		resp->status = 204;
		if (r != ROUTE_NONE) {
			route_allow(r, allow, sizeof(allow));
			resp_header(resp, "Allow", allow);
		}
		if (c->conf.cors_origin[0] != '\0') {
			resp_header(resp, "Access-Control-Allow-Methods",
			    "GET, POST, PUT, DELETE, OPTIONS");
			resp_header(resp, "Access-Control-Allow-Headers",
			    "Content-Type, X-API-KEY, Authorization, "
			    "OAUTH-TOKEN, If-Match");
			resp_header(resp, "Access-Control-Max-Age", "86400");
		}
		return 0;
	}
	if (r == ROUTE_NONE) {
		if (m.bad_id) {
			resp_error(resp, ERR_INVALID_QUERY,
			    "The id in the path must be a positive integer.",
			    NULL);
			return 0;
		}
		resp_error(resp, ERR_NOT_FOUND, NULL, NULL);
		return 1;
	}
	if ((fn = handlers[r].fn[req->method]) == NULL) {
		route_allow(r, allow, sizeof(allow));
		resp_header(resp, "Allow", allow);
		resp_error(resp, ERR_METHOD, NULL, NULL);
		return 0;
	}
	if (req->method == M_POST || req->method == M_PUT) {
		switch (req->body_state) {
		case BODY_NONE:
			resp_error(resp, ERR_LENGTH_REQUIRED, NULL, NULL);
			return 0;
		case BODY_TOO_LARGE:
			resp_error(resp, ERR_TOO_LARGE, NULL, NULL);
			return 0;
		case BODY_BAD_LENGTH:
			resp_error(resp, ERR_INVALID_JSON,
			    "Content-Length is not a number.", NULL);
			return 0;
		case BODY_OK:
			break;
		}
	}
	if (c->store == NULL && service_open(c, why, sizeof(why)) != ERR_OK) {
		log_msg(LOG_ERROR, "database %s: %s", c->conf.database, why);
		resp_error(resp, ERR_UNAVAILABLE, NULL, NULL);
		return 0;
	}
	/* One transaction per request, the credentials' check included: a
	 * read, or a write that takes its locks before it reads, and
	 * commits only what answers 2xx. */
	writing = req->method != M_GET && req->method != M_HEAD;
	e = writing ? store_begin(c->store) : store_begin_read(c->store);
	if (e == ERR_OK && c->conf.require_auth &&
	    !(handlers[r].flags & PUBLIC))
		e = access_check(c, req);
	if (e != ERR_OK) {
		store_rollback(c->store);
		resp_error(resp, e, NULL, NULL);
		return 0;
	}
	fn(c, req, &m, resp);
	/* An answer that did not fit (max_answer, or memory): an error,
	 * and a write that made it is not kept. */
	if (resp->body.oom) {
		e = resp->body.over ? ERR_INVALID_QUERY : ERR_INTERNAL;
		buf_reset(&resp->headers);
		cors_headers(c, req, resp);
		resp_error(resp, e, e == ERR_INVALID_QUERY ? "The answer would "
		    "be larger than max_answer: ask for fewer rows with "
		    "_limit." : NULL, NULL);
	}
	if (!writing || resp->status >= 300)
		store_rollback(c->store);
	else if ((e = store_commit(c->store)) != ERR_OK) {
		buf_reset(&resp->headers);
		cors_headers(c, req, resp);
		resp_error(resp, e, NULL, NULL);
	}
	return 0;
}
