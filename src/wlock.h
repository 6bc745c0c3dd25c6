/*
 * wlock: a queue for the write lock, shared by the workers of one pool.
 *
 * SQLite's own write lock cannot be waited for: a writer that finds it
 * taken polls (the busy handler), burning CPU and fcntl() calls the
 * holder needs. The pool's supervisor makes one of these in memory
 * shared with the workers it forks; a worker takes it before BEGIN
 * IMMEDIATE and gives it back after COMMIT, so its writers sleep in the
 * kernel and wake as the previous one finishes. SQLite's lock still
 * decides (other programs, other pools and CGI processes do not share
 * this queue); the queue only keeps this pool's writers from spinning.
 * A worker that dies holding it (kill -9) leaves it to the next one
 * (a robust mutex).
 *
 * It also keeps the pool's checkpoints to one at a time: each worker
 * whose commit leaves a long log would otherwise checkpoint it too,
 * each with its syncs, where the first one's checkpoint covers them all.
 */
#ifndef WLOCK_H
#define WLOCK_H

#include <stdint.h>

struct wlock;

/* Makes a queue in memory that children forked later share; NULL if
 * the system cannot (then writers simply poll, as without one). */
struct wlock	*wlock_create(void);
/* Waits up to timeout_ms for the queue. 0 when taken, -1 on time out. */
int		 wlock_take(struct wlock *, int timeout_ms);
void		 wlock_give(struct wlock *);
/* Whether the caller should checkpoint a log its commit at time
 * since_ns (CLOCK_MONOTONIC) left long: 1 (then call
 * wlock_checkpoint_done after) unless another worker is checkpointing,
 * or has checkpointed since, which covered that commit. */
int		 wlock_checkpoint_begin(struct wlock *, int64_t since_ns);
void		 wlock_checkpoint_done(struct wlock *, int completed);
/* What the queue has seen: takes that waited, how long in all, and
 * waits that timed out. */
void		 wlock_stats(const struct wlock *, uint64_t *waits,
		    uint64_t *wait_ns, uint64_t *timeouts);
/* CLOCK_MONOTONIC in nanoseconds. */
int64_t		 wlock_now_ns(void);

#endif
