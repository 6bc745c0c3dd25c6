/*
 * The pipeline run handlers: the runs of a backfill as Mage's runs table
 * lists them, one run, a report on one (a user's cancel, an executor's
 * progress and its lease's renewal), and an executor's claim of the next
 * run to do. The rules are lifecycle.c's.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datetime.h"
#include "handlers.h"
#include "jsonin.h"
#include "lifecycle.h"
#include "plan.h"
#include "router.h"
#include "run.h"
#include "store.h"

static void
present_one(struct response *resp, const struct run *r)
{
	buf_reset(&resp->body);
	buf_puts(&resp->body, "{\"pipeline_run\": ");
	run_present(&resp->body, r);
	buf_putc(&resp->body, '}');
}

struct list_state {
	struct buf	*out;
	int		 n;
};

static int
list_row(const struct run *r, void *arg)
{
	struct list_state *ls = arg;

	if (ls->n++ > 0)
		buf_add(ls->out, ", ", 2);
	run_present(ls->out, r);
	return 0;
}

void
h_run_list(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct list_state ls = { &resp->body, 0 };
	char		 v[32];
	int64_t		 limit, offset, bid = 0, count = 0;
	int		 next = 0, s = ST_NULL, latest = 0, rc;
	enum err	 e;

	(void)m;
	if (page_query(req, resp, &limit, &offset) < 0)
		return;
	if (query_int(req->query, "backfill_id", 1, 1LL << 53, &bid) < 0) {
		resp_error(resp, ERR_INVALID_QUERY,
		    "backfill_id must be a positive integer.", NULL);
		return;
	}
	/* Mage's "Last run failed": the dates whose latest attempt failed. */
	rc = query_get(req->query, "status", v, sizeof(v));
	if (rc == 1 && strcmp(v, "last_run_failed") == 0) {
		s = ST_FAILED;
		latest = 1;
	} else if (rc != 0 && (rc < 0 ||
	    (s = bf_status_from(v, strlen(v))) < 0)) {
		resp_error(resp, ERR_INVALID_QUERY, "status must be one of "
		    "initial, running, completed, failed, cancelled, "
		    "last_run_failed.", NULL);
		return;
	}
	buf_puts(&resp->body, "{\"pipeline_runs\": [");
	if ((e = store_run_list(c->store, bid, (enum bf_status)s, latest,
	    limit, offset, &count, &next, list_row, &ls)) != ERR_OK) {
		resp_error(resp, e, NULL, NULL);
		return;
	}
	resp_list_end(resp, count, next);
}

void
h_run_show(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct run	 r;
	enum err	 e;

	(void)req;
	memset(&r, 0, sizeof(r));
	if ((e = store_run_get(c->store, m->id, &r)) != ERR_OK)
		resp_error(resp, e, NULL, NULL);
	else
		present_one(resp, &r);
	run_free(&r);
}

void
h_run_update(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct json_object	*root = NULL;
	struct field_errors	 fe = { 0 };
	struct lifecycle	 lc;
	struct run_report	 rep;
	struct buf		 metrics = { 0 };
	struct run		 r;
	const char		*detail = NULL;
	enum err		 e;

	memset(&r, 0, sizeof(r));
	lifecycle_init(&lc, c->store, &c->conf);
	if ((e = jsonin_body(req->body, req->body_len, &root, &fe, &detail))
	    != ERR_OK ||
	    (e = run_report_decode(root, &rep, &metrics, &fe, &detail)) !=
	    ERR_OK)
		goto fail;
	if ((e = lifecycle_report(&lc, m->id, &rep, dt_now(), &r)) !=
	    ERR_OK) {
		if (e == ERR_TRANSITION)
			detail = "A run moves initial -> running -> completed "
			    "or failed, and to cancelled from initial or "
			    "running.";
		goto fail;
	}
	present_one(resp, &r);
	goto out;
fail:
	resp_error(resp, e, detail, &fe);
out:
	run_free(&r);
	buf_free(&metrics);
	json_object_put(root);
}

/* Decodes {"claim": {"executor": "<name>", "pipelines": [...] | null}}:
 * the executor's name into owner, the pipelines as a JSON array's text
 * into pipelines (empty: any). Returns ERR_OK, ERR_INVALID_JSON (*detail)
 * or ERR_RECORD_INVALID (fe). */
static enum err
claim_decode(struct json_object *root, char *owner, size_t ownerlen,
    struct buf *pipelines, struct field_errors *fe, const char **detail)
{
	struct json_object	*body, *v, *p;
	const char		*s;
	size_t			 i, n, len;

	buf_reset(pipelines);
	if (jsonin_envelope(root, "claim", &body, detail) != ERR_OK)
		return ERR_INVALID_JSON;
	json_object_object_foreach(body, key, val) {
		(void)val;
		if (strcmp(key, "executor") != 0 &&
		    strcmp(key, "pipelines") != 0)
			field_error(fe, key, "is not a field of claim");
	}
	if (!json_object_object_get_ex(body, "executor", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (len = (size_t)json_object_get_string_len(v)) < 1 ||
	    len >= ownerlen || !utf8_valid(s = json_object_get_string(v), len) ||
	    strlen(s) != len)
		field_error(fe, "executor", "must be the executor's name, 1 "
		    "to 255 bytes of UTF-8");
	else
		memcpy(owner, s, len + 1);
	if (json_object_object_get_ex(body, "pipelines", &v) && v != NULL) {
		n = json_object_is_type(v, json_type_array) ?
		    json_object_array_length(v) : 0;
		if (!json_object_is_type(v, json_type_array) || n > 1000)
			field_error(fe, "pipelines", "must be a list of up to "
			    "1000 pipeline uuids, or null for any");
		for (i = 0; i < n; i++) {
			p = json_object_array_get_idx(v, i);
			if (!json_object_is_type(p, json_type_string) ||
			    !valid_uuid(json_object_get_string(p),
			    (size_t)json_object_get_string_len(p))) {
				field_error(fe, "pipelines", "must hold "
				    "pipeline uuids: 1-255 of [A-Za-z0-9_.-]");
				break;
			}
		}
		if (fe->n == 0)
			buf_puts(pipelines, json_object_to_json_string_ext(v,
			    JSON_C_TO_STRING_PLAIN));
	}
	return fe->n > 0 ? ERR_RECORD_INVALID : ERR_OK;
}

/* Appends to the run just written (its closing brace reopened) what its
 * executor needs beyond the record: the lease, the backfill's name and
 * the run's planned interval. */
static enum err
present_claim(struct ctx *c, struct buf *out, const struct run *r)
{
	struct backfill	 b;
	struct plan	 p;
	struct plan_row	 row;
	int64_t		 k;
	enum err	 e;

	memset(&b, 0, sizeof(b));
	if ((e = store_backfill_get(c->store, r->backfill_id, &b)) != ERR_OK)
		return e;
	out->len--;
	buf_puts(out, ", \"lease_id\": ");
	buf_json_str(out, r->lease_id, strlen(r->lease_id));
	buf_printf(out, ", \"lease_seconds\": %lld",
	    (long long)c->conf.run_lease);
	buf_puts(out, ", \"backfill_name\": ");
	if (b.v[BF_NAME].null)
		buf_puts(out, "null");
	else
		buf_json_str(out, b.v[BF_NAME].s, b.v[BF_NAME].len);
	if (!plan_of(&b, &p) || (k = plan_index(&p, r->execution_date)) < 0 ||
	    plan_row(&p, k, &row) != 0) {
		/* a date outside the plan (a run written by hand): the
		 * interval starts at it, its end and predecessor unknown */
		row.date = r->execution_date;
		row.end = row.seconds = row.previous = -1;
	}
	buf_puts(out, ", \"plan\": {");
	plan_row_present(out, &row);
	buf_putc(out, '}');
	buf_putc(out, '}');
	backfill_free(&b);
	return ERR_OK;
}

/* Mage's "Retry run" body: {"pipeline_run": {"backfill_id": N,
 * "execution_date": "...", ...}}; the other keys its UI sends
 * (event_variables, pipeline_schedule_id, pipeline_uuid, variables) are
 * the run's own, ignored. */
static enum err
retry_decode(struct json_object *root, int64_t *bid, int64_t *date,
    struct field_errors *fe, const char **detail)
{
	struct json_object	*body, *v;
	const char		*s;

	if (jsonin_envelope(root, "pipeline_run", &body, detail) != ERR_OK)
		return ERR_INVALID_JSON;
	if (!json_object_object_get_ex(body, "backfill_id", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    (*bid = json_object_get_int64(v)) < 1)
		field_error(fe, "backfill_id", "must be the run's backfill id");
	if (!json_object_object_get_ex(body, "execution_date", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    dt_parse(s = json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), date) < 0 ||
	    strlen(s) != (size_t)json_object_get_string_len(v))
		field_error(fe, "execution_date", "must be the run's "
		    "execution date");
	return fe->n > 0 ? ERR_RECORD_INVALID : ERR_OK;
}

/* POST /api/pipeline_schedules/pipeline_runs: a new attempt at one date
 * (lifecycle_retry_date), answered as a created run. */
void
h_run_retry(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct json_object	*root = NULL;
	struct field_errors	 fe = { 0 };
	struct lifecycle	 lc;
	struct run		 r;
	const char		*detail = NULL;
	char			 where[64];
	int64_t			 bid = 0, date = 0;
	enum err		 e;

	(void)m;
	memset(&r, 0, sizeof(r));
	lifecycle_init(&lc, c->store, &c->conf);
	if ((e = jsonin_body(req->body, req->body_len, &root, &fe, &detail))
	    != ERR_OK ||
	    (e = retry_decode(root, &bid, &date, &fe, &detail)) != ERR_OK ||
	    (e = lifecycle_retry_date(&lc, bid, date, dt_now(), &r)) !=
	    ERR_OK) {
		resp_error(resp, e, detail, &fe);
		goto out;
	}
	present_one(resp, &r);
	resp->status = 201;
	snprintf(where, sizeof(where), "/api/pipeline_runs/%lld",
	    (long long)r.id);
	resp_header(resp, "Location", where);
out:
	run_free(&r);
	json_object_put(root);
}

void
h_run_claim(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct json_object	*root = NULL;
	struct field_errors	 fe = { 0 };
	struct lifecycle	 lc;
	struct buf		 pipelines = { 0 };
	struct run		 r;
	const char		*detail = NULL;
	char			 owner[256];
	enum err		 e;

	(void)m;
	memset(&r, 0, sizeof(r));
	lifecycle_init(&lc, c->store, &c->conf);
	if ((e = jsonin_body(req->body, req->body_len, &root, &fe, &detail))
	    != ERR_OK ||
	    (e = claim_decode(root, owner, sizeof(owner), &pipelines, &fe,
	    &detail)) != ERR_OK)
		goto fail;
	e = lifecycle_claim(&lc, pipelines.len ? pipelines.data : NULL, owner,
	    dt_now(), &r);
	if (e == ERR_NOT_FOUND) {
		buf_puts(&resp->body, "{\"pipeline_run\": null}");
		goto out;
	}
	if (e != ERR_OK)
		goto fail;
	present_one(resp, &r);
	/* The body closes twice: reopen the outer object's run. */
	resp->body.len--;
	if ((e = present_claim(c, &resp->body, &r)) != ERR_OK)
		goto fail;
	buf_putc(&resp->body, '}');
	goto out;
fail:
	resp_error(resp, e, detail, &fe);
out:
	run_free(&r);
	buf_free(&pipelines);
	json_object_put(root);
}
