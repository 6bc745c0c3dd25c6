/*
 * exec_proc: the keeper of one run's command (see exec_proc.h). The
 * keeper is a plain loop over poll(2): its order pipe, a signalfd for
 * SIGCHLD, and the next deadline (the timeout, then the grace).
 */
#define _GNU_SOURCE	/* close_range, pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec_proc.h"
#include "log.h"

/* Milliseconds of CLOCK_MONOTONIC. */
static int64_t
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Closes every descriptor from 3 up but the n in keep (ascending). */
static void
close_others(const int *keep, int n)
{
	unsigned int	 lo = 3, fd;
	int		 i;

	for (i = 0; i <= n; i++) {
		unsigned int hi = i < n ? (unsigned int)keep[i] : ~0U;

		if (hi > lo && close_range(lo, hi - 1, 0) < 0)
			for (fd = lo; fd < hi && fd < 65536; fd++)
				(void)close((int)fd);
		if (i < n && hi + 1 > lo)
			lo = hi + 1;
	}
}

/* Sorts three descriptors ascending. */
static void
sort3(int *f)
{
	int	 i, j, t;

	for (i = 0; i < 3; i++)
		for (j = i + 1; j < 3; j++)
			if (f[j] < f[i])
				t = f[i], f[i] = f[j], f[j] = t;
}

/* In the command's process, after fork: its own group, plain signals,
 * stdin from /dev/null, stdout and stderr to the log, nothing else
 * open, the run's environment; then /bin/sh -c. Never returns. */
static void __attribute__((noreturn))
command_exec(const struct keeper_spec *s, int log_fd)
{
	sigset_t	 none;
	size_t		 i;
	int		 fd;

	(void)setpgid(0, 0);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	if ((fd = open("/dev/null", O_RDONLY)) >= 0 && fd != 0) {
		(void)dup2(fd, 0);
		(void)close(fd);
	}
	(void)dup2(log_fd, 1);
	(void)dup2(log_fd, 2);
	close_others(NULL, 0);
	for (i = 0; s->env[i] != NULL; i++)
		(void)putenv(s->env[i]);
	execl("/bin/sh", "sh", "-c", s->command, (char *)NULL);
	dprintf(2, "backfills-exec: cannot run /bin/sh: %s\n",
	    strerror(errno));
	_exit(127);
}

/* Writes one message to the executor (gone: nothing happens). */
static void
tell(int fd, const struct keeper_news *n)
{
	ssize_t	 w;

	do
		w = write(fd, n, sizeof(*n));
	while (w < 0 && errno == EINTR);
}

/* What a keeper watches. */
struct watch {
	const struct keeper_spec *s;
	pid_t		 pg;		/* the command: its pid and group */
	int		 end;		/* enum keeper_end */
	int		 status;	/* its wait status, once reaped */
	int		 reaped;	/* the command (the group's leader) is */
	int		 others;	/* other descendants may be left */
	int64_t		 deadline;	/* the timeout's, -1: none */
	int64_t		 kill_at;	/* SIGKILL due, -1: none */
};

/* SIGTERM to the command's group, and SIGKILL due after the grace,
 * unless a first reason did that already. */
static void
term_group(struct watch *w, int why)
{
	if (w->end != KEEPER_EXITED)
		return;
	w->end = why;
	w->kill_at = mono_ms() + w->s->grace_ms;
	(void)kill(-w->pg, SIGTERM);
}

/* The timeout, then the grace, at now. */
static void
due(struct watch *w, int64_t now)
{
	if (w->deadline >= 0 && now >= w->deadline) {
		w->deadline = -1;
		if (w->end == KEEPER_EXITED)
			log_msg(LOG_WARN, "run %lld: past its timeout of %lld "
			    "s: SIGTERM to process group %d",
			    (long long)w->s->run_id,
			    (long long)(w->s->timeout_ms / 1000), (int)w->pg);
		term_group(w, KEEPER_TIMEOUT);
	}
	if (w->kill_at >= 0 && now >= w->kill_at) {
		log_msg(LOG_WARN, "run %lld: still there %lld ms after "
		    "SIGTERM: SIGKILL to process group %d",
		    (long long)w->s->run_id, (long long)w->s->grace_ms,
		    (int)w->pg);
		(void)kill(-w->pg, SIGKILL);
		w->kill_at = -1;
	}
}

/* Reaps what exited: the command (its status kept) and, the keeper
 * being their subreaper, its orphaned descendants. A command that ended
 * by itself takes what it left in its group along; one being stopped
 * leaves the rest of its group the grace to finish. */
static void
reap(struct watch *w)
{
	pid_t	 p;
	int	 st;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == w->pg) {
			w->status = st;
			w->reaped = 1;
			if (w->kill_at < 0)
				(void)kill(-w->pg, SIGKILL);
		}
	w->others = !(p < 0 && errno == ECHILD);
}

/* An order from the executor (or end of file: it is gone). Returns 0,
 * or -1 once the pipe is closed. */
static int
on_order(struct watch *w, int ctl)
{
	ssize_t	 r;
	char	 order;

	if ((r = read(ctl, &order, 1)) < 0 && (errno == EINTR ||
	    errno == EAGAIN))
		return 0;
	if (r == 1 && order == KEEPER_KILL) {
		if (w->end == KEEPER_EXITED)
			w->end = KEEPER_STOPPED;
		w->kill_at = -1;
		(void)kill(-w->pg, SIGKILL);
		return 0;
	}
	if (r == 1) {
		term_group(w, KEEPER_STOPPED);
		return 0;
	}
	log_msg(LOG_WARN, "run %lld: the executor is gone: SIGTERM to "
	    "process group %d", (long long)w->s->run_id, (int)w->pg);
	term_group(w, KEEPER_ORPHANED);
	return -1;
}

/* The keeper's life: starts the command, watches it, kills its group
 * when told or due, tells the executor how it ended. Never returns. */
static void __attribute__((noreturn))
keeper_main(const struct keeper_spec *s, int ctl, int news)
{
	static const char *const whys[] = { "", "its timeout passed",
	    "the executor said so", "the executor is gone" };
	struct keeper_news	 n;
	struct signalfd_siginfo	 si;
	struct pollfd		 p[2];
	struct watch		 w;
	sigset_t		 chld;
	int64_t			 start, now, wake;
	int			 keep[3] = { ctl, news, s->log_fd };
	int			 sfd;

	sort3(keep);
	close_others(keep, 3);
	(void)prctl(PR_SET_NAME, "backfills-keep", 0, 0, 0);
	/* The command's orphans become the keeper's children. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	(void)sigprocmask(SIG_BLOCK, &chld, NULL);
	if ((sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		_exit(1);
	memset(&w, 0, sizeof(w));
	w.s = s;
	w.kill_at = -1;
	start = mono_ms();
	w.deadline = s->timeout_ms > 0 ? start + s->timeout_ms : -1;
	if ((w.pg = fork()) < 0)
		_exit(1);
	if (w.pg == 0)
		command_exec(s, s->log_fd);
	(void)setpgid(w.pg, w.pg);	/* as the child does: whichever first */
	(void)close(s->log_fd);
	memset(&n, 0, sizeof(n));
	n.kind = 'S';
	n.pid = w.pg;
	tell(news, &n);
	while (!w.reaped || (w.kill_at >= 0 && w.others)) {
		due(&w, now = mono_ms());
		if (w.reaped && w.kill_at < 0)
			break;
		wake = w.kill_at >= 0 ? w.kill_at : w.deadline;
		p[0].fd = sfd;
		p[0].events = POLLIN;
		p[1].fd = ctl;
		p[1].events = POLLIN;
		if (poll(p, 2, wake < 0 ? -1 : (int)(wake > now ? wake - now :
		    0)) < 0 && errno != EINTR)
			_exit(1);
		if (p[0].revents & POLLIN) {
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			reap(&w);
		}
		if (ctl >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    on_order(&w, ctl) < 0) {
			(void)close(ctl);
			ctl = -1;
		}
	}
	memset(&n, 0, sizeof(n));
	n.kind = 'D';
	n.end = w.end;
	n.status = w.status;
	n.pid = w.pg;
	n.elapsed_ms = mono_ms() - start;
	if (w.end != KEEPER_EXITED)
		log_msg(LOG_INFO, "run %lld: process group %d killed: %s",
		    (long long)s->run_id, (int)w.pg, whys[w.end]);
	tell(news, &n);
	_exit(0);
}

int
keeper_start(struct keeper *k, const struct keeper_spec *s, char *err,
    size_t errlen)
{
	int	 ctl[2], news[2];
	pid_t	 pid;

	memset(k, 0, sizeof(*k));
	if (pipe2(ctl, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(news, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		(void)close(ctl[0]);
		(void)close(ctl[1]);
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		(void)close(ctl[0]);
		(void)close(ctl[1]);
		(void)close(news[0]);
		(void)close(news[1]);
		return -1;
	}
	if (pid == 0)
		keeper_main(s, ctl[0], news[1]);
	(void)close(ctl[0]);
	(void)close(news[1]);
	(void)fcntl(news[0], F_SETFL, O_NONBLOCK);
	k->pid = pid;
	k->ctl = ctl[1];
	k->news = news[0];
	return 0;
}

int
keeper_order(const struct keeper *k, char order)
{
	ssize_t	 w;

	do
		w = write(k->ctl, &order, 1);
	while (w < 0 && errno == EINTR);
	return w == 1 ? 0 : -1;
}

int
keeper_read(struct keeper *k, struct keeper_news *n)
{
	ssize_t	 r;

	do
		r = read(k->news, n, sizeof(*n));
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	if (r != (ssize_t)sizeof(*n))
		return r < 0 && errno == EAGAIN ? -1 : 0;
	if (n->kind == 'S')
		k->pgid = n->pid;
	else if (n->kind == 'D')
		k->done = 1;
	return 1;
}

int
keeper_reap(struct keeper *k)
{
	int	 st, lost = 0;

	while (waitpid(k->pid, &st, 0) < 0 && errno == EINTR)
		;
	(void)close(k->ctl);
	(void)close(k->news);
	if (!k->done) {
		lost = 1;
		if (k->pgid > 1)
			(void)kill(-k->pgid, SIGKILL);
	}
	k->pid = 0;
	return lost;
}
