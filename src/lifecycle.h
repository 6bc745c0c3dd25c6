/*
 * lifecycle: a backfill's status changes and its runs, over the store
 * (see lifecycle.c).
 */
#ifndef LIFECYCLE_H
#define LIFECYCLE_H

#include <stdint.h>

#include "backfill.h"
#include "errors.h"

struct store;

/* What a status change of b (just applied, not yet written) does beyond
 * the record: starting or retrying plans one run per planned date whose
 * latest attempt is not completed; cancelling cancels the unfinished
 * runs. Returns ERR_OK or the store's error. */
enum err lifecycle_status_effects(struct store *, const struct backfill *b,
	    int64_t now);

/* After one of a backfill's runs moved to run_to: moves the backfill as
 * run_backfill_follow() says, writing the change (timestamps, version).
 * Returns ERR_OK or the store's error. */
enum err lifecycle_follow(struct store *, int64_t backfill_id,
	    enum bf_status run_to, int64_t now);

#endif
