#define _GNU_SOURCE	/* pthread_mutex_clocklock */

#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "log.h"
#include "wlock.h"

struct wlock {
	pthread_mutex_t	 m;
};

struct wlock *
wlock_create(void)
{
	pthread_mutexattr_t a;
	struct wlock	*w;

	w = mmap(NULL, sizeof(*w), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w == MAP_FAILED)
		return NULL;
	if (pthread_mutexattr_init(&a) != 0)
		goto fail;
	if (pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&w->m, &a) != 0) {
		pthread_mutexattr_destroy(&a);
		goto fail;
	}
	pthread_mutexattr_destroy(&a);
	return w;
fail:
	munmap(w, sizeof(*w));
	return NULL;
}

int
wlock_take(struct wlock *w, int timeout_ms)
{
	struct timespec	 until;
	int		 rc;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	rc = pthread_mutex_clocklock(&w->m, CLOCK_MONOTONIC, &until);
	if (rc == EOWNERDEAD) {
		/* Its holder died; SQLite recovers whatever it left. */
		log_msg(LOG_WARN, "a worker died holding the write queue; "
		    "taking it over");
		pthread_mutex_consistent(&w->m);
		rc = 0;
	}
	return rc == 0 ? 0 : -1;
}

void
wlock_give(struct wlock *w)
{
	pthread_mutex_unlock(&w->m);
}
