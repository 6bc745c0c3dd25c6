#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "access.h"
#include "auth.h"
#include "datetime.h"
#include "handlers.h"
#include "lifecycle.h"
#include "log.h"
#include "service.h"
#include "store.h"
#include "wlock.h"

/* A route that answers without credentials (docs/API.md "Credentials"). */
#define PUBLIC	0x1
/* A route whose answer is built into the program: it needs no database
 * (and so no credentials, which live there), so it answers while the
 * database is away. */
#define BUILTIN	0x2

/* Which handler answers a method on a route (NULL where none), and how
 * the route is guarded. */
static const struct {
	handler_fn	 fn[M__MAX];
	unsigned	 flags;
} handlers[ROUTE__MAX] = {
	[ROUTE_STATUS] = { {
		[M_GET] = h_status, [M_HEAD] = h_status }, PUBLIC },
	/* No credentials: reachable from the addresses metrics_allow names
	 * (Prometheus scrapes without them). */
	[ROUTE_METRICS] = { {
		[M_GET] = h_metrics, [M_HEAD] = h_metrics }, PUBLIC },
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
	[ROUTE_SCHEDULE_RUNS] = { {
		[M_POST] = h_run_retry }, 0 },
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
	[ROUTE_GIT_BRANCH] = { {
		[M_GET] = h_git_branch, [M_HEAD] = h_git_branch }, 0 },
	[ROUTE_PIPELINE_LOGS] = { {
		[M_GET] = h_pipeline_logs, [M_HEAD] = h_pipeline_logs }, 0 },
	/* The API's description has no secrets; the tools that read one
	 * (code generators, Swagger UI) ask without credentials. */
	[ROUTE_OPENAPI] = { {
		[M_GET] = h_openapi, [M_HEAD] = h_openapi }, PUBLIC | BUILTIN },
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

/* The headers of every answer: its request's id, what a security
 * review asks for (answers carry the results of credentials and private
 * data: never sniffed as another type, never stored by a cache), and
 * CORS when the conf allows an origin. The API's description (a GET of
 * route r) is the same for everyone and changes only with the program:
 * a cache may keep it, asking again with its ETag each time (no-cache). */
static void
base_headers(const struct ctx *c, const struct request *req, enum route r,
    struct response *resp)
{
	const char	*o = c->conf.cors_origin;

	if (req->request_id != NULL)
		resp_header(resp, "X-Request-Id", req->request_id);
	resp_header(resp, "X-Content-Type-Options", "nosniff");
	resp_header(resp, "Cache-Control", r == ROUTE_OPENAPI &&
	    (req->method == M_GET || req->method == M_HEAD) ? "no-cache" :
	    "no-store");
	if (o[0] == '\0')
		return;
	resp_header(resp, "Access-Control-Allow-Origin", o);
	if (strcmp(o, "*") != 0) {
		resp_header(resp, "Access-Control-Allow-Credentials", "true");
		resp_header(resp, "Vary", "Origin");
	}
	resp_header(resp, "Access-Control-Expose-Headers",
	    "ETag, Location, Retry-After, X-Request-Id, Idempotent-Replayed");
}

static int handle(struct ctx *, const struct request *,
    struct response *);

/*
 * Mage's error convention (http_error_codes = off): an error answers
 * HTTP 200 with its JSON body (record_invalid's errors as the strings
 * Mage's UI shows: see resp_error), unless the query asks for real codes
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

/* How long the first answer to an Idempotency-Key is kept: at least a
 * day (microseconds). */
#define IDEM_KEEP	(24LL * 3600 * 1000000)

/* Whether the request is a POST with an Idempotency-Key. */
static int
idempotent(const struct request *req)
{
	return req->method == M_POST && req->idempotency_key != NULL;
}

/* What makes a retry the same request: its path and body (SHA-256). */
static void
request_hash(const struct request *req, unsigned char out[32])
{
	struct buf	 b = { 0 };

	buf_puts(&b, req->path);
	buf_putc(&b, '\n');
	buf_add(&b, req->body != NULL ? req->body : "", req->body_len);
	auth_hash(b.data != NULL ? b.data : "", b.len, out);
	buf_free(&b);
}

/*
 * An Idempotency-Key seen before for these credentials: the same request
 * gets the first answer again (*replayed set, resp filled), another one
 * ERR_IDEMPOTENCY. ERR_OK with *replayed 0 when the key is new; a key
 * that is not 1 to 255 visible ASCII characters is ERR_INVALID_QUERY.
 */
static enum err
idem_replay(struct ctx *c, const struct request *req, struct response *resp,
    int *replayed)
{
	const char	*k = req->idempotency_key;
	unsigned char	 h[32];
	struct idem	 d;
	size_t		 i, n = strlen(k);
	enum err	 e;

	*replayed = 0;
	for (i = 0; i < n && k[i] > 0x20 && k[i] < 0x7f; i++)
		;
	if (n == 0 || n > 255 || i < n)
		return ERR_INVALID_QUERY;
	if ((e = store_idem_get(c->store, c->who, k, dt_now() - IDEM_KEEP,
	    &d)) == ERR_NOT_FOUND)
		return ERR_OK;
	if (e != ERR_OK)
		return e;
	request_hash(req, h);
	if (CRYPTO_memcmp(h, d.request, sizeof(h)) != 0) {
		idem_free(&d);
		return ERR_IDEMPOTENCY;
	}
	resp->status = d.status;
	if (d.headers != NULL)
		buf_puts(&resp->headers, d.headers);
	resp_header(resp, "Idempotent-Replayed", "true");
	buf_reset(&resp->body);
	buf_puts(&resp->body, d.body != NULL ? d.body : "");
	idem_free(&d);
	*replayed = 1;
	return ERR_OK;
}

/* Keeps the answer in resp (its status, the headers its handler wrote
 * from byte from on, its body) for its key, in its transaction. */
static enum err
idem_keep(struct ctx *c, const struct request *req,
    const struct response *resp, size_t from)
{
	struct idem	 d;
	char		*headers;
	int64_t		 now = dt_now();
	enum err	 e;

	memset(&d, 0, sizeof(d));
	request_hash(req, d.request);
	d.status = resp->status;
	if ((headers = strndup(resp->headers.data != NULL ?
	    resp->headers.data + from : "", resp->headers.len - from)) == NULL)
		return ERR_INTERNAL;
	d.headers = headers;
	d.body = resp->body.data;
	e = store_idem_put(c->store, c->who, req->idempotency_key, &d, now,
	    now - IDEM_KEEP);
	free(headers);
	return e;
}

/* Whether the request arrived longer than request_deadline ago. */
static int
past_deadline(const struct ctx *c, const struct request *req)
{
	return c->conf.request_deadline > 0 && req->started != 0 &&
	    wlock_now_ns() - req->started >
	    c->conf.request_deadline * 1000000000;
}

/* Answers the request into resp; returns 1 when no route has its path
 * (a 404 that is not a record's). */
static int
handle(struct ctx *c, const struct request *req, struct response *resp)
{
	struct route_match	 m;
	enum route		 r;
	handler_fn		 fn;
	const char		*detail = NULL;
	char			 allow[64], why[256];
	size_t			 handler_headers;
	int			 writing, replayed = 0;
	enum err		 e;

	resp_reset(resp);
	resp->route = ROUTE_NONE;
	resp->body.limit = c->conf.max_answer;
	resp->mage_errors = !c->conf.http_error_codes;
	r = route_match(req->path, &m);
	resp->route = (int)r;
	base_headers(c, req, r, resp);
	if (req->body_state == BODY_SHORT) {
		/* Whoever is still there gets the 400 of a body that is not
		 * JSON, rather than nothing, which the web server would turn
		 * into its own 500. Nothing is changed. */
		resp_error(resp, ERR_INVALID_JSON,
		    "The body is shorter than its Content-Length.", NULL);
		return 0;
	}
	if (req->method == M_OPTIONS) {
		resp->status = 204;
		if (r != ROUTE_NONE) {
			route_allow(r, allow, sizeof(allow));
			resp_header(resp, "Allow", allow);
		}
		if (c->conf.cors_origin[0] != '\0' && r != ROUTE_NONE) {
			/* what the route takes, as Allow says */
			resp_header(resp, "Access-Control-Allow-Methods",
			    allow);
			resp_header(resp, "Access-Control-Allow-Headers",
			    "Content-Type, X-API-KEY, Authorization, "
			    "OAUTH-TOKEN, If-Match, If-None-Match, "
			    "Idempotency-Key");
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
		case BODY_SHORT:	/* answered above */
			break;
		}
	}
	if (handlers[r].flags & BUILTIN) {
		fn(c, req, &m, resp);	/* a read of no database */
		return 0;
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
	memset(c->who, 0, sizeof(c->who));
	e = writing ? store_begin(c->store) : store_begin_read(c->store);
	if (e == ERR_OK && c->conf.require_auth &&
	    !(handlers[r].flags & PUBLIC))
		e = access_check(c, req);
	if (e == ERR_OK && idempotent(req) &&
	    (e = idem_replay(c, req, resp, &replayed)) == ERR_OK && replayed) {
		store_rollback(c->store);	/* answered as the first time */
		return 0;
	}
	if (e != ERR_OK) {
		store_rollback(c->store);
		resp_error(resp, e, NULL, NULL);
		return 0;
	}
	handler_headers = resp->headers.len;
	fn(c, req, &m, resp);
	/* An answer that did not fit (max_answer, or memory): an error,
	 * and a write that made it is not kept. */
	if (resp->body.oom) {
		e = resp->body.over ? ERR_INVALID_QUERY : ERR_INTERNAL;
		buf_reset(&resp->headers);
		base_headers(c, req, r, resp);
		resp_error(resp, e, e == ERR_INVALID_QUERY ? "The answer would "
		    "be larger than max_answer: ask for fewer rows with "
		    "_limit." : NULL, NULL);
	}
	if (!writing || resp->status >= 300) {
		store_rollback(c->store);
		return 0;
	}
	if (idempotent(req))
		e = idem_keep(c, req, resp, handler_headers);
	/* The web server waits for the answer only so long: a write that
	 * got here after it gave up is not made (its client may retry). */
	if (e == ERR_OK && past_deadline(c, req)) {
		log_msg(LOG_WARN, "%s %s took longer than request_deadline "
		    "(%lld s): rolled back", http_method_name(req->method),
		    req->path, (long long)c->conf.request_deadline);
		e = ERR_UNAVAILABLE;
		detail = "The request took longer than request_deadline: "
		    "nothing was written; try again.";
	}
	if (e == ERR_OK)
		e = store_commit(c->store);
	else
		store_rollback(c->store);
	if (e != ERR_OK) {
		buf_reset(&resp->headers);
		base_headers(c, req, r, resp);
		resp_error(resp, e, detail, NULL);
	}
	return 0;
}
