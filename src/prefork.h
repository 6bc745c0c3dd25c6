/*
 * prefork: a supervised pool of FastCGI workers. The parent opens the
 * unix socket (or is given it by systemd), forks N workers that accept
 * on it, replaces a worker that dies or is recycled (exits 0 after its
 * max_requests), on SIGHUP reloads the conf and replaces the workers one
 * at a time after their requests, and on SIGTERM or SIGINT passes the
 * signal on, waits for every worker to finish its request, removes the
 * socket and exits.
 */
#ifndef PREFORK_H
#define PREFORK_H

#include <sys/types.h>

/* Creates, binds and listens on a unix socket at path (an old socket
 * file there is replaced), with the given mode and, when group is not
 * NULL, that group. Returns the fd, or -1 with a reason on stderr. */
int	prefork_listen(const char *path, mode_t mode, const char *group);

struct metrics;

/* What the pool calls besides its workers. */
struct prefork_hooks {
	/* On SIGHUP, in the parent: reads the conf again for the workers
	 * to come (they see what the parent holds when they fork); 0 when
	 * it took, else -1 (said why; the old one stays). NULL: none. */
	int		(*reload)(void *arg);
	struct metrics	*metrics;	/* the pool's counters; may be NULL */
	int		 keep_socket;	/* systemd's: not unlinked at exit */
};

/* Runs the pool: worker(fd, arg) is called in each child and its return
 * value is the child's exit status (0: it asks to be replaced, as after
 * max_requests). Returns the parent's exit status. */
int	prefork_run(int fd, const char *path, int workers,
	    int (*worker)(int fd, void *arg), void *arg,
	    const struct prefork_hooks *);

#endif
