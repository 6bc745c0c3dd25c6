/*
 * plan: docs/API.md "Backfills" as pure arithmetic. Run k of a plan is at
 * start + k * units * interval, both ends included; month and year steps
 * are taken from the start each time with the day clamped to the month's
 * end. Counting and finding run k are O(1), so a plan is never walked.
 */
#ifndef PLAN_H
#define PLAN_H

#include <stdint.h>

#include "backfill.h"
#include "buf.h"

struct plan {
	int64_t		 start;		/* microseconds, UTC */
	int64_t		 end;
	enum bf_itype	 type;
	int64_t		 units;
};

/* Fills p from a record's start, end, type and units. Returns 1 when all
 * four are set (the record has a plan), else 0. */
int	 plan_of(const struct backfill *b, struct plan *p);

/* The number of planned runs (0 when end < start). */
int64_t	 plan_count(const struct plan *p);

/* The date of run k (0-based), or -1 past year 9999. */
int64_t	 plan_date(const struct plan *p, int64_t k);

/* Planned run k: its date, the next date (its interval's end), the
 * interval's seconds and the date one interval before (as Mage gives
 * them: the last run's interval is the one before it; -1 where there is
 * none, as with a single run). */
struct plan_row {
	int64_t		 date;
	int64_t		 end;
	int64_t		 seconds;
	int64_t		 previous;
};

/* Fills r for run k. Returns 0, or -1 when k is not a planned run. */
int	 plan_row(const struct plan *p, int64_t k, struct plan_row *r);

/* The index k of a planned date, or -1 when date is not one of them. */
int64_t	 plan_index(const struct plan *p, int64_t date);

/* Appends a row's keys (ds, hr, execution_date and the interval's),
 * without braces. */
void	 plan_row_present(struct buf *out, const struct plan_row *r);

/* Appends runs [offset, offset + limit) as JSON objects separated by
 * ", " (docs/API.md "Backfills"); variables is the merged JSON object text
 * for each run (or NULL for null). Returns how many were written. */
int64_t	 plan_present(struct buf *out, const struct plan *p, int64_t offset,
	    int64_t limit, const char *variables);

/* Checks a record's plan against max_runs: ERR_OK, or
 * ERR_RECORD_INVALID with start, end, type and units named in fe. */
enum err plan_check(const struct backfill *b, int64_t max_runs,
	    struct field_errors *fe);

/* Merges two JSON object texts (either may be NULL): the keys of over
 * replace those of base. Returns a malloc'd text, or NULL when both are
 * NULL or on failure (*failed set). */
char	*plan_merge_variables(const char *base, const char *over,
	    int *failed);

#endif
