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
	char		*retry_config;	/* JSON object text, or NULL; owned */
};

/* Schema version this program writes; store_open migrates older ones. */
#define STORE_SCHEMA_VERSION	7

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
/* The database's size in bytes. */
enum err store_size(struct store *, int64_t *bytes);

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
/* Writes p's variables and retry_config over the pipeline p->uuid. */
enum err store_pipeline_set(struct store *, const struct pipeline *p);
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
/* Writes only the columns in changed, and bumps b's version: b must
 * have been read in this write transaction (its row locked), at it. */
enum err store_backfill_update(struct store *, struct backfill *b,
	    uint32_t changed);
enum err store_backfill_delete(struct store *, int64_t id);

/* Lists backfills newest first (created_at, then id, descending),
 * optionally of one pipeline. fn sees each row (strings valid only
 * during the call; returns 0 to go on). *count is the kept number of
 * all matching rows; *next is set when rows follow this page. One
 * statement, two when the page is empty; ERR_NOT_FOUND when pipeline
 * names none (a page with rows shows that it exists). */
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
/* Marks one revoked at now. ERR_NOT_FOUND if no such id of that kind,
 * ERR_PRECONDITION if it was revoked already (its time is kept). */
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
/* Inserts r (status initial, r->attempt, r->not_before) as its date's
 * latest attempt; sets r->id. Call store_runs_recount() after a batch,
 * or move the counts. */
enum err store_run_insert(struct store *, struct run *r);
/* Makes a run no longer its date's latest attempt (a new attempt
 * replaces it); the kept counts are the caller's to move. */
enum err store_run_retire(struct store *, int64_t id);
/* Cancels every unfinished (initial or running) run of a backfill. */
enum err store_runs_cancel(struct store *, int64_t backfill_id, int64_t now);
/* Recomputes a backfill's kept counts from its runs. */
enum err store_runs_recount(struct store *, int64_t backfill_id);
enum err store_run_counts(struct store *, int64_t backfill_id,
	    struct run_counts *out);
/* Loads one run (in a write, locking its backfill first); its strings
 * are malloc'd: run_free() it. */
enum err store_run_get(struct store *, int64_t id, struct run *r);
/* The id of a backfill's latest attempt at date. ERR_NOT_FOUND when the
 * backfill has no run of that date. */
enum err store_run_latest(struct store *, int64_t backfill_id, int64_t date,
	    int64_t *id);
void	 run_free(struct run *r);
/* Writes a run's status, timestamps, metrics and lease, moving the
 * kept counts from old when it is its date's latest attempt. */
enum err store_run_update(struct store *, const struct run *r,
	    enum bf_status old);
/* Moves one kept count of a backfill from status from to status to. */
enum err store_run_counts_move(struct store *, int64_t backfill_id,
	    enum bf_status from, enum bf_status to);
/* Lists runs newest first (execution date, then id, descending);
 * backfill_id 0 for all, status ST_NULL for any, latest_only for each
 * date's latest attempt only. fn, *count and *next as for
 * store_backfill_list; one statement, two when the page is empty. */
typedef int (*store_run_fn)(const struct run *, void *);
enum err store_run_list(struct store *, int64_t backfill_id,
	    enum bf_status status, int latest_only, int64_t limit,
	    int64_t offset, int64_t *count, int *next, store_run_fn, void *);

/* What a claim gives the run it takes. */
struct run_lease {
	const char	*id;		/* the lease's id (random) */
	const char	*owner;		/* the executor's name */
	int64_t		 expires_at;
};

/* Takes the next run to do (docs/API.md, "Executors": the oldest date first of
 * the latest initial attempts that may start at now, of a started
 * backfill below its run limit, of the pipelines named by the JSON
 * array text pipelines, or any when NULL): it becomes running with the
 * lease, and the kept counts move. Exclusive among any number of
 * claimers. ERR_NOT_FOUND when none may start; else r is filled
 * (run_free() it). */
enum err store_run_claim(struct store *, const char *pipelines, int64_t now,
	    const struct run_lease *, struct run *r);
/* The ids of up to n running runs whose lease lapsed at or before now,
 * into ids; *got says how many. */
enum err store_runs_lapsed(struct store *, int64_t now, int64_t *ids,
	    size_t n, size_t *got);

/*
 * Idempotent requests (Idempotency-Key): the first answer to a request,
 * kept per credential and key, so that a retry gets it again instead of
 * doing the request twice.
 */
struct idem {
	unsigned char	 request[32];	/* the request's SHA-256 */
	int		 status;
	char		*headers;	/* "Name: value\r\n" lines; owned */
	char		*body;		/* owned */
};
void	 idem_free(struct idem *);
/* The answer kept for (who, key) since since, in a write transaction
 * (where the database takes locks, one key at a time). ERR_NOT_FOUND when
 * there is none. */
enum err store_idem_get(struct store *, const unsigned char who[32],
	    const char *key, int64_t since, struct idem *out);
/* Keeps an answer for (who, key) at now, replacing an older one, and
 * drops those older than purge. */
enum err store_idem_put(struct store *, const unsigned char who[32],
	    const char *key, const struct idem *, int64_t now, int64_t purge);

#endif
