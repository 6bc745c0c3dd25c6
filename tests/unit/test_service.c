/*
 * src/service.h: whole requests through service_handle(), as the
 * FastCGI adapter makes them, against a temporary database holding
 * The demo data (pipeline arwen_starlight, backfill 6 created at
 * 2023-07-18 23:30:26). Authentication is off (conf_defaults).
 */
#include <check.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "conf.h"
#include "datetime.h"
#include "http.h"
#include "openapi.h"
#include "service.h"
#include "store.h"
#include "suites.h"

#define CREATED		"2023-07-18 23:30:26"

/* The founding example's body, as curl -d sends it. */
static const char founding_body[] =
	"{\"backfill\": {\"start_datetime\": \"2023-07-17 23:56:05\",\n"
	"                   \"end_datetime\": \"2023-07-18 23:56:05\", "
	"\"name\": \"new_name\"}}";

static char		 dir[4096];
static char		 dbpath[4200];
static struct ctx	 ctx;
static struct response	 resp;

static int64_t
T(const char *s)
{
	int64_t	 us;

	ck_assert_msg(dt_parse(s, strlen(s), &us) == 0, "bad test date %s", s);
	return us;
}

static void
setup(void)
{
	struct store_opts o;
	struct store	*st = NULL;
	struct backfill	 b;
	struct conf	 conf;
	char		 why[256] = "";

	unit_mkdtemp(dir, sizeof(dir));
	snprintf(dbpath, sizeof(dbpath), "%s/backfills.db", dir);
	memset(&o, 0, sizeof(o));
	o.path = dbpath;
	o.durability_full = 1;
	o.busy_timeout = 2000;
	o.create = 1;
	ck_assert_msg(store_open(&st, &o, why, sizeof(why)) == ERR_OK,
	    "store_open: %s", why);
	ck_assert_int_eq(store_pipeline_add(st, "arwen_starlight", NULL),
	    ERR_OK);
	ck_assert_int_eq(store_pipeline_add(st, "other_pipeline", NULL),
	    ERR_OK);
	memset(&b, 0, sizeof(b));
	backfill_clear(&b);
	b.v[BF_ID] = (struct bval){ .i = 6 };
	b.v[BF_CREATED_AT] = (struct bval){ .i = T(CREATED) };
	b.v[BF_UPDATED_AT] = (struct bval){ .i = T(CREATED) };
	ck_assert_int_eq(bval_set_str(&b.v[BF_PIPELINE_UUID],
	    "arwen_starlight", 15), 0);
	ck_assert_int_eq(store_backfill_insert(st, &b), ERR_OK);
	ck_assert_int_eq(b.v[BF_ID].i, 6);
	backfill_free(&b);
	store_close(st);

	conf_defaults(&conf);
	ck_assert_int_lt(snprintf(conf.database, sizeof(conf.database), "%s",
	    dbpath), (int)sizeof(conf.database));
	service_init(&ctx, &conf);
	memset(&resp, 0, sizeof(resp));
}

static void
teardown(void)
{
	service_close(&ctx);
	resp_free(&resp);
	unit_rmtree(dir);
}

/* One request; body NULL means no Content-Length. */
static void
call(enum method m, const char *path, const char *query, const char *body,
    const char *if_match)
{
	struct request	 req;

	memset(&req, 0, sizeof(req));
	req.method = m;
	req.path = path;
	req.query = query != NULL ? query : "";
	req.if_match = if_match;
	if (body != NULL) {
		req.body_state = BODY_OK;
		req.body = body;
		req.body_len = strlen(body);
	} else
		req.body_state = BODY_NONE;
	service_handle(&ctx, &req, &resp);
}

static void
call_state(enum method m, const char *path, enum body_state bs)
{
	struct request	 req;

	memset(&req, 0, sizeof(req));
	req.method = m;
	req.path = path;
	req.query = "";
	req.body_state = bs;
	service_handle(&ctx, &req, &resp);
}

/* The value of a response header, or NULL; into out. */
static const char *
header(const char *name, char *out, size_t outlen)
{
	const char	*h = resp.headers.data, *eol;
	size_t		 n = strlen(name);

	if (h == NULL)
		return NULL;
	while (*h != '\0') {
		eol = strstr(h, "\r\n");
		ck_assert_ptr_nonnull(eol);
		if (strncmp(h, name, n) == 0 && h[n] == ':' && h[n + 1] == ' ') {
			snprintf(out, outlen, "%.*s", (int)(eol - h - n - 2),
			    h + n + 2);
			return out;
		}
		h = eol + 2;
	}
	return NULL;
}

static const char *
body(void)
{
	return resp.body.data != NULL ? resp.body.data : "";
}

/* docs/API.md "Errors": JSON, code equal to the status, the given type. */
static void
is_error(int status, const char *type)
{
	struct json_object *j, *e, *v;

	ck_assert_msg(resp.status == status, "status %d, want %d: %s",
	    resp.status, status, body());
	j = json_tokener_parse(body());
	ck_assert_msg(j != NULL, "error body is not JSON: %s", body());
	ck_assert(json_object_object_get_ex(j, "error", &e));
	ck_assert(json_object_object_get_ex(e, "code", &v));
	ck_assert_int_eq(json_object_get_int(v), status);
	ck_assert(json_object_object_get_ex(e, "type", &v));
	ck_assert_str_eq(json_object_get_string(v), type);
	ck_assert(json_object_object_get_ex(e, "message", &v));
	ck_assert_int_gt(json_object_get_string_len(v), 0);
	json_object_put(j);
}

/* Whether a record_invalid answer names field. */
static int
names_field(const char *field)
{
	struct json_object *j, *e, *errs, *v;
	size_t		 i;
	int		 found = 0;

	j = json_tokener_parse(body());
	ck_assert_ptr_nonnull(j);
	ck_assert(json_object_object_get_ex(j, "error", &e));
	ck_assert(json_object_object_get_ex(e, "errors", &errs));
	for (i = 0; i < json_object_array_length(errs); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(errs,
		    i), "field", &v) &&
		    strcmp(json_object_get_string(v), field) == 0)
			found = 1;
	json_object_put(j);
	return found;
}

/* ---- the founding example ----------------------------------------- */

static void
founding_put(const char *path)
{
	struct json_object *j, *rec, *v;
	char		 want[1024], updated[64], etag[64];
	int64_t		 before, after, at;

	before = dt_now();
	call(M_PUT, path, "", founding_body, NULL);
	after = dt_now();
	ck_assert_msg(resp.status == 200, "status %d: %s", resp.status,
	    body());

	/* updated_at is now, UTC */
	j = json_tokener_parse(body());
	ck_assert_msg(j != NULL, "not JSON: %s", body());
	ck_assert(json_object_object_get_ex(j, "backfill", &rec));
	ck_assert(json_object_object_get_ex(rec, "updated_at", &v));
	ck_assert(json_object_is_type(v, json_type_string));
	snprintf(updated, sizeof(updated), "%s", json_object_get_string(v));
	json_object_put(j);
	ck_assert_int_eq(dt_parse(updated, strlen(updated), &at), 0);
	ck_assert_int_ge(at, before);
	ck_assert_int_le(at, after);
	ck_assert_msg(strchr(updated, 'T') == NULL, "updated_at %s", updated);

	/* every field, in the documented order, exactly */
	snprintf(want, sizeof(want), "{\"backfill\": {\"id\": 6, "
	    "\"block_uuid\": null, \"completed_at\": null, "
	    "\"created_at\": \"2023-07-18 23:30:26\", "
	    "\"end_datetime\": \"2023-07-18 23:56:05\", "
	    "\"failed_at\": null, \"interval_type\": null, "
	    "\"interval_units\": null, \"metrics\": null, "
	    "\"name\": \"new_name\", \"pipeline_schedule_id\": null, "
	    "\"pipeline_uuid\": \"arwen_starlight\", \"settings\": null, "
	    "\"start_datetime\": \"2023-07-17 23:56:05\", "
	    "\"started_at\": null, \"status\": null, "
	    "\"updated_at\": \"%s\", \"variables\": null}}", updated);
	ck_assert_str_eq(body(), want);
	ck_assert_ptr_nonnull(header("ETag", etag, sizeof(etag)));
	ck_assert_str_eq(etag, "\"6-2\"");

	/* ... and it stays so */
	call(M_GET, "/api/pipelines/arwen_starlight/backfills/6", "", NULL,
	    NULL);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(body(), want);
	ck_assert_ptr_nonnull(header("ETag", etag, sizeof(etag)));
	ck_assert_str_eq(etag, "\"6-2\"");
	call(M_GET, "/api/backfills/6", "", NULL, NULL);
	ck_assert_str_eq(body(), want);
}

START_TEST(founding_example_put)
{
	founding_put("/api/pipelines/arwen_starlight/backfills/6");
}
END_TEST

START_TEST(founding_example_put_flat_route)
{
	founding_put("/api/backfills/6");
}
END_TEST

START_TEST(founding_example_put_twice_is_no_change)
{
	char	 first[1024], etag[64];

	founding_put("/api/pipelines/arwen_starlight/backfills/6");
	snprintf(first, sizeof(first), "%s", body());
	call(M_PUT, "/api/pipelines/arwen_starlight/backfills/6", "",
	    founding_body, NULL);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(body(), first);
	ck_assert_str_eq(header("ETag", etag, sizeof(etag)), "\"6-2\"");
}
END_TEST

START_TEST(demo_record_before)
{
	char	 etag[64];

	call(M_GET, "/api/backfills/6", "", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(body(), "{\"backfill\": {\"id\": 6, "
	    "\"block_uuid\": null, \"completed_at\": null, "
	    "\"created_at\": \"2023-07-18 23:30:26\", "
	    "\"end_datetime\": null, \"failed_at\": null, "
	    "\"interval_type\": null, \"interval_units\": null, "
	    "\"metrics\": null, \"name\": null, "
	    "\"pipeline_schedule_id\": null, "
	    "\"pipeline_uuid\": \"arwen_starlight\", \"settings\": null, "
	    "\"start_datetime\": null, \"started_at\": null, "
	    "\"status\": null, \"updated_at\": \"2023-07-18 23:30:26\", "
	    "\"variables\": null}}");
	ck_assert_str_eq(header("ETag", etag, sizeof(etag)), "\"6-1\"");
}
END_TEST

/* ---- errors ------------------------------------------------------- */

START_TEST(not_found)
{
	call(M_GET, "/api/backfills/999", "", NULL, NULL);
	is_error(404, "record_not_found");
	ck_assert_str_eq(body(), "{\"error\": {\"code\": 404, "
	    "\"message\": \"Record not found.\", "
	    "\"type\": \"record_not_found\"}}");
	call(M_PUT, "/api/backfills/999", "", "{\"backfill\": {}}", NULL);
	is_error(404, "record_not_found");
	call(M_DELETE, "/api/backfills/999", "", NULL, NULL);
	is_error(404, "record_not_found");
	call(M_GET, "/api/nothing", "", NULL, NULL);
	is_error(404, "record_not_found");
	call(M_GET, "/", "", NULL, NULL);
	is_error(404, "record_not_found");
	call(M_GET, "/api/backfills/6/extra", "", NULL, NULL);
	is_error(404, "record_not_found");
	/* nested: the pipeline must exist, the backfill must be its own */
	call(M_GET, "/api/pipelines/no_such/backfills", "", NULL, NULL);
	is_error(404, "record_not_found");
	call(M_GET, "/api/pipelines/no_such/backfills/6", "", NULL, NULL);
	is_error(404, "record_not_found");
	call(M_GET, "/api/pipelines/other_pipeline/backfills/6", "", NULL,
	    NULL);
	is_error(404, "record_not_found");
	call(M_PUT, "/api/pipelines/other_pipeline/backfills/6", "",
	    founding_body, NULL);
	is_error(404, "record_not_found");
	call(M_DELETE, "/api/pipelines/other_pipeline/backfills/6", "", NULL,
	    NULL);
	is_error(404, "record_not_found");
	call(M_POST, "/api/pipelines/no_such/backfills", "",
	    "{\"backfill\": {}}", NULL);
	is_error(404, "record_not_found");
	/* an invalid pipeline uuid is an unknown path */
	call(M_GET, "/api/pipelines/bad!uuid/backfills/6", "", NULL, NULL);
	is_error(404, "record_not_found");
}
END_TEST

START_TEST(method_not_allowed)
{
	char	 allow[64];

	call(M_DELETE, "/api/backfills", "", NULL, NULL);
	is_error(405, "method_not_allowed");
	ck_assert_ptr_nonnull(header("Allow", allow, sizeof(allow)));
	ck_assert_str_eq(allow, "GET, OPTIONS");

	call(M_POST, "/api/backfills/6", "", "{\"backfill\": {}}", NULL);
	is_error(405, "method_not_allowed");
	ck_assert_str_eq(header("Allow", allow, sizeof(allow)),
	    "GET, PUT, DELETE, OPTIONS");

	call(M_PUT, "/api/pipelines/arwen_starlight/backfills", "",
	    "{\"backfill\": {}}", NULL);
	is_error(405, "method_not_allowed");
	ck_assert_str_eq(header("Allow", allow, sizeof(allow)),
	    "GET, POST, OPTIONS");

	call(M_PUT, "/api/status", "", "{}", NULL);
	is_error(405, "method_not_allowed");
	ck_assert_str_eq(header("Allow", allow, sizeof(allow)),
	    "GET, OPTIONS");

	call(M_OTHER, "/api/backfills/6", "", NULL, NULL);
	is_error(405, "method_not_allowed");
	ck_assert_ptr_nonnull(header("Allow", allow, sizeof(allow)));
}
END_TEST

START_TEST(length_required)
{
	call(M_PUT, "/api/backfills/6", "", NULL, NULL);
	is_error(411, "length_required");
	call(M_PUT, "/api/pipelines/arwen_starlight/backfills/6", "", NULL,
	    NULL);
	is_error(411, "length_required");
	call(M_POST, "/api/pipelines/arwen_starlight/backfills", "", NULL,
	    NULL);
	is_error(411, "length_required");
	/* a Content-Length that is no number is a bad request */
	call_state(M_PUT, "/api/backfills/6", BODY_BAD_LENGTH);
	is_error(400, "invalid_json");
}
END_TEST

START_TEST(payload_too_large)
{
	call_state(M_PUT, "/api/backfills/6", BODY_TOO_LARGE);
	is_error(413, "payload_too_large");
	call_state(M_POST, "/api/pipelines/arwen_starlight/backfills",
	    BODY_TOO_LARGE);
	is_error(413, "payload_too_large");
}
END_TEST

START_TEST(invalid_query)
{
	static const char *const bad[] = { "_limit=0", "_limit=1001",
	    "_limit=abc", "_limit=", "_limit=-1", "_offset=-1",
	    "_offset=x", "_limit=5&_offset=1.5", "_limit=%zz" };
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		call(M_GET, "/api/backfills", bad[i], NULL, NULL);
		ck_assert_msg(resp.status == 400, "?%s: status %d", bad[i],
		    resp.status);
		is_error(400, "invalid_query");
	}
	call(M_GET, "/api/pipelines/arwen_starlight/backfills", "_limit=0",
	    NULL, NULL);
	is_error(400, "invalid_query");
	call(M_GET, "/api/backfills/6", "_limit=0", NULL, NULL);
	is_error(400, "invalid_query");
	/* a malformed :id */
	call(M_GET, "/api/backfills/abc", "", NULL, NULL);
	is_error(400, "invalid_query");
	call(M_PUT, "/api/backfills/0", "", founding_body, NULL);
	is_error(400, "invalid_query");
	call(M_GET, "/api/pipelines/arwen_starlight/backfills/-6", "", NULL,
	    NULL);
	is_error(400, "invalid_query");
	/* the bounds themselves are fine */
	call(M_GET, "/api/backfills", "_limit=1000&_offset=0", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	call(M_GET, "/api/backfills", "_limit=1", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
}
END_TEST

START_TEST(options_204)
{
	char	 v[128];

	call(M_OPTIONS, "/api/backfills/6", "", NULL, NULL);
	ck_assert_int_eq(resp.status, 204);
	ck_assert_uint_eq(resp.body.len, 0);
	ck_assert_str_eq(header("Allow", v, sizeof(v)),
	    "GET, PUT, DELETE, OPTIONS");
	ck_assert_str_eq(header("Access-Control-Allow-Origin", v, sizeof(v)),
	    "*");
	ck_assert_ptr_nonnull(header("Access-Control-Allow-Methods", v,
	    sizeof(v)));

	call(M_OPTIONS, "/api/pipelines/arwen_starlight/backfills", "", NULL,
	    NULL);
	ck_assert_int_eq(resp.status, 204);
	ck_assert_uint_eq(resp.body.len, 0);
	ck_assert_str_eq(header("Allow", v, sizeof(v)), "GET, POST, OPTIONS");

	/* any path */
	call(M_OPTIONS, "/api/whatever/else", "", NULL, NULL);
	ck_assert_int_eq(resp.status, 204);
	ck_assert_uint_eq(resp.body.len, 0);
	call(M_OPTIONS, "/api/backfills/abc", "", NULL, NULL);
	ck_assert_int_eq(resp.status, 204);
}
END_TEST

START_TEST(status_route)
{
	call(M_GET, "/api/status", "", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(body(), "{\"status\": {\"ok\": true, \"version\": \""
	    BACKFILLS_VERSION "\"}}");
}
END_TEST

/* The API's description: built in, public, answered with no database,
 * revalidated by its ETag, never cut by max_answer. */
START_TEST(openapi_route)
{
	struct request	 req;
	char		 v[128];

	service_close(&ctx);
	ctx.conf.require_auth = 1;
	ctx.conf.max_answer = 64 << 10;
	ck_assert_int_lt(snprintf(ctx.conf.database, sizeof(ctx.conf.database),
	    "%s/gone.db", dir), (int)sizeof(ctx.conf.database));
	call(M_GET, "/api/status", "", NULL, NULL);
	is_error(503, "unavailable");

	call(M_GET, "/api/openapi.json", "", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_ptr_null(resp.content_type);	/* application/json */
	ck_assert_uint_eq(resp.body.len, openapi_json_len);
	ck_assert_int_eq(memcmp(body(), openapi_json, openapi_json_len), 0);
	ck_assert_str_eq(header("ETag", v, sizeof(v)), openapi_etag);
	ck_assert_str_eq(header("Cache-Control", v, sizeof(v)), "no-cache");
	call(M_HEAD, "/api/openapi.json/", "", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);

	memset(&req, 0, sizeof(req));
	req.method = M_GET;
	req.path = "/api/openapi.json";
	req.query = "";
	req.if_none_match = openapi_etag;
	service_handle(&ctx, &req, &resp);
	ck_assert_int_eq(resp.status, 304);
	ck_assert_uint_eq(resp.body.len, 0);
	ck_assert_str_eq(header("ETag", v, sizeof(v)), openapi_etag);
	snprintf(v, sizeof(v), "\"old\", W/%s", openapi_etag);
	req.if_none_match = v;
	service_handle(&ctx, &req, &resp);
	ck_assert_int_eq(resp.status, 304);
	req.if_none_match = "\"old\"";
	service_handle(&ctx, &req, &resp);
	ck_assert_int_eq(resp.status, 200);

	call(M_POST, "/api/openapi.json", "", "{}", NULL);
	is_error(405, "method_not_allowed");
	ck_assert_str_eq(header("Allow", v, sizeof(v)), "GET, OPTIONS");
	/* the other answers are private: never kept by a cache */
	ck_assert_str_eq(header("Cache-Control", v, sizeof(v)), "no-store");
}
END_TEST

/* An error answer carries no ETag: the record it would tag is not sent
 * (here the preview fails on pipeline variables that are no object). */
START_TEST(error_after_the_record_has_no_etag)
{
	struct store_opts o;
	struct store	*st = NULL;
	struct pipeline	 p;
	char		 why[256] = "", v[64];

	call(M_PUT, "/api/backfills/6", "", "{\"backfill\": {"
	    "\"start_datetime\": \"2023-07-01\", \"end_datetime\": "
	    "\"2023-07-03\", \"interval_type\": \"day\", "
	    "\"interval_units\": 1, \"variables\": {\"a\": 1}}}", NULL);
	ck_assert_int_eq(resp.status, 200);
	memset(&o, 0, sizeof(o));
	o.path = dbpath;
	o.busy_timeout = 2000;
	ck_assert_msg(store_open(&st, &o, why, sizeof(why)) == ERR_OK,
	    "store_open: %s", why);
	memset(&p, 0, sizeof(p));
	snprintf(p.uuid, sizeof(p.uuid), "arwen_starlight");
	p.variables = "[1]";
	ck_assert_int_eq(store_pipeline_set(st, &p), ERR_OK);
	store_close(st);

	call(M_GET, "/api/backfills/6", "include_preview_runs=1", NULL, NULL);
	is_error(500, "internal_error");
	ck_assert_ptr_null(header("ETag", v, sizeof(v)));
	call(M_GET, "/api/backfills/6", "", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_ptr_nonnull(header("ETag", v, sizeof(v)));
}
END_TEST

/* ---- refused requests change nothing ------------------------------ */

START_TEST(record_unchanged_after_refused_request)
{
	static const struct {
		const char	*path;
		const char	*body;
		const char	*if_match;
		int		 status;
		const char	*type;
		const char	*field;
	} refused[] = {
		{ "/api/backfills/6", "{\"backfill\": {\"name\": \"x\", "
		    "\"interval_type\": \"fortnight\"}}", NULL, 400,
		    "record_invalid", "interval_type" },
		{ "/api/backfills/6", "{\"backfill\": {\"name\": \"x\", "
		    "\"colour\": 1}}", NULL, 400, "record_invalid", "colour" },
		{ "/api/backfills/6", "{\"backfill\": {\"name\": \"x\", "
		    "\"interval_units\": 1.0}}", NULL, 400, "record_invalid",
		    "interval_units" },
		{ "/api/backfills/6", "{\"backfill\": {\"name\": \"x\", "
		    "\"start_datetime\": \"2023-07-18\", "
		    "\"end_datetime\": \"2023-07-17\"}}", NULL, 400,
		    "record_invalid", "end_datetime" },
		{ "/api/backfills/6", "{\"backfill\": {\"name\": \"x\", "
		    "\"start_datetime\": \"2023-02-30\"}}", NULL, 400,
		    "record_invalid", "start_datetime" },
		{ "/api/backfills/6", "{\"backfill\": {\"name\": \"x\", "
		    "\"status\": \"initial\"}}", NULL, 400, "record_invalid",
		    "start_datetime" },
		{ "/api/backfills/6", "{\"backfill\": {\"name\": \"x\", "
		    "\"status\": \"completed\"}}", NULL, 409,
		    "invalid_transition", NULL },
		{ "/api/backfills/6", "{\"backfill\": {\"name\": \"x\", "
		    "\"status\": \"running\"}}", NULL, 409,
		    "invalid_transition", NULL },
		{ "/api/backfills/6", "{\"backfill\": {\"name\": \"x\"}, "
		    "\"extra\": 1}", NULL, 400, "invalid_json", NULL },
		{ "/api/backfills/6", "{\"backfill\": {\"name\": \"x\"}",
		    NULL, 400, "invalid_json", NULL },
		{ "/api/backfills/6", "{\"backfill\": {\"name\": \"x\"}} {}",
		    NULL, 400, "invalid_json", NULL },
		{ "/api/backfills/6", "", NULL, 400, "invalid_json", NULL },
		{ "/api/backfills/6", "{\"backfill\": [\"name\"]}", NULL, 400,
		    "invalid_json", NULL },
		{ "/api/backfills/6", "{\"backfill\": {\"name\": \"x\"}}",
		    "\"6-99\"", 412, "precondition_failed", NULL },
		{ "/api/pipelines/other_pipeline/backfills/6",
		    "{\"backfill\": {\"name\": \"x\"}}", NULL, 404,
		    "record_not_found", NULL },
	};
	char	 before[2048], etag0[64], etag[64];
	size_t	 i;

	call(M_GET, "/api/backfills/6", "", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	snprintf(before, sizeof(before), "%s", body());
	ck_assert_ptr_nonnull(header("ETag", etag0, sizeof(etag0)));

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		call(M_PUT, refused[i].path, "", refused[i].body,
		    refused[i].if_match);
		ck_assert_msg(resp.status == refused[i].status,
		    "PUT %s %s: status %d, want %d: %s", refused[i].path,
		    refused[i].body, resp.status, refused[i].status, body());
		is_error(refused[i].status, refused[i].type);
		if (refused[i].field != NULL)
			ck_assert_msg(names_field(refused[i].field),
			    "%s: errors do not name %s: %s", refused[i].body,
			    refused[i].field, body());

		call(M_GET, "/api/backfills/6", "", NULL, NULL);
		ck_assert_int_eq(resp.status, 200);
		ck_assert_msg(strcmp(body(), before) == 0,
		    "changed by refused PUT %s", refused[i].body);
		ck_assert_str_eq(header("ETag", etag, sizeof(etag)), etag0);
	}

	/* a DELETE with a stale If-Match leaves it too */
	call(M_DELETE, "/api/backfills/6", "", NULL, "\"6-0\"");
	is_error(412, "precondition_failed");
	call(M_GET, "/api/backfills/6", "", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(body(), before);
}
END_TEST

START_TEST(if_match_current_etag_applies)
{
	char	 etag[64];

	call(M_PUT, "/api/backfills/6", "", "{\"backfill\": {\"name\": \"a\"}}",
	    "\"6-1\"");
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(header("ETag", etag, sizeof(etag)), "\"6-2\"");
	call(M_PUT, "/api/backfills/6", "", "{\"backfill\": {\"name\": \"b\"}}",
	    "\"6-1\"");
	is_error(412, "precondition_failed");
	call(M_PUT, "/api/backfills/6", "", "{\"backfill\": {\"name\": \"b\"}}",
	    "*");
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(header("ETag", etag, sizeof(etag)), "\"6-3\"");
}
END_TEST

/* ---- create, list, delete ----------------------------------------- */

START_TEST(create_list_delete)
{
	struct json_object *j, *rec, *v;
	char	 loc[64], etag[64], path[64];
	int64_t	 id;

	call(M_POST, "/api/pipelines/arwen_starlight/backfills", "",
	    "{\"backfill\": {\"name\": \"fresh\", \"interval_type\": \"day\", "
	    "\"interval_units\": 1, \"start_datetime\": \"2023-07-01\", "
	    "\"end_datetime\": \"2023-07-03T00:00:00+02:00\", "
	    "\"status\": null}}", NULL);
	ck_assert_msg(resp.status == 201, "status %d: %s", resp.status, body());
	j = json_tokener_parse(body());
	ck_assert_ptr_nonnull(j);
	ck_assert(json_object_object_get_ex(j, "backfill", &rec));
	ck_assert(json_object_object_get_ex(rec, "id", &v));
	id = json_object_get_int64(v);
	ck_assert_int_gt(id, 6);
	ck_assert(json_object_object_get_ex(rec, "pipeline_uuid", &v));
	ck_assert_str_eq(json_object_get_string(v), "arwen_starlight");
	ck_assert(json_object_object_get_ex(rec, "end_datetime", &v));
	ck_assert_str_eq(json_object_get_string(v), "2023-07-02 22:00:00");
	ck_assert(json_object_object_get_ex(rec, "status", &v));
	ck_assert(v == NULL);
	json_object_put(j);
	snprintf(path, sizeof(path), "/api/backfills/%lld", (long long)id);
	ck_assert_str_eq(header("Location", loc, sizeof(loc)), path);
	snprintf(path, sizeof(path), "\"%lld-1\"", (long long)id);
	ck_assert_str_eq(header("ETag", etag, sizeof(etag)), path);

	/* a status on create is refused */
	call(M_POST, "/api/pipelines/arwen_starlight/backfills", "",
	    "{\"backfill\": {\"status\": \"initial\"}}", NULL);
	is_error(400, "record_invalid");
	ck_assert(names_field("status"));

	call(M_GET, "/api/backfills", "", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_ptr_nonnull(strstr(body(),
	    "], \"metadata\": {\"count\": 2, \"next\": false}}"));
	call(M_GET, "/api/backfills", "_limit=1", NULL, NULL);
	ck_assert_ptr_nonnull(strstr(body(),
	    "], \"metadata\": {\"count\": 2, \"next\": true}}"));
	call(M_GET, "/api/pipelines/other_pipeline/backfills", "", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(body(), "{\"backfills\": [], \"metadata\": "
	    "{\"count\": 0, \"next\": false}}");

	/* delete answers the deleted record */
	snprintf(path, sizeof(path), "/api/backfills/%lld", (long long)id);
	call(M_DELETE, path, "", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_ptr_nonnull(strstr(body(), "\"name\": \"fresh\""));
	call(M_GET, path, "", NULL, NULL);
	is_error(404, "record_not_found");
}
END_TEST

/* ---- planned runs (docs/API.md "Backfills", "The run lifecycle") - */

/* Gives backfill 6 a plan of three daily runs. */
static void
set_plan(void)
{
	call(M_PUT, "/api/backfills/6", "", "{\"backfill\": {"
	    "\"start_datetime\": \"2023-07-01\", "
	    "\"end_datetime\": \"2023-07-03\", \"interval_type\": \"day\", "
	    "\"interval_units\": 1}}", NULL);
	ck_assert_msg(resp.status == 200, "status %d: %s", resp.status,
	    body());
}

/* The parsed body's "backfill" object (owned by *root). */
static struct json_object *
record(struct json_object **root)
{
	struct json_object *rec;

	*root = json_tokener_parse(body());
	ck_assert_msg(*root != NULL, "not JSON: %s", body());
	ck_assert_msg(json_object_object_get_ex(*root, "backfill", &rec) &&
	    json_object_is_type(rec, json_type_object), "no record: %s",
	    body());
	return rec;
}

static int64_t
int_field(struct json_object *o, const char *key)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_int), "no integer %s in %s", key,
	    json_object_to_json_string(o));
	return json_object_get_int64(v);
}

static const char *
str_field(struct json_object *o, const char *key)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string), "no string %s in %s",
	    key, json_object_to_json_string(o));
	return json_object_get_string(v);
}

/* metadata.count of a list answer. */
static int64_t
list_count(void)
{
	struct json_object *j, *md;
	int64_t	 n;

	ck_assert_msg(resp.status == 200, "status %d: %s", resp.status,
	    body());
	j = json_tokener_parse(body());
	ck_assert_ptr_nonnull(j);
	ck_assert(json_object_object_get_ex(j, "metadata", &md));
	n = int_field(md, "count");
	json_object_put(j);
	return n;
}

START_TEST(show_run_count_inside_record)
{
	struct json_object *root, *rec, *counts;

	set_plan();
	call(M_GET, "/api/backfills/6", "include_run_count=1", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	rec = record(&root);
	/* "the record also carries total_run_count and run_status_counts" */
	ck_assert_msg(json_object_object_length(root) == 1,
	    "run fields outside the record: %s", body());
	ck_assert_int_eq(int_field(rec, "total_run_count"), 3);
	ck_assert_msg(json_object_object_get_ex(rec, "run_status_counts",
	    &counts) && json_object_is_type(counts, json_type_object),
	    "no run_status_counts in the record: %s", body());
	/* not started: no run in any status, and Mage lists only the
	 * statuses that occur */
	ck_assert_int_eq(json_object_object_length(counts), 0);
	json_object_put(root);
}
END_TEST

START_TEST(show_preview_runs)
{
	struct json_object *root, *rec, *dates, *d;

	set_plan();
	call(M_GET, "/api/pipelines/arwen_starlight/backfills/6",
	    "include_preview_runs=true&_limit=2", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	rec = record(&root);
	ck_assert_msg(json_object_object_length(root) == 1,
	    "run fields outside the record: %s", body());
	ck_assert_msg(json_object_object_get_ex(rec, "pipeline_run_dates",
	    &dates) && json_object_is_type(dates, json_type_array),
	    "no pipeline_run_dates in the record: %s", body());
	/* exactly _limit of them */
	ck_assert_int_eq(json_object_array_length(dates), 2);
	d = json_object_array_get_idx(dates, 0);
	ck_assert_str_eq(str_field(d, "ds"), "2023-07-01");
	ck_assert_str_eq(str_field(d, "hr"), "00");
	ck_assert_str_eq(str_field(d, "execution_date"),
	    "2023-07-01T00:00:00");
	ck_assert_str_eq(str_field(d, "interval_end_datetime"),
	    "2023-07-02T00:00:00");
	ck_assert_int_eq(int_field(d, "interval_seconds"), 86400);
	ck_assert_int_eq(int_field(rec, "total_run_count"), 3);
	json_object_put(root);
}
END_TEST

START_TEST(list_run_count_inside_records)
{
	struct json_object *j, *arr, *rec;

	set_plan();
	call(M_GET, "/api/backfills", "include_run_count=true", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	j = json_tokener_parse(body());
	ck_assert_msg(j != NULL, "not JSON: %s", body());
	ck_assert(json_object_object_get_ex(j, "backfills", &arr));
	ck_assert_int_eq(json_object_array_length(arr), 1);
	rec = json_object_array_get_idx(arr, 0);
	ck_assert_int_eq(int_field(rec, "total_run_count"), 3);
	json_object_put(j);
}
END_TEST

START_TEST(start_cancel_retry)
{
	struct json_object *root, *rec;
	int64_t	 before, at;
	const char *s;

	/* starting needs the four plan fields */
	call(M_PUT, "/api/backfills/6", "",
	    "{\"backfill\": {\"status\": \"initial\"}}", NULL);
	is_error(400, "record_invalid");

	set_plan();
	before = dt_now();
	call(M_PUT, "/api/backfills/6", "",
	    "{\"backfill\": {\"status\": \"initial\"}}", NULL);
	ck_assert_msg(resp.status == 200, "status %d: %s", resp.status,
	    body());
	rec = record(&root);
	ck_assert_str_eq(str_field(rec, "status"), "initial");
	s = str_field(rec, "started_at");
	ck_assert_int_eq(dt_parse(s, strlen(s), &at), 0);
	ck_assert_int_ge(at, before);
	json_object_put(root);

	call(M_GET, "/api/pipeline_runs", "backfill_id=6", NULL, NULL);
	ck_assert_int_eq(list_count(), 3);
	call(M_GET, "/api/pipeline_runs", "backfill_id=6&status=initial",
	    NULL, NULL);
	ck_assert_int_eq(list_count(), 3);

	/* cancelling cancels every unfinished run */
	call(M_PUT, "/api/backfills/6", "",
	    "{\"backfill\": {\"status\": \"cancelled\"}}", NULL);
	ck_assert_int_eq(resp.status, 200);
	call(M_GET, "/api/pipeline_runs", "backfill_id=6&status=cancelled",
	    NULL, NULL);
	ck_assert_int_eq(list_count(), 3);
	call(M_GET, "/api/pipeline_runs", "backfill_id=6&status=initial",
	    NULL, NULL);
	ck_assert_int_eq(list_count(), 0);

	/* a retry plans the dates again, once */
	call(M_PUT, "/api/backfills/6", "",
	    "{\"backfill\": {\"status\": \"initial\"}}", NULL);
	ck_assert_int_eq(resp.status, 200);
	call(M_GET, "/api/pipeline_runs", "backfill_id=6&status=initial",
	    NULL, NULL);
	ck_assert_int_eq(list_count(), 3);
	call(M_GET, "/api/backfills/6", "include_run_count=1", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_ptr_nonnull(strstr(body(), "\"total_run_count\": 3"));
}
END_TEST

/* A run field of a show answer: in the record, or (where the show
 * misplaces them, see show_run_count_inside_record) beside it. */
static struct json_object *
run_field(struct json_object *root, struct json_object *rec,
    const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(rec, key, &v) ||
	    json_object_object_get_ex(root, key, &v))
		return v;
	ck_abort_msg("no %s in %s", key, body());
	return NULL;
}

START_TEST(month_steps_from_the_start)
{
	static const char *const want[] = { "2023-01-31", "2023-02-28",
	    "2023-03-31", "2023-04-30" };
	struct json_object *root, *rec, *dates, *d, *v;
	size_t	 i;

	call(M_PUT, "/api/backfills/6", "", "{\"backfill\": {"
	    "\"start_datetime\": \"2023-01-31\", "
	    "\"end_datetime\": \"2023-04-30\", \"interval_type\": \"month\", "
	    "\"interval_units\": 1}}", NULL);
	ck_assert_int_eq(resp.status, 200);
	call(M_GET, "/api/backfills/6", "include_preview_runs=1&_limit=10",
	    NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	rec = record(&root);
	ck_assert_int_eq(json_object_get_int64(run_field(root, rec,
	    "total_run_count")), 4);
	dates = run_field(root, rec, "pipeline_run_dates");
	ck_assert_int_eq(json_object_array_length(dates), 4);
	for (i = 0; i < 4; i++) {
		d = json_object_array_get_idx(dates, i);
		ck_assert_str_eq(str_field(d, "ds"), want[i]);
	}
	/* the last one ends a previous gap (30 days) later */
	d = json_object_array_get_idx(dates, 3);
	ck_assert_str_eq(str_field(d, "interval_end_datetime"),
	    "2023-05-30T00:00:00");
	ck_assert_int_eq(int_field(d, "interval_seconds"), 30 * 86400);
	json_object_put(root);

	/* from _offset, exactly _limit */
	call(M_GET, "/api/backfills/6",
	    "include_preview_runs=1&_offset=1&_limit=2", NULL, NULL);
	rec = record(&root);
	dates = run_field(root, rec, "pipeline_run_dates");
	ck_assert_int_eq(json_object_array_length(dates), 2);
	ck_assert_str_eq(str_field(json_object_array_get_idx(dates, 0), "ds"),
	    "2023-02-28");
	ck_assert_str_eq(str_field(json_object_array_get_idx(dates, 1), "ds"),
	    "2023-03-31");
	json_object_put(root);

	/* one run: no interval end */
	call(M_PUT, "/api/backfills/6", "", "{\"backfill\": {"
	    "\"start_datetime\": \"2023-07-01\", "
	    "\"end_datetime\": \"2023-07-01\", \"interval_type\": \"day\"}}",
	    NULL);
	ck_assert_int_eq(resp.status, 200);
	call(M_GET, "/api/backfills/6", "include_preview_runs=1", NULL, NULL);
	rec = record(&root);
	dates = run_field(root, rec, "pipeline_run_dates");
	ck_assert_int_eq(json_object_array_length(dates), 1);
	d = json_object_array_get_idx(dates, 0);
	ck_assert(json_object_object_get_ex(d, "interval_end_datetime", &v));
	ck_assert_ptr_null(v);
	json_object_put(root);
}
END_TEST

START_TEST(plan_over_max_runs_refused)
{
	char	 before[2048];

	ctx.conf.max_runs = 2;
	call(M_GET, "/api/backfills/6", "", NULL, NULL);
	snprintf(before, sizeof(before), "%s", body());
	call(M_PUT, "/api/backfills/6", "", "{\"backfill\": {"
	    "\"start_datetime\": \"2023-07-01\", "
	    "\"end_datetime\": \"2023-07-03\", \"interval_type\": \"day\", "
	    "\"interval_units\": 1}}", NULL);
	is_error(400, "record_invalid");
	call(M_GET, "/api/backfills/6", "", NULL, NULL);
	ck_assert_str_eq(body(), before);
	call(M_POST, "/api/pipelines/arwen_starlight/backfills", "",
	    "{\"backfill\": {\"start_datetime\": \"2023-07-01\", "
	    "\"end_datetime\": \"2023-07-03\", \"interval_type\": \"day\", "
	    "\"interval_units\": 1}}", NULL);
	is_error(400, "record_invalid");
	/* two runs are fine */
	call(M_PUT, "/api/backfills/6", "", "{\"backfill\": {"
	    "\"start_datetime\": \"2023-07-01\", "
	    "\"end_datetime\": \"2023-07-02\", \"interval_type\": \"day\", "
	    "\"interval_units\": 1}}", NULL);
	ck_assert_int_eq(resp.status, 200);
}
END_TEST

/* The id of the first run of backfill 6 in the given status. */
static int64_t
run_id(const char *status)
{
	struct json_object *j, *arr;
	char	 q[64];
	int64_t	 id;

	snprintf(q, sizeof(q), "backfill_id=6&status=%s&_limit=1", status);
	call(M_GET, "/api/pipeline_runs", q, NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	j = json_tokener_parse(body());
	ck_assert_ptr_nonnull(j);
	ck_assert(json_object_object_get_ex(j, "pipeline_runs", &arr));
	ck_assert_int_ge(json_object_array_length(arr), 1);
	id = int_field(json_object_array_get_idx(arr, 0), "id");
	json_object_put(j);
	return id;
}

static void
report(int64_t id, const char *status, int want)
{
	char	 path[64], b[96];

	snprintf(path, sizeof(path), "/api/pipeline_runs/%lld",
	    (long long)id);
	snprintf(b, sizeof(b), "{\"pipeline_run\": {\"status\": \"%s\"}}",
	    status);
	call(M_PUT, path, "", b, NULL);
	ck_assert_msg(resp.status == want, "run %lld -> %s: %d: %s",
	    (long long)id, status, resp.status, body());
}

static const char *
backfill_status(char *out, size_t outlen)
{
	struct json_object *root, *rec, *v;

	call(M_GET, "/api/backfills/6", "", NULL, NULL);
	ck_assert_int_eq(resp.status, 200);
	rec = record(&root);
	ck_assert(json_object_object_get_ex(rec, "status", &v));
	snprintf(out, outlen, "%s", v ? json_object_get_string(v) : "null");
	json_object_put(root);
	return out;
}

START_TEST(backfill_follows_its_runs)
{
	char	 st[32];
	int	 i;

	set_plan();
	call(M_PUT, "/api/backfills/6", "",
	    "{\"backfill\": {\"status\": \"initial\"}}", NULL);
	ck_assert_int_eq(resp.status, 200);

	/* the first run reported running moves it to running */
	report(run_id("initial"), "running", 200);
	ck_assert_str_eq(backfill_status(st, sizeof(st)), "running");
	/* a run may not skip running */
	report(run_id("initial"), "completed", 409);
	is_error(409, "invalid_transition");
	/* every latest attempt completed: completed, with completed_at */
	report(run_id("running"), "completed", 200);
	for (i = 0; i < 2; i++) {
		int64_t id = run_id("initial");

		report(id, "running", 200);
		report(id, "completed", 200);
	}
	ck_assert_str_eq(backfill_status(st, sizeof(st)), "completed");
	ck_assert_ptr_null(strstr(body(), "\"completed_at\": null"));
	call(M_GET, "/api/backfills/6", "include_run_count=1", NULL, NULL);
	ck_assert_ptr_nonnull(strstr(body(), "\"completed\": 3"));
}
END_TEST

Suite *
service_suite(void)
{
	Suite	*s = suite_create("service");
	TCase	*tc;

	tc = tcase_create("founding");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, demo_record_before);
	tcase_add_test(tc, founding_example_put);
	tcase_add_test(tc, founding_example_put_flat_route);
	tcase_add_test(tc, founding_example_put_twice_is_no_change);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, not_found);
	tcase_add_test(tc, method_not_allowed);
	tcase_add_test(tc, length_required);
	tcase_add_test(tc, payload_too_large);
	tcase_add_test(tc, invalid_query);
	tcase_add_test(tc, options_204);
	tcase_add_test(tc, status_route);
	tcase_add_test(tc, openapi_route);
	tcase_add_test(tc, error_after_the_record_has_no_etag);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, record_unchanged_after_refused_request);
	tcase_add_test(tc, if_match_current_etag_applies);
	tcase_add_test(tc, create_list_delete);
	suite_add_tcase(s, tc);

	tc = tcase_create("runs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, show_run_count_inside_record);
	tcase_add_test(tc, show_preview_runs);
	tcase_add_test(tc, list_run_count_inside_records);
	tcase_add_test(tc, start_cancel_retry);
	tcase_add_test(tc, backfill_follows_its_runs);
	tcase_add_test(tc, month_steps_from_the_start);
	tcase_add_test(tc, plan_over_max_runs_refused);
	suite_add_tcase(s, tc);
	return s;
}
