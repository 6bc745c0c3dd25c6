#define _DEFAULT_SOURCE	/* timegm */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datetime.h"
#include "plan.h"

#define US	1000000LL
/* The last instant a datetime may be: 9999-12-31 23:59:59.999999 UTC. */
#define LAST_US	(253402300800LL * US - 1)

/* Seconds in one unit of a fixed-length interval type; 0 for months and
 * years. */
static int64_t
unit_seconds(enum bf_itype t)
{
	switch (t) {
	case IT_SECOND:
	case IT_CUSTOM:	return 1;
	case IT_MINUTE:	return 60;
	case IT_HOUR:	return 3600;
	case IT_DAY:	return 86400;
	case IT_WEEK:	return 7 * 86400;
	default:	return 0;
	}
}

int
plan_of(const struct backfill *b, struct plan *p)
{
	if (b->v[BF_START_DATETIME].null || b->v[BF_END_DATETIME].null ||
	    b->v[BF_INTERVAL_TYPE].null || b->v[BF_INTERVAL_UNITS].null)
		return 0;
	p->start = b->v[BF_START_DATETIME].i;
	p->end = b->v[BF_END_DATETIME].i;
	p->type = (enum bf_itype)b->v[BF_INTERVAL_TYPE].i;
	p->units = b->v[BF_INTERVAL_UNITS].i;
	return p->units > 0;
}

static int
days_in_month(int y, int m)	/* m: 0..11 */
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	    31 };

	if (m == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m];
}

/* Splits a microsecond instant into a UTC tm and the microseconds. */
static void
split(int64_t us, struct tm *tm, int64_t *frac)
{
	time_t	 t;

	*frac = us % US;
	if (*frac < 0)
		*frac += US;
	t = (time_t)((us - *frac) / US);
	gmtime_r(&t, tm);
}

/* start + months, day clamped; -1 past year 9999. */
static int64_t
add_months(int64_t start, int64_t months)
{
	struct tm tm;
	int64_t	 frac, m, y;
	int	 dim;

	split(start, &tm, &frac);
	m = (int64_t)tm.tm_mon + months;
	y = (int64_t)tm.tm_year + 1900 + m / 12;
	m %= 12;
	if (y > 9999)
		return -1;
	dim = days_in_month((int)y, (int)m);
	tm.tm_year = (int)(y - 1900);
	tm.tm_mon = (int)m;
	if (tm.tm_mday > dim)
		tm.tm_mday = dim;
	return (int64_t)timegm(&tm) * US + frac;
}

int64_t
plan_date(const struct plan *p, int64_t k)
{
	int64_t	 secs = unit_seconds(p->type), step;

	if (secs > 0) {
		step = p->units * secs * US;
		if (k > (253402300799LL * US - p->start) / step)
			return -1;
		return p->start + k * step;
	}
	step = p->type == IT_YEAR ? 12 * p->units : p->units;
	if (k > 12 * 10000 / step + 1)
		return -1;
	return add_months(p->start, k * step);
}

int64_t
plan_count(const struct plan *p)
{
	struct tm a, b;
	int64_t	 secs = unit_seconds(p->type), fa, fb, months, step, k;

	if (p->end < p->start || p->units <= 0)
		return 0;
	if (secs > 0)
		return (p->end - p->start) / (p->units * secs * US) + 1;
	split(p->start, &a, &fa);
	split(p->end, &b, &fb);
	months = ((int64_t)b.tm_year - a.tm_year) * 12 + (b.tm_mon - a.tm_mon);
	step = p->type == IT_YEAR ? 12 * p->units : p->units;
	/* Run k lands in month start + k * step; the last one in end's month
	 * or before may still fall after end within that month. */
	for (k = months / step; k >= 0; k--) {
		int64_t d = plan_date(p, k);

		if (d >= 0 && d <= p->end)
			break;
	}
	return k + 1;
}

int
plan_row(const struct plan *p, int64_t k, struct plan_row *r)
{
	int64_t	 total = plan_count(p);

	r->date = r->end = r->seconds = r->previous = -1;
	if (k < 0 || k >= total || (r->date = plan_date(p, k)) < 0)
		return -1;
	if (total == 1)
		return 0;	/* a single run has no interval */
	if (k + 1 < total) {
		if ((r->end = plan_date(p, k + 1)) < 0)
			return -1;
		r->seconds = (r->end - r->date) / US;
		r->previous = r->date - (r->end - r->date);
	} else {
		r->previous = plan_date(p, k - 1);
		r->seconds = (r->date - r->previous) / US;
		/* past year 9999 the end is no datetime: null (plan_check
		 * refuses such plans; one stored before still shows) */
		r->end = r->date - r->previous > LAST_US - r->date ? -1 :
		    r->date + (r->date - r->previous);
	}
	return 0;
}

int64_t
plan_index(const struct plan *p, int64_t date)
{
	int64_t	 secs = unit_seconds(p->type), step, k, total;
	struct tm a, b;
	int64_t	 fa, fb;

	if (date < p->start || (total = plan_count(p)) == 0)
		return -1;
	if (secs > 0) {
		step = p->units * secs * US;
		k = (date - p->start) / step;
		return (date - p->start) % step == 0 && k < total ? k : -1;
	}
	/* Month steps land in month start + k * step, the day clamped. */
	split(p->start, &a, &fa);
	split(date, &b, &fb);
	step = p->type == IT_YEAR ? 12 * p->units : p->units;
	k = (((int64_t)b.tm_year - a.tm_year) * 12 + (b.tm_mon - a.tm_mon)) /
	    step;
	return k < total && plan_date(p, k) == date ? k : -1;
}

/* Appends a datetime in ISO form (T separator), quoted, or null when
 * us is -1. */
static void
put_iso(struct buf *out, int64_t us)
{
	char	 t[DT_FMT_MAX];
	size_t	 n;

	if (us < 0) {
		buf_puts(out, "null");
		return;
	}
	n = dt_format(us, 'T', t);
	buf_json_str(out, t, n);
}

void
plan_row_present(struct buf *out, const struct plan_row *r)
{
	char	 t[DT_FMT_MAX];

	dt_format(r->date, ' ', t);
	buf_printf(out, "\"ds\": \"%.10s\", \"hr\": \"%.2s\", "
	    "\"execution_date\": ", t, t + 11);
	put_iso(out, r->date - r->date % US);
	buf_puts(out, ", \"interval_start_datetime\": ");
	put_iso(out, r->date);
	buf_puts(out, ", \"interval_end_datetime\": ");
	put_iso(out, r->end);
	buf_puts(out, ", \"interval_seconds\": ");
	if (r->seconds < 0)
		buf_puts(out, "null");
	else
		buf_int(out, r->seconds);
	buf_puts(out, ", \"interval_start_datetime_previous\": ");
	put_iso(out, r->previous);
}

int64_t
plan_present(struct buf *out, const struct plan *p, int64_t offset,
    int64_t limit, const char *variables)
{
	struct plan_row	 r;
	int64_t		 k, n = 0;

	for (k = offset; k < offset + limit && plan_row(p, k, &r) == 0;
	    k++, n++) {
		if (n > 0)
			buf_add(out, ", ", 2);
		buf_putc(out, '{');
		plan_row_present(out, &r);
		buf_puts(out, ", \"variables\": ");
		buf_puts(out, variables != NULL ? variables : "null");
		buf_putc(out, '}');
	}
	return n;
}

enum err
plan_check(const struct backfill *b, int64_t max_runs,
    struct field_errors *fe)
{
	static const char *const names[] = { "start_datetime",
	    "end_datetime", "interval_type", "interval_units" };
	struct plan	 p;
	struct plan_row	 r;
	int64_t		 n;
	size_t		 i;

	if (!plan_of(b, &p))
		return ERR_OK;
	if ((n = plan_count(&p)) > max_runs) {
		snprintf(fe->note, sizeof(fe->note), "together plan %lld runs, "
		    "over max_runs (%lld): narrow the range or widen the "
		    "interval", (long long)n, (long long)max_runs);
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			field_error(fe, names[i], fe->note);
		return ERR_RECORD_INVALID;
	}
	/* Each run's interval ends at a datetime: the last one's end (one
	 * step after it) must not leave year 9999. */
	if (n >= 2 && (plan_row(&p, n - 1, &r) < 0 || r.end < 0)) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			field_error(fe, names[i], "together plan runs whose "
			    "interval ends past 9999-12-31: end the plan "
			    "earlier or narrow the interval");
		return ERR_RECORD_INVALID;
	}
	return ERR_OK;
}

char *
plan_merge_variables(const char *base, const char *over, int *failed)
{
	struct json_object	*b = NULL, *o = NULL;
	char			*text = NULL;

	*failed = 0;
	if (base == NULL && over == NULL)
		return NULL;
	if (base == NULL || over == NULL) {
		if ((text = strdup(base != NULL ? base : over)) == NULL)
			*failed = 1;
		return text;
	}
	b = json_tokener_parse(base);
	o = json_tokener_parse(over);
	if (b == NULL || o == NULL || !json_object_is_type(b,
	    json_type_object) || !json_object_is_type(o, json_type_object)) {
		*failed = 1;
		goto out;
	}
	json_object_object_foreach(o, key, val)
		json_object_object_add(b, key, json_object_get(val));
	text = strdup(json_object_to_json_string_ext(b,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	if (text == NULL)
		*failed = 1;
out:
	json_object_put(b);
	json_object_put(o);
	return text;
}
