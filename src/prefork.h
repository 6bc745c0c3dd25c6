/*
 * prefork: a supervised pool of FastCGI workers. The parent opens the
 * unix socket, forks N workers that accept on it, replaces a worker that
 * dies, and on SIGTERM or SIGINT passes the signal on, waits for every
 * worker to finish its request, removes the socket and exits.
 */
#ifndef PREFORK_H
#define PREFORK_H

#include <sys/types.h>

/* Creates, binds and listens on a unix socket at path (an old socket
 * file there is replaced), with the given mode and, when group is not
 * NULL, that group. Returns the fd, or -1 with a reason on stderr. */
int	prefork_listen(const char *path, mode_t mode, const char *group);

/* Runs the pool: worker(fd, arg) is called in each child and its return
 * value is the child's exit status. Returns the parent's exit status. */
int	prefork_run(int fd, const char *path, int workers,
	    int (*worker)(int fd, void *arg), void *arg);

#endif
