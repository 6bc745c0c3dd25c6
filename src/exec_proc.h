/*
 * exec_proc: one run's command, under a keeper. The executor forks a
 * small keeper per run; the keeper forks `/bin/sh -c COMMAND` as the
 * leader of a process group of its own and owns that group: it kills
 * the whole group on the command's timeout, on the executor's order,
 * and when the executor is gone (its order pipe reads end of file, which
 * happens however the executor died, kill -9 included). When the command
 * exits, whatever it left in its group is killed too. The executor, for
 * its part, kills the group when the keeper dies before saying the
 * command ended.
 */
#ifndef EXEC_PROC_H
#define EXEC_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* How the command ended. */
enum keeper_end {
	KEEPER_EXITED,		/* by itself */
	KEEPER_TIMEOUT,		/* killed: past its timeout */
	KEEPER_STOPPED,		/* killed: the executor's order */
	KEEPER_ORPHANED		/* killed: the executor was gone */
};

/* What a keeper tells the executor, one message per write. */
struct keeper_news {
	char		 kind;		/* 'S': started, 'D': done */
	int		 end;		/* enum keeper_end ('D') */
	int		 status;	/* the command's wait status ('D') */
	pid_t		 pid;		/* the command: its process group */
	int64_t		 elapsed_ms;	/* from start to end ('D') */
};

struct keeper {
	pid_t		 pid;		/* the keeper, 0 when none */
	pid_t		 pgid;		/* the command's group, 0 unknown */
	int		 ctl;		/* write end: orders */
	int		 news;		/* read end: news (non-blocking) */
	int		 done;		/* 'D' was read */
};

struct keeper_spec {
	const char	*command;	/* run by /bin/sh -c */
	char *const	*env;		/* "NAME=value", NULL-terminated,
					 * added to the executor's own */
	int		 log_fd;	/* the command's stdout and stderr */
	int64_t		 timeout_ms;	/* 0: none */
	int64_t		 grace_ms;	/* SIGTERM to SIGKILL */
	int64_t		 run_id;	/* for the log */
};

/* Orders. */
#define KEEPER_TERM	'T'	/* SIGTERM to the group, SIGKILL after grace */
#define KEEPER_KILL	'K'	/* SIGKILL to the group now */

/* Forks the keeper, which starts the command. Returns 0 with *k set,
 * or -1 with err (nothing left running). */
int	keeper_start(struct keeper *k, const struct keeper_spec *s,
	    char *err, size_t errlen);

/* Sends an order. Returns 0, or -1 when the keeper is gone. */
int	keeper_order(const struct keeper *k, char order);

/* Reads one message into *n. Returns 1, 0 at end of file (the keeper
 * has exited: keeper_reap() it), or -1 when none is there yet. */
int	keeper_read(struct keeper *k, struct keeper_news *n);

/* Waits for the exited keeper, closes its pipes and, when it died before
 * its command's end was told, kills the command's group. Returns 1 when
 * that happened (the command's end is unknown), else 0. */
int	keeper_reap(struct keeper *k);

#endif
