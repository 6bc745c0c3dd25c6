/*
 * lifecycle: what a backfill's status change does to its runs, how
 * executors claim runs, hold them with leases and report on them, how a
 * failed attempt is retried, and how a backfill follows its runs, all in
 * the caller's transaction. The rules themselves are backfill.c's,
 * plan.c's and run.c's pure functions; this file applies them over the
 * store.
 *
 * A backfill never waits on nothing: every move of a run (a report, a
 * lapsed lease, a cancel) ends with the backfill following its kept
 * counts, and a start that leaves nothing to run follows at once.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "datetime.h"
#include "lifecycle.h"
#include "log.h"
#include "plan.h"
#include "store.h"

#define US	1000000LL

void
lifecycle_init(struct lifecycle *lc, struct store *st, const struct conf *c)
{
	lc->st = st;
	lc->lease = c->run_lease * US;
	lc->retry.retries = c->retry.retries;
	lc->retry.delay = c->retry.delay;
	lc->retry.max_delay = c->retry.max_delay;
	lc->retry.exponential = c->retry.exponential;
}

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
	r.attempt = 1;
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

/* Moves b (in memory) to status to as the status table allows, through
 * running where it must (a backfill whose runs all finished before it
 * was seen running). *changed gains the fields that changed. */
static enum err
move_to(struct backfill *b, enum bf_status to, int64_t now,
    uint32_t *changed)
{
	struct field_errors fe = { 0 };
	struct bf_patch	 p;
	const char	*detail;
	uint32_t	 c = 0;
	enum err	 e = ERR_OK;

	memset(&p, 0, sizeof(p));
	p.set = BF_BIT(BF_STATUS);
	if (to == ST_COMPLETED && !b->v[BF_STATUS].null &&
	    b->v[BF_STATUS].i == ST_INITIAL) {
		p.v[BF_STATUS].i = ST_RUNNING;
		if ((e = bf_apply(b, &p, now, &c, &fe, &detail)) != ERR_OK)
			return e;
		*changed |= c;
	}
	p.v[BF_STATUS].i = to;
	e = bf_apply(b, &p, now, &c, &fe, &detail);
	*changed |= c;
	return e;
}

enum err
lifecycle_status_effects(const struct lifecycle *lc, struct backfill *b,
    int64_t now, uint32_t *changed)
{
	struct run_counts counts;
	enum bf_status	 to;
	enum err	 e;

	switch (b->v[BF_STATUS].i) {
	case ST_INITIAL:
		if ((e = start_runs(lc->st, b, now)) != ERR_OK ||
		    (e = store_run_counts(lc->st, b->v[BF_ID].i, &counts)) !=
		    ERR_OK)
			return e;
		/* Every date completed already: nothing is left to run. */
		if ((to = run_backfill_follow(ST_INITIAL, ST_NULL, &counts)) !=
		    ST_INITIAL)
			return move_to(b, to, now, changed);
		return ERR_OK;
	case ST_CANCELLED:
		if ((e = store_runs_cancel(lc->st, b->v[BF_ID].i, now))
		    != ERR_OK)
			return e;
		return store_runs_recount(lc->st, b->v[BF_ID].i);
	default:
		return ERR_OK;
	}
}

enum err
lifecycle_follow(const struct lifecycle *lc, int64_t id,
    enum bf_status run_to, int64_t now)
{
	struct run_counts counts;
	struct backfill	 b;
	enum bf_status	 from, to;
	uint32_t	 changed = 0;
	enum err	 e;

	memset(&b, 0, sizeof(b));
	if ((e = store_backfill_get(lc->st, id, &b)) != ERR_OK ||
	    (e = store_run_counts(lc->st, id, &counts)) != ERR_OK)
		goto out;
	from = b.v[BF_STATUS].null ? ST_NULL : (enum bf_status)b.v[BF_STATUS].i;
	if ((to = run_backfill_follow(from, run_to, &counts)) == from)
		goto out;
	e = move_to(&b, to, now, &changed);
	if (e == ERR_OK && changed != 0)
		e = store_backfill_update(lc->st, &b, changed);
	else if (e == ERR_TRANSITION)
		e = ERR_OK;	/* a move the table forbids: it stays */
out:
	backfill_free(&b);
	return e;
}

/* The retry policy of a run's backfill: the conf's default, overlaid by
 * its pipeline's retry_config, overlaid by the backfill's
 * settings.retry_config. */
static enum err
policy_of(const struct lifecycle *lc, const struct run *r,
    struct retry_policy *p)
{
	struct json_object	*o, *rc;
	struct pipeline		 pl;
	struct backfill		 b;
	enum err		 e;

	*p = lc->retry;
	memset(&b, 0, sizeof(b));
	if ((e = store_pipeline_get(lc->st, r->pipeline_uuid, &pl)) ==
	    ERR_OK) {
		(void)run_retry_policy(pl.retry_config, p);
		pipeline_free(&pl);
	} else if (e != ERR_NOT_FOUND)
		return e;
	if ((e = store_backfill_get(lc->st, r->backfill_id, &b)) != ERR_OK)
		return e;
	if (!b.v[BF_SETTINGS].null &&
	    (o = json_tokener_parse(b.v[BF_SETTINGS].s)) != NULL) {
		if (json_object_object_get_ex(o, "retry_config", &rc))
			(void)run_retry_policy(json_object_to_json_string(rc),
			    p);
		json_object_put(o);
	}
	backfill_free(&b);
	return ERR_OK;
}

/* Replaces run r, its date's latest attempt (ended, its kept count in
 * r->status), with a new initial attempt of the same date that is not
 * claimed before not_before (0: at once). *next is the new run. */
static enum err
new_attempt(const struct lifecycle *lc, const struct run *r,
    int64_t now, int64_t not_before, struct run *next)
{
	enum err	 e;

	memset(next, 0, sizeof(*next));
	next->backfill_id = r->backfill_id;
	memcpy(next->pipeline_uuid, r->pipeline_uuid,
	    sizeof(next->pipeline_uuid));
	next->execution_date = r->execution_date;
	next->variables = r->variables;
	next->created_at = now;
	next->attempt = (r->attempt > 0 ? r->attempt : 1) + 1;
	next->not_before = not_before;
	if ((e = store_run_retire(lc->st, r->id)) != ERR_OK ||
	    (e = store_run_insert(lc->st, next)) != ERR_OK)
		return e;
	return store_run_counts_move(lc->st, r->backfill_id, r->status,
	    ST_INITIAL);
}

/* After run r (its date's latest attempt) failed: when its policy has a
 * retry left, a new attempt of the same date, held back by the policy's
 * delay, replaces it as the date's latest. */
static enum err
retry(const struct lifecycle *lc, const struct run *r, int64_t now)
{
	struct retry_policy p;
	struct run	 next;
	int64_t		 attempt = r->attempt > 0 ? r->attempt : 1;
	enum err	 e;

	if ((e = policy_of(lc, r, &p)) != ERR_OK || attempt > p.retries)
		return e;
	return new_attempt(lc, r, now,
	    now + run_retry_delay(&p, attempt) * US, &next);
}

/* Writes run r, moved from old: its kept counts, a retry when it
 * failed, the backfill following when it moved. */
static enum err
settle(const struct lifecycle *lc, const struct run *r, enum bf_status old,
    int64_t now)
{
	enum err	 e;

	if ((e = store_run_update(lc->st, r, old)) != ERR_OK ||
	    !r->latest || r->status == old)
		return e;
	if (r->status == ST_FAILED && (e = retry(lc, r, now)) != ERR_OK)
		return e;
	return lifecycle_follow(lc, r->backfill_id, r->status, now);
}

enum err
lifecycle_report(const struct lifecycle *lc, int64_t id,
    const struct run_report *rep, int64_t now, struct run *r)
{
	enum bf_status	 old;
	int		 changed = 0;
	enum err	 e;

	if ((e = store_run_get(lc->st, id, r)) != ERR_OK)
		return e;
	if (rep->lease_id != NULL) {
		if (strcmp(r->lease_id, rep->lease_id) != 0 ||
		    r->lease_expires_at <= now)
			return ERR_LEASE_LOST;
		r->lease_expires_at = now + lc->lease;
		changed = 1;
	} else if (r->lease_id[0] != '\0' && r->status == ST_RUNNING &&
	    rep->to != ST_CANCELLED && rep->to != ST_RUNNING)
		return ERR_LEASE_LOST;	/* an executor holds it */
	old = r->status;
	if (rep->to != ST_NULL) {
		int moved;

		if ((e = run_apply(r, rep->to, now, &moved)) != ERR_OK)
			return e;
		changed |= moved;
	}
	if (rep->has_metrics) {
		free((char *)r->metrics);
		r->metrics = NULL;
		if (rep->metrics != NULL &&
		    (r->metrics = strdup(rep->metrics)) == NULL)
			return ERR_INTERNAL;
		changed = 1;
	}
	if (changed)
		r->updated_at = now;
	return changed ? settle(lc, r, old, now) : ERR_OK;
}

enum err
lifecycle_retry_date(const struct lifecycle *lc, int64_t bid, int64_t date,
    int64_t now, struct run *out)
{
	struct backfill	 b;
	struct run	 next;
	enum bf_status	 old, status;
	uint32_t	 changed = 0;
	int64_t		 id;
	int		 moved;
	enum err	 e;

	memset(&b, 0, sizeof(b));
	memset(out, 0, sizeof(*out));
	/* the backfill's lock first, as every writer of runs takes it */
	if ((e = store_backfill_get(lc->st, bid, &b)) != ERR_OK ||
	    (e = store_run_latest(lc->st, bid, date, &id)) != ERR_OK ||
	    (e = store_run_get(lc->st, id, out)) != ERR_OK ||
	    out->status == ST_INITIAL)
		goto done;
	if ((old = out->status) == ST_RUNNING) {
		if ((e = run_apply(out, ST_CANCELLED, now, &moved)) != ERR_OK)
			goto done;
		out->updated_at = now;
		if ((e = store_run_update(lc->st, out, old)) != ERR_OK)
			goto done;
	}
	if ((e = new_attempt(lc, out, now, 0, &next)) != ERR_OK)
		goto done;
	/* a backfill that had ended runs again, as after a retry */
	status = b.v[BF_STATUS].null ? ST_NULL :
	    (enum bf_status)b.v[BF_STATUS].i;
	if ((status == ST_COMPLETED || status == ST_FAILED ||
	    status == ST_CANCELLED) &&
	    ((e = move_to(&b, ST_INITIAL, now, &changed)) != ERR_OK ||
	    (changed != 0 && (e = store_backfill_update(lc->st, &b,
	    changed)) != ERR_OK)))
		goto done;
	run_free(out);
	e = store_run_get(lc->st, next.id, out);
done:
	backfill_free(&b);
	return e;
}

/* The metrics of a run failed for its lease: the ones it had, and why. */
static char *
lapsed_metrics(const struct run *r)
{
	struct json_object	*o = NULL;
	char			 t[DT_FMT_MAX];
	char			*text;

	if (r->metrics != NULL)
		o = json_tokener_parse(r->metrics);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = json_object_new_object();
	}
	dt_format(r->lease_expires_at, ' ', t);
	json_object_object_add(o, "error", json_object_new_string("the "
	    "lease lapsed: its executor stopped renewing it (died, or lost "
	    "the network)"));
	json_object_object_add(o, "lease_expired_at", json_object_new_string(t));
	if (r->lease_owner != NULL)
		json_object_object_add(o, "executor",
		    json_object_new_string(r->lease_owner));
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return text;
}

/* How many lapsed runs one sweep fails at most (the next takes the
 * rest). */
#define SWEEP_MAX	32

enum err
lifecycle_sweep(const struct lifecycle *lc, int64_t now, size_t *count)
{
	int64_t		 ids[SWEEP_MAX];
	struct run	 r;
	size_t		 n, i;
	char		*m;
	int		 moved;
	enum err	 e;

	if (count != NULL)
		*count = 0;
	if ((e = store_runs_lapsed(lc->st, now, ids, SWEEP_MAX, &n)) != ERR_OK)
		return e;
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		/* Locked now: a report or renewal may have come first. */
		if ((e = store_run_get(lc->st, ids[i], &r)) == ERR_NOT_FOUND)
			continue;
		if (e != ERR_OK)
			return e;
		if (r.status != ST_RUNNING || r.lease_expires_at > now) {
			run_free(&r);
			continue;
		}
		if ((m = lapsed_metrics(&r)) == NULL) {
			run_free(&r);
			return ERR_INTERNAL;
		}
		free((char *)r.metrics);
		r.metrics = m;
		log_msg(LOG_WARN, "run %lld of backfill %lld: the lease of %s "
		    "lapsed; failed", (long long)r.id, (long long)r.backfill_id,
		    r.lease_owner ? r.lease_owner : "an executor");
		(void)run_apply(&r, ST_FAILED, now, &moved);
		e = settle(lc, &r, ST_RUNNING, now);
		run_free(&r);
		if (e != ERR_OK)
			return e;
		if (count != NULL)
			(*count)++;
	}
	return ERR_OK;
}

enum err
lifecycle_claim(const struct lifecycle *lc, const char *pipelines,
    const char *owner, int64_t now, struct run *r)
{
	struct run_lease l;
	char		 id[48];
	enum err	 e;

	if ((e = lifecycle_sweep(lc, now, NULL)) != ERR_OK)
		return e;
	if (auth_random(24, id, sizeof(id)) < 0)
		return ERR_INTERNAL;
	l.id = id;
	l.owner = owner;
	l.expires_at = now + lc->lease;
	if ((e = store_run_claim(lc->st, pipelines, now, &l, r)) != ERR_OK)
		return e;
	return lifecycle_follow(lc, r->backfill_id, ST_RUNNING, now);
}
