/*
 * lifecycle: a backfill's status changes and its runs, over the store,
 * in the caller's transaction (see lifecycle.c): starting and
 * cancelling, executors' claims, leases and reports, retries, and the
 * backfill following its runs.
 */
#ifndef LIFECYCLE_H
#define LIFECYCLE_H

#include <stdint.h>

#include "backfill.h"
#include "conf.h"
#include "errors.h"
#include "run.h"

struct store;

struct lifecycle {
	struct store		*st;
	int64_t			 lease;		/* a claim's, microseconds */
	struct retry_policy	 retry;		/* the conf's default */
};

void	 lifecycle_init(struct lifecycle *, struct store *,
	    const struct conf *);

/* What a status change of b (applied, not yet written) does beyond the
 * record: starting or retrying plans one run per planned date whose
 * latest attempt is not completed (and a backfill left with nothing to
 * run follows at once: b changes, *changed gains its fields);
 * cancelling cancels the unfinished runs. Returns ERR_OK or the store's
 * error. */
enum err lifecycle_status_effects(const struct lifecycle *, struct backfill *b,
	    int64_t now, uint32_t *changed);

/* After one of a backfill's runs moved to run_to: moves the backfill as
 * run_backfill_follow() says, writing the change. */
enum err lifecycle_follow(const struct lifecycle *, int64_t backfill_id,
	    enum bf_status run_to, int64_t now);

/*
 * A report on run id (docs/API.md "The run lifecycle" and the
 * executor's leases): with a lease id it must be the run's and not lapsed (else
 * ERR_LEASE_LOST, nothing changed), and the lease is renewed; without
 * one, a run that an executor holds may only be cancelled. Then the
 * status moves (ERR_TRANSITION when it may not), the metrics are
 * written, a failed attempt is retried by the retry policy, and the
 * backfill follows. *out is the run as it stands (run_free() it).
 */
enum err lifecycle_report(const struct lifecycle *, int64_t id,
	    const struct run_report *, int64_t now, struct run *out);

/*
 * A new attempt at one date of backfill id (Mage's "Retry run"): the
 * date's latest attempt is cancelled if it is running (its executor
 * learns it at its next renewal) and replaced by a new one, ready to
 * claim now; one still waiting (initial) is left as it is. A backfill
 * that had ended (completed, failed or cancelled) is started again
 * (initial, as a retry). *out is the date's latest attempt after it
 * (run_free() it). ERR_NOT_FOUND when the backfill has no run of that
 * date.
 */
enum err lifecycle_retry_date(const struct lifecycle *, int64_t backfill_id,
	    int64_t date, int64_t now, struct run *out);

/* Hands the executor owner the next run to do, with a new lease (its id
 * in out->lease_id); lapsed leases are failed first. ERR_NOT_FOUND when
 * no run may start now. */
enum err lifecycle_claim(const struct lifecycle *, const char *pipelines,
	    const char *owner, int64_t now, struct run *out);

/* Fails the runs whose lease lapsed (the reason in their metrics),
 * retrying each as its policy says. *n (may be NULL) counts them. */
enum err lifecycle_sweep(const struct lifecycle *, int64_t now, size_t *n);

#endif
