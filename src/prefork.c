#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "prefork.h"

#define WORKERS_MAX	256

#define STOP_GRACE	30	/* seconds a stopping worker may take */

static volatile sig_atomic_t got_term, got_alarm, got_hup;

/* The longest listen queue the system allows: net.core.somaxconn (the
 * kernel caps listen()'s backlog to it), else SOMAXCONN. Read at start:
 * raising the sysctl takes a restart of the pool. */
static int
listen_backlog(void)
{
	FILE	*f = fopen("/proc/sys/net/core/somaxconn", "r");
	int	 n = 0;

	if (f != NULL) {
		if (fscanf(f, "%d", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n > 0 ? n : SOMAXCONN;
}

static void
on_term(int sig)
{
	if (sig == SIGALRM)
		got_alarm = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

int
prefork_listen(const char *path, mode_t mode, const char *group)
{
	struct sockaddr_un sun;
	struct group	*gr = NULL;
	mode_t		 old;
	int		 fd, backlog = listen_backlog();

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "backfills.fcgi: socket path too long: %s\n",
		    path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (group != NULL && (gr = getgrnam(group)) == NULL) {
		fprintf(stderr, "backfills.fcgi: no group %s\n", group);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) {
		perror("backfills.fcgi: socket");
		return -1;
	}
	(void)unlink(path);
	old = umask(0177);	/* never reachable by others, not even briefly */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		umask(old);
		fprintf(stderr, "backfills.fcgi: bind %s: %s\n", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if ((gr != NULL && chown(path, (uid_t)-1, gr->gr_gid) < 0) ||
	    chmod(path, mode) < 0 || listen(fd, backlog) < 0) {
		fprintf(stderr, "backfills.fcgi: %s: %s\n", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	log_msg(LOG_INFO, "listening on %s (queue of %d)", path, backlog);
	return fd;
}

static pid_t
spawn(int fd, int (*worker)(int, void *), void *arg)
{
	pid_t	 pid = fork();

	if (pid == 0) {
		/* A worker never outlives its supervisor. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(0);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_IGN);	/* the pool's: a reload */
		signal(SIGALRM, SIG_DFL);
		_exit(worker(fd, arg));
	}
	if (pid < 0)
		log_msg(LOG_ERROR, "fork: %s", strerror(errno));
	return pid;
}

/*
 * The pool's slots: a worker's pid (0: free), when it started, and the
 * reload it started under. During a reload one more slot than workers
 * is in use: each old worker is replaced by a new one started first,
 * then asked to stop after its request (SIGTERM), one at a time.
 */
struct slot {
	pid_t		 pid;
	time_t		 born;
	unsigned	 gen;
	int		 retiring;	/* asked to stop by a reload */
};

#define SLOTS	(WORKERS_MAX + 1)

static int
find(const struct slot *sl, pid_t pid)
{
	int	 i;

	for (i = 0; i < SLOTS; i++)
		if (sl[i].pid == pid)
			return i;
	return -1;
}

/* Starts a worker in a free slot (of generation gen); -1 when none. */
static int
start(struct slot *sl, int fd, unsigned gen, int (*worker)(int, void *),
    void *arg)
{
	int	 i = find(sl, 0);

	if (i < 0)
		return -1;
	sl[i].pid = spawn(fd, worker, arg);
	sl[i].born = time(NULL);
	sl[i].gen = gen;
	sl[i].retiring = 0;
	return sl[i].pid > 0 ? i : -1;
}

int
prefork_run(int fd, const char *path, int workers,
    int (*worker)(int fd, void *arg), void *arg,
    const struct prefork_hooks *h)
{
	struct sigaction sa;
	struct slot	 sl[SLOTS];
	unsigned	 gen = 0;
	pid_t		 pid;
	int		 i, status, alive, retiring = -1;

	if (workers < 1 || workers > WORKERS_MAX) {
		fprintf(stderr, "backfills.fcgi: workers must be 1 to %d\n",
		    WORKERS_MAX);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;	/* no SA_RESTART: waitpid returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(sl, 0, sizeof(sl));
	for (i = 0; i < workers; i++)
		(void)start(sl, fd, gen, worker, arg);
	metrics_workers(h->metrics, workers);
	log_msg(LOG_INFO, "pool of %d workers on %s", workers, path);
	while (!got_term) {
		if (got_hup) {
			got_hup = 0;
			/* A conf that does not load is logged and the old
			 * one kept: nothing is replaced. */
			if (h->reload != NULL && h->reload(arg) == 0) {
				gen++;
				metrics_reloaded(h->metrics);
				log_msg(LOG_INFO, "reloading: replacing the "
				    "workers one at a time");
			}
		}
		/* The next worker of an older conf: a new one first, then
		 * the old one stops after its request. */
		if (retiring < 0)
			for (i = 0; i < SLOTS; i++)
				if (sl[i].pid > 0 && sl[i].gen != gen &&
				    !sl[i].retiring) {
					if (start(sl, fd, gen, worker, arg) < 0)
						break;
					sl[i].retiring = 1;
					retiring = i;
					kill(sl[i].pid, SIGTERM);
					alarm(STOP_GRACE);
					break;
				}
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno != EINTR)
				break;
			/* one that does not stop after STOP_GRACE */
			if (got_alarm && retiring >= 0)
				kill(sl[retiring].pid, SIGKILL);
			got_alarm = 0;
			continue;
		}
		if ((i = find(sl, pid)) < 0 || got_term)
			continue;
		if (sl[i].retiring) {
			alarm(0);
			sl[i].pid = 0;
			retiring = -1;
			continue;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			/* its max_requests served */
			log_msg(LOG_INFO, "worker %d recycled", (int)pid);
			metrics_recycled(h->metrics);
		} else {
			if (WIFSIGNALED(status))
				log_msg(LOG_ERROR, "worker %d killed by signal "
				    "%d; replacing it", (int)pid,
				    WTERMSIG(status));
			else
				log_msg(LOG_ERROR, "worker %d exited with %d; "
				    "replacing it", (int)pid,
				    WEXITSTATUS(status));
			metrics_replaced(h->metrics);
			/* A worker that cannot even start is not restarted
			 * in a tight loop: at most once a second. */
			if (time(NULL) - sl[i].born < 1)
				sleep(1);
		}
		sl[i].pid = 0;
		(void)start(sl, fd, gen, worker, arg);
	}
	log_msg(LOG_INFO, "stopping: waiting for workers to finish");
	for (i = alive = 0; i < SLOTS; i++)
		if (sl[i].pid > 0) {
			kill(sl[i].pid, SIGTERM);
			alive++;
		}
	close(fd);
	/* Each worker finishes the request in hand; one still there after
	 * STOP_GRACE seconds (stuck in accept, say) is killed. */
	alarm(STOP_GRACE);
	while (alive > 0) {
		pid = waitpid(-1, &status, 0);
		if (pid < 0 && errno == EINTR && got_alarm) {
			for (i = 0; i < SLOTS; i++)
				if (sl[i].pid > 0)
					kill(sl[i].pid, SIGKILL);
			got_alarm = 0;
			continue;
		}
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		if ((i = find(sl, pid)) >= 0) {
			sl[i].pid = 0;
			alive--;
		}
	}
	if (h->keep_socket == 0)
		(void)unlink(path);
	return 0;
}
