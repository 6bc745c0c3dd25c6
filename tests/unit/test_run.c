/*
 * src/run.h: a pipeline run as pure functions. Its status moves (initial
 * -> running -> completed or failed; to cancelled from initial or
 * running), decoding a report (status, metrics, lease), how a backfill
 * follows its runs' kept counts, retry policies and their delays, and
 * how a run is presented (the documented fields, then Mage's, then the
 * executor's; never the lease's id).
 */
#include <check.h>
#include <json-c/json.h>
#include <string.h>

#include "run.h"
#include "suites.h"

START_TEST(moves)
{
	/* from \ to: initial running completed failed cancelled */
	static const int allowed[ST__MAX][ST__MAX] = {
		[ST_INITIAL] = { [ST_RUNNING] = 1, [ST_CANCELLED] = 1 },
		[ST_RUNNING] = { [ST_COMPLETED] = 1, [ST_FAILED] = 1,
		    [ST_CANCELLED] = 1 },
	};
	int	 from, to;

	for (from = ST_INITIAL; from < ST__MAX; from++)
		for (to = 0; to < ST__MAX; to++)
			ck_assert_msg(run_move_allowed((enum bf_status)from,
			    (enum bf_status)to) == allowed[from][to],
			    "%d -> %d", from, to);
}
END_TEST

START_TEST(apply_sets_timestamps)
{
	struct run	 r;
	int		 changed;

	memset(&r, 0, sizeof(r));
	r.status = ST_INITIAL;
	ck_assert_int_eq(run_apply(&r, ST_RUNNING, 100, &changed), ERR_OK);
	ck_assert_int_eq(changed, 1);
	ck_assert_int_eq(r.started_at, 100);
	ck_assert_int_eq(r.updated_at, 100);
	ck_assert_int_eq(run_apply(&r, ST_RUNNING, 150, &changed), ERR_OK);
	ck_assert_int_eq(changed, 0);		/* the same status: no-op */
	ck_assert_int_eq(r.updated_at, 100);
	ck_assert_int_eq(run_apply(&r, ST_COMPLETED, 200, &changed), ERR_OK);
	ck_assert_int_eq(r.completed_at, 200);
	ck_assert_int_eq(r.started_at, 100);
	ck_assert_int_eq(run_apply(&r, ST_FAILED, 300, &changed),
	    ERR_TRANSITION);
	ck_assert_int_eq(r.status, ST_COMPLETED);
	/* a failed run ended too, as Mage's runs table shows it */
	r.status = ST_RUNNING;
	r.completed_at = 0;
	ck_assert_int_eq(run_apply(&r, ST_FAILED, 400, &changed), ERR_OK);
	ck_assert_int_eq(r.completed_at, 400);
}
END_TEST

/* The parsed body of the last decode(): fe and rep point into it. */
static struct json_object *parsed;

/* Decodes body; returns the error and fills rep, metrics and fe. */
static enum err
decode(const char *body, struct run_report *rep, struct buf *metrics,
    struct field_errors *fe)
{
	const char	*detail = NULL;

	json_object_put(parsed);
	parsed = json_tokener_parse(body);
	memset(fe, 0, sizeof(*fe));
	return run_report_decode(parsed, rep, metrics, fe, &detail);
}

START_TEST(report_decoding)
{
	struct run_report	 rep;
	struct field_errors	 fe;
	struct buf		 m = { 0 };

	ck_assert_int_eq(decode("{\"pipeline_run\": {\"status\": "
	    "\"failed\", \"metrics\": {\"exit_code\": 3}}}", &rep, &m, &fe),
	    ERR_OK);
	ck_assert_int_eq(rep.to, ST_FAILED);
	ck_assert_int_eq(rep.has_metrics, 1);
	ck_assert_str_eq(rep.metrics, "{\"exit_code\":3}");
	ck_assert_ptr_null(rep.lease_id);
	/* a renewal: the lease alone */
	ck_assert_int_eq(decode("{\"pipeline_run\": {\"lease_id\": \"L1\"}}",
	    &rep, &m, &fe), ERR_OK);
	ck_assert_int_eq(rep.to, ST_NULL);
	ck_assert_str_eq(rep.lease_id, "L1");
	ck_assert_int_eq(rep.has_metrics, 0);
	/* metrics null clears; read-only fields sent back are ignored */
	ck_assert_int_eq(decode("{\"pipeline_run\": {\"status\": \"running\", "
	    "\"metrics\": null, \"id\": 4, \"block_runs_count\": 0, "
	    "\"executor\": \"x\", \"attempt\": 2}, \"api_key\": \"k\"}", &rep,
	    &m, &fe), ERR_OK);
	ck_assert_int_eq(rep.has_metrics, 1);
	ck_assert_ptr_null(rep.metrics);
	buf_free(&m);
}
END_TEST

START_TEST(report_refusals)
{
	static const struct {
		const char	*body;
		enum err	 e;
		const char	*field;
	} cases[] = {
		{ "{\"pipeline_run\": {}}", ERR_RECORD_INVALID, "status" },
		{ "{\"pipeline_run\": {\"status\": \"done\"}}",
		    ERR_RECORD_INVALID, "status" },
		{ "{\"pipeline_run\": {\"status\": 1}}", ERR_RECORD_INVALID,
		    "status" },
		{ "{\"pipeline_run\": {\"status\": \"failed\", \"metrics\": "
		    "[1]}}", ERR_RECORD_INVALID, "metrics" },
		{ "{\"pipeline_run\": {\"lease_id\": \"\"}}",
		    ERR_RECORD_INVALID, "lease_id" },
		{ "{\"pipeline_run\": {\"lease_id\": 7}}", ERR_RECORD_INVALID,
		    "lease_id" },
		{ "{\"pipeline_run\": {\"status\": \"failed\", \"extra\": 1}}",
		    ERR_RECORD_INVALID, "extra" },
		{ "{\"pipeline_run\": 5}", ERR_INVALID_JSON, NULL },
		{ "{\"backfill\": {}}", ERR_INVALID_JSON, NULL },
		{ "[]", ERR_INVALID_JSON, NULL },
	};
	struct run_report	 rep;
	struct field_errors	 fe;
	struct buf		 m = { 0 };
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(decode(cases[i].body, &rep, &m, &fe) ==
		    cases[i].e, "%s", cases[i].body);
		if (cases[i].field != NULL)
			ck_assert_msg(fe.n >= 1 &&
			    strcmp(fe.e[0].field, cases[i].field) == 0,
			    "%s: field %s", cases[i].body,
			    fe.n ? fe.e[0].field : "none");
	}
	buf_free(&m);
}
END_TEST

/* The kept counts of latest attempts: initial, running, completed,
 * failed, cancelled. */
static struct run_counts
counts(int64_t i, int64_t r, int64_t c, int64_t f, int64_t x)
{
	struct run_counts k;

	memset(&k, 0, sizeof(k));
	k.n[ST_INITIAL] = i;
	k.n[ST_RUNNING] = r;
	k.n[ST_COMPLETED] = c;
	k.n[ST_FAILED] = f;
	k.n[ST_CANCELLED] = x;
	return k;
}

START_TEST(backfill_follows)
{
	struct run_counts k;

	/* the first running run moves an initial backfill */
	k = counts(2, 1, 0, 0, 0);
	ck_assert_int_eq(run_backfill_follow(ST_INITIAL, ST_RUNNING, &k),
	    ST_RUNNING);
	ck_assert_int_eq(run_backfill_follow(ST_RUNNING, ST_RUNNING, &k),
	    ST_RUNNING);
	/* every latest attempt completed */
	k = counts(0, 0, 3, 0, 0);
	ck_assert_int_eq(run_backfill_follow(ST_RUNNING, ST_COMPLETED, &k),
	    ST_COMPLETED);
	ck_assert_int_eq(run_backfill_follow(ST_INITIAL, ST_NULL, &k),
	    ST_COMPLETED);
	/* nothing pending, some date not completed: failed */
	k = counts(0, 0, 2, 1, 0);
	ck_assert_int_eq(run_backfill_follow(ST_RUNNING, ST_FAILED, &k),
	    ST_FAILED);
	k = counts(0, 0, 2, 0, 1);	/* a run cancelled on its own */
	ck_assert_int_eq(run_backfill_follow(ST_RUNNING, ST_CANCELLED, &k),
	    ST_FAILED);
	k = counts(0, 0, 0, 0, 2);
	ck_assert_int_eq(run_backfill_follow(ST_INITIAL, ST_CANCELLED, &k),
	    ST_FAILED);
	/* something pending: it stays */
	k = counts(1, 0, 1, 1, 0);
	ck_assert_int_eq(run_backfill_follow(ST_RUNNING, ST_FAILED, &k),
	    ST_RUNNING);
	k = counts(0, 1, 0, 0, 1);
	ck_assert_int_eq(run_backfill_follow(ST_RUNNING, ST_CANCELLED, &k),
	    ST_RUNNING);
	/* no runs: nothing to follow */
	k = counts(0, 0, 0, 0, 0);
	ck_assert_int_eq(run_backfill_follow(ST_INITIAL, ST_NULL, &k),
	    ST_INITIAL);
	/* only a started backfill follows: cancelled stays cancelled */
	k = counts(0, 0, 3, 0, 0);
	ck_assert_int_eq(run_backfill_follow(ST_CANCELLED, ST_COMPLETED, &k),
	    ST_CANCELLED);
	ck_assert_int_eq(run_backfill_follow(ST_FAILED, ST_COMPLETED, &k),
	    ST_FAILED);
	ck_assert_int_eq(run_backfill_follow(ST_NULL, ST_COMPLETED, &k),
	    ST_NULL);
}
END_TEST

START_TEST(retry_policies)
{
	struct retry_policy p = { 0, 5, 60, 1 };

	ck_assert_int_eq(run_retry_policy("{\"retries\": 3, \"delay\": 2, "
	    "\"max_delay\": 10, \"exponential_backoff\": false}", &p), 1);
	ck_assert_int_eq(p.retries, 3);
	ck_assert_int_eq(p.delay, 2);
	ck_assert_int_eq(p.max_delay, 10);
	ck_assert_int_eq(p.exponential, 0);
	/* keys absent or of another type leave what was there */
	ck_assert_int_eq(run_retry_policy("{\"retries\": \"9\", \"delay\": "
	    "-1, \"max_delay\": 1000000}", &p), 1);
	ck_assert_int_eq(p.retries, 3);
	ck_assert_int_eq(p.delay, 2);
	ck_assert_int_eq(p.max_delay, 10);
	ck_assert_int_eq(run_retry_policy("[1]", &p), 0);
	ck_assert_int_eq(run_retry_policy("nope", &p), 0);
	ck_assert_int_eq(run_retry_policy(NULL, &p), 0);
	ck_assert_int_eq(p.retries, 3);
}
END_TEST

START_TEST(retry_delays)
{
	struct retry_policy exp = { 5, 5, 60, 1 }, flat = { 5, 5, 60, 0 },
	    capped = { 5, 100, 30, 1 };

	/* Mage's retry_config: the delay doubles, up to max_delay */
	ck_assert_int_eq(run_retry_delay(&exp, 1), 5);
	ck_assert_int_eq(run_retry_delay(&exp, 2), 10);
	ck_assert_int_eq(run_retry_delay(&exp, 3), 20);
	ck_assert_int_eq(run_retry_delay(&exp, 4), 40);
	ck_assert_int_eq(run_retry_delay(&exp, 5), 60);
	ck_assert_int_eq(run_retry_delay(&exp, 60), 60);
	ck_assert_int_eq(run_retry_delay(&flat, 1), 5);
	ck_assert_int_eq(run_retry_delay(&flat, 4), 5);
	ck_assert_int_eq(run_retry_delay(&capped, 1), 30);
}
END_TEST

START_TEST(presented)
{
	struct json_object	*o, *v;
	struct run		 r;
	struct buf		 out = { 0 };
	static const char *const spec[] = { "id", "backfill_id",
	    "pipeline_uuid", "execution_date", "status", "variables",
	    "started_at", "completed_at", "created_at", "updated_at" };
	size_t			 i = 0;

	memset(&r, 0, sizeof(r));
	r.id = 7;
	r.backfill_id = 3;
	strcpy(r.pipeline_uuid, "p");
	r.execution_date = 1688169600000000LL;	/* 2023-07-01 */
	r.status = ST_RUNNING;
	r.variables = "{\"a\":1}";
	r.started_at = 1688169601500000LL;
	r.created_at = r.updated_at = 1688169600000000LL;
	r.metrics = "{\"host\":\"h\"}";
	r.attempt = 2;
	strcpy(r.lease_id, "SECRET-LEASE");
	r.lease_owner = "exec-1";
	r.lease_expires_at = 1688169660000000LL;
	run_present(&out, &r);
	ck_assert_ptr_null(strstr(out.data, "SECRET-LEASE"));
	o = json_tokener_parse(out.data);
	ck_assert_ptr_nonnull(o);
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (i < sizeof(spec) / sizeof(spec[0]))
			ck_assert_str_eq(key, spec[i]);
		i++;
	}
	ck_assert(json_object_object_get_ex(o, "execution_date", &v));
	ck_assert_str_eq(json_object_get_string(v), "2023-07-01 00:00:00");
	ck_assert(json_object_object_get_ex(o, "started_at", &v));
	ck_assert_str_eq(json_object_get_string(v),
	    "2023-07-01 00:00:01.500000");
	ck_assert(json_object_object_get_ex(o, "completed_at", &v));
	ck_assert(v == NULL);
	ck_assert(json_object_object_get_ex(o, "block_runs_count", &v));
	ck_assert_int_eq(json_object_get_int(v), 0);
	ck_assert(json_object_object_get_ex(o, "block_runs", &v));
	ck_assert_int_eq(json_object_array_length(v), 0);
	ck_assert(json_object_object_get_ex(o, "passed_sla", &v));
	ck_assert(!json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(o, "metrics", &v));
	ck_assert(json_object_is_type(v, json_type_object));
	ck_assert(json_object_object_get_ex(o, "attempt", &v));
	ck_assert_int_eq(json_object_get_int(v), 2);
	ck_assert(json_object_object_get_ex(o, "executor", &v));
	ck_assert_str_eq(json_object_get_string(v), "exec-1");
	ck_assert(!json_object_object_get_ex(o, "lease_id", &v));
	json_object_put(o);
	buf_free(&out);
}
END_TEST

START_TEST(counts_only_those_that_occur)
{
	struct run_counts k = counts(0, 2, 0, 1, 0);
	struct buf	 out = { 0 };

	run_counts_present(&out, &k);
	ck_assert_str_eq(out.data, "{\"running\": 2, \"failed\": 1}");
	buf_reset(&out);
	k = counts(0, 0, 0, 0, 0);
	run_counts_present(&out, &k);
	ck_assert_str_eq(out.data, "{}");
	buf_free(&out);
}
END_TEST

Suite *
run_suite(void)
{
	Suite	*s = suite_create("run");
	TCase	*tc = tcase_create("run");

	tcase_add_test(tc, moves);
	tcase_add_test(tc, apply_sets_timestamps);
	tcase_add_test(tc, report_decoding);
	tcase_add_test(tc, report_refusals);
	tcase_add_test(tc, backfill_follows);
	tcase_add_test(tc, retry_policies);
	tcase_add_test(tc, retry_delays);
	tcase_add_test(tc, presented);
	tcase_add_test(tc, counts_only_those_that_occur);
	suite_add_tcase(s, tc);
	return s;
}
