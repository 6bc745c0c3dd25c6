/*
 * The pipeline run handlers (SPEC "Pipeline runs"): an executor lists
 * the runs of a backfill and reports on each; the backfill follows.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "datetime.h"
#include "handlers.h"
#include "jsonin.h"
#include "lifecycle.h"
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
	char		 v[16];
	int64_t		 limit, offset, bid = 0, count = 0;
	int		 next = 0, s = ST_NULL, rc;
	enum err	 e;

	(void)m;
	if (page_query(req, resp, &limit, &offset) < 0)
		return;
	if (query_int(req->query, "backfill_id", 1, 1LL << 53, &bid) < 0) {
		resp_error(resp, ERR_INVALID_QUERY,
		    "backfill_id must be a positive integer.", NULL);
		return;
	}
	rc = query_get(req->query, "status", v, sizeof(v));
	if (rc != 0 && (rc < 0 || (s = bf_status_from(v, strlen(v))) < 0)) {
		resp_error(resp, ERR_INVALID_QUERY, "status must be one of "
		    "initial, running, completed, failed, cancelled.", NULL);
		return;
	}
	buf_puts(&resp->body, "{\"pipeline_runs\": [");
	if ((e = store_run_list(c->store, bid, (enum bf_status)s, limit,
	    offset, &count, &next, list_row, &ls)) != ERR_OK) {
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
	free((char *)r.variables);
}

void
h_run_update(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct json_object	*root = NULL;
	struct field_errors	 fe = { 0 };
	struct run		 r;
	const char		*detail = NULL;
	enum bf_status		 to = ST_NULL, old;
	int64_t			 now = dt_now();
	int			 changed;
	enum err		 e;

	memset(&r, 0, sizeof(r));
	if ((e = jsonin_parse(req->body, req->body_len, &root, &detail))
	    != ERR_OK ||
	    (e = run_report_decode(root, &to, &fe, &detail)) != ERR_OK)
		goto fail;
	if ((e = store_run_get(c->store, m->id, &r)) != ERR_OK)
		goto fail;
	old = r.status;
	if ((e = run_apply(&r, to, now, &changed)) != ERR_OK) {
		detail = "A run moves initial -> running -> completed or "
		    "failed, and to cancelled from initial or running.";
		goto fail;
	}
	if (changed &&
	    ((e = store_run_update(c->store, &r, old)) != ERR_OK ||
	    (r.latest && (e = lifecycle_follow(c->store, r.backfill_id, to, now))
	    != ERR_OK)))
		goto fail;
	present_one(resp, &r);
	goto out;
fail:
	resp_error(resp, e, detail, &fe);
out:
	free((char *)r.variables);
	json_object_put(root);
}
