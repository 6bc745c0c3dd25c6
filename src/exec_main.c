/*
 * backfills-exec: claims planned pipeline runs through the backfills
 * API and runs a command for each (backfills-exec(8)). One process, one
 * thread, one loop over poll(2): a signalfd, and the news pipe of each
 * run's keeper (exec_proc.c); between them it renews leases, reports,
 * retries what failed for a passing reason and claims while it has room.
 * HTTP calls (exec_api.c) block, each bounded by http_timeout; the
 * keepers enforce timeouts and kills on their own meanwhile.
 *
 * Exit status: 0 (--once: nothing left to claim and nothing running;
 * without it: stopped by SIGTERM, SIGINT or SIGHUP), 1 on a failure
 * (bad conf, a refused claim under --once), 2 on bad usage.
 */
#define _GNU_SOURCE	/* sigabbrev_np */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec_api.h"
#include "exec_conf.h"
#include "exec_proc.h"
#include "log.h"

#define BACKOFF_MIN	500		/* ms: the first retry's wait */
#define BACKOFF_MAX	30000		/* ms: the longest */

enum slot_state { SLOT_FREE, SLOT_RUNNING, SLOT_REPORTING };

/* Why the executor stopped a command (none: it ended by itself or by
 * its timeout). */
enum stop_why { WHY_NONE, WHY_CANCELLED, WHY_LEASE_LOST, WHY_SHUTDOWN };

/* One run this executor holds: running under its keeper, then being
 * reported. */
struct slot {
	enum slot_state		 state;
	struct claimed_run	 run;
	struct keeper		 k;
	struct keeper_news	 end;		/* the keeper's 'D' */
	enum stop_why		 why;
	char			 log_path[PATH_MAX];
	int64_t			 lease_until;	/* ms: as far as we know */
	int64_t			 renew_at;	/* ms */
	int64_t			 try_at;	/* ms: the report's next try */
	int64_t			 backoff;	/* ms */
	int64_t			 timeout;	/* ms, 0: none */
	char			 status[16];	/* the report's */
	struct buf		 metrics;	/* the report's */
	int			 resent;	/* re-sent as cancelled */
};

struct exec {
	struct exec_conf	 c;
	struct api		 api;
	struct slot		*slots;
	struct pollfd		*pfd;
	struct buf		 pipelines;	/* the claim's */
	char			 host[256];
	int			 sfd;		/* signals */
	int			 once;
	int			 stopping;	/* 1: draining, 2: stopped all */
	int			 idle;		/* the last claim found none */
	int			 refused;	/* a claim was refused */
	int64_t			 stop_at;
	int64_t			 claim_at;
	int64_t			 claim_backoff;
	unsigned int		 seed;
};

/* Milliseconds of CLOCK_MONOTONIC. */
static int64_t
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next wait after one of prev ms (0: the first), or what the server
 * asked for: doubled, within BACKOFF_MIN..BACKOFF_MAX, less up to a
 * quarter at random so that executors do not retry in step. */
static int64_t
next_backoff(struct exec *e, int64_t prev, int64_t asked)
{
	int64_t	 b = prev <= 0 ? BACKOFF_MIN : prev * 2;

	if (b > BACKOFF_MAX)
		b = BACKOFF_MAX;
	b -= (int64_t)(rand_r(&e->seed) % (unsigned int)(b / 4 + 1));
	return asked > b ? asked : b;
}

/* How often a held lease is renewed: every poll interval (so a cancel
 * is seen within one), at most a third of the lease. */
static int64_t
renew_every(const struct exec *e, const struct slot *s)
{
	int64_t	 third = s->run.lease_seconds * 1000 / 3;
	int64_t	 every = e->c.poll_interval < third ? e->c.poll_interval :
		    third;

	return every < 200 ? 200 : every;
}

static void
slot_free(struct exec *e, struct slot *s)
{
	claimed_run_free(&s->run);
	buf_free(&s->metrics);
	memset(s, 0, sizeof(*s));
	s->state = SLOT_FREE;
	e->claim_at = 0;	/* room again: claim now */
}

/* Writes the report of slot s, whose command ended as s->end says (lost:
 * its keeper died first, the end is unknown), into s->status and
 * s->metrics. */
static void
build_report(struct exec *e, struct slot *s, int lost)
{
	const struct keeper_news *n = &s->end;
	struct buf	*m = &s->metrics;
	const char	*reason, *sig;
	char		 what[64];
	int		 code = -1, signo = 0;

	if (!lost && WIFEXITED(n->status))
		code = WEXITSTATUS(n->status);
	else if (!lost && WIFSIGNALED(n->status))
		signo = WTERMSIG(n->status);
	if (lost)
		reason = "keeper_died";
	else if (s->why == WHY_CANCELLED)
		reason = "cancelled";
	else if (n->end == KEEPER_TIMEOUT)
		reason = "timeout";
	else if (s->why == WHY_SHUTDOWN && n->end == KEEPER_STOPPED)
		reason = "executor_stopped";
	else
		reason = code == 0 ? "exited" : code > 0 ? "exit_code" :
		    "signal";
	snprintf(s->status, sizeof(s->status), "%s",
	    s->why == WHY_CANCELLED ? "cancelled" :
	    strcmp(reason, "exited") == 0 ? "completed" : "failed");
	buf_reset(m);
	buf_puts(m, "{\"exit_code\": ");
	if (code >= 0)
		buf_int(m, code);
	else
		buf_puts(m, "null");
	buf_puts(m, ", \"signal\": ");
	if (signo > 0 && (sig = sigabbrev_np(signo)) != NULL)
		buf_printf(m, "%d, \"signal_name\": \"SIG%s\"", signo, sig);
	else
		buf_puts(m, "null, \"signal_name\": null");
	buf_printf(m, ", \"duration_seconds\": %.3f, \"reason\": \"%s\"",
	    (double)n->elapsed_ms / 1000, reason);
	if (strcmp(reason, "timeout") == 0)
		buf_printf(m, ", \"timeout_seconds\": %.3f",
		    (double)s->timeout / 1000);
	buf_puts(m, ", \"host\": ");
	buf_json_str(m, e->host, strlen(e->host));
	buf_puts(m, ", \"executor\": ");
	buf_json_str(m, e->c.name, strlen(e->c.name));
	buf_printf(m, ", \"attempt\": %lld, \"log\": ",
	    (long long)s->run.attempt);
	buf_json_str(m, s->log_path, strlen(s->log_path));
	buf_putc(m, '}');
	if (lost)
		snprintf(what, sizeof(what), "its keeper died");
	else if (code >= 0)
		snprintf(what, sizeof(what), "exit %d", code);
	else
		snprintf(what, sizeof(what), "signal SIG%s",
		    (sig = sigabbrev_np(signo)) != NULL ? sig : "?");
	log_msg(LOG_INFO, "run %lld finished: %s (%s, %.1f s)",
	    (long long)s->run.id, s->status, what,
	    (double)n->elapsed_ms / 1000);
}

/* The run in slot s is over on this side (its keeper reaped): reported
 * from now on, or dropped when its lease is lost. */
static void
run_over(struct exec *e, struct slot *s, int lost)
{
	if (s->why == WHY_LEASE_LOST) {
		log_msg(LOG_WARN, "run %lld: the lease was lost: not "
		    "reported (the service fails the run, and may retry it)",
		    (long long)s->run.id);
		slot_free(e, s);
		return;
	}
	build_report(e, s, lost);
	s->state = SLOT_REPORTING;
	s->try_at = 0;
	s->backoff = 0;
}

/* Stops the command of slot s, for why, with order (KEEPER_TERM or
 * KEEPER_KILL); the first reason stays. */
static void
stop_run(struct slot *s, enum stop_why why, char order)
{
	if (s->why == WHY_NONE || why == WHY_LEASE_LOST)
		s->why = why;
	(void)keeper_order(&s->k, order);
}

/* The lease of slot s is gone (the service said so, or it lapsed
 * unrenewed): its command is killed at once, nothing is reported. */
static void
lease_lost(struct slot *s, const char *how)
{
	if (s->why == WHY_LEASE_LOST)
		return;
	log_msg(LOG_WARN, "run %lld: lease lost (%s): killing its command",
	    (long long)s->run.id, how);
	stop_run(s, WHY_LEASE_LOST, KEEPER_KILL);
}

/* Renews the lease of running slot s, sent at now (a cancel shows in
 * the answer). Past the lease's end it still asks, the service being
 * the judge; the lease is given up when the service says it is gone, or
 * when it lapsed while the service could not be reached. */
static void
renew(struct exec *e, struct slot *s, int64_t now)
{
	struct api_reply rep;
	char		 st[32];

	if (api_put_run(&e->api, &s->run, NULL, NULL, st, sizeof(st), &rep) ==
	    0) {
		s->lease_until = now + s->run.lease_seconds * 1000;
		s->renew_at = mono_ms() + renew_every(e, s);
		s->backoff = 0;
		if (strcmp(st, "cancelled") == 0 && s->why != WHY_CANCELLED &&
		    s->why != WHY_LEASE_LOST) {
			log_msg(LOG_INFO, "run %lld: cancelled: SIGTERM to its "
			    "process group %d", (long long)s->run.id,
			    (int)s->k.pgid);
			stop_run(s, WHY_CANCELLED, KEEPER_TERM);
		}
		return;
	}
	if (strcmp(rep.type, "lease_lost") == 0 || rep.status == 404) {
		lease_lost(s, rep.why);
		return;
	}
	if ((now = mono_ms()) >= s->lease_until) {
		lease_lost(s, "it lapsed before a renewal went through");
		return;
	}
	s->backoff = next_backoff(e, s->backoff, rep.retry_after);
	s->renew_at = now + s->backoff < s->lease_until ? now + s->backoff :
	    s->lease_until;
	log_msg(LOG_WARN, "run %lld: renewal failed (%s); again in %lld ms",
	    (long long)s->run.id, rep.why, (long long)(s->renew_at - now));
}

/* Sends the report of slot s; retries what failed for a passing reason
 * while the lease holds. */
static void
report(struct exec *e, struct slot *s)
{
	struct api_reply rep;
	char		 st[32];
	int64_t		 now;

	if (api_put_run(&e->api, &s->run, s->status, s->metrics.data, st,
	    sizeof(st), &rep) == 0) {
		log_msg(LOG_INFO, "run %lld reported %s", (long long)s->run.id,
		    s->status);
		slot_free(e, s);
		return;
	}
	if (strcmp(rep.type, "invalid_transition") == 0 && !s->resent) {
		/* Only a cancel moves a run under its lease holder: say
		 * cancelled, with the metrics. */
		log_msg(LOG_INFO, "run %lld: cancelled before its report: "
		    "reported as cancelled", (long long)s->run.id);
		snprintf(s->status, sizeof(s->status), "cancelled");
		s->resent = 1;
		return;
	}
	now = mono_ms();
	if (rep.outcome != API_RETRY || now >= s->lease_until) {
		log_msg(LOG_ERROR, "run %lld: report of %s lost: %s%s",
		    (long long)s->run.id, s->status, rep.why,
		    rep.outcome == API_RETRY ? " (and the lease has lapsed "
		    "since)" : "");
		slot_free(e, s);
		return;
	}
	s->backoff = next_backoff(e, s->backoff, rep.retry_after);
	if (now + s->backoff > s->lease_until)
		s->backoff = s->lease_until - now;	/* one last try */
	s->try_at = now + s->backoff;
	log_msg(LOG_WARN, "run %lld: report failed (%s); again in %lld ms",
	    (long long)s->run.id, rep.why, (long long)s->backoff);
}

/* Opens the log file of the claimed run in slot s (its path into
 * s->log_path). Returns the descriptor, or -1 with err. */
static int
open_log(struct exec *e, struct slot *s, char *err, size_t errlen)
{
	char	 d[32];
	size_t	 i, j;
	int	 fd;

	/* "YYYY-MM-DD HH:MM:SS" -> "YYYYMMDDTHHMMSS" */
	for (i = j = 0; s->run.execution_date[i] != '\0' && j < 20; i++) {
		char c = s->run.execution_date[i];

		if (c >= '0' && c <= '9')
			d[j++] = c;
		else if (c == ' ' || c == 'T')
			d[j++] = 'T';
	}
	d[j] = '\0';
	if ((size_t)snprintf(s->log_path, sizeof(s->log_path),
	    "%s/bf%lld-%s-run%lld.log", e->c.log_dir,
	    (long long)s->run.backfill_id, d, (long long)s->run.id) >=
	    sizeof(s->log_path)) {
		snprintf(err, errlen, "log_dir: path too long");
		return -1;
	}
	if ((fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0640)) < 0)
		snprintf(err, errlen, "%s: %s", s->log_path, strerror(errno));
	return fd;
}

/* Starts the claimed run in slot s under a keeper; sent: when the claim
 * was sent (its lease counts from then). A run that cannot start is
 * reported failed. */
static void
start_run(struct exec *e, struct slot *s, int64_t sent)
{
	const struct exec_pipeline *pl;
	struct keeper_spec ks;
	char		 err[PATH_MAX + 128] = "";
	int		 fd = -1;

	s->state = SLOT_RUNNING;
	s->lease_until = sent + s->run.lease_seconds * 1000;
	s->renew_at = mono_ms() + renew_every(e, s);
	log_msg(LOG_INFO, "claimed run %lld: backfill %lld, pipeline %s, %s, "
	    "attempt %lld", (long long)s->run.id, (long long)s->run.backfill_id,
	    s->run.pipeline_uuid, s->run.execution_date,
	    (long long)s->run.attempt);
	if ((pl = exec_conf_pipeline(&e->c, s->run.pipeline_uuid)) == NULL)
		snprintf(err, sizeof(err), "no command for pipeline %s",
		    s->run.pipeline_uuid);
	else if ((fd = open_log(e, s, err, sizeof(err))) >= 0) {
		memset(&ks, 0, sizeof(ks));
		ks.command = pl->command.data;
		ks.env = s->run.env;
		ks.log_fd = fd;
		ks.timeout_ms = s->timeout = pl->timeout >= 0 ? pl->timeout :
		    e->c.timeout;
		ks.grace_ms = e->c.kill_grace;
		ks.run_id = s->run.id;
		if (keeper_start(&s->k, &ks, err, sizeof(err)) == 0)
			err[0] = '\0';
		(void)close(fd);
	}
	if (err[0] == '\0')
		return;
	log_msg(LOG_ERROR, "run %lld cannot start: %s", (long long)s->run.id,
	    err);
	/* As a command that ran and failed: reported failed, exit 127. */
	memset(&s->end, 0, sizeof(s->end));
	s->end.kind = 'D';
	s->end.status = 127 << 8;
	run_over(e, s, 0);
}

/* Claims runs while there is room and the service has some. */
static void
claim_more(struct exec *e)
{
	struct api_reply rep;
	struct slot	*s;
	int64_t		 i, sent;
	int		 rc;

	for (;;) {
		for (i = 0, s = NULL; i < e->c.concurrency && s == NULL; i++)
			if (e->slots[i].state == SLOT_FREE)
				s = &e->slots[i];
		if (s == NULL || e->stopping || e->refused)
			return;
		sent = mono_ms();
		rc = api_claim(&e->api, e->c.name, e->pipelines.data, &s->run,
		    &rep);
		if (rc == 1) {
			e->idle = 0;
			e->claim_backoff = 0;
			start_run(e, s, sent);
			continue;
		}
		if (rc == 0) {
			e->idle = 1;
			e->claim_backoff = 0;
			e->claim_at = mono_ms() + e->c.poll_interval;
			return;
		}
		if (rep.outcome == API_REFUSED && e->once) {
			log_msg(LOG_ERROR, "claim refused: %s", rep.why);
			e->refused = 1;
			return;
		}
		e->idle = 0;
		e->claim_backoff = next_backoff(e, e->claim_backoff,
		    rep.retry_after);
		if (rep.outcome == API_REFUSED &&
		    e->claim_backoff < e->c.poll_interval)
			e->claim_backoff = e->c.poll_interval;
		e->claim_at = mono_ms() + e->claim_backoff;
		log_msg(rep.outcome == API_REFUSED ? LOG_ERROR : LOG_WARN,
		    "claim failed (%s); again in %lld ms", rep.why,
		    (long long)e->claim_backoff);
		return;
	}
}

/* Reads the news of running slot s: its start, its end, its keeper's
 * exit (then the run is over on this side). */
static void
read_news(struct exec *e, struct slot *s)
{
	struct keeper_news n;
	int		 rc, lost;

	while ((rc = keeper_read(&s->k, &n)) == 1) {
		if (n.kind == 'S')
			log_msg(LOG_INFO, "run %lld started: pid %d, log %s",
			    (long long)s->run.id, (int)n.pid, s->log_path);
		else if (n.kind == 'D')
			s->end = n;
	}
	if (rc == 0) {
		lost = keeper_reap(&s->k);
		if (lost)
			log_msg(LOG_ERROR, "run %lld: its keeper died: process "
			    "group %d killed", (long long)s->run.id,
			    (int)s->k.pgid);
		run_over(e, s, lost);
	}
}

/* Handles the signals waiting: SIGTERM, SIGINT or SIGHUP stop claiming;
 * running commands get kill_grace to finish; a second one stops them
 * at once. */
static void
read_signals(struct exec *e)
{
	struct signalfd_siginfo si;
	int64_t		 i, n = 0;

	while (read(e->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		for (i = 0; i < e->c.concurrency; i++)
			n += e->slots[i].state == SLOT_RUNNING;
		if (e->stopping == 0) {
			e->stopping = 1;
			e->stop_at = mono_ms() + e->c.kill_grace;
			log_msg(LOG_INFO, "SIG%s: claiming nothing more; %lld "
			    "running get %lld ms to finish",
			    sigabbrev_np((int)si.ssi_signo), (long long)n,
			    (long long)e->c.kill_grace);
		} else if (e->stopping == 1) {
			e->stop_at = 0;
			log_msg(LOG_INFO, "SIG%s again: stopping the running "
			    "now", sigabbrev_np((int)si.ssi_signo));
		}
	}
}

/* One turn of the loop's work at now. */
static void
work(struct exec *e, int64_t now)
{
	struct slot	*s;
	int64_t		 i;

	if (e->stopping == 1 && now >= e->stop_at) {
		e->stopping = 2;
		for (i = 0; i < e->c.concurrency; i++)
			if ((s = &e->slots[i])->state == SLOT_RUNNING) {
				log_msg(LOG_INFO, "run %lld: the executor "
				    "stops: SIGTERM to its process group %d",
				    (long long)s->run.id, (int)s->k.pgid);
				stop_run(s, WHY_SHUTDOWN, KEEPER_TERM);
			}
	}
	for (i = 0; i < e->c.concurrency; i++) {
		s = &e->slots[i];
		if (s->state == SLOT_RUNNING && now >= s->renew_at &&
		    s->why != WHY_LEASE_LOST)
			renew(e, s, mono_ms());
		else if (s->state == SLOT_REPORTING && now >= s->try_at)
			report(e, s);
	}
	if (mono_ms() >= e->claim_at)
		claim_more(e);
}

/* Waits for news, a signal or the next thing due (a minute at most),
 * and reads what came. */
static void
wait_next(struct exec *e, int64_t now)
{
	struct slot	*s;
	int64_t		 i, wake = -1, t;
	nfds_t		 n = 1;
	int		 ms;

#define DUE(x)	do { t = (x); if (wake < 0 || t < wake) wake = t; } while (0)
	e->pfd[0].fd = e->sfd;
	e->pfd[0].events = POLLIN;
	for (i = 0; i < e->c.concurrency; i++) {
		s = &e->slots[i];
		e->pfd[i + 1].fd = -1;
		e->pfd[i + 1].events = POLLIN;
		if (s->state == SLOT_RUNNING) {
			e->pfd[i + 1].fd = s->k.news;
			if (s->why != WHY_LEASE_LOST)
				DUE(s->renew_at);
		} else if (s->state == SLOT_REPORTING)
			DUE(s->try_at);
		else if (!e->stopping && !e->refused)
			DUE(e->claim_at);
		n = (nfds_t)i + 2;
	}
	if (e->stopping == 1)
		DUE(e->stop_at);
#undef DUE
	ms = wake < 0 ? -1 : wake <= now ? 0 : wake - now > 60000 ? 60000 :
	    (int)(wake - now);
	if (poll(e->pfd, n, ms) < 0 && errno != EINTR) {
		log_msg(LOG_ERROR, "poll: %s", strerror(errno));
		sleep(1);
		return;
	}
	if (e->pfd[0].revents & POLLIN)
		read_signals(e);
	for (i = 0; i < e->c.concurrency; i++)
		if (e->slots[i].state == SLOT_RUNNING &&
		    (e->pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
			read_news(e, &e->slots[i]);
}

/* Whether the executor is done: stopping (or --once with nothing left
 * to claim) and no run held. */
static int
finished(const struct exec *e)
{
	int64_t	 i;

	for (i = 0; i < e->c.concurrency; i++)
		if (e->slots[i].state != SLOT_FREE)
			return 0;
	return e->stopping || (e->once && (e->idle || e->refused));
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: backfills-exec -c conf [--once]\n"
	    "       backfills-exec --help | --version\n"
	    "  -c, --conf FILE  the configuration (else $BACKFILLS_EXEC_CONF)\n"
	    "  --once           exit 0 once nothing is claimable and nothing "
	    "runs\n");
}

/* Sets e up from the conf at path: the log folder, the API handle, the
 * signals. Returns 0, or -1 with the reason logged. */
static int
setup(struct exec *e, const char *path)
{
	char		 err[PATH_MAX + 600];
	sigset_t	 sigs;

	if (exec_conf_load(&e->c, path, err, sizeof(err)) < 0) {
		log_msg(LOG_ERROR, "%s", err);
		return -1;
	}
	log_set_level(e->c.log_level);
	if (gethostname(e->host, sizeof(e->host) - 1) < 0)
		snprintf(e->host, sizeof(e->host), "localhost");
	if (e->c.name[0] == '\0')
		snprintf(e->c.name, sizeof(e->c.name), "%.200s:%d", e->host,
		    (int)getpid());
	if (mkdir(e->c.log_dir, 0750) < 0 && errno != EEXIST) {
		log_msg(LOG_ERROR, "log_dir %s: %s", e->c.log_dir,
		    strerror(errno));
		return -1;
	}
	if (access(e->c.log_dir, W_OK | X_OK) < 0) {
		log_msg(LOG_ERROR, "log_dir %s: %s", e->c.log_dir,
		    strerror(errno));
		return -1;
	}
	exec_conf_pipelines_json(&e->c, &e->pipelines);
	if ((e->slots = calloc((size_t)e->c.concurrency, sizeof(*e->slots)))
	    == NULL || (e->pfd = calloc((size_t)e->c.concurrency + 1,
	    sizeof(*e->pfd))) == NULL || e->pipelines.oom) {
		log_msg(LOG_ERROR, "out of memory");
		return -1;
	}
	if (api_init(&e->api, &e->c, err, sizeof(err)) < 0) {
		log_msg(LOG_ERROR, "%s", err);
		return -1;
	}
	/* A keeper gone mid-order must not kill the executor. */
	(void)signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0 ||
	    (e->sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		log_msg(LOG_ERROR, "signalfd: %s", strerror(errno));
		return -1;
	}
	e->seed = (unsigned int)getpid() ^ (unsigned int)mono_ms();
	log_msg(LOG_INFO, "backfills-exec %s as %s: %s, %lld at once%s",
	    BACKFILLS_VERSION, e->c.name, e->c.url,
	    (long long)e->c.concurrency, e->once ? ", --once" : "");
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "conf", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct exec	 e;
	const char	*path = getenv("BACKFILLS_EXEC_CONF");
	int		 ch, rc = 1;

	memset(&e, 0, sizeof(e));
	e.sfd = -1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1)
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'o':
			e.once = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("backfills-exec %s\n", BACKFILLS_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	if (optind != argc || path == NULL || path[0] == '\0') {
		if (optind == argc)
			fprintf(stderr, "backfills-exec: no conf: pass -c FILE "
			    "or set BACKFILLS_EXEC_CONF\n");
		usage(stderr);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_msg(LOG_ERROR, "libcurl: cannot start");
		return 1;
	}
	if (setup(&e, path) == 0) {
		while (!finished(&e)) {
			work(&e, mono_ms());
			if (!finished(&e))
				wait_next(&e, mono_ms());
		}
		log_msg(LOG_INFO, "exiting: %s", e.stopping ? "stopped" :
		    e.refused ? "a claim was refused" : "nothing to claim");
		rc = e.refused ? 1 : 0;
	}
	if (e.sfd >= 0)
		(void)close(e.sfd);
	api_free(&e.api);
	buf_free(&e.pipelines);
	free(e.slots);
	free(e.pfd);
	exec_conf_free(&e.c);
	curl_global_cleanup();
	return rc;
}
