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
#include "prefork.h"

#define WORKERS_MAX	256

#define STOP_GRACE	30	/* seconds a stopping worker may take */

static volatile sig_atomic_t got_term, got_alarm;

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
		signal(SIGHUP, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		_exit(worker(fd, arg));
	}
	if (pid < 0)
		log_msg(LOG_ERROR, "fork: %s", strerror(errno));
	return pid;
}

int
prefork_run(int fd, const char *path, int workers,
    int (*worker)(int fd, void *arg), void *arg)
{
	struct sigaction sa;
	pid_t		 pids[WORKERS_MAX];
	time_t		 born[WORKERS_MAX];
	pid_t		 pid;
	int		 i, status, alive;

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

	for (i = 0; i < workers; i++) {
		pids[i] = spawn(fd, worker, arg);
		born[i] = time(NULL);
	}
	log_msg(LOG_INFO, "pool of %d workers on %s", workers, path);
	while (!got_term) {
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < workers && pids[i] != pid; i++)
			;
		if (i == workers || got_term)
			continue;
		if (WIFSIGNALED(status))
			log_msg(LOG_ERROR, "worker %d killed by signal %d; "
			    "replacing it", (int)pid, WTERMSIG(status));
		else
			log_msg(WEXITSTATUS(status) ? LOG_ERROR : LOG_WARN,
			    "worker %d exited with %d; replacing it", (int)pid,
			    WEXITSTATUS(status));
		/* A worker that cannot even start is not restarted in a
		 * tight loop: at most once a second. */
		if (time(NULL) - born[i] < 1)
			sleep(1);
		pids[i] = spawn(fd, worker, arg);
		born[i] = time(NULL);
	}
	log_msg(LOG_INFO, "stopping: waiting for workers to finish");
	for (i = 0; i < workers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	close(fd);
	/* Each worker finishes the request in hand; one still there after
	 * STOP_GRACE seconds (stuck in accept, say) is killed. */
	alarm(STOP_GRACE);
	for (alive = workers; alive > 0; ) {
		pid = waitpid(-1, &status, 0);
		if (pid < 0 && errno == EINTR && got_alarm) {
			for (i = 0; i < workers; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGKILL);
			got_alarm = 0;
			continue;
		}
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		for (i = 0; i < workers; i++)
			if (pids[i] == pid) {
				pids[i] = 0;
				alive--;
			}
	}
	(void)unlink(path);
	return 0;
}
