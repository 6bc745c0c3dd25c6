/*
 * fuzz_patch: a request body through the JSON patch decoder and the
 * backfill domain: jsonin_parse(), bf_patch_decode() for a create and
 * for an update, bf_apply() onto sample records in every status, and
 * bf_present().
 *
 * Input: the raw request body (any bytes).
 *
 * Invariants (abort() on a breach):
 *   - each function returns one of its documented results, with its
 *     detail or field errors set;
 *   - a decoded create (bf_check_new), and every record bf_apply()
 *     accepts, presents as one strict JSON object with the 18 documented
 *     fields in their order, its datetimes in the response format (they
 *     parse back to the same text), status and interval_type from their lists;
 *   - bf_apply() reports updated_at changed exactly when another field
 *     changed, and a record it did not change presents byte for byte as
 *     before;
 *   - applying the same patch a second time changes nothing.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "buf.h"
#include "datetime.h"
#include "errors.h"
#include "jsonin.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FAIL(...)	do {						\
	fprintf(stderr, "fuzz_patch: " __VA_ARGS__);			\
	fputc('\n', stderr);						\
	abort();							\
} while (0)

/* "now" of every bf_apply: a fixed instant, so runs reproduce. */
#define NOW	1700000000123456LL

static int64_t
T(const char *s)
{
	int64_t	 us;

	if (dt_parse(s, strlen(s), &us) < 0)
		FAIL("bad sample date %s", s);
	return us;
}

static void
set_str(struct bval *v, const char *s)
{
	if (bval_set_str(v, s, strlen(s)) < 0)
		FAIL("out of memory");
}

/* Sample record k: k % ST__MAX is its status; k / ST__MAX picks a
 * bare record (the founding backfill) or one with every field set. */
#define SAMPLES	(2 * ST__MAX)

static void
sample(struct backfill *b, int k)
{
	int	 status = k % ST__MAX, full = k / ST__MAX;

	memset(b, 0, sizeof(*b));
	backfill_clear(b);
	b->version = 3;
	b->v[BF_ID] = (struct bval){ .i = 6 + k };
	b->v[BF_CREATED_AT] = (struct bval){ .i = T("2023-07-18 23:30:26") };
	b->v[BF_UPDATED_AT] = (struct bval){ .i = T("2023-07-18 23:30:26") };
	set_str(&b->v[BF_PIPELINE_UUID], "arwen_starlight");
	if (status != ST_NULL)
		b->v[BF_STATUS] = (struct bval){ .i = status };
	if (status != ST_NULL)
		b->v[BF_STARTED_AT] = (struct bval){
		    .i = T("2023-07-19 00:00:00.5") };
	if (status == ST_COMPLETED)
		b->v[BF_COMPLETED_AT] = (struct bval){
		    .i = T("2023-07-20 01:02:03") };
	if (status == ST_FAILED)
		b->v[BF_FAILED_AT] = (struct bval){
		    .i = T("2023-07-20 01:02:03") };
	if (!full)
		return;
	set_str(&b->v[BF_NAME], "new_name");
	set_str(&b->v[BF_BLOCK_UUID], "block \"1\" \xc3\xa9");
	b->v[BF_START_DATETIME] = (struct bval){ .i = T("2023-07-17 23:56:05") };
	b->v[BF_END_DATETIME] = (struct bval){ .i = T("2023-07-18 23:56:05") };
	b->v[BF_INTERVAL_TYPE] = (struct bval){ .i = IT_HOUR };
	b->v[BF_INTERVAL_UNITS] = (struct bval){ .i = 6 };
	b->v[BF_PIPELINE_SCHEDULE_ID] = (struct bval){ .i = 1 };
	set_str(&b->v[BF_METRICS], "{\"runs\":4}");
	set_str(&b->v[BF_SETTINGS], "{\"retries\":2}");
	set_str(&b->v[BF_VARIABLES], "{\"env\":\"prod\",\"n\":[1,2]}");
}

static const char *const names[BF__MAX] = {
	"id", "block_uuid", "completed_at", "created_at", "end_datetime",
	"failed_at", "interval_type", "interval_units", "metrics", "name",
	"pipeline_schedule_id", "pipeline_uuid", "settings", "start_datetime",
	"started_at", "status", "updated_at", "variables",
};

static int
is_time(int f)
{
	return f == BF_COMPLETED_AT || f == BF_CREATED_AT ||
	    f == BF_END_DATETIME || f == BF_FAILED_AT ||
	    f == BF_START_DATETIME || f == BF_STARTED_AT ||
	    f == BF_UPDATED_AT;
}

/* Presents b and checks the result; returns the text (free it). */
static char *
present_check(const struct backfill *b, const char *what)
{
	struct buf		 out = { 0 };
	struct json_object	*o = NULL;
	const char		*detail = NULL, *s;
	char			*text;
	size_t			 n;
	int			 f = 0, e;
	int64_t			 us;
	char			 back[DT_FMT_MAX];

	bf_present(&out, b);
	if (out.len == 0 || out.oom)
		FAIL("%s: bf_present wrote nothing", what);
	if (jsonin_parse(out.data, out.len, &o, &detail) != ERR_OK)
		FAIL("%s: bf_present is not JSON (%s): %s", what, detail,
		    out.data);
	if (!json_object_is_type(o, json_type_object))
		FAIL("%s: bf_present is not an object: %s", what, out.data);
	json_object_object_foreach(o, key, val) {
		if (f >= BF__MAX || strcmp(key, names[f]) != 0)
			FAIL("%s: field %d is %s: %s", what, f, key, out.data);
		if (val == NULL) {
			f++;
			continue;
		}
		if (is_time(f)) {
			if (!json_object_is_type(val, json_type_string))
				FAIL("%s: %s not a string", what, key);
			s = json_object_get_string(val);
			n = (size_t)json_object_get_string_len(val);
			if ((n != 19 && n != 26) || dt_parse(s, n, &us) < 0 ||
			    dt_format(us, ' ', back) != n ||
			    memcmp(back, s, n) != 0)
				FAIL("%s: %s is no response datetime: %s",
				    what, key, s);
		} else if (f == BF_STATUS || f == BF_INTERVAL_TYPE) {
			if (!json_object_is_type(val, json_type_string))
				FAIL("%s: %s not a string", what, key);
			s = json_object_get_string(val);
			n = (size_t)json_object_get_string_len(val);
			e = f == BF_STATUS ? bf_status_from(s, n) :
			    bf_itype_from(s, n);
			if (e < 0)
				FAIL("%s: %s is %s", what, key, s);
		} else if (f == BF_METRICS || f == BF_SETTINGS ||
		    f == BF_VARIABLES) {
			if (!json_object_is_type(val, json_type_object))
				FAIL("%s: %s not an object", what, key);
		} else if (f == BF_NAME || f == BF_BLOCK_UUID ||
		    f == BF_PIPELINE_UUID) {
			if (!json_object_is_type(val, json_type_string) ||
			    json_object_get_string_len(val) > 255)
				FAIL("%s: %s not a string of 255 bytes at "
				    "most", what, key);
		} else if (f == BF_INTERVAL_UNITS) {
			if (!json_object_is_type(val, json_type_int) ||
			    json_object_get_int64(val) < 1 ||
			    json_object_get_int64(val) > 1000000)
				FAIL("%s: interval_units out of range", what);
		}
		f++;
	}
	if (f != BF__MAX)
		FAIL("%s: %d fields: %s", what, f, out.data);
	json_object_put(o);
	if ((text = strdup(out.data)) == NULL)
		FAIL("out of memory");
	buf_free(&out);
	return text;
}

static void
check_fe(const struct field_errors *fe, const char *what)
{
	size_t	 i;

	if (fe->n == 0 || fe->n > FIELD_ERRORS_MAX)
		FAIL("%s: record_invalid with %zu field errors", what, fe->n);
	for (i = 0; i < fe->n; i++)
		if (fe->e[i].field == NULL || fe->e[i].message == NULL ||
		    fe->e[i].message[0] == '\0')
			FAIL("%s: field error %zu unset", what, i);
}

/* A create: the record h_backfill_create makes from the patch. */
static void
try_create(struct bf_patch *p)
{
	struct backfill		 b;
	struct field_errors	 fe = { 0 };
	int			 f;
	enum err		 e;

	memset(&b, 0, sizeof(b));
	backfill_clear(&b);
	for (f = 0; f < BF__MAX; f++)
		if (p->set & BF_BIT(f)) {
			if (f == BF_STATUS || f == BF_ID ||
			    f == BF_CREATED_AT || f == BF_UPDATED_AT ||
			    f == BF_PIPELINE_UUID)
				FAIL("create: read-only field %s decoded",
				    names[f]);
			b.v[f] = p->v[f];
			memset(&p->v[f], 0, sizeof(p->v[f]));
			p->v[f].null = 1;
		}
	b.v[BF_ID] = (struct bval){ .i = 1 };
	b.v[BF_CREATED_AT] = (struct bval){ .i = NOW };
	b.v[BF_UPDATED_AT] = (struct bval){ .i = NOW };
	set_str(&b.v[BF_PIPELINE_UUID], "arwen_starlight");
	e = bf_check_new(&b, &fe);
	if (e == ERR_OK)
		free(present_check(&b, "create"));
	else if (e == ERR_RECORD_INVALID)
		check_fe(&fe, "bf_check_new");
	else
		FAIL("bf_check_new: %d", e);
	backfill_free(&b);
}

static void
try_update(const struct bf_patch *p, int k)
{
	struct backfill		 b;
	struct field_errors	 fe = { 0 };
	const char		*detail = NULL;
	char			*before, *after, *again, what[32];
	uint32_t		 changed = 0;
	enum err		 e;

	snprintf(what, sizeof(what), "update sample %d", k);
	sample(&b, k);
	before = present_check(&b, what);
	e = bf_apply(&b, p, NOW, &changed, &fe, &detail);
	if (e == ERR_RECORD_INVALID)
		check_fe(&fe, what);
	else if (e == ERR_TRANSITION && (detail == NULL || fe.n != 0))
		FAIL("%s: invalid_transition without detail", what);
	if (e != ERR_OK) {
		if (e != ERR_RECORD_INVALID && e != ERR_TRANSITION)
			FAIL("%s: bf_apply: %d", what, e);
		goto out;
	}
	after = present_check(&b, what);
	if (changed & ~((1u << BF__MAX) - 1))
		FAIL("%s: changed %#x", what, changed);
	if (((changed & ~BF_BIT(BF_UPDATED_AT)) != 0) !=
	    ((changed & BF_BIT(BF_UPDATED_AT)) != 0))
		FAIL("%s: changed %#x: updated_at and the rest disagree",
		    what, changed);
	if (changed == 0 && strcmp(before, after) != 0)
		FAIL("%s: nothing changed, yet\n%s\nbecame\n%s", what, before,
		    after);
	if (changed != 0 && b.v[BF_UPDATED_AT].i != NOW)
		FAIL("%s: changed without updated_at = now", what);
	/* The same patch again: nothing to change. */
	memset(&fe, 0, sizeof(fe));
	e = bf_apply(&b, p, NOW + 1, &changed, &fe, &detail);
	if (e != ERR_OK || changed != 0)
		FAIL("%s: applying the patch twice: %d, changed %#x", what,
		    e, changed);
	again = present_check(&b, what);
	if (strcmp(after, again) != 0)
		FAIL("%s: applying twice changed\n%s\ninto\n%s", what, after,
		    again);
	free(after);
	free(again);
out:
	free(before);
	backfill_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object	*root = NULL;
	struct bf_patch		 p;
	struct field_errors	 fe;
	const char		*detail = NULL;
	char			*body;
	int			 fu, k;
	enum err		 e;

	if ((body = malloc(size + 1)) == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	e = jsonin_parse(body, size, &root, &detail);
	if (e != ERR_OK) {
		if (e != ERR_INVALID_JSON || detail == NULL || root != NULL)
			FAIL("jsonin_parse: %d", e);
		free(body);
		return 0;
	}
	for (fu = 0; fu <= 1; fu++) {
		memset(&fe, 0, sizeof(fe));
		detail = NULL;
		e = bf_patch_decode(root, fu, &p, &fe, &detail);
		switch (e) {
		case ERR_OK:
			if (fe.n != 0)
				FAIL("bf_patch_decode: ok with field errors");
			if (p.set & ~((1u << BF__MAX) - 1))
				FAIL("bf_patch_decode: set %#x", p.set);
			if (!fu)
				try_create(&p);
			else
				for (k = 0; k < SAMPLES; k++)
					try_update(&p, k);
			break;
		case ERR_INVALID_JSON:
			if (detail == NULL)
				FAIL("bf_patch_decode: invalid_json, no "
				    "detail");
			break;
		case ERR_RECORD_INVALID:
			check_fe(&fe, "bf_patch_decode");
			break;
		default:
			FAIL("bf_patch_decode: %d", e);
		}
		bf_patch_free(&p);
	}
	json_object_put(root);
	free(body);
	return 0;
}
