/*
 * The backfill resource's handlers: SPEC "List", "Show", "Create and
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
#include "store.h"

#define LIMIT_DEFAULT	40
#define LIMIT_MAX	1000
#define OFFSET_MAX	2147483647LL

int
etag_matches(const char *if_match, const char *etag)
{
	const char	*p = if_match, *end;
	size_t		 elen = strlen(etag);

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		end = p;
		while (*end != '\0' && *end != ',')
			end++;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((end - p == 1 && *p == '*') ||
		    ((size_t)(end - p) == elen && memcmp(p, etag, elen) == 0))
			return 1;
		p = end;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}

/* Reads an optional integer query parameter in [lo, hi]. Returns 0, or
 * -1 after answering 400 invalid_query. */
static int
query_int(const struct request *req, struct response *resp,
    const char *name, int64_t lo, int64_t hi, int64_t *out)
{
	char	 v[24];
	int	 rc = query_get(req->query, name, v, sizeof(v)), i;
	int64_t	 n = 0;

	if (rc == 0)
		return 0;
	for (i = 0; rc == 1 && v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '9' || i >= 10) {
			rc = -1;
			break;
		}
		n = n * 10 + (v[i] - '0');
	}
	if (rc != 1 || i == 0 || n < lo || n > hi) {
		resp_error(resp, ERR_INVALID_QUERY, strcmp(name, "_limit") ?
		    "_offset must be an integer from 0 to 2147483647." :
		    "_limit must be an integer from 1 to 1000.", NULL);
		return -1;
	}
	*out = n;
	return 0;
}

/* Writes {"backfill": {...}} and its ETag. */
static void
present_one(struct response *resp, const struct backfill *b)
{
	char	 etag[48];

	bf_etag(b, etag);
	resp_header(resp, "ETag", etag);
	buf_reset(&resp->body);
	buf_puts(&resp->body, "{\"backfill\": ");
	bf_present(&resp->body, b);
	buf_puts(&resp->body, "}");
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
 * path's pipeline on nested routes. */
static enum err
load(struct ctx *c, const struct route_match *m, struct backfill *b)
{
	enum err	 e;

	if ((e = check_pipeline(c, m)) != ERR_OK ||
	    (e = store_backfill_get(c->store, m->id, b)) != ERR_OK)
		return e;
	if (m->pipeline[0] != '\0' &&
	    (b->v[BF_PIPELINE_UUID].null ||
	    strcmp(b->v[BF_PIPELINE_UUID].s, m->pipeline) != 0))
		return ERR_NOT_FOUND;
	return ERR_OK;
}

struct list_state {
	struct buf	*out;
	int		 n;
};

static int
list_row(const struct backfill *b, void *arg)
{
	struct list_state *ls = arg;

	if (ls->n++ > 0)
		buf_add(ls->out, ", ", 2);
	bf_present(ls->out, b);
	return 0;
}

void
h_backfill_list(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct list_state ls = { &resp->body, 0 };
	char		 q[UUID_MAX + 2];
	const char	*pipeline = NULL;
	int64_t		 limit = LIMIT_DEFAULT, offset = 0, count = 0;
	int		 next = 0, rc;
	enum err	 e = ERR_OK;

	if (query_int(req, resp, "_limit", 1, LIMIT_MAX, &limit) < 0 ||
	    query_int(req, resp, "_offset", 0, OFFSET_MAX, &offset) < 0)
		return;
	if (m->pipeline[0] != '\0') {
		if ((e = check_pipeline(c, m)) != ERR_OK) {
			resp_error(resp, e, NULL, NULL);
			return;
		}
		pipeline = m->pipeline;
	}
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
	if (rc != -2)
		e = store_backfill_list(c->store, pipeline, limit, offset,
		    &count, &next, list_row, &ls);
	if (e != ERR_OK) {
		resp_error(resp, e, NULL, NULL);
		return;
	}
	buf_puts(&resp->body, "], \"metadata\": {\"count\": ");
	buf_int(&resp->body, count);
	buf_puts(&resp->body, next ? ", \"next\": true}}" :
	    ", \"next\": false}}");
}

void
h_backfill_show(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct backfill	 b;
	enum err	 e;

	(void)req;
	memset(&b, 0, sizeof(b));
	if ((e = load(c, m, &b)) != ERR_OK)
		resp_error(resp, e, NULL, NULL);
	else
		present_one(resp, &b);
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
	if ((e = jsonin_parse(req->body, req->body_len, root, &detail))
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
	if ((e = bf_check_new(&b, &fe)) != ERR_OK) {
		resp_error(resp, e, NULL, &fe);
		goto out;
	}
	if ((e = store_begin(c->store)) != ERR_OK)
		goto fail;
	if ((e = check_pipeline(c, m)) != ERR_OK ||
	    (e = store_backfill_insert(c->store, &b)) != ERR_OK ||
	    (e = store_commit(c->store)) != ERR_OK) {
		store_rollback(c->store);
		goto fail;
	}
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

void
h_backfill_update(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct json_object	*root = NULL;
	struct field_errors	 fe = { 0 };
	struct bf_patch		 p;
	struct backfill		 b;
	const char		*detail = NULL;
	char			 etag[48];
	uint32_t		 changed = 0;
	enum err		 e;

	memset(&b, 0, sizeof(b));
	if (decode(req, resp, 1, &root, &p) < 0)
		goto out;
	if ((e = store_begin(c->store)) != ERR_OK)
		goto fail;
	if ((e = load(c, m, &b)) != ERR_OK)
		goto rollback;
	bf_etag(&b, etag);
	if (req->if_match != NULL && !etag_matches(req->if_match, etag)) {
		e = ERR_PRECONDITION;
		goto rollback;
	}
	if ((e = bf_apply(&b, &p, dt_now(), &changed, &fe, &detail))
	    != ERR_OK)
		goto rollback;
	if (changed != 0 &&
	    (e = store_backfill_update(c->store, &b, changed)) != ERR_OK)
		goto rollback;
	if ((e = store_commit(c->store)) != ERR_OK)
		goto fail;
	present_one(resp, &b);
	goto out;
rollback:
	store_rollback(c->store);
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
	char		 etag[48];
	enum err	 e;

	memset(&b, 0, sizeof(b));
	if ((e = store_begin(c->store)) != ERR_OK)
		goto fail;
	if ((e = load(c, m, &b)) != ERR_OK)
		goto rollback;
	bf_etag(&b, etag);
	if (req->if_match != NULL && !etag_matches(req->if_match, etag)) {
		e = ERR_PRECONDITION;
		goto rollback;
	}
	if ((e = store_backfill_delete(c->store, m->id)) != ERR_OK)
		goto rollback;
	if ((e = store_commit(c->store)) != ERR_OK)
		goto fail;
	present_one(resp, &b);
	goto out;
rollback:
	store_rollback(c->store);
fail:
	resp_error(resp, e, NULL, NULL);
out:
	backfill_free(&b);
}
