#include <json-c/json.h>
#include <string.h>

#include "datetime.h"
#include "jsonin.h"
#include "run.h"

#define S(x)	(1u << (x))
/* allowed[to]: the statuses a run may move to `to` from. */
static const unsigned run_from[ST__MAX] = {
	[ST_RUNNING] = S(ST_INITIAL),
	[ST_COMPLETED] = S(ST_RUNNING),
	[ST_FAILED] = S(ST_RUNNING),
	[ST_CANCELLED] = S(ST_INITIAL) | S(ST_RUNNING),
};
#undef S

/* What a GET shows that a PUT may send back, ignored. */
static const char *const run_readonly[] = {
	"id", "backfill_id", "pipeline_uuid", "execution_date", "variables",
	"started_at", "completed_at", "created_at", "updated_at",
	"block_runs", "block_runs_count", "completed_block_runs_count",
	"event_variables", "executor_type", "passed_sla",
	"pipeline_schedule_id", "pipeline_schedule_name",
	"pipeline_schedule_token", "pipeline_schedule_type", "pipeline_tags",
	"pipeline_type", "repo_path", "attempt", "not_before", "executor",
	"lease_expires_at"
};

int
run_move_allowed(enum bf_status from, enum bf_status to)
{
	return (unsigned)to < ST__MAX && (run_from[to] & (1u << from)) != 0;
}

enum err
run_report_decode(struct json_object *root, struct run_report *rep,
    struct buf *metrics, struct field_errors *fe, const char **detail)
{
	struct json_object	*body = NULL;
	size_t			 i;
	int			 s, have = 0;

	memset(rep, 0, sizeof(*rep));
	buf_reset(metrics);
	if (jsonin_envelope(root, "pipeline_run", &body, detail) != ERR_OK)
		return ERR_INVALID_JSON;
	json_object_object_foreach(body, key, val) {
		if (strcmp(key, "status") == 0) {
			if (!json_object_is_type(val, json_type_string) ||
			    (s = bf_status_from(json_object_get_string(val),
			    (size_t)json_object_get_string_len(val))) < 0)
				field_error(fe, "status", "must be one of "
				    "initial, running, completed, failed, "
				    "cancelled");
			else {
				rep->to = (enum bf_status)s;
				have = 1;
			}
			continue;
		}
		if (strcmp(key, "metrics") == 0) {
			if (val != NULL &&
			    !json_object_is_type(val, json_type_object))
				field_error(fe, "metrics",
				    "must be an object or null");
			else {
				rep->has_metrics = 1;
				if (val != NULL) {
					buf_puts(metrics,
					    json_object_to_json_string_ext(val,
					    JSON_C_TO_STRING_PLAIN |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
					rep->metrics = metrics->data;
				}
			}
			continue;
		}
		if (strcmp(key, "lease_id") == 0) {
			if (!json_object_is_type(val, json_type_string) ||
			    json_object_get_string_len(val) < 1 ||
			    json_object_get_string_len(val) > 47)
				field_error(fe, "lease_id", "must be the "
				    "lease id its claim answered");
			else
				rep->lease_id = json_object_get_string(val);
			continue;
		}
		for (i = 0; i < sizeof(run_readonly) / sizeof(run_readonly[0]);
		    i++)
			if (strcmp(key, run_readonly[i]) == 0)
				break;
		if (i == sizeof(run_readonly) / sizeof(run_readonly[0]))
			field_error(fe, key, "is not a field of pipeline_run");
	}
	if (fe->n == 0 && !have && rep->lease_id == NULL)
		field_error(fe, "status", "is required");
	return fe->n > 0 ? ERR_RECORD_INVALID : ERR_OK;
}

int
run_retry_policy(const char *text, struct retry_policy *p)
{
	struct json_object	*o, *v;
	int64_t			 n;

	if (text == NULL || (o = json_tokener_parse(text)) == NULL)
		return 0;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return 0;
	}
#define INT_KEY(k, field, hi)						\
	if (json_object_object_get_ex(o, k, &v) &&			\
	    json_object_is_type(v, json_type_int) &&			\
	    (n = json_object_get_int64(v)) >= 0 && n <= (hi))		\
		p->field = n
	INT_KEY("retries", retries, 100);
	INT_KEY("delay", delay, 86400);
	INT_KEY("max_delay", max_delay, 86400);
#undef INT_KEY
	if (json_object_object_get_ex(o, "exponential_backoff", &v) &&
	    json_object_is_type(v, json_type_boolean))
		p->exponential = json_object_get_boolean(v);
	json_object_put(o);
	return 1;
}

int64_t
run_retry_delay(const struct retry_policy *p, int64_t attempt)
{
	int64_t	 d = p->delay, i;

	for (i = 1; p->exponential && i < attempt && d < p->max_delay; i++)
		d *= 2;
	return d > p->max_delay ? p->max_delay : d;
}

enum err
run_apply(struct run *r, enum bf_status to, int64_t now, int *changed)
{
	*changed = 0;
	if (to == r->status)
		return ERR_OK;
	if (!run_move_allowed(r->status, to))
		return ERR_TRANSITION;
	if (to == ST_RUNNING)
		r->started_at = now;
	else if (to == ST_COMPLETED || to == ST_FAILED)
		r->completed_at = now;	/* when it ended, as Mage's runs */
	r->status = to;
	r->updated_at = now;
	*changed = 1;
	return ERR_OK;
}

enum bf_status
run_backfill_follow(enum bf_status backfill, enum bf_status run_to,
    const struct run_counts *c)
{
	int64_t	 all = 0;
	int	 s;

	if (backfill != ST_INITIAL && backfill != ST_RUNNING)
		return backfill;
	for (s = 0; s < ST__MAX; s++)
		all += c->n[s];
	if (all > 0 && c->n[ST_COMPLETED] == all)
		return ST_COMPLETED;
	if (c->n[ST_INITIAL] == 0 && c->n[ST_RUNNING] == 0 &&
	    c->n[ST_FAILED] + c->n[ST_CANCELLED] > 0)
		return ST_FAILED;
	if (run_to == ST_RUNNING && backfill == ST_INITIAL)
		return ST_RUNNING;
	return backfill;
}

static void
put_time(struct buf *out, const char *name, int64_t us, int null)
{
	char	 t[DT_FMT_MAX];
	size_t	 n;

	buf_printf(out, ", \"%s\": ", name);
	if (null) {
		buf_puts(out, "null");
		return;
	}
	n = dt_format(us, ' ', t);
	buf_json_str(out, t, n);
}

/* Appends , "name": <text or null>. */
static void
put_text(struct buf *out, const char *name, const char *v)
{
	buf_printf(out, ", \"%s\": ", name);
	if (v == NULL)
		buf_puts(out, "null");
	else
		buf_json_str(out, v, strlen(v));
}

void
run_present(struct buf *out, const struct run *r)
{
	const char	*st = bf_status_name(r->status);

	buf_puts(out, "{\"id\": ");
	buf_int(out, r->id);
	buf_puts(out, ", \"backfill_id\": ");
	buf_int(out, r->backfill_id);
	buf_puts(out, ", \"pipeline_uuid\": ");
	buf_json_str(out, r->pipeline_uuid, strlen(r->pipeline_uuid));
	put_time(out, "execution_date", r->execution_date, 0);
	put_text(out, "status", st ? st : "initial");
	buf_puts(out, ", \"variables\": ");
	buf_puts(out, r->variables ? r->variables : "null");
	put_time(out, "started_at", r->started_at, r->started_at == 0);
	put_time(out, "completed_at", r->completed_at, r->completed_at == 0);
	put_time(out, "created_at", r->created_at, 0);
	put_time(out, "updated_at", r->updated_at, 0);
	/* What Mage's runs table reads. */
	buf_puts(out, ", \"metrics\": ");
	buf_puts(out, r->metrics ? r->metrics : "null");
	buf_puts(out, ", \"block_runs\": [], \"block_runs_count\": 0, "
	    "\"completed_block_runs_count\": 0, \"event_variables\": null, "
	    "\"executor_type\": null, \"passed_sla\": false, "
	    "\"pipeline_schedule_id\": null, \"pipeline_schedule_name\": null, "
	    "\"pipeline_schedule_token\": null, "
	    "\"pipeline_schedule_type\": null, \"pipeline_tags\": null, "
	    "\"pipeline_type\": null, \"repo_path\": null");
	/* The executor's. */
	buf_puts(out, ", \"attempt\": ");
	buf_int(out, r->attempt > 0 ? r->attempt : 1);
	put_time(out, "not_before", r->not_before, r->not_before == 0);
	put_text(out, "executor", r->lease_owner);
	put_time(out, "lease_expires_at", r->lease_expires_at,
	    r->lease_expires_at == 0);
	buf_putc(out, '}');
}

void
run_counts_present(struct buf *out, const struct run_counts *c)
{
	int	 s, n = 0;

	buf_putc(out, '{');
	for (s = ST_INITIAL; s < ST__MAX; s++)
		if (c->n[s] != 0)
			buf_printf(out, "%s\"%s\": %lld", n++ ? ", " : "",
			    bf_status_name((enum bf_status)s),
			    (long long)c->n[s]);
	buf_putc(out, '}');
}
