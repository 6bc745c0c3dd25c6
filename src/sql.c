/*
 * sql: the statements of both dialects and the schema's migrations (see
 * sql.h). A statement is written once where the dialects agree, with
 * ?N parameters and CAST() where PostgreSQL cannot infer a type; an
 * entry of its own where they do not; NONE where a dialect has no such
 * statement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sql.h"
#include "store.h"

const enum col sql_backfill_cols[BF__MAX] = {
	[BF_ID] = C_INT,
	[BF_BLOCK_UUID] = C_TEXT,
	[BF_COMPLETED_AT] = C_INT,
	[BF_CREATED_AT] = C_INT,
	[BF_END_DATETIME] = C_INT,
	[BF_FAILED_AT] = C_INT,
	[BF_INTERVAL_TYPE] = C_ITYPE,
	[BF_INTERVAL_UNITS] = C_INT,
	[BF_METRICS] = C_TEXT,
	[BF_NAME] = C_TEXT,
	[BF_PIPELINE_SCHEDULE_ID] = C_INT,
	[BF_PIPELINE_UUID] = C_TEXT,
	[BF_SETTINGS] = C_TEXT,
	[BF_START_DATETIME] = C_INT,
	[BF_STARTED_AT] = C_INT,
	[BF_STATUS] = C_STATUS,
	[BF_UPDATED_AT] = C_INT,
	[BF_VARIABLES] = C_TEXT,
};
_Static_assert(sizeof(sql_backfill_cols) / sizeof(sql_backfill_cols[0]) ==
    BF__MAX, "every field");

/* A dialect's entry that says it has no such statement. */
static const char NONE[] = "";
/* Built from the field table (build()). */
static const char BUILT[] = "built";

#define COLS	SQL_BACKFILL_COLS
#define RUN_COLS SQL_RUN_COLS
#define CRED_COLS SQL_CRED_COLS
#define PIPELINE_COLS SQL_PIPELINE_COLS

/* The number of latest attempts per status, as the kept counts hold
 * them. */
#define COUNT_BY_STATUS						\
	"count(*) FILTER (WHERE status = 'initial'), "		\
	"count(*) FILTER (WHERE status = 'running'), "		\
	"count(*) FILTER (WHERE status = 'completed'), "	\
	"count(*) FILTER (WHERE status = 'failed'), "		\
	"count(*) FILTER (WHERE status = 'cancelled')"

/* A kept count moved from status ?2 to ?3. */
#define MOVE(s)								\
	s " = " s " - CASE WHEN CAST(?2 AS text) = '" s "' THEN 1 ELSE 0 END" \
	" + CASE WHEN CAST(?3 AS text) = '" s "' THEN 1 ELSE 0 END"

static const struct {
	const char	*name;
	const char	*both;		/* where the dialects agree */
	const char	*d[DIALECT__MAX];	/* a dialect's own, or NONE */
} stmts[S__MAX] = {
#define B(k, sql)	[k] = { #k, sql, { NULL, NULL } }
#define D(k, s, p)	[k] = { #k, NULL, { s, p } }
	B(S_PING, "SELECT value FROM counter WHERE name = 'backfills'"),
	B(S_PIPELINE_GET, "SELECT " PIPELINE_COLS " FROM pipeline "
	    "WHERE uuid = ?1"),
	D(S_PIPELINE_GET_LOCK, NONE, "SELECT " PIPELINE_COLS " FROM pipeline "
	    "WHERE uuid = ?1 FOR UPDATE"),
	/* A name taken already adds no row (and, unlike a unique
	 * violation, does not abort PostgreSQL's transaction). */
	B(S_PIPELINE_ADD, "INSERT INTO pipeline (uuid, variables, "
	    "created_at, retry_config) VALUES (?1, ?2, ?3, ?4) "
	    "ON CONFLICT (uuid) DO NOTHING"),
	B(S_PIPELINE_SET, "UPDATE pipeline SET variables = ?2, "
	    "retry_config = ?3 WHERE uuid = ?1"),
	B(S_PIPELINE_DELETE, "DELETE FROM pipeline WHERE uuid = ?1"),
	B(S_PIPELINE_BACKFILLS_DELETE,
	    "DELETE FROM backfill WHERE pipeline_uuid = ?1"),
	B(S_PIPELINE_LIST, "SELECT " PIPELINE_COLS " FROM pipeline "
	    "ORDER BY uuid"),
	B(S_BACKFILL_GET, "SELECT " COLS " FROM backfill WHERE id = ?1"),
	D(S_BACKFILL_GET_LOCK, NONE,
	    "SELECT " COLS " FROM backfill WHERE id = ?1 FOR UPDATE"),
	B(S_BACKFILL_INSERT, BUILT),
	B(S_BACKFILL_INSERT_ID, BUILT),
	/* After an insert with an explicit id, the sequence moves past
	 * it so that later inserts do not collide (SQLite's
	 * AUTOINCREMENT does this itself). */
	D(S_BACKFILL_SEQ_PAST, NONE, "SELECT setval(pg_get_serial_sequence("
	    "'backfill', 'id'), CAST(?1 AS bigint)) WHERE CAST(?1 AS bigint) "
	    "> coalesce(pg_sequence_last_value(pg_get_serial_sequence("
	    "'backfill', 'id')::regclass), 0)"),
	B(S_BACKFILL_UPDATE, BUILT),
	B(S_BACKFILL_DELETE, "DELETE FROM backfill WHERE id = ?1 "
	    "RETURNING pipeline_uuid"),
	/* Each row of a page also carries the count of all (the kept
	 * count, read once per statement): a page is one statement. */
	B(S_BACKFILL_LIST, "SELECT " COLS ", (SELECT value FROM counter "
	    "WHERE name = 'backfills') FROM backfill "
	    "ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2"),
	B(S_BACKFILL_LIST_PIPELINE, "SELECT " COLS ", (SELECT "
	    "backfill_count FROM pipeline WHERE uuid = ?3) FROM backfill "
	    "WHERE pipeline_uuid = ?3 "
	    "ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2"),
	B(S_BACKFILL_COUNT,
	    "SELECT value FROM counter WHERE name = 'backfills'"),
	B(S_COUNT_PIPELINE, "UPDATE pipeline SET backfill_count = "
	    "backfill_count + ?2 WHERE uuid = ?1"),
	B(S_COUNT_ALL, "UPDATE counter SET value = value + ?1 "
	    "WHERE name = 'backfills'"),
	B(S_CRED_ADD, "INSERT INTO credential (kind, hash, name, role, "
	    "expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
	    "ON CONFLICT (hash) DO NOTHING RETURNING id"),
	B(S_CRED_FIND, "SELECT " CRED_COLS " FROM credential "
	    "WHERE hash = ?2 AND kind = ?1"),
	B(S_CRED_REVOKE, "UPDATE credential SET revoked_at = "
	    "coalesce(revoked_at, ?3) WHERE id = ?2 AND kind = ?1 "
	    "RETURNING revoked_at"),
	B(S_CRED_LIST, "SELECT " CRED_COLS " FROM credential "
	    "WHERE kind = ?1 ORDER BY id"),
	B(S_CRED_VERSION,
	    "SELECT value FROM counter WHERE name = 'credentials'"),
	B(S_RUNS_COMPLETED, "SELECT execution_date FROM pipeline_run "
	    "WHERE backfill_id = ?1 AND latest = 1 AND status = 'completed' "
	    "ORDER BY execution_date"),
	B(S_RUNS_SUPERSEDE_CANCEL, "UPDATE pipeline_run SET status = "
	    "'cancelled', updated_at = ?2 WHERE backfill_id = ?1 AND "
	    "latest = 1 AND status IN ('initial', 'running')"),
	B(S_RUNS_SUPERSEDE, "UPDATE pipeline_run SET latest = 0 "
	    "WHERE backfill_id = ?1 AND latest = 1 AND status <> 'completed'"),
	/* One parameter per column, in the columns' order: PostgreSQL
	 * sends the rows as one binary COPY, each with an id taken ahead
	 * (S_RUN_IDS) in front. */
	D(S_RUN_INSERT, "INSERT INTO pipeline_run (backfill_id, "
	    "pipeline_uuid, execution_date, status, variables, created_at, "
	    "updated_at, latest, attempt, not_before) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7, ?8, ?9, ?10)",
	    "COPY pipeline_run (id, backfill_id, pipeline_uuid, "
	    "execution_date, status, variables, created_at, updated_at, "
	    "latest, attempt, not_before) FROM STDIN (FORMAT binary)"),
	D(S_RUN_IDS, NONE, "SELECT nextval(pg_get_serial_sequence("
	    "'pipeline_run', 'id')) FROM generate_series(1, CAST(?1 AS int))"),
	B(S_RUNS_CANCEL, "UPDATE pipeline_run SET status = 'cancelled', "
	    "updated_at = ?2 WHERE backfill_id = ?1 AND "
	    "status IN ('initial', 'running')"),
	B(S_RUNS_RECOUNT, "INSERT INTO run_count (backfill_id, initial, "
	    "running, completed, failed, cancelled) SELECT CAST(?1 AS "
	    "bigint), " COUNT_BY_STATUS " FROM pipeline_run "
	    "WHERE backfill_id = ?1 AND latest = 1 "
	    "ON CONFLICT (backfill_id) DO UPDATE SET "
	    "initial = excluded.initial, running = excluded.running, "
	    "completed = excluded.completed, failed = excluded.failed, "
	    "cancelled = excluded.cancelled"),
	B(S_RUN_COUNTS, "SELECT initial, running, completed, failed, "
	    "cancelled FROM run_count WHERE backfill_id = ?1"),
	B(S_RUN_GET, "SELECT " RUN_COLS " FROM pipeline_run WHERE id = ?1"),
	B(S_RUN_LATEST, "SELECT id FROM pipeline_run WHERE backfill_id = ?1 "
	    "AND execution_date = ?2 AND latest = 1"),
	/* A run report locks the run's backfill before the run, in the
	 * order every other writer of runs takes them. */
	D(S_RUN_LOCK_BACKFILL, NONE, "SELECT id FROM backfill WHERE id = "
	    "(SELECT backfill_id FROM pipeline_run WHERE id = ?1) FOR UPDATE"),
	D(S_RUN_GET_LOCK, NONE,
	    "SELECT " RUN_COLS " FROM pipeline_run WHERE id = ?1 FOR UPDATE"),
	B(S_RUN_UPDATE, "UPDATE pipeline_run SET status = ?2, "
	    "started_at = ?3, completed_at = ?4, updated_at = ?5, "
	    "metrics = ?6, lease_id = ?7, lease_owner = ?8, "
	    "lease_expires_at = ?9 WHERE id = ?1"),
	/* An attempt that another replaces as its date's latest. */
	B(S_RUN_RETIRE, "UPDATE pipeline_run SET latest = 0 WHERE id = ?1"),
	/*
	 * Claims: the oldest date first of the runs that may start now
	 * (latest, initial, not held back for a retry's delay, of a
	 * backfill that is started and below its run limit), of the
	 * pipelines ?2 names (a JSON array; null: any). Taking it checks
	 * all of that again, after the backfill's lock.
	 */
	D(S_RUN_CLAIM_PICK, "SELECT r.id FROM pipeline_run r "
	    "JOIN backfill b ON b.id = r.backfill_id "
	    "LEFT JOIN run_count c ON c.backfill_id = r.backfill_id "
	    "WHERE r.latest = 1 AND r.status = 'initial' AND "
	    "(r.not_before IS NULL OR r.not_before <= ?1) AND "
	    "b.status IN ('initial', 'running') AND "
	    "(b.run_limit IS NULL OR coalesce(c.running, 0) < b.run_limit) AND "
	    "(?2 IS NULL OR r.pipeline_uuid IN "
	    "(SELECT value FROM json_each(?2))) "
	    "ORDER BY r.execution_date, r.id LIMIT 1",
	    "SELECT r.id FROM pipeline_run r "
	    "JOIN backfill b ON b.id = r.backfill_id "
	    "LEFT JOIN run_count c ON c.backfill_id = r.backfill_id "
	    "WHERE r.latest = 1 AND r.status = 'initial' AND "
	    "(r.not_before IS NULL OR r.not_before <= ?1) AND "
	    "b.status IN ('initial', 'running') AND "
	    "(b.run_limit IS NULL OR coalesce(c.running, 0) < b.run_limit) AND "
	    "(CAST(?2 AS text) IS NULL OR r.pipeline_uuid = ANY (ARRAY("
	    "SELECT json_array_elements_text(CAST(?2 AS json))))) "
	    "ORDER BY r.execution_date, r.id LIMIT 1"),
	B(S_RUN_CLAIM_TAKE, "UPDATE pipeline_run SET status = 'running', "
	    "started_at = ?2, updated_at = ?2, lease_id = ?3, "
	    "lease_owner = ?4, lease_expires_at = ?5 "
	    "WHERE id = ?1 AND status = 'initial' AND latest = 1 AND "
	    "(not_before IS NULL OR not_before <= ?2) AND EXISTS (SELECT 1 "
	    "FROM backfill b LEFT JOIN run_count c ON c.backfill_id = b.id "
	    "WHERE b.id = pipeline_run.backfill_id AND "
	    "b.status IN ('initial', 'running') AND "
	    "(b.run_limit IS NULL OR coalesce(c.running, 0) < b.run_limit)) "
	    "RETURNING " RUN_COLS),
	/* Running runs whose lease lapsed at or before ?1, oldest first. */
	B(S_RUNS_LAPSED, "SELECT id FROM pipeline_run WHERE status = "
	    "'running' AND lease_expires_at IS NOT NULL AND "
	    "lease_expires_at <= ?1 ORDER BY lease_expires_at LIMIT ?2"),
	B(S_RUN_COUNTS_MOVE, "UPDATE run_count SET " MOVE("initial") ", "
	    MOVE("running") ", " MOVE("completed") ", " MOVE("failed") ", "
	    MOVE("cancelled") " WHERE backfill_id = ?1"),
	/* A statement of its own per filter, so that each uses its
	 * index. ?3 is the backfill (0 for all), ?4 the status or null,
	 * ?5 1 for latest attempts only. Newest first, as Mage lists
	 * them; the attempts of a date stay together. */
	/* As the backfills' pages, each row carries the count of all that
	 * match (evaluated once per statement, from the page's snapshot). */
#define RUN_ALL		"WHERE CAST(?3 AS bigint) = 0 AND "		\
	    "(CAST(?4 AS text) IS NULL OR status = ?4) AND "		\
	    "(CAST(?5 AS bigint) = 0 OR latest = 1)"
#define RUN_OF		"WHERE backfill_id = ?3 AND "			\
	    "(CAST(?4 AS text) IS NULL OR status = ?4) AND "		\
	    "(CAST(?5 AS bigint) = 0 OR latest = 1)"
	B(S_RUN_LIST, "SELECT " RUN_COLS ", (SELECT count(*) FROM "
	    "pipeline_run " RUN_ALL ") FROM pipeline_run " RUN_ALL
	    " ORDER BY execution_date DESC, id DESC LIMIT ?1 OFFSET ?2"),
	B(S_RUN_LIST_BACKFILL, "SELECT " RUN_COLS ", (SELECT count(*) FROM "
	    "pipeline_run " RUN_OF ") FROM pipeline_run " RUN_OF
	    " ORDER BY execution_date DESC, id DESC LIMIT ?1 OFFSET ?2"),
#undef RUN_ALL
#undef RUN_OF
	B(S_RUN_COUNT, "SELECT count(*) FROM pipeline_run "
	    "WHERE CAST(?1 AS bigint) = 0 AND "
	    "(CAST(?2 AS text) IS NULL OR status = ?2) AND "
	    "(CAST(?3 AS bigint) = 0 OR latest = 1)"),
	B(S_RUN_COUNT_BACKFILL, "SELECT count(*) FROM pipeline_run "
	    "WHERE backfill_id = ?1 AND "
	    "(CAST(?2 AS text) IS NULL OR status = ?2) AND "
	    "(CAST(?3 AS bigint) = 0 OR latest = 1)"),
	/* The first answer to an idempotent request (Idempotency-Key), of
	 * one credential's, not older than ?3. */
	B(S_IDEM_GET, "SELECT request, status, headers, body FROM idempotency "
	    "WHERE credential = ?1 AND key = ?2 AND created_at >= ?3"),
	B(S_IDEM_PUT, "INSERT INTO idempotency (credential, key, request, "
	    "status, headers, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, "
	    "?6, ?7) ON CONFLICT (credential, key) DO UPDATE SET "
	    "request = excluded.request, status = excluded.status, "
	    "headers = excluded.headers, body = excluded.body, "
	    "created_at = excluded.created_at"),
	B(S_IDEM_PURGE, "DELETE FROM idempotency WHERE created_at < ?1"),
	D(S_LOCK_IDEM, NONE,
	    "SELECT pg_advisory_xact_lock(3, hashtext(CAST(?1 AS text)))"),
	/* Locks on records that do not exist (yet): a write that finds
	 * none takes one, and looks again. */
	D(S_LOCK_PIPELINE_NAME, NONE,
	    "SELECT pg_advisory_xact_lock(1, hashtext(CAST(?1 AS text)))"),
	D(S_LOCK_BACKFILL_ID, NONE, "SELECT pg_advisory_xact_lock(2, "
	    "CAST(CAST(?1 AS bigint) & 2147483647 AS int))"),
	D(S_DB_SIZE, "SELECT page_count * page_size FROM "
	    "pragma_page_count(), pragma_page_size()",
	    "SELECT pg_database_size(current_database())"),
	/* Pipelines; backfills by status; latest attempts by status. */
	B(S_STATS, "SELECT 'p', NULL, count(*) FROM pipeline UNION ALL "
	    "SELECT 'b', status, count(*) FROM backfill GROUP BY status "
	    "UNION ALL SELECT 'r', 'initial', coalesce(sum(initial), 0) "
	    "FROM run_count UNION ALL SELECT 'r', 'running', "
	    "coalesce(sum(running), 0) FROM run_count UNION ALL SELECT 'r', "
	    "'completed', coalesce(sum(completed), 0) FROM run_count "
	    "UNION ALL SELECT 'r', 'failed', coalesce(sum(failed), 0) FROM "
	    "run_count UNION ALL SELECT 'r', 'cancelled', "
	    "coalesce(sum(cancelled), 0) FROM run_count"),
	/* The kept numbers against the rows they count (what drifts if
	 * someone edits the tables by hand): the total of backfills off
	 * by, pipelines and backfills whose numbers are wrong. */
	B(S_CHECK_COUNTS, "SELECT (SELECT value FROM counter WHERE name = "
	    "'backfills') - (SELECT count(*) FROM backfill), "
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
	    "ON k.backfill_id = c.backfill_id WHERE "
	    "c.initial <> coalesce(k.i, 0) OR c.running <> coalesce(k.r, 0) "
	    "OR c.completed <> coalesce(k.c, 0) OR "
	    "c.failed <> coalesce(k.f, 0) OR "
	    "c.cancelled <> coalesce(k.x, 0))"),
#undef B
#undef D
};
_Static_assert(sizeof(stmts) / sizeof(stmts[0]) == S__MAX, "every statement");

static const char *const migrations_sqlite[STORE_SCHEMA_VERSION] = {
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
	/* 5 -> 6: the kept numbers of backfills are moved by the store
	 * (src/store.c), once per transaction, in both dialects. */
	"DROP TRIGGER backfill_counted;"
	"DROP TRIGGER backfill_uncounted;",
	/* 6 -> 7: runs that an executor claims and holds with a lease,
	 * their metrics, attempts and retries' delays; the run limit of a
	 * backfill (kept from its settings); a pipeline's retry policy;
	 * the answers to idempotent creates. */
	"ALTER TABLE pipeline_run ADD COLUMN metrics TEXT;"
	"ALTER TABLE pipeline_run ADD COLUMN attempt INTEGER NOT NULL"
	"  DEFAULT 1;"
	"ALTER TABLE pipeline_run ADD COLUMN not_before INTEGER;"
	"ALTER TABLE pipeline_run ADD COLUMN lease_id TEXT;"
	"ALTER TABLE pipeline_run ADD COLUMN lease_owner TEXT;"
	"ALTER TABLE pipeline_run ADD COLUMN lease_expires_at INTEGER;"
	"CREATE INDEX pipeline_run_claimable ON pipeline_run"
	"  (execution_date, id) WHERE latest = 1 AND status = 'initial';"
	"CREATE INDEX pipeline_run_leased ON pipeline_run (lease_expires_at)"
	"  WHERE status = 'running' AND lease_expires_at IS NOT NULL;"
	"ALTER TABLE backfill ADD COLUMN run_limit INTEGER;"
	"UPDATE backfill SET run_limit = CAST(json_extract(settings,"
	"  '$.pipeline_run_limit') AS INTEGER) WHERE json_valid(settings)"
	"  AND CAST(json_extract(settings, '$.pipeline_run_limit') AS INTEGER)"
	"  > 0;"
	"ALTER TABLE pipeline ADD COLUMN retry_config TEXT;"
	"CREATE TABLE idempotency ("
	"  credential BLOB NOT NULL, key TEXT NOT NULL,"
	"  request BLOB NOT NULL, status INTEGER NOT NULL, headers TEXT,"
	"  body TEXT NOT NULL, created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (credential, key));"
	"CREATE INDEX idempotency_age ON idempotency (created_at);",
};

static const char *const migrations_pg[STORE_SCHEMA_VERSION] = {
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
	/* 5 -> 6: a change to the credentials is also announced, so that
	 * a worker learns of it without asking (db_pg.c LISTENs). */
	"CREATE OR REPLACE FUNCTION credential_changed() RETURNS trigger"
	"  LANGUAGE plpgsql AS $$ BEGIN"
	"  UPDATE counter SET value = value + 1 WHERE name = 'credentials';"
	"  PERFORM pg_notify('backfills_credentials', '');"
	"  RETURN NULL;"
	"END $$;"
	/* Every integer column is bigint, as a COPY row writes it. */
	"ALTER TABLE pipeline_run ALTER COLUMN latest TYPE BIGINT;",
	/* 6 -> 7: as SQLite's. */
	"ALTER TABLE pipeline_run ADD COLUMN metrics TEXT,"
	"  ADD COLUMN attempt BIGINT NOT NULL DEFAULT 1,"
	"  ADD COLUMN not_before BIGINT, ADD COLUMN lease_id TEXT,"
	"  ADD COLUMN lease_owner TEXT, ADD COLUMN lease_expires_at BIGINT;"
	"CREATE INDEX pipeline_run_claimable ON pipeline_run"
	"  (execution_date, id) WHERE latest = 1 AND status = 'initial';"
	"CREATE INDEX pipeline_run_leased ON pipeline_run (lease_expires_at)"
	"  WHERE status = 'running' AND lease_expires_at IS NOT NULL;"
	"ALTER TABLE backfill ADD COLUMN run_limit BIGINT;"
	"UPDATE backfill SET run_limit = CAST(substring(settings::json->>"
	"  'pipeline_run_limit' FROM '^[0-9]{1,18}$') AS bigint)"
	"  WHERE settings IS NOT NULL;"
	"UPDATE backfill SET run_limit = NULL WHERE run_limit = 0;"
	"ALTER TABLE pipeline ADD COLUMN retry_config TEXT;"
	"CREATE TABLE idempotency ("
	"  credential BYTEA NOT NULL, key TEXT NOT NULL,"
	"  request BYTEA NOT NULL, status BIGINT NOT NULL, headers TEXT,"
	"  body TEXT NOT NULL, created_at BIGINT NOT NULL,"
	"  PRIMARY KEY (credential, key));"
	"CREATE INDEX idempotency_age ON idempotency (created_at);",
};

_Static_assert(sizeof(migrations_sqlite) / sizeof(migrations_sqlite[0]) ==
    STORE_SCHEMA_VERSION, "every migration");
_Static_assert(sizeof(migrations_pg) / sizeof(migrations_pg[0]) ==
    STORE_SCHEMA_VERSION, "every migration");

const char *
sql_migration(enum dialect d, int v)
{
	if (v < 0 || v >= STORE_SCHEMA_VERSION)
		return NULL;
	return d == DIALECT_PG ? migrations_pg[v] : migrations_sqlite[v];
}

int
sql_has(enum dialect d, enum stmt k)
{
	const char	*t;

	if ((unsigned)k >= S__MAX || (unsigned)d >= DIALECT__MAX)
		return 0;
	t = stmts[k].both != NULL ? stmts[k].both : stmts[k].d[d];
	return t != NULL && t != NONE;
}

const char *
sql_name(enum stmt k)
{
	return (unsigned)k < S__MAX ? stmts[k].name + 2 : "?";
}

int
sql_update_writes(enum bf_field f)
{
	return f != BF_ID && f != BF_CREATED_AT &&
	    f != BF_PIPELINE_SCHEDULE_ID && f != BF_PIPELINE_UUID;
}

/* The column type a parameter of field f is cast to. */
static const char *
col_type(enum bf_field f)
{
	return sql_backfill_cols[f] == C_INT ? "bigint" : "text";
}

/*
 * The statements that follow the field table (names and casts, never
 * values). The inserts take field f as ?f, then the run limit, then the
 * id when given; the update writes a column only when its bit is set in
 * ?1, the mask of changed fields (see sql.h).
 */
static char *
build(enum stmt k)
{
	struct buf	 b = { 0 };
	int		 f, n;

	if (k == S_BACKFILL_UPDATE) {
		buf_puts(&b, "UPDATE backfill SET version = version + 1");
		for (f = 1, n = 3; f < BF__MAX; f++) {
			if (!sql_update_writes((enum bf_field)f))
				continue;
			buf_printf(&b, ", %s = CASE WHEN (CAST(?1 AS bigint) "
			    ">> %d) & 1 = 1 THEN CAST(?%d AS %s) ELSE %s END",
			    bf_field_name((enum bf_field)f), f, n++,
			    col_type((enum bf_field)f),
			    bf_field_name((enum bf_field)f));
		}
		/* the run limit follows the settings (sql.h) */
		buf_printf(&b, ", run_limit = CASE WHEN (CAST(?1 AS bigint) "
		    ">> %d) & 1 = 1 THEN CAST(?%d AS bigint) ELSE run_limit "
		    "END WHERE id = ?2", BF_SETTINGS, n);
	} else {
		buf_printf(&b, "INSERT INTO backfill (%s",
		    k == S_BACKFILL_INSERT_ID ? "id, " : "");
		for (f = 1; f < BF__MAX; f++)
			buf_printf(&b, "%s, ", bf_field_name((enum bf_field)f));
		buf_puts(&b, "run_limit, version) VALUES (");
		if (k == S_BACKFILL_INSERT_ID)
			buf_printf(&b, "CAST(?%d AS bigint), ", BF__MAX + 1);
		for (f = 1; f < BF__MAX; f++)
			buf_printf(&b, "CAST(?%d AS %s), ", f,
			    col_type((enum bf_field)f));
		buf_printf(&b, "CAST(?%d AS bigint), 1) RETURNING id", BF__MAX);
	}
	if (b.oom) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* PostgreSQL's text of a statement: $N for each ?N. */
static char *
to_pg(const char *sql)
{
	char	*out = malloc(strlen(sql) + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (; *sql != '\0'; sql++)
		*o++ = *sql == '?' ? '$' : *sql;
	*o = '\0';
	return out;
}

char *
sql_backfill_update(uint32_t changed)
{
	struct buf	 b = { 0 };
	int		 f, n;

	buf_puts(&b, "UPDATE backfill SET version = version + 1");
	for (f = 1, n = 3; f < BF__MAX; f++) {
		if (!sql_update_writes((enum bf_field)f))
			continue;
		if (changed & BF_BIT(f))
			buf_printf(&b, ", %s = ?%d",
			    bf_field_name((enum bf_field)f), n);
		n++;
	}
	/* always: it follows the record's settings, and it is the last
	 * parameter, so that every one the store binds exists */
	buf_printf(&b, ", run_limit = ?%d WHERE id = ?2", n);
	if (b.oom) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

char *
sql_render(enum dialect d, enum stmt k, int *oom)
{
	const char	*t;
	char		*s;

	*oom = 0;
	if ((unsigned)k >= S__MAX || (unsigned)d >= DIALECT__MAX)
		return NULL;
	t = stmts[k].both != NULL ? stmts[k].both : stmts[k].d[d];
	if (t == NULL || t == NONE)
		return NULL;
	s = t == BUILT ? build(k) : strdup(t);
	if (s != NULL && d == DIALECT_PG) {
		t = s;
		s = to_pg(t);
		free((char *)t);
	}
	if (s == NULL)
		*oom = 1;
	return s;
}
