/*
 * db: what a database driver gives the store (src/store.c), and nothing
 * more: connections, transactions, statement N of src/sql.h run with
 * typed arguments, the rows it returns, and the few things only a driver
 * can do (SQLite's write queue and checkpoints, PostgreSQL's batched
 * COPY, locks and notifications). Two drivers: db_sqlite.c, db_pg.c.
 * Only store.c and the drivers include this.
 */
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "sql.h"
#include "store.h"

struct db;

/* One argument of a statement: $N of sql.h is args.v[N - 1]. */
enum db_type { DB_NULL, DB_INT, DB_TEXT, DB_BLOB };

struct db_val {
	enum db_type	 t;
	int64_t		 i;
	const void	*p;		/* text or blob; not copied */
	size_t		 len;
};

#define DB_ARGS_MAX	24

struct db_args {
	int		 n;
	struct db_val	 v[DB_ARGS_MAX];
};

/* Appenders, in the statement's parameter order. */
void	db_arg_null(struct db_args *);
void	db_arg_int(struct db_args *, int64_t);
/* An integer kept as null when 0 (run timestamps, expiry). */
void	db_arg_int0(struct db_args *, int64_t);
/* NUL-terminated text, or null for NULL. */
void	db_arg_text(struct db_args *, const char *);
void	db_arg_textn(struct db_args *, const char *, size_t);
void	db_arg_blob(struct db_args *, const void *, size_t);

/*
 * The rows of one statement, read with next() until it returns 0 (no
 * more) or -1 (failed: e holds why). Column values stay valid until the
 * next call of next() or done(). done() must be called once either way.
 */
struct db_rows {
	struct db	*db;
	enum stmt	 k;
	void		*h;		/* the driver's handle */
	int		 row;
	enum err	 e;
};

/* What a transaction is for (db_ops.begin). */
enum db_mode {
	DB_READ,	/* reads, each may see its own snapshot */
	DB_SNAPSHOT,	/* reads that must all see one snapshot */
	DB_WRITE	/* reads and writes, with the write lock or row locks */
};

struct db_ops {
	const char	*name;
	enum dialect	 dialect;
	/* Connects (and, with o->create, creates), then brings the schema
	 * to STORE_SCHEMA_VERSION in one transaction with the dialect's
	 * migrations. On failure *why says why: ERR_PRECONDITION for a
	 * newer schema, ERR_UNAVAILABLE for a database that cannot be
	 * opened or read. */
	enum err (*open)(struct db **, const struct store_opts *o,
	    char *why, size_t whylen);
	void	 (*close)(struct db *);
	enum err (*schema_version)(struct db *, int *);
	/* Whether a new connection may cure what failed (store_broken). */
	int	 (*broken)(const struct db *);
	/* A transaction (enum db_mode). */
	enum err (*begin)(struct db *, enum db_mode);
	enum err (*commit)(struct db *);
	void	 (*rollback)(struct db *);
	/* Upkeep between requests; may be NULL. */
	void	 (*idle)(struct db *);
	/* Runs statement k. ERR_NOT_FOUND when the dialect has no such
	 * statement (nothing to do). A statement whose answer is its
	 * rows sets rows->h (the caller has set the rest of *rows); with
	 * rows NULL the rows are dropped and *changed (when not NULL) gets
	 * the number of rows it changed. */
	enum err (*run)(struct db *, enum stmt k, const struct db_args *,
	    struct db_rows *rows, int64_t *changed);
	int	 (*next)(struct db_rows *);
	void	 (*done)(struct db_rows *);
	int	 (*is_null)(const struct db_rows *, int col);
	int64_t	 (*col_int)(const struct db_rows *, int col);
	/* NULL for null. */
	const char *(*col_text)(const struct db_rows *, int col, size_t *len);
	/* Copies a blob of exactly len bytes into out; -1 when it is not
	 * one. */
	int	 (*col_blob)(const struct db_rows *, int col, void *out,
	    size_t len);
	/* Inserts a row with statement k and sets *id to its id. A driver
	 * may hold the row back and send a batch (before any other
	 * statement, or the commit, which then reports its errors). */
	enum err (*insert)(struct db *, enum stmt k, const struct db_args *,
	    int64_t *id);
	enum err (*backup)(struct db *, const char *path);
	/* The database's own consistency check; *ok set when it passes,
	 * else the first problem in msg. */
	enum err (*integrity)(struct db *, int *ok, char *msg, size_t len);
	/* A number that moves whenever a credential changes, if the
	 * driver can tell without asking the database; NULL (or -1
	 * returned) makes the store read S_CRED_VERSION. */
	int64_t	 (*cred_version)(struct db *);
};

extern const struct db_ops db_sqlite_ops;
#ifdef WITH_POSTGRES
extern const struct db_ops db_pg_ops;
#endif

#endif
