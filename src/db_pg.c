/*
 * The PostgreSQL driver (libpq): one connection per worker, opened after
 * fork, each statement of sql.c prepared on its first use on a
 * connection and run with PQexecPrepared. Values travel only as
 * parameters (text and blobs in binary format with their length,
 * integers as decimal text) or binary COPY rows, never inside SQL text.
 *
 * Where PostgreSQL differs from SQLite (the store's statements say the
 * rest; see also docs/POSTGRESQL.md):
 *
 * - Writes are READ COMMITTED transactions that take row locks (the
 *   store's *_LOCK statements), so writers on different backfills, or
 *   hosts, run side by side. A lock waited on longer than busy_timeout
 *   (lock_timeout), a deadlock or a serialization failure is
 *   ERR_UNAVAILABLE (503), as SQLITE_BUSY is.
 * - Reads open no transaction: each statement is its own snapshot, and
 *   a request that reads one row costs one round trip. (A read of
 *   several statements may see a write land between them.)
 * - The credentials' version is not asked for: a trigger NOTIFYs every
 *   change, this connection LISTENs, and the notifications it has
 *   received so far are counted without a round trip.
 * - A lost connection sets broken (the service reopens the store); a
 *   statement that finds the connection dead outside a write
 *   transaction reconnects once on the spot.
 * - A batch of runs (S_RUN_INSERT, starting a backfill) is sent as one
 *   binary COPY, with ids taken from the sequence ahead (S_RUN_IDS).
 * - durability = normal is synchronous_commit = off; max_db_size is
 *   checked against the database's size (once a second) before a write.
 * - backup is not done here: pg_dump, or backfillctl backup FILE, which
 *   copies one snapshot into a new SQLite file through the store
 *   (src/copy.c).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "db.h"
#include "log.h"

/* The one advisory lock key (ASCII "backfill") taken while migrating. */
#define MIGRATE_LOCK	"7089056601388706924"

/* What a credential change is announced on (sql.c's migration 6). */
#define CRED_CHANNEL	"backfills_credentials"

/*
 * Rows inserted with a COPY statement and not yet sent. Starting a
 * backfill inserts one run per planned date (100 000 of them at most):
 * one statement each would be one round trip each. They are sent
 * instead as one binary COPY when any other statement is about to run
 * (or the transaction commits), so every reader sees them; their ids
 * are taken from the sequence ahead, in blocks that double from
 * IDS_FIRST, and what a transaction did not use is dropped at its end
 * (ids keep growing with time, with gaps, as any sequence's).
 */
#define IDS_FIRST	4
#define IDS_MAX		8192

struct bulk {
	enum stmt	 k;		/* the COPY statement */
	char		*p;		/* COPY rows, binary format */
	size_t		 len, cap;
	int64_t		 rows;
	int64_t		*ids;		/* taken from the sequence */
	int		 nids, next, block;
	int		 oom;
};

struct db {
	PGconn		*conn;
	struct bulk	 b;
	char		*uri;		/* owned, for reconnecting */
	int		 busy_timeout;	/* milliseconds */
	int		 durability_full;
	int64_t		 max_size;
	char		*sql[S__MAX];	/* NULL: not in this dialect */
	char		 name[S__MAX][16];	/* prepared statement names */
	char		 prepared[S__MAX];	/* on this connection */
	int		 in_write;	/* a write transaction is open */
	int		 broken;	/* see store_broken() */
	time_t		 size_checked;	/* when the size was last read */
	int		 over_size;
	int		 listening;	/* LISTEN CRED_CHANNEL took */
	int64_t		 cred_changes;	/* notifications seen, reconnects */
};

/* The parameters of one statement, as libpq takes them. Numbers are
 * written into num; text and blobs point at the caller's memory. */
struct params {
	int		 n;
	const char	*v[DB_ARGS_MAX];
	int		 len[DB_ARGS_MAX];
	int		 fmt[DB_ARGS_MAX];
	char		 num[DB_ARGS_MAX][24];
};

static void
params_of(struct params *p, const struct db_args *a)
{
	int	 i;

	p->n = a != NULL ? a->n : 0;
	for (i = 0; i < p->n; i++) {
		const struct db_val *v = &a->v[i];

		p->len[i] = 0;
		p->fmt[i] = 0;
		switch (v->t) {
		case DB_NULL:
			p->v[i] = NULL;
			break;
		case DB_INT:
			snprintf(p->num[i], sizeof(p->num[i]), "%lld",
			    (long long)v->i);
			p->v[i] = p->num[i];
			break;
		case DB_TEXT:
		case DB_BLOB:
			p->v[i] = v->p;
			p->len[i] = (int)v->len;
			p->fmt[i] = 1;
			break;
		}
	}
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
state_err(struct db *st, const char *state)
{
	if (PQstatus(st->conn) != CONNECTION_OK) {
		st->broken = 1;
		return ERR_UNAVAILABLE;
	}
	if (state == NULL)
		return ERR_INTERNAL;
	if (strcmp(state, "23503") == 0)	/* foreign key: gone */
		return ERR_NOT_FOUND;
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
fail(struct db *st, PGresult *r, const char *what)
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
	if (e != ERR_NOT_FOUND)
		log_msg(e == ERR_UNAVAILABLE ? LOG_WARN : LOG_ERROR,
		    "postgresql: %.60s%s: %s (%s)", what,
		    strlen(what) > 60 ? "..." : "", line[0] ? line :
		    "no message", state ? state : "no sqlstate");
	PQclear(r);
	return e;
}

static enum err	bulk_flush(struct db *);

/* Runs SQL without parameters (transaction control, migrations). */
static enum err
exec_sql(struct db *st, const char *sql, const char *what)
{
	PGresult	*r;
	ExecStatusType	 s;
	enum err	 e;

	if (st->b.rows > 0 && (e = bulk_flush(st)) != ERR_OK)
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

/* -- opening: connect, migrate, prepare -------------------------------- */

/* Reads the recorded schema version: 0 when there is no schema. */
static enum err
read_version(struct db *st, int *v)
{
	PGresult	*r;
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
	return ERR_OK;
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
migrate_locked(struct db *st, int create, char *why, size_t whylen)
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
		if ((e = exec_sql(st, sql_migration(DIALECT_PG, v), sql)) !=
		    ERR_OK)
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
migrate(struct db *st, int create, char *why, size_t whylen)
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

/* The session settings from the conf, and LISTEN. (Statements are
 * prepared on their first use, see run(): preparing a write takes a
 * lock on its table, which a read must not wait for.) */
static enum err
session(struct db *st, char *why, size_t whylen)
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
	/* Whatever changed while no one listened counts as a change. */
	st->cred_changes++;
	r = PQexec(st->conn, "LISTEN " CRED_CHANNEL);
	st->listening = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	return ERR_OK;
}

/* Opens the connection. ERR_UNAVAILABLE with a reason when it fails. */
static enum err
connect_db(struct db *st, char *why, size_t whylen)
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

static void	pg_close(struct db *);

static enum err
pg_open(struct db **out, const struct store_opts *o, char *why,
    size_t whylen)
{
	struct db	*st;
	enum err	 e;
	int		 k, oom;

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
	for (k = 0; k < S__MAX; k++) {
		snprintf(st->name[k], sizeof(st->name[k]), "bf%d", k);
		st->sql[k] = sql_render(DIALECT_PG, (enum stmt)k, &oom);
		if (oom) {
			snprintf(why, whylen, "out of memory");
			e = ERR_INTERNAL;
			goto fail;
		}
	}
	if ((e = connect_db(st, why, whylen)) != ERR_OK ||
	    (e = migrate(st, o->create, why, whylen)) != ERR_OK ||
	    (e = session(st, why, whylen)) != ERR_OK)
		goto fail;
	*out = st;
	return ERR_OK;
fail:
	pg_close(st);
	return e;
}

static void
pg_close(struct db *st)
{
	int	 k;

	if (st == NULL)
		return;
	PQfinish(st->conn);
	free(st->b.p);
	free(st->b.ids);
	for (k = 0; k < S__MAX; k++)
		free(st->sql[k]);
	free(st->uri);
	free(st);
}

/* A new connection in place of a dead one, between transactions. */
static enum err
reconnect(struct db *st)
{
	char		 why[256];
	enum err	 e;

	log_msg(LOG_WARN, "postgresql: connection lost; reconnecting");
	if ((e = connect_db(st, why, sizeof(why))) != ERR_OK ||
	    (e = session(st, why, sizeof(why))) != ERR_OK) {
		log_msg(LOG_ERROR, "postgresql: %s", why);
		st->broken = 1;
		return e;
	}
	return ERR_OK;
}

static enum err
pg_schema_version(struct db *st, int *version)
{
	return read_version(st, version);
}

static int
pg_broken(const struct db *st)
{
	return st->broken || PQstatus(st->conn) != CONNECTION_OK;
}

static int64_t
pg_cred_version(struct db *st)
{
	PGnotify	*n;

	if (!st->listening || PQconsumeInput(st->conn) != 1)
		return -1;
	while ((n = PQnotifies(st->conn)) != NULL) {
		st->cred_changes++;
		PQfreemem(n);
	}
	return st->cred_changes;
}

/* -- statements ------------------------------------------------------ */

/* Prepares statement k on this connection. */
static enum err
prepare_one(struct db *st, enum stmt k)
{
	PGresult	*r;

	r = PQprepare(st->conn, st->name[k], st->sql[k], 0, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return fail(st, r, st->sql[k]);
	PQclear(r);
	st->prepared[k] = 1;
	return ERR_OK;
}

/* Runs prepared statement k once. Returns its result when it is a
 * success, else NULL with *e set (logged). */
static PGresult *
exec_once(struct db *st, enum stmt k, const struct params *p, enum err *e)
{
	PGresult	*r;
	ExecStatusType	 s;

	if (st->b.rows > 0 && (*e = bulk_flush(st)) != ERR_OK)
		return NULL;
	if (!st->prepared[k] && (*e = prepare_one(st, k)) != ERR_OK)
		return NULL;
	r = PQexecPrepared(st->conn, st->name[k], p->n, p->v, p->len, p->fmt,
	    0);
	s = PQresultStatus(r);
	if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
		*e = ERR_OK;
		return r;
	}
	*e = fail(st, r, st->sql[k]);
	return NULL;
}

/* Runs statement k; outside a write transaction a connection found dead
 * (before, or by, the statement) is replaced and the statement tried
 * once more: nothing of it can have taken effect. */
static PGresult *
exec_k(struct db *st, enum stmt k, const struct db_args *a, enum err *e)
{
	struct params	 p;
	PGresult	*r;

	params_of(&p, a);
	if (!st->in_write && PQstatus(st->conn) != CONNECTION_OK &&
	    reconnect(st) != ERR_OK) {
		*e = ERR_UNAVAILABLE;
		return NULL;
	}
	r = exec_once(st, k, &p, e);
	if (r == NULL && !st->in_write &&
	    PQstatus(st->conn) != CONNECTION_OK && reconnect(st) == ERR_OK)
		r = exec_once(st, k, &p, e);
	return r;
}

static enum err
pg_run(struct db *st, enum stmt k, const struct db_args *a,
    struct db_rows *rows, int64_t *changed)
{
	PGresult	*r;
	enum err	 e;

	if (st->sql[k] == NULL)
		return ERR_NOT_FOUND;
	if ((r = exec_k(st, k, a, &e)) == NULL)
		return e;
	if (rows != NULL) {
		rows->h = r;
		return ERR_OK;
	}
	if (changed != NULL)
		*changed = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return ERR_OK;
}

static int
pg_next(struct db_rows *r)
{
	if (r->row + 1 >= PQntuples(r->h))
		return 0;
	r->row++;
	return 1;
}

static void
pg_done(struct db_rows *r)
{
	PQclear(r->h);
	r->h = NULL;
}

static int
pg_is_null(const struct db_rows *r, int col)
{
	return PQgetisnull(r->h, r->row, col);
}

static int64_t
pg_col_int(const struct db_rows *r, int col)
{
	return get_i(r->h, r->row, col);
}

static const char *
pg_col_text(const struct db_rows *r, int col, size_t *len)
{
	if (PQgetisnull(r->h, r->row, col)) {
		*len = 0;
		return NULL;
	}
	*len = (size_t)PQgetlength(r->h, r->row, col);
	return PQgetvalue(r->h, r->row, col);
}

/* bytea in text form: \x and two hex digits a byte. */
static int
pg_col_blob(const struct db_rows *r, int col, void *out, size_t len)
{
	const char	*h = PQgetvalue(r->h, r->row, col);
	unsigned char	*o = out;
	size_t		 i;
	int		 v;

	if (PQgetisnull(r->h, r->row, col) || strlen(h) != 2 + 2 * len ||
	    h[0] != '\\' || h[1] != 'x')
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = hex_byte(h + 2 + 2 * i)) < 0)
			return -1;
		o[i] = (unsigned char)v;
	}
	return 0;
}

/* -- rows sent in batches (struct bulk) ------------------------------ */

/* Forgets the rows not sent and the ids not used. */
static void
bulk_drop(struct db *st)
{
	st->b.len = 0;
	st->b.rows = 0;
	st->b.oom = 0;
	st->b.nids = st->b.next = 0;
	st->b.block = 0;
}

static void
bulk_add(struct bulk *b, const void *p, size_t n)
{
	char	*q;
	size_t	 cap;

	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		cap = b->cap ? b->cap : 65536;
		while (cap < b->len + n)
			cap *= 2;
		if ((q = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* Big-endian integers of COPY's binary format. */
static void
bulk_be(struct bulk *b, uint64_t v, int bytes)
{
	unsigned char	 c[8];
	int		 i;

	for (i = 0; i < bytes; i++)
		c[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	bulk_add(b, c, (size_t)bytes);
}

/* One field: its length, then its bytes; -1 for null. Integers are
 * bigint, text and blobs their bytes. */
static void
bulk_val(struct bulk *b, const struct db_val *v)
{
	switch (v->t) {
	case DB_NULL:
		bulk_be(b, 0xffffffffu, 4);
		break;
	case DB_INT:
		bulk_be(b, 8, 4);
		bulk_be(b, (uint64_t)v->i, 8);
		break;
	case DB_TEXT:
	case DB_BLOB:
		bulk_be(b, v->len, 4);
		bulk_add(b, v->p, v->len);
		break;
	}
}

/* Sends the rows held back: COPY in binary format (values as bytes with
 * their lengths, never SQL text). */
static enum err
bulk_flush(struct db *st)
{
	static const char header[] = "PGCOPY\n\377\r\n\0"
	    "\0\0\0\0" "\0\0\0\0";	/* signature, flags, extension */
	static const char trailer[] = "\377\377";
	PGresult	*r;
	enum err	 e = ERR_OK;
	int		 ok;

	if (st->b.rows == 0)
		return ERR_OK;
	if (st->b.oom) {
		bulk_drop(st);
		log_msg(LOG_ERROR, "postgresql: out of memory for a COPY");
		return ERR_INTERNAL;
	}
	st->b.rows = 0;		/* exec_sql() below must not recurse */
	r = PQexec(st->conn, st->sql[st->b.k]);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		st->b.len = 0;
		return fail(st, r, sql_name(st->b.k));
	}
	PQclear(r);
	ok = PQputCopyData(st->conn, header, sizeof(header) - 1) == 1 &&
	    PQputCopyData(st->conn, st->b.p, (int)st->b.len) == 1 &&
	    PQputCopyData(st->conn, trailer, sizeof(trailer) - 1) == 1;
	st->b.len = 0;
	if (PQputCopyEnd(st->conn, ok ? NULL : "client failed") != 1)
		ok = 0;
	while ((r = PQgetResult(st->conn)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && e == ERR_OK) {
			e = fail(st, r, sql_name(st->b.k));
			continue;
		}
		PQclear(r);
	}
	if (e == ERR_OK && !ok)
		e = fail(st, NULL, sql_name(st->b.k));
	return e;
}

/* The next id of the sequence, from the ids taken ahead (a new block
 * when none is left: the rows held back so far are sent first). */
static enum err
bulk_id(struct db *st, int64_t *id)
{
	struct db_args	 a = { 0 };
	struct bulk	*b = &st->b;
	PGresult	*r;
	int64_t		*ids;
	enum err	 e;
	int		 i, n;

	if (b->next == b->nids) {
		b->block = b->block ? b->block * 2 : IDS_FIRST;
		if (b->block > IDS_MAX)
			b->block = IDS_MAX;
		db_arg_int(&a, b->block);
		if ((r = exec_k(st, S_RUN_IDS, &a, &e)) == NULL)
			return e;
		n = PQntuples(r);
		if (n < 1 || (ids = realloc(b->ids, (size_t)n *
		    sizeof(*ids))) == NULL) {
			PQclear(r);
			return ERR_INTERNAL;
		}
		for (i = 0; i < n; i++)
			ids[i] = get_i(r, i, 0);
		PQclear(r);
		b->ids = ids;
		b->nids = n;
		b->next = 0;
	}
	*id = b->ids[b->next++];
	return ERR_OK;
}

/* A COPY statement holds its row back (struct bulk): the id first, then
 * the arguments, one per column. Any other insert answers its id with
 * RETURNING. */
static enum err
pg_insert(struct db *st, enum stmt k, const struct db_args *a, int64_t *id)
{
	struct db_val	 v = { .t = DB_INT };
	struct bulk	*b = &st->b;
	PGresult	*r;
	enum err	 e;
	int		 i;

	if (st->sql[k] == NULL)
		return ERR_NOT_FOUND;
	if (strncmp(st->sql[k], "COPY ", 5) != 0) {
		if ((r = exec_k(st, k, a, &e)) == NULL)
			return e;
		e = PQntuples(r) == 1 ? ERR_OK : ERR_INTERNAL;
		*id = e == ERR_OK ? get_i(r, 0, 0) : 0;
		PQclear(r);
		return e;
	}
	if (b->rows > 0 && b->k != k && (e = bulk_flush(st)) != ERR_OK)
		return e;
	if ((e = bulk_id(st, &v.i)) != ERR_OK)
		return e;
	b->k = k;
	bulk_be(b, (uint64_t)(a->n + 1), 2);	/* fields */
	bulk_val(b, &v);
	for (i = 0; i < a->n; i++)
		bulk_val(b, &a->v[i]);
	if (b->oom) {
		bulk_drop(st);
		return ERR_INTERNAL;
	}
	b->rows++;
	*id = v.i;
	return ERR_OK;
}

/* -- transactions ---------------------------------------------------- */

/* Whether the database is past max_db_size (checked once a second). */
static int
over_size(struct db *st)
{
	PGresult	*r;
	time_t		 now = time(NULL);
	enum err	 e;

	if (st->max_size <= 0 || now == st->size_checked)
		return st->max_size > 0 && st->over_size;
	if ((r = exec_k(st, S_DB_SIZE, NULL, &e)) == NULL)
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

/* A write or a snapshot starts a transaction; a connection found dead
 * before it began is replaced once (nothing has run in it yet). A plain
 * read starts nothing: each of its statements is its own snapshot. */
static enum err
pg_begin(struct db *st, enum db_mode mode)
{
	const char	*begin = mode == DB_WRITE ?
			    "BEGIN ISOLATION LEVEL READ COMMITTED" :
			    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
	enum err	 e;

	bulk_drop(st);
	st->in_write = 0;
	if (mode == DB_READ)
		return ERR_OK;
	if (PQstatus(st->conn) != CONNECTION_OK && reconnect(st) != ERR_OK)
		return ERR_UNAVAILABLE;
	if (mode == DB_WRITE && over_size(st))
		return ERR_UNAVAILABLE;
	if ((e = exec_sql(st, begin, begin)) != ERR_OK &&
	    PQstatus(st->conn) != CONNECTION_OK && reconnect(st) == ERR_OK)
		e = exec_sql(st, begin, begin);
	if (e == ERR_OK)
		st->in_write = mode == DB_WRITE;
	return e;
}

static void
pg_rollback(struct db *st)
{
	st->in_write = 0;
	bulk_drop(st);
	if (PQstatus(st->conn) == CONNECTION_OK &&
	    PQtransactionStatus(st->conn) != PQTRANS_IDLE)
		(void)exec_sql(st, "ROLLBACK", "rollback");
}

static enum err
pg_commit(struct db *st)
{
	PGresult	*r;
	enum err	 e;

	if ((e = bulk_flush(st)) != ERR_OK) {
		pg_rollback(st);
		return e;
	}
	bulk_drop(st);
	if (PQtransactionStatus(st->conn) == PQTRANS_IDLE)
		return ERR_OK;		/* a plain read: nothing to commit */
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

/* -- operations ------------------------------------------------------ */

static enum err
pg_backup(struct db *st, const char *path)
{
	(void)st;
	log_msg(LOG_ERROR, "backup to %s: a PostgreSQL database is backed "
	    "up with pg_dump, or into a SQLite file with backfillctl "
	    "--db URI backup FILE (a copy of one snapshot)", path);
	return ERR_INTERNAL;
}

/* PostgreSQL checks its own pages; nothing to do here. */
static enum err
pg_integrity(struct db *st, int *ok, char *msg, size_t msglen)
{
	enum err	 e;

	if ((e = bulk_flush(st)) != ERR_OK)
		return e;
	*ok = 1;
	snprintf(msg, msglen, "ok");
	return ERR_OK;
}

const struct db_ops db_pg_ops = {
	.name = "postgresql",
	.dialect = DIALECT_PG,
	.open = pg_open,
	.close = pg_close,
	.schema_version = pg_schema_version,
	.broken = pg_broken,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.idle = NULL,
	.run = pg_run,
	.next = pg_next,
	.done = pg_done,
	.is_null = pg_is_null,
	.col_int = pg_col_int,
	.col_text = pg_col_text,
	.col_blob = pg_col_blob,
	.insert = pg_insert,
	.backup = pg_backup,
	.integrity = pg_integrity,
	.cred_version = pg_cred_version,
};
