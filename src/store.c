/*
 * store: every operation of store.h, written once over the driver
 * interface of db.h with the statements of sql.h. The driver is picked
 * by the database's name (a file path: SQLite; postgresql://...:
 * PostgreSQL).
 *
 * The kept numbers of backfills (all, and per pipeline) are moved here,
 * once per transaction: each insert and delete notes its change
 * (struct deltas), applied at commit or before anything reads them.
 * (A trigger per row would update one counter row per insert, which
 * PostgreSQL makes quadratic within one transaction.)
 *
 * Locks: in a write transaction a backfill is read with its row lock
 * (S_BACKFILL_GET_LOCK), a run after its backfill's (S_RUN_LOCK_BACKFILL),
 * a pipeline about to go with its own; a record that is not there is
 * locked by name or id (S_LOCK_*) and looked for again, so that a
 * check-then-add cannot add twice. Every path that changes a backfill
 * or its runs thus holds the backfill's lock before any run or count
 * row. A dialect whose writers are serialised anyway (SQLite) has none
 * of these statements, and they are skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

enum tx { TX_NONE, TX_READ, TX_WRITE };

/* The kept numbers of backfills this transaction moved (see above). */
struct deltas {
	struct {
		char	 uuid[256];
		int64_t	 n;
	}		*p;
	size_t		 n, cap;
	int64_t		 all;
	int		 oom;
};

struct store {
	const struct db_ops	*d;
	struct db		*db;
	enum tx			 tx;
	struct deltas		 deltas;
};

/* -- arguments -------------------------------------------------------- */

static void
arg(struct db_args *a, struct db_val v)
{
	if (a->n < DB_ARGS_MAX)
		a->v[a->n++] = v;
}

void
db_arg_null(struct db_args *a)
{
	arg(a, (struct db_val){ .t = DB_NULL });
}

void
db_arg_int(struct db_args *a, int64_t i)
{
	arg(a, (struct db_val){ .t = DB_INT, .i = i });
}

void
db_arg_int0(struct db_args *a, int64_t i)
{
	if (i == 0)
		db_arg_null(a);
	else
		db_arg_int(a, i);
}

void
db_arg_textn(struct db_args *a, const char *s, size_t len)
{
	arg(a, (struct db_val){ .t = DB_TEXT, .p = s, .len = len });
}

void
db_arg_text(struct db_args *a, const char *s)
{
	if (s == NULL)
		db_arg_null(a);
	else
		db_arg_textn(a, s, strlen(s));
}

void
db_arg_blob(struct db_args *a, const void *p, size_t len)
{
	arg(a, (struct db_val){ .t = DB_BLOB, .p = p, .len = len });
}

/* -- running statements ----------------------------------------------- */

static int
has(const struct store *st, enum stmt k)
{
	return sql_has(st->d->dialect, k);
}

/* Statement k with its rows in *r (db_done() them, whatever happens). */
static enum err
query(struct store *st, enum stmt k, const struct db_args *a,
    struct db_rows *r)
{
	enum err	 e;

	memset(r, 0, sizeof(*r));
	r->db = st->db;
	r->k = k;
	r->row = -1;
	r->e = ERR_OK;
	if ((e = st->d->run(st->db, k, a, r, NULL)) != ERR_OK)
		r->h = NULL;
	return e;
}

static int
next(struct store *st, struct db_rows *r)
{
	return st->d->next(r);
}

static void
done(struct store *st, struct db_rows *r)
{
	if (r->h != NULL)
		st->d->done(r);
}

/* Statement k whose rows are not read; *changed (may be NULL) gets the
 * rows it changed. A statement the dialect lacks does nothing. */
static enum err
exec(struct store *st, enum stmt k, const struct db_args *a, int64_t *changed)
{
	if (changed != NULL)
		*changed = 0;
	if (!has(st, k))
		return ERR_OK;
	return st->d->run(st->db, k, a, NULL, changed);
}

/* Statement k's one integer: the first column of its first row (0 and
 * *found 0 when there is none). */
static enum err
one_int(struct store *st, enum stmt k, const struct db_args *a, int64_t *v,
    int *found)
{
	struct db_rows	 r;
	enum err	 e;
	int		 n;

	*v = 0;
	if (found != NULL)
		*found = 0;
	if ((e = query(st, k, a, &r)) != ERR_OK)
		return e;
	if ((n = next(st, &r)) > 0) {
		*v = st->d->col_int(&r, 0);
		if (found != NULL)
			*found = 1;
	} else if (n < 0)
		e = r.e;
	done(st, &r);
	return e;
}

/* In a write transaction, the lock on a record that may not exist
 * (see the top of this file). */
static enum err
absent_lock(struct store *st, enum stmt k, const struct db_args *a)
{
	if (st->tx != TX_WRITE || !has(st, k))
		return ERR_OK;
	return exec(st, k, a, NULL);
}

/* The locking form of a read in a write transaction, where the dialect
 * has one. */
static enum stmt
locking(const struct store *st, enum stmt plain, enum stmt lock)
{
	return st->tx == TX_WRITE && has(st, lock) ? lock : plain;
}

/* -- kept counts (struct deltas) -------------------------------------- */

static void
deltas_drop(struct store *st)
{
	st->deltas.n = 0;
	st->deltas.all = 0;
	st->deltas.oom = 0;
}

static void
delta_add(struct store *st, const char *uuid, int64_t n)
{
	struct deltas	*d = &st->deltas;
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
deltas_flush(struct store *st)
{
	struct deltas	*d = &st->deltas;
	struct db_args	 a;
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
		db_arg_text(&a, d->p[i].uuid);
		db_arg_int(&a, d->p[i].n);
		e = exec(st, S_COUNT_PIPELINE, &a, NULL);
	}
	if (e == ERR_OK && d->all != 0) {
		memset(&a, 0, sizeof(a));
		db_arg_int(&a, d->all);
		e = exec(st, S_COUNT_ALL, &a, NULL);
	}
	deltas_drop(st);
	return e;
}

/* After an insert or delete: outside a transaction the counts move at
 * once, as the row did. */
static enum err
deltas_settle(struct store *st)
{
	return st->tx == TX_NONE ? deltas_flush(st) : ERR_OK;
}

/* -- opening, transactions, upkeep ------------------------------------ */

/* postgresql:// or postgres:// names a PostgreSQL database (libpq's URI
 * form); anything else is a SQLite file. */
int
store_is_postgres(const char *path)
{
	return strncmp(path, "postgresql://", 13) == 0 ||
	    strncmp(path, "postgres://", 11) == 0;
}

enum err
store_open(struct store **out, const struct store_opts *o, char *why,
    size_t whylen)
{
	const struct db_ops	*d = &db_sqlite_ops;
	struct store		*st;
	enum err		 e;

	*out = NULL;
	if (store_is_postgres(o->path)) {
#ifdef WITH_POSTGRES
		d = &db_pg_ops;
#else
		snprintf(why, whylen, "this build has no PostgreSQL store "
		    "(build with libpq-dev installed)");
		return ERR_PRECONDITION;
#endif
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return ERR_INTERNAL;
	}
	st->d = d;
	if ((e = d->open(&st->db, o, why, whylen)) != ERR_OK) {
		free(st);
		return e;
	}
	*out = st;
	return ERR_OK;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	st->d->close(st->db);
	free(st->deltas.p);
	free(st);
}

enum err
store_schema_version(struct store *st, int *version)
{
	return st->d->schema_version(st->db, version);
}

int
store_broken(const struct store *st)
{
	return st->d->broken(st->db);
}

static enum err
begin(struct store *st, enum db_mode mode)
{
	enum err	 e;

	deltas_drop(st);
	if ((e = st->d->begin(st->db, mode)) == ERR_OK)
		st->tx = mode == DB_WRITE ? TX_WRITE : TX_READ;
	return e;
}

enum err
store_begin(struct store *st)
{
	return begin(st, DB_WRITE);
}

enum err
store_begin_read(struct store *st)
{
	return begin(st, DB_READ);
}

enum err
store_begin_snapshot(struct store *st)
{
	return begin(st, DB_SNAPSHOT);
}

void
store_rollback(struct store *st)
{
	deltas_drop(st);
	st->tx = TX_NONE;
	st->d->rollback(st->db);
}

enum err
store_commit(struct store *st)
{
	enum err	 e;

	if ((e = deltas_flush(st)) != ERR_OK) {
		store_rollback(st);
		return e;
	}
	st->tx = TX_NONE;
	return st->d->commit(st->db);
}

void
store_idle(struct store *st)
{
	if (st != NULL && st->d->idle != NULL)
		st->d->idle(st->db);
}

enum err
store_ping(struct store *st)
{
	int64_t		 v;

	return one_int(st, S_PING, NULL, &v, NULL);
}

enum err
store_backup(struct store *st, const char *path)
{
	return st->d->backup(st->db, path);
}

enum err
store_check(struct store *st, int *ok, char *msg, size_t msglen)
{
	struct db_rows	 r;
	enum err	 e;
	int		 v;

	if ((e = deltas_flush(st)) != ERR_OK ||
	    (e = st->d->integrity(st->db, ok, msg, msglen)) != ERR_OK ||
	    !*ok)
		return e;
	*ok = 0;
	if ((e = store_schema_version(st, &v)) != ERR_OK)
		return e;
	if (v != STORE_SCHEMA_VERSION) {
		snprintf(msg, msglen, "schema version %d, expected %d", v,
		    STORE_SCHEMA_VERSION);
		return ERR_OK;
	}
	if ((e = query(st, S_CHECK_COUNTS, NULL, &r)) != ERR_OK)
		return e;
	if (next(st, &r) <= 0)
		e = r.e != ERR_OK ? r.e : ERR_INTERNAL;
	else if (st->d->col_int(&r, 0) != 0)
		snprintf(msg, msglen, "the kept number of backfills is off "
		    "by %lld", (long long)st->d->col_int(&r, 0));
	else if (st->d->col_int(&r, 1) != 0)
		snprintf(msg, msglen, "%lld pipelines have a wrong kept "
		    "backfill count", (long long)st->d->col_int(&r, 1));
	else if (st->d->col_int(&r, 2) != 0)
		snprintf(msg, msglen, "%lld backfills have wrong kept run "
		    "counts", (long long)st->d->col_int(&r, 2));
	else {
		*ok = 1;
		snprintf(msg, msglen, "ok");
	}
	done(st, &r);
	return e;
}

enum err
store_stats(struct store *st, struct store_stats *out)
{
	struct db_rows	 r;
	const char	*kind, *status;
	size_t		 len;
	enum err	 e;
	int		 s, n;

	memset(out, 0, sizeof(*out));
	if ((e = deltas_flush(st)) != ERR_OK ||
	    (e = query(st, S_STATS, NULL, &r)) != ERR_OK)
		return e;
	while ((n = next(st, &r)) > 0) {
		kind = st->d->col_text(&r, 0, &len);
		status = st->d->col_text(&r, 1, &len);
		s = status ? bf_status_from(status, len) : ST_NULL;
		if (kind == NULL || s < 0)
			continue;
		if (kind[0] == 'p')
			out->pipelines = st->d->col_int(&r, 2);
		else if (kind[0] == 'b')
			out->backfills[s] = st->d->col_int(&r, 2);
		else
			out->runs[s] = st->d->col_int(&r, 2);
	}
	if (n < 0)
		e = r.e;
	done(st, &r);
	return e;
}

enum err
store_size(struct store *st, int64_t *bytes)
{
	return one_int(st, S_DB_SIZE, NULL, bytes, NULL);
}

/* -- pipelines -------------------------------------------------------- */

void
pipeline_free(struct pipeline *p)
{
	free(p->variables);
	free(p->retry_config);
	p->variables = p->retry_config = NULL;
}

/* Column col's text into *out: copied when copy is set (NULL stays
 * NULL), else pointing into the row. Returns 0, or -1 when out of
 * memory. */
static int
text_col(struct store *st, const struct db_rows *r, int col, int copy,
    char **out)
{
	size_t		 len;
	const char	*t = st->d->col_text(r, col, &len);

	*out = NULL;
	if (t == NULL)
		return 0;
	if (!copy) {
		*out = (char *)t;
		return 0;
	}
	return (*out = strndup(t, len)) == NULL ? -1 : 0;
}

/* Reads a row of SQL_PIPELINE_COLS; strings are copied when copy is
 * set, else they point into the row. */
static enum err
pipeline_row(struct store *st, const struct db_rows *r, struct pipeline *p,
    int copy)
{
	const char	*t;
	size_t		 len;

	memset(p, 0, sizeof(*p));
	t = st->d->col_text(r, 0, &len);
	snprintf(p->uuid, sizeof(p->uuid), "%.*s", (int)len, t ? t : "");
	p->backfill_count = st->d->col_int(r, 2);
	if (text_col(st, r, 1, copy, &p->variables) < 0 ||
	    text_col(st, r, 3, copy, &p->retry_config) < 0) {
		if (copy)
			pipeline_free(p);
		return ERR_INTERNAL;
	}
	return ERR_OK;
}

/* Reads a row into out (a struct pipeline, copied). */
static enum err
read_pipeline(struct store *st, const struct db_rows *r, void *out)
{
	return pipeline_row(st, r, out, 1);
}

/* One row of statement k read into out by read(); ERR_NOT_FOUND when
 * there is none. A write transaction that finds none takes the lock of
 * statement absent on the same arguments (a name or id not there) and
 * looks again, so that it cannot then add what another added meanwhile
 * (see the top of this file). */
static enum err
get_one(struct store *st, enum stmt k, enum stmt absent,
    const struct db_args *a, enum err (*read)(struct store *,
    const struct db_rows *, void *), void *out)
{
	struct db_rows	 r;
	enum err	 e;
	int		 n, again = st->tx == TX_WRITE && has(st, absent);

	for (;;) {
		if ((e = query(st, k, a, &r)) != ERR_OK)
			return e;
		if ((n = next(st, &r)) > 0)
			e = read(st, &r, out);
		else
			e = n < 0 ? r.e : ERR_NOT_FOUND;
		done(st, &r);
		if (e != ERR_NOT_FOUND || !again)
			return e;
		again = 0;
		if ((e = absent_lock(st, absent, a)) != ERR_OK)
			return e;
	}
}

/* One pipeline by statement k (plain or locking). */
static enum err
pipeline_get(struct store *st, enum stmt k, const char *uuid,
    struct pipeline *out)
{
	struct db_args	 a = { 0 };
	enum err	 e;

	if ((e = deltas_flush(st)) != ERR_OK)
		return e;
	db_arg_text(&a, uuid);
	return get_one(st, k, S_LOCK_PIPELINE_NAME, &a, read_pipeline, out);
}

enum err
store_pipeline_get(struct store *st, const char *uuid, struct pipeline *out)
{
	return pipeline_get(st, S_PIPELINE_GET, uuid, out);
}

enum err
store_pipeline_add(struct store *st, const char *uuid, const char *variables)
{
	struct db_args	 a = { 0 };
	int64_t		 n;
	enum err	 e;

	db_arg_text(&a, uuid);
	if ((e = absent_lock(st, S_LOCK_PIPELINE_NAME, &a)) != ERR_OK)
		return e;
	db_arg_text(&a, variables);
	db_arg_int(&a, 0);
	db_arg_null(&a);
	if ((e = exec(st, S_PIPELINE_ADD, &a, &n)) != ERR_OK)
		return e;
	return n == 1 ? ERR_OK : ERR_PRECONDITION;
}

enum err
store_pipeline_set(struct store *st, const struct pipeline *p)
{
	struct db_args	 a = { 0 };
	int64_t		 n;
	enum err	 e;

	db_arg_text(&a, p->uuid);
	db_arg_text(&a, p->variables);
	db_arg_text(&a, p->retry_config);
	if ((e = exec(st, S_PIPELINE_SET, &a, &n)) != ERR_OK)
		return e;
	return n == 1 ? ERR_OK : ERR_NOT_FOUND;
}

enum err
store_pipeline_remove(struct store *st, const char *uuid, int force,
    int64_t *removed)
{
	struct pipeline	 p;
	struct db_args	 a = { 0 };
	enum err	 e;

	*removed = 0;
	/* Locked first: a create racing the removal waits, then finds the
	 * pipeline gone (404) rather than deadlocking with it. */
	if ((e = pipeline_get(st, locking(st, S_PIPELINE_GET,
	    S_PIPELINE_GET_LOCK), uuid, &p)) != ERR_OK)
		return e;
	pipeline_free(&p);
	if (p.backfill_count > 0 && !force)
		return ERR_PRECONDITION;
	db_arg_text(&a, uuid);
	if ((e = exec(st, S_PIPELINE_BACKFILLS_DELETE, &a, removed)) != ERR_OK)
		return e;
	delta_add(st, NULL, -*removed);	/* the pipeline's own row goes */
	if ((e = exec(st, S_PIPELINE_DELETE, &a, NULL)) != ERR_OK)
		return e;
	return deltas_settle(st);
}

enum err
store_pipeline_list(struct store *st, store_pipeline_fn fn, void *arg)
{
	struct pipeline	 p;
	struct db_rows	 r;
	enum err	 e;
	int		 n;

	if ((e = deltas_flush(st)) != ERR_OK ||
	    (e = query(st, S_PIPELINE_LIST, NULL, &r)) != ERR_OK)
		return e;
	while ((n = next(st, &r)) > 0) {
		pipeline_row(st, &r, &p, 0);
		if (fn(&p, arg) != 0)
			break;
	}
	if (n < 0)
		e = r.e;
	done(st, &r);
	return e;
}

/* -- backfills -------------------------------------------------------- */

/* Reads a row of SQL_BACKFILL_COLS into b; strings are copied when copy
 * is set, else they point into the row until the next one. */
static enum err
backfill_row(struct store *st, const struct db_rows *r, struct backfill *b,
    int copy)
{
	const char	*t;
	size_t		 len;
	int		 f, e;

	for (f = 0; f < BF__MAX; f++) {
		struct bval *v = &b->v[f];

		if (v->own)
			free(v->s);
		memset(v, 0, sizeof(*v));
		if (st->d->is_null(r, f)) {
			v->null = 1;
			continue;
		}
		if (sql_backfill_cols[f] == C_INT) {
			v->i = st->d->col_int(r, f);
			continue;
		}
		if ((t = st->d->col_text(r, f, &len)) == NULL)
			return ERR_INTERNAL;
		if (sql_backfill_cols[f] == C_TEXT) {
			if (copy) {
				if (bval_set_str(v, t, len) < 0)
					return ERR_INTERNAL;
			} else {
				v->s = (char *)t;
				v->len = len;
			}
			continue;
		}
		e = sql_backfill_cols[f] == C_STATUS ? bf_status_from(t, len) :
		    bf_itype_from(t, len);
		if (e < 0)
			v->null = 1;
		else
			v->i = e;
	}
	b->version = st->d->col_int(r, BF__MAX);
	return ERR_OK;
}

/* Adds field f of b as an argument (enums as their names). */
static void
arg_field(struct db_args *a, const struct backfill *b, int f)
{
	const struct bval *v = &b->v[f];

	if (v->null)
		db_arg_null(a);
	else if (sql_backfill_cols[f] == C_INT)
		db_arg_int(a, v->i);
	else if (sql_backfill_cols[f] == C_TEXT)
		db_arg_textn(a, v->s, v->len);
	else
		db_arg_text(a, sql_backfill_cols[f] == C_STATUS ?
		    bf_status_name((enum bf_status)v->i) :
		    bf_itype_name((enum bf_itype)v->i));
}

/* Reads a row into out (a struct backfill, strings copied). */
static enum err
read_backfill(struct store *st, const struct db_rows *r, void *out)
{
	return backfill_row(st, r, out, 1);
}

enum err
store_backfill_get(struct store *st, int64_t id, struct backfill *out)
{
	struct db_args	 a = { 0 };

	/* In a write transaction the row is locked until it ends: the
	 * caller patches it in C and writes it back. */
	db_arg_int(&a, id);
	return get_one(st, locking(st, S_BACKFILL_GET, S_BACKFILL_GET_LOCK),
	    S_LOCK_BACKFILL_ID, &a, read_backfill, out);
}

enum err
store_backfill_insert(struct store *st, struct backfill *b)
{
	struct db_args	 a = { 0 };
	int64_t		 id = b->v[BF_ID].null ? 0 : b->v[BF_ID].i, got;
	enum err	 e;
	int		 f, found;

	if (id != 0) {
		db_arg_int(&a, id);
		if ((e = absent_lock(st, S_LOCK_BACKFILL_ID, &a)) != ERR_OK)
			return e;
		a.n = 0;
	}
	for (f = 1; f < BF__MAX; f++)
		arg_field(&a, b, f);
	db_arg_int0(&a, bf_run_limit(b));
	if (id != 0)
		db_arg_int(&a, id);
	/* A pipeline that went away meanwhile is ERR_NOT_FOUND. */
	if ((e = one_int(st, id ? S_BACKFILL_INSERT_ID : S_BACKFILL_INSERT,
	    &a, &got, &found)) != ERR_OK)
		return e;
	if (!found)
		return ERR_INTERNAL;
	b->v[BF_ID].null = 0;
	b->v[BF_ID].i = got;
	b->version = 1;
	delta_add(st, b->v[BF_PIPELINE_UUID].s, 1);
	if (id != 0) {
		memset(&a, 0, sizeof(a));
		db_arg_int(&a, id);
		if ((e = exec(st, S_BACKFILL_SEQ_PAST, &a, NULL)) != ERR_OK)
			return e;
	}
	return deltas_settle(st);
}

enum err
store_backfill_update(struct store *st, struct backfill *b, uint32_t changed)
{
	struct db_args	 a = { 0 };
	int64_t		 n;
	enum err	 e;
	int		 f;

	db_arg_int(&a, changed);
	db_arg_int(&a, b->v[BF_ID].i);
	for (f = 1; f < BF__MAX; f++) {
		if (!sql_update_writes((enum bf_field)f))
			continue;
		if (changed & BF_BIT(f))
			arg_field(&a, b, f);
		else
			db_arg_null(&a);
	}
	db_arg_int0(&a, bf_run_limit(b));
	/* No RETURNING version (4 microseconds more in SQLite): the row
	 * was read in this transaction, under its lock, at b->version. */
	if ((e = exec(st, S_BACKFILL_UPDATE, &a, &n)) != ERR_OK)
		return e;
	if (n == 0)
		return ERR_NOT_FOUND;
	b->version++;
	return ERR_OK;
}

enum err
store_backfill_delete(struct store *st, int64_t id)
{
	struct db_args	 a = { 0 };
	struct db_rows	 r;
	const char	*uuid;
	size_t		 len;
	char		 p[256];
	enum err	 e;
	int		 n;

	db_arg_int(&a, id);
	if ((e = query(st, S_BACKFILL_DELETE, &a, &r)) != ERR_OK)
		return e;
	if ((n = next(st, &r)) > 0) {
		uuid = st->d->col_text(&r, 0, &len);
		snprintf(p, sizeof(p), "%.*s", (int)len, uuid ? uuid : "");
	} else
		e = n < 0 ? r.e : ERR_NOT_FOUND;
	done(st, &r);
	if (e != ERR_OK)
		return e;
	delta_add(st, p, -1);
	return deltas_settle(st);
}

enum err
store_backfill_list(struct store *st, const char *pipeline, int64_t limit,
    int64_t offset, int64_t *count, int *next_page, store_backfill_fn fn,
    void *arg)
{
	struct backfill	 b;
	struct pipeline	 p;
	struct db_args	 a = { 0 };
	struct db_rows	 r;
	enum err	 e;
	int64_t		 i = 0;
	int		 n;

	*next_page = 0;
	*count = 0;
	if ((e = deltas_flush(st)) != ERR_OK)
		return e;
	/* One row more than the page tells whether another page follows;
	 * each row carries the count too (column BF__MAX + 1), so that
	 * only an empty page asks for it on its own. */
	db_arg_int(&a, limit + 1);
	db_arg_int(&a, offset);
	if (pipeline != NULL)
		db_arg_text(&a, pipeline);
	if ((e = query(st, pipeline ? S_BACKFILL_LIST_PIPELINE :
	    S_BACKFILL_LIST, &a, &r)) != ERR_OK)
		return e;
	memset(&b, 0, sizeof(b));
	while ((n = next(st, &r)) > 0) {
		if (i++ == 0)
			*count = st->d->col_int(&r, BF__MAX + 1);
		if (i > limit) {
			*next_page = 1;
			break;
		}
		if ((e = backfill_row(st, &r, &b, 0)) != ERR_OK ||
		    fn(&b, arg) != 0)
			break;
	}
	if (n < 0)
		e = r.e;
	done(st, &r);
	if (e != ERR_OK || i > 0)
		return e;
	if (pipeline == NULL)
		return one_int(st, S_BACKFILL_COUNT, NULL, count, NULL);
	if ((e = store_pipeline_get(st, pipeline, &p)) != ERR_OK)
		return e;
	*count = p.backfill_count;
	pipeline_free(&p);
	return ERR_OK;
}

/* -- credentials ------------------------------------------------------ */

static const char *const cred_kinds[] = { "key", "token" };

static enum err
cred_row(struct store *st, const struct db_rows *r, struct credential *c)
{
	const char	*t;
	size_t		 len;

	memset(c, 0, sizeof(*c));
	c->id = st->d->col_int(r, 0);
	if (st->d->col_blob(r, 1, c->hash, sizeof(c->hash)) < 0)
		return ERR_INTERNAL;
	if ((t = st->d->col_text(r, 2, &len)) != NULL)
		snprintf(c->name, sizeof(c->name), "%.*s", (int)len, t);
	if ((t = st->d->col_text(r, 3, &len)) != NULL)
		snprintf(c->role, sizeof(c->role), "%.*s", (int)len, t);
	c->expires_at = st->d->col_int(r, 4);
	c->created_at = st->d->col_int(r, 5);
	c->revoked_at = st->d->col_int(r, 6);
	return ERR_OK;
}

enum err
store_cred_add(struct store *st, enum cred_kind k, struct credential *c)
{
	struct db_args	 a = { 0 };
	int64_t		 id;
	enum err	 e;
	int		 found;

	db_arg_text(&a, cred_kinds[k]);
	db_arg_blob(&a, c->hash, sizeof(c->hash));
	db_arg_text(&a, c->name[0] ? c->name : NULL);
	db_arg_text(&a, c->role[0] ? c->role : NULL);
	db_arg_int0(&a, c->expires_at);
	db_arg_int(&a, c->created_at);
	if ((e = one_int(st, S_CRED_ADD, &a, &id, &found)) != ERR_OK)
		return e;
	if (!found)
		return ERR_PRECONDITION;	/* the same secret exists */
	c->id = id;
	return ERR_OK;
}

enum err
store_cred_find(struct store *st, enum cred_kind k,
    const unsigned char hash[32], struct credential *out)
{
	struct db_args	 a = { 0 };
	struct db_rows	 r;
	enum err	 e;
	int		 n;

	db_arg_text(&a, cred_kinds[k]);
	db_arg_blob(&a, hash, 32);
	if ((e = query(st, S_CRED_FIND, &a, &r)) != ERR_OK)
		return e;
	if ((n = next(st, &r)) > 0)
		e = cred_row(st, &r, out);
	else
		e = n < 0 ? r.e : ERR_NOT_FOUND;
	done(st, &r);
	return e;
}

enum err
store_cred_revoke(struct store *st, enum cred_kind k, int64_t id,
    int64_t now)
{
	struct db_args	 a = { 0 };
	int64_t		 at;
	int		 found;
	enum err	 e;

	db_arg_text(&a, cred_kinds[k]);
	db_arg_int(&a, id);
	db_arg_int(&a, now);
	if ((e = one_int(st, S_CRED_REVOKE, &a, &at, &found)) != ERR_OK)
		return e;
	if (!found)
		return ERR_NOT_FOUND;
	return at == now ? ERR_OK : ERR_PRECONDITION;
}

enum err
store_cred_version(struct store *st, int64_t *version)
{
	int	 found;
	enum err e;

	if (st->d->cred_version != NULL &&
	    (*version = st->d->cred_version(st->db)) >= 0)
		return ERR_OK;
	if ((e = one_int(st, S_CRED_VERSION, NULL, version, &found)) !=
	    ERR_OK)
		return e;
	return found ? ERR_OK : ERR_INTERNAL;
}

enum err
store_cred_list(struct store *st, enum cred_kind k, store_cred_fn fn,
    void *arg)
{
	struct credential c;
	struct db_args	 a = { 0 };
	struct db_rows	 r;
	enum err	 e;
	int		 n;

	db_arg_text(&a, cred_kinds[k]);
	if ((e = query(st, S_CRED_LIST, &a, &r)) != ERR_OK)
		return e;
	while ((n = next(st, &r)) > 0)
		if (cred_row(st, &r, &c) != ERR_OK || fn(&c, arg) != 0)
			break;
	if (n < 0)
		e = r.e;
	done(st, &r);
	return e;
}

/* -- pipeline runs ---------------------------------------------------- */

enum err
store_runs_completed(struct store *st, int64_t bid, int64_t **dates,
    size_t *count)
{
	struct db_args	 a = { 0 };
	struct db_rows	 r;
	int64_t		*d = NULL, *p;
	size_t		 cap = 0;
	enum err	 e;
	int		 n;

	*count = 0;
	*dates = NULL;
	db_arg_int(&a, bid);
	if ((e = query(st, S_RUNS_COMPLETED, &a, &r)) != ERR_OK)
		return e;
	while ((n = next(st, &r)) > 0) {
		if (*count == cap) {
			cap = cap ? cap * 2 : 256;
			if ((p = realloc(d, cap * sizeof(*d))) == NULL) {
				e = ERR_INTERNAL;
				break;
			}
			d = p;
		}
		d[(*count)++] = st->d->col_int(&r, 0);
	}
	if (n < 0)
		e = r.e;
	done(st, &r);
	if (e != ERR_OK) {
		free(d);
		*count = 0;
		return e;
	}
	*dates = d;
	return ERR_OK;
}

enum err
store_runs_supersede(struct store *st, int64_t bid, int64_t now)
{
	struct db_args	 a = { 0 };
	enum err	 e;

	db_arg_int(&a, bid);
	db_arg_int(&a, now);
	if ((e = exec(st, S_RUNS_SUPERSEDE_CANCEL, &a, NULL)) != ERR_OK)
		return e;
	a.n = 1;
	return exec(st, S_RUNS_SUPERSEDE, &a, NULL);
}

enum err
store_run_insert(struct store *st, struct run *r)
{
	struct db_args	 a = { 0 };

	db_arg_int(&a, r->backfill_id);
	db_arg_text(&a, r->pipeline_uuid);
	db_arg_int(&a, r->execution_date);
	db_arg_text(&a, bf_status_name(ST_INITIAL));
	db_arg_text(&a, r->variables);
	db_arg_int(&a, r->created_at);
	db_arg_int(&a, r->created_at);		/* updated_at */
	db_arg_int(&a, 1);			/* latest */
	db_arg_int(&a, r->attempt > 0 ? r->attempt : 1);
	db_arg_int0(&a, r->not_before);
	return st->d->insert(st->db, S_RUN_INSERT, &a, &r->id);
}

enum err
store_run_retire(struct store *st, int64_t id)
{
	struct db_args	 a = { 0 };

	db_arg_int(&a, id);
	return exec(st, S_RUN_RETIRE, &a, NULL);
}

enum err
store_runs_cancel(struct store *st, int64_t bid, int64_t now)
{
	struct db_args	 a = { 0 };

	db_arg_int(&a, bid);
	db_arg_int(&a, now);
	return exec(st, S_RUNS_CANCEL, &a, NULL);
}

enum err
store_runs_recount(struct store *st, int64_t bid)
{
	struct db_args	 a = { 0 };

	db_arg_int(&a, bid);
	return exec(st, S_RUNS_RECOUNT, &a, NULL);
}

enum err
store_run_counts(struct store *st, int64_t bid, struct run_counts *out)
{
	struct db_args	 a = { 0 };
	struct db_rows	 r;
	enum err	 e;
	int		 i, n;

	memset(out, 0, sizeof(*out));
	db_arg_int(&a, bid);
	if ((e = query(st, S_RUN_COUNTS, &a, &r)) != ERR_OK)
		return e;
	if ((n = next(st, &r)) > 0)
		for (i = 0; i < 5; i++)
			out->n[ST_INITIAL + i] = st->d->col_int(&r, i);
	if (n < 0)
		e = r.e;
	done(st, &r);
	return e;
}

/* Reads a row of SQL_RUN_COLS; its strings point into the row. */
static void
run_row(struct store *st, const struct db_rows *r, struct run *x)
{
	const char	*t;
	size_t		 len;
	int		 s;

	memset(x, 0, sizeof(*x));
	x->id = st->d->col_int(r, 0);
	x->backfill_id = st->d->col_int(r, 1);
	t = st->d->col_text(r, 2, &len);
	snprintf(x->pipeline_uuid, sizeof(x->pipeline_uuid), "%.*s",
	    (int)len, t ? t : "");
	x->execution_date = st->d->col_int(r, 3);
	t = st->d->col_text(r, 4, &len);
	s = t != NULL ? bf_status_from(t, len) : -1;
	x->status = s < 0 ? ST_INITIAL : (enum bf_status)s;
	x->variables = st->d->col_text(r, 5, &len);
	x->started_at = st->d->col_int(r, 6);
	x->completed_at = st->d->col_int(r, 7);
	x->created_at = st->d->col_int(r, 8);
	x->updated_at = st->d->col_int(r, 9);
	x->latest = (int)st->d->col_int(r, 10);
	x->metrics = st->d->col_text(r, 11, &len);
	x->attempt = st->d->col_int(r, 12);
	x->not_before = st->d->col_int(r, 13);
	if ((t = st->d->col_text(r, 14, &len)) != NULL)
		snprintf(x->lease_id, sizeof(x->lease_id), "%.*s", (int)len, t);
	x->lease_owner = st->d->col_text(r, 15, &len);
	x->lease_expires_at = st->d->col_int(r, 16);
}

void
run_free(struct run *x)
{
	free((char *)x->variables);
	free((char *)x->metrics);
	free((char *)x->lease_owner);
	x->variables = x->metrics = x->lease_owner = NULL;
}

/* Makes the strings of a run read by run_row() its own. */
static enum err
run_own(struct run *x)
{
	const char	**p[] = { &x->variables, &x->metrics, &x->lease_owner };
	size_t		  i;
	enum err	  e = ERR_OK;

	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		if (*p[i] != NULL && (*p[i] = strdup(*p[i])) == NULL)
			e = ERR_INTERNAL;
	if (e != ERR_OK)
		run_free(x);	/* the ones copied; the others are NULL */
	return e;
}

enum err
store_run_get(struct store *st, int64_t id, struct run *x)
{
	struct db_args	 a = { 0 };
	struct db_rows	 r;
	int64_t		 v;
	enum err	 e;
	int		 n, found;

	db_arg_int(&a, id);
	if (st->tx == TX_WRITE && has(st, S_RUN_LOCK_BACKFILL)) {
		/* The run's backfill first, as every writer of runs does. */
		if ((e = one_int(st, S_RUN_LOCK_BACKFILL, &a, &v, &found)) !=
		    ERR_OK)
			return e;
		if (!found)
			return ERR_NOT_FOUND;
	}
	if ((e = query(st, locking(st, S_RUN_GET, S_RUN_GET_LOCK), &a, &r)) !=
	    ERR_OK)
		return e;
	if ((n = next(st, &r)) > 0) {
		run_row(st, &r, x);
		e = run_own(x);
	} else
		e = n < 0 ? r.e : ERR_NOT_FOUND;
	done(st, &r);
	return e;
}

enum err
store_run_latest(struct store *st, int64_t bid, int64_t date, int64_t *id)
{
	struct db_args	 a = { 0 };
	int		 found;
	enum err	 e;

	db_arg_int(&a, bid);
	db_arg_int(&a, date);
	if ((e = one_int(st, S_RUN_LATEST, &a, id, &found)) != ERR_OK)
		return e;
	return found ? ERR_OK : ERR_NOT_FOUND;
}

enum err
store_run_update(struct store *st, const struct run *x, enum bf_status old)
{
	struct db_args	 a = { 0 };
	enum err	 e;

	db_arg_int(&a, x->id);
	db_arg_text(&a, bf_status_name(x->status));
	db_arg_int0(&a, x->started_at);
	db_arg_int0(&a, x->completed_at);
	db_arg_int(&a, x->updated_at);
	db_arg_text(&a, x->metrics);
	db_arg_text(&a, x->lease_id[0] ? x->lease_id : NULL);
	db_arg_text(&a, x->lease_owner);
	db_arg_int0(&a, x->lease_expires_at);
	if ((e = exec(st, S_RUN_UPDATE, &a, NULL)) != ERR_OK || !x->latest)
		return e;
	return store_run_counts_move(st, x->backfill_id, old, x->status);
}

enum err
store_run_counts_move(struct store *st, int64_t bid, enum bf_status from,
    enum bf_status to)
{
	struct db_args	 a = { 0 };

	if (from == to)
		return ERR_OK;
	db_arg_int(&a, bid);
	db_arg_text(&a, bf_status_name(from));
	db_arg_text(&a, bf_status_name(to));
	return exec(st, S_RUN_COUNTS_MOVE, &a, NULL);
}

/* How many runs a claim looks at before it says none (each taken by
 * another claimer between its look and its take). */
#define CLAIM_TRIES	16

enum err
store_run_claim(struct store *st, const char *pipelines, int64_t now,
    const struct run_lease *l, struct run *x)
{
	struct db_args	 a = { 0 };
	struct db_rows	 r;
	int64_t		 id, v;
	enum err	 e;
	int		 i, n, found;

	memset(x, 0, sizeof(*x));
	for (i = 0; i < CLAIM_TRIES; i++) {
		memset(&a, 0, sizeof(a));
		db_arg_int(&a, now);
		db_arg_text(&a, pipelines);
		if ((e = one_int(st, S_RUN_CLAIM_PICK, &a, &id, &found)) !=
		    ERR_OK)
			return e;
		if (!found)
			return ERR_NOT_FOUND;
		/* The backfill's lock first, as every writer of runs takes
		 * it; then the take checks again what the pick saw. */
		memset(&a, 0, sizeof(a));
		db_arg_int(&a, id);
		if (st->tx == TX_WRITE && has(st, S_RUN_LOCK_BACKFILL) &&
		    (e = one_int(st, S_RUN_LOCK_BACKFILL, &a, &v, &found)) !=
		    ERR_OK)
			return e;
		db_arg_int(&a, now);
		db_arg_text(&a, l->id);
		db_arg_text(&a, l->owner);
		db_arg_int(&a, l->expires_at);
		if ((e = query(st, S_RUN_CLAIM_TAKE, &a, &r)) != ERR_OK)
			return e;
		if ((n = next(st, &r)) > 0) {
			run_row(st, &r, x);
			e = run_own(x);
		} else
			e = n < 0 ? r.e : ERR_NOT_FOUND;
		done(st, &r);
		if (e == ERR_NOT_FOUND)
			continue;	/* another claimer was first */
		if (e != ERR_OK)
			return e;
		if ((e = store_run_counts_move(st, x->backfill_id, ST_INITIAL,
		    ST_RUNNING)) != ERR_OK)
			run_free(x);
		return e;
	}
	return ERR_NOT_FOUND;
}

enum err
store_runs_lapsed(struct store *st, int64_t now, int64_t *ids, size_t n,
    size_t *got)
{
	struct db_args	 a = { 0 };
	struct db_rows	 r;
	enum err	 e;
	int		 k = 0;

	*got = 0;
	db_arg_int(&a, now);
	db_arg_int(&a, (int64_t)n);
	if ((e = query(st, S_RUNS_LAPSED, &a, &r)) != ERR_OK)
		return e;
	while (*got < n && (k = next(st, &r)) > 0)
		ids[(*got)++] = st->d->col_int(&r, 0);
	if (k < 0)
		e = r.e;
	done(st, &r);
	return e;
}

enum err
store_run_list(struct store *st, int64_t bid, enum bf_status status,
    int latest_only, int64_t limit, int64_t offset, int64_t *count,
    int *next_page, store_run_fn fn, void *arg)
{
	struct db_args	 a = { 0 };
	struct db_rows	 r;
	struct run	 x;
	const char	*sname = status == ST_NULL ? NULL :
			    bf_status_name(status);
	int64_t		 i = 0;
	enum err	 e;
	int		 n;

	*next_page = 0;
	*count = 0;
	/* As store_backfill_list: the page's rows carry the count. */
	db_arg_int(&a, limit + 1);
	db_arg_int(&a, offset);
	db_arg_int(&a, bid);
	db_arg_text(&a, sname);
	db_arg_int(&a, latest_only != 0);
	if ((e = query(st, bid ? S_RUN_LIST_BACKFILL : S_RUN_LIST, &a, &r)) !=
	    ERR_OK)
		return e;
	while ((n = next(st, &r)) > 0) {
		if (i++ == 0)
			*count = st->d->col_int(&r, SQL_RUN_NCOLS);
		if (i > limit) {
			*next_page = 1;
			break;
		}
		run_row(st, &r, &x);
		if (fn(&x, arg) != 0)
			break;
	}
	if (n < 0)
		e = r.e;
	done(st, &r);
	if (e != ERR_OK || i > 0)
		return e;
	memset(&a, 0, sizeof(a));
	db_arg_int(&a, bid);
	db_arg_text(&a, sname);
	db_arg_int(&a, latest_only != 0);
	return one_int(st, bid ? S_RUN_COUNT_BACKFILL : S_RUN_COUNT, &a, count,
	    NULL);
}

/* -- idempotent requests ---------------------------------------------- */

void
idem_free(struct idem *d)
{
	free(d->headers);
	free(d->body);
	d->headers = d->body = NULL;
}

enum err
store_idem_get(struct store *st, const unsigned char who[32],
    const char *key, int64_t since, struct idem *out)
{
	struct db_args	 a = { 0 };
	struct db_rows	 r;
	enum err	 e;
	int		 n;

	memset(out, 0, sizeof(*out));
	db_arg_text(&a, key);
	if ((e = absent_lock(st, S_LOCK_IDEM, &a)) != ERR_OK)
		return e;
	memset(&a, 0, sizeof(a));
	db_arg_blob(&a, who, 32);
	db_arg_text(&a, key);
	db_arg_int(&a, since);
	if ((e = query(st, S_IDEM_GET, &a, &r)) != ERR_OK)
		return e;
	if ((n = next(st, &r)) > 0) {
		if (st->d->col_blob(&r, 0, out->request, 32) < 0 ||
		    text_col(st, &r, 2, 1, &out->headers) < 0 ||
		    text_col(st, &r, 3, 1, &out->body) < 0)
			e = ERR_INTERNAL;
		out->status = (int)st->d->col_int(&r, 1);
	} else
		e = n < 0 ? r.e : ERR_NOT_FOUND;
	done(st, &r);
	if (e != ERR_OK)
		idem_free(out);
	return e;
}

enum err
store_idem_put(struct store *st, const unsigned char who[32],
    const char *key, const struct idem *d, int64_t now, int64_t purge)
{
	struct db_args	 a = { 0 };
	enum err	 e;

	db_arg_int(&a, purge);
	if ((e = exec(st, S_IDEM_PURGE, &a, NULL)) != ERR_OK)
		return e;
	memset(&a, 0, sizeof(a));
	db_arg_blob(&a, who, 32);
	db_arg_text(&a, key);
	db_arg_blob(&a, d->request, 32);
	db_arg_int(&a, d->status);
	db_arg_text(&a, d->headers);
	db_arg_text(&a, d->body != NULL ? d->body : "");
	db_arg_int(&a, now);
	return exec(st, S_IDEM_PUT, &a, NULL);
}
