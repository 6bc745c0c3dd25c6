/*
 * The backfill resource's handlers: docs/API.md "Lists", "Show", "Create and
 * update", delete, and "Concurrency".
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "datetime.h"
#include "handlers.h"
#include "jsonin.h"
#include "lifecycle.h"
#include "plan.h"
#include "run.h"
#include "store.h"

/* Appends the run fields of docs/API.md "Backfills" inside the record
 * just written (its closing brace is reopened): total_run_count and
 * run_status_counts, and with preview the planned runs of the page. */
static enum err
present_runs(struct ctx *c, struct buf *out, const struct backfill *b,
    int preview, int64_t limit, int64_t offset)
{
	struct run_counts counts;
	struct pipeline	 pl;
	struct plan	 p;
	char		*vars;
	int		 failed;
	enum err	 e;

	if (!plan_of(b, &p))
		return ERR_OK;
	if ((e = store_run_counts(c->store, b->v[BF_ID].i, &counts)) != ERR_OK)
		return e;
	out->len--;	/* reopen the object */
	buf_puts(out, ", \"total_run_count\": ");
	buf_int(out, plan_count(&p));
	buf_puts(out, ", \"run_status_counts\": ");
	run_counts_present(out, &counts);
	if (preview) {
		if ((e = store_pipeline_get(c->store,
		    b->v[BF_PIPELINE_UUID].s, &pl)) != ERR_OK)
			return e;
		vars = plan_merge_variables(pl.variables,
		    b->v[BF_VARIABLES].null ? NULL : b->v[BF_VARIABLES].s,
		    &failed);
		pipeline_free(&pl);
		if (failed)
			return ERR_INTERNAL;
		buf_puts(out, ", \"pipeline_run_dates\": [");
		plan_present(out, &p, offset, limit, vars);
		buf_putc(out, ']');
		free(vars);
	}
	buf_putc(out, '}');
	return ERR_OK;
}

/* Starts {"backfill": {...}; end_one() closes it. */
static void
begin_one(struct response *resp, const struct backfill *b)
{
	buf_reset(&resp->body);
	buf_puts(&resp->body, "{\"backfill\": ");
	bf_present(&resp->body, b);
}

static void
end_one(struct response *resp)
{
	buf_putc(&resp->body, '}');
}

/* The record's ETag, once its answer is sure: an error answers no
 * record, so it carries no ETag. */
static void
etag_header(struct response *resp, const struct backfill *b)
{
	char	 etag[48];

	bf_etag(b, etag);
	resp_header(resp, "ETag", etag);
}

/* Writes {"backfill": {...}} and its ETag. */
static void
present_one(struct response *resp, const struct backfill *b)
{
	etag_header(resp, b);
	begin_one(resp, b);
	end_one(resp);
}

/* For nested routes: the pipeline must exist. Returns ERR_OK or the
 * error to answer. */
static enum err
check_pipeline(struct ctx *c, const struct route_match *m)
{
	struct pipeline	 p;
	enum err	 e;

	if (m->pipeline[0] == '\0')
		return ERR_OK;
	if ((e = store_pipeline_get(c->store, m->pipeline, &p)) == ERR_OK)
		pipeline_free(&p);
	return e;
}

/* Loads the backfill of the path, checking that it belongs to the
 * path's pipeline on nested routes (then the pipeline exists: the
 * backfill's row references it), in one statement. */
static enum err
load(struct ctx *c, const struct route_match *m, struct backfill *b)
{
	enum err	 e;

	if ((e = store_backfill_get(c->store, m->id, b)) != ERR_OK)
		return e;
	if (m->pipeline[0] != '\0' &&
	    (b->v[BF_PIPELINE_UUID].null ||
	    strcmp(b->v[BF_PIPELINE_UUID].s, m->pipeline) != 0))
		return ERR_NOT_FOUND;
	return ERR_OK;
}

/* Loads the backfill a PUT or DELETE changes, and checks the request's
 * If-Match against its ETag (docs/API.md "Backfills"): ERR_PRECONDITION when
 * it does not match. */
static enum err
load_to_change(struct ctx *c, const struct request *req,
    const struct route_match *m, struct backfill *b)
{
	char		 etag[48];
	enum err	 e;

	if ((e = load(c, m, b)) != ERR_OK)
		return e;
	bf_etag(b, etag);
	if (req->if_match != NULL && !etag_matches(req->if_match, etag))
		return ERR_PRECONDITION;
	return ERR_OK;
}

struct list_state {
	struct ctx	*c;
	struct buf	*out;
	int		 n;
	int		 run_count;	/* include_run_count */
	enum err	 e;
};

static int
list_row(const struct backfill *b, void *arg)
{
	struct list_state *ls = arg;

	if (ls->n++ > 0)
		buf_add(ls->out, ", ", 2);
	bf_present(ls->out, b);
	if (ls->run_count)
		ls->e = present_runs(ls->c, ls->out, b, 0, 0, 0);
	return ls->e != ERR_OK;
}

void
h_backfill_list(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct list_state ls = { c, &resp->body, 0,
	    query_flag(req->query, "include_run_count"), ERR_OK };
	char		 q[UUID_MAX + 2];
	const char	*pipeline = NULL;
	int64_t		 limit, offset, count = 0;
	int		 next = 0, rc;
	enum err	 e = ERR_OK;

	if (page_query(req, resp, &limit, &offset) < 0)
		return;
	if (m->pipeline[0] != '\0')
		pipeline = m->pipeline;
	rc = query_get(req->query, "pipeline_uuid", q, sizeof(q));
	if (rc == 1 && q[0] != '\0') {
		/* Both filters apply; a name that cannot exist matches none. */
		if (!valid_uuid(q, strlen(q)) ||
		    (pipeline != NULL && strcmp(q, pipeline) != 0))
			rc = -2;
		else
			pipeline = q;
	} else if (rc == -1)
		rc = -2;
	buf_puts(&resp->body, "{\"backfills\": [");
	if (rc == -2 && m->pipeline[0] != '\0')
		e = check_pipeline(c, m);
	else if (rc != -2)
		e = store_backfill_list(c->store, pipeline, limit, offset,
		    &count, &next, list_row, &ls);
	/* An unknown pipeline is 404 on its nested route; as a filter it
	 * matches none. */
	if (e == ERR_NOT_FOUND && m->pipeline[0] == '\0')
		e = ERR_OK;
	if (e == ERR_OK)
		e = ls.e;
	if (e != ERR_OK) {
		resp_error(resp, e, NULL, NULL);
		return;
	}
	resp_list_end(resp, count, next);
}

void
h_backfill_show(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct backfill	 b;
	int64_t		 limit, offset;
	int		 preview = query_flag(req->query,
			    "include_preview_runs");
	enum err	 e;

	if (page_query(req, resp, &limit, &offset) < 0)
		return;
	memset(&b, 0, sizeof(b));
	if ((e = load(c, m, &b)) == ERR_OK) {
		begin_one(resp, &b);
		if (preview || query_flag(req->query, "include_run_count"))
			e = present_runs(c, &resp->body, &b, preview, limit,
			    offset);
		end_one(resp);
	}
	if (e != ERR_OK)
		resp_error(resp, e, NULL, NULL);
	else
		etag_header(resp, &b);
	backfill_free(&b);
}

/* Parses and decodes the body into p. Returns 0, or -1 after answering
 * the error; *root is the parsed tree either way (json_object_put it). */
static int
decode(const struct request *req, struct response *resp, int for_update,
    struct json_object **root, struct bf_patch *p)
{
	struct field_errors	 fe = { 0 };
	const char		*detail = NULL;
	enum err		 e;

	memset(p, 0, sizeof(*p));
	if ((e = jsonin_body(req->body, req->body_len, root, &fe, &detail))
	    == ERR_OK)
		e = bf_patch_decode(*root, for_update, p, &fe, &detail);
	if (e != ERR_OK) {
		resp_error(resp, e, detail, &fe);
		return -1;
	}
	return 0;
}

void
h_backfill_create(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct json_object	*root = NULL;
	struct field_errors	 fe = { 0 };
	struct bf_patch		 p;
	struct backfill		 b;
	char			 loc[64];
	int64_t			 now = dt_now();
	int			 f;
	enum err		 e;

	memset(&b, 0, sizeof(b));
	backfill_clear(&b);
	if (decode(req, resp, 0, &root, &p) < 0)
		goto out;
	for (f = 0; f < BF__MAX; f++)
		if (p.set & BF_BIT(f)) {
			b.v[f] = p.v[f];	/* moves ownership */
			memset(&p.v[f], 0, sizeof(p.v[f]));
			p.v[f].null = 1;
		}
	b.v[BF_CREATED_AT] = (struct bval){ .i = now };
	b.v[BF_UPDATED_AT] = (struct bval){ .i = now };
	if (bval_set_str(&b.v[BF_PIPELINE_UUID], m->pipeline,
	    strlen(m->pipeline)) < 0) {
		resp_error(resp, ERR_INTERNAL, NULL, NULL);
		goto out;
	}
	if ((e = bf_check_new(&b, &fe)) != ERR_OK ||
	    (e = plan_check(&b, c->conf.max_runs, &fe)) != ERR_OK) {
		resp_error(resp, e, NULL, &fe);
		goto out;
	}
	if ((e = check_pipeline(c, m)) != ERR_OK ||
	    (e = store_backfill_insert(c->store, &b)) != ERR_OK)
		goto fail;
	resp->status = 201;
	snprintf(loc, sizeof(loc), "/api/backfills/%lld",
	    (long long)b.v[BF_ID].i);
	resp_header(resp, "Location", loc);
	present_one(resp, &b);
	goto out;
fail:
	resp_error(resp, e, NULL, NULL);
out:
	bf_patch_free(&p);
	backfill_free(&b);
	json_object_put(root);
}

/* The fields a plan is made of. */
#define PLAN_FIELDS	(BF_BIT(BF_START_DATETIME) | BF_BIT(BF_END_DATETIME) | \
			 BF_BIT(BF_INTERVAL_TYPE) | BF_BIT(BF_INTERVAL_UNITS))

/* Whether a backfill of status s has runs planned that a new plan would
 * leave behind (initial or running). */
static int
started(const struct backfill *b)
{
	return !b->v[BF_STATUS].null && (b->v[BF_STATUS].i == ST_INITIAL ||
	    b->v[BF_STATUS].i == ST_RUNNING);
}

void
h_backfill_update(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct json_object	*root = NULL;
	struct field_errors	 fe = { 0 };
	struct lifecycle	 lc;
	struct bf_patch		 p;
	struct backfill		 b;
	const char		*detail = NULL;
	uint32_t		 changed = 0;
	int64_t			 now = dt_now();
	int			 was_started;
	enum err		 e;

	memset(&b, 0, sizeof(b));
	lifecycle_init(&lc, c->store, &c->conf);
	if (decode(req, resp, 1, &root, &p) < 0)
		goto out;
	if ((e = load_to_change(c, req, m, &b)) != ERR_OK)
		goto fail;
	was_started = started(&b);
	if ((e = bf_apply(&b, &p, now, &changed, &fe, &detail)) != ERR_OK)
		goto fail;
	/* A started plan stays as it is while its runs are planned: a new
	 * one would leave dates that no run covers. */
	if (was_started && started(&b) && (changed & PLAN_FIELDS)) {
		e = ERR_TRANSITION;
		detail = "The backfill is started: cancel it before changing "
		    "its plan (start_datetime, end_datetime, interval_type, "
		    "interval_units).";
		goto fail;
	}
	if (((changed & (PLAN_FIELDS | BF_BIT(BF_STATUS))) &&
	    (e = plan_check(&b, c->conf.max_runs, &fe)) != ERR_OK) ||
	    ((changed & BF_BIT(BF_STATUS)) &&
	    (e = lifecycle_status_effects(&lc, &b, now, &changed)) != ERR_OK) ||
	    (changed != 0 &&
	    (e = store_backfill_update(c->store, &b, changed)) != ERR_OK))
		goto fail;
	present_one(resp, &b);
	goto out;
fail:
	resp_error(resp, e, detail, &fe);
out:
	bf_patch_free(&p);
	backfill_free(&b);
	json_object_put(root);
}

void
h_backfill_delete(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct backfill	 b;
	enum err	 e;

	memset(&b, 0, sizeof(b));
	if ((e = load_to_change(c, req, m, &b)) != ERR_OK)
		goto fail;
	if ((e = store_backfill_delete(c->store, m->id)) != ERR_OK)
		goto fail;
	present_one(resp, &b);
	goto out;
fail:
	resp_error(resp, e, NULL, NULL);
out:
	backfill_free(&b);
}
