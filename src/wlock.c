#define _GNU_SOURCE	/* pthread_mutex_clocklock */

#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "log.h"
#include "wlock.h"

struct wlock {
	pthread_mutex_t	 m;
	pthread_mutex_t	 checkpoint;	/* held by the one checkpointing */
	int64_t		 checkpointed;	/* when the last one ended (ns) */
	uint64_t	 waits;		/* takes that had to wait */
	uint64_t	 wait_ns;	/* how long they waited in all */
	uint64_t	 timeouts;	/* waits that gave up */
};

static int
robust_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int		 rc;

	if (pthread_mutexattr_init(&a) != 0)
		return -1;
	rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(m, &a) != 0 ? -1 : 0;
	pthread_mutexattr_destroy(&a);
	return rc;
}

struct wlock *
wlock_create(void)
{
	struct wlock	*w;

	w = mmap(NULL, sizeof(*w), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w == MAP_FAILED)
		return NULL;
	if (robust_init(&w->m) < 0 || robust_init(&w->checkpoint) < 0) {
		munmap(w, sizeof(*w));
		return NULL;
	}
	w->checkpointed = 0;
	return w;
}

int64_t
wlock_now_ns(void)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int
wlock_checkpoint_begin(struct wlock *w, int64_t since_ns)
{
	int	 rc = pthread_mutex_trylock(&w->checkpoint);

	if (rc == EOWNERDEAD) {
		pthread_mutex_consistent(&w->checkpoint);
		rc = 0;
	}
	if (rc != 0)
		return 0;	/* another worker is at it */
	/* A checkpoint that ended after the commit started after it too (a
	 * FULL checkpoint holds writers back while it runs): it covered
	 * the commit. */
	if (__atomic_load_n(&w->checkpointed, __ATOMIC_SEQ_CST) > since_ns) {
		pthread_mutex_unlock(&w->checkpoint);
		return 0;
	}
	return 1;
}

void
wlock_checkpoint_done(struct wlock *w, int completed)
{
	if (completed)
		__atomic_store_n(&w->checkpointed, wlock_now_ns(),
		    __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&w->checkpoint);
}

int
wlock_take(struct wlock *w, int timeout_ms)
{
	struct timespec	 until;
	int64_t		 t0;
	int		 rc;

	if ((rc = pthread_mutex_trylock(&w->m)) == 0)
		return 0;
	if (rc == EOWNERDEAD)
		goto dead;
	t0 = wlock_now_ns();
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	rc = pthread_mutex_clocklock(&w->m, CLOCK_MONOTONIC, &until);
	__atomic_fetch_add(&w->waits, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&w->wait_ns, (uint64_t)(wlock_now_ns() - t0),
	    __ATOMIC_RELAXED);
	if (rc == EOWNERDEAD) {
dead:
		/* Its holder died; SQLite recovers whatever it left. */
		log_msg(LOG_WARN, "a worker died holding the write queue; "
		    "taking it over");
		pthread_mutex_consistent(&w->m);
		rc = 0;
	}
	if (rc != 0)
		__atomic_fetch_add(&w->timeouts, 1, __ATOMIC_RELAXED);
	return rc == 0 ? 0 : -1;
}

void
wlock_stats(const struct wlock *w, uint64_t *waits, uint64_t *wait_ns,
    uint64_t *timeouts)
{
	*waits = __atomic_load_n(&w->waits, __ATOMIC_RELAXED);
	*wait_ns = __atomic_load_n(&w->wait_ns, __ATOMIC_RELAXED);
	*timeouts = __atomic_load_n(&w->timeouts, __ATOMIC_RELAXED);
}

void
wlock_give(struct wlock *w)
{
	pthread_mutex_unlock(&w->m);
}
