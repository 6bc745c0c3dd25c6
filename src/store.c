/*
 * store: the front of the store interface. Opens the implementation the
 * database's name asks for and forwards each call to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

const enum col store_cols[BF__MAX] = {
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
_Static_assert(sizeof(store_cols) / sizeof(store_cols[0]) == BF__MAX,
    "every field");

struct store {
	const struct store_ops	*ops;
	struct store_impl	*impl;
};

/* postgresql:// or postgres:// names a PostgreSQL database (libpq's URI
 * form); anything else is a SQLite file. */
static int
is_postgres(const char *path)
{
	return strncmp(path, "postgresql://", 13) == 0 ||
	    strncmp(path, "postgres://", 11) == 0;
}

enum err
store_open(struct store **out, const struct store_opts *o, char *why,
    size_t whylen)
{
	const struct store_ops	*ops = &store_sqlite_ops;
	struct store		*st;
	enum err		 e;

	*out = NULL;
	if (is_postgres(o->path)) {
#ifdef WITH_POSTGRES
		ops = &store_pg_ops;
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
	st->ops = ops;
	if ((e = ops->open(&st->impl, o, why, whylen)) != ERR_OK) {
		free(st);
		return e;
	}
	*out = st;
	return ERR_OK;
}

void
pipeline_free(struct pipeline *p)
{
	free(p->variables);
	p->variables = NULL;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	st->ops->close(st->impl);
	free(st);
}

enum err
store_schema_version(struct store *st, int *version)
{
	return st->ops->schema_version(st->impl, version);
}

enum err
store_ping(struct store *st)
{
	return st->ops->ping(st->impl);
}

int
store_broken(const struct store *st)
{
	return st->ops->broken(st->impl);
}

enum err
store_backup(struct store *st, const char *path)
{
	return st->ops->backup(st->impl, path);
}

enum err
store_check(struct store *st, int *ok, char *msg, size_t msglen)
{
	return st->ops->check(st->impl, ok, msg, msglen);
}

enum err
store_stats(struct store *st, struct store_stats *a1)
{
	return st->ops->stats(st->impl, a1);
}

enum err
store_begin(struct store *st)
{
	return st->ops->begin(st->impl);
}

enum err
store_begin_read(struct store *st)
{
	return st->ops->begin_read(st->impl);
}

enum err
store_commit(struct store *st)
{
	return st->ops->commit(st->impl);
}

void
store_rollback(struct store *st)
{
	st->ops->rollback(st->impl);
}

void
store_idle(struct store *st)
{
	if (st != NULL && st->ops->idle != NULL)
		st->ops->idle(st->impl);
}

enum err
store_pipeline_get(struct store *st, const char *uuid, struct pipeline *out)
{
	return st->ops->pipeline_get(st->impl, uuid, out);
}

enum err
store_pipeline_add(struct store *st, const char *uuid, const char *variables)
{
	return st->ops->pipeline_add(st->impl, uuid, variables);
}

enum err
store_pipeline_remove(struct store *st, const char *uuid, int force,
    int64_t *removed)
{
	return st->ops->pipeline_remove(st->impl, uuid, force, removed);
}

enum err
store_pipeline_list(struct store *st, store_pipeline_fn a1, void *a2)
{
	return st->ops->pipeline_list(st->impl, a1, a2);
}

enum err
store_backfill_get(struct store *st, int64_t id, struct backfill *out)
{
	return st->ops->backfill_get(st->impl, id, out);
}

enum err
store_backfill_insert(struct store *st, struct backfill *b)
{
	return st->ops->backfill_insert(st->impl, b);
}

enum err
store_backfill_update(struct store *st, struct backfill *b, uint32_t changed)
{
	return st->ops->backfill_update(st->impl, b, changed);
}

enum err
store_backfill_delete(struct store *st, int64_t id)
{
	return st->ops->backfill_delete(st->impl, id);
}

enum err
store_backfill_list(struct store *st, const char *pipeline, int64_t limit,
    int64_t offset, int64_t *count, int *next, store_backfill_fn fn, void *arg)
{
	return st->ops->backfill_list(st->impl, pipeline, limit, offset, count,
	    next, fn, arg);
}

enum err
store_cred_add(struct store *st, enum cred_kind a1, struct credential *c)
{
	return st->ops->cred_add(st->impl, a1, c);
}

enum err
store_cred_find(struct store *st, enum cred_kind a1,
    const unsigned char hash[32], struct credential *out)
{
	return st->ops->cred_find(st->impl, a1, hash, out);
}

enum err
store_cred_revoke(struct store *st, enum cred_kind a1, int64_t id, int64_t now)
{
	return st->ops->cred_revoke(st->impl, a1, id, now);
}

enum err
store_cred_version(struct store *st, int64_t *version)
{
	return st->ops->cred_version(st->impl, version);
}

enum err
store_cred_list(struct store *st, enum cred_kind a1, store_cred_fn a2, void *a3)
{
	return st->ops->cred_list(st->impl, a1, a2, a3);
}

enum err
store_runs_completed(struct store *st, int64_t backfill_id, int64_t **dates,
    size_t *n)
{
	return st->ops->runs_completed(st->impl, backfill_id, dates, n);
}

enum err
store_runs_supersede(struct store *st, int64_t backfill_id, int64_t now)
{
	return st->ops->runs_supersede(st->impl, backfill_id, now);
}

enum err
store_run_insert(struct store *st, struct run *r)
{
	return st->ops->run_insert(st->impl, r);
}

enum err
store_runs_cancel(struct store *st, int64_t backfill_id, int64_t now)
{
	return st->ops->runs_cancel(st->impl, backfill_id, now);
}

enum err
store_runs_recount(struct store *st, int64_t backfill_id)
{
	return st->ops->runs_recount(st->impl, backfill_id);
}

enum err
store_run_counts(struct store *st, int64_t backfill_id, struct run_counts *out)
{
	return st->ops->run_counts(st->impl, backfill_id, out);
}

enum err
store_run_get(struct store *st, int64_t id, struct run *r)
{
	return st->ops->run_get(st->impl, id, r);
}

enum err
store_run_update(struct store *st, const struct run *r, enum bf_status old)
{
	return st->ops->run_update(st->impl, r, old);
}

enum err
store_run_list(struct store *st, int64_t backfill_id, enum bf_status status,
    int64_t limit, int64_t offset, int64_t *count, int *next, store_run_fn a7,
    void *a8)
{
	return st->ops->run_list(st->impl, backfill_id, status, limit, offset,
	    count, next, a7, a8);
}
