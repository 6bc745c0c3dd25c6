/*
 * src/router.h: docs/API.md "Routes". :id is a positive decimal integer,
 * :pipeline_uuid 1-255 characters of [A-Za-z0-9_.-]; a malformed :id on
 * a known shape is 400 invalid_query (bad_id), anything else unknown is
 * 404 (ROUTE_NONE).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "suites.h"

static void
routes_to(const char *path, enum route want, int64_t id,
    const char *pipeline)
{
	struct route_match m;
	enum route	 r;

	r = route_match(path, &m);
	ck_assert_msg(r == want, "%s: route %d, want %d", path, r, want);
	ck_assert_msg(m.route == want, "%s: m.route %d, want %d", path,
	    m.route, want);
	ck_assert_msg(m.bad_id == 0, "%s: bad_id set", path);
	ck_assert_msg(m.id == id, "%s: id %lld, want %lld", path,
	    (long long)m.id, (long long)id);
	ck_assert_msg(strcmp(m.pipeline, pipeline) == 0,
	    "%s: pipeline \"%s\", want \"%s\"", path, m.pipeline, pipeline);
}

/* Unknown: ROUTE_NONE, not a bad id (404). */
static void
no_route(const char *path)
{
	struct route_match m;

	ck_assert_msg(route_match(path, &m) == ROUTE_NONE,
	    "%s should match no route", path);
	ck_assert_msg(m.bad_id == 0, "%s: bad_id set on an unknown path",
	    path);
}

/* A known shape whose :id is malformed (400 invalid_query). */
static void
bad_id(const char *path)
{
	struct route_match m;

	ck_assert_msg(route_match(path, &m) == ROUTE_NONE,
	    "%s should match no route", path);
	ck_assert_msg(m.bad_id == 1, "%s: bad_id not set", path);
}

START_TEST(each_route)
{
	routes_to("/api/status", ROUTE_STATUS, 0, "");
	routes_to("/api/backfills", ROUTE_BACKFILLS, 0, "");
	routes_to("/api/backfills/6", ROUTE_BACKFILL, 6, "");
	routes_to("/api/pipelines/arwen_starlight/backfills",
	    ROUTE_PIPELINE_BACKFILLS, 0, "arwen_starlight");
	routes_to("/api/pipelines/arwen_starlight/backfills/6",
	    ROUTE_PIPELINE_BACKFILL, 6, "arwen_starlight");
	routes_to("/api/pipeline_runs", ROUTE_PIPELINE_RUNS, 0, "");
	routes_to("/api/pipeline_runs/17", ROUTE_PIPELINE_RUN, 17, "");
	/* the executor's claim, a literal where a run's :id stands */
	routes_to("/api/pipeline_runs/claim", ROUTE_PIPELINE_RUN_CLAIM, 0, "");
	routes_to("/api/pipeline_runs/claim/", ROUTE_PIPELINE_RUN_CLAIM, 0,
	    "");
	/* Mage's frame */
	routes_to("/api/statuses", ROUTE_STATUSES, 0, "");
	routes_to("/api/projects", ROUTE_PROJECTS, 0, "");
	routes_to("/api/pipelines/arwen_starlight", ROUTE_PIPELINE, 0,
	    "arwen_starlight");
	routes_to("/api/pipelines/arwen_starlight/variables",
	    ROUTE_PIPELINE_VARIABLES, 0, "arwen_starlight");
	routes_to("/api/git_branches/test", ROUTE_GIT_BRANCH, 0, "test");
	/* the API's description */
	routes_to("/api/openapi.json", ROUTE_OPENAPI, 0, "");
}
END_TEST

START_TEST(trailing_slash)
{
	routes_to("/api/status/", ROUTE_STATUS, 0, "");
	routes_to("/api/backfills/", ROUTE_BACKFILLS, 0, "");
	routes_to("/api/backfills/6/", ROUTE_BACKFILL, 6, "");
	routes_to("/api/pipelines/p/backfills/", ROUTE_PIPELINE_BACKFILLS, 0,
	    "p");
	routes_to("/api/pipelines/p/backfills/6/", ROUTE_PIPELINE_BACKFILL, 6,
	    "p");
	routes_to("/api/pipeline_runs/", ROUTE_PIPELINE_RUNS, 0, "");
	routes_to("/api/pipeline_runs/3/", ROUTE_PIPELINE_RUN, 3, "");
	/* one only ("/api/backfills//" has an empty :id: 400 or 404, but
	 * never the list) */
	{
		struct route_match m;

		ck_assert_int_eq(route_match("/api/backfills//", &m),
		    ROUTE_NONE);
	}
	no_route("/api/status//");
	no_route("/api/pipelines/p/backfills/6//");
}
END_TEST

START_TEST(bad_ids)
{
	bad_id("/api/backfills/abc");
	bad_id("/api/backfills/0");
	bad_id("/api/backfills/-1");
	bad_id("/api/backfills/+6");
	bad_id("/api/backfills/6a");
	bad_id("/api/backfills/6.0");
	bad_id("/api/backfills/%36");
	bad_id("/api/backfills/ 6");
	bad_id("/api/backfills/9007199254740993");
	bad_id("/api/backfills/99999999999999999999");
	bad_id("/api/backfills/abc/");
	bad_id("/api/pipelines/p/backfills/x");
	bad_id("/api/pipelines/p/backfills/0/");
	bad_id("/api/pipeline_runs/nope");
}
END_TEST

START_TEST(invalid_uuid_is_not_found)
{
	char	 path[600];
	char	 u[300];

	no_route("/api/pipelines/bad uuid/backfills");
	no_route("/api/pipelines/bad!/backfills");
	no_route("/api/pipelines/a%2Fb/backfills");
	no_route("/api/pipelines/\xc3\xa9t\xc3\xa9/backfills");
	no_route("/api/pipelines//backfills");
	no_route("/api/pipelines/bad!/backfills/6");
	/* even with a bad id: the uuid decides first */
	no_route("/api/pipelines/bad!/backfills/abc");
	/* 256 characters */
	memset(u, 'a', 256);
	u[256] = '\0';
	snprintf(path, sizeof(path), "/api/pipelines/%s/backfills", u);
	no_route(path);
	/* 255 are fine */
	u[255] = '\0';
	snprintf(path, sizeof(path), "/api/pipelines/%s/backfills/1", u);
	routes_to(path, ROUTE_PIPELINE_BACKFILL, 1, u);
	routes_to("/api/pipelines/A-z_0.9/backfills", ROUTE_PIPELINE_BACKFILLS,
	    0, "A-z_0.9");
}
END_TEST

START_TEST(extra_segments)
{
	no_route("/api/status/x");
	no_route("/api/backfills/6/extra");
	no_route("/api/backfills/6/7");
	no_route("/api/backfills/abc/extra");
	no_route("/api/pipelines/p/backfills/6/runs");
	no_route("/api/pipelines/p/backfills/6/a/b/c/d/e/f/g");
	no_route("/api/pipeline_runs/1/2");
	no_route("/api/pipelines/p/x");
	no_route("/api/pipelines");
	no_route("/api/pipelines/p/runs");
}
END_TEST

START_TEST(unknown_paths)
{
	no_route("");
	no_route("/");
	no_route("/api");
	no_route("/api/");
	no_route("api/backfills");
	no_route("/API/backfills");
	no_route("/api/Backfills");
	no_route("/api/backfill");
	no_route("/api/backfillsx");
	no_route("//api/backfills");
	no_route("/x/api/backfills");
	no_route("/api/status?x=1");
	no_route(NULL);
}
END_TEST

START_TEST(allow_strings)
{
	char	 a[64];

	route_allow(ROUTE_STATUS, a, sizeof(a));
	ck_assert_str_eq(a, "GET, OPTIONS");
	route_allow(ROUTE_BACKFILLS, a, sizeof(a));
	ck_assert_str_eq(a, "GET, OPTIONS");
	route_allow(ROUTE_BACKFILL, a, sizeof(a));
	ck_assert_str_eq(a, "GET, PUT, DELETE, OPTIONS");
	route_allow(ROUTE_PIPELINE_BACKFILLS, a, sizeof(a));
	ck_assert_str_eq(a, "GET, POST, OPTIONS");
	route_allow(ROUTE_PIPELINE_BACKFILL, a, sizeof(a));
	ck_assert_str_eq(a, "GET, PUT, DELETE, OPTIONS");
	route_allow(ROUTE_PIPELINE_RUNS, a, sizeof(a));
	ck_assert_str_eq(a, "GET, OPTIONS");
	route_allow(ROUTE_PIPELINE_RUN, a, sizeof(a));
	ck_assert_str_eq(a, "GET, PUT, OPTIONS");
}
END_TEST

START_TEST(allow_short_buffer_stays_inside)
{
	char	 a[64];
	size_t	 i;

	/* A buffer too short for the list: truncated, never overrun. */
	memset(a, 'X', sizeof(a));
	route_allow(ROUTE_BACKFILL, a, 8);
	ck_assert_uint_lt(strnlen(a, 8), 8);
	for (i = 8; i < sizeof(a); i++)
		ck_assert_msg(a[i] == 'X', "route_allow wrote a[%zu] past "
		    "outlen 8", i);
}
END_TEST

START_TEST(methods)
{
	unsigned	 m;

	m = route_methods(ROUTE_BACKFILL);
	ck_assert(m & M_BIT(M_GET));
	ck_assert(m & M_BIT(M_HEAD));
	ck_assert(m & M_BIT(M_PUT));
	ck_assert(m & M_BIT(M_DELETE));
	ck_assert(m & M_BIT(M_OPTIONS));
	ck_assert(!(m & M_BIT(M_POST)));
	m = route_methods(ROUTE_PIPELINE_BACKFILLS);
	ck_assert(m & M_BIT(M_POST));
	ck_assert(!(m & M_BIT(M_PUT)));
	ck_assert(!(m & M_BIT(M_DELETE)));
	ck_assert_uint_eq(route_methods(ROUTE_NONE), M_BIT(M_OPTIONS));
}
END_TEST

START_TEST(parse_id_bounds)
{
	int64_t	 id = -5;

	ck_assert_int_eq(parse_id("1", 1, &id), 0);
	ck_assert_int_eq(id, 1);
	ck_assert_int_eq(parse_id("6", 1, &id), 0);
	ck_assert_int_eq(id, 6);
	ck_assert_int_eq(parse_id("9007199254740992", 16, &id), 0);
	ck_assert_int_eq(id, 9007199254740992LL);
	ck_assert_int_eq(parse_id("9007199254740991", 16, &id), 0);
	ck_assert_int_eq(id, 9007199254740991LL);
	ck_assert_int_eq(parse_id("1234abc", 4, &id), 0);
	ck_assert_int_eq(id, 1234);

	id = -5;
	ck_assert_int_eq(parse_id("0", 1, &id), -1);
	ck_assert_int_eq(parse_id("", 0, &id), -1);
	ck_assert_int_eq(parse_id("9007199254740993", 16, &id), -1);
	ck_assert_int_eq(parse_id("9999999999999999", 16, &id), -1);
	ck_assert_int_eq(parse_id("99999999999999999", 17, &id), -1);
	ck_assert_int_eq(parse_id("18446744073709551617", 20, &id), -1);
	ck_assert_int_eq(parse_id("-1", 2, &id), -1);
	ck_assert_int_eq(parse_id("+1", 2, &id), -1);
	ck_assert_int_eq(parse_id(" 1", 2, &id), -1);
	ck_assert_int_eq(parse_id("1 ", 2, &id), -1);
	ck_assert_int_eq(parse_id("0x10", 4, &id), -1);
	ck_assert_int_eq(parse_id("1e3", 3, &id), -1);
	ck_assert_int_eq(id, -5);
}
END_TEST

START_TEST(uuid_validity)
{
	char	 u[300];

	ck_assert_int_eq(valid_uuid("arwen_starlight", 15), 1);
	ck_assert_int_eq(valid_uuid("a", 1), 1);
	ck_assert_int_eq(valid_uuid("A.b-C_9", 7), 1);
	ck_assert_int_eq(valid_uuid("...", 3), 1);
	memset(u, 'z', sizeof(u));
	ck_assert_int_eq(valid_uuid(u, 255), 1);
	ck_assert_int_eq(valid_uuid(u, 256), 0);
	ck_assert_int_eq(valid_uuid("", 0), 0);
	ck_assert_int_eq(valid_uuid("a b", 3), 0);
	ck_assert_int_eq(valid_uuid("a/b", 3), 0);
	ck_assert_int_eq(valid_uuid("a%20", 4), 0);
	ck_assert_int_eq(valid_uuid("a+b", 3), 0);
	ck_assert_int_eq(valid_uuid("\xc3\xa9", 2), 0);
	ck_assert_int_eq(valid_uuid("a\0b", 3), 0);
	ck_assert_int_eq(valid_uuid("ok!", 2), 1);	/* only len counts */
}
END_TEST

Suite *
router_suite(void)
{
	Suite	*s = suite_create("router");
	TCase	*tc;

	tc = tcase_create("match");
	tcase_add_test(tc, each_route);
	tcase_add_test(tc, trailing_slash);
	tcase_add_test(tc, bad_ids);
	tcase_add_test(tc, invalid_uuid_is_not_found);
	tcase_add_test(tc, extra_segments);
	tcase_add_test(tc, unknown_paths);
	suite_add_tcase(s, tc);

	tc = tcase_create("allow");
	tcase_add_test(tc, allow_strings);
	tcase_add_test(tc, allow_short_buffer_stays_inside);
	tcase_add_test(tc, methods);
	suite_add_tcase(s, tc);

	tc = tcase_create("parts");
	tcase_add_test(tc, parse_id_bounds);
	tcase_add_test(tc, uuid_validity);
	suite_add_tcase(s, tc);
	return s;
}
