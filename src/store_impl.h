/*
 * store_impl: what an implementation of store.h provides. store.c picks
 * one by the database's name (a file path: SQLite; postgresql://...:
 * PostgreSQL) and forwards every store_*() call through its table.
 * Only store.c and the implementations include this.
 */
#ifndef STORE_IMPL_H
#define STORE_IMPL_H

#include "store.h"

/* How each backfill field is kept in a column: an integer, text, or an
 * enum kept as its name. The same for every implementation. */
enum col { C_INT, C_TEXT, C_ITYPE, C_STATUS };
extern const enum col store_cols[BF__MAX];

/* Each implementation defines its own struct store_impl. */
struct store_impl;

struct store_ops {
	const char *name;
	enum err (*open)(struct store_impl **, const struct store_opts *,
	    char *why, size_t whylen);
	void (*close)(struct store_impl *);
	enum err (*schema_version)(struct store_impl *, int *version);
	enum err (*ping)(struct store_impl *);
	int (*broken)(const struct store_impl *);
	enum err (*backup)(struct store_impl *, const char *path);
	enum err (*check)(struct store_impl *, int *ok, char *msg,
	    size_t msglen);
	enum err (*stats)(struct store_impl *, struct store_stats *a1);
	enum err (*begin)(struct store_impl *);
	enum err (*begin_read)(struct store_impl *);
	enum err (*commit)(struct store_impl *);
	void (*rollback)(struct store_impl *);
	void (*idle)(struct store_impl *);	/* may be NULL */
	enum err (*pipeline_get)(struct store_impl *, const char *uuid,
	    struct pipeline *out);
	enum err (*pipeline_add)(struct store_impl *, const char *uuid,
	    const char *variables);
	enum err (*pipeline_remove)(struct store_impl *, const char *uuid,
	    int force, int64_t *removed);
	enum err (*pipeline_list)(struct store_impl *, store_pipeline_fn a1,
	    void *a2);
	enum err (*backfill_get)(struct store_impl *, int64_t id,
	    struct backfill *out);
	enum err (*backfill_insert)(struct store_impl *, struct backfill *b);
	enum err (*backfill_update)(struct store_impl *, struct backfill *b,
	    uint32_t changed);
	enum err (*backfill_delete)(struct store_impl *, int64_t id);
	enum err (*backfill_list)(struct store_impl *, const char *pipeline,
	    int64_t limit, int64_t offset, int64_t *count, int *next,
	    store_backfill_fn fn, void *arg);
	enum err (*cred_add)(struct store_impl *, enum cred_kind a1,
	    struct credential *c);
	enum err (*cred_find)(struct store_impl *, enum cred_kind a1,
	    const unsigned char hash[32], struct credential *out);
	enum err (*cred_revoke)(struct store_impl *, enum cred_kind a1,
	    int64_t id, int64_t now);
	enum err (*cred_version)(struct store_impl *, int64_t *version);
	enum err (*cred_list)(struct store_impl *, enum cred_kind a1,
	    store_cred_fn a2, void *a3);
	enum err (*runs_completed)(struct store_impl *, int64_t backfill_id,
	    int64_t **dates, size_t *n);
	enum err (*runs_supersede)(struct store_impl *, int64_t backfill_id,
	    int64_t now);
	enum err (*run_insert)(struct store_impl *, struct run *r);
	enum err (*runs_cancel)(struct store_impl *, int64_t backfill_id,
	    int64_t now);
	enum err (*runs_recount)(struct store_impl *, int64_t backfill_id);
	enum err (*run_counts)(struct store_impl *, int64_t backfill_id,
	    struct run_counts *out);
	enum err (*run_get)(struct store_impl *, int64_t id, struct run *r);
	enum err (*run_update)(struct store_impl *, const struct run *r,
	    enum bf_status old);
	enum err (*run_list)(struct store_impl *, int64_t backfill_id,
	    enum bf_status status, int64_t limit, int64_t offset,
	    int64_t *count, int *next, store_run_fn a7, void *a8);
};

extern const struct store_ops store_sqlite_ops;
#ifdef WITH_POSTGRES
extern const struct store_ops store_pg_ops;
#endif

#endif
