/*
 * The store over PostgreSQL (libpq): one connection per worker, opened
 * after fork (on its first request), each statement prepared on its
 * first use on a connection and run with PQexecPrepared. Values travel
 * only as parameters (strings in binary format with their length,
 * integers as decimal text) or binary COPY rows, never inside SQL text.
 *
 * Behaviour matches store_sqlite.c; where PostgreSQL differs:
 *
 * - Locking. SQLite's BEGIN IMMEDIATE serialises every writer. Here a
 *   write transaction is READ COMMITTED and takes row locks: inside one,
 *   backfill_get reads with FOR UPDATE, run_get locks the run's backfill
 *   first (then the run), and pipeline_remove locks the pipeline. Every
 *   path that changes a backfill or its runs therefore holds that
 *   backfill's row lock, taken before any run or count row, so the
 *   handlers' load-patch-write is safe and writers on different
 *   backfills (or hosts) run side by side. A lock waited on longer than
 *   busy_timeout (lock_timeout), a deadlock or a serialization failure
 *   is ERR_UNAVAILABLE (503), as SQLITE_BUSY is.
 *   A row that is not there cannot be locked: a write transaction that
 *   finds no pipeline of a name (or no backfill of an id) takes an
 *   advisory lock on that name (id), as adding one does, and looks
 *   again, so a check-then-add (backfillctl init --demo on two hosts
 *   at once) cannot add twice.
 * - Reads run in REPEATABLE READ READ ONLY: one snapshot per request.
 * - A lost connection sets broken (the service reopens the store); a
 *   transaction that finds the connection dead before its first
 *   statement reconnects once on the spot.
 * - Starting a backfill sends its runs as one binary COPY (struct
 *   runbuf); the kept numbers of backfills move once per transaction
 *   (struct deltas), not by a trigger per row.
 * - durability = normal is synchronous_commit = off; max_db_size is
 *   checked against pg_database_size() (once a second) before a write.
 * - backup is not done here: pg_dump, or backfillctl backup FILE, which
 *   copies one snapshot into a new SQLite file through this interface
 *   (src/copy.c).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "log.h"
#include "store_impl.h"

#define COLS	"id, block_uuid, completed_at, created_at, end_datetime, " \
		"failed_at, interval_type, interval_units, metrics, name, " \
		"pipeline_schedule_id, pipeline_uuid, settings, "	\
		"start_datetime, started_at, status, updated_at, variables, " \
		"version"

#define RUN_COLS "id, backfill_id, pipeline_uuid, execution_date, status, " \
		"variables, started_at, completed_at, created_at, updated_at, " \
		"latest"
#define CRED_COLS "id, hash, name, role, expires_at, created_at, revoked_at"

/* The type OIDs of bigint and text (pg_type.h, fixed since 7.x). */
#define INT8_OID	20
#define TEXT_OID	25

/* The one advisory lock key (ASCII "backfill") taken while migrating. */
#define MIGRATE_LOCK	"7089056601388706924"


/* Field f's SQL type, for the casts of the insert's and update's
 * parameters. */
#define T(f)	(store_cols[f] == C_INT ? "bigint" : "text")

enum q {
	Q_PING,
	Q_PIPELINE_GET,
	Q_PIPELINE_GET_LOCK,
	Q_PIPELINE_ADD,
	Q_PIPELINE_DELETE,
	Q_PIPELINE_BACKFILLS_DELETE,
	Q_PIPELINE_LIST,
	Q_BACKFILL_GET,
	Q_BACKFILL_GET_LOCK,
	Q_BACKFILL_INSERT,
	Q_BACKFILL_INSERT_ID,
	Q_BACKFILL_SEQ_PAST,
	Q_BACKFILL_UPDATE,
	Q_BACKFILL_DELETE,
	Q_BACKFILL_LIST,
	Q_BACKFILL_LIST_PIPELINE,
	Q_BACKFILL_COUNT,
	Q_CRED_ADD,
	Q_CRED_FIND,
	Q_CRED_REVOKE,
	Q_CRED_LIST,
	Q_CRED_VERSION,
	Q_RUNS_COMPLETED,
	Q_RUNS_SUPERSEDE_CANCEL,
	Q_RUNS_SUPERSEDE,
	Q_RUN_IDS,
	Q_RUNS_CANCEL,
	Q_RUNS_RECOUNT,
	Q_RUN_COUNTS,
	Q_RUN_GET,
	Q_RUN_LOCK_BACKFILL,
	Q_RUN_GET_LOCK,
	Q_RUN_UPDATE,
	Q_RUN_COUNTS_MOVE,
	Q_RUN_LIST,
	Q_RUN_LIST_BACKFILL,
	Q_RUN_COUNT,
	Q_RUN_COUNT_BACKFILL,
	Q_DB_SIZE,
	Q_LOCK_PIPELINE_NAME,
	Q_LOCK_BACKFILL_ID,
	Q_COUNT_PIPELINE,
	Q_COUNT_ALL,
	Q__MAX
};

/*
 * The statements. The insert and the update of a backfill are built at
 * open from the field table (names and casts only, no values). The
 * update writes only the columns whose bit is set in $1 (the mask of
 * changed fields), as store_sqlite.c's does: $2 is the id and field f's
 * new value is $(f + 2).
 */
static const char *const sqls[Q__MAX] = {
	[Q_PING] = "SELECT value FROM counter WHERE name = 'backfills'",
	[Q_PIPELINE_GET] = "SELECT uuid, variables, backfill_count "
	    "FROM pipeline WHERE uuid = $1::text",
	[Q_PIPELINE_GET_LOCK] = "SELECT uuid, variables, backfill_count "
	    "FROM pipeline WHERE uuid = $1::text FOR UPDATE",
	[Q_PIPELINE_ADD] = "INSERT INTO pipeline (uuid, variables, "
	    "created_at) VALUES ($1::text, $2::text, 0) "
	    "ON CONFLICT (uuid) DO NOTHING",
	[Q_PIPELINE_DELETE] = "DELETE FROM pipeline WHERE uuid = $1::text",
	[Q_PIPELINE_BACKFILLS_DELETE] =
	    "DELETE FROM backfill WHERE pipeline_uuid = $1::text",
	[Q_PIPELINE_LIST] = "SELECT uuid, variables, backfill_count "
	    "FROM pipeline ORDER BY uuid",
	[Q_BACKFILL_GET] = "SELECT " COLS " FROM backfill WHERE id = $1::bigint",
	[Q_BACKFILL_GET_LOCK] = "SELECT " COLS " FROM backfill "
	    "WHERE id = $1::bigint FOR UPDATE",
	[Q_BACKFILL_INSERT] = NULL,	/* built at open */
	[Q_BACKFILL_INSERT_ID] = NULL,	/* built at open */
	/* After an insert with an explicit id, moves the sequence past it
	 * so later inserts do not collide (SQLite's AUTOINCREMENT). */
	[Q_BACKFILL_SEQ_PAST] = "SELECT setval(pg_get_serial_sequence("
	    "'backfill', 'id'), $1::bigint) WHERE $1::bigint > coalesce("
	    "pg_sequence_last_value(pg_get_serial_sequence('backfill', "
	    "'id')::regclass), 0)",
	[Q_BACKFILL_UPDATE] = NULL,	/* built at open */
	[Q_BACKFILL_DELETE] = "DELETE FROM backfill WHERE id = $1::bigint "
	    "RETURNING pipeline_uuid",
	[Q_BACKFILL_LIST] = "SELECT " COLS " FROM backfill "
	    "ORDER BY created_at DESC, id DESC LIMIT $1::bigint "
	    "OFFSET $2::bigint",
	[Q_BACKFILL_LIST_PIPELINE] = "SELECT " COLS " FROM backfill "
	    "WHERE pipeline_uuid = $3::text "
	    "ORDER BY created_at DESC, id DESC LIMIT $1::bigint "
	    "OFFSET $2::bigint",
	[Q_BACKFILL_COUNT] =
	    "SELECT value FROM counter WHERE name = 'backfills'",
	/* A secret stored already adds no row (and, unlike a unique
	 * violation, does not abort the caller's transaction). */
	[Q_CRED_ADD] = "INSERT INTO credential (kind, hash, name, role, "
	    "expires_at, created_at) VALUES ($1::text, $2::bytea, $3::text, "
	    "$4::text, $5::bigint, $6::bigint) ON CONFLICT (hash) DO NOTHING "
	    "RETURNING id",
	[Q_CRED_FIND] = "SELECT " CRED_COLS " FROM credential "
	    "WHERE hash = $2::bytea AND kind = $1::text",
	[Q_CRED_REVOKE] = "UPDATE credential SET revoked_at = "
	    "coalesce(revoked_at, $3::bigint) WHERE id = $2::bigint AND "
	    "kind = $1::text",
	[Q_CRED_LIST] = "SELECT " CRED_COLS " FROM credential "
	    "WHERE kind = $1::text ORDER BY id",
	[Q_CRED_VERSION] =
	    "SELECT value FROM counter WHERE name = 'credentials'",
	[Q_RUNS_COMPLETED] = "SELECT execution_date FROM pipeline_run "
	    "WHERE backfill_id = $1::bigint AND latest = 1 AND "
	    "status = 'completed' ORDER BY execution_date",
	[Q_RUNS_SUPERSEDE_CANCEL] = "UPDATE pipeline_run SET status = "
	    "'cancelled', updated_at = $2::bigint WHERE backfill_id = "
	    "$1::bigint AND latest = 1 AND status IN ('initial', 'running')",
	[Q_RUNS_SUPERSEDE] = "UPDATE pipeline_run SET latest = 0 "
	    "WHERE backfill_id = $1::bigint AND latest = 1 AND "
	    "status <> 'completed'",
	/* Ids for the runs about to be inserted (see struct runbuf). */
	[Q_RUN_IDS] = "SELECT nextval(pg_get_serial_sequence('pipeline_run', "
	    "'id')) FROM generate_series(1, $1::int)",
	[Q_RUNS_CANCEL] = "UPDATE pipeline_run SET status = 'cancelled', "
	    "updated_at = $2::bigint WHERE backfill_id = $1::bigint AND "
	    "status IN ('initial', 'running')",
	[Q_RUNS_RECOUNT] = "INSERT INTO run_count (backfill_id, initial, "
	    "running, completed, failed, cancelled) SELECT $1::bigint, "
	    "count(*) FILTER (WHERE status = 'initial'), "
	    "count(*) FILTER (WHERE status = 'running'), "
	    "count(*) FILTER (WHERE status = 'completed'), "
	    "count(*) FILTER (WHERE status = 'failed'), "
	    "count(*) FILTER (WHERE status = 'cancelled') "
	    "FROM pipeline_run WHERE backfill_id = $1::bigint AND latest = 1 "
	    "ON CONFLICT (backfill_id) DO UPDATE SET initial = "
	    "excluded.initial, running = excluded.running, completed = "
	    "excluded.completed, failed = excluded.failed, cancelled = "
	    "excluded.cancelled",
	[Q_RUN_COUNTS] = "SELECT initial, running, completed, failed, "
	    "cancelled FROM run_count WHERE backfill_id = $1::bigint",
	[Q_RUN_GET] = "SELECT " RUN_COLS " FROM pipeline_run "
	    "WHERE id = $1::bigint",
	/* A run report locks the run's backfill before the run, in the
	 * order every other writer of runs takes them. */
	[Q_RUN_LOCK_BACKFILL] = "SELECT id FROM backfill WHERE id = (SELECT "
	    "backfill_id FROM pipeline_run WHERE id = $1::bigint) FOR UPDATE",
	[Q_RUN_GET_LOCK] = "SELECT " RUN_COLS " FROM pipeline_run "
	    "WHERE id = $1::bigint FOR UPDATE",
	[Q_RUN_UPDATE] = "UPDATE pipeline_run SET status = $2::text, "
	    "started_at = $3::bigint, completed_at = $4::bigint, "
	    "updated_at = $5::bigint WHERE id = $1::bigint",
	[Q_RUN_COUNTS_MOVE] = "UPDATE run_count SET "
	    "initial = initial - ($2::text = 'initial')::int + "
	    "($3::text = 'initial')::int, "
	    "running = running - ($2::text = 'running')::int + "
	    "($3::text = 'running')::int, "
	    "completed = completed - ($2::text = 'completed')::int + "
	    "($3::text = 'completed')::int, "
	    "failed = failed - ($2::text = 'failed')::int + "
	    "($3::text = 'failed')::int, "
	    "cancelled = cancelled - ($2::text = 'cancelled')::int + "
	    "($3::text = 'cancelled')::int "
	    "WHERE backfill_id = $1::bigint",
	[Q_RUN_LIST] = "SELECT " RUN_COLS " FROM pipeline_run "
	    "WHERE ($3::text IS NULL OR status = $3::text) "
	    "ORDER BY execution_date, id LIMIT $1::bigint OFFSET $2::bigint",
	[Q_RUN_LIST_BACKFILL] = "SELECT " RUN_COLS " FROM pipeline_run "
	    "WHERE backfill_id = $4::bigint AND "
	    "($3::text IS NULL OR status = $3::text) "
	    "ORDER BY execution_date, id LIMIT $1::bigint OFFSET $2::bigint",
	[Q_RUN_COUNT] = "SELECT count(*) FROM pipeline_run "
	    "WHERE ($1::text IS NULL OR status = $1::text)",
	[Q_RUN_COUNT_BACKFILL] = "SELECT count(*) FROM pipeline_run "
	    "WHERE ($1::text IS NULL OR status = $1::text) AND "
	    "backfill_id = $2::bigint",
	[Q_DB_SIZE] = "SELECT pg_database_size(current_database())",
	/* Locks on records that do not exist (yet): see absent(). */
	[Q_LOCK_PIPELINE_NAME] =
	    "SELECT pg_advisory_xact_lock(1, hashtext($1::text))",
	[Q_LOCK_BACKFILL_ID] = "SELECT pg_advisory_xact_lock(2, "
	    "($1::bigint & 2147483647)::int)",
	[Q_COUNT_PIPELINE] = "UPDATE pipeline SET backfill_count = "
	    "backfill_count + $2::bigint WHERE uuid = $1::text",
	[Q_COUNT_ALL] = "UPDATE counter SET value = value + $1::bigint "
	    "WHERE name = 'backfills'",
};
_Static_assert(sizeof(sqls) / sizeof(sqls[0]) == Q__MAX, "every statement");
_Static_assert(BF_BLOCK_UUID == 1 && BF_VARIABLES == 17 &&
    BF_SETTINGS == 12 && BF_STATUS == 15, "update binds follow fields");

/*
 * Migrations: migrations[v] takes schema version v to v + 1, the same
 * steps and numbers as store_sqlite.c's. Datetimes are BIGINT
 * microseconds since the epoch, UTC; JSON objects are TEXT, kept exactly
 * as the core wrote them. Text that is sorted on is COLLATE "C" (byte
 * order, as SQLite's BINARY).
 */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	/* 0 -> 1: pipelines and backfills. */
	"CREATE TABLE pipeline ("
	"  uuid TEXT COLLATE \"C\" PRIMARY KEY,"
	"  variables TEXT,"
	"  created_at BIGINT NOT NULL);"
	"CREATE TABLE backfill ("
	"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  pipeline_uuid TEXT COLLATE \"C\" NOT NULL"
	"    REFERENCES pipeline (uuid),"
	"  version BIGINT NOT NULL DEFAULT 1,"
	"  block_uuid TEXT, completed_at BIGINT,"
	"  created_at BIGINT NOT NULL, end_datetime BIGINT,"
	"  failed_at BIGINT, interval_type TEXT, interval_units BIGINT,"
	"  metrics TEXT, name TEXT, pipeline_schedule_id BIGINT,"
	"  settings TEXT, start_datetime BIGINT, started_at BIGINT,"
	"  status TEXT, updated_at BIGINT NOT NULL, variables TEXT);",
	/* 1 -> 2: kept counts (a list's total without a count(*) scan)
	 * and indexes for the list order. The counts are moved by the
	 * store (struct deltas), not by a trigger: a row trigger would
	 * update one counter row per insert, which PostgreSQL makes
	 * quadratic within one transaction (backfillctl seed, copy). */
	"ALTER TABLE pipeline ADD COLUMN backfill_count BIGINT NOT NULL"
	"  DEFAULT 0;"
	"UPDATE pipeline SET backfill_count = (SELECT count(*) FROM backfill"
	"  WHERE backfill.pipeline_uuid = pipeline.uuid);"
	"CREATE TABLE counter (name TEXT COLLATE \"C\" PRIMARY KEY,"
	"  value BIGINT NOT NULL);"
	"INSERT INTO counter VALUES ('backfills',"
	"  (SELECT count(*) FROM backfill));"
	"CREATE INDEX backfill_order ON backfill (created_at, id);"
	"CREATE INDEX backfill_pipeline_order ON backfill"
	"  (pipeline_uuid, created_at, id);",
	/* 2 -> 3: API keys and OAuth tokens, kept as SHA-256 hashes. */
	"CREATE TABLE credential ("
	"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  kind TEXT NOT NULL CHECK (kind IN ('key', 'token')),"
	"  hash BYTEA NOT NULL UNIQUE CHECK (length(hash) = 32),"
	"  name TEXT, role TEXT, expires_at BIGINT,"
	"  created_at BIGINT NOT NULL, revoked_at BIGINT);",
	/* 3 -> 4: pipeline runs, and per backfill the kept number of
	 * latest attempts in each status. */
	"CREATE TABLE pipeline_run ("
	"  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  backfill_id BIGINT NOT NULL REFERENCES backfill (id)"
	"    ON DELETE CASCADE,"
	"  pipeline_uuid TEXT NOT NULL,"
	"  execution_date BIGINT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  variables TEXT,"
	"  started_at BIGINT, completed_at BIGINT,"
	"  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
	"  latest INTEGER NOT NULL DEFAULT 1);"
	"CREATE INDEX pipeline_run_order ON pipeline_run"
	"  (backfill_id, execution_date, id);"
	"CREATE INDEX pipeline_run_latest ON pipeline_run"
	"  (backfill_id, latest, status, execution_date);"
	"CREATE INDEX pipeline_run_all ON pipeline_run (execution_date, id);"
	"CREATE TABLE run_count ("
	"  backfill_id BIGINT PRIMARY KEY REFERENCES backfill (id)"
	"    ON DELETE CASCADE,"
	"  initial BIGINT NOT NULL DEFAULT 0,"
	"  running BIGINT NOT NULL DEFAULT 0,"
	"  completed BIGINT NOT NULL DEFAULT 0,"
	"  failed BIGINT NOT NULL DEFAULT 0,"
	"  cancelled BIGINT NOT NULL DEFAULT 0);",
	/* 4 -> 5: a version of the credentials, bumped by every change to
	 * them, so workers can keep their lookups until it moves. */
	"INSERT INTO counter VALUES ('credentials', 0);"
	"CREATE FUNCTION credential_changed() RETURNS trigger"
	"  LANGUAGE plpgsql AS $$ BEGIN"
	"  UPDATE counter SET value = value + 1 WHERE name = 'credentials';"
	"  RETURN NULL;"
	"END $$;"
	"CREATE TRIGGER credential_changed AFTER INSERT OR UPDATE OR DELETE"
	"  ON credential FOR EACH ROW EXECUTE FUNCTION credential_changed();",
};

/*
 * Runs inserted and not yet sent. Starting a backfill inserts one run
 * per planned date (100 000 of them at most): one statement each would
 * be one round trip each. They are sent instead as one binary COPY when
 * any other statement is about to run (or the transaction commits), so
 * every reader sees them; their ids are taken from the sequence ahead,
 * in blocks that double from RUN_IDS_FIRST, and what a transaction did
 * not use is dropped at its end (ids keep growing with time, with gaps,
 * as any sequence's).
 */
#define RUN_IDS_FIRST	4
#define RUN_IDS_MAX	8192

struct runbuf {
	char		*p;		/* COPY rows, binary format */
	size_t		 len, cap;
	int64_t		 rows;
	int64_t		*ids;		/* taken from the sequence */
	int		 nids, next, block;
	int		 oom;
};

/*
 * The kept numbers of backfills (all, and per pipeline) that this
 * transaction's inserts and deletes move, applied once per row at
 * commit, or before anything reads them.
 */
struct deltas {
	struct {
		char	 uuid[256];
		int64_t	 n;
	}		*p;
	size_t		 n, cap;
	int64_t		 all;
	int		 oom;
};

struct store_impl {
	PGconn		*conn;
	struct runbuf	 rb;
	struct deltas	 d;
	char		*uri;		/* owned, for reconnecting */
	int		 busy_timeout;	/* milliseconds */
	int		 durability_full;
	int64_t		 max_size;
	char		*sql[Q__MAX];	/* owned: the ones built at open */
	char		 name[Q__MAX][16];	/* prepared statement names */
	char		 prepared[Q__MAX];	/* on this connection */
	int		 in_write;	/* a write transaction is open */
	int		 broken;	/* see store_broken() */
	time_t		 size_checked;	/* when pg_database_size last ran */
	int		 over_size;
};

/* The parameters of one statement: values as libpq takes them. Numbers
 * are written into num; strings point at the caller's memory. */
#define ARGS_MAX	20

struct args {
	int		 n;
	const char	*v[ARGS_MAX];
	int		 len[ARGS_MAX];
	int		 fmt[ARGS_MAX];
	char		 num[ARGS_MAX][24];
};

static void
a_int(struct args *a, int64_t i)
{
	snprintf(a->num[a->n], sizeof(a->num[0]), "%lld", (long long)i);
	a->v[a->n] = a->num[a->n];
	a->len[a->n] = 0;
	a->fmt[a->n] = 0;
	a->n++;
}

static void
a_null(struct args *a)
{
	a->v[a->n] = NULL;
	a->len[a->n] = 0;
	a->fmt[a->n] = 0;
	a->n++;
}

/* Bytes with their length, in binary format: text or bytea. */
static void
a_bytes(struct args *a, const void *p, size_t len)
{
	a->v[a->n] = p;
	a->len[a->n] = (int)len;
	a->fmt[a->n] = 1;
	a->n++;
}

static void
a_text(struct args *a, const char *s)
{
	if (s == NULL)
		a_null(a);
	else
		a_bytes(a, s, strlen(s));
}

/* An integer that the store keeps as null when 0 (run timestamps,
 * expiry). */
static void
a_int_or_null(struct args *a, int64_t i)
{
	if (i == 0)
		a_null(a);
	else
		a_int(a, i);
}

/* The first line of a libpq message, without its trailing newline. */
static void
first_line(char *out, size_t outlen, const char *msg)
{
	size_t	 n = strcspn(msg ? msg : "", "\r\n");

	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, msg ? msg : "", n);
	out[n] = '\0';
}

/* Maps a SQLSTATE to the program's error; sets broken when a new
 * connection may cure it. */
static enum err
state_err(struct store_impl *st, const char *state)
{
	if (PQstatus(st->conn) != CONNECTION_OK) {
		st->broken = 1;
		return ERR_UNAVAILABLE;
	}
	if (state == NULL)
		return ERR_INTERNAL;
	if (strncmp(state, "08", 2) == 0 ||	/* connection exception */
	    strcmp(state, "57P01") == 0 ||	/* admin shutdown */
	    strcmp(state, "57P02") == 0 ||	/* crash shutdown */
	    strcmp(state, "57P03") == 0 ||	/* cannot connect now */
	    strcmp(state, "3D000") == 0 ||	/* database gone */
	    strcmp(state, "42P01") == 0) {	/* a table gone */
		st->broken = 1;
		return ERR_UNAVAILABLE;
	}
	if (strcmp(state, "40001") == 0 ||	/* serialization failure */
	    strcmp(state, "40P01") == 0 ||	/* deadlock */
	    strcmp(state, "55P03") == 0 ||	/* lock_timeout */
	    strcmp(state, "55006") == 0 ||	/* object in use */
	    strcmp(state, "57014") == 0 ||	/* query canceled */
	    strcmp(state, "25006") == 0 ||	/* read-only (a standby) */
	    strcmp(state, "42501") == 0 ||	/* insufficient privilege */
	    strncmp(state, "53", 2) == 0)	/* disk full, memory, ... */
		return ERR_UNAVAILABLE;
	return ERR_INTERNAL;
}

/* Logs a failed statement (its primary message only: a DETAIL line may
 * quote row values) and maps it. Clears r. */
static enum err
fail(struct store_impl *st, PGresult *r, const char *what)
{
	const char	*state = NULL, *msg;
	char		 line[256];
	enum err	 e;

	if (r != NULL) {
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		if (msg == NULL)
			msg = PQresultErrorMessage(r);
	} else
		msg = PQerrorMessage(st->conn);
	first_line(line, sizeof(line), msg);
	e = state_err(st, state);
	log_msg(e == ERR_UNAVAILABLE ? LOG_WARN : LOG_ERROR,
	    "postgresql: %.60s%s: %s (%s)", what, strlen(what) > 60 ? "..." :
	    "", line[0] ? line : "no message", state ? state : "no sqlstate");
	PQclear(r);
	return e;
}

/*
 * Runs prepared statement k with a's parameters. Returns the result
 * (PQclear it) when it is a success, else NULL with *e set (logged).
 */
static enum err	runs_flush(struct store_impl *);

/* Prepares statement k on this connection. */
static enum err
prepare_one(struct store_impl *st, enum q k)
{
	Oid		 types[BF__MAX + 1];
	PGresult	*r;
	int		 f;

	/* The update's parameters are typed here: some (the fields it
	 * never writes) appear nowhere in its text. */
	types[0] = types[1] = INT8_OID;
	for (f = 1; f < BF__MAX; f++)
		types[f + 1] = store_cols[f] == C_INT ? INT8_OID : TEXT_OID;
	r = PQprepare(st->conn, st->name[k], st->sql[k],
	    k == Q_BACKFILL_UPDATE ? BF__MAX + 1 : 0,
	    k == Q_BACKFILL_UPDATE ? types : NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return fail(st, r, st->sql[k]);
	PQclear(r);
	st->prepared[k] = 1;
	return ERR_OK;
}

static PGresult *
run(struct store_impl *st, enum q k, const struct args *a, enum err *e)
{
	PGresult	*r;
	ExecStatusType	 s;

	if (st->rb.rows > 0 && (*e = runs_flush(st)) != ERR_OK)
		return NULL;
	if (!st->prepared[k] && (*e = prepare_one(st, k)) != ERR_OK)
		return NULL;
	r = PQexecPrepared(st->conn, st->name[k], a ? a->n : 0,
	    a ? a->v : NULL, a ? a->len : NULL, a ? a->fmt : NULL, 0);
	s = PQresultStatus(r);
	if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
		*e = ERR_OK;
		return r;
	}
	*e = fail(st, r, st->sql[k] ? st->sql[k] : sqls[k]);
	return NULL;
}

/* Runs a statement whose result is not needed; *rows gets the number of
 * rows it changed or returned when rows is not NULL. */
static enum err
run_n(struct store_impl *st, enum q k, const struct args *a, int64_t *rows)
{
	PGresult	*r;
	enum err	 e;

	if ((r = run(st, k, a, &e)) == NULL)
		return e;
	if (rows != NULL)
		*rows = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return ERR_OK;
}

/* Runs SQL without parameters (transaction control, migrations). */
static enum err
exec_sql(struct store_impl *st, const char *sql, const char *what)
{
	PGresult	*r;
	ExecStatusType	 s;
	enum err	 e;

	if (st->rb.rows > 0 && (e = runs_flush(st)) != ERR_OK)
		return e;
	r = PQexec(st->conn, sql);
	s = PQresultStatus(r);

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
		PQclear(r);
		return ERR_OK;
	}
	return fail(st, r, what);
}

static int64_t
get_i(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static const char *
get_s(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* -- opening: connect, migrate, prepare -------------------------------- */

/* Reads the recorded schema version: 0 when there is no schema. */
static enum err
read_version(struct store_impl *st, int *v)
{
	PGresult	*r;
	enum err	 e = ERR_OK;
	int		 exists;

	*v = 0;
	r = PQexec(st->conn, "SELECT to_regclass('schema_version') IS NOT NULL");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return fail(st, r, "schema_version");
	exists = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!exists)
		return ERR_OK;
	r = PQexec(st->conn, "SELECT max(version) FROM schema_version");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return fail(st, r, "schema_version");
	*v = (int)get_i(r, 0, 0);
	PQclear(r);
	return e;
}

/*
 * Brings the schema to STORE_SCHEMA_VERSION in one transaction, holding
 * a session advisory lock, so that workers (or hosts) opening together
 * take turns: the next one finds the work done. (A session lock, taken
 * before the transaction begins: a transaction that began before the
 * other's commit could still resolve table names as they were.)
 * Without create, a database with no schema at all is refused (the
 * file-less case of SQLite).
 */
static enum err
migrate_locked(struct store_impl *st, int create, char *why, size_t whylen)
{
	char		 sql[96];
	enum err	 e;
	int		 v, v0;

	if ((e = exec_sql(st, "BEGIN ISOLATION LEVEL READ COMMITTED",
	    "begin")) != ERR_OK ||
	    (e = read_version(st, &v)) != ERR_OK)	/* maybe done meanwhile */
		goto failed;
	v0 = v;
	if (v == STORE_SCHEMA_VERSION)
		return exec_sql(st, "COMMIT", "commit");
	if (v > STORE_SCHEMA_VERSION || v < 0) {
		snprintf(why, whylen, "the database has schema version %d, "
		    "newer than this program's %d: upgrade the program", v,
		    STORE_SCHEMA_VERSION);
		exec_sql(st, "ROLLBACK", "rollback");
		return ERR_PRECONDITION;
	}
	if (v == 0 && !create) {
		snprintf(why, whylen, "the database has no backfills schema: "
		    "create it with backfillctl --db URI init");
		exec_sql(st, "ROLLBACK", "rollback");
		return ERR_UNAVAILABLE;
	}
	for (; v < STORE_SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof(sql), "migration to version %d", v + 1);
		if ((e = exec_sql(st, migrations[v], sql)) != ERR_OK)
			goto failed;
	}
	if (v0 == 0)
		e = exec_sql(st, "CREATE TABLE schema_version ("
		    "version INTEGER NOT NULL)", "schema_version");
	if (e == ERR_OK) {
		/* The version is a constant of this program, not input. */
		snprintf(sql, sizeof(sql), "%s schema_version %s %d",
		    v0 == 0 ? "INSERT INTO" : "UPDATE",
		    v0 == 0 ? "VALUES (" : "SET version =",
		    STORE_SCHEMA_VERSION);
		if (v0 == 0)
			strncat(sql, ")", sizeof(sql) - strlen(sql) - 1);
		e = exec_sql(st, sql, "schema_version");
	}
	if (e != ERR_OK || (e = exec_sql(st, "COMMIT", "commit")) != ERR_OK)
		goto failed;
	return ERR_OK;
failed:
	snprintf(why, whylen, "cannot migrate the schema: %s",
	    PQerrorMessage(st->conn)[0] ? PQerrorMessage(st->conn) :
	    "see the log");
	why[strcspn(why, "\r\n")] = '\0';
	if (PQtransactionStatus(st->conn) != PQTRANS_IDLE)
		PQclear(PQexec(st->conn, "ROLLBACK"));
	return e == ERR_PRECONDITION ? ERR_UNAVAILABLE : e;
}

static enum err
migrate(struct store_impl *st, int create, char *why, size_t whylen)
{
	enum err	 e;
	int		 v;

	if ((e = read_version(st, &v)) != ERR_OK) {
		snprintf(why, whylen, "cannot read the schema version");
		return e;
	}
	if (v == STORE_SCHEMA_VERSION)
		return ERR_OK;
	if (v == 0 && !create) {
		snprintf(why, whylen, "the database has no backfills schema: "
		    "create it with backfillctl --db URI init");
		return ERR_UNAVAILABLE;
	}
	if ((e = exec_sql(st, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")",
	    "migration lock")) != ERR_OK) {
		snprintf(why, whylen, "cannot take the migration lock");
		return e;
	}
	e = migrate_locked(st, create, why, whylen);
	if (PQstatus(st->conn) == CONNECTION_OK)
		PQclear(PQexec(st->conn, "SELECT pg_advisory_unlock("
		    MIGRATE_LOCK ")"));
	return e;
}

/* Builds the statements that follow the field table. */
static int
build_sql(struct store_impl *st)
{
	char	 ins[2048], ins_id[2048], upd[4096], *p;
	size_t	 n;
	int	 f, k;

	/* INSERT with every column but id (which the sequence gives),
	 * and the same with an explicit id. */
	snprintf(ins, sizeof(ins), "INSERT INTO backfill (");
	snprintf(ins_id, sizeof(ins_id), "INSERT INTO backfill (id, ");
	for (f = 1; f < BF__MAX; f++) {
		strncat(ins, bf_field_name((enum bf_field)f),
		    sizeof(ins) - strlen(ins) - 1);
		strncat(ins, ", ", sizeof(ins) - strlen(ins) - 1);
	}
	n = strlen(ins);
	strncat(ins_id, ins + strlen("INSERT INTO backfill ("),
	    sizeof(ins_id) - strlen(ins_id) - 1);
	strncat(ins, "version) VALUES (", sizeof(ins) - n - 1);
	strncat(ins_id, "version) VALUES ($18::bigint, ",
	    sizeof(ins_id) - strlen(ins_id) - 1);
	for (f = 1, k = 1; f < BF__MAX; f++, k++) {
		n = strlen(ins);
		snprintf(ins + n, sizeof(ins) - n, "$%d::%s, ", k, T(f));
		n = strlen(ins_id);
		snprintf(ins_id + n, sizeof(ins_id) - n, "$%d::%s, ", k, T(f));
	}
	strncat(ins, "1) RETURNING id", sizeof(ins) - strlen(ins) - 1);
	strncat(ins_id, "1) RETURNING id", sizeof(ins_id) - strlen(ins_id) - 1);

	/* UPDATE: col = CASE WHEN bit f of $1 THEN $(f + 2) ELSE col END
	 * for every writable column (the id and created_at never change;
	 * pipeline_schedule_id and pipeline_uuid are not written, as in
	 * store_sqlite.c). */
	snprintf(upd, sizeof(upd), "UPDATE backfill SET version = version + 1");
	for (f = 1; f < BF__MAX; f++) {
		if (f == BF_CREATED_AT || f == BF_PIPELINE_SCHEDULE_ID ||
		    f == BF_PIPELINE_UUID)
			continue;
		n = strlen(upd);
		snprintf(upd + n, sizeof(upd) - n, ", %s = CASE WHEN "
		    "($1::bigint >> %d) & 1 = 1 THEN $%d::%s ELSE %s END",
		    bf_field_name((enum bf_field)f), f, f + 2, T(f),
		    bf_field_name((enum bf_field)f));
	}
	n = strlen(upd);
	snprintf(upd + n, sizeof(upd) - n, " WHERE id = $2::bigint "
	    "RETURNING version");
	if (strlen(upd) >= sizeof(upd) - 1 || strlen(ins) >= sizeof(ins) - 1 ||
	    strlen(ins_id) >= sizeof(ins_id) - 1)
		return -1;
	if ((st->sql[Q_BACKFILL_INSERT] = strdup(ins)) == NULL ||
	    (st->sql[Q_BACKFILL_INSERT_ID] = strdup(ins_id)) == NULL ||
	    (st->sql[Q_BACKFILL_UPDATE] = strdup(upd)) == NULL)
		return -1;
	for (k = 0; k < Q__MAX; k++)
		if (st->sql[k] == NULL && (p = strdup(sqls[k])) != NULL)
			st->sql[k] = p;
		else if (st->sql[k] == NULL)
			return -1;
	return 0;
}

/* The session settings from the conf. (Statements are prepared on
 * their first use, see run(): preparing a write takes a lock on its
 * table, which a read must not wait for.) */
static enum err
prepare(struct store_impl *st, char *why, size_t whylen)
{
	const char	*v[2];
	char		 lock_timeout[24];
	PGresult	*r;
	enum err	 e;

	memset(st->prepared, 0, sizeof(st->prepared));
	snprintf(lock_timeout, sizeof(lock_timeout), "%d",
	    st->busy_timeout > 0 ? st->busy_timeout : 1);
	v[0] = lock_timeout;
	v[1] = st->durability_full ? "on" : "off";
	r = PQexecParams(st->conn, "SELECT set_config('lock_timeout', $1, "
	    "false), set_config('synchronous_commit', $2, false)", 2, NULL,
	    v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		e = fail(st, r, "session settings");
		snprintf(why, whylen, "cannot apply the session settings");
		return e;
	}
	PQclear(r);
	return ERR_OK;
}

/* Opens the connection. ERR_UNAVAILABLE with a reason when it fails. */
static enum err
connect_db(struct store_impl *st, char *why, size_t whylen)
{
	/* Later keywords override earlier ones: the URI's own settings
	 * win over the defaults, but the encoding is always UTF-8. */
	static const char *const keys[] = {
		"application_name", "connect_timeout", "gssencmode",
		/* TCP: a server gone silent (a partition) is given up on
		 * in seconds, not after the system's two hours */
		"keepalives_idle", "keepalives_interval", "keepalives_count",
		"tcp_user_timeout",
		"dbname", "client_encoding", NULL };
	const char	*vals[sizeof(keys) / sizeof(keys[0])] = {
		"backfills", "5",
		"disable",	/* no Kerberos probing unless asked for */
		"10", "5", "3", "15000",
		NULL, "UTF8", NULL };
	char		 line[256];

	vals[7] = st->uri;
	PQfinish(st->conn);
	st->conn = PQconnectdbParams(keys, vals, 1);
	if (st->conn == NULL) {
		snprintf(why, whylen, "out of memory");
		return ERR_INTERNAL;
	}
	if (PQstatus(st->conn) != CONNECTION_OK) {
		first_line(line, sizeof(line), PQerrorMessage(st->conn));
		snprintf(why, whylen, "cannot connect to PostgreSQL: %s",
		    line[0] ? line : "no reason given");
		return ERR_UNAVAILABLE;
	}
	st->broken = 0;
	st->in_write = 0;
	return ERR_OK;
}

static void	pg_close(struct store_impl *);

static enum err
pg_open(struct store_impl **out, const struct store_opts *o, char *why,
    size_t whylen)
{
	struct store_impl *st;
	enum err	 e;
	int		 k;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->uri = strdup(o->path)) == NULL) {
		free(st);
		snprintf(why, whylen, "out of memory");
		return ERR_INTERNAL;
	}
	st->busy_timeout = o->busy_timeout;
	st->durability_full = o->durability_full;
	st->max_size = o->max_size;
	for (k = 0; k < Q__MAX; k++)
		snprintf(st->name[k], sizeof(st->name[k]), "bf%d", k);
	if (build_sql(st) < 0) {
		snprintf(why, whylen, "out of memory");
		e = ERR_INTERNAL;
		goto fail;
	}
	if ((e = connect_db(st, why, whylen)) != ERR_OK ||
	    (e = migrate(st, o->create, why, whylen)) != ERR_OK ||
	    (e = prepare(st, why, whylen)) != ERR_OK)
		goto fail;
	*out = st;
	return ERR_OK;
fail:
	pg_close(st);
	return e;
}

static void
pg_close(struct store_impl *st)
{
	int	 k;

	if (st == NULL)
		return;
	PQfinish(st->conn);
	free(st->rb.p);
	free(st->rb.ids);
	free(st->d.p);
	for (k = 0; k < Q__MAX; k++)
		free(st->sql[k]);
	free(st->uri);
	free(st);
}

/* A new connection in place of a dead one, between transactions. */
static enum err
reconnect(struct store_impl *st)
{
	char		 why[256];
	enum err	 e;

	log_msg(LOG_WARN, "postgresql: connection lost; reconnecting");
	if ((e = connect_db(st, why, sizeof(why))) != ERR_OK ||
	    (e = prepare(st, why, sizeof(why))) != ERR_OK) {
		log_msg(LOG_ERROR, "postgresql: %s", why);
		st->broken = 1;
		return e;
	}
	return ERR_OK;
}

static enum err
pg_schema_version(struct store_impl *st, int *version)
{
	return read_version(st, version);
}

static int
pg_broken(const struct store_impl *st)
{
	return st->broken || PQstatus(st->conn) != CONNECTION_OK;
}

static enum err
pg_ping(struct store_impl *st)
{
	if (PQstatus(st->conn) != CONNECTION_OK && reconnect(st) != ERR_OK)
		return ERR_UNAVAILABLE;
	return run_n(st, Q_PING, NULL, NULL);
}

/* -- kept counts (struct deltas) ------------------------------------- */

static void
deltas_drop(struct store_impl *st)
{
	st->d.n = 0;
	st->d.all = 0;
	st->d.oom = 0;
}

static void
delta_add(struct store_impl *st, const char *uuid, int64_t n)
{
	struct deltas	*d = &st->d;
	size_t		 i;
	void		*q;

	d->all += n;
	if (uuid == NULL)
		return;
	for (i = 0; i < d->n; i++)
		if (strcmp(d->p[i].uuid, uuid) == 0) {
			d->p[i].n += n;
			return;
		}
	if (d->n == d->cap) {
		if ((q = realloc(d->p, (d->cap ? d->cap * 2 : 8) *
		    sizeof(*d->p))) == NULL) {
			d->oom = 1;
			return;
		}
		d->p = q;
		d->cap = d->cap ? d->cap * 2 : 8;
	}
	snprintf(d->p[d->n].uuid, sizeof(d->p[0].uuid), "%s", uuid);
	d->p[d->n].n = n;
	d->n++;
}

static int
by_uuid(const void *a, const void *b)
{
	return strcmp(a, b);	/* uuid is the first member */
}

/* Applies the counts moved so far: pipelines in uuid order (so two
 * transactions never take their rows in opposite orders), then the
 * total. */
static enum err
deltas_flush(struct store_impl *st)
{
	struct deltas	*d = &st->d;
	struct args	 a;
	size_t		 i;
	enum err	 e = ERR_OK;

	if (d->oom) {
		deltas_drop(st);
		return ERR_INTERNAL;
	}
	if (d->n > 1)
		qsort(d->p, d->n, sizeof(*d->p), by_uuid);
	for (i = 0; i < d->n && e == ERR_OK; i++) {
		if (d->p[i].n == 0)
			continue;
		memset(&a, 0, sizeof(a));
		a_text(&a, d->p[i].uuid);
		a_int(&a, d->p[i].n);
		e = run_n(st, Q_COUNT_PIPELINE, &a, NULL);
	}
	if (e == ERR_OK && d->all != 0) {
		memset(&a, 0, sizeof(a));
		a_int(&a, d->all);
		e = run_n(st, Q_COUNT_ALL, &a, NULL);
	}
	deltas_drop(st);
	return e;
}

/* After an insert or delete: outside a transaction the counts move at
 * once, as the row did. */
static enum err
deltas_settle(struct store_impl *st)
{
	if (PQtransactionStatus(st->conn) == PQTRANS_IDLE)
		return deltas_flush(st);
	return ERR_OK;
}

/* -- runs sent in batches (struct runbuf) ---------------------------- */

/* Forgets the runs not sent and the ids not used. */
static void
runs_drop(struct store_impl *st)
{
	st->rb.len = 0;
	st->rb.rows = 0;
	st->rb.oom = 0;
	st->rb.nids = st->rb.next = 0;
	st->rb.block = 0;
}

static void
rb_add(struct runbuf *rb, const void *p, size_t n)
{
	char	*q;
	size_t	 cap;

	if (rb->oom)
		return;
	if (rb->len + n > rb->cap) {
		cap = rb->cap ? rb->cap : 65536;
		while (cap < rb->len + n)
			cap *= 2;
		if ((q = realloc(rb->p, cap)) == NULL) {
			rb->oom = 1;
			return;
		}
		rb->p = q;
		rb->cap = cap;
	}
	memcpy(rb->p + rb->len, p, n);
	rb->len += n;
}

/* Big-endian integers of COPY's binary format. */
static void
rb_be(struct runbuf *rb, uint64_t v, int bytes)
{
	unsigned char	 b[8];
	int		 i;

	for (i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	rb_add(rb, b, (size_t)bytes);
}

/* One field: its length, then its bytes; -1 for null. */
static void
rb_int8(struct runbuf *rb, int64_t v)
{
	rb_be(rb, 8, 4);
	rb_be(rb, (uint64_t)v, 8);
}

static void
rb_text(struct runbuf *rb, const char *s)
{
	size_t	 n;

	if (s == NULL) {
		rb_be(rb, 0xffffffffu, 4);
		return;
	}
	n = strlen(s);
	rb_be(rb, n, 4);
	rb_add(rb, s, n);
}

/* Sends the runs inserted so far: COPY in binary format (values as
 * bytes with their lengths, never SQL text). */
static enum err
runs_flush(struct store_impl *st)
{
	static const char header[] = "PGCOPY\n\377\r\n\0"
	    "\0\0\0\0" "\0\0\0\0";	/* signature, flags, extension */
	static const char trailer[] = "\377\377";
	PGresult	*r;
	enum err	 e = ERR_OK;
	int		 ok;

	if (st->rb.rows == 0)
		return ERR_OK;
	if (st->rb.oom) {
		runs_drop(st);
		log_msg(LOG_ERROR, "postgresql: out of memory for runs");
		return ERR_INTERNAL;
	}
	st->rb.rows = 0;	/* run() and exec_sql() below must not recurse */
	r = PQexec(st->conn, "COPY pipeline_run (id, backfill_id, "
	    "pipeline_uuid, execution_date, status, variables, created_at, "
	    "updated_at, latest) FROM STDIN (FORMAT binary)");
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		st->rb.len = 0;
		return fail(st, r, "run insert (COPY)");
	}
	PQclear(r);
	ok = PQputCopyData(st->conn, header, sizeof(header) - 1) == 1 &&
	    PQputCopyData(st->conn, st->rb.p, (int)st->rb.len) == 1 &&
	    PQputCopyData(st->conn, trailer, sizeof(trailer) - 1) == 1;
	st->rb.len = 0;
	if (PQputCopyEnd(st->conn, ok ? NULL : "client failed") != 1)
		ok = 0;
	while ((r = PQgetResult(st->conn)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && e == ERR_OK) {
			e = fail(st, r, "run insert (COPY)");
			continue;
		}
		PQclear(r);
	}
	if (e == ERR_OK && !ok)
		e = fail(st, NULL, "run insert (COPY)");
	return e;
}

/* The next run id, from the ids taken ahead (a new block when none is
 * left: the runs buffered so far are sent first). */
static enum err
run_id(struct store_impl *st, int64_t *id)
{
	struct args	 a = { 0 };
	PGresult	*r;
	int64_t		*ids;
	enum err	 e;
	int		 i, n;

	if (st->rb.next == st->rb.nids) {
		st->rb.block = st->rb.block ? st->rb.block * 2 : RUN_IDS_FIRST;
		if (st->rb.block > RUN_IDS_MAX)
			st->rb.block = RUN_IDS_MAX;
		a_int(&a, st->rb.block);
		if ((r = run(st, Q_RUN_IDS, &a, &e)) == NULL)
			return e;
		n = PQntuples(r);
		if (n < 1 || (ids = realloc(st->rb.ids, (size_t)n *
		    sizeof(*ids))) == NULL) {
			PQclear(r);
			return ERR_INTERNAL;
		}
		for (i = 0; i < n; i++)
			ids[i] = get_i(r, i, 0);
		PQclear(r);
		st->rb.ids = ids;
		st->rb.nids = n;
		st->rb.next = 0;
	}
	*id = st->rb.ids[st->rb.next++];
	return ERR_OK;
}

/* -- transactions ---------------------------------------------------- */

/* Starts a transaction; a connection found dead before it began is
 * replaced once (nothing has run in it yet). */
static enum err
begin_tx(struct store_impl *st, const char *sql)
{
	enum err	 e;

	runs_drop(st);
	deltas_drop(st);
	if (PQstatus(st->conn) != CONNECTION_OK && reconnect(st) != ERR_OK)
		return ERR_UNAVAILABLE;
	if ((e = exec_sql(st, sql, sql)) == ERR_OK)
		return ERR_OK;
	if (PQstatus(st->conn) == CONNECTION_OK || reconnect(st) != ERR_OK)
		return e;
	return exec_sql(st, sql, sql);
}

/* Whether the database is past max_db_size (checked once a second). */
static int
over_size(struct store_impl *st)
{
	PGresult	*r;
	time_t		 now = time(NULL);
	enum err	 e;

	if (st->max_size <= 0 || now == st->size_checked)
		return st->max_size > 0 && st->over_size;
	if ((r = run(st, Q_DB_SIZE, NULL, &e)) == NULL)
		return 0;	/* the write will meet the same problem */
	st->over_size = PQntuples(r) == 1 && get_i(r, 0, 0) >= st->max_size;
	st->size_checked = now;
	PQclear(r);
	if (st->over_size)
		log_msg(LOG_WARN, "postgresql: the database is past "
		    "max_db_size (%lld bytes): writes refused",
		    (long long)st->max_size);
	return st->over_size;
}

static enum err
pg_begin(struct store_impl *st)
{
	enum err	 e;

	if (over_size(st))
		return ERR_UNAVAILABLE;
	if ((e = begin_tx(st, "BEGIN ISOLATION LEVEL READ COMMITTED")) ==
	    ERR_OK)
		st->in_write = 1;
	return e;
}

static enum err
pg_begin_read(struct store_impl *st)
{
	st->in_write = 0;
	return begin_tx(st, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

static void
pg_rollback(struct store_impl *st)
{
	st->in_write = 0;
	runs_drop(st);
	deltas_drop(st);
	if (PQstatus(st->conn) == CONNECTION_OK &&
	    PQtransactionStatus(st->conn) != PQTRANS_IDLE)
		(void)exec_sql(st, "ROLLBACK", "rollback");
}

static enum err
pg_commit(struct store_impl *st)
{
	PGresult	*r;
	enum err	 e;

	if ((e = runs_flush(st)) != ERR_OK ||
	    (e = deltas_flush(st)) != ERR_OK) {
		pg_rollback(st);
		return e;
	}
	runs_drop(st);
	if (PQtransactionStatus(st->conn) == PQTRANS_INERROR) {
		/* COMMIT would answer ROLLBACK: a failed statement's error
		 * was not passed on. */
		log_msg(LOG_ERROR, "postgresql: commit of a failed "
		    "transaction; rolled back");
		pg_rollback(st);
		return ERR_INTERNAL;
	}
	st->in_write = 0;
	r = PQexec(st->conn, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		e = fail(st, r, "commit");
		pg_rollback(st);
		return e;
	}
	if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		log_msg(LOG_ERROR, "postgresql: commit answered %s",
		    PQcmdStatus(r));
		PQclear(r);
		return ERR_INTERNAL;
	}
	PQclear(r);
	return ERR_OK;
}

/* -- pipelines ------------------------------------------------------- */

/* In a write transaction, locks the name (k: Q_LOCK_PIPELINE_NAME) or
 * id (Q_LOCK_BACKFILL_ID) of a record that may not exist, until the
 * transaction ends. */
static enum err
absent_lock(struct store_impl *st, enum q k, struct args *a)
{
	if (!st->in_write)
		return ERR_OK;
	return run_n(st, k, a, NULL);
}

static enum err
pipeline_row(const PGresult *r, int row, struct pipeline *p, int copy)
{
	const char	*v = get_s(r, row, 1);

	snprintf(p->uuid, sizeof(p->uuid), "%s", PQgetvalue(r, row, 0));
	p->variables = NULL;
	if (v != NULL) {
		if (copy) {
			if ((p->variables = strdup(v)) == NULL)
				return ERR_INTERNAL;
		} else
			p->variables = (char *)v;
	}
	p->backfill_count = get_i(r, row, 2);
	return ERR_OK;
}

static enum err
pipeline_get(struct store_impl *st, enum q k, const char *uuid,
    struct pipeline *out)
{
	struct args	 a = { 0 };
	PGresult	*r;
	enum err	 e;

	if ((e = deltas_flush(st)) != ERR_OK)
		return e;
	a_text(&a, uuid);
	if ((r = run(st, k, &a, &e)) == NULL)
		return e;
	if (PQntuples(r) == 0 && st->in_write) {
		/* absent: lock the name, then look again */
		PQclear(r);
		if ((e = absent_lock(st, Q_LOCK_PIPELINE_NAME, &a)) != ERR_OK ||
		    (r = run(st, k, &a, &e)) == NULL)
			return e;
	}
	e = PQntuples(r) == 1 ? pipeline_row(r, 0, out, 1) : ERR_NOT_FOUND;
	PQclear(r);
	return e;
}

static enum err
pg_pipeline_get(struct store_impl *st, const char *uuid, struct pipeline *out)
{
	return pipeline_get(st, Q_PIPELINE_GET, uuid, out);
}

static enum err
pg_pipeline_add(struct store_impl *st, const char *uuid, const char *variables)
{
	struct args	 a = { 0 };
	int64_t		 n = 0;
	enum err	 e;

	a_text(&a, uuid);
	if ((e = absent_lock(st, Q_LOCK_PIPELINE_NAME, &a)) != ERR_OK)
		return e;
	a_text(&a, variables);
	if ((e = run_n(st, Q_PIPELINE_ADD, &a, &n)) != ERR_OK)
		return e;
	return n == 1 ? ERR_OK : ERR_PRECONDITION;
}

static enum err
pg_pipeline_remove(struct store_impl *st, const char *uuid, int force,
    int64_t *removed)
{
	struct pipeline	 p;
	struct args	 a = { 0 };
	enum err	 e;

	*removed = 0;
	/* Locked first: a create racing the removal waits, then finds the
	 * pipeline gone (404) rather than deadlocking with it. */
	if ((e = pipeline_get(st, st->in_write ? Q_PIPELINE_GET_LOCK :
	    Q_PIPELINE_GET, uuid, &p)) != ERR_OK)
		return e;
	pipeline_free(&p);
	if (p.backfill_count > 0 && !force)
		return ERR_PRECONDITION;
	a_text(&a, uuid);
	if ((e = run_n(st, Q_PIPELINE_BACKFILLS_DELETE, &a, removed)) != ERR_OK)
		return e;
	delta_add(st, NULL, -*removed);	/* the pipeline's own row goes */
	if ((e = run_n(st, Q_PIPELINE_DELETE, &a, NULL)) != ERR_OK)
		return e;
	return deltas_settle(st);
}

static enum err
pg_pipeline_list(struct store_impl *st, store_pipeline_fn fn, void *arg)
{
	struct pipeline	 p;
	PGresult	*r;
	enum err	 e;
	int		 i;

	if ((e = deltas_flush(st)) != ERR_OK ||
	    (r = run(st, Q_PIPELINE_LIST, NULL, &e)) == NULL)
		return e;
	for (i = 0; i < PQntuples(r); i++) {
		pipeline_row(r, i, &p, 0);
		if (fn(&p, arg) != 0)
			break;
	}
	PQclear(r);
	return ERR_OK;
}

/* -- backfills ------------------------------------------------------- */

/* Reads row i of COLS into b; strings are copied when copy is set, else
 * they point into r until it is cleared. */
static enum err
backfill_row(const PGresult *r, int row, struct backfill *b, int copy)
{
	const char	*t;
	size_t		 len;
	int		 f, e;

	for (f = 0; f < BF__MAX; f++) {
		struct bval *v = &b->v[f];

		if (v->own)
			free(v->s);
		memset(v, 0, sizeof(*v));
		if (PQgetisnull(r, row, f)) {
			v->null = 1;
			continue;
		}
		if (store_cols[f] == C_INT) {
			v->i = get_i(r, row, f);
			continue;
		}
		t = PQgetvalue(r, row, f);
		len = (size_t)PQgetlength(r, row, f);
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
	b->version = get_i(r, row, BF__MAX);
	return ERR_OK;
}

/* Adds field f of b as a parameter (enums as their names). */
static void
a_field(struct args *a, const struct backfill *b, int f)
{
	const struct bval *v = &b->v[f];

	if (v->null)
		a_null(a);
	else if (store_cols[f] == C_INT)
		a_int(a, v->i);
	else if (store_cols[f] == C_TEXT)
		a_bytes(a, v->s, v->len);
	else
		a_text(a, store_cols[f] == C_STATUS ?
		    bf_status_name((enum bf_status)v->i) :
		    bf_itype_name((enum bf_itype)v->i));
}

static enum err
pg_backfill_get(struct store_impl *st, int64_t id, struct backfill *out)
{
	struct args	 a = { 0 };
	PGresult	*r;
	enum err	 e;

	a_int(&a, id);
	/* In a write transaction the row is locked until it ends: the
	 * caller patches it in C and writes it back. */
	if ((r = run(st, st->in_write ? Q_BACKFILL_GET_LOCK : Q_BACKFILL_GET,
	    &a, &e)) == NULL)
		return e;
	if (PQntuples(r) == 0 && st->in_write) {
		/* absent: lock the id, then look again */
		PQclear(r);
		if ((e = absent_lock(st, Q_LOCK_BACKFILL_ID, &a)) != ERR_OK ||
		    (r = run(st, Q_BACKFILL_GET_LOCK, &a, &e)) == NULL)
			return e;
	}
	e = PQntuples(r) == 1 ? backfill_row(r, 0, out, 1) : ERR_NOT_FOUND;
	PQclear(r);
	return e;
}

static enum err
pg_backfill_insert(struct store_impl *st, struct backfill *b)
{
	struct args	 a = { 0 };
	PGresult	*r;
	int64_t		 id = b->v[BF_ID].null ? 0 : b->v[BF_ID].i;
	enum q		 k;
	int		 f;
	enum err	 e;
	const char	*state;

	if (id != 0) {
		a_int(&a, id);
		if ((e = absent_lock(st, Q_LOCK_BACKFILL_ID, &a)) != ERR_OK)
			return e;
		a.n = 0;
	}
	for (f = 1; f < BF__MAX; f++)
		a_field(&a, b, f);
	if (id != 0)
		a_int(&a, id);
	k = id ? Q_BACKFILL_INSERT_ID : Q_BACKFILL_INSERT;
	if ((st->rb.rows > 0 && (e = runs_flush(st)) != ERR_OK) ||
	    (!st->prepared[k] && (e = prepare_one(st, k)) != ERR_OK))
		return e;
	/* not run(): a missing pipeline is an answer here, not a failure */
	r = PQexecPrepared(st->conn, st->name[k], a.n, a.v, a.len, a.fmt, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (state != NULL && strcmp(state, "23503") == 0) {
			/* the pipeline went away meanwhile */
			PQclear(r);
			return ERR_NOT_FOUND;
		}
		return fail(st, r, "backfill insert");
	}
	b->v[BF_ID].null = 0;
	b->v[BF_ID].i = get_i(r, 0, 0);
	b->version = 1;
	PQclear(r);
	delta_add(st, b->v[BF_PIPELINE_UUID].s, 1);
	if (id != 0) {
		memset(&a, 0, sizeof(a));
		a_int(&a, id);
		if ((e = run_n(st, Q_BACKFILL_SEQ_PAST, &a, NULL)) != ERR_OK)
			return e;
	}
	return deltas_settle(st);
}

static enum err
pg_backfill_update(struct store_impl *st, struct backfill *b, uint32_t changed)
{
	struct args	 a = { 0 };
	PGresult	*r;
	enum err	 e;
	int		 f;

	a_int(&a, changed);
	a_int(&a, b->v[BF_ID].i);
	for (f = 1; f < BF__MAX; f++)
		if (changed & BF_BIT(f))
			a_field(&a, b, f);
		else
			a_null(&a);
	if ((r = run(st, Q_BACKFILL_UPDATE, &a, &e)) == NULL)
		return e;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return ERR_NOT_FOUND;
	}
	b->version = get_i(r, 0, 0);
	PQclear(r);
	return ERR_OK;
}

static enum err
pg_backfill_delete(struct store_impl *st, int64_t id)
{
	struct args	 a = { 0 };
	PGresult	*r;
	enum err	 e;

	a_int(&a, id);
	if ((r = run(st, Q_BACKFILL_DELETE, &a, &e)) == NULL)
		return e;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return ERR_NOT_FOUND;
	}
	delta_add(st, PQgetvalue(r, 0, 0), -1);
	PQclear(r);
	return deltas_settle(st);
}

static enum err
pg_backfill_list(struct store_impl *st, const char *pipeline, int64_t limit,
    int64_t offset, int64_t *count, int *next, store_backfill_fn fn,
    void *arg)
{
	struct backfill	 b;
	struct pipeline	 p;
	struct args	 a = { 0 };
	PGresult	*r;
	enum err	 e;
	int		 i, n;

	*next = 0;
	*count = 0;
	if (pipeline != NULL) {
		if ((e = pg_pipeline_get(st, pipeline, &p)) == ERR_NOT_FOUND)
			return ERR_OK;
		if (e != ERR_OK)
			return e;
		pipeline_free(&p);
		*count = p.backfill_count;
	} else {
		if ((e = deltas_flush(st)) != ERR_OK ||
		    (r = run(st, Q_BACKFILL_COUNT, NULL, &e)) == NULL)
			return e;
		*count = PQntuples(r) == 1 ? get_i(r, 0, 0) : 0;
		PQclear(r);
	}
	/* One row more than the page tells whether another page follows. */
	a_int(&a, limit + 1);
	a_int(&a, offset);
	if (pipeline != NULL)
		a_text(&a, pipeline);
	if ((r = run(st, pipeline ? Q_BACKFILL_LIST_PIPELINE :
	    Q_BACKFILL_LIST, &a, &e)) == NULL)
		return e;
	memset(&b, 0, sizeof(b));
	n = PQntuples(r);
	for (i = 0; i < n; i++) {
		if (i == limit) {
			*next = 1;
			break;
		}
		if ((e = backfill_row(r, i, &b, 0)) != ERR_OK ||
		    fn(&b, arg) != 0)
			break;
	}
	PQclear(r);
	return e;
}

/* -- credentials ----------------------------------------------------- */

static const char *const cred_kinds[] = { "key", "token" };

static enum err
cred_row(const PGresult *r, int row, struct credential *c)
{
	const char	*h = PQgetvalue(r, row, 1);
	size_t		 i;
	int		 v;

	memset(c, 0, sizeof(*c));
	c->id = get_i(r, row, 0);
	/* bytea in text form: \x and two hex digits a byte */
	if (PQgetisnull(r, row, 1) || strlen(h) != 2 + 2 * sizeof(c->hash) ||
	    h[0] != '\\' || h[1] != 'x')
		return ERR_INTERNAL;
	for (i = 0; i < sizeof(c->hash); i++) {
		if ((v = hex_byte(h + 2 + 2 * i)) < 0)
			return ERR_INTERNAL;
		c->hash[i] = (unsigned char)v;
	}
	if (!PQgetisnull(r, row, 2))
		snprintf(c->name, sizeof(c->name), "%s", PQgetvalue(r, row, 2));
	if (!PQgetisnull(r, row, 3))
		snprintf(c->role, sizeof(c->role), "%s", PQgetvalue(r, row, 3));
	c->expires_at = get_i(r, row, 4);
	c->created_at = get_i(r, row, 5);
	c->revoked_at = get_i(r, row, 6);
	return ERR_OK;
}

static enum err
pg_cred_add(struct store_impl *st, enum cred_kind k, struct credential *c)
{
	struct args	 a = { 0 };
	PGresult	*r;
	enum err	 e;

	a_text(&a, cred_kinds[k]);
	a_bytes(&a, c->hash, sizeof(c->hash));
	a_text(&a, c->name[0] ? c->name : NULL);
	a_text(&a, c->role[0] ? c->role : NULL);
	a_int_or_null(&a, c->expires_at);
	a_int(&a, c->created_at);
	if ((r = run(st, Q_CRED_ADD, &a, &e)) == NULL)
		return e;
	if (PQntuples(r) != 1)
		e = ERR_PRECONDITION;	/* the same secret exists */
	else
		c->id = get_i(r, 0, 0);
	PQclear(r);
	return e;
}

static enum err
pg_cred_find(struct store_impl *st, enum cred_kind k,
    const unsigned char hash[32], struct credential *out)
{
	struct args	 a = { 0 };
	PGresult	*r;
	enum err	 e;

	a_text(&a, cred_kinds[k]);
	a_bytes(&a, hash, 32);
	if ((r = run(st, Q_CRED_FIND, &a, &e)) == NULL)
		return e;
	e = PQntuples(r) == 1 ? cred_row(r, 0, out) : ERR_NOT_FOUND;
	PQclear(r);
	return e;
}

static enum err
pg_cred_revoke(struct store_impl *st, enum cred_kind k, int64_t id,
    int64_t now)
{
	struct args	 a = { 0 };
	int64_t		 n = 0;
	enum err	 e;

	a_text(&a, cred_kinds[k]);
	a_int(&a, id);
	a_int(&a, now);
	if ((e = run_n(st, Q_CRED_REVOKE, &a, &n)) != ERR_OK)
		return e;
	return n == 1 ? ERR_OK : ERR_NOT_FOUND;
}

static enum err
pg_cred_version(struct store_impl *st, int64_t *version)
{
	PGresult	*r;
	enum err	 e;

	*version = -1;
	if ((r = run(st, Q_CRED_VERSION, NULL, &e)) == NULL)
		return e;
	if (PQntuples(r) == 1)
		*version = get_i(r, 0, 0);
	else
		e = ERR_INTERNAL;
	PQclear(r);
	return e;
}

static enum err
pg_cred_list(struct store_impl *st, enum cred_kind k, store_cred_fn fn,
    void *arg)
{
	struct credential c;
	struct args	 a = { 0 };
	PGresult	*r;
	enum err	 e;
	int		 i;

	a_text(&a, cred_kinds[k]);
	if ((r = run(st, Q_CRED_LIST, &a, &e)) == NULL)
		return e;
	for (i = 0; i < PQntuples(r); i++)
		if (cred_row(r, i, &c) != ERR_OK || fn(&c, arg) != 0)
			break;
	PQclear(r);
	return ERR_OK;
}

/* -- pipeline runs --------------------------------------------------- */

static enum err
pg_runs_completed(struct store_impl *st, int64_t bid, int64_t **dates,
    size_t *n)
{
	struct args	 a = { 0 };
	PGresult	*r;
	int64_t		*d;
	enum err	 e;
	int		 i, rows;

	*n = 0;
	*dates = NULL;
	a_int(&a, bid);
	if ((r = run(st, Q_RUNS_COMPLETED, &a, &e)) == NULL)
		return e;
	rows = PQntuples(r);
	if ((d = malloc((rows > 0 ? (size_t)rows : 1) * sizeof(*d))) == NULL) {
		PQclear(r);
		return ERR_INTERNAL;
	}
	for (i = 0; i < rows; i++)
		d[i] = get_i(r, i, 0);
	PQclear(r);
	*dates = d;
	*n = (size_t)rows;
	return ERR_OK;
}

static enum err
pg_runs_supersede(struct store_impl *st, int64_t bid, int64_t now)
{
	struct args	 a = { 0 };
	enum err	 e;

	a_int(&a, bid);
	a_int(&a, now);
	if ((e = run_n(st, Q_RUNS_SUPERSEDE_CANCEL, &a, NULL)) != ERR_OK)
		return e;
	a.n = 1;
	return run_n(st, Q_RUNS_SUPERSEDE, &a, NULL);
}

/* Buffers the run (struct runbuf); it is sent before the next statement
 * or the commit, where an error in it is reported. */
static enum err
pg_run_insert(struct store_impl *st, struct run *r)
{
	struct runbuf	*rb = &st->rb;
	int64_t		 id;
	enum err	 e;

	if ((e = run_id(st, &id)) != ERR_OK)
		return e;
	rb_be(rb, 9, 2);			/* fields */
	rb_int8(rb, id);
	rb_int8(rb, r->backfill_id);
	rb_text(rb, r->pipeline_uuid);
	rb_int8(rb, r->execution_date);
	rb_text(rb, "initial");
	rb_text(rb, r->variables);
	rb_int8(rb, r->created_at);
	rb_int8(rb, r->created_at);		/* updated_at */
	rb_be(rb, 4, 4);			/* latest: integer 1 */
	rb_be(rb, 1, 4);
	if (rb->oom) {
		runs_drop(st);
		return ERR_INTERNAL;
	}
	rb->rows++;
	r->id = id;
	return ERR_OK;
}

static enum err
pg_runs_cancel(struct store_impl *st, int64_t bid, int64_t now)
{
	struct args	 a = { 0 };

	a_int(&a, bid);
	a_int(&a, now);
	return run_n(st, Q_RUNS_CANCEL, &a, NULL);
}

static enum err
pg_runs_recount(struct store_impl *st, int64_t bid)
{
	struct args	 a = { 0 };

	a_int(&a, bid);
	return run_n(st, Q_RUNS_RECOUNT, &a, NULL);
}

static enum err
pg_run_counts(struct store_impl *st, int64_t bid, struct run_counts *out)
{
	struct args	 a = { 0 };
	PGresult	*r;
	enum err	 e;
	int		 i;

	memset(out, 0, sizeof(*out));
	a_int(&a, bid);
	if ((r = run(st, Q_RUN_COUNTS, &a, &e)) == NULL)
		return e;
	if (PQntuples(r) == 1)
		for (i = 0; i < 5; i++)
			out->n[ST_INITIAL + i] = get_i(r, 0, i);
	PQclear(r);
	return ERR_OK;
}

/* Reads row i of RUN_COLS; variables points into r until it is
 * cleared. */
static void
run_row(const PGresult *r, int row, struct run *x)
{
	const char	*t;
	int		 e;

	memset(x, 0, sizeof(*x));
	x->id = get_i(r, row, 0);
	x->backfill_id = get_i(r, row, 1);
	snprintf(x->pipeline_uuid, sizeof(x->pipeline_uuid), "%s",
	    PQgetvalue(r, row, 2));
	x->execution_date = get_i(r, row, 3);
	t = get_s(r, row, 4);
	e = t != NULL ? bf_status_from(t, strlen(t)) : -1;
	x->status = e < 0 ? ST_INITIAL : (enum bf_status)e;
	x->variables = get_s(r, row, 5);
	x->started_at = get_i(r, row, 6);
	x->completed_at = get_i(r, row, 7);
	x->created_at = get_i(r, row, 8);
	x->updated_at = get_i(r, row, 9);
	x->latest = (int)get_i(r, row, 10);
}

static enum err
pg_run_get(struct store_impl *st, int64_t id, struct run *x)
{
	struct args	 a = { 0 };
	PGresult	*r;
	enum err	 e = ERR_OK;

	a_int(&a, id);
	if (st->in_write) {
		/* The run's backfill first, as every writer of runs does. */
		if ((r = run(st, Q_RUN_LOCK_BACKFILL, &a, &e)) == NULL)
			return e;
		e = PQntuples(r) == 1 ? ERR_OK : ERR_NOT_FOUND;
		PQclear(r);
		if (e != ERR_OK)
			return e;
	}
	if ((r = run(st, st->in_write ? Q_RUN_GET_LOCK : Q_RUN_GET, &a, &e))
	    == NULL)
		return e;
	if (PQntuples(r) == 1) {
		run_row(r, 0, x);
		if (x->variables != NULL &&
		    (x->variables = strdup(x->variables)) == NULL)
			e = ERR_INTERNAL;
	} else
		e = ERR_NOT_FOUND;
	PQclear(r);
	return e;
}

static enum err
pg_run_update(struct store_impl *st, const struct run *x, enum bf_status old)
{
	struct args	 a = { 0 };
	enum err	 e;

	a_int(&a, x->id);
	a_text(&a, bf_status_name(x->status));
	a_int_or_null(&a, x->started_at);
	a_int_or_null(&a, x->completed_at);
	a_int(&a, x->updated_at);
	if ((e = run_n(st, Q_RUN_UPDATE, &a, NULL)) != ERR_OK || !x->latest)
		return e;
	memset(&a, 0, sizeof(a));
	a_int(&a, x->backfill_id);
	a_text(&a, bf_status_name(old));
	a_text(&a, bf_status_name(x->status));
	return run_n(st, Q_RUN_COUNTS_MOVE, &a, NULL);
}

static enum err
pg_run_list(struct store_impl *st, int64_t bid, enum bf_status status,
    int64_t limit, int64_t offset, int64_t *count, int *next,
    store_run_fn fn, void *arg)
{
	struct args	 a = { 0 };
	struct run	 x;
	PGresult	*r;
	const char	*sname = status == ST_NULL ? NULL :
			    bf_status_name(status);
	enum err	 e;
	int		 i, n;

	*next = 0;
	*count = 0;
	/* A statement of its own per filter, so each one uses its index. */
	a_text(&a, sname);
	if (bid)
		a_int(&a, bid);
	if ((r = run(st, bid ? Q_RUN_COUNT_BACKFILL : Q_RUN_COUNT, &a, &e))
	    == NULL)
		return e;
	*count = get_i(r, 0, 0);
	PQclear(r);
	memset(&a, 0, sizeof(a));
	a_int(&a, limit + 1);
	a_int(&a, offset);
	a_text(&a, sname);
	if (bid)
		a_int(&a, bid);
	if ((r = run(st, bid ? Q_RUN_LIST_BACKFILL : Q_RUN_LIST, &a, &e))
	    == NULL)
		return e;
	n = PQntuples(r);
	for (i = 0; i < n; i++) {
		if (i == limit) {
			*next = 1;
			break;
		}
		run_row(r, i, &x);
		if (fn(&x, arg) != 0)
			break;
	}
	PQclear(r);
	return ERR_OK;
}

/* -- operations ------------------------------------------------------ */

static enum err
pg_backup(struct store_impl *st, const char *path)
{
	(void)st;
	log_msg(LOG_ERROR, "backup to %s: a PostgreSQL database is backed "
	    "up with pg_dump, or into a SQLite file with backfillctl "
	    "--db URI backup FILE (a copy of one snapshot)", path);
	return ERR_INTERNAL;
}

/* The schema version, then the kept counts against the rows they count
 * (what can drift if someone edits the tables by hand). */
static enum err
pg_check(struct store_impl *st, int *ok, char *msg, size_t msglen)
{
	static const char *const sql =
	    "SELECT (SELECT value FROM counter WHERE name = 'backfills') - "
	    "(SELECT count(*) FROM backfill), "
	    "(SELECT count(*) FROM pipeline p WHERE backfill_count <> "
	    "(SELECT count(*) FROM backfill b WHERE b.pipeline_uuid = "
	    "p.uuid)), "
	    "(SELECT count(*) FROM run_count c LEFT JOIN (SELECT "
	    "backfill_id, "
	    "count(*) FILTER (WHERE status = 'initial') AS i, "
	    "count(*) FILTER (WHERE status = 'running') AS r, "
	    "count(*) FILTER (WHERE status = 'completed') AS c, "
	    "count(*) FILTER (WHERE status = 'failed') AS f, "
	    "count(*) FILTER (WHERE status = 'cancelled') AS x "
	    "FROM pipeline_run WHERE latest = 1 GROUP BY backfill_id) k "
	    "USING (backfill_id) WHERE (c.initial, c.running, c.completed, "
	    "c.failed, c.cancelled) IS DISTINCT FROM (coalesce(k.i, 0), "
	    "coalesce(k.r, 0), coalesce(k.c, 0), coalesce(k.f, 0), "
	    "coalesce(k.x, 0)))";
	PGresult	*r;
	enum err	 e;
	int		 v;

	*ok = 0;
	if ((e = runs_flush(st)) != ERR_OK ||
	    (e = deltas_flush(st)) != ERR_OK ||
	    (e = read_version(st, &v)) != ERR_OK)
		return e;
	if (v != STORE_SCHEMA_VERSION) {
		snprintf(msg, msglen, "schema version %d, expected %d", v,
		    STORE_SCHEMA_VERSION);
		return ERR_OK;
	}
	r = PQexec(st->conn, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return fail(st, r, "check");
	if (get_i(r, 0, 0) != 0)
		snprintf(msg, msglen, "the kept number of backfills is off "
		    "by %lld", (long long)get_i(r, 0, 0));
	else if (get_i(r, 0, 1) != 0)
		snprintf(msg, msglen, "%lld pipelines have a wrong kept "
		    "backfill count", (long long)get_i(r, 0, 1));
	else if (get_i(r, 0, 2) != 0)
		snprintf(msg, msglen, "%lld backfills have wrong kept run "
		    "counts", (long long)get_i(r, 0, 2));
	else {
		*ok = 1;
		snprintf(msg, msglen, "ok");
	}
	PQclear(r);
	return ERR_OK;
}

static enum err
pg_stats(struct store_impl *st, struct store_stats *out)
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
	PGresult	*r;
	const char	*kind, *status;
	enum err	 fe;
	int		 i, e;

	memset(out, 0, sizeof(*out));
	if ((fe = runs_flush(st)) != ERR_OK ||
	    (fe = deltas_flush(st)) != ERR_OK)
		return fe;
	r = PQexec(st->conn, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return fail(st, r, "stats");
	for (i = 0; i < PQntuples(r); i++) {
		kind = PQgetvalue(r, i, 0);
		status = get_s(r, i, 1);
		e = status ? bf_status_from(status, strlen(status)) : ST_NULL;
		if (e < 0)
			continue;
		if (kind[0] == 'p')
			out->pipelines = get_i(r, i, 2);
		else if (kind[0] == 'b')
			out->backfills[e] = get_i(r, i, 2);
		else
			out->runs[e] = get_i(r, i, 2);
	}
	PQclear(r);
	return ERR_OK;
}

const struct store_ops store_pg_ops = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.schema_version = pg_schema_version,
	.ping = pg_ping,
	.broken = pg_broken,
	.backup = pg_backup,
	.check = pg_check,
	.stats = pg_stats,
	.begin = pg_begin,
	.begin_read = pg_begin_read,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.pipeline_get = pg_pipeline_get,
	.pipeline_add = pg_pipeline_add,
	.pipeline_remove = pg_pipeline_remove,
	.pipeline_list = pg_pipeline_list,
	.backfill_get = pg_backfill_get,
	.backfill_insert = pg_backfill_insert,
	.backfill_update = pg_backfill_update,
	.backfill_delete = pg_backfill_delete,
	.backfill_list = pg_backfill_list,
	.cred_add = pg_cred_add,
	.cred_find = pg_cred_find,
	.cred_revoke = pg_cred_revoke,
	.cred_version = pg_cred_version,
	.cred_list = pg_cred_list,
	.runs_completed = pg_runs_completed,
	.runs_supersede = pg_runs_supersede,
	.run_insert = pg_run_insert,
	.runs_cancel = pg_runs_cancel,
	.runs_recount = pg_runs_recount,
	.run_counts = pg_run_counts,
	.run_get = pg_run_get,
	.run_update = pg_run_update,
	.run_list = pg_run_list,
};
