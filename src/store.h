/*
 * store: the domain-level operations the handlers need, over a database
 * (src/store.c, once, over the drivers of db.h; the SQL is in sql.c).
 * Nothing here names a database or a protocol. Every function returns
 * ERR_OK, ERR_NOT_FOUND where a record may be missing, ERR_UNAVAILABLE
 * when the database is locked past its timeout, unreadable, read-only
 * or full, or ERR_INTERNAL.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include "backfill.h"
#include "errors.h"
#include "run.h"

struct store;
struct wlock;

struct store_opts {
	const char	*path;
	int		 durability_full;
	int		 busy_timeout;	/* milliseconds */
	int		 create;	/* create the file if missing */
	int64_t		 max_size;	/* bytes the file may grow to; 0: any */
	struct wlock	*wlock;		/* the pool's write queue, or NULL */
	int		 idle_upkeep;	/* upkeep in store_idle(), not in the
					 * commit that makes it due */
};

struct pipeline {
	char		 uuid[256];
	char		*variables;	/* JSON object text, or NULL; owned */
	int64_t		 backfill_count;
};

/* Schema version this program writes; store_open migrates older ones. */
#define STORE_SCHEMA_VERSION	6

/* Whether a database name is a PostgreSQL URI (postgresql://...). */
int	 store_is_postgres(const char *path);

/* Opens (and, for an older schema, migrates in one transaction) the
 * database. On failure *why holds a one-line reason and *st is NULL:
 * ERR_PRECONDITION for a database newer than STORE_SCHEMA_VERSION (refused),
 * ERR_UNAVAILABLE for one that cannot be opened or read. */
enum err store_open(struct store **st, const struct store_opts *o,
	    char *why, size_t whylen);
void	 store_close(struct store *);
/* The schema version recorded in the database. */
enum err store_schema_version(struct store *, int *version);
/* A cheap read that fails when the database cannot be read. */
enum err store_ping(struct store *);
/* Whether the database failed in a way a new connection may cure (the
 * file went missing, is not a database, or I/O failed): the caller
 * should close this store and open a new one for the next request. */
int	 store_broken(const struct store *);

/* Copies the whole database to a new file at path, safe while others
 * read and write it (where the database can: SQLite). ERR_PRECONDITION
 * if path exists. */
enum err store_backup(struct store *, const char *path);
/* Runs the database's integrity check, then checks the schema version
 * and the kept counts against the rows; *ok is set when all pass, and
 * the first problem is copied into msg otherwise. */
enum err store_check(struct store *, int *ok, char *msg, size_t msglen);

/* Counts for an operator: pipelines, backfills by status (ST_NULL for
 * new ones), and latest run attempts by status. */
struct store_stats {
	int64_t		 pipelines;
	int64_t		 backfills[ST__MAX];
	int64_t		 runs[ST__MAX];
};
enum err store_stats(struct store *, struct store_stats *);

/* A write transaction: it takes the write lock, or the locks of the
 * rows it changes, before it reads them. */
enum err store_begin(struct store *);
/* A read (end it with store_rollback): one snapshot where the database
 * makes that cheap (SQLite), else a snapshot per statement. */
enum err store_begin_read(struct store *);
/* A read of one snapshot across all its statements, whatever that
 * costs (a copy or a backup of the whole database). */
enum err store_begin_snapshot(struct store *);
enum err store_commit(struct store *);
void	 store_rollback(struct store *);
/* Upkeep the caller does between requests, after answering: with
 * idle_upkeep, what the driver put off (SQLite: a checkpoint). */
void	 store_idle(struct store *);

enum err store_pipeline_get(struct store *, const char *uuid,
	    struct pipeline *out);
void	 pipeline_free(struct pipeline *);
/* ERR_PRECONDITION if it exists already. */
enum err store_pipeline_add(struct store *, const char *uuid,
	    const char *variables);
/* ERR_PRECONDITION if it has backfills and !force; *removed counts the
 * backfills removed with it. */
enum err store_pipeline_remove(struct store *, const char *uuid, int force,
	    int64_t *removed);
typedef int (*store_pipeline_fn)(const struct pipeline *, void *);
enum err store_pipeline_list(struct store *, store_pipeline_fn, void *);

/* Loads one backfill (strings copied: backfill_free() it). */
enum err store_backfill_get(struct store *, int64_t id, struct backfill *out);
/* Inserts b (id 0 picks the next one) at version 1; sets b's id. */
enum err store_backfill_insert(struct store *, struct backfill *b);
/* Writes only the columns in changed, and bumps b's version. */
enum err store_backfill_update(struct store *, struct backfill *b,
	    uint32_t changed);
enum err store_backfill_delete(struct store *, int64_t id);

/* Lists backfills newest first (created_at, then id, descending),
 * optionally of one pipeline. fn sees each row (strings valid only
 * during the call; returns 0 to go on). *count is the kept number of
 * all matching rows; *next is set when rows follow this page. */
typedef int (*store_backfill_fn)(const struct backfill *, void *);
enum err store_backfill_list(struct store *, const char *pipeline,
	    int64_t limit, int64_t offset, int64_t *count, int *next,
	    store_backfill_fn fn, void *arg);

/* API keys and OAuth tokens, stored by the SHA-256 of the secret. */
enum cred_kind { CRED_KEY, CRED_TOKEN };

struct credential {
	int64_t		 id;
	unsigned char	 hash[32];
	char		 name[256];	/* "" when none */
	char		 role[16];	/* tokens: viewer, editor, owner */
	int64_t		 expires_at;	/* tokens: microseconds, UTC */
	int64_t		 created_at;
	int64_t		 revoked_at;	/* 0 while valid */
};

/* Adds a credential (c->hash, name, role, expires_at, created_at); sets
 * c->id. ERR_PRECONDITION when the same secret exists already. */
enum err store_cred_add(struct store *, enum cred_kind, struct credential *c);
/* Finds a credential by its hash, revoked or not. ERR_NOT_FOUND if none. */
enum err store_cred_find(struct store *, enum cred_kind,
	    const unsigned char hash[32], struct credential *out);
/* Marks one revoked at now. ERR_NOT_FOUND if no such id of that kind. */
enum err store_cred_revoke(struct store *, enum cred_kind, int64_t id,
	    int64_t now);
/* A number that changes whenever any credential is added, revoked or
 * removed, so a worker may keep what it looked up until it does. */
enum err store_cred_version(struct store *, int64_t *version);
typedef int (*store_cred_fn)(const struct credential *, void *);
enum err store_cred_list(struct store *, enum cred_kind, store_cred_fn,
	    void *);

/*
 * Pipeline runs. Each planned date has attempts; the newest is its
 * latest. The store keeps, per backfill, how many latest attempts are
 * in each status (struct run_counts), so no report scans the runs.
 */

/* The execution dates whose latest attempt is completed, ascending, in a
 * malloc'd array (free it). */
enum err store_runs_completed(struct store *, int64_t backfill_id,
	    int64_t **dates, size_t *n);
/* Retires every latest attempt that is not completed (a new one will
 * replace it): it stops being latest, and is cancelled if unfinished. */
enum err store_runs_supersede(struct store *, int64_t backfill_id,
	    int64_t now);
/* Inserts r as its date's latest attempt; sets r->id. Call
 * store_runs_recount() after a batch. */
enum err store_run_insert(struct store *, struct run *r);
/* Cancels every unfinished (initial or running) run of a backfill. */
enum err store_runs_cancel(struct store *, int64_t backfill_id, int64_t now);
/* Recomputes a backfill's kept counts from its runs. */
enum err store_runs_recount(struct store *, int64_t backfill_id);
enum err store_run_counts(struct store *, int64_t backfill_id,
	    struct run_counts *out);
/* Loads one run; r->variables is malloc'd (free it). */
enum err store_run_get(struct store *, int64_t id, struct run *r);
/* Writes a run's status and timestamps, moving the kept counts. */
enum err store_run_update(struct store *, const struct run *r,
	    enum bf_status old);
/* Lists runs by execution date then id; backfill_id 0 for all, status
 * ST_NULL for any. As store_backfill_list for the rest. */
typedef int (*store_run_fn)(const struct run *, void *);
enum err store_run_list(struct store *, int64_t backfill_id,
	    enum bf_status status, int64_t limit, int64_t offset,
	    int64_t *count, int *next, store_run_fn, void *);

#endif
