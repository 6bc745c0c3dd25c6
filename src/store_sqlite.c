/*
 * The store over SQLite 3: one connection per worker, opened after fork,
 * WAL, statements prepared once and reset after every use.
 */
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_impl.h"
#include "wlock.h"

#define COLS	"id, block_uuid, completed_at, created_at, end_datetime, " \
		"failed_at, interval_type, interval_units, metrics, name, " \
		"pipeline_schedule_id, pipeline_uuid, settings, "	\
		"start_datetime, started_at, status, updated_at, variables, " \
		"version"

#define RUN_COLS "id, backfill_id, pipeline_uuid, execution_date, status, " \
		"variables, started_at, completed_at, created_at, updated_at, " \
		"latest"
#define CRED_COLS "id, hash, name, role, expires_at, created_at, revoked_at"


enum sql {
	SQL_BEGIN,
	SQL_BEGIN_READ,
	SQL_COMMIT,
	SQL_ROLLBACK,
	SQL_PING,
	SQL_PIPELINE_GET,
	SQL_PIPELINE_ADD,
	SQL_PIPELINE_DELETE,
	SQL_PIPELINE_BACKFILLS_DELETE,
	SQL_PIPELINE_LIST,
	SQL_BACKFILL_GET,
	SQL_BACKFILL_INSERT,
	SQL_BACKFILL_UPDATE,
	SQL_BACKFILL_DELETE,
	SQL_BACKFILL_LIST,
	SQL_BACKFILL_LIST_PIPELINE,
	SQL_BACKFILL_COUNT,
	SQL_CRED_ADD,
	SQL_CRED_FIND,
	SQL_CRED_REVOKE,
	SQL_CRED_LIST,
	SQL_CRED_VERSION,
	SQL_RUNS_COMPLETED,
	SQL_RUNS_SUPERSEDE_CANCEL,
	SQL_RUNS_SUPERSEDE,
	SQL_RUN_INSERT,
	SQL_RUNS_CANCEL,
	SQL_RUNS_RECOUNT,
	SQL_RUN_COUNTS,
	SQL_RUN_GET,
	SQL_RUN_UPDATE,
	SQL_RUN_COUNTS_MOVE,
	SQL_RUN_LIST,
	SQL_RUN_LIST_BACKFILL,
	SQL_RUN_COUNT,
	SQL_RUN_COUNT_BACKFILL,
	SQL__MAX
};

/* The update writes only the columns whose bit is set in ?1 (the mask
 * of changed fields); ?2 is the id and field f's new value is bound at
 * ?(f + 2). One persistent statement serves every partial update. */
static const char *const sqls[SQL__MAX] = {
	[SQL_BEGIN] = "BEGIN IMMEDIATE",
	[SQL_BEGIN_READ] = "BEGIN DEFERRED",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_PING] = "SELECT value FROM counter WHERE name = 'backfills'",
	[SQL_PIPELINE_GET] = "SELECT uuid, variables, backfill_count "
	    "FROM pipeline WHERE uuid = ?1",
	[SQL_PIPELINE_ADD] = "INSERT INTO pipeline (uuid, variables, "
	    "created_at) VALUES (?1, ?2, ?3)",
	[SQL_PIPELINE_DELETE] = "DELETE FROM pipeline WHERE uuid = ?1",
	[SQL_PIPELINE_BACKFILLS_DELETE] =
	    "DELETE FROM backfill WHERE pipeline_uuid = ?1",
	[SQL_PIPELINE_LIST] = "SELECT uuid, variables, backfill_count "
	    "FROM pipeline ORDER BY uuid",
	[SQL_BACKFILL_GET] = "SELECT " COLS " FROM backfill WHERE id = ?1",
	[SQL_BACKFILL_INSERT] = "INSERT INTO backfill (" COLS ") VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
	    "?15, ?16, ?17, ?18, 1)",
	[SQL_BACKFILL_UPDATE] = "UPDATE backfill SET version = version + 1, "
	    "block_uuid = CASE WHEN (?1 >> 1) & 1 THEN ?3 ELSE block_uuid END, "
	    "completed_at = CASE WHEN (?1 >> 2) & 1 THEN ?4 ELSE completed_at END, "
	    "end_datetime = CASE WHEN (?1 >> 4) & 1 THEN ?6 ELSE end_datetime END, "
	    "failed_at = CASE WHEN (?1 >> 5) & 1 THEN ?7 ELSE failed_at END, "
	    "interval_type = CASE WHEN (?1 >> 6) & 1 THEN ?8 ELSE interval_type END, "
	    "interval_units = CASE WHEN (?1 >> 7) & 1 THEN ?9 ELSE interval_units END, "
	    "metrics = CASE WHEN (?1 >> 8) & 1 THEN ?10 ELSE metrics END, "
	    "name = CASE WHEN (?1 >> 9) & 1 THEN ?11 ELSE name END, "
	    "settings = CASE WHEN (?1 >> 12) & 1 THEN ?14 ELSE settings END, "
	    "start_datetime = CASE WHEN (?1 >> 13) & 1 THEN ?15 ELSE start_datetime END, "
	    "started_at = CASE WHEN (?1 >> 14) & 1 THEN ?16 ELSE started_at END, "
	    "status = CASE WHEN (?1 >> 15) & 1 THEN ?17 ELSE status END, "
	    "updated_at = CASE WHEN (?1 >> 16) & 1 THEN ?18 ELSE updated_at END, "
	    "variables = CASE WHEN (?1 >> 17) & 1 THEN ?19 ELSE variables END "
	    "WHERE id = ?2",
	[SQL_BACKFILL_DELETE] = "DELETE FROM backfill WHERE id = ?1",
	[SQL_BACKFILL_LIST] = "SELECT " COLS " FROM backfill "
	    "ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2",
	[SQL_BACKFILL_LIST_PIPELINE] = "SELECT " COLS " FROM backfill "
	    "WHERE pipeline_uuid = ?3 "
	    "ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2",
	[SQL_BACKFILL_COUNT] =
	    "SELECT value FROM counter WHERE name = 'backfills'",
	[SQL_CRED_ADD] = "INSERT INTO credential (kind, hash, name, role, "
	    "expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SQL_CRED_FIND] = "SELECT " CRED_COLS " FROM credential "
	    "WHERE hash = ?2 AND kind = ?1",
	[SQL_CRED_REVOKE] = "UPDATE credential SET revoked_at = "
	    "coalesce(revoked_at, ?3) WHERE id = ?2 AND kind = ?1",
	[SQL_CRED_LIST] = "SELECT " CRED_COLS " FROM credential "
	    "WHERE kind = ?1 ORDER BY id",
	[SQL_CRED_VERSION] =
	    "SELECT value FROM counter WHERE name = 'credentials'",
	[SQL_RUNS_COMPLETED] = "SELECT execution_date FROM pipeline_run "
	    "WHERE backfill_id = ?1 AND latest = 1 AND status = 'completed' "
	    "ORDER BY execution_date",
	[SQL_RUNS_SUPERSEDE_CANCEL] = "UPDATE pipeline_run SET status = "
	    "'cancelled', updated_at = ?2 WHERE backfill_id = ?1 AND "
	    "latest = 1 AND status IN ('initial', 'running')",
	[SQL_RUNS_SUPERSEDE] = "UPDATE pipeline_run SET latest = 0 "
	    "WHERE backfill_id = ?1 AND latest = 1 AND status != 'completed'",
	[SQL_RUN_INSERT] = "INSERT INTO pipeline_run (backfill_id, "
	    "pipeline_uuid, execution_date, status, variables, created_at, "
	    "updated_at, latest) VALUES (?1, ?2, ?3, 'initial', ?4, ?5, ?5, 1)",
	[SQL_RUNS_CANCEL] = "UPDATE pipeline_run SET status = 'cancelled', "
	    "updated_at = ?2 WHERE backfill_id = ?1 AND "
	    "status IN ('initial', 'running')",
	[SQL_RUNS_RECOUNT] = "INSERT OR REPLACE INTO run_count (backfill_id, "
	    "initial, running, completed, failed, cancelled) SELECT ?1, "
	    "count(*) FILTER (WHERE status = 'initial'), "
	    "count(*) FILTER (WHERE status = 'running'), "
	    "count(*) FILTER (WHERE status = 'completed'), "
	    "count(*) FILTER (WHERE status = 'failed'), "
	    "count(*) FILTER (WHERE status = 'cancelled') "
	    "FROM pipeline_run WHERE backfill_id = ?1 AND latest = 1",
	[SQL_RUN_COUNTS] = "SELECT initial, running, completed, failed, "
	    "cancelled FROM run_count WHERE backfill_id = ?1",
	[SQL_RUN_GET] = "SELECT " RUN_COLS " FROM pipeline_run WHERE id = ?1",
	[SQL_RUN_UPDATE] = "UPDATE pipeline_run SET status = ?2, "
	    "started_at = ?3, completed_at = ?4, updated_at = ?5 "
	    "WHERE id = ?1",
	[SQL_RUN_COUNTS_MOVE] = "UPDATE run_count SET "
	    "initial = initial - (?2 = 'initial') + (?3 = 'initial'), "
	    "running = running - (?2 = 'running') + (?3 = 'running'), "
	    "completed = completed - (?2 = 'completed') + (?3 = 'completed'), "
	    "failed = failed - (?2 = 'failed') + (?3 = 'failed'), "
	    "cancelled = cancelled - (?2 = 'cancelled') + (?3 = 'cancelled') "
	    "WHERE backfill_id = ?1",
	[SQL_RUN_LIST] = "SELECT " RUN_COLS " FROM pipeline_run "
	    "WHERE ?3 = 0 AND (?4 IS NULL OR status = ?4) "
	    "ORDER BY execution_date, id LIMIT ?1 OFFSET ?2",
	[SQL_RUN_LIST_BACKFILL] = "SELECT " RUN_COLS " FROM pipeline_run "
	    "WHERE backfill_id = ?3 AND (?4 IS NULL OR status = ?4) "
	    "ORDER BY execution_date, id LIMIT ?1 OFFSET ?2",
	[SQL_RUN_COUNT] = "SELECT count(*) FROM pipeline_run "
	    "WHERE ?3 = 0 AND (?4 IS NULL OR status = ?4)",
	[SQL_RUN_COUNT_BACKFILL] = "SELECT count(*) FROM pipeline_run "
	    "WHERE backfill_id = ?3 AND (?4 IS NULL OR status = ?4)",
};
_Static_assert(sizeof(sqls) / sizeof(sqls[0]) == SQL__MAX, "every sql");
_Static_assert(BF_BLOCK_UUID == 1 && BF_VARIABLES == 17 &&
    BF_SETTINGS == 12 && BF_STATUS == 15, "update binds follow fields");

/* Migrations: migrations[v] takes schema version v to v + 1. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	/* 0 -> 1: pipelines and backfills. Datetimes are integer
	 * microseconds since the epoch, UTC; objects are JSON text. */
	"CREATE TABLE pipeline ("
	"  uuid TEXT PRIMARY KEY NOT NULL,"
	"  variables TEXT,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE backfill ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  pipeline_uuid TEXT NOT NULL REFERENCES pipeline (uuid),"
	"  version INTEGER NOT NULL DEFAULT 1,"
	"  block_uuid TEXT, completed_at INTEGER,"
	"  created_at INTEGER NOT NULL, end_datetime INTEGER,"
	"  failed_at INTEGER, interval_type TEXT, interval_units INTEGER,"
	"  metrics TEXT, name TEXT, pipeline_schedule_id INTEGER,"
	"  settings TEXT, start_datetime INTEGER, started_at INTEGER,"
	"  status TEXT, updated_at INTEGER NOT NULL, variables TEXT);",
	/* 1 -> 2: kept counts (a list's total without a COUNT(*) scan)
	 * and indexes for the list order. */
	"ALTER TABLE pipeline ADD COLUMN backfill_count INTEGER NOT NULL "
	"  DEFAULT 0;"
	"UPDATE pipeline SET backfill_count = (SELECT COUNT(*) FROM backfill"
	"  WHERE backfill.pipeline_uuid = pipeline.uuid);"
	"CREATE TABLE counter (name TEXT PRIMARY KEY NOT NULL,"
	"  value INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO counter VALUES ('backfills',"
	"  (SELECT COUNT(*) FROM backfill));"
	"CREATE INDEX backfill_order ON backfill (created_at, id);"
	"CREATE INDEX backfill_pipeline_order ON backfill"
	"  (pipeline_uuid, created_at, id);"
	"CREATE TRIGGER backfill_counted AFTER INSERT ON backfill BEGIN"
	"  UPDATE pipeline SET backfill_count = backfill_count + 1"
	"    WHERE uuid = NEW.pipeline_uuid;"
	"  UPDATE counter SET value = value + 1 WHERE name = 'backfills';"
	"END;"
	"CREATE TRIGGER backfill_uncounted AFTER DELETE ON backfill BEGIN"
	"  UPDATE pipeline SET backfill_count = backfill_count - 1"
	"    WHERE uuid = OLD.pipeline_uuid;"
	"  UPDATE counter SET value = value - 1 WHERE name = 'backfills';"
	"END;",
	/* 2 -> 3: API keys and OAuth tokens, kept as SHA-256 hashes. */
	"CREATE TABLE credential ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  kind TEXT NOT NULL CHECK (kind IN ('key', 'token')),"
	"  hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),"
	"  name TEXT, role TEXT, expires_at INTEGER,"
	"  created_at INTEGER NOT NULL, revoked_at INTEGER);",
	/* 3 -> 4: pipeline runs, and per backfill the kept number of
	 * latest attempts in each status. */
	"CREATE TABLE pipeline_run ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  backfill_id INTEGER NOT NULL REFERENCES backfill (id)"
	"    ON DELETE CASCADE,"
	"  pipeline_uuid TEXT NOT NULL,"
	"  execution_date INTEGER NOT NULL,"
	"  status TEXT NOT NULL,"
	"  variables TEXT,"
	"  started_at INTEGER, completed_at INTEGER,"
	"  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	"  latest INTEGER NOT NULL DEFAULT 1);"
	"CREATE INDEX pipeline_run_order ON pipeline_run"
	"  (backfill_id, execution_date, id);"
	"CREATE INDEX pipeline_run_latest ON pipeline_run"
	"  (backfill_id, latest, status, execution_date);"
	"CREATE INDEX pipeline_run_all ON pipeline_run (execution_date, id);"
	"CREATE TABLE run_count ("
	"  backfill_id INTEGER PRIMARY KEY REFERENCES backfill (id)"
	"    ON DELETE CASCADE,"
	"  initial INTEGER NOT NULL DEFAULT 0,"
	"  running INTEGER NOT NULL DEFAULT 0,"
	"  completed INTEGER NOT NULL DEFAULT 0,"
	"  failed INTEGER NOT NULL DEFAULT 0,"
	"  cancelled INTEGER NOT NULL DEFAULT 0);",
	/* 4 -> 5: a version of the credentials, bumped by every change to
	 * them, so workers can keep their lookups until it moves. */
	"INSERT INTO counter VALUES ('credentials', 0);"
	"CREATE TRIGGER credential_added AFTER INSERT ON credential BEGIN"
	"  UPDATE counter SET value = value + 1 WHERE name = 'credentials';"
	"END;"
	"CREATE TRIGGER credential_changed AFTER UPDATE ON credential BEGIN"
	"  UPDATE counter SET value = value + 1 WHERE name = 'credentials';"
	"END;"
	"CREATE TRIGGER credential_removed AFTER DELETE ON credential BEGIN"
	"  UPDATE counter SET value = value + 1 WHERE name = 'credentials';"
	"END;",
};

struct store_impl {
	sqlite3		*db;
	sqlite3_stmt	*stmt[SQL__MAX];
	int		 busy_timeout;	/* milliseconds */
	struct timespec	 busy_since;
	int		 broken;	/* see store_broken() */
	int		 sync_after;	/* durability full: see sq_commit() */
	struct wlock	*wlock;		/* the pool's write queue, or NULL */
	int		 queued;	/* this connection holds it */
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
	struct store_impl *st = arg;
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
fail(struct store_impl *st, int rc, const char *what)
{
	log_msg(LOG_ERROR, "sqlite: %s: %s (%d)", what,
	    st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc), rc);
	switch (rc & 0xff) {
	case SQLITE_CANTOPEN:
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_IOERR:
		st->broken = 1;
		return ERR_UNAVAILABLE;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_READONLY:
	case SQLITE_FULL:
	case SQLITE_PERM:
	case SQLITE_PROTOCOL:
	case SQLITE_NOMEM:
		return ERR_UNAVAILABLE;
	default:
		return ERR_INTERNAL;
	}
}

/* Returns the statement, reset and unbound, ready to bind. */
static sqlite3_stmt *
stmt(struct store_impl *st, enum sql q)
{
	sqlite3_reset(st->stmt[q]);
	sqlite3_clear_bindings(st->stmt[q]);
	return st->stmt[q];
}

/* Steps a statement that returns no row; resets it. */
static enum err
run(struct store_impl *st, enum sql q)
{
	int	 rc = sqlite3_step(st->stmt[q]);

	sqlite3_reset(st->stmt[q]);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return fail(st, rc, sqls[q]);
	return ERR_OK;
}

static int
exec(struct store_impl *st, const char *sql, char *why, size_t whylen)
{
	char	*msg = NULL;
	int	 rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		snprintf(why, whylen, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
	}
	return rc;
}

static int
user_version(struct store_impl *st, int *v)
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

static void	sq_close(struct store_impl *);
static void	sq_rollback(struct store_impl *);

/* migrate()'s answer for a database from a newer program. */
#define SCHEMA_NEWER	(-1)

/* Brings the schema to STORE_SCHEMA_VERSION in one transaction. */
static int
migrate(struct store_impl *st, char *why, size_t whylen)
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
		if ((rc = exec(st, migrations[v], why, whylen)) != SQLITE_OK)
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
	struct store_impl *st = arg;

	(void)db;
	(void)name;
	st->wal_frames = frames;
	if (frames >= CHECKPOINT_FRAMES)
		st->wal_when = wlock_now_ns();
	return SQLITE_OK;
}

/* Leaves the pool's write queue if this connection holds it. */
static void
queue_leave(struct store_impl *st)
{
	if (st->queued) {
		st->queued = 0;
		wlock_give(st->wlock);
	}
}

/* Whether the connection is in WAL mode (a file system without shared
 * memory support keeps it in rollback-journal mode). */
static int
in_wal_mode(struct store_impl *st)
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

static enum err
sq_open(struct store_impl **out, const struct store_opts *o, char *why,
    size_t whylen)
{
	struct store_impl *st;
	char		 sql[256];
	int		 rc, q, flags = SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_NOMUTEX;

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
	if (o->idle_checkpoint)		/* replaces the autocheckpoint */
		sqlite3_wal_hook(st->db, wal_seen, st);
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode = WAL; "
	    "PRAGMA foreign_keys = ON; PRAGMA max_page_count = %lld",
	    o->max_size > 0 ? (long long)(o->max_size / 4096) : 4294967294LL);
	if ((rc = exec(st, sql, why, whylen)) != SQLITE_OK)
		goto fail;
	/* durability = full in WAL mode: commit without a sync, then sync
	 * the WAL after the write lock is released (sq_commit). */
	st->sync_after = o->durability_full && in_wal_mode(st);
	if ((rc = exec(st, o->durability_full && !st->sync_after ?
	    "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
	    why, whylen)) != SQLITE_OK ||
	    (rc = migrate(st, why, whylen)) != SQLITE_OK)
		goto fail;
	for (q = 0; q < SQL__MAX; q++) {
		rc = sqlite3_prepare_v3(st->db, sqls[q], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[q], NULL);
		if (rc != SQLITE_OK) {
			snprintf(why, whylen, "%s", sqlite3_errmsg(st->db));
			goto fail;
		}
	}
	*out = st;
	return ERR_OK;
fail:
	sq_close(st);
	return rc == SCHEMA_NEWER ? ERR_PRECONDITION : ERR_UNAVAILABLE;
}

static void
sq_close(struct store_impl *st)
{
	int	 q;

	if (st == NULL)
		return;
	queue_leave(st);
	for (q = 0; q < SQL__MAX; q++)
		sqlite3_finalize(st->stmt[q]);
	sqlite3_close(st->db);
	free(st);
}

static enum err
sq_schema_version(struct store_impl *st, int *version)
{
	int	 rc = user_version(st, version);

	return rc == SQLITE_OK ? ERR_OK : fail(st, rc, "user_version");
}

static int
sq_broken(const struct store_impl *st)
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
check_moved(struct store_impl *st)
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

static enum err
sq_ping(struct store_impl *st)
{
	if (check_moved(st) != ERR_OK)
		return ERR_UNAVAILABLE;
	stmt(st, SQL_PING);
	return run(st, SQL_PING);
}

static enum err
sq_begin(struct store_impl *st)
{
	enum err e;

	if (check_moved(st) != ERR_OK)
		return ERR_UNAVAILABLE;
	if (st->wlock != NULL && !st->queued) {
		if (wlock_take(st->wlock, st->busy_timeout) < 0) {
			log_msg(LOG_ERROR, "sqlite: BEGIN IMMEDIATE: the "
			    "pool's write queue is still busy after %d ms",
			    st->busy_timeout);
			return ERR_UNAVAILABLE;
		}
		st->queued = 1;
	}
	stmt(st, SQL_BEGIN);
	if ((e = run(st, SQL_BEGIN)) != ERR_OK)
		queue_leave(st);
	return e;
}

static enum err
sq_begin_read(struct store_impl *st)
{
	if (check_moved(st) != ERR_OK)
		return ERR_UNAVAILABLE;
	stmt(st, SQL_BEGIN_READ);
	return run(st, SQL_BEGIN_READ);
}

/* Syncs the write-ahead log's file (outside any transaction: SQLite's
 * own handle for it, through the public VFS methods). */
static int
sync_wal(struct store_impl *st)
{
	sqlite3_file	*wal = NULL;

	if (sqlite3_file_control(st->db, "main",
	    SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK ||
	    wal == NULL || wal->pMethods == NULL)
		return SQLITE_IOERR_FSYNC;
	return wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
}

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
sq_commit(struct store_impl *st)
{
	enum err	 e;
	int		 rc;

	stmt(st, SQL_COMMIT);
	if ((e = run(st, SQL_COMMIT)) != ERR_OK) {
		sq_rollback(st);
		return e;
	}
	queue_leave(st);
	if (st->sync_after && (rc = sync_wal(st)) != SQLITE_OK)
		return fail(st, rc, "sync of the WAL");
	return ERR_OK;
}

static void
sq_rollback(struct store_impl *st)
{
	if (!sqlite3_get_autocommit(st->db)) {
		stmt(st, SQL_ROLLBACK);
		(void)run(st, SQL_ROLLBACK);
	}
	queue_leave(st);
}

/*
 * Between requests, once the answer is sent: a checkpoint once the log
 * is long enough (see CHECKPOINT_FRAMES).
 */
static void
sq_idle(struct store_impl *st)
{
	int	 rc, patience = st->busy_timeout;

	if (st->wal_frames < CHECKPOINT_FRAMES ||
	    wlock_now_ns() < st->ckpt_after)
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
			rc = sqlite3_wal_checkpoint_v2(st->db, "main",
			    SQLITE_CHECKPOINT_FULL, NULL, NULL);
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

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static enum err
pipeline_row(sqlite3_stmt *s, struct pipeline *p, int copy)
{
	const char	*v = (const char *)sqlite3_column_text(s, 1);

	snprintf(p->uuid, sizeof(p->uuid), "%s", sqlite3_column_text(s, 0));
	p->variables = NULL;
	if (v != NULL) {
		if (copy) {
			if ((p->variables = strdup(v)) == NULL)
				return ERR_INTERNAL;
		} else
			p->variables = (char *)v;
	}
	p->backfill_count = sqlite3_column_int64(s, 2);
	return ERR_OK;
}

static enum err
sq_pipeline_get(struct store_impl *st, const char *uuid, struct pipeline *out)
{
	sqlite3_stmt	*s = stmt(st, SQL_PIPELINE_GET);
	enum err	 e;
	int		 rc;

	bind_text(s, 1, uuid);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		e = pipeline_row(s, out, 1);
	else
		e = rc == SQLITE_DONE ? ERR_NOT_FOUND : fail(st, rc, "pipeline");
	sqlite3_reset(s);
	return e;
}

static enum err
sq_pipeline_add(struct store_impl *st, const char *uuid, const char *variables)
{
	sqlite3_stmt	*s = stmt(st, SQL_PIPELINE_ADD);
	int		 rc;

	bind_text(s, 1, uuid);
	bind_text(s, 2, variables);
	sqlite3_bind_int64(s, 3, 0);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return ERR_PRECONDITION;
	return rc == SQLITE_DONE ? ERR_OK : fail(st, rc, "pipeline add");
}

static enum err
sq_pipeline_remove(struct store_impl *st, const char *uuid, int force,
    int64_t *removed)
{
	struct pipeline	 p;
	enum err	 e;

	*removed = 0;
	if ((e = sq_pipeline_get(st, uuid, &p)) != ERR_OK)
		return e;
	pipeline_free(&p);
	if (p.backfill_count > 0 && !force)
		return ERR_PRECONDITION;
	bind_text(stmt(st, SQL_PIPELINE_BACKFILLS_DELETE), 1, uuid);
	if ((e = run(st, SQL_PIPELINE_BACKFILLS_DELETE)) != ERR_OK)
		return e;
	*removed = sqlite3_changes64(st->db);
	bind_text(stmt(st, SQL_PIPELINE_DELETE), 1, uuid);
	return run(st, SQL_PIPELINE_DELETE);
}

static enum err
sq_pipeline_list(struct store_impl *st, store_pipeline_fn fn, void *arg)
{
	sqlite3_stmt	*s = stmt(st, SQL_PIPELINE_LIST);
	struct pipeline	 p;
	int		 rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		pipeline_row(s, &p, 0);
		if (fn(&p, arg) != 0)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK :
	    fail(st, rc, "pipeline list");
}

/* Reads a row of COLS into b; strings are copied when copy is set, else
 * they point into the statement until its next step or reset. */
static enum err
backfill_row(sqlite3_stmt *s, struct backfill *b, int copy)
{
	const char	*t;
	size_t		 len;
	int		 f, e;

	for (f = 0; f < BF__MAX; f++) {
		struct bval *v = &b->v[f];

		if (v->own)
			free(v->s);
		memset(v, 0, sizeof(*v));
		if (sqlite3_column_type(s, f) == SQLITE_NULL) {
			v->null = 1;
			continue;
		}
		if (store_cols[f] == C_INT) {
			v->i = sqlite3_column_int64(s, f);
			continue;
		}
		t = (const char *)sqlite3_column_text(s, f);
		len = (size_t)sqlite3_column_bytes(s, f);
		if (t == NULL)
			return ERR_INTERNAL;
		if (store_cols[f] == C_TEXT) {
			if (copy) {
				if (bval_set_str(v, t, len) < 0)
					return ERR_INTERNAL;
			} else {
				v->s = (char *)t;
				v->len = len;
			}
			continue;
		}
		e = store_cols[f] == C_STATUS ? bf_status_from(t, len) :
		    bf_itype_from(t, len);
		if (e < 0)
			v->null = 1;
		else
			v->i = e;
	}
	b->version = sqlite3_column_int64(s, BF__MAX);
	return ERR_OK;
}

/* Binds field f of b at index i (enums as their names). */
static void
bind_field(sqlite3_stmt *s, int i, const struct backfill *b, int f)
{
	const struct bval *v = &b->v[f];

	if (v->null)
		sqlite3_bind_null(s, i);
	else if (store_cols[f] == C_INT)
		sqlite3_bind_int64(s, i, v->i);
	else if (store_cols[f] == C_TEXT)
		sqlite3_bind_text(s, i, v->s, (int)v->len, SQLITE_STATIC);
	else
		bind_text(s, i, store_cols[f] == C_STATUS ?
		    bf_status_name((enum bf_status)v->i) :
		    bf_itype_name((enum bf_itype)v->i));
}

static enum err
sq_backfill_get(struct store_impl *st, int64_t id, struct backfill *out)
{
	sqlite3_stmt	*s = stmt(st, SQL_BACKFILL_GET);
	enum err	 e;
	int		 rc;

	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		e = backfill_row(s, out, 1);
	else
		e = rc == SQLITE_DONE ? ERR_NOT_FOUND :
		    fail(st, rc, "backfill get");
	sqlite3_reset(s);
	return e;
}

static enum err
sq_backfill_insert(struct store_impl *st, struct backfill *b)
{
	sqlite3_stmt	*s = stmt(st, SQL_BACKFILL_INSERT);
	enum err	 e;
	int		 f;

	for (f = 0; f < BF__MAX; f++)
		bind_field(s, f + 1, b, f);
	if (b->v[BF_ID].null || b->v[BF_ID].i == 0)
		sqlite3_bind_null(s, 1);
	if ((e = run(st, SQL_BACKFILL_INSERT)) != ERR_OK)
		return e;
	b->v[BF_ID].null = 0;
	b->v[BF_ID].i = sqlite3_last_insert_rowid(st->db);
	b->version = 1;
	return ERR_OK;
}

static enum err
sq_backfill_update(struct store_impl *st, struct backfill *b, uint32_t changed)
{
	sqlite3_stmt	*s = stmt(st, SQL_BACKFILL_UPDATE);
	enum err	 e;
	int		 f;

	sqlite3_bind_int64(s, 1, changed);
	sqlite3_bind_int64(s, 2, b->v[BF_ID].i);
	for (f = 1; f < BF__MAX; f++)
		if (changed & BF_BIT(f))
			bind_field(s, f + 2, b, f);
	if ((e = run(st, SQL_BACKFILL_UPDATE)) != ERR_OK)
		return e;
	if (sqlite3_changes(st->db) != 1)
		return ERR_NOT_FOUND;
	b->version++;
	return ERR_OK;
}

static enum err
sq_backfill_delete(struct store_impl *st, int64_t id)
{
	enum err	 e;

	sqlite3_bind_int64(stmt(st, SQL_BACKFILL_DELETE), 1, id);
	if ((e = run(st, SQL_BACKFILL_DELETE)) != ERR_OK)
		return e;
	return sqlite3_changes(st->db) == 1 ? ERR_OK : ERR_NOT_FOUND;
}

static enum err
sq_backfill_list(struct store_impl *st, const char *pipeline, int64_t limit,
    int64_t offset, int64_t *count, int *next, store_backfill_fn fn,
    void *arg)
{
	struct backfill	 b;
	struct pipeline	 p;
	sqlite3_stmt	*s;
	enum err	 e;
	int64_t		 n = 0;
	int		 rc;

	*next = 0;
	*count = 0;
	if (pipeline != NULL) {
		if ((e = sq_pipeline_get(st, pipeline, &p)) == ERR_NOT_FOUND)
			return ERR_OK;
		if (e != ERR_OK)
			return e;
		pipeline_free(&p);
		*count = p.backfill_count;
		s = stmt(st, SQL_BACKFILL_LIST_PIPELINE);
		bind_text(s, 3, pipeline);
	} else {
		s = stmt(st, SQL_BACKFILL_COUNT);
		if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
			sqlite3_reset(s);
			return fail(st, rc, "backfill count");
		}
		*count = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		s = stmt(st, SQL_BACKFILL_LIST);
	}
	/* One row more than the page tells whether another page follows. */
	sqlite3_bind_int64(s, 1, limit + 1);
	sqlite3_bind_int64(s, 2, offset);
	memset(&b, 0, sizeof(b));
	e = ERR_OK;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n++ == limit) {
			*next = 1;
			break;
		}
		if ((e = backfill_row(s, &b, 0)) != ERR_OK ||
		    fn(&b, arg) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		e = fail(st, rc, "backfill list");
	sqlite3_reset(s);
	return e;
}

static const char *const cred_kinds[] = { "key", "token" };

static enum err
cred_row(sqlite3_stmt *s, struct credential *c)
{
	const void	*h = sqlite3_column_blob(s, 1);

	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(s, 0);
	if (h == NULL || sqlite3_column_bytes(s, 1) != (int)sizeof(c->hash))
		return ERR_INTERNAL;
	memcpy(c->hash, h, sizeof(c->hash));
	if (sqlite3_column_text(s, 2) != NULL)
		snprintf(c->name, sizeof(c->name), "%s",
		    sqlite3_column_text(s, 2));
	if (sqlite3_column_text(s, 3) != NULL)
		snprintf(c->role, sizeof(c->role), "%s",
		    sqlite3_column_text(s, 3));
	c->expires_at = sqlite3_column_int64(s, 4);
	c->created_at = sqlite3_column_int64(s, 5);
	c->revoked_at = sqlite3_column_int64(s, 6);
	return ERR_OK;
}

static enum err
sq_cred_add(struct store_impl *st, enum cred_kind k, struct credential *c)
{
	sqlite3_stmt	*s = stmt(st, SQL_CRED_ADD);
	int		 rc;

	bind_text(s, 1, cred_kinds[k]);
	sqlite3_bind_blob(s, 2, c->hash, sizeof(c->hash), SQLITE_STATIC);
	bind_text(s, 3, c->name[0] ? c->name : NULL);
	bind_text(s, 4, c->role[0] ? c->role : NULL);
	if (c->expires_at != 0)
		sqlite3_bind_int64(s, 5, c->expires_at);
	sqlite3_bind_int64(s, 6, c->created_at);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return ERR_PRECONDITION;
	if (rc != SQLITE_DONE)
		return fail(st, rc, "credential add");
	c->id = sqlite3_last_insert_rowid(st->db);
	return ERR_OK;
}

static enum err
sq_cred_find(struct store_impl *st, enum cred_kind k,
    const unsigned char hash[32], struct credential *out)
{
	sqlite3_stmt	*s = stmt(st, SQL_CRED_FIND);
	enum err	 e;
	int		 rc;

	bind_text(s, 1, cred_kinds[k]);
	sqlite3_bind_blob(s, 2, hash, 32, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		e = cred_row(s, out);
	else
		e = rc == SQLITE_DONE ? ERR_NOT_FOUND :
		    fail(st, rc, "credential find");
	sqlite3_reset(s);
	return e;
}

static enum err
sq_cred_revoke(struct store_impl *st, enum cred_kind k, int64_t id,
    int64_t now)
{
	sqlite3_stmt	*s = stmt(st, SQL_CRED_REVOKE);
	enum err	 e;

	bind_text(s, 1, cred_kinds[k]);
	sqlite3_bind_int64(s, 2, id);
	sqlite3_bind_int64(s, 3, now);
	if ((e = run(st, SQL_CRED_REVOKE)) != ERR_OK)
		return e;
	return sqlite3_changes(st->db) == 1 ? ERR_OK : ERR_NOT_FOUND;
}

static enum err
sq_cred_version(struct store_impl *st, int64_t *version)
{
	sqlite3_stmt	*s = stmt(st, SQL_CRED_VERSION);
	int		 rc = sqlite3_step(s);

	*version = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? ERR_OK : fail(st, rc, "credential version");
}

static enum err
sq_cred_list(struct store_impl *st, enum cred_kind k, store_cred_fn fn,
    void *arg)
{
	sqlite3_stmt		*s = stmt(st, SQL_CRED_LIST);
	struct credential	 c;
	int			 rc;

	bind_text(s, 1, cred_kinds[k]);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (cred_row(s, &c) != ERR_OK || fn(&c, arg) != 0)
			break;
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK :
	    fail(st, rc, "credential list");
}

static enum err
sq_runs_completed(struct store_impl *st, int64_t bid, int64_t **dates,
    size_t *n)
{
	sqlite3_stmt	*s = stmt(st, SQL_RUNS_COMPLETED);
	int64_t		*d = NULL, *p;
	size_t		 cap = 0;
	int		 rc;

	*n = 0;
	sqlite3_bind_int64(s, 1, bid);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((p = realloc(d, cap * sizeof(*d))) == NULL) {
				sqlite3_reset(s);
				free(d);
				return ERR_INTERNAL;
			}
			d = p;
		}
		d[(*n)++] = sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		free(d);
		*n = 0;
		return fail(st, rc, "runs completed");
	}
	*dates = d;
	return ERR_OK;
}

static enum err
sq_runs_supersede(struct store_impl *st, int64_t bid, int64_t now)
{
	sqlite3_stmt	*s = stmt(st, SQL_RUNS_SUPERSEDE_CANCEL);
	enum err	 e;

	sqlite3_bind_int64(s, 1, bid);
	sqlite3_bind_int64(s, 2, now);
	if ((e = run(st, SQL_RUNS_SUPERSEDE_CANCEL)) != ERR_OK)
		return e;
	sqlite3_bind_int64(stmt(st, SQL_RUNS_SUPERSEDE), 1, bid);
	return run(st, SQL_RUNS_SUPERSEDE);
}

static enum err
sq_run_insert(struct store_impl *st, struct run *r)
{
	sqlite3_stmt	*s = stmt(st, SQL_RUN_INSERT);
	enum err	 e;

	sqlite3_bind_int64(s, 1, r->backfill_id);
	bind_text(s, 2, r->pipeline_uuid);
	sqlite3_bind_int64(s, 3, r->execution_date);
	bind_text(s, 4, r->variables);
	sqlite3_bind_int64(s, 5, r->created_at);
	if ((e = run(st, SQL_RUN_INSERT)) != ERR_OK)
		return e;
	r->id = sqlite3_last_insert_rowid(st->db);
	return ERR_OK;
}

static enum err
sq_runs_cancel(struct store_impl *st, int64_t bid, int64_t now)
{
	sqlite3_stmt	*s = stmt(st, SQL_RUNS_CANCEL);

	sqlite3_bind_int64(s, 1, bid);
	sqlite3_bind_int64(s, 2, now);
	return run(st, SQL_RUNS_CANCEL);
}

static enum err
sq_runs_recount(struct store_impl *st, int64_t bid)
{
	sqlite3_bind_int64(stmt(st, SQL_RUNS_RECOUNT), 1, bid);
	return run(st, SQL_RUNS_RECOUNT);
}

static enum err
sq_run_counts(struct store_impl *st, int64_t bid, struct run_counts *out)
{
	sqlite3_stmt	*s = stmt(st, SQL_RUN_COUNTS);
	int		 rc, i;

	memset(out, 0, sizeof(*out));
	sqlite3_bind_int64(s, 1, bid);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		for (i = 0; i < 5; i++)
			out->n[ST_INITIAL + i] = sqlite3_column_int64(s, i);
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK :
	    fail(st, rc, "run counts");
}

/* Reads a row of RUN_COLS; variables points into the statement. */
static void
run_row(sqlite3_stmt *s, struct run *r)
{
	const char	*t;
	int		 e;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(s, 0);
	r->backfill_id = sqlite3_column_int64(s, 1);
	snprintf(r->pipeline_uuid, sizeof(r->pipeline_uuid), "%s",
	    (const char *)sqlite3_column_text(s, 2));
	r->execution_date = sqlite3_column_int64(s, 3);
	t = (const char *)sqlite3_column_text(s, 4);
	e = t != NULL ? bf_status_from(t, strlen(t)) : -1;
	r->status = e < 0 ? ST_INITIAL : (enum bf_status)e;
	r->variables = (const char *)sqlite3_column_text(s, 5);
	r->started_at = sqlite3_column_int64(s, 6);
	r->completed_at = sqlite3_column_int64(s, 7);
	r->created_at = sqlite3_column_int64(s, 8);
	r->updated_at = sqlite3_column_int64(s, 9);
	r->latest = sqlite3_column_int(s, 10);
}

static enum err
sq_run_get(struct store_impl *st, int64_t id, struct run *r)
{
	sqlite3_stmt	*s = stmt(st, SQL_RUN_GET);
	enum err	 e = ERR_OK;
	int		 rc;

	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		run_row(s, r);
		if (r->variables != NULL &&
		    (r->variables = strdup(r->variables)) == NULL)
			e = ERR_INTERNAL;
	} else
		e = rc == SQLITE_DONE ? ERR_NOT_FOUND : fail(st, rc, "run get");
	sqlite3_reset(s);
	return e;
}

static enum err
sq_run_update(struct store_impl *st, const struct run *r, enum bf_status old)
{
	sqlite3_stmt	*s = stmt(st, SQL_RUN_UPDATE);
	enum err	 e;

	sqlite3_bind_int64(s, 1, r->id);
	bind_text(s, 2, bf_status_name(r->status));
	if (r->started_at != 0)
		sqlite3_bind_int64(s, 3, r->started_at);
	if (r->completed_at != 0)
		sqlite3_bind_int64(s, 4, r->completed_at);
	sqlite3_bind_int64(s, 5, r->updated_at);
	if ((e = run(st, SQL_RUN_UPDATE)) != ERR_OK || !r->latest)
		return e;
	s = stmt(st, SQL_RUN_COUNTS_MOVE);
	sqlite3_bind_int64(s, 1, r->backfill_id);
	bind_text(s, 2, bf_status_name(old));
	bind_text(s, 3, bf_status_name(r->status));
	return run(st, SQL_RUN_COUNTS_MOVE);
}

static enum err
sq_run_list(struct store_impl *st, int64_t bid, enum bf_status status,
    int64_t limit, int64_t offset, int64_t *count, int *next,
    store_run_fn fn, void *arg)
{
	sqlite3_stmt	*s;
	struct run	 r;
	int64_t		 n = 0;
	int		 rc, i;
	/* A query of its own per filter, so each one uses its index. */
	const enum sql	 q[2] = {
		bid ? SQL_RUN_COUNT_BACKFILL : SQL_RUN_COUNT,
		bid ? SQL_RUN_LIST_BACKFILL : SQL_RUN_LIST };

	*next = 0;
	for (i = 0; ; i++) {
		s = stmt(st, q[i]);
		sqlite3_bind_int64(s, 3, bid);
		bind_text(s, 4, status == ST_NULL ? NULL :
		    bf_status_name(status));
		if (i == 1)
			break;
		rc = sqlite3_step(s);
		*count = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		if (rc != SQLITE_ROW)
			return fail(st, rc, "run count");
	}
	sqlite3_bind_int64(s, 1, limit + 1);
	sqlite3_bind_int64(s, 2, offset);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n++ == limit) {
			*next = 1;
			break;
		}
		run_row(s, &r);
		if (fn(&r, arg) != 0)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK :
	    fail(st, rc, "run list");
}

static enum err
sq_backup(struct store_impl *st, const char *path)
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
sq_check(struct store_impl *st, int *ok, char *msg, size_t msglen)
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

static enum err
sq_stats(struct store_impl *st, struct store_stats *out)
{
	static const char *const sql =
	    "SELECT 'p', NULL, count(*) FROM pipeline UNION ALL "
	    "SELECT 'b', status, count(*) FROM backfill GROUP BY status "
	    "UNION ALL SELECT 'r', 'initial', coalesce(sum(initial), 0) "
	    "FROM run_count UNION ALL SELECT 'r', 'running', "
	    "coalesce(sum(running), 0) FROM run_count UNION ALL SELECT 'r', "
	    "'completed', coalesce(sum(completed), 0) FROM run_count "
	    "UNION ALL SELECT 'r', 'failed', coalesce(sum(failed), 0) FROM "
	    "run_count UNION ALL SELECT 'r', 'cancelled', "
	    "coalesce(sum(cancelled), 0) FROM run_count";
	sqlite3_stmt	*s;
	const char	*kind, *status;
	int		 rc, e;

	memset(out, 0, sizeof(*out));
	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL)) != SQLITE_OK)
		return fail(st, rc, "stats");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		kind = (const char *)sqlite3_column_text(s, 0);
		status = (const char *)sqlite3_column_text(s, 1);
		e = status ? bf_status_from(status, strlen(status)) : ST_NULL;
		if (e < 0)
			continue;
		if (kind[0] == 'p')
			out->pipelines = sqlite3_column_int64(s, 2);
		else if (kind[0] == 'b')
			out->backfills[e] = sqlite3_column_int64(s, 2);
		else
			out->runs[e] = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? ERR_OK : fail(st, rc, "stats");
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.schema_version = sq_schema_version,
	.ping = sq_ping,
	.broken = sq_broken,
	.backup = sq_backup,
	.check = sq_check,
	.stats = sq_stats,
	.begin = sq_begin,
	.begin_read = sq_begin_read,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.idle = sq_idle,
	.pipeline_get = sq_pipeline_get,
	.pipeline_add = sq_pipeline_add,
	.pipeline_remove = sq_pipeline_remove,
	.pipeline_list = sq_pipeline_list,
	.backfill_get = sq_backfill_get,
	.backfill_insert = sq_backfill_insert,
	.backfill_update = sq_backfill_update,
	.backfill_delete = sq_backfill_delete,
	.backfill_list = sq_backfill_list,
	.cred_add = sq_cred_add,
	.cred_find = sq_cred_find,
	.cred_revoke = sq_cred_revoke,
	.cred_version = sq_cred_version,
	.cred_list = sq_cred_list,
	.runs_completed = sq_runs_completed,
	.runs_supersede = sq_runs_supersede,
	.run_insert = sq_run_insert,
	.runs_cancel = sq_runs_cancel,
	.runs_recount = sq_runs_recount,
	.run_counts = sq_run_counts,
	.run_get = sq_run_get,
	.run_update = sq_run_update,
	.run_list = sq_run_list,
};
