/*
 * src/http.h and src/buf.h: query strings, docs/API.md "Errors" bodies, JSON
 * string escaping (RFC 8259 7) and UTF-8 validation (RFC 3629 3-4).
 */
#include <check.h>
#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "errors.h"
#include "http.h"
#include "suites.h"

/* ---- query_get ---------------------------------------------------- */

static void
q_is(const char *query, const char *name, const char *want)
{
	char	 out[64];

	memset(out, 'Z', sizeof(out));
	ck_assert_msg(query_get(query, name, out, sizeof(out)) == 1,
	    "%s in \"%s\" not found", name, query);
	ck_assert_msg(strcmp(out, want) == 0, "%s in \"%s\": \"%s\", want "
	    "\"%s\"", name, query, out, want);
}

static void
q_rc(const char *query, const char *name, size_t outlen, int want)
{
	char	 out[64];
	int	 rc;

	ck_assert_uint_le(outlen, sizeof(out));
	rc = query_get(query, name, out, outlen);
	ck_assert_msg(rc == want, "%s in \"%s\" (outlen %zu): %d, want %d",
	    name, query, outlen, rc, want);
}

START_TEST(query_plain)
{
	q_is("a=1", "a", "1");
	q_is("a=1&b=2", "b", "2");
	q_is("a=1&b=2&c=three", "c", "three");
	q_is("pipeline_uuid=arwen_starlight&_limit=5", "_limit", "5");
	q_is("include_run_count=true", "include_run_count", "true");
}
END_TEST

START_TEST(query_decoding)
{
	q_is("name=new%20name", "name", "new name");
	q_is("name=new+name", "name", "new name");
	q_is("name=a%2Bb", "name", "a+b");
	q_is("name=%41%62%63", "name", "Abc");
	q_is("name=%2f%2F", "name", "//");
	q_is("name=%26%3D", "name", "&=");
	q_is("name=%C3%A9", "name", "\xc3\xa9");
	q_is("name=++", "name", "  ");
}
END_TEST

START_TEST(query_absent)
{
	q_rc("", "a", 16, 0);
	q_rc(NULL, "a", 16, 0);
	q_rc("b=1", "a", 16, 0);
	q_rc("ab=1", "a", 16, 0);
	q_rc("xa=1", "a", 16, 0);
	q_rc("b=a=1", "a", 16, 0);
	q_rc("_limitx=5", "_limit", 16, 0);
	q_rc("x_limit=5", "_limit", 16, 0);
}
END_TEST

START_TEST(query_empty_value)
{
	q_is("a=", "a", "");
	q_is("a=&b=2", "a", "");
	q_is("a", "a", "");
	q_is("a&b=2", "a", "");
	q_is("b=2&a", "a", "");
}
END_TEST

START_TEST(query_malformed_percent)
{
	q_rc("a=%", "a", 16, -1);
	q_rc("a=%4", "a", 16, -1);
	q_rc("a=%4&b=1", "a", 16, -1);
	q_rc("a=%zz", "a", 16, -1);
	q_rc("a=%4g", "a", 16, -1);
	q_rc("a=%g4", "a", 16, -1);
	q_rc("a=x%", "a", 16, -1);
	/* a bad escape elsewhere does not matter */
	q_rc("b=%zz&a=1", "a", 16, 1);
}
END_TEST

START_TEST(query_too_long)
{
	q_rc("a=abc", "a", 4, 1);
	q_rc("a=abcd", "a", 4, -1);
	q_rc("a=%41%42%43", "a", 4, 1);
	q_rc("a=%41%42%43%44", "a", 4, -1);
	q_rc("a=", "a", 1, 1);
	q_rc("a=x", "a", 1, -1);
}
END_TEST

START_TEST(query_nul_refused)
{
	q_rc("a=%00", "a", 16, -1);
	q_rc("a=x%00y", "a", 16, -1);
}
END_TEST

START_TEST(query_first_of_several)
{
	q_is("a=1&a=2", "a", "1");
	q_is("b=0&a=first&a=second&a=third", "a", "first");
	q_is("a=&a=2", "a", "");
}
END_TEST

START_TEST(query_numbers_and_flags)
{
	int64_t	 n = 77;

	ck_assert_int_eq(query_int("", "_limit", 1, 1000, &n), 0);
	ck_assert_int_eq(n, 77);
	ck_assert_int_eq(query_int("_limit=40", "_limit", 1, 1000, &n), 0);
	ck_assert_int_eq(n, 40);
	ck_assert_int_eq(query_int("_limit=1000", "_limit", 1, 1000, &n), 0);
	ck_assert_int_eq(n, 1000);
	n = 77;
	ck_assert_int_eq(query_int("_limit=1001", "_limit", 1, 1000, &n), -1);
	ck_assert_int_eq(query_int("_limit=0", "_limit", 1, 1000, &n), -1);
	ck_assert_int_eq(query_int("_limit=", "_limit", 1, 1000, &n), -1);
	ck_assert_int_eq(query_int("_limit", "_limit", 1, 1000, &n), -1);
	ck_assert_int_eq(query_int("_limit=-1", "_limit", 1, 1000, &n), -1);
	ck_assert_int_eq(query_int("_limit=+5", "_limit", 1, 1000, &n), -1);
	ck_assert_int_eq(query_int("_limit=5x", "_limit", 1, 1000, &n), -1);
	ck_assert_int_eq(query_int("_limit=1e2", "_limit", 1, 1000, &n), -1);
	ck_assert_int_eq(query_int("_offset=99999999999999999999", "_offset",
	    0, 2147483647, &n), -1);
	ck_assert_int_eq(n, 77);

	ck_assert_int_eq(query_flag("include_run_count=true",
	    "include_run_count"), 1);
	ck_assert_int_eq(query_flag("include_run_count=1",
	    "include_run_count"), 1);
	/* as Mage reads a flag: any value but empty and "false" */
	ck_assert_int_eq(query_flag("include_run_count=True",
	    "include_run_count"), 1);
	ck_assert_int_eq(query_flag("include_run_count=0",
	    "include_run_count"), 1);
	ck_assert_int_eq(query_flag("include_run_count=a_long_value_too",
	    "include_run_count"), 1);
	ck_assert_int_eq(query_flag("include_run_count=false",
	    "include_run_count"), 0);
	ck_assert_int_eq(query_flag("include_run_count=",
	    "include_run_count"), 0);
	ck_assert_int_eq(query_flag("include_run_count",
	    "include_run_count"), 0);
	ck_assert_int_eq(query_flag("", "include_run_count"), 0);
}
END_TEST

/* ---- resp_error --------------------------------------------------- */

START_TEST(error_404_body)
{
	struct response	 r;

	memset(&r, 0, sizeof(r));
	resp_reset(&r);
	buf_puts(&r.body, "{\"partial\": ");
	resp_error(&r, ERR_NOT_FOUND, NULL, NULL);
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(r.body.data, "{\"error\": {\"code\": 404, "
	    "\"message\": \"Record not found.\", "
	    "\"type\": \"record_not_found\"}}");
	ck_assert_uint_eq(r.body.len, strlen(r.body.data));
	resp_free(&r);
}
END_TEST

START_TEST(error_record_invalid_body)
{
	struct response		 r;
	struct field_errors	 fe;

	memset(&r, 0, sizeof(r));
	memset(&fe, 0, sizeof(fe));
	resp_reset(&r);
	field_error(&fe, "interval_type", "must be one of second, minute, "
	    "hour, day, week, month, year, custom");
	field_error(&fe, "name", "must be at most 255 bytes");
	resp_error(&r, ERR_RECORD_INVALID, NULL, &fe);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(r.body.data, "{\"error\": {\"code\": 400, "
	    "\"message\": \"Record is invalid.\", "
	    "\"type\": \"record_invalid\", \"errors\": ["
	    "{\"field\": \"interval_type\", \"message\": \"must be one of "
	    "second, minute, hour, day, week, month, year, custom\"}, "
	    "{\"field\": \"name\", \"message\": \"must be at most 255 bytes\"}"
	    "]}}");
	resp_free(&r);
}
END_TEST

START_TEST(error_detail_and_escaping)
{
	struct response		 r;
	struct field_errors	 fe;

	memset(&r, 0, sizeof(r));
	memset(&fe, 0, sizeof(fe));
	resp_reset(&r);
	resp_error(&r, ERR_INVALID_QUERY, "_limit must be \"1\"\n", NULL);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(r.body.data, "{\"error\": {\"code\": 400, "
	    "\"message\": \"_limit must be \\\"1\\\"\\n\", "
	    "\"type\": \"invalid_query\"}}");
	/* a field name from the request is escaped as well */
	field_error(&fe, "we\"ird\x01", "is not a field of backfill");
	resp_error(&r, ERR_RECORD_INVALID, NULL, &fe);
	ck_assert_str_eq(r.body.data, "{\"error\": {\"code\": 400, "
	    "\"message\": \"Record is invalid.\", "
	    "\"type\": \"record_invalid\", \"errors\": ["
	    "{\"field\": \"we\\\"ird\\u0001\", "
	    "\"message\": \"is not a field of backfill\"}]}}");
	resp_free(&r);
}
END_TEST

/* docs/API.md "Errors", written out independently of src/. */
static const struct {
	enum err	 e;
	int		 code;
	const char	*type;
	const char	*message;	/* NULL where docs/API.md gives none */
} spec_errors[] = {
	{ ERR_INVALID_JSON, 400, "invalid_json", NULL },
	{ ERR_RECORD_INVALID, 400, "record_invalid", "Record is invalid." },
	{ ERR_INVALID_QUERY, 400, "invalid_query", NULL },
	{ ERR_INVALID_API_KEY, 401, "invalid_api_key", "Invalid API key." },
	{ ERR_INVALID_TOKEN, 401, "invalid_oauth_token",
	    "Invalid OAuth token." },
	{ ERR_EXPIRED_TOKEN, 401, "expired_oauth_token",
	    "Expired OAuth token." },
	{ ERR_UNAUTHORIZED, 403, "unauthorized_access", NULL },
	{ ERR_NOT_FOUND, 404, "record_not_found", "Record not found." },
	{ ERR_METHOD, 405, "method_not_allowed", NULL },
	{ ERR_TRANSITION, 409, "invalid_transition", NULL },
	{ ERR_LEASE_LOST, 409, "lease_lost", NULL },
	{ ERR_LENGTH_REQUIRED, 411, "length_required", NULL },
	{ ERR_PRECONDITION, 412, "precondition_failed", NULL },
	{ ERR_TOO_LARGE, 413, "payload_too_large", NULL },
	{ ERR_IDEMPOTENCY, 422, "idempotency_key_reused", NULL },
	{ ERR_INTERNAL, 500, "internal_error", NULL },
	{ ERR_UNAVAILABLE, 503, "unavailable", NULL },
};

START_TEST(every_error_is_json_with_its_code)
{
	struct response	 r;
	struct json_object *j, *err, *v;
	size_t		 i;

	ck_assert_uint_eq(sizeof(spec_errors) / sizeof(spec_errors[0]),
	    ERR__MAX - 1);
	memset(&r, 0, sizeof(r));
	for (i = 0; i < sizeof(spec_errors) / sizeof(spec_errors[0]); i++) {
		resp_reset(&r);
		resp_error(&r, spec_errors[i].e, NULL, NULL);
		ck_assert_int_eq(r.status, spec_errors[i].code);
		ck_assert_int_eq(err_code(spec_errors[i].e),
		    spec_errors[i].code);
		j = json_tokener_parse(r.body.data);
		ck_assert_msg(j != NULL, "not JSON: %s", r.body.data);
		ck_assert_int_eq(json_object_object_length(j), 1);
		ck_assert(json_object_object_get_ex(j, "error", &err));
		ck_assert(json_object_object_get_ex(err, "code", &v));
		ck_assert(json_object_is_type(v, json_type_int));
		ck_assert_int_eq(json_object_get_int(v), spec_errors[i].code);
		ck_assert(json_object_object_get_ex(err, "type", &v));
		ck_assert_str_eq(json_object_get_string(v),
		    spec_errors[i].type);
		ck_assert(json_object_object_get_ex(err, "message", &v));
		ck_assert(json_object_is_type(v, json_type_string));
		ck_assert_int_gt(json_object_get_string_len(v), 0);
		if (spec_errors[i].message != NULL)
			ck_assert_str_eq(json_object_get_string(v),
			    spec_errors[i].message);
		json_object_put(j);
		if (spec_errors[i].e == ERR_UNAVAILABLE)
			ck_assert_ptr_nonnull(strstr(r.headers.data,
			    "Retry-After: "));
	}
	resp_free(&r);
}
END_TEST

START_TEST(headers_and_methods)
{
	struct response	 r;

	memset(&r, 0, sizeof(r));
	resp_reset(&r);
	ck_assert_int_eq(r.status, 200);
	resp_header(&r, "ETag", "\"6-1\"");
	resp_header(&r, "Location", "/api/backfills/6");
	ck_assert_str_eq(r.headers.data,
	    "ETag: \"6-1\"\r\nLocation: /api/backfills/6\r\n");
	resp_reset(&r);
	ck_assert_uint_eq(r.headers.len, 0);
	ck_assert_uint_eq(r.body.len, 0);
	resp_free(&r);

	ck_assert_int_eq(http_method("GET"), M_GET);
	ck_assert_int_eq(http_method("HEAD"), M_HEAD);
	ck_assert_int_eq(http_method("POST"), M_POST);
	ck_assert_int_eq(http_method("PUT"), M_PUT);
	ck_assert_int_eq(http_method("DELETE"), M_DELETE);
	ck_assert_int_eq(http_method("OPTIONS"), M_OPTIONS);
	ck_assert_int_eq(http_method("get"), M_OTHER);
	ck_assert_int_eq(http_method("PATCH"), M_OTHER);
	ck_assert_int_eq(http_method(""), M_OTHER);
	ck_assert_int_eq(http_method(NULL), M_OTHER);
	ck_assert_str_eq(http_method_name(M_DELETE), "DELETE");
}
END_TEST

/* If-Match compares strongly (RFC 9110 13.1.1), If-None-Match weakly
 * (13.1.2): W/"x" matches "x" only in the second. */
START_TEST(etag_conditions)
{
	ck_assert_int_eq(etag_matches("\"6-1\"", "\"6-1\""), 1);
	ck_assert_int_eq(etag_matches("\"5-1\", \"6-1\"", "\"6-1\""), 1);
	ck_assert_int_eq(etag_matches("*", "\"6-1\""), 1);
	ck_assert_int_eq(etag_matches("W/\"6-1\"", "\"6-1\""), 0);
	ck_assert_int_eq(etag_matches("\"6-2\"", "\"6-1\""), 0);
	ck_assert_int_eq(etag_matches("", "\"6-1\""), 0);

	ck_assert_int_eq(etag_none_match("\"ab\"", "\"ab\""), 1);
	ck_assert_int_eq(etag_none_match("W/\"ab\"", "\"ab\""), 1);
	ck_assert_int_eq(etag_none_match(" \"x\" ,W/\"ab\" ", "\"ab\""), 1);
	ck_assert_int_eq(etag_none_match("*", "\"ab\""), 1);
	ck_assert_int_eq(etag_none_match("\"abc\"", "\"ab\""), 0);
	ck_assert_int_eq(etag_none_match("ab", "\"ab\""), 0);
	ck_assert_int_eq(etag_none_match("W/", "\"ab\""), 0);
	ck_assert_int_eq(etag_none_match(",,", "\"ab\""), 0);
	ck_assert_int_eq(etag_none_match("", "\"ab\""), 0);
}
END_TEST

/* ---- buf, buf_json_str -------------------------------------------- */

static void
json_str_is(const char *s, size_t len, const char *want)
{
	struct buf	 b = { 0 };

	buf_json_str(&b, s, len);
	ck_assert_msg(b.len == strlen(want) && memcmp(b.data, want, b.len)
	    == 0, "escaped to %s, want %s", b.data, want);
	buf_free(&b);
}

#define JS(s, want)	json_str_is((s), sizeof(s) - 1, (want))

START_TEST(json_str_escaping)
{
	JS("plain", "\"plain\"");
	JS("", "\"\"");
	JS("a\"b", "\"a\\\"b\"");
	JS("\"", "\"\\\"\"");
	JS("a\\b", "\"a\\\\b\"");
	JS("\\\"", "\"\\\\\\\"\"");
	JS("a/b", "\"a/b\"");
	JS("\xc3\xa9t\xc3\xa9 \xe2\x82\xac", "\"\xc3\xa9t\xc3\xa9 \xe2\x82\xac\"");
	JS("del\x7f", "\"del\x7f\"");
}
END_TEST

START_TEST(json_str_control_chars)
{
	char	 c[2], want[16];
	int	 i;

	JS("\x01", "\"\\u0001\"");
	JS("\x1f", "\"\\u001f\"");
	JS("\x0b", "\"\\u000b\"");
	JS("\x1b[0m", "\"\\u001b[0m\"");
	JS("a\0b", "\"a\\u0000b\"");
	JS("\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"");
	/* every control character comes out escaped, never raw */
	for (i = 0; i < 0x20; i++) {
		struct buf	 b = { 0 };
		size_t		 k;

		c[0] = (char)i;
		buf_json_str(&b, c, 1);
		ck_assert_int_eq(b.data[0], '"');
		ck_assert_int_eq(b.data[1], '\\');
		for (k = 0; k < b.len; k++)
			ck_assert_msg((unsigned char)b.data[k] >= 0x20,
			    "raw control 0x%02x in output", i);
		if (strchr("\n\r\t\b\f", i) == NULL || i == 0) {
			snprintf(want, sizeof(want), "\"\\u%04x\"", i);
			ck_assert_str_eq(b.data, want);
		}
		buf_free(&b);
	}
}
END_TEST

START_TEST(json_str_round_trips)
{
	static const char s[] = "q\"b\\s/\x01\x1f\n\t\xc3\xa9 end";
	struct buf	 b = { 0 };
	struct json_object *j;

	buf_json_str(&b, s, sizeof(s) - 1);
	j = json_tokener_parse(b.data);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_object_is_type(j, json_type_string));
	ck_assert_int_eq(json_object_get_string_len(j), sizeof(s) - 1);
	ck_assert_mem_eq(json_object_get_string(j), s, sizeof(s) - 1);
	json_object_put(j);
	buf_free(&b);
}
END_TEST

START_TEST(buf_basics)
{
	struct buf	 b = { 0 };
	char		*keep;

	buf_puts(&b, "a");
	buf_putc(&b, 'b');
	buf_add(&b, "cdef", 2);
	buf_printf(&b, "[%d:%s]", 42, "x");
	buf_int(&b, -9223372036854775807LL - 1);
	ck_assert_str_eq(b.data, "abcd[42:x]-9223372036854775808");
	ck_assert_uint_eq(b.len, strlen(b.data));
	keep = b.data;
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	ck_assert_ptr_eq(b.data, keep);
	ck_assert_int_eq(buf_reserve(&b, 100000), 0);
	ck_assert_uint_ge(b.cap, 100001);
	ck_assert_int_eq(b.oom, 0);
	buf_free(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

/* ---- utf8_valid --------------------------------------------------- */

#define OK8(s)	ck_assert_msg(utf8_valid((s), sizeof(s) - 1) == 1, \
		    "should be valid: %s", #s)
#define BAD8(s)	ck_assert_msg(utf8_valid((s), sizeof(s) - 1) == 0, \
		    "should be refused: %s", #s)

START_TEST(utf8_accepts)
{
	OK8("");
	OK8("plain ascii");
	OK8("\0");
	OK8("\x7f");
	OK8("\xc2\x80");		/* U+0080, first 2-byte */
	OK8("\xc3\xa9");		/* é */
	OK8("\xdf\xbf");		/* U+07FF */
	OK8("\xe0\xa0\x80");		/* U+0800, first 3-byte */
	OK8("\xe2\x82\xac");		/* € */
	OK8("\xed\x9f\xbf");		/* U+D7FF, before surrogates */
	OK8("\xee\x80\x80");		/* U+E000, after them */
	OK8("\xef\xbf\xbf");		/* U+FFFF */
	OK8("\xf0\x90\x80\x80");	/* U+10000, first 4-byte */
	OK8("\xf0\x9f\x98\x80");	/* 😀 */
	OK8("\xf4\x8f\xbf\xbf");	/* U+10FFFF, the last */
	OK8("a\xc3\xa9z\xe2\x82\xac\xf0\x9f\x98\x80!");
}
END_TEST

START_TEST(utf8_refuses_overlongs)
{
	BAD8("\xc0\x80");
	BAD8("\xc0\xaf");
	BAD8("\xc1\xbf");
	BAD8("\xe0\x80\x80");
	BAD8("\xe0\x80\xaf");
	BAD8("\xe0\x9f\xbf");
	BAD8("\xf0\x80\x80\x80");
	BAD8("\xf0\x80\x80\xaf");
	BAD8("\xf0\x8f\xbf\xbf");
}
END_TEST

START_TEST(utf8_refuses_surrogates)
{
	BAD8("\xed\xa0\x80");		/* U+D800 */
	BAD8("\xed\xad\xbf");		/* U+DB7F */
	BAD8("\xed\xb0\x80");		/* U+DC00 */
	BAD8("\xed\xbf\xbf");		/* U+DFFF */
	BAD8("\xed\xa0\xbd\xed\xb8\x80");	/* a CESU-8 pair */
}
END_TEST

START_TEST(utf8_refuses_past_10ffff)
{
	BAD8("\xf4\x90\x80\x80");	/* U+110000 */
	BAD8("\xf4\xbf\xbf\xbf");
	BAD8("\xf5\x80\x80\x80");
	BAD8("\xf7\xbf\xbf\xbf");
	BAD8("\xf8\x88\x80\x80\x80");
	BAD8("\xfc\x84\x80\x80\x80\x80");
	BAD8("\xfe");
	BAD8("\xff");
}
END_TEST

START_TEST(utf8_refuses_truncated)
{
	BAD8("\xc3");
	BAD8("\xe2\x82");
	BAD8("\xe2");
	BAD8("\xf0\x9f\x98");
	BAD8("\xf0\x9f");
	BAD8("abc\xc3");
	BAD8("abc\xf0\x9f\x98");
	/* cut by len, not by NUL */
	ck_assert_int_eq(utf8_valid("\xc3\xa9", 1), 0);
	ck_assert_int_eq(utf8_valid("\xf0\x9f\x98\x80", 3), 0);
	ck_assert_int_eq(utf8_valid("\xf0\x9f\x98\x80", 4), 1);
	/* a continuation byte missing in the middle */
	BAD8("\xc3(");
	BAD8("\xe2(\xa1");
	BAD8("\xe2\x82(");
	BAD8("\xf0(\x8c\xbc");
	BAD8("\xf0\x9f\x98(");
	BAD8("\xc3\xc3\xa9");
}
END_TEST

START_TEST(utf8_refuses_stray_continuations)
{
	BAD8("\x80");
	BAD8("\xbf");
	BAD8("a\x80z");
	BAD8("\xc3\xa9\xa9");
	BAD8("\xe2\x82\xac\x80");
}
END_TEST

Suite *
http_suite(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc;

	tc = tcase_create("query");
	tcase_add_test(tc, query_plain);
	tcase_add_test(tc, query_decoding);
	tcase_add_test(tc, query_absent);
	tcase_add_test(tc, query_empty_value);
	tcase_add_test(tc, query_malformed_percent);
	tcase_add_test(tc, query_too_long);
	tcase_add_test(tc, query_nul_refused);
	tcase_add_test(tc, query_first_of_several);
	tcase_add_test(tc, query_numbers_and_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_add_test(tc, error_404_body);
	tcase_add_test(tc, error_record_invalid_body);
	tcase_add_test(tc, error_detail_and_escaping);
	tcase_add_test(tc, every_error_is_json_with_its_code);
	tcase_add_test(tc, headers_and_methods);
	tcase_add_test(tc, etag_conditions);
	suite_add_tcase(s, tc);

	tc = tcase_create("buf");
	tcase_add_test(tc, json_str_escaping);
	tcase_add_test(tc, json_str_control_chars);
	tcase_add_test(tc, json_str_round_trips);
	tcase_add_test(tc, buf_basics);
	suite_add_tcase(s, tc);

	tc = tcase_create("utf8");
	tcase_add_test(tc, utf8_accepts);
	tcase_add_test(tc, utf8_refuses_overlongs);
	tcase_add_test(tc, utf8_refuses_surrogates);
	tcase_add_test(tc, utf8_refuses_past_10ffff);
	tcase_add_test(tc, utf8_refuses_truncated);
	tcase_add_test(tc, utf8_refuses_stray_continuations);
	suite_add_tcase(s, tc);
	return s;
}
