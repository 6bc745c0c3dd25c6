/*
 * run: the pipeline_run resource of docs/API.md "The run lifecycle" as pure
 * functions: its fields, its status moves, decoding an executor's report
 * and how a backfill follows its runs.
 */
#ifndef RUN_H
#define RUN_H

#include <stdint.h>

#include "backfill.h"
#include "buf.h"
#include "errors.h"

struct json_object;

/*
 * One attempt at one planned date. A claimed run carries a lease: its
 * holder (an executor's name), when it lapses, and an id only the holder
 * was told. Strings held by pointer (variables, metrics, lease_owner)
 * are owned by whoever filled the record (see store_run_get).
 */
struct run {
	int64_t		 id;
	int64_t		 backfill_id;
	char		 pipeline_uuid[256];
	int64_t		 execution_date;	/* microseconds, UTC */
	enum bf_status	 status;		/* never ST_NULL */
	const char	*variables;		/* JSON text or NULL */
	int64_t		 started_at;		/* 0 when null */
	int64_t		 completed_at;		/* 0 when null */
	int64_t		 created_at;
	int64_t		 updated_at;
	int		 latest;		/* the date's latest attempt */
	const char	*metrics;		/* JSON object text or NULL */
	int64_t		 attempt;		/* 1 for the first */
	int64_t		 not_before;		/* not claimed before; 0 */
	char		 lease_id[48];		/* "" when none */
	const char	*lease_owner;		/* NULL when none */
	int64_t		 lease_expires_at;	/* 0 when none */
};

/* How many latest attempts (one per planned date) are in each status. */
struct run_counts {
	int64_t		 n[ST__MAX];
};

/* Whether a run may move from one status to another (initial -> running
 * -> completed or failed; initial or running -> cancelled). */
int	 run_move_allowed(enum bf_status from, enum bf_status to);

/* An executor's report or a user's change of one run: a status (ST_NULL
 * when none: a lease renewal), metrics (a JSON object's text, or null),
 * the lease id the executor holds. Strings point into the parsed body. */
struct run_report {
	enum bf_status	 to;
	int		 has_metrics;
	const char	*metrics;	/* NULL: null */
	const char	*lease_id;	/* NULL when not sent */
};

/* Decodes {"pipeline_run": {"status": "...", "metrics": {...},
 * "lease_id": "..."}} (read-only fields sent back are ignored, unknown
 * keys refused; a status or a lease_id is required) into *rep; the
 * metrics are written into metrics (reset first). Returns ERR_OK,
 * ERR_INVALID_JSON (*detail) or ERR_RECORD_INVALID (fe). */
enum err run_report_decode(struct json_object *root, struct run_report *rep,
	    struct buf *metrics, struct field_errors *fe, const char **detail);

/* A retry policy, as Mage's retry_config has it: how many retries after
 * the first attempt, the delay before the first retry, its ceiling, and
 * whether the delay doubles with each retry. */
struct retry_policy {
	int64_t		 retries;
	int64_t		 delay;		/* seconds */
	int64_t		 max_delay;	/* seconds */
	int		 exponential;
};

/* Overlays the keys of a JSON object text {"retries": n, "delay": s,
 * "max_delay": s, "exponential_backoff": bool} on p (keys absent or of
 * another type leave p's). Returns 1 when text was such an object. */
int	 run_retry_policy(const char *text, struct retry_policy *p);

/* The seconds to wait before attempt + 1 after attempt failed. */
int64_t	 run_retry_delay(const struct retry_policy *p, int64_t attempt);

/* Applies a report to r at now: status and its timestamps (started_at
 * on running, completed_at when it completed or failed). Returns
 * ERR_OK (with *changed 0 for the same status) or ERR_TRANSITION. */
enum err run_apply(struct run *r, enum bf_status to, int64_t now,
	    int *changed);

/* The status a backfill moves to after one of its runs moved to run_to
 * (ST_NULL: none moved), given the counts after the move: running on
 * the first running run; completed when every latest attempt is
 * completed; failed when none is initial or running and some date's
 * latest attempt is not completed (failed or cancelled). Only an
 * initial or running backfill follows; its status is returned unchanged
 * when none of these applies. */
enum bf_status run_backfill_follow(enum bf_status backfill,
	    enum bf_status run_to, const struct run_counts *c);

/* Appends the run as a JSON object: the documented fields in their
 * order, then the keys Mage's runs table reads (this service has no block runs or
 * schedules: 0, null, [] for them), then the executor's: attempt,
 * not_before, executor, lease_expires_at. The lease's id is never
 * shown. */
void	 run_present(struct buf *out, const struct run *r);

/* Appends {"<status>": n, ...} for the statuses that occur. */
void	 run_counts_present(struct buf *out, const struct run_counts *c);

#endif
