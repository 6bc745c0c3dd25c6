/*
 * The SQLite 3 driver: one connection per worker, opened after fork,
 * WAL, every statement of sql.c prepared once (persistent) and reset
 * after each use. What only SQLite needs is here: the busy handler, the
 * pool's write queue (wlock.h) around BEGIN IMMEDIATE, the WAL synced
 * after COMMIT, checkpoints between requests, and a database file moved
 * away under an open connection.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "wlock.h"

enum tx { TX_DEFERRED, TX_IMMEDIATE, TX_COMMIT, TX_ROLLBACK, TX__MAX };

/* The backfill updates of so many masks of changed fields stay
 * prepared (a client tends to send the same fields each time). */
#define UPDATE_CACHE	8

struct db {
	sqlite3		*db;
	sqlite3_stmt	*stmt[S__MAX];	/* NULL: not in this dialect */
	int		 busy_timeout;	/* milliseconds */
	struct timespec	 busy_since;
	int		 broken;	/* see store_broken() */
	int		 sync_after;	/* durability full: see sq_commit() */
	struct wlock	*wlock;		/* the pool's write queue, or NULL */
	int		 queued;	/* this connection holds it */
	int		 wal;		/* in WAL mode */
	dev_t		 wal_dev;	/* the log this connection writes */
	ino_t		 wal_ino;	/* (0: none seen yet) */
	int		 wal_lost;	/* it is no longer at its path */
	sqlite3_stmt	*tx[TX__MAX];	/* BEGIN, COMMIT, ...: prepared once */
	struct {			/* S_BACKFILL_UPDATE per changed mask */
		uint32_t	 mask;
		sqlite3_stmt	*s;
	} upd[UPDATE_CACHE];
	int		 upd_next;	/* the slot to replace next */
	int		 wal_frames;	/* log length after our last commit */
	int64_t		 wal_when;	/* and when (wlock_now_ns) */
	int64_t		 ckpt_after;	/* no checkpoint before (ns) */
};

/* Checkpoint (in sq_idle) once the log holds this many pages: SQLite's
 * own wal_autocheckpoint default. The checkpoint waits at most
 * CHECKPOINT_WAIT_MS for a reader still on an older snapshot (writers
 * are held back meanwhile); one that could not complete is not tried
 * again by this connection for CHECKPOINT_BACKOFF_MS. */
#define CHECKPOINT_FRAMES	1000
#define CHECKPOINT_WAIT_MS	20
#define CHECKPOINT_BACKOFF_MS	1000

/*
 * The busy handler. Writes here hold the lock for tens of microseconds,
 * so a waiter first yields the CPU (on a busy machine the holder is
 * often the one waiting for it), then polls every 50 microseconds until
 * busy_timeout has passed. SQLite's own handler sleeps in steps that
 * grow to 100 ms, far longer than the lock is held.
 */
static int
busy_wait(void *arg, int count)
{
	struct db	*st = arg;
	struct timespec	 now, nap = { 0, 50000 };
	long		 ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (count == 0)
		st->busy_since = now;
	ms = (now.tv_sec - st->busy_since.tv_sec) * 1000 +
	    (now.tv_nsec - st->busy_since.tv_nsec) / 1000000;
	if (ms >= st->busy_timeout)
		return 0;
	if (count < 32)
		sched_yield();
	else
		nanosleep(&nap, NULL);
	return 1;
}

/* Maps a SQLite result code to the program's error, logging it. */
static enum err
fail(struct db *st, int rc, const char *what)
{
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return ERR_NOT_FOUND;	/* a record it refers to is gone */
	log_msg(LOG_ERROR, "sqlite: %s: %s (%d)", what,
	    st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc), rc);
	switch (rc & 0xff) {
	case SQLITE_CANTOPEN:
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_IOERR:
	/* A connection opened read-only (the file was immutable, say)
	 * stays so: a new one may write once the file can be written. */
	case SQLITE_READONLY:
		st->broken = 1;
		return ERR_UNAVAILABLE;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_PERM:
	case SQLITE_PROTOCOL:
	case SQLITE_NOMEM:
		return ERR_UNAVAILABLE;
	default:
		return ERR_INTERNAL;
	}
}

static int
exec(struct db *st, const char *sql, char *why, size_t whylen)
{
	char	*msg = NULL;
	int	 rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		snprintf(why, whylen, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
	}
	return rc;
}

/* The transaction statements, prepared once: sqlite3_exec() parsed each
 * again, about 5 000 instructions a time, twice per request. */
static const char *const tx_sql[TX__MAX] = {
	[TX_DEFERRED] = "BEGIN DEFERRED",
	[TX_IMMEDIATE] = "BEGIN IMMEDIATE",
	[TX_COMMIT] = "COMMIT",
	[TX_ROLLBACK] = "ROLLBACK",
};

/* Runs one transaction statement, logging a failure. */
static enum err
exec_one(struct db *st, enum tx k)
{
	int	 rc;

	if (st->tx[k] == NULL &&
	    (rc = sqlite3_prepare_v3(st->db, tx_sql[k], -1,
	    SQLITE_PREPARE_PERSISTENT, &st->tx[k], NULL)) != SQLITE_OK)
		return fail(st, rc, tx_sql[k]);
	rc = sqlite3_step(st->tx[k]);
	(void)sqlite3_reset(st->tx[k]);
	if (rc == SQLITE_DONE)
		return ERR_OK;
	return fail(st, rc, tx_sql[k]);
}

static int
user_version(struct db *st, int *v)
{
	sqlite3_stmt	*s;
	int		 rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*v = sqlite3_column_int(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

static void	sq_close(struct db *);
static enum err	check_wal(struct db *);

/* migrate()'s answer for a database from a newer program. */
#define SCHEMA_NEWER	(-1)

/* Brings the schema to STORE_SCHEMA_VERSION in one transaction. */
static int
migrate(struct db *st, char *why, size_t whylen)
{
	char	 sql[64];
	int	 v, rc;

	if ((rc = user_version(st, &v)) != SQLITE_OK) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(st->db));
		return rc;
	}
	if (v == STORE_SCHEMA_VERSION)
		return SQLITE_OK;
	if ((rc = exec(st, "BEGIN IMMEDIATE", why, whylen)) != SQLITE_OK)
		return rc;
	/* Another process may have migrated while we waited. */
	if ((rc = user_version(st, &v)) != SQLITE_OK)
		goto fail;
	if (v > STORE_SCHEMA_VERSION || v < 0) {
		snprintf(why, whylen, "the database has schema version %d, "
		    "newer than this program's %d: upgrade the program", v,
		    STORE_SCHEMA_VERSION);
		exec(st, "ROLLBACK", sql, sizeof(sql));
		return SCHEMA_NEWER;
	}
	for (; v < STORE_SCHEMA_VERSION; v++)
		if ((rc = exec(st, sql_migration(DIALECT_SQLITE, v), why,
		    whylen)) != SQLITE_OK)
			goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    STORE_SCHEMA_VERSION);
	if ((rc = exec(st, sql, why, whylen)) != SQLITE_OK ||
	    (rc = exec(st, "COMMIT", why, whylen)) != SQLITE_OK)
		goto fail;
	return SQLITE_OK;
fail:
	exec(st, "ROLLBACK", sql, sizeof(sql));
	return rc;
}

/* The WAL hook: notes the log's length after each commit instead of
 * checkpointing inside it (which would keep the client waiting, and the
 * pool's other writers queued, for the checkpoint's writes and syncs). */
static int
wal_seen(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct db	*st = arg;

	(void)db;
	(void)name;
	st->wal_frames = frames;
	if (frames >= CHECKPOINT_FRAMES)
		st->wal_when = wlock_now_ns();
	return SQLITE_OK;
}

/* Leaves the pool's write queue if this connection holds it. */
static void
queue_leave(struct db *st)
{
	if (st->queued) {
		st->queued = 0;
		wlock_give(st->wlock);
	}
}

/* Whether the connection is in WAL mode (a file system without shared
 * memory support keeps it in rollback-journal mode). */
static int
in_wal_mode(struct db *st)
{
	sqlite3_stmt	*s;
	int		 wal = 0;

	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode", -1, &s,
	    NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(s) == SQLITE_ROW)
		wal = sqlite3_stricmp((const char *)sqlite3_column_text(s, 0),
		    "wal") == 0;
	sqlite3_finalize(s);
	return wal;
}

/* Prepares every statement the dialect has. */
static int
prepare_all(struct db *st, char *why, size_t whylen)
{
	char	*sql;
	int	 k, rc, oom;

	for (k = 0; k < S__MAX; k++) {
		if ((sql = sql_render(DIALECT_SQLITE, (enum stmt)k, &oom)) ==
		    NULL) {
			if (!oom)
				continue;
			snprintf(why, whylen, "out of memory");
			return SQLITE_NOMEM;
		}
		rc = sqlite3_prepare_v3(st->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[k], NULL);
		free(sql);
		if (rc != SQLITE_OK) {
			snprintf(why, whylen, "%s: %s", sql_name((enum stmt)k),
			    sqlite3_errmsg(st->db));
			return rc;
		}
	}
	return SQLITE_OK;
}

static enum err
sq_open(struct db **out, const struct store_opts *o, char *why,
    size_t whylen)
{
	struct db	*st;
	char		 sql[256];
	int		 rc, flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return ERR_INTERNAL;
	}
	if (o->create)
		flags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(o->path, &st->db, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, whylen, "%s: %s", o->path, st->db ?
		    sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	st->busy_timeout = o->busy_timeout;
	sqlite3_busy_handler(st->db, busy_wait, st);
	st->wlock = o->wlock;
	if (o->idle_upkeep)		/* replaces the autocheckpoint */
		sqlite3_wal_hook(st->db, wal_seen, st);
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode = WAL; "
	    "PRAGMA foreign_keys = ON; PRAGMA max_page_count = %lld",
	    o->max_size > 0 ? (long long)(o->max_size / 4096) : 4294967294LL);
	if ((rc = exec(st, sql, why, whylen)) != SQLITE_OK)
		goto fail;
	/* durability = full in WAL mode: commit without a sync, then sync
	 * the WAL after the write lock is released (sq_commit). */
	st->wal = in_wal_mode(st);
	st->sync_after = o->durability_full && st->wal;
	if ((rc = exec(st, o->durability_full && !st->sync_after ?
	    "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
	    why, whylen)) != SQLITE_OK ||
	    (rc = migrate(st, why, whylen)) != SQLITE_OK ||
	    (rc = prepare_all(st, why, whylen)) != SQLITE_OK)
		goto fail;
	if (st->wal && check_wal(st) != ERR_OK) {
		snprintf(why, whylen, "%s: its write-ahead log is not at its "
		    "path", o->path);
		rc = SQLITE_IOERR;
		goto fail;
	}
	*out = st;
	return ERR_OK;
fail:
	sq_close(st);
	return rc == SCHEMA_NEWER ? ERR_PRECONDITION : ERR_UNAVAILABLE;
}

static void
sq_close(struct db *st)
{
	int	 k;

	if (st == NULL)
		return;
	queue_leave(st);
	for (k = 0; k < S__MAX; k++)
		sqlite3_finalize(st->stmt[k]);
	for (k = 0; k < TX__MAX; k++)
		sqlite3_finalize(st->tx[k]);
	for (k = 0; k < UPDATE_CACHE; k++)
		sqlite3_finalize(st->upd[k].s);
	sqlite3_close(st->db);
	free(st);
}

static enum err
sq_schema_version(struct db *st, int *version)
{
	int	 rc = user_version(st, version);

	return rc == SQLITE_OK ? ERR_OK : fail(st, rc, "user_version");
}

static int
sq_broken(const struct db *st)
{
	return st->broken;
}

/*
 * Whether the database file was deleted, renamed away or replaced since
 * it was opened (SQLITE_FCNTL_HAS_MOVED: one stat() of the path). SQLite
 * would go on writing to the file it holds open; the store is marked
 * broken instead, so the request answers 503 and the next one reopens
 * whatever is at the path now.
 */
static enum err
check_moved(struct db *st)
{
	int	 moved = 0;

	if (sqlite3_file_control(st->db, "main", SQLITE_FCNTL_HAS_MOVED,
	    &moved) != SQLITE_OK || moved) {
		log_msg(LOG_ERROR, "sqlite: the database file was moved, "
		    "replaced or deleted since it was opened");
		st->broken = 1;
		return ERR_UNAVAILABLE;
	}
	return ERR_OK;
}

/* Whether the write-ahead log at the database's path is the one this
 * connection has open (its device and inode, noted when first seen):
 * 1, or 0 when it was deleted or replaced. */
static int
wal_here(struct db *st)
{
	struct stat	 sb;
	char		 path[PATH_MAX];
	const char	*db = sqlite3_db_filename(st->db, "main");

	if (!st->wal || db == NULL || db[0] == '\0' ||
	    (size_t)snprintf(path, sizeof(path), "%s-wal", db) >= sizeof(path))
		return 1;
	if (stat(path, &sb) < 0)
		return st->wal_ino == 0;	/* none yet: noted when made */
	if (st->wal_ino == 0) {
		st->wal_dev = sb.st_dev;
		st->wal_ino = sb.st_ino;
		return 1;
	}
	return sb.st_dev == st->wal_dev && sb.st_ino == st->wal_ino;
}

/* Whether the shared log index (the -shm file) still describes the log
 * this connection has open: the salts of its header (byte 32 of the
 * index, SQLite's file format) are those of our log's header (byte 16).
 * A writer that starts the log over, as one does in a new file once the
 * old one is fully checkpointed, gives it new salts. */
static int
index_is_ours(struct db *st)
{
	sqlite3_file	*wal = NULL;
	unsigned char	 mine[8], index[8];
	char		 path[PATH_MAX];
	const char	*db = sqlite3_db_filename(st->db, "main");
	int		 fd, ours;

	if (sqlite3_file_control(st->db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
	    &wal) != SQLITE_OK || wal == NULL || wal->pMethods == NULL ||
	    wal->pMethods->xRead(wal, mine, sizeof(mine), 16) != SQLITE_OK ||
	    db == NULL ||
	    (size_t)snprintf(path, sizeof(path), "%s-shm", db) >= sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	ours = pread(fd, index, sizeof(index), 32) == (ssize_t)sizeof(index) &&
	    memcmp(mine, index, sizeof(mine)) == 0;
	close(fd);
	return ours;
}

/*
 * A log deleted or replaced under open connections (rm backfills.db-wal)
 * would take every commit made after it into a file nobody will read
 * again. What the lost log holds is copied into the database file by a
 * FULL checkpoint instead, holding the pool's write queue (held: the
 * caller does) so that none of its writers starts the new log
 * meanwhile. Only while the shared index still describes that log: once
 * a writer has started the new one (which it does only after the old
 * one was checkpointed whole, by whoever found it first), a checkpoint
 * through the old file would copy the wrong pages. Until it is saved
 * every request answers 503 and tries again; once it is, the store is
 * marked broken and reopened on the next request, and closing this
 * connection neither checkpoints nor deletes the file now at the path.
 * Returns 0 once saved, -1 while not.
 */
static int
lost_wal(struct db *st, int held)
{
	int	 rc = SQLITE_OK, frames = -1, copied = -1, took = 0, saved;

	if (!st->wal_lost) {
		st->wal_lost = 1;
		log_msg(LOG_ERROR, "sqlite: the write-ahead log of %s was "
		    "deleted or replaced while open; saving what it held "
		    "into the database, then reopening",
		    sqlite3_db_filename(st->db, "main"));
	}
	if (st->wlock != NULL && !held) {
		if (wlock_take(st->wlock, st->busy_timeout) < 0)
			return -1;
		took = 1;
	}
	if ((saved = !index_is_ours(st)) == 0) {
		rc = sqlite3_wal_checkpoint_v2(st->db, "main",
		    SQLITE_CHECKPOINT_FULL, &frames, &copied);
		saved = rc == SQLITE_OK && frames == copied;
	}
	if (took)
		wlock_give(st->wlock);
	if (!saved) {
		log_msg(LOG_ERROR, "sqlite: the lost write-ahead log is not "
		    "saved yet (%s, %d of %d pages): trying again on the "
		    "next request", sqlite3_errstr(rc), copied, frames);
		return -1;
	}
	st->broken = 1;
	(void)sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
	    NULL);
	return 0;
}

/* Before a transaction: ERR_UNAVAILABLE once the log is lost (see
 * lost_wal). */
static enum err
check_wal(struct db *st)
{
	if (!st->wal_lost && wal_here(st))
		return ERR_OK;
	(void)lost_wal(st, 0);
	return ERR_UNAVAILABLE;
}

static enum err
sq_begin(struct db *st, enum db_mode mode)
{
	enum err e;

	if (check_moved(st) != ERR_OK || check_wal(st) != ERR_OK)
		return ERR_UNAVAILABLE;
	if (mode != DB_WRITE)
		return exec_one(st, TX_DEFERRED);
	if (st->wlock != NULL && !st->queued) {
		if (wlock_take(st->wlock, st->busy_timeout) < 0) {
			log_msg(LOG_ERROR, "sqlite: BEGIN IMMEDIATE: the "
			    "pool's write queue is still busy after %d ms",
			    st->busy_timeout);
			return ERR_UNAVAILABLE;
		}
		st->queued = 1;
		/* a log lost while this writer waited: another worker may
		 * have saved it and started the new one */
		if (!wal_here(st)) {
			(void)lost_wal(st, 1);
			queue_leave(st);
			return ERR_UNAVAILABLE;
		}
	}
	if ((e = exec_one(st, TX_IMMEDIATE)) != ERR_OK)
		queue_leave(st);
	return e;
}

/* Syncs the write-ahead log's file (outside any transaction: SQLite's
 * own handle for it, through the public VFS methods). */
static int
sync_wal(struct db *st)
{
	sqlite3_file	*wal = NULL;

	if (sqlite3_file_control(st->db, "main",
	    SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK ||
	    wal == NULL || wal->pMethods == NULL)
		return SQLITE_IOERR_FSYNC;
	return wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
}

static void	sq_rollback(struct db *);

/*
 * Commits. With durability = full the connection runs synchronous =
 * NORMAL and the WAL is synced here, after COMMIT has released the write
 * lock and before the caller answers: an acknowledged write is on disk
 * as with synchronous = FULL, but the next writer need not wait for this
 * one's flush, and the block layer merges the flushes of writers that
 * sync at the same time. (An explicit group commit, one sync at a time
 * for every commit written before it, measured no better.) The sync
 * covers every frame written before it, and a checkpoint syncs the WAL
 * before it copies frames, so consistency is NORMAL's.
 */
static enum err
sq_commit(struct db *st)
{
	enum err	 e;
	int		 rc;

	if ((e = exec_one(st, TX_COMMIT)) != ERR_OK) {
		sq_rollback(st);
		return e;
	}
	queue_leave(st);
	/* Committed into a log no longer at its path: acknowledged only
	 * once copied into the database. (Checked out of the queue, which
	 * the next writer should have at once: a writer that takes it
	 * after finds the loss too and saves the log with this commit in
	 * it, and a new log is started only once the old one is saved.) */
	if (!wal_here(st))
		return lost_wal(st, 0) == 0 ? ERR_OK : ERR_UNAVAILABLE;
	if (st->sync_after && (rc = sync_wal(st)) != SQLITE_OK)
		return fail(st, rc, "sync of the WAL");
	return ERR_OK;
}

static void
sq_rollback(struct db *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)exec_one(st, TX_ROLLBACK);
	queue_leave(st);
}

/*
 * Between requests, once the answer is sent: a checkpoint once the log
 * is long enough (see CHECKPOINT_FRAMES).
 */
static void
sq_idle(struct db *st)
{
	int	 rc, patience = st->busy_timeout;

	if (st->wal_frames < CHECKPOINT_FRAMES ||
	    wlock_now_ns() < st->ckpt_after || st->wal_lost)
		return;
	st->wal_frames = 0;
	if (st->wlock != NULL && !wlock_checkpoint_begin(st->wlock,
	    st->wal_when))
		return;		/* another worker's checkpoint covers it */
	/* The log's pages are written out first, while writers go on; then
	 * the checkpoint itself, FULL: it holds writers back (the pool's in
	 * its queue, others through SQLite's lock) for the little left to
	 * sync and copy, so it completes and the next writer starts the log
	 * over. (A PASSIVE checkpoint racing a stream of writes rarely
	 * completes: the log then grows without end, and every commit past
	 * 1 000 pages tries again, with its syncs.) */
	if ((rc = sync_wal(st)) == SQLITE_OK) {
		st->busy_timeout = CHECKPOINT_WAIT_MS;
		if (st->wlock == NULL)
			rc = sqlite3_wal_checkpoint_v2(st->db, "main",
			    SQLITE_CHECKPOINT_FULL, NULL, NULL);
		else if (wlock_take(st->wlock, patience) == 0) {
			/* never through a log no longer at its path (see
			 * lost_wal): the next request deals with it */
			rc = wal_here(st) ? sqlite3_wal_checkpoint_v2(st->db,
			    "main", SQLITE_CHECKPOINT_FULL, NULL, NULL) :
			    SQLITE_BUSY;
			wlock_give(st->wlock);
		} else
			rc = SQLITE_BUSY;
		st->busy_timeout = patience;
	}
	if (st->wlock != NULL)
		wlock_checkpoint_done(st->wlock, rc == SQLITE_OK);
	if (rc != SQLITE_OK)
		st->ckpt_after = wlock_now_ns() +
		    (int64_t)CHECKPOINT_BACKOFF_MS * 1000000;
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		(void)fail(st, rc, "checkpoint");
}

/* The update that writes only the fields of mask (sql_backfill_update),
 * prepared once per mask; the generic one when it cannot be made. */
static sqlite3_stmt *
update_for(struct db *st, uint32_t mask)
{
	sqlite3_stmt	*s = NULL;
	char		*sql;
	int		 i;

	for (i = 0; i < UPDATE_CACHE; i++)
		if (st->upd[i].s != NULL && st->upd[i].mask == mask)
			return st->upd[i].s;
	if ((sql = sql_backfill_update(mask)) == NULL ||
	    sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &s, NULL) != SQLITE_OK) {
		free(sql);
		sqlite3_finalize(s);
		return st->stmt[S_BACKFILL_UPDATE];
	}
	free(sql);
	i = st->upd_next;
	st->upd_next = (i + 1) % UPDATE_CACHE;
	sqlite3_finalize(st->upd[i].s);
	st->upd[i].mask = mask;
	st->upd[i].s = s;
	return s;
}

/* Binds args to statement k, reset and unbound first (S_BACKFILL_UPDATE:
 * the one for its mask of changed fields, update_for). */
static sqlite3_stmt *
bind(struct db *st, enum stmt k, const struct db_args *a)
{
	sqlite3_stmt	*s = st->stmt[k];
	int		 i;

	if (k == S_BACKFILL_UPDATE && a != NULL && a->n > 0 &&
	    a->v[0].t == DB_INT)
		s = update_for(st, (uint32_t)a->v[0].i);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	for (i = 0; a != NULL && i < a->n; i++) {
		const struct db_val *v = &a->v[i];

		switch (v->t) {
		case DB_NULL:
			break;		/* unbound is null */
		case DB_INT:
			sqlite3_bind_int64(s, i + 1, v->i);
			break;
		case DB_TEXT:
			sqlite3_bind_text(s, i + 1, v->p, (int)v->len,
			    SQLITE_STATIC);
			break;
		case DB_BLOB:
			sqlite3_bind_blob(s, i + 1, v->p, (int)v->len,
			    SQLITE_STATIC);
			break;
		}
	}
	return s;
}

static enum err
sq_run(struct db *st, enum stmt k, const struct db_args *a,
    struct db_rows *rows, int64_t *changed)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (st->stmt[k] == NULL)
		return ERR_NOT_FOUND;
	s = bind(st, k, a);
	if (rows != NULL) {
		rows->h = s;		/* stepped by sq_next() */
		return ERR_OK;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return fail(st, rc, sql_name(k));
	if (changed != NULL)
		*changed = sqlite3_changes64(st->db);
	return ERR_OK;
}

static int
sq_next(struct db_rows *r)
{
	int	 rc = sqlite3_step(r->h);

	if (rc == SQLITE_ROW) {
		r->row++;
		return 1;
	}
	if (rc == SQLITE_DONE)
		return 0;
	r->e = fail(r->db, rc, sql_name(r->k));
	return -1;
}

static void
sq_done(struct db_rows *r)
{
	if (r->h != NULL)
		sqlite3_reset(r->h);
	r->h = NULL;
}

static int
sq_is_null(const struct db_rows *r, int col)
{
	return sqlite3_column_type(r->h, col) == SQLITE_NULL;
}

static int64_t
sq_col_int(const struct db_rows *r, int col)
{
	return sqlite3_column_int64(r->h, col);
}

static const char *
sq_col_text(const struct db_rows *r, int col, size_t *len)
{
	const char	*t = (const char *)sqlite3_column_text(r->h, col);

	*len = t != NULL ? (size_t)sqlite3_column_bytes(r->h, col) : 0;
	return t;
}

static int
sq_col_blob(const struct db_rows *r, int col, void *out, size_t len)
{
	const void	*p = sqlite3_column_blob(r->h, col);

	if (p == NULL || (size_t)sqlite3_column_bytes(r->h, col) != len)
		return -1;
	memcpy(out, p, len);
	return 0;
}

static enum err
sq_insert(struct db *st, enum stmt k, const struct db_args *a, int64_t *id)
{
	enum err	 e;

	if ((e = sq_run(st, k, a, NULL, NULL)) != ERR_OK)
		return e;
	*id = sqlite3_last_insert_rowid(st->db);
	return ERR_OK;
}

static enum err
sq_backup(struct db *st, const char *path)
{
	sqlite3		*dst = NULL;
	sqlite3_backup	*b;
	int		 rc;

	rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE, NULL);
	sqlite3_close(dst);
	if (rc == SQLITE_OK)
		return ERR_PRECONDITION;	/* never overwrite a database */
	rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		log_msg(LOG_ERROR, "backup: %s: %s", path,
		    dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		sqlite3_close(dst);
		return ERR_UNAVAILABLE;
	}
	if ((b = sqlite3_backup_init(dst, "main", st->db, "main")) == NULL) {
		log_msg(LOG_ERROR, "backup: %s", sqlite3_errmsg(dst));
		sqlite3_close(dst);
		return ERR_INTERNAL;
	}
	/* Copy in steps so writers get the lock in between; a step that
	 * finds the source busy is retried. */
	do {
		rc = sqlite3_backup_step(b, 256);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(5);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		log_msg(LOG_ERROR, "backup: %s", sqlite3_errstr(rc));
		sqlite3_close(dst);
		return ERR_UNAVAILABLE;
	}
	rc = sqlite3_close(dst);
	return rc == SQLITE_OK ? ERR_OK : ERR_INTERNAL;
}

static enum err
sq_integrity(struct db *st, int *ok, char *msg, size_t msglen)
{
	sqlite3_stmt	*s;
	const char	*t;
	int		 rc;

	*ok = 0;
	rc = sqlite3_prepare_v2(st->db, "PRAGMA integrity_check", -1, &s,
	    NULL);
	if (rc != SQLITE_OK)
		return fail(st, rc, "integrity_check");
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		t = (const char *)sqlite3_column_text(s, 0);
		*ok = t != NULL && strcmp(t, "ok") == 0;
		snprintf(msg, msglen, "%s", t ? t : "");
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? ERR_OK : fail(st, rc, "integrity_check");
}

const struct db_ops db_sqlite_ops = {
	.name = "sqlite",
	.dialect = DIALECT_SQLITE,
	.open = sq_open,
	.close = sq_close,
	.schema_version = sq_schema_version,
	.broken = sq_broken,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.idle = sq_idle,
	.run = sq_run,
	.next = sq_next,
	.done = sq_done,
	.is_null = sq_is_null,
	.col_int = sq_col_int,
	.col_text = sq_col_text,
	.col_blob = sq_col_blob,
	.insert = sq_insert,
	.backup = sq_backup,
	.integrity = sq_integrity,
	.cred_version = NULL,
};
