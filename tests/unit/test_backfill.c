/*
 * src/backfill.h: docs/API.md "Backfills", "Create and update",
 * "Status changes" and "Concurrency" (the ETag), as pure functions.
 * Inputs are built with json-c as the handlers build them.
 */
#include <check.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "datetime.h"
#include "suites.h"

/* A decoded body: the tree must outlive fe (which may point into it). */
struct dec {
	struct json_object	*root;
	struct bf_patch		 p;
	struct field_errors	 fe;
	const char		*detail;
	enum err		 e;
};

static void
dec_run(struct dec *d, const char *json, int for_update)
{
	memset(d, 0, sizeof(*d));
	d->root = json_tokener_parse(json);
	ck_assert_msg(d->root != NULL, "test JSON does not parse: %s", json);
	d->e = bf_patch_decode(d->root, for_update, &d->p, &d->fe,
	    &d->detail);
}

static void
dec_free(struct dec *d)
{
	bf_patch_free(&d->p);
	json_object_put(d->root);
	d->root = NULL;
}

/* Whether fe names field (any position). */
static int
fe_has(const struct field_errors *fe, const char *field)
{
	size_t	 i;

	for (i = 0; i < fe->n; i++)
		if (strcmp(fe->e[i].field, field) == 0)
			return 1;
	return 0;
}

/* Asserts body decodes to ERR_RECORD_INVALID naming exactly field. */
static void
refused_one(const char *json, int for_update, const char *field)
{
	struct dec	 d;

	dec_run(&d, json, for_update);
	ck_assert_msg(d.e == ERR_RECORD_INVALID,
	    "%s: got error %d, want record_invalid", json, d.e);
	ck_assert_msg(d.fe.n == 1, "%s: %zu field errors, want 1", json,
	    d.fe.n);
	ck_assert_str_eq(d.fe.e[0].field, field);
	ck_assert_ptr_nonnull(d.fe.e[0].message);
	ck_assert_int_gt(strlen(d.fe.e[0].message), 0);
	dec_free(&d);
}

/* Asserts body decodes fine with field f set. */
static void
accepted(const char *json, int for_update, enum bf_field f, struct dec *d)
{
	dec_run(d, json, for_update);
	ck_assert_msg(d->e == ERR_OK, "%s: got error %d (%s: %s)", json, d->e,
	    d->fe.n ? d->fe.e[0].field : "-",
	    d->fe.n ? d->fe.e[0].message : "-");
	ck_assert_uint_eq(d->fe.n, 0);
	ck_assert_msg(d->p.set & BF_BIT(f), "%s: field %s not set", json,
	    bf_field_name(f));
}

static int64_t
T(const char *s)
{
	int64_t	 us;

	ck_assert_msg(dt_parse(s, strlen(s), &us) == 0, "bad test date %s", s);
	return us;
}

/* ---- bf_patch_decode ---------------------------------------------- */

START_TEST(units_bounds)
{
	struct dec	 d;

	accepted("{\"backfill\": {\"interval_units\": 1}}", 0,
	    BF_INTERVAL_UNITS, &d);
	ck_assert_int_eq(d.p.v[BF_INTERVAL_UNITS].null, 0);
	ck_assert_int_eq(d.p.v[BF_INTERVAL_UNITS].i, 1);
	dec_free(&d);
	accepted("{\"backfill\": {\"interval_units\": 1000000}}", 1,
	    BF_INTERVAL_UNITS, &d);
	ck_assert_int_eq(d.p.v[BF_INTERVAL_UNITS].i, 1000000);
	dec_free(&d);
	accepted("{\"backfill\": {\"interval_units\": null}}", 1,
	    BF_INTERVAL_UNITS, &d);
	ck_assert_int_eq(d.p.v[BF_INTERVAL_UNITS].null, 1);
	dec_free(&d);

	refused_one("{\"backfill\": {\"interval_units\": 0}}", 0,
	    "interval_units");
	refused_one("{\"backfill\": {\"interval_units\": -1}}", 1,
	    "interval_units");
	refused_one("{\"backfill\": {\"interval_units\": 1000001}}", 0,
	    "interval_units");
	refused_one("{\"backfill\": {\"interval_units\": "
	    "9223372036854775807}}", 0, "interval_units");
	refused_one("{\"backfill\": {\"interval_units\": "
	    "99999999999999999999999}}", 0, "interval_units");
	refused_one("{\"backfill\": {\"interval_units\": "
	    "-9223372036854775808}}", 0, "interval_units");
}
END_TEST

START_TEST(units_must_be_json_int)
{
	refused_one("{\"backfill\": {\"interval_units\": 1.0}}", 0,
	    "interval_units");
	refused_one("{\"backfill\": {\"interval_units\": 5.5}}", 0,
	    "interval_units");
	refused_one("{\"backfill\": {\"interval_units\": 1e3}}", 0,
	    "interval_units");
	refused_one("{\"backfill\": {\"interval_units\": \"5\"}}", 0,
	    "interval_units");
	refused_one("{\"backfill\": {\"interval_units\": true}}", 1,
	    "interval_units");
	refused_one("{\"backfill\": {\"interval_units\": false}}", 1,
	    "interval_units");
	refused_one("{\"backfill\": {\"interval_units\": [5]}}", 0,
	    "interval_units");
	refused_one("{\"backfill\": {\"interval_units\": {\"n\": 5}}}", 0,
	    "interval_units");
}
END_TEST

/* A JSON body with one string field of n bytes of c. */
static char *
text_body(const char *field, size_t n, char c)
{
	size_t	 flen = strlen(field), len = flen + n + 32;
	char	*s = malloc(len);
	int	 o;

	ck_assert_ptr_nonnull(s);
	o = snprintf(s, len, "{\"backfill\": {\"%s\": \"", field);
	memset(s + o, c, n);
	strcpy(s + o + n, "\"}}");
	return s;
}

static void
text_rules(const char *field, enum bf_field f)
{
	struct dec	 d;
	char		*s, json[128];

	s = text_body(field, 255, 'x');
	accepted(s, 0, f, &d);
	ck_assert_int_eq(d.p.v[f].null, 0);
	ck_assert_uint_eq(d.p.v[f].len, 255);
	ck_assert_int_eq(d.p.v[f].s[0], 'x');
	ck_assert_int_eq(d.p.v[f].s[254], 'x');
	dec_free(&d);
	free(s);

	s = text_body(field, 256, 'x');
	refused_one(s, 0, field);
	refused_one(s, 1, field);
	free(s);

	/* 255 bytes of UTF-8 are fine, 256 are not, whatever the chars. */
	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": \"", field);
	s = malloc(strlen(json) + 256 + 4);
	ck_assert_ptr_nonnull(s);
	strcpy(s, json);
	for (int i = 0; i < 85; i++)
		strcat(s, "\xe2\x82\xac");	/* U+20AC, 3 bytes: 255 */
	strcat(s, "\"}}");
	accepted(s, 1, f, &d);
	ck_assert_uint_eq(d.p.v[f].len, 255);
	dec_free(&d);
	s[strlen(json) + 255] = 'y';	/* 256 bytes: one more */
	s[strlen(json) + 256] = '\0';
	strcat(s, "\"}}");
	refused_one(s, 1, field);
	free(s);

	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": "
	    "\"a\\u0000b\"}}", field);
	refused_one(json, 0, field);
	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": "
	    "\"\\u0000\"}}", field);
	refused_one(json, 1, field);
	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": 5}}", field);
	refused_one(json, 0, field);
	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": {}}}", field);
	refused_one(json, 0, field);
	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": true}}", field);
	refused_one(json, 0, field);

	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": null}}", field);
	accepted(json, 0, f, &d);
	ck_assert_int_eq(d.p.v[f].null, 1);
	dec_free(&d);
	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": \"\"}}", field);
	accepted(json, 0, f, &d);
	ck_assert_int_eq(d.p.v[f].null, 0);
	ck_assert_uint_eq(d.p.v[f].len, 0);
	dec_free(&d);
	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": "
	    "\"new \\\"name\\\"\"}}", field);
	accepted(json, 1, f, &d);
	ck_assert_str_eq(d.p.v[f].s, "new \"name\"");
	ck_assert_uint_eq(d.p.v[f].len, 10);
	dec_free(&d);
}

START_TEST(name_rules)
{
	text_rules("name", BF_NAME);
}
END_TEST

START_TEST(block_uuid_rules)
{
	text_rules("block_uuid", BF_BLOCK_UUID);
}
END_TEST

static void
object_rules(const char *field, enum bf_field f)
{
	struct dec	 d;
	char		 json[160];
	struct json_object *back;

	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": {}}}", field);
	accepted(json, 0, f, &d);
	ck_assert_int_eq(d.p.v[f].null, 0);
	ck_assert_str_eq(d.p.v[f].s, "{}");
	dec_free(&d);

	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": "
	    "{\"a\": 1, \"b\": [true, null], \"c\": {\"d\": \"e/f\"}}}}",
	    field);
	accepted(json, 1, f, &d);
	ck_assert_int_eq(d.p.v[f].null, 0);
	ck_assert_uint_eq(d.p.v[f].len, strlen(d.p.v[f].s));
	/* kept as JSON text of the same object */
	back = json_tokener_parse(d.p.v[f].s);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(json_object_equal(back,
	    json_object_object_get(json_object_object_get(d.root,
	    "backfill"), field)), 1);
	json_object_put(back);
	dec_free(&d);

	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": null}}", field);
	accepted(json, 0, f, &d);
	ck_assert_int_eq(d.p.v[f].null, 1);
	dec_free(&d);

	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": []}}", field);
	refused_one(json, 0, field);
	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": \"{}\"}}",
	    field);
	refused_one(json, 1, field);
	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": 1}}", field);
	refused_one(json, 0, field);
	snprintf(json, sizeof(json), "{\"backfill\": {\"%s\": false}}", field);
	refused_one(json, 0, field);
}

START_TEST(settings_rules)
{
	object_rules("settings", BF_SETTINGS);
}
END_TEST

START_TEST(variables_rules)
{
	object_rules("variables", BF_VARIABLES);
}
END_TEST

START_TEST(datetime_fields)
{
	struct dec	 d;

	accepted("{\"backfill\": {\"start_datetime\": "
	    "\"2023-07-17 23:56:05\"}}", 0, BF_START_DATETIME, &d);
	ck_assert_int_eq(d.p.v[BF_START_DATETIME].i, T("2023-07-17 23:56:05"));
	dec_free(&d);
	accepted("{\"backfill\": {\"end_datetime\": "
	    "\"2023-07-18T01:56:05+02:00\"}}", 1, BF_END_DATETIME, &d);
	ck_assert_int_eq(d.p.v[BF_END_DATETIME].i, T("2023-07-17 23:56:05"));
	dec_free(&d);
	accepted("{\"backfill\": {\"end_datetime\": null}}", 1,
	    BF_END_DATETIME, &d);
	ck_assert_int_eq(d.p.v[BF_END_DATETIME].null, 1);
	dec_free(&d);

	refused_one("{\"backfill\": {\"start_datetime\": \"2023-02-30\"}}", 0,
	    "start_datetime");
	refused_one("{\"backfill\": {\"end_datetime\": \"tomorrow\"}}", 1,
	    "end_datetime");
	refused_one("{\"backfill\": {\"start_datetime\": 1689724565}}", 0,
	    "start_datetime");
	refused_one("{\"backfill\": {\"start_datetime\": \"\"}}", 0,
	    "start_datetime");
}
END_TEST

START_TEST(interval_type_values)
{
	static const char *const names[] = { "second", "minute", "hour",
	    "day", "week", "month", "year", "custom" };
	struct dec	 d;
	char		 json[128];
	size_t		 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(json, sizeof(json), "{\"backfill\": "
		    "{\"interval_type\": \"%s\"}}", names[i]);
		accepted(json, 0, BF_INTERVAL_TYPE, &d);
		ck_assert_str_eq(bf_itype_name(
		    (enum bf_itype)d.p.v[BF_INTERVAL_TYPE].i), names[i]);
		dec_free(&d);
	}
	accepted("{\"backfill\": {\"interval_type\": null}}", 1,
	    BF_INTERVAL_TYPE, &d);
	ck_assert_int_eq(d.p.v[BF_INTERVAL_TYPE].null, 1);
	dec_free(&d);
	refused_one("{\"backfill\": {\"interval_type\": \"Day\"}}", 0,
	    "interval_type");
	refused_one("{\"backfill\": {\"interval_type\": \"fortnight\"}}", 0,
	    "interval_type");
	refused_one("{\"backfill\": {\"interval_type\": \"\"}}", 0,
	    "interval_type");
	refused_one("{\"backfill\": {\"interval_type\": 3}}", 0,
	    "interval_type");
}
END_TEST

START_TEST(unknown_key_named)
{
	struct dec	 d;

	dec_run(&d, "{\"backfill\": {\"colour\": \"red\"}}", 1);
	ck_assert_int_eq(d.e, ERR_RECORD_INVALID);
	ck_assert_uint_eq(d.fe.n, 1);
	ck_assert_str_eq(d.fe.e[0].field, "colour");
	ck_assert_uint_eq(d.p.set, 0);
	dec_free(&d);
	/* a known field next to the unknown one is still refused as a whole */
	dec_run(&d, "{\"backfill\": {\"name\": \"ok\", \"Name\": \"x\"}}", 0);
	ck_assert_int_eq(d.e, ERR_RECORD_INVALID);
	ck_assert_uint_eq(d.fe.n, 1);
	ck_assert_str_eq(d.fe.e[0].field, "Name");
	dec_free(&d);
}
END_TEST

START_TEST(read_only_fields_ignored)
{
	/* A GET-modify-PUT round trip: every field sent back as it came. */
	static const char body[] = "{\"backfill\": {\"id\": 6, "
	    "\"block_uuid\": null, \"completed_at\": null, "
	    "\"created_at\": \"2023-07-18 23:30:26\", "
	    "\"end_datetime\": \"2023-07-18 23:56:05\", "
	    "\"failed_at\": \"2023-07-19 00:00:00\", "
	    "\"interval_type\": null, \"interval_units\": null, "
	    "\"metrics\": {\"x\": 1}, \"name\": \"new_name\", "
	    "\"pipeline_schedule_id\": 12, "
	    "\"pipeline_uuid\": \"arwen_starlight\", \"settings\": null, "
	    "\"start_datetime\": \"2023-07-17 23:56:05\", "
	    "\"started_at\": \"2023-07-19 00:00:00.5\", \"status\": null, "
	    "\"updated_at\": \"2023-07-19 00:00:01\", \"variables\": null}}";
	static const enum bf_field ro[] = { BF_ID, BF_COMPLETED_AT,
	    BF_CREATED_AT, BF_FAILED_AT, BF_METRICS, BF_PIPELINE_SCHEDULE_ID,
	    BF_PIPELINE_UUID, BF_STARTED_AT, BF_UPDATED_AT };
	struct dec	 d;
	size_t		 i;

	dec_run(&d, body, 1);
	ck_assert_int_eq(d.e, ERR_OK);
	ck_assert_uint_eq(d.fe.n, 0);
	for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		ck_assert_msg(!(d.p.set & BF_BIT(ro[i])),
		    "read-only %s is in the patch", bf_field_name(ro[i]));
	ck_assert(d.p.set & BF_BIT(BF_NAME));
	ck_assert(d.p.set & BF_BIT(BF_START_DATETIME));
	ck_assert(d.p.set & BF_BIT(BF_END_DATETIME));
	ck_assert(d.p.set & BF_BIT(BF_SETTINGS));
	ck_assert(d.p.set & BF_BIT(BF_STATUS));
	ck_assert_int_eq(d.p.v[BF_STATUS].null, 1);
	dec_free(&d);

	/* on create too */
	dec_run(&d, body, 0);
	ck_assert_int_eq(d.e, ERR_OK);
	ck_assert_uint_eq(d.fe.n, 0);
	for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		ck_assert(!(d.p.set & BF_BIT(ro[i])));
	ck_assert(!(d.p.set & BF_BIT(BF_STATUS)));
	dec_free(&d);
}
END_TEST

START_TEST(status_only_for_update)
{
	struct dec	 d;

	refused_one("{\"backfill\": {\"status\": \"initial\"}}", 0, "status");
	refused_one("{\"backfill\": {\"status\": \"bogus\"}}", 0, "status");

	accepted("{\"backfill\": {\"status\": \"initial\"}}", 1, BF_STATUS,
	    &d);
	ck_assert_int_eq(d.p.v[BF_STATUS].null, 0);
	ck_assert_int_eq(d.p.v[BF_STATUS].i, ST_INITIAL);
	dec_free(&d);
	accepted("{\"backfill\": {\"status\": \"cancelled\"}}", 1, BF_STATUS,
	    &d);
	ck_assert_int_eq(d.p.v[BF_STATUS].i, ST_CANCELLED);
	dec_free(&d);
	refused_one("{\"backfill\": {\"status\": \"Running\"}}", 1, "status");
	refused_one("{\"backfill\": {\"status\": \"done\"}}", 1, "status");
	refused_one("{\"backfill\": {\"status\": 1}}", 1, "status");
}
END_TEST

START_TEST(null_status_on_create_allowed)
{
	struct dec	 d;

	dec_run(&d, "{\"backfill\": {\"status\": null, \"name\": \"n\"}}", 0);
	ck_assert_int_eq(d.e, ERR_OK);
	ck_assert_uint_eq(d.fe.n, 0);
	ck_assert(!(d.p.set & BF_BIT(BF_STATUS)));
	ck_assert(d.p.set & BF_BIT(BF_NAME));
	dec_free(&d);
	/* on update, null status decodes (bf_apply judges it) */
	accepted("{\"backfill\": {\"status\": null}}", 1, BF_STATUS, &d);
	ck_assert_int_eq(d.p.v[BF_STATUS].null, 1);
	dec_free(&d);
}
END_TEST

START_TEST(several_wrong_fields_all_listed)
{
	struct dec	 d;

	dec_run(&d, "{\"backfill\": {\"name\": 1, \"interval_units\": 0, "
	    "\"interval_type\": \"fortnight\", \"colour\": 1, "
	    "\"start_datetime\": \"2023-02-30\", \"settings\": [], "
	    "\"block_uuid\": \"ok\"}}", 1);
	ck_assert_int_eq(d.e, ERR_RECORD_INVALID);
	ck_assert_uint_eq(d.fe.n, 6);
	ck_assert(fe_has(&d.fe, "name"));
	ck_assert(fe_has(&d.fe, "interval_units"));
	ck_assert(fe_has(&d.fe, "interval_type"));
	ck_assert(fe_has(&d.fe, "colour"));
	ck_assert(fe_has(&d.fe, "start_datetime"));
	ck_assert(fe_has(&d.fe, "settings"));
	ck_assert(!fe_has(&d.fe, "block_uuid"));
	dec_free(&d);
}
END_TEST

START_TEST(root_keys)
{
	struct dec	 d;

	dec_run(&d, "{\"backfill\": {\"name\": \"n\"}, \"api_key\": \"k\"}", 1);
	ck_assert_int_eq(d.e, ERR_OK);
	ck_assert(d.p.set & BF_BIT(BF_NAME));
	dec_free(&d);

	dec_run(&d, "{\"backfill\": {\"name\": \"n\"}, \"extra\": 1}", 1);
	ck_assert_int_eq(d.e, ERR_INVALID_JSON);
	ck_assert_ptr_nonnull(d.detail);
	ck_assert_uint_eq(d.fe.n, 0);
	dec_free(&d);

	dec_run(&d, "{\"pipeline_run\": {\"status\": \"running\"}}", 1);
	ck_assert_int_eq(d.e, ERR_INVALID_JSON);
	ck_assert_ptr_nonnull(d.detail);
	dec_free(&d);

	dec_run(&d, "{\"name\": \"n\"}", 0);
	ck_assert_int_eq(d.e, ERR_INVALID_JSON);
	dec_free(&d);

	dec_run(&d, "{}", 0);
	ck_assert_int_eq(d.e, ERR_INVALID_JSON);
	ck_assert_ptr_nonnull(d.detail);
	dec_free(&d);

	dec_run(&d, "{\"api_key\": \"k\"}", 0);
	ck_assert_int_eq(d.e, ERR_INVALID_JSON);
	dec_free(&d);
}
END_TEST

START_TEST(root_not_object)
{
	static const char *const bodies[] = { "[]", "[{\"backfill\": {}}]",
	    "\"backfill\"", "5", "true" };
	struct dec	 d;
	size_t		 i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		dec_run(&d, bodies[i], 1);
		ck_assert_msg(d.e == ERR_INVALID_JSON, "%s: got %d", bodies[i],
		    d.e);
		ck_assert_ptr_nonnull(d.detail);
		dec_free(&d);
	}
}
END_TEST

START_TEST(backfill_not_object)
{
	static const char *const bodies[] = { "{\"backfill\": []}",
	    "{\"backfill\": null}", "{\"backfill\": \"x\"}",
	    "{\"backfill\": 6}", "{\"backfill\": [{\"name\": \"n\"}]}" };
	struct dec	 d;
	size_t		 i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		dec_run(&d, bodies[i], 1);
		ck_assert_msg(d.e == ERR_INVALID_JSON, "%s: got %d", bodies[i],
		    d.e);
		ck_assert_ptr_nonnull(d.detail);
		dec_free(&d);
	}
}
END_TEST

START_TEST(empty_backfill_is_empty_patch)
{
	struct dec	 d;

	dec_run(&d, "{\"backfill\": {}}", 1);
	ck_assert_int_eq(d.e, ERR_OK);
	ck_assert_uint_eq(d.p.set, 0);
	dec_free(&d);
}
END_TEST

/* ---- bf_apply ----------------------------------------------------- */

#define CREATED		"2023-07-18 23:30:26"
#define UPDATED		"2023-07-18 23:40:00"
#define NOW		"2023-07-20 10:00:00.123456"

/* The stored record every apply test starts from: backfill 6 of the
 * founding example, at version 3, with a plan's four fields set. */
static void
base(struct backfill *b, enum bf_status st)
{
	memset(b, 0, sizeof(*b));
	backfill_clear(b);
	b->version = 3;
	b->v[BF_ID] = (struct bval){ .i = 6 };
	b->v[BF_CREATED_AT] = (struct bval){ .i = T(CREATED) };
	b->v[BF_UPDATED_AT] = (struct bval){ .i = T(UPDATED) };
	ck_assert_int_eq(bval_set_str(&b->v[BF_PIPELINE_UUID],
	    "arwen_starlight", 15), 0);
	ck_assert_int_eq(bval_set_str(&b->v[BF_NAME], "old", 3), 0);
	b->v[BF_START_DATETIME] = (struct bval){ .i = T("2023-07-01") };
	b->v[BF_END_DATETIME] = (struct bval){ .i = T("2023-07-03") };
	b->v[BF_INTERVAL_TYPE] = (struct bval){ .i = IT_DAY };
	b->v[BF_INTERVAL_UNITS] = (struct bval){ .i = 1 };
	if (st != ST_NULL)
		b->v[BF_STATUS] = (struct bval){ .i = st };
}

struct app {
	struct dec	 d;
	struct field_errors fe;
	const char	*detail;
	uint32_t	 changed;
	enum err	 e;
};

/* Decodes an update body and applies it to b at NOW. */
static void
apply(struct backfill *b, const char *json, struct app *a)
{
	memset(a, 0, sizeof(*a));
	dec_run(&a->d, json, 1);
	ck_assert_msg(a->d.e == ERR_OK, "%s: decode error %d", json, a->d.e);
	a->changed = 0xdeadbeef;
	a->e = bf_apply(b, &a->d.p, T(NOW), &a->changed, &a->fe, &a->detail);
}

static void
app_free(struct app *a)
{
	dec_free(&a->d);
}

START_TEST(apply_sets_and_stamps)
{
	struct backfill	 b;
	struct app	 a;

	base(&b, ST_NULL);
	apply(&b, "{\"backfill\": {\"name\": \"new_name\", "
	    "\"start_datetime\": \"2023-07-17 23:56:05\", "
	    "\"end_datetime\": \"2023-07-18 23:56:05\"}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_uint_eq(a.changed, BF_BIT(BF_NAME) |
	    BF_BIT(BF_START_DATETIME) | BF_BIT(BF_END_DATETIME) |
	    BF_BIT(BF_UPDATED_AT));
	ck_assert_str_eq(b.v[BF_NAME].s, "new_name");
	ck_assert_int_eq(b.v[BF_START_DATETIME].i, T("2023-07-17 23:56:05"));
	ck_assert_int_eq(b.v[BF_END_DATETIME].i, T("2023-07-18 23:56:05"));
	ck_assert_int_eq(b.v[BF_UPDATED_AT].i, T(NOW));
	/* the rest as stored */
	ck_assert_int_eq(b.v[BF_ID].i, 6);
	ck_assert_int_eq(b.v[BF_CREATED_AT].i, T(CREATED));
	ck_assert_str_eq(b.v[BF_PIPELINE_UUID].s, "arwen_starlight");
	ck_assert_int_eq(b.v[BF_INTERVAL_TYPE].i, IT_DAY);
	ck_assert_int_eq(b.v[BF_STATUS].null, 1);
	ck_assert_int_eq(b.v[BF_STARTED_AT].null, 1);
	app_free(&a);
	backfill_free(&b);
}
END_TEST

START_TEST(apply_null_clears)
{
	struct backfill	 b;
	struct app	 a;

	base(&b, ST_NULL);
	ck_assert_int_eq(bval_set_str(&b.v[BF_SETTINGS], "{\"a\":1}", 7), 0);
	apply(&b, "{\"backfill\": {\"name\": null, \"settings\": null, "
	    "\"interval_units\": null, \"end_datetime\": null}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_int_eq(b.v[BF_NAME].null, 1);
	ck_assert_int_eq(b.v[BF_SETTINGS].null, 1);
	ck_assert_int_eq(b.v[BF_INTERVAL_UNITS].null, 1);
	ck_assert_int_eq(b.v[BF_END_DATETIME].null, 1);
	ck_assert_uint_eq(a.changed, BF_BIT(BF_NAME) | BF_BIT(BF_SETTINGS) |
	    BF_BIT(BF_INTERVAL_UNITS) | BF_BIT(BF_END_DATETIME) |
	    BF_BIT(BF_UPDATED_AT));
	ck_assert_int_eq(b.v[BF_UPDATED_AT].i, T(NOW));
	app_free(&a);
	backfill_free(&b);
}
END_TEST

START_TEST(apply_end_before_start_refused)
{
	struct backfill	 b;
	struct app	 a;

	/* both in the patch */
	base(&b, ST_NULL);
	apply(&b, "{\"backfill\": {\"start_datetime\": \"2023-07-18\", "
	    "\"end_datetime\": \"2023-07-17 23:59:59.999999\"}}", &a);
	ck_assert_int_eq(a.e, ERR_RECORD_INVALID);
	ck_assert_uint_eq(a.fe.n, 1);
	ck_assert_str_eq(a.fe.e[0].field, "end_datetime");
	app_free(&a);
	backfill_free(&b);

	/* the patch's end against the stored start */
	base(&b, ST_NULL);
	apply(&b, "{\"backfill\": {\"end_datetime\": \"2023-06-30\"}}", &a);
	ck_assert_int_eq(a.e, ERR_RECORD_INVALID);
	ck_assert(fe_has(&a.fe, "end_datetime"));
	app_free(&a);
	backfill_free(&b);

	/* the patch's start against the stored end */
	base(&b, ST_NULL);
	apply(&b, "{\"backfill\": {\"start_datetime\": \"2023-07-04\"}}", &a);
	ck_assert_int_eq(a.e, ERR_RECORD_INVALID);
	ck_assert(fe_has(&a.fe, "end_datetime"));
	app_free(&a);
	backfill_free(&b);

	/* equal is fine; so is one of them null */
	base(&b, ST_NULL);
	apply(&b, "{\"backfill\": {\"start_datetime\": \"2023-07-03\"}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	app_free(&a);
	backfill_free(&b);
	base(&b, ST_NULL);
	apply(&b, "{\"backfill\": {\"end_datetime\": null, "
	    "\"start_datetime\": \"2030-01-01\"}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	app_free(&a);
	backfill_free(&b);
}
END_TEST

/* docs/API.md "The run lifecycle", written out independently of src/. */
static int
spec_allows(enum bf_status from, enum bf_status to)
{
	switch (to) {
	case ST_INITIAL:
		return from == ST_NULL || from == ST_FAILED ||
		    from == ST_CANCELLED || from == ST_COMPLETED;
	case ST_RUNNING:
		return from == ST_INITIAL;
	case ST_COMPLETED:
		return from == ST_RUNNING;
	case ST_FAILED:
		return from == ST_INITIAL || from == ST_RUNNING;
	case ST_CANCELLED:
		return from == ST_INITIAL || from == ST_RUNNING ||
		    from == ST_FAILED;
	default:
		return 0;
	}
}

START_TEST(apply_transition_matrix)
{
	struct backfill	 b;
	struct app	 a;
	char		 json[96];
	int		 from, to, allowed = 0, refused = 0;

	for (from = ST_NULL; from < ST__MAX; from++)
		for (to = ST_INITIAL; to < ST__MAX; to++) {
			base(&b, (enum bf_status)from);
			snprintf(json, sizeof(json), "{\"backfill\": "
			    "{\"status\": \"%s\"}}",
			    bf_status_name((enum bf_status)to));
			apply(&b, json, &a);
			if (to == from) {
				ck_assert_msg(a.e == ERR_OK && a.changed == 0,
				    "%s -> same: got %d, changed %#x",
				    json, a.e, a.changed);
				ck_assert_int_eq(b.v[BF_UPDATED_AT].i,
				    T(UPDATED));
			} else if (spec_allows((enum bf_status)from,
			    (enum bf_status)to)) {
				ck_assert_msg(a.e == ERR_OK,
				    "%s -> %s refused (%d)",
				    from ? bf_status_name(
				    (enum bf_status)from) : "null",
				    bf_status_name((enum bf_status)to), a.e);
				ck_assert_int_eq(b.v[BF_STATUS].null, 0);
				ck_assert_int_eq(b.v[BF_STATUS].i, to);
				ck_assert(a.changed & BF_BIT(BF_STATUS));
				ck_assert(a.changed & BF_BIT(BF_UPDATED_AT));
				ck_assert_int_eq(b.v[BF_UPDATED_AT].i, T(NOW));
				allowed++;
			} else {
				ck_assert_msg(a.e == ERR_TRANSITION,
				    "%s -> %s: got %d, want ERR_TRANSITION",
				    from ? bf_status_name(
				    (enum bf_status)from) : "null",
				    bf_status_name((enum bf_status)to), a.e);
				ck_assert_ptr_nonnull(a.detail);
				refused++;
			}
			app_free(&a);
			backfill_free(&b);
		}
	ck_assert_int_eq(allowed, 11);
	ck_assert_int_eq(refused, 30 - 5 - 11);
}
END_TEST

START_TEST(apply_forbidden_transition)
{
	struct backfill	 b;
	struct app	 a;

	base(&b, ST_COMPLETED);
	apply(&b, "{\"backfill\": {\"status\": \"running\"}}", &a);
	ck_assert_int_eq(a.e, ERR_TRANSITION);
	ck_assert_ptr_nonnull(a.detail);
	app_free(&a);
	backfill_free(&b);

	base(&b, ST_NULL);
	apply(&b, "{\"backfill\": {\"status\": \"completed\"}}", &a);
	ck_assert_int_eq(a.e, ERR_TRANSITION);
	app_free(&a);
	backfill_free(&b);
}
END_TEST

START_TEST(apply_initial_needs_plan_fields)
{
	struct backfill	 b;
	struct app	 a;

	base(&b, ST_NULL);
	b.v[BF_START_DATETIME].null = 1;
	b.v[BF_END_DATETIME].null = 1;
	b.v[BF_INTERVAL_TYPE].null = 1;
	b.v[BF_INTERVAL_UNITS].null = 1;
	apply(&b, "{\"backfill\": {\"status\": \"initial\"}}", &a);
	ck_assert_int_eq(a.e, ERR_RECORD_INVALID);
	ck_assert_uint_eq(a.fe.n, 4);
	ck_assert(fe_has(&a.fe, "start_datetime"));
	ck_assert(fe_has(&a.fe, "end_datetime"));
	ck_assert(fe_has(&a.fe, "interval_type"));
	ck_assert(fe_has(&a.fe, "interval_units"));
	app_free(&a);
	backfill_free(&b);

	/* one missing */
	base(&b, ST_FAILED);
	b.v[BF_INTERVAL_TYPE].null = 1;
	apply(&b, "{\"backfill\": {\"status\": \"initial\"}}", &a);
	ck_assert_int_eq(a.e, ERR_RECORD_INVALID);
	ck_assert_uint_eq(a.fe.n, 1);
	ck_assert_str_eq(a.fe.e[0].field, "interval_type");
	app_free(&a);
	backfill_free(&b);

	/* cleared in the same patch */
	base(&b, ST_NULL);
	apply(&b, "{\"backfill\": {\"status\": \"initial\", "
	    "\"interval_units\": null}}", &a);
	ck_assert_int_eq(a.e, ERR_RECORD_INVALID);
	ck_assert_uint_eq(a.fe.n, 1);
	ck_assert_str_eq(a.fe.e[0].field, "interval_units");
	app_free(&a);
	backfill_free(&b);

	/* set in the same patch */
	base(&b, ST_NULL);
	b.v[BF_INTERVAL_TYPE].null = 1;
	apply(&b, "{\"backfill\": {\"status\": \"initial\", "
	    "\"interval_type\": \"hour\"}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_int_eq(b.v[BF_STATUS].i, ST_INITIAL);
	ck_assert_int_eq(b.v[BF_INTERVAL_TYPE].i, IT_HOUR);
	app_free(&a);
	backfill_free(&b);
}
END_TEST

START_TEST(apply_initial_stamps)
{
	struct backfill	 b;
	struct app	 a;

	/* a retry after completion */
	base(&b, ST_COMPLETED);
	b.v[BF_STARTED_AT] = (struct bval){ .i = T("2023-07-19") };
	b.v[BF_COMPLETED_AT] = (struct bval){ .i = T("2023-07-19 01:00:00") };
	apply(&b, "{\"backfill\": {\"status\": \"initial\"}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_int_eq(b.v[BF_STATUS].i, ST_INITIAL);
	ck_assert_int_eq(b.v[BF_STARTED_AT].null, 0);
	ck_assert_int_eq(b.v[BF_STARTED_AT].i, T(NOW));
	ck_assert_int_eq(b.v[BF_COMPLETED_AT].null, 1);
	ck_assert_int_eq(b.v[BF_FAILED_AT].null, 1);
	ck_assert_uint_eq(a.changed, BF_BIT(BF_STATUS) |
	    BF_BIT(BF_STARTED_AT) | BF_BIT(BF_COMPLETED_AT) |
	    BF_BIT(BF_UPDATED_AT));
	app_free(&a);
	backfill_free(&b);

	/* a retry after failure */
	base(&b, ST_FAILED);
	b.v[BF_STARTED_AT] = (struct bval){ .i = T("2023-07-19") };
	b.v[BF_FAILED_AT] = (struct bval){ .i = T("2023-07-19 02:00:00") };
	apply(&b, "{\"backfill\": {\"status\": \"initial\"}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_int_eq(b.v[BF_STARTED_AT].i, T(NOW));
	ck_assert_int_eq(b.v[BF_FAILED_AT].null, 1);
	ck_assert_int_eq(b.v[BF_COMPLETED_AT].null, 1);
	ck_assert(a.changed & BF_BIT(BF_FAILED_AT));
	app_free(&a);
	backfill_free(&b);

	/* the first start */
	base(&b, ST_NULL);
	apply(&b, "{\"backfill\": {\"status\": \"initial\"}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_int_eq(b.v[BF_STARTED_AT].i, T(NOW));
	ck_assert_uint_eq(a.changed, BF_BIT(BF_STATUS) |
	    BF_BIT(BF_STARTED_AT) | BF_BIT(BF_UPDATED_AT));
	app_free(&a);
	backfill_free(&b);
}
END_TEST

START_TEST(apply_running_keeps_started_at)
{
	struct backfill	 b;
	struct app	 a;

	base(&b, ST_INITIAL);
	b.v[BF_STARTED_AT] = (struct bval){ .i = T("2023-07-19") };
	apply(&b, "{\"backfill\": {\"status\": \"running\"}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_int_eq(b.v[BF_STARTED_AT].i, T("2023-07-19"));
	ck_assert_uint_eq(a.changed, BF_BIT(BF_STATUS) |
	    BF_BIT(BF_UPDATED_AT));
	app_free(&a);
	backfill_free(&b);
}
END_TEST

START_TEST(apply_completed_sets_completed_at)
{
	struct backfill	 b;
	struct app	 a;

	base(&b, ST_RUNNING);
	b.v[BF_STARTED_AT] = (struct bval){ .i = T("2023-07-19") };
	apply(&b, "{\"backfill\": {\"status\": \"completed\"}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_int_eq(b.v[BF_STATUS].i, ST_COMPLETED);
	ck_assert_int_eq(b.v[BF_COMPLETED_AT].null, 0);
	ck_assert_int_eq(b.v[BF_COMPLETED_AT].i, T(NOW));
	ck_assert_int_eq(b.v[BF_STARTED_AT].i, T("2023-07-19"));
	ck_assert_int_eq(b.v[BF_FAILED_AT].null, 1);
	ck_assert_uint_eq(a.changed, BF_BIT(BF_STATUS) |
	    BF_BIT(BF_COMPLETED_AT) | BF_BIT(BF_UPDATED_AT));
	app_free(&a);
	backfill_free(&b);
}
END_TEST

START_TEST(apply_failed_sets_failed_at)
{
	struct backfill	 b;
	struct app	 a;

	base(&b, ST_RUNNING);
	apply(&b, "{\"backfill\": {\"status\": \"failed\"}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_int_eq(b.v[BF_STATUS].i, ST_FAILED);
	ck_assert_int_eq(b.v[BF_FAILED_AT].null, 0);
	ck_assert_int_eq(b.v[BF_FAILED_AT].i, T(NOW));
	ck_assert_int_eq(b.v[BF_COMPLETED_AT].null, 1);
	ck_assert_uint_eq(a.changed, BF_BIT(BF_STATUS) |
	    BF_BIT(BF_FAILED_AT) | BF_BIT(BF_UPDATED_AT));
	app_free(&a);
	backfill_free(&b);

	base(&b, ST_INITIAL);
	apply(&b, "{\"backfill\": {\"status\": \"failed\"}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_int_eq(b.v[BF_FAILED_AT].i, T(NOW));
	app_free(&a);
	backfill_free(&b);
}
END_TEST

START_TEST(apply_cancelled_stamps_nothing)
{
	struct backfill	 b;
	struct app	 a;

	base(&b, ST_RUNNING);
	apply(&b, "{\"backfill\": {\"status\": \"cancelled\"}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_int_eq(b.v[BF_STATUS].i, ST_CANCELLED);
	ck_assert_int_eq(b.v[BF_COMPLETED_AT].null, 1);
	ck_assert_int_eq(b.v[BF_FAILED_AT].null, 1);
	ck_assert_uint_eq(a.changed, BF_BIT(BF_STATUS) |
	    BF_BIT(BF_UPDATED_AT));
	app_free(&a);
	backfill_free(&b);
}
END_TEST

START_TEST(apply_same_status_noop)
{
	struct backfill	 b;
	struct app	 a;

	base(&b, ST_RUNNING);
	b.v[BF_STARTED_AT] = (struct bval){ .i = T("2023-07-19") };
	apply(&b, "{\"backfill\": {\"status\": \"running\"}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_uint_eq(a.changed, 0);
	ck_assert_int_eq(b.v[BF_STATUS].i, ST_RUNNING);
	ck_assert_int_eq(b.v[BF_STARTED_AT].i, T("2023-07-19"));
	ck_assert_int_eq(b.v[BF_UPDATED_AT].i, T(UPDATED));
	app_free(&a);
	backfill_free(&b);

	/* completed -> completed keeps completed_at */
	base(&b, ST_COMPLETED);
	b.v[BF_COMPLETED_AT] = (struct bval){ .i = T("2023-07-19") };
	apply(&b, "{\"backfill\": {\"status\": \"completed\"}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_uint_eq(a.changed, 0);
	ck_assert_int_eq(b.v[BF_COMPLETED_AT].i, T("2023-07-19"));
	app_free(&a);
	backfill_free(&b);
}
END_TEST

START_TEST(apply_null_status_refused)
{
	struct backfill	 b;
	struct app	 a;

	base(&b, ST_RUNNING);
	apply(&b, "{\"backfill\": {\"status\": null}}", &a);
	ck_assert_int_eq(a.e, ERR_RECORD_INVALID);
	ck_assert_uint_eq(a.fe.n, 1);
	ck_assert_str_eq(a.fe.e[0].field, "status");
	app_free(&a);
	backfill_free(&b);

	/* on a record whose status is null, null is no change */
	base(&b, ST_NULL);
	apply(&b, "{\"backfill\": {\"status\": null}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_uint_eq(a.changed, 0);
	ck_assert_int_eq(b.v[BF_STATUS].null, 1);
	app_free(&a);
	backfill_free(&b);
}
END_TEST

START_TEST(apply_no_change)
{
	struct backfill	 b;
	struct app	 a;

	base(&b, ST_NULL);
	apply(&b, "{\"backfill\": {}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_uint_eq(a.changed, 0);
	ck_assert_int_eq(b.v[BF_UPDATED_AT].i, T(UPDATED));
	app_free(&a);
	backfill_free(&b);

	/* the same values sent again, and read-only ones sent back */
	base(&b, ST_NULL);
	apply(&b, "{\"backfill\": {\"name\": \"old\", "
	    "\"start_datetime\": \"2023-07-01T02:00:00+02:00\", "
	    "\"interval_type\": \"day\", \"interval_units\": 1, "
	    "\"block_uuid\": null, \"id\": 6, "
	    "\"updated_at\": \"2030-01-01\"}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_uint_eq(a.changed, 0);
	ck_assert_int_eq(b.v[BF_UPDATED_AT].i, T(UPDATED));
	ck_assert_str_eq(b.v[BF_NAME].s, "old");
	app_free(&a);
	backfill_free(&b);
}
END_TEST

START_TEST(apply_status_with_other_fields)
{
	struct backfill	 b;
	struct app	 a;

	base(&b, ST_INITIAL);
	apply(&b, "{\"backfill\": {\"status\": \"running\", "
	    "\"name\": \"renamed\", \"variables\": {\"k\": \"v\"}}}", &a);
	ck_assert_int_eq(a.e, ERR_OK);
	ck_assert_int_eq(b.v[BF_STATUS].i, ST_RUNNING);
	ck_assert_str_eq(b.v[BF_NAME].s, "renamed");
	ck_assert_str_eq(b.v[BF_VARIABLES].s, "{\"k\":\"v\"}");
	ck_assert_uint_eq(a.changed, BF_BIT(BF_STATUS) | BF_BIT(BF_NAME) |
	    BF_BIT(BF_VARIABLES) | BF_BIT(BF_UPDATED_AT));
	app_free(&a);
	backfill_free(&b);
}
END_TEST

START_TEST(check_new)
{
	struct backfill		 b;
	struct field_errors	 fe;

	base(&b, ST_NULL);
	memset(&fe, 0, sizeof(fe));
	ck_assert_int_eq(bf_check_new(&b, &fe), ERR_OK);
	b.v[BF_END_DATETIME].i = b.v[BF_START_DATETIME].i - 1;
	ck_assert_int_eq(bf_check_new(&b, &fe), ERR_RECORD_INVALID);
	ck_assert_uint_eq(fe.n, 1);
	ck_assert_str_eq(fe.e[0].field, "end_datetime");
	backfill_free(&b);
}
END_TEST

/* ---- bf_present, bf_etag ------------------------------------------ */

START_TEST(present_founding_record)
{
	static const char want[] = "{\"id\": 6, \"block_uuid\": null, "
	    "\"completed_at\": null, \"created_at\": \"2023-07-18 23:30:26\", "
	    "\"end_datetime\": \"2023-07-18 23:56:05\", \"failed_at\": null, "
	    "\"interval_type\": null, \"interval_units\": null, "
	    "\"metrics\": null, \"name\": \"new_name\", "
	    "\"pipeline_schedule_id\": null, "
	    "\"pipeline_uuid\": \"arwen_starlight\", \"settings\": null, "
	    "\"start_datetime\": \"2023-07-17 23:56:05\", "
	    "\"started_at\": null, \"status\": null, "
	    "\"updated_at\": \"2023-07-20 10:00:00.123456\", "
	    "\"variables\": null}";
	struct backfill	 b;
	struct buf	 out = { 0 };

	memset(&b, 0, sizeof(b));
	backfill_clear(&b);
	b.v[BF_ID] = (struct bval){ .i = 6 };
	b.v[BF_CREATED_AT] = (struct bval){ .i = T(CREATED) };
	b.v[BF_UPDATED_AT] = (struct bval){ .i = T(NOW) };
	b.v[BF_START_DATETIME] = (struct bval){ .i = T("2023-07-17 23:56:05") };
	b.v[BF_END_DATETIME] = (struct bval){ .i = T("2023-07-18 23:56:05") };
	ck_assert_int_eq(bval_set_str(&b.v[BF_PIPELINE_UUID],
	    "arwen_starlight", 15), 0);
	ck_assert_int_eq(bval_set_str(&b.v[BF_NAME], "new_name", 8), 0);
	bf_present(&out, &b);
	ck_assert_str_eq(out.data, want);
	ck_assert_uint_eq(out.len, strlen(want));
	buf_free(&out);
	backfill_free(&b);
}
END_TEST

START_TEST(present_every_field_set)
{
	static const char want[] = "{\"id\": 42, "
	    "\"block_uuid\": \"blk \\\"1\\\"\", "
	    "\"completed_at\": \"2023-07-21 00:00:00\", "
	    "\"created_at\": \"2023-07-18 23:30:26\", "
	    "\"end_datetime\": \"2023-07-03 00:00:00\", "
	    "\"failed_at\": \"2023-07-20 00:00:00.500000\", "
	    "\"interval_type\": \"month\", \"interval_units\": 1000000, "
	    "\"metrics\": {\"done\":3}, \"name\": \"tab\\there\\n\", "
	    "\"pipeline_schedule_id\": 9, "
	    "\"pipeline_uuid\": \"p.1-x\", \"settings\": {}, "
	    "\"start_datetime\": \"1969-12-31 23:59:59.999999\", "
	    "\"started_at\": \"2023-07-19 00:00:00\", "
	    "\"status\": \"cancelled\", "
	    "\"updated_at\": \"2023-07-22 00:00:00\", "
	    "\"variables\": {\"k\":[1,2]}}";
	struct backfill	 b;
	struct buf	 out = { 0 };

	memset(&b, 0, sizeof(b));
	backfill_clear(&b);
	b.v[BF_ID] = (struct bval){ .i = 42 };
	ck_assert_int_eq(bval_set_str(&b.v[BF_BLOCK_UUID], "blk \"1\"", 7), 0);
	b.v[BF_COMPLETED_AT] = (struct bval){ .i = T("2023-07-21") };
	b.v[BF_CREATED_AT] = (struct bval){ .i = T(CREATED) };
	b.v[BF_END_DATETIME] = (struct bval){ .i = T("2023-07-03") };
	b.v[BF_FAILED_AT] = (struct bval){ .i = T("2023-07-20 00:00:00.5") };
	b.v[BF_INTERVAL_TYPE] = (struct bval){ .i = IT_MONTH };
	b.v[BF_INTERVAL_UNITS] = (struct bval){ .i = 1000000 };
	ck_assert_int_eq(bval_set_str(&b.v[BF_METRICS], "{\"done\":3}", 10),
	    0);
	ck_assert_int_eq(bval_set_str(&b.v[BF_NAME], "tab\there\n", 9), 0);
	b.v[BF_PIPELINE_SCHEDULE_ID] = (struct bval){ .i = 9 };
	ck_assert_int_eq(bval_set_str(&b.v[BF_PIPELINE_UUID], "p.1-x", 5), 0);
	ck_assert_int_eq(bval_set_str(&b.v[BF_SETTINGS], "{}", 2), 0);
	b.v[BF_START_DATETIME] = (struct bval){ .i = -1 };
	b.v[BF_STARTED_AT] = (struct bval){ .i = T("2023-07-19") };
	b.v[BF_STATUS] = (struct bval){ .i = ST_CANCELLED };
	b.v[BF_UPDATED_AT] = (struct bval){ .i = T("2023-07-22") };
	ck_assert_int_eq(bval_set_str(&b.v[BF_VARIABLES], "{\"k\":[1,2]}",
	    11), 0);
	bf_present(&out, &b);
	ck_assert_str_eq(out.data, want);
	buf_free(&out);
	backfill_free(&b);
}
END_TEST

START_TEST(present_parses_as_json_in_order)
{
	static const char *const order[] = { "id", "block_uuid",
	    "completed_at", "created_at", "end_datetime", "failed_at",
	    "interval_type", "interval_units", "metrics", "name",
	    "pipeline_schedule_id", "pipeline_uuid", "settings",
	    "start_datetime", "started_at", "status", "updated_at",
	    "variables" };
	struct backfill	 b;
	struct buf	 out = { 0 };
	struct json_object *j;
	size_t		 i = 0;

	base(&b, ST_RUNNING);
	bf_present(&out, &b);
	j = json_tokener_parse(out.data);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_object_object_length(j), 18);
	{
		json_object_object_foreach(j, key, val) {
			(void)val;
			ck_assert_uint_lt(i, 18);
			ck_assert_str_eq(key, order[i]);
			i++;
		}
	}
	ck_assert_uint_eq(i, 18);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(j,
	    "status")), "running");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(j,
	    "interval_type")), "day");
	json_object_put(j);
	buf_free(&out);
	backfill_free(&b);
}
END_TEST

START_TEST(etag)
{
	struct backfill	 b;
	char		 e[48];

	base(&b, ST_NULL);
	b.version = 1;
	bf_etag(&b, e);
	ck_assert_str_eq(e, "\"6-1\"");
	b.version = 12345;
	bf_etag(&b, e);
	ck_assert_str_eq(e, "\"6-12345\"");
	b.v[BF_ID].i = 9007199254740992LL;
	b.version = INT64_MAX;
	bf_etag(&b, e);
	ck_assert_str_eq(e, "\"9007199254740992-9223372036854775807\"");
	backfill_free(&b);
}
END_TEST

START_TEST(names_and_enums)
{
	ck_assert_str_eq(bf_field_name(BF_ID), "id");
	ck_assert_str_eq(bf_field_name(BF_VARIABLES), "variables");
	ck_assert_ptr_null(bf_status_name(ST_NULL));
	ck_assert_ptr_null(bf_itype_name(IT_NULL));
	ck_assert_int_eq(bf_status_from("failed", 6), ST_FAILED);
	ck_assert_int_eq(bf_status_from("fail", 4), -1);
	ck_assert_int_eq(bf_status_from("failedx", 7), -1);
	ck_assert_int_eq(bf_itype_from("custom", 6), IT_CUSTOM);
	ck_assert_int_eq(bf_itype_from("", 0), -1);
}
END_TEST

Suite *
backfill_suite(void)
{
	Suite	*s = suite_create("backfill");
	TCase	*tc;

	tc = tcase_create("decode");
	tcase_add_test(tc, units_bounds);
	tcase_add_test(tc, units_must_be_json_int);
	tcase_add_test(tc, name_rules);
	tcase_add_test(tc, block_uuid_rules);
	tcase_add_test(tc, settings_rules);
	tcase_add_test(tc, variables_rules);
	tcase_add_test(tc, datetime_fields);
	tcase_add_test(tc, interval_type_values);
	tcase_add_test(tc, unknown_key_named);
	tcase_add_test(tc, read_only_fields_ignored);
	tcase_add_test(tc, status_only_for_update);
	tcase_add_test(tc, null_status_on_create_allowed);
	tcase_add_test(tc, several_wrong_fields_all_listed);
	tcase_add_test(tc, root_keys);
	tcase_add_test(tc, root_not_object);
	tcase_add_test(tc, backfill_not_object);
	tcase_add_test(tc, empty_backfill_is_empty_patch);
	suite_add_tcase(s, tc);

	tc = tcase_create("apply");
	tcase_add_test(tc, apply_sets_and_stamps);
	tcase_add_test(tc, apply_null_clears);
	tcase_add_test(tc, apply_end_before_start_refused);
	tcase_add_test(tc, apply_transition_matrix);
	tcase_add_test(tc, apply_forbidden_transition);
	tcase_add_test(tc, apply_initial_needs_plan_fields);
	tcase_add_test(tc, apply_initial_stamps);
	tcase_add_test(tc, apply_running_keeps_started_at);
	tcase_add_test(tc, apply_completed_sets_completed_at);
	tcase_add_test(tc, apply_failed_sets_failed_at);
	tcase_add_test(tc, apply_cancelled_stamps_nothing);
	tcase_add_test(tc, apply_same_status_noop);
	tcase_add_test(tc, apply_null_status_refused);
	tcase_add_test(tc, apply_no_change);
	tcase_add_test(tc, apply_status_with_other_fields);
	tcase_add_test(tc, check_new);
	suite_add_tcase(s, tc);

	tc = tcase_create("present");
	tcase_add_test(tc, present_founding_record);
	tcase_add_test(tc, present_every_field_set);
	tcase_add_test(tc, present_parses_as_json_in_order);
	tcase_add_test(tc, etag);
	tcase_add_test(tc, names_and_enums);
	suite_add_tcase(s, tc);
	return s;
}
