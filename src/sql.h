/*
 * sql: every statement the store runs, indexed by one enum, in each
 * dialect. A statement's parameters are ?1, ?2, ... in one order for
 * both dialects (PostgreSQL's text gets $1, $2, ... in their place);
 * where a dialect needs no such statement it has none, and the store
 * skips it (PostgreSQL's row locks, for one, which SQLite's single
 * writer makes needless). Also the schema's migrations, per dialect.
 */
#ifndef SQL_H
#define SQL_H

#include "backfill.h"

enum dialect {
	DIALECT_SQLITE,
	DIALECT_PG,
	DIALECT__MAX
};

enum stmt {
	S_PING,
	S_PIPELINE_GET,
	S_PIPELINE_GET_LOCK,		/* PostgreSQL: FOR UPDATE */
	S_PIPELINE_ADD,
	S_PIPELINE_SET,
	S_PIPELINE_DELETE,
	S_PIPELINE_BACKFILLS_DELETE,
	S_PIPELINE_LIST,
	S_BACKFILL_GET,
	S_BACKFILL_GET_LOCK,		/* PostgreSQL: FOR UPDATE */
	S_BACKFILL_INSERT,		/* built from the field table */
	S_BACKFILL_INSERT_ID,		/* the same with an explicit id */
	S_BACKFILL_SEQ_PAST,		/* PostgreSQL: the sequence past it */
	S_BACKFILL_UPDATE,		/* built from the field table */
	S_BACKFILL_DELETE,
	S_BACKFILL_LIST,
	S_BACKFILL_LIST_PIPELINE,
	S_BACKFILL_COUNT,
	S_COUNT_PIPELINE,
	S_COUNT_ALL,
	S_CRED_ADD,
	S_CRED_FIND,
	S_CRED_REVOKE,
	S_CRED_LIST,
	S_CRED_VERSION,
	S_RUNS_COMPLETED,
	S_RUNS_SUPERSEDE_CANCEL,
	S_RUNS_SUPERSEDE,
	S_RUN_INSERT,			/* PostgreSQL: a binary COPY */
	S_RUN_IDS,			/* PostgreSQL: ids for the COPY */
	S_RUNS_CANCEL,
	S_RUNS_RECOUNT,
	S_RUN_COUNTS,
	S_RUN_GET,
	S_RUN_LATEST,			/* a date's latest attempt */
	S_RUN_LOCK_BACKFILL,		/* PostgreSQL: its backfill first */
	S_RUN_GET_LOCK,			/* PostgreSQL: FOR UPDATE */
	S_RUN_UPDATE,
	S_RUN_RETIRE,
	S_RUN_CLAIM_PICK,		/* a dialect each: the pipelines */
	S_RUN_CLAIM_TAKE,
	S_RUNS_LAPSED,
	S_RUN_COUNTS_MOVE,
	S_RUN_LIST,
	S_RUN_LIST_BACKFILL,
	S_RUN_COUNT,
	S_RUN_COUNT_BACKFILL,
	S_IDEM_GET,
	S_IDEM_PUT,
	S_IDEM_PURGE,
	S_LOCK_IDEM,			/* PostgreSQL: one key at a time */
	S_LOCK_PIPELINE_NAME,		/* PostgreSQL: a name not there */
	S_LOCK_BACKFILL_ID,		/* PostgreSQL: an id not there */
	S_DB_SIZE,
	S_STATS,
	S_CHECK_COUNTS,
	S__MAX
};

/* The text of statement k in dialect d, malloc'd (free it), or NULL
 * when d has no such statement (*oom is set instead when out of
 * memory). */
char	*sql_render(enum dialect d, enum stmt k, int *oom);

/* Whether dialect d has statement k. */
int	 sql_has(enum dialect d, enum stmt k);

/* The name of statement k, for log lines. */
const char *sql_name(enum stmt k);

/* The migration that takes the schema from version v to v + 1 in
 * dialect d (v < STORE_SCHEMA_VERSION). */
const char *sql_migration(enum dialect d, int v);

/* How each backfill field is kept in a column: an integer, text, or an
 * enum kept as its name. The same in every dialect. */
enum col { C_INT, C_TEXT, C_ITYPE, C_STATUS };
extern const enum col sql_backfill_cols[BF__MAX];

/* Whether S_BACKFILL_UPDATE writes field f: its parameters are the
 * mask of changed fields (?1), the id (?2), then each field it writes,
 * in enum bf_field's order, from ?3, then the run limit (bf_run_limit()
 * of the settings, written when they are). The inserts take the fields
 * as ?1 ... ?17, then the run limit, then the id (S_BACKFILL_INSERT_ID). */
int	 sql_update_writes(enum bf_field f);

/* S_BACKFILL_UPDATE for one mask of changed fields, in SQLite's
 * dialect: the same parameters, but it sets only the columns changed
 * (and the run limit), where the generic statement weighs every column
 * in a CASE: 8 microseconds less in the write lock per update. malloc'd
 * (free it); NULL when out of memory. */
char	*sql_backfill_update(uint32_t changed);

/* The columns of a backfill row as the store reads them: the fields in
 * enum bf_field's order, then the version. */
#define SQL_BACKFILL_COLS						\
	"id, block_uuid, completed_at, created_at, end_datetime, "	\
	"failed_at, interval_type, interval_units, metrics, name, "	\
	"pipeline_schedule_id, pipeline_uuid, settings, "		\
	"start_datetime, started_at, status, updated_at, variables, "	\
	"version"

/* A run row: enum run_col's order in store.c. */
#define SQL_RUN_COLS							\
	"id, backfill_id, pipeline_uuid, execution_date, status, "	\
	"variables, started_at, completed_at, created_at, updated_at, "	\
	"latest, metrics, attempt, not_before, lease_id, lease_owner, "	\
	"lease_expires_at"
#define SQL_RUN_NCOLS	17	/* a column after them is column 17 */

/* A pipeline row. */
#define SQL_PIPELINE_COLS	"uuid, variables, backfill_count, retry_config"

/* A credential row. */
#define SQL_CRED_COLS							\
	"id, hash, name, role, expires_at, created_at, revoked_at"

#endif
