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

static const char *const run_readonly[] = {
	"id", "backfill_id", "pipeline_uuid", "execution_date", "variables",
	"started_at", "completed_at", "created_at", "updated_at"
};

int
run_move_allowed(enum bf_status from, enum bf_status to)
{
	return (unsigned)to < ST__MAX && (run_from[to] & (1u << from)) != 0;
}

enum err
run_report_decode(struct json_object *root, enum bf_status *to,
    struct field_errors *fe, const char **detail)
{
	struct json_object	*body = NULL;
	size_t			 i;
	int			 s, have = 0;

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
				*to = (enum bf_status)s;
				have = 1;
			}
			continue;
		}
		for (i = 0; i < sizeof(run_readonly) / sizeof(run_readonly[0]);
		    i++)
			if (strcmp(key, run_readonly[i]) == 0)
				break;
		if (i == sizeof(run_readonly) / sizeof(run_readonly[0]))
			field_error(fe, key, "is not a field of pipeline_run");
	}
	if (fe->n == 0 && !have)
		field_error(fe, "status", "is required");
	return fe->n > 0 ? ERR_RECORD_INVALID : ERR_OK;
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
	else if (to == ST_COMPLETED)
		r->completed_at = now;
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
	if (c->n[ST_FAILED] > 0 && c->n[ST_INITIAL] == 0 &&
	    c->n[ST_RUNNING] == 0)
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
	buf_puts(out, ", \"status\": ");
	buf_json_str(out, st ? st : "initial", strlen(st ? st : "initial"));
	buf_puts(out, ", \"variables\": ");
	buf_puts(out, r->variables ? r->variables : "null");
	put_time(out, "started_at", r->started_at, r->started_at == 0);
	put_time(out, "completed_at", r->completed_at, r->completed_at == 0);
	put_time(out, "created_at", r->created_at, 0);
	put_time(out, "updated_at", r->updated_at, 0);
	buf_putc(out, '}');
}

void
run_counts_present(struct buf *out, const struct run_counts *c)
{
	int	 s;

	buf_putc(out, '{');
	for (s = ST_INITIAL; s < ST__MAX; s++)
		buf_printf(out, "%s\"%s\": %lld", s > ST_INITIAL ? ", " : "",
		    bf_status_name((enum bf_status)s), (long long)c->n[s]);
	buf_putc(out, '}');
}
