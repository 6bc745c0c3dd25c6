/*
 * run: the pipeline_run resource of SPEC "Pipeline runs" as pure
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
};

/* How many latest attempts (one per planned date) are in each status. */
struct run_counts {
	int64_t		 n[ST__MAX];
};

/* Whether a run may move from one status to another (initial -> running
 * -> completed or failed; initial or running -> cancelled). */
int	 run_move_allowed(enum bf_status from, enum bf_status to);

/* Decodes {"pipeline_run": {"status": "..."}} (read-only fields sent
 * back are ignored, unknown keys refused) into *to. Returns ERR_OK,
 * ERR_INVALID_JSON (*detail) or ERR_RECORD_INVALID (fe). */
enum err run_report_decode(struct json_object *root, enum bf_status *to,
	    struct field_errors *fe, const char **detail);

/* Applies a report to r at now: status and its timestamps. Returns
 * ERR_OK (with *changed 0 for the same status) or ERR_TRANSITION. */
enum err run_apply(struct run *r, enum bf_status to, int64_t now,
	    int *changed);

/* The status a backfill moves to after one of its runs moved to run_to,
 * given the counts after the move (SPEC "Pipeline runs"): running on the
 * first running run, completed when every latest attempt is completed,
 * failed when one failed and none is initial or running. Returns the
 * backfill's status unchanged when none of these applies. */
enum bf_status run_backfill_follow(enum bf_status backfill,
	    enum bf_status run_to, const struct run_counts *c);

/* Appends the run as a JSON object in SPEC's field order. */
void	 run_present(struct buf *out, const struct run *r);

/* Appends {"initial": n, "running": n, ...} for the counts. */
void	 run_counts_present(struct buf *out, const struct run_counts *c);

#endif
