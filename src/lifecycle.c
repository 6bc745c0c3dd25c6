/*
 * lifecycle: what a backfill's status change does to its runs, and how a
 * backfill follows its runs (SPEC "Status changes", "Pipeline runs"),
 * in the caller's transaction. The rules themselves are backfill.c's
 * and run.c's pure functions; this file applies them over the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "plan.h"
#include "run.h"
#include "store.h"

/* Start or retry: one run per planned date whose latest attempt is not
 * completed, written in the caller's transaction. The plan is walked
 * once beside the sorted completed dates. */
static enum err
start_runs(struct store *st, const struct backfill *b, int64_t now)
{
	struct pipeline	 pl;
	struct plan	 p;
	struct run	 r;
	int64_t		*done = NULL, k, total, d;
	size_t		 ndone = 0, j = 0;
	char		*vars;
	int		 failed;
	enum err	 e;

	if (!plan_of(b, &p))
		return ERR_INTERNAL;	/* bf_apply requires all four */
	if ((e = store_pipeline_get(st, b->v[BF_PIPELINE_UUID].s, &pl))
	    != ERR_OK)
		return e;
	vars = plan_merge_variables(pl.variables,
	    b->v[BF_VARIABLES].null ? NULL : b->v[BF_VARIABLES].s, &failed);
	pipeline_free(&pl);
	if (failed)
		return ERR_INTERNAL;
	memset(&r, 0, sizeof(r));
	r.backfill_id = b->v[BF_ID].i;
	snprintf(r.pipeline_uuid, sizeof(r.pipeline_uuid), "%s",
	    b->v[BF_PIPELINE_UUID].s);
	r.variables = vars;
	r.created_at = now;
	if ((e = store_runs_completed(st, r.backfill_id, &done, &ndone))
	    != ERR_OK ||
	    (e = store_runs_supersede(st, r.backfill_id, now)) != ERR_OK)
		goto out;
	total = plan_count(&p);
	for (k = 0; k < total && (d = plan_date(&p, k)) >= 0; k++) {
		while (j < ndone && done[j] < d)
			j++;
		if (j < ndone && done[j] == d)
			continue;
		r.execution_date = d;
		if ((e = store_run_insert(st, &r)) != ERR_OK)
			goto out;
	}
	e = store_runs_recount(st, r.backfill_id);
out:
	free(done);
	free(vars);
	return e;
}

enum err
lifecycle_status_effects(struct store *st, const struct backfill *b,
    int64_t now)
{
	enum err	 e;

	switch (b->v[BF_STATUS].i) {
	case ST_INITIAL:
		return start_runs(st, b, now);
	case ST_CANCELLED:
		if ((e = store_runs_cancel(st, b->v[BF_ID].i, now))
		    != ERR_OK)
			return e;
		return store_runs_recount(st, b->v[BF_ID].i);
	default:
		return ERR_OK;
	}
}

enum err
lifecycle_follow(struct store *st, int64_t id, enum bf_status run_to,
    int64_t now)
{
	struct field_errors fe = { 0 };
	struct run_counts counts;
	struct bf_patch	 p;
	struct backfill	 b;
	const char	*detail;
	enum bf_status	 from, to;
	uint32_t	 changed = 0;
	enum err	 e;

	memset(&b, 0, sizeof(b));
	memset(&p, 0, sizeof(p));
	if ((e = store_backfill_get(st, id, &b)) != ERR_OK ||
	    (e = store_run_counts(st, id, &counts)) != ERR_OK)
		goto out;
	from = b.v[BF_STATUS].null ? ST_NULL : (enum bf_status)b.v[BF_STATUS].i;
	if ((to = run_backfill_follow(from, run_to, &counts)) == from)
		goto out;
	p.set = BF_BIT(BF_STATUS);
	p.v[BF_STATUS].i = to;
	e = bf_apply(&b, &p, now, &changed, &fe, &detail);
	if (e == ERR_OK && changed != 0)
		e = store_backfill_update(st, &b, changed);
	else if (e == ERR_TRANSITION)
		e = ERR_OK;	/* a move the table forbids: it stays */
out:
	backfill_free(&b);
	return e;
}

