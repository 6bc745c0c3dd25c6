/*
 * src/store.h against a fresh database per test: pipelines, backfills
 * (partial updates, kept counts, the list's order and pages) and the
 * schema version (newer refused, older migrated on open).
 *
 * Once per driver: SQLite (a temporary file) always; PostgreSQL when
 * BACKFILLS_TEST_PG names a server's admin database (a libpq URI; make
 * pg-check sets it and runs this suite alone with CK_RUN_SUITE=store).
 * The SQLite-only cases (the pool's write queue, checkpoints, the file's
 * own schema history) are left out there.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef WITH_POSTGRES
#include <libpq-fe.h>
#endif

#include "backfill.h"
#include "datetime.h"
#include "store.h"
#include "suites.h"
#include "wlock.h"

static char		 dir[4096];
static char		 dbpath[4200];
static struct store	*st;

#define PG_ENV	"BACKFILLS_TEST_PG"

/* The PostgreSQL server's admin database, or NULL: SQLite. */
static const char *
pg_admin(void)
{
	const char	*u = getenv(PG_ENV);

	return u != NULL && u[0] != '\0' ? u : NULL;
}

#ifdef WITH_POSTGRES
static char	 pg_db[64];	/* this test's database, "" when none */

/* Runs sql on the admin database. */
static void
pg_admin_exec(const char *sql)
{
	PGconn		*c = PQconnectdb(pg_admin());
	PGresult	*r;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s: %s", pg_admin(),
	    PQerrorMessage(c));
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", sql,
	    PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

/* A new database on the server; dbpath is its URI (the admin URI with
 * the database's name in place of the admin one's). */
static void
pg_fresh(void)
{
	static int	 n;
	const char	*u = pg_admin(), *slash, *q;
	char		 sql[128];

	snprintf(pg_db, sizeof(pg_db), "unit_%d_%d", (int)getpid(), n++);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", pg_db);
	pg_admin_exec(sql);
	/* postgresql://[host]/dbname[?params] */
	slash = strchr(u + strlen("postgresql://"), '/');
	ck_assert_ptr_nonnull(slash);
	q = strchr(slash, '?');
	snprintf(dbpath, sizeof(dbpath), "%.*s/%s%s", (int)(slash - u), u,
	    pg_db, q ? q : "");
}

static void
pg_drop(void)
{
	char	 sql[128];

	if (pg_db[0] == '\0')
		return;
	snprintf(sql, sizeof(sql), "DROP DATABASE %s", pg_db);
	pg_admin_exec(sql);
	pg_db[0] = '\0';
}
#else
static void
pg_fresh(void)
{
	ck_abort_msg(PG_ENV " is set, but this build has no PostgreSQL");
}

static void
pg_drop(void)
{
}
#endif

static int64_t
T(const char *s)
{
	int64_t	 us;

	ck_assert_msg(dt_parse(s, strlen(s), &us) == 0, "bad test date %s", s);
	return us;
}

static enum err
open_db(struct store **out, int create)
{
	struct store_opts o = { .path = dbpath, .durability_full = 1,
	    .busy_timeout = 2000, .create = create };
	char	 why[256] = "";
	enum err e;

	e = store_open(out, &o, why, sizeof(why));
	if (e != ERR_OK)
		ck_assert_msg(*out == NULL, "store_open failed (%s) but set *st",
		    why);
	return e;
}

/* Each test: a fresh folder and path (or PostgreSQL database);
 * setup_open also opens it. */
static void
setup_path(void)
{
	unit_mkdtemp(dir, sizeof(dir));
	if (pg_admin() != NULL)
		pg_fresh();
	else
		snprintf(dbpath, sizeof(dbpath), "%s/test.db", dir);
	st = NULL;
}

static void
setup_open(void)
{
	setup_path();
	ck_assert_int_eq(open_db(&st, 1), ERR_OK);
	ck_assert_ptr_nonnull(st);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	if (pg_admin() != NULL)
		pg_drop();
	unit_rmtree(dir);
}

/* A new record as the create handler makes it. */
static void
mkbf(struct backfill *b, const char *pipeline, const char *created,
    const char *name)
{
	memset(b, 0, sizeof(*b));
	backfill_clear(b);
	b->v[BF_ID] = (struct bval){ .i = 0 };
	b->v[BF_CREATED_AT] = (struct bval){ .i = T(created) };
	b->v[BF_UPDATED_AT] = (struct bval){ .i = T(created) };
	ck_assert_int_eq(bval_set_str(&b->v[BF_PIPELINE_UUID], pipeline,
	    strlen(pipeline)), 0);
	if (name != NULL)
		ck_assert_int_eq(bval_set_str(&b->v[BF_NAME], name,
		    strlen(name)), 0);
}

static int64_t
insert(const char *pipeline, const char *created, const char *name)
{
	struct backfill	 b;
	int64_t		 id;

	mkbf(&b, pipeline, created, name);
	ck_assert_int_eq(store_backfill_insert(st, &b), ERR_OK);
	ck_assert_int_eq(b.v[BF_ID].null, 0);
	ck_assert_int_gt(b.v[BF_ID].i, 0);
	ck_assert_int_eq(b.version, 1);
	id = b.v[BF_ID].i;
	backfill_free(&b);
	return id;
}

static int64_t
pipeline_count(const char *uuid)
{
	struct pipeline	 p;
	int64_t		 n;

	ck_assert_int_eq(store_pipeline_get(st, uuid, &p), ERR_OK);
	n = p.backfill_count;
	pipeline_free(&p);
	return n;
}

/* A record as JSON, to compare two whole records. */
static char *
shown(const struct backfill *b)
{
	struct buf	 out = { 0 };

	bf_present(&out, b);
	ck_assert_int_eq(out.oom, 0);
	return out.data;
}

static int
ignore_row(const struct backfill *b, void *arg)
{
	(void)b;
	(void)arg;
	return 0;
}

/* ---- pipelines ---------------------------------------------------- */

static int
collect_pipeline(const struct pipeline *p, void *arg)
{
	struct buf	*out = arg;

	buf_printf(out, "%s:%s:%lld;", p->uuid,
	    p->variables ? p->variables : "null",
	    (long long)p->backfill_count);
	return 0;
}

START_TEST(pipeline_add_get_list_remove)
{
	struct pipeline	 p;
	struct buf	 out = { 0 };
	int64_t		 removed = -1;

	ck_assert_int_eq(store_pipeline_add(st, "p1", "{\"a\":1}"), ERR_OK);
	ck_assert_int_eq(store_pipeline_add(st, "p0", NULL), ERR_OK);
	ck_assert_int_eq(store_pipeline_add(st, "p1", NULL), ERR_PRECONDITION);

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(store_pipeline_get(st, "p1", &p), ERR_OK);
	ck_assert_str_eq(p.uuid, "p1");
	ck_assert_str_eq(p.variables, "{\"a\":1}");
	ck_assert_int_eq(p.backfill_count, 0);
	pipeline_free(&p);
	ck_assert_int_eq(store_pipeline_get(st, "p0", &p), ERR_OK);
	ck_assert_ptr_null(p.variables);
	pipeline_free(&p);
	ck_assert_int_eq(store_pipeline_get(st, "nope", &p), ERR_NOT_FOUND);

	ck_assert_int_eq(store_pipeline_list(st, collect_pipeline, &out),
	    ERR_OK);
	ck_assert_str_eq(out.data, "p0:null:0;p1:{\"a\":1}:0;");
	buf_free(&out);

	ck_assert_int_eq(store_pipeline_remove(st, "p0", 0, &removed), ERR_OK);
	ck_assert_int_eq(removed, 0);
	ck_assert_int_eq(store_pipeline_get(st, "p0", &p), ERR_NOT_FOUND);
	ck_assert_int_eq(store_pipeline_remove(st, "p0", 1, &removed),
	    ERR_NOT_FOUND);
	ck_assert_int_eq(store_pipeline_get(st, "p1", &p), ERR_OK);
	pipeline_free(&p);
}
END_TEST

/* ---- credentials -------------------------------------------------- */

START_TEST(credential_add_find_revoke)
{
	struct credential c, got;
	int64_t		 first;

	memset(&c, 0, sizeof(c));
	memset(c.hash, 0xab, sizeof(c.hash));
	snprintf(c.name, sizeof(c.name), "ci");
	snprintf(c.role, sizeof(c.role), "editor");
	c.created_at = 1000000;
	c.expires_at = 9000000;
	ck_assert_int_eq(store_cred_add(st, CRED_TOKEN, &c), ERR_OK);
	ck_assert_int_gt(c.id, 0);
	/* the same secret again, of either kind */
	ck_assert_int_eq(store_cred_add(st, CRED_TOKEN, &c), ERR_PRECONDITION);
	ck_assert_int_eq(store_cred_add(st, CRED_KEY, &c), ERR_PRECONDITION);
	ck_assert_int_eq(store_cred_find(st, CRED_TOKEN, c.hash, &got),
	    ERR_OK);
	ck_assert_int_eq(got.id, c.id);
	ck_assert_str_eq(got.role, "editor");
	ck_assert_int_eq(got.revoked_at, 0);
	/* a token's id is no key's */
	ck_assert_int_eq(store_cred_find(st, CRED_KEY, c.hash, &got),
	    ERR_NOT_FOUND);
	ck_assert_int_eq(store_cred_revoke(st, CRED_KEY, c.id, 5000000),
	    ERR_NOT_FOUND);

	first = 5000000;
	ck_assert_int_eq(store_cred_revoke(st, CRED_TOKEN, c.id, first),
	    ERR_OK);
	/* twice: said, and the first time is kept */
	ck_assert_int_eq(store_cred_revoke(st, CRED_TOKEN, c.id, first + 1),
	    ERR_PRECONDITION);
	ck_assert_int_eq(store_cred_find(st, CRED_TOKEN, c.hash, &got),
	    ERR_OK);
	ck_assert_int_eq(got.revoked_at, first);
	ck_assert_int_eq(store_cred_revoke(st, CRED_TOKEN, c.id + 1, first),
	    ERR_NOT_FOUND);
}
END_TEST

START_TEST(pipeline_remove_with_backfills)
{
	struct backfill	 b;
	int64_t		 a, c, removed = -1, count = -1;
	int		 next = -1;

	ck_assert_int_eq(store_pipeline_add(st, "p", NULL), ERR_OK);
	ck_assert_int_eq(store_pipeline_add(st, "other", NULL), ERR_OK);
	a = insert("p", "2023-07-01", "a");
	insert("p", "2023-07-02", "b");
	c = insert("other", "2023-07-03", "c");
	ck_assert_int_eq(pipeline_count("p"), 2);

	/* without force: refused, nothing removed */
	ck_assert_int_eq(store_pipeline_remove(st, "p", 0, &removed),
	    ERR_PRECONDITION);
	ck_assert_int_eq(removed, 0);
	ck_assert_int_eq(pipeline_count("p"), 2);
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(store_backfill_get(st, a, &b), ERR_OK);
	backfill_free(&b);

	/* with force: the pipeline and its backfills go */
	ck_assert_int_eq(store_pipeline_remove(st, "p", 1, &removed), ERR_OK);
	ck_assert_int_eq(removed, 2);
	ck_assert_int_eq(store_backfill_get(st, a, &b), ERR_NOT_FOUND);
	ck_assert_int_eq(store_backfill_get(st, c, &b), ERR_OK);
	backfill_free(&b);
	ck_assert_int_eq(store_backfill_list(st, NULL, 40, 0, &count, &next,
	    ignore_row, NULL), ERR_OK);
	ck_assert_int_eq(count, 1);
	ck_assert_int_eq(pipeline_count("other"), 1);
}
END_TEST

START_TEST(backfill_count_kept)
{
	int64_t	 a, count = -1;
	int	 next;

	ck_assert_int_eq(store_pipeline_add(st, "p1", NULL), ERR_OK);
	ck_assert_int_eq(store_pipeline_add(st, "p2", NULL), ERR_OK);
	a = insert("p1", "2023-07-01", NULL);
	insert("p1", "2023-07-02", NULL);
	insert("p1", "2023-07-03", NULL);
	insert("p2", "2023-07-04", NULL);
	ck_assert_int_eq(pipeline_count("p1"), 3);
	ck_assert_int_eq(pipeline_count("p2"), 1);
	ck_assert_int_eq(store_backfill_list(st, NULL, 1, 0, &count, &next,
	    ignore_row, NULL), ERR_OK);
	ck_assert_int_eq(count, 4);

	ck_assert_int_eq(store_backfill_delete(st, a), ERR_OK);
	ck_assert_int_eq(pipeline_count("p1"), 2);
	ck_assert_int_eq(pipeline_count("p2"), 1);
	ck_assert_int_eq(store_backfill_list(st, NULL, 1, 0, &count, &next,
	    ignore_row, NULL), ERR_OK);
	ck_assert_int_eq(count, 3);
	ck_assert_int_eq(store_backfill_list(st, "p1", 1, 0, &count, &next,
	    ignore_row, NULL), ERR_OK);
	ck_assert_int_eq(count, 2);
}
END_TEST

/* ---- backfills ---------------------------------------------------- */

START_TEST(backfill_insert_get_every_field)
{
	struct backfill	 b, got;
	char		*want, *have;

	ck_assert_int_eq(store_pipeline_add(st, "arwen_starlight", NULL),
	    ERR_OK);
	mkbf(&b, "arwen_starlight", "2023-07-18 23:30:26", "new_name");
	ck_assert_int_eq(bval_set_str(&b.v[BF_BLOCK_UUID], "blk", 3), 0);
	b.v[BF_COMPLETED_AT] = (struct bval){ .i = T("2023-07-21") };
	b.v[BF_END_DATETIME] = (struct bval){ .i = T("2023-07-18 23:56:05") };
	b.v[BF_FAILED_AT] = (struct bval){ .i = T("2023-07-20 00:00:00.5") };
	b.v[BF_INTERVAL_TYPE] = (struct bval){ .i = IT_WEEK };
	b.v[BF_INTERVAL_UNITS] = (struct bval){ .i = 1000000 };
	ck_assert_int_eq(bval_set_str(&b.v[BF_METRICS], "{\"m\":1}", 7), 0);
	b.v[BF_PIPELINE_SCHEDULE_ID] = (struct bval){ .i = 4 };
	ck_assert_int_eq(bval_set_str(&b.v[BF_SETTINGS], "{}", 2), 0);
	b.v[BF_START_DATETIME] = (struct bval){ .i = T("1969-07-20 20:17:40") };
	b.v[BF_STARTED_AT] = (struct bval){ .i = T("2023-07-19 00:00:00.000001") };
	b.v[BF_STATUS] = (struct bval){ .i = ST_FAILED };
	ck_assert_int_eq(bval_set_str(&b.v[BF_VARIABLES], "{\"k\":\"\\u00e9\"}",
	    14), 0);
	ck_assert_int_eq(store_backfill_insert(st, &b), ERR_OK);
	ck_assert_int_gt(b.v[BF_ID].i, 0);
	ck_assert_int_eq(b.version, 1);

	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(store_backfill_get(st, b.v[BF_ID].i, &got), ERR_OK);
	ck_assert_int_eq(got.version, 1);
	want = shown(&b);
	have = shown(&got);
	ck_assert_str_eq(have, want);
	free(want);
	free(have);
	backfill_free(&b);
	backfill_free(&got);

	/* the all-null record of the founding example, at id 6 */
	mkbf(&b, "arwen_starlight", "2023-07-18 23:30:26", NULL);
	b.v[BF_ID].i = 6;
	ck_assert_int_eq(store_backfill_insert(st, &b), ERR_OK);
	ck_assert_int_eq(b.v[BF_ID].i, 6);
	ck_assert_int_eq(store_backfill_get(st, 6, &got), ERR_OK);
	want = shown(&b);
	have = shown(&got);
	ck_assert_str_eq(have, want);
	free(want);
	free(have);
	backfill_free(&b);
	backfill_free(&got);

	/* id 0 picks the next one */
	ck_assert_int_eq(insert("arwen_starlight", "2023-07-19", NULL), 7);
	ck_assert_int_eq(store_backfill_get(st, 999, &got), ERR_NOT_FOUND);
	backfill_free(&got);
}
END_TEST

START_TEST(backfill_insert_needs_pipeline)
{
	struct backfill	 b;

	int		 saved, devnull;

	mkbf(&b, "no_such_pipeline", "2023-07-18", NULL);
	/* the store logs the refusal on stderr: keep the run's output clean */
	saved = dup(STDERR_FILENO);
	devnull = open("/dev/null", O_WRONLY);
	ck_assert_int_ge(devnull, 0);
	dup2(devnull, STDERR_FILENO);
	ck_assert_int_ne(store_backfill_insert(st, &b), ERR_OK);
	dup2(saved, STDERR_FILENO);
	close(devnull);
	close(saved);
	backfill_free(&b);
}
END_TEST

START_TEST(backfill_update_only_changed_columns)
{
	struct backfill	 b, got;
	int64_t		 id;

	ck_assert_int_eq(store_pipeline_add(st, "p", NULL), ERR_OK);
	mkbf(&b, "p", "2023-07-18", "before");
	ck_assert_int_eq(bval_set_str(&b.v[BF_SETTINGS], "{\"s\":1}", 7), 0);
	b.v[BF_INTERVAL_UNITS] = (struct bval){ .i = 5 };
	ck_assert_int_eq(store_backfill_insert(st, &b), ERR_OK);
	id = b.v[BF_ID].i;

	/* The struct differs in name, settings, units and status; the
	 * mask names only name and updated_at. */
	ck_assert_int_eq(bval_set_str(&b.v[BF_NAME], "after", 5), 0);
	ck_assert_int_eq(bval_set_str(&b.v[BF_SETTINGS], "{\"s\":2}", 7), 0);
	b.v[BF_INTERVAL_UNITS].i = 9;
	b.v[BF_STATUS] = (struct bval){ .i = ST_RUNNING };
	b.v[BF_UPDATED_AT].i = T("2023-07-20");
	ck_assert_int_eq(store_backfill_update(st, &b,
	    BF_BIT(BF_NAME) | BF_BIT(BF_UPDATED_AT)), ERR_OK);
	ck_assert_int_eq(b.version, 2);

	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(store_backfill_get(st, id, &got), ERR_OK);
	ck_assert_int_eq(got.version, 2);
	ck_assert_str_eq(got.v[BF_NAME].s, "after");
	ck_assert_int_eq(got.v[BF_UPDATED_AT].i, T("2023-07-20"));
	ck_assert_str_eq(got.v[BF_SETTINGS].s, "{\"s\":1}");
	ck_assert_int_eq(got.v[BF_INTERVAL_UNITS].i, 5);
	ck_assert_int_eq(got.v[BF_STATUS].null, 1);
	ck_assert_int_eq(got.v[BF_CREATED_AT].i, T("2023-07-18"));
	backfill_free(&got);

	/* now the others, one a null */
	b.v[BF_SETTINGS].null = 1;
	ck_assert_int_eq(store_backfill_update(st, &b, BF_BIT(BF_SETTINGS) |
	    BF_BIT(BF_INTERVAL_UNITS) | BF_BIT(BF_STATUS)), ERR_OK);
	ck_assert_int_eq(b.version, 3);
	ck_assert_int_eq(store_backfill_get(st, id, &got), ERR_OK);
	ck_assert_int_eq(got.version, 3);
	ck_assert_int_eq(got.v[BF_SETTINGS].null, 1);
	ck_assert_int_eq(got.v[BF_INTERVAL_UNITS].i, 9);
	ck_assert_int_eq(got.v[BF_STATUS].null, 0);
	ck_assert_int_eq(got.v[BF_STATUS].i, ST_RUNNING);
	ck_assert_str_eq(got.v[BF_NAME].s, "after");
	backfill_free(&got);

	/* an empty mask writes nothing but the version */
	ck_assert_int_eq(store_backfill_update(st, &b, 0), ERR_OK);
	ck_assert_int_eq(store_backfill_get(st, id, &got), ERR_OK);
	ck_assert_int_eq(got.version, 4);
	ck_assert_str_eq(got.v[BF_NAME].s, "after");
	backfill_free(&got);

	/* a missing id */
	b.v[BF_ID].i = 999;
	ck_assert_int_eq(store_backfill_update(st, &b, BF_BIT(BF_NAME)),
	    ERR_NOT_FOUND);
	backfill_free(&b);
}
END_TEST

START_TEST(backfill_updates_never_undo_each_other)
{
	struct backfill	 x, y, got;
	int64_t		 id;

	ck_assert_int_eq(store_pipeline_add(st, "p", NULL), ERR_OK);
	id = insert("p", "2023-07-18", "n0");
	memset(&x, 0, sizeof(x));
	memset(&y, 0, sizeof(y));
	memset(&got, 0, sizeof(got));
	/* two writers load the same version ... */
	ck_assert_int_eq(store_backfill_get(st, id, &x), ERR_OK);
	ck_assert_int_eq(store_backfill_get(st, id, &y), ERR_OK);
	/* ... and change different fields */
	ck_assert_int_eq(bval_set_str(&x.v[BF_NAME], "n1", 2), 0);
	ck_assert_int_eq(store_backfill_update(st, &x, BF_BIT(BF_NAME)),
	    ERR_OK);
	y.v[BF_INTERVAL_TYPE] = (struct bval){ .i = IT_HOUR };
	ck_assert_int_eq(store_backfill_update(st, &y,
	    BF_BIT(BF_INTERVAL_TYPE)), ERR_OK);
	ck_assert_int_eq(store_backfill_get(st, id, &got), ERR_OK);
	ck_assert_str_eq(got.v[BF_NAME].s, "n1");
	ck_assert_int_eq(got.v[BF_INTERVAL_TYPE].i, IT_HOUR);
	ck_assert_int_eq(got.version, 3);
	backfill_free(&x);
	backfill_free(&y);
	backfill_free(&got);
}
END_TEST

START_TEST(backfill_delete)
{
	struct backfill	 b;
	int64_t		 id;

	ck_assert_int_eq(store_pipeline_add(st, "p", NULL), ERR_OK);
	id = insert("p", "2023-07-18", NULL);
	ck_assert_int_eq(store_backfill_delete(st, id), ERR_OK);
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(store_backfill_get(st, id, &b), ERR_NOT_FOUND);
	ck_assert_int_eq(store_backfill_delete(st, id), ERR_NOT_FOUND);
	ck_assert_int_eq(store_backfill_delete(st, 12345), ERR_NOT_FOUND);
	ck_assert_int_eq(pipeline_count("p"), 0);
}
END_TEST

START_TEST(reopen_keeps_data)
{
	struct backfill	 b;
	int64_t		 id;

	ck_assert_int_eq(store_pipeline_add(st, "p", NULL), ERR_OK);
	id = insert("p", "2023-07-18", "kept");
	store_close(st);
	st = NULL;
	ck_assert_int_eq(open_db(&st, 0), ERR_OK);
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(store_backfill_get(st, id, &b), ERR_OK);
	ck_assert_str_eq(b.v[BF_NAME].s, "kept");
	backfill_free(&b);
	ck_assert_int_eq(pipeline_count("p"), 1);
}
END_TEST

START_TEST(transaction_rollback)
{
	struct backfill	 b;
	int64_t		 id, count;
	int		 next;

	ck_assert_int_eq(store_pipeline_add(st, "p", NULL), ERR_OK);
	ck_assert_int_eq(store_begin(st), ERR_OK);
	id = insert("p", "2023-07-18", NULL);
	store_rollback(st);
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(store_backfill_get(st, id, &b), ERR_NOT_FOUND);
	ck_assert_int_eq(pipeline_count("p"), 0);
	ck_assert_int_eq(store_backfill_list(st, NULL, 5, 0, &count, &next,
	    ignore_row, NULL), ERR_OK);
	ck_assert_int_eq(count, 0);

	ck_assert_int_eq(store_begin(st), ERR_OK);
	id = insert("p", "2023-07-18", NULL);
	ck_assert_int_eq(store_commit(st), ERR_OK);
	ck_assert_int_eq(store_backfill_get(st, id, &b), ERR_OK);
	backfill_free(&b);
}
END_TEST

/* ---- lists -------------------------------------------------------- */

struct ids {
	int64_t	 id[32];
	int	 n;
	int	 stop_after;	/* 0: never */
};

static int
collect_id(const struct backfill *b, void *arg)
{
	struct ids	*ids = arg;

	ck_assert_int_lt(ids->n, 32);
	ck_assert_int_eq(b->v[BF_ID].null, 0);
	ck_assert_int_eq(b->v[BF_PIPELINE_UUID].null, 0);
	ids->id[ids->n++] = b->v[BF_ID].i;
	return ids->stop_after != 0 && ids->n >= ids->stop_after;
}

static void
list(const char *pipeline, int64_t limit, int64_t offset, struct ids *ids,
    int64_t *count, int *next)
{
	memset(ids, 0, sizeof(*ids));
	*count = -1;
	*next = -1;
	ck_assert_int_eq(store_backfill_list(st, pipeline, limit, offset,
	    count, next, collect_id, ids), ERR_OK);
}

START_TEST(list_order)
{
	struct ids	 ids;
	int64_t		 a, b, c, d, e, count;
	int		 next;

	ck_assert_int_eq(store_pipeline_add(st, "p", NULL), ERR_OK);
	a = insert("p", "2023-07-02", NULL);
	b = insert("p", "2023-07-03", NULL);
	c = insert("p", "2023-07-03", NULL);	/* same time, higher id */
	d = insert("p", "2023-07-01", NULL);
	e = insert("p", "2023-07-03 00:00:00.000001", NULL);
	list(NULL, 40, 0, &ids, &count, &next);
	ck_assert_int_eq(ids.n, 5);
	ck_assert_int_eq(count, 5);
	ck_assert_int_eq(next, 0);
	ck_assert_int_eq(ids.id[0], e);
	ck_assert_int_eq(ids.id[1], c);
	ck_assert_int_eq(ids.id[2], b);
	ck_assert_int_eq(ids.id[3], a);
	ck_assert_int_eq(ids.id[4], d);
}
END_TEST

START_TEST(list_pages)
{
	struct ids	 ids;
	int64_t		 id[5], count;
	int		 next, i;
	char		 when[32];

	ck_assert_int_eq(store_pipeline_add(st, "p", NULL), ERR_OK);
	for (i = 0; i < 5; i++) {
		snprintf(when, sizeof(when), "2023-07-0%d", i + 1);
		id[i] = insert("p", when, NULL);
	}
	/* newest first: id[4], id[3], ... */
	list(NULL, 2, 0, &ids, &count, &next);
	ck_assert_int_eq(ids.n, 2);
	ck_assert_int_eq(ids.id[0], id[4]);
	ck_assert_int_eq(ids.id[1], id[3]);
	ck_assert_int_eq(count, 5);
	ck_assert_int_eq(next, 1);

	list(NULL, 2, 2, &ids, &count, &next);
	ck_assert_int_eq(ids.n, 2);
	ck_assert_int_eq(ids.id[0], id[2]);
	ck_assert_int_eq(ids.id[1], id[1]);
	ck_assert_int_eq(next, 1);

	list(NULL, 2, 4, &ids, &count, &next);
	ck_assert_int_eq(ids.n, 1);
	ck_assert_int_eq(ids.id[0], id[0]);
	ck_assert_int_eq(count, 5);
	ck_assert_int_eq(next, 0);

	list(NULL, 2, 5, &ids, &count, &next);
	ck_assert_int_eq(ids.n, 0);
	ck_assert_int_eq(count, 5);
	ck_assert_int_eq(next, 0);

	list(NULL, 5, 0, &ids, &count, &next);
	ck_assert_int_eq(ids.n, 5);
	ck_assert_int_eq(next, 0);

	list(NULL, 4, 0, &ids, &count, &next);
	ck_assert_int_eq(ids.n, 4);
	ck_assert_int_eq(next, 1);

	list(NULL, 1, 1000, &ids, &count, &next);
	ck_assert_int_eq(ids.n, 0);
	ck_assert_int_eq(count, 5);
	ck_assert_int_eq(next, 0);
}
END_TEST

START_TEST(list_pipeline_filter)
{
	struct ids	 ids;
	int64_t		 a1, a2, b1, count;
	int		 next;

	ck_assert_int_eq(store_pipeline_add(st, "a", NULL), ERR_OK);
	ck_assert_int_eq(store_pipeline_add(st, "b", NULL), ERR_OK);
	ck_assert_int_eq(store_pipeline_add(st, "empty", NULL), ERR_OK);
	a1 = insert("a", "2023-07-01", NULL);
	b1 = insert("b", "2023-07-02", NULL);
	a2 = insert("a", "2023-07-03", NULL);

	list("a", 40, 0, &ids, &count, &next);
	ck_assert_int_eq(ids.n, 2);
	ck_assert_int_eq(ids.id[0], a2);
	ck_assert_int_eq(ids.id[1], a1);
	ck_assert_int_eq(count, 2);
	ck_assert_int_eq(next, 0);

	list("a", 1, 0, &ids, &count, &next);
	ck_assert_int_eq(ids.n, 1);
	ck_assert_int_eq(ids.id[0], a2);
	ck_assert_int_eq(count, 2);
	ck_assert_int_eq(next, 1);

	list("b", 40, 0, &ids, &count, &next);
	ck_assert_int_eq(ids.n, 1);
	ck_assert_int_eq(ids.id[0], b1);
	ck_assert_int_eq(count, 1);

	list("empty", 40, 0, &ids, &count, &next);
	ck_assert_int_eq(ids.n, 0);
	ck_assert_int_eq(count, 0);
	ck_assert_int_eq(next, 0);

	/* past the end: no rows, the count all the same */
	list("a", 40, 2, &ids, &count, &next);
	ck_assert_int_eq(ids.n, 0);
	ck_assert_int_eq(count, 2);
	ck_assert_int_eq(next, 0);

	/* an unknown pipeline is told apart from an empty one */
	memset(&ids, 0, sizeof(ids));
	ck_assert_int_eq(store_backfill_list(st, "no_such", 40, 0, &count,
	    &next, collect_id, &ids), ERR_NOT_FOUND);
	ck_assert_int_eq(ids.n, 0);

	list(NULL, 40, 0, &ids, &count, &next);
	ck_assert_int_eq(ids.n, 3);
	ck_assert_int_eq(count, 3);
}
END_TEST

START_TEST(list_callback_stops)
{
	struct ids	 ids;
	int64_t		 count;
	int		 next, i;

	ck_assert_int_eq(store_pipeline_add(st, "p", NULL), ERR_OK);
	for (i = 0; i < 4; i++)
		insert("p", "2023-07-01", NULL);
	memset(&ids, 0, sizeof(ids));
	ids.stop_after = 2;
	ck_assert_int_eq(store_backfill_list(st, NULL, 40, 0, &count, &next,
	    collect_id, &ids), ERR_OK);
	ck_assert_int_eq(ids.n, 2);
	ck_assert_int_eq(count, 4);
}
END_TEST

/* ---- schema ------------------------------------------------------- */

START_TEST(fresh_db_at_current_version)
{
	int	 v = -1;

	ck_assert_int_eq(store_schema_version(st, &v), ERR_OK);
	ck_assert_int_eq(v, STORE_SCHEMA_VERSION);
	ck_assert_int_eq(store_ping(st), ERR_OK);
	/* and opening it again changes nothing */
	store_close(st);
	st = NULL;
	ck_assert_int_eq(open_db(&st, 0), ERR_OK);
	ck_assert_int_eq(store_schema_version(st, &v), ERR_OK);
	ck_assert_int_eq(v, STORE_SCHEMA_VERSION);
}
END_TEST

START_TEST(missing_file_without_create)
{
	ck_assert_int_eq(open_db(&st, 0), ERR_UNAVAILABLE);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(access(dbpath, F_OK), -1);
}
END_TEST

/* Runs sql on the raw database file. */
static void
raw_exec(const char *sql)
{
	sqlite3	*db = NULL;
	char	*msg = NULL;
	int	 rc;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	ck_assert_msg(rc == SQLITE_OK, "sqlite: %s", msg ? msg : "?");
	sqlite3_free(msg);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}

START_TEST(newer_schema_refused)
{
	struct store_opts o = { .path = dbpath, .durability_full = 1,
	    .busy_timeout = 2000 };
	char	 why[256] = "";

	raw_exec("CREATE TABLE future (x); PRAGMA user_version = 99;");
	ck_assert_int_eq(store_open(&st, &o, why, sizeof(why)),
	    ERR_PRECONDITION);
	ck_assert_ptr_null(st);
	ck_assert_int_gt(strlen(why), 0);
	ck_assert_ptr_nonnull(strstr(why, "99"));
	/* and left as it was */
	{
		sqlite3		*db;
		sqlite3_stmt	*s;

		ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
		ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version",
		    -1, &s, NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
		ck_assert_int_eq(sqlite3_column_int(s, 0), 99);
		sqlite3_finalize(s);
		sqlite3_close(db);
	}
	/* create=1 does not change that */
	o.create = 1;
	ck_assert_int_eq(store_open(&st, &o, why, sizeof(why)),
	    ERR_PRECONDITION);
	ck_assert_ptr_null(st);
}
END_TEST

/* Schema version 1 exactly as SQLite's first migration (sql.c) wrote
 * it, with data in it. */
static const char v1_schema[] =
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
	"  status TEXT, updated_at INTEGER NOT NULL, variables TEXT);"
	/* 2023-07-18 23:30:26 UTC and 2023-07-19 00:00:00 UTC */
	"INSERT INTO pipeline (uuid, variables, created_at) VALUES"
	"  ('arwen_starlight', '{\"g\":1}', 1689723026000000);"
	"INSERT INTO backfill (id, pipeline_uuid, version, created_at,"
	"  updated_at, name, interval_type, interval_units, status) VALUES"
	"  (6, 'arwen_starlight', 3, 1689723026000000, 1689723026000000,"
	"   'old one', 'day', 2, 'running');"
	"INSERT INTO backfill (id, pipeline_uuid, created_at, updated_at)"
	"  VALUES (7, 'arwen_starlight', 1689724800000000, 1689724800000000);"
	"PRAGMA user_version = 1;";

START_TEST(version_1_migrated_on_open)
{
	struct backfill	 b;
	struct ids	 ids;
	int64_t		 count, id;
	int		 next, v = -1;

	raw_exec(v1_schema);
	ck_assert_int_eq(open_db(&st, 0), ERR_OK);
	ck_assert_int_eq(store_schema_version(st, &v), ERR_OK);
	ck_assert_int_eq(v, STORE_SCHEMA_VERSION);

	/* the counts are right */
	ck_assert_int_eq(pipeline_count("arwen_starlight"), 2);
	list(NULL, 40, 0, &ids, &count, &next);
	ck_assert_int_eq(count, 2);
	ck_assert_int_eq(ids.n, 2);
	ck_assert_int_eq(ids.id[0], 7);
	ck_assert_int_eq(ids.id[1], 6);
	list("arwen_starlight", 40, 0, &ids, &count, &next);
	ck_assert_int_eq(count, 2);

	/* the data is as it was */
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(store_backfill_get(st, 6, &b), ERR_OK);
	ck_assert_int_eq(b.version, 3);
	ck_assert_str_eq(b.v[BF_NAME].s, "old one");
	ck_assert_int_eq(b.v[BF_INTERVAL_TYPE].i, IT_DAY);
	ck_assert_int_eq(b.v[BF_INTERVAL_UNITS].i, 2);
	ck_assert_int_eq(b.v[BF_STATUS].i, ST_RUNNING);
	ck_assert_int_eq(b.v[BF_CREATED_AT].i, T("2023-07-18 23:30:26"));
	backfill_free(&b);

	/* and kept from now on */
	id = insert("arwen_starlight", "2023-07-20", NULL);
	ck_assert_int_eq(id, 8);
	ck_assert_int_eq(pipeline_count("arwen_starlight"), 3);
	list(NULL, 40, 0, &ids, &count, &next);
	ck_assert_int_eq(count, 3);
	ck_assert_int_eq(store_backfill_delete(st, 6), ERR_OK);
	ck_assert_int_eq(pipeline_count("arwen_starlight"), 2);
	list(NULL, 40, 0, &ids, &count, &next);
	ck_assert_int_eq(count, 2);

	/* reopening does not migrate again */
	store_close(st);
	st = NULL;
	ck_assert_int_eq(open_db(&st, 0), ERR_OK);
	ck_assert_int_eq(pipeline_count("arwen_starlight"), 2);
}
END_TEST

/* ---- the pool's write queue, and checkpoints between requests ------ */

static enum err
open_pool_db(struct store **out, struct wlock *w, int busy_ms)
{
	struct store_opts o = { .path = dbpath, .durability_full = 1,
	    .busy_timeout = busy_ms, .create = 1, .wlock = w,
	    .idle_upkeep = 1 };
	char	 why[256];

	return store_open(out, &o, why, sizeof(why));
}

/* A fresh database with pipeline "p", opened as a pool's worker with
 * the queue w (made here) and busy_ms of patience. */
static struct wlock *
pool_setup(int busy_ms)
{
	struct wlock	*w = wlock_create();

	ck_assert_ptr_nonnull(w);
	setup_path();
	ck_assert_int_eq(open_pool_db(&st, w, busy_ms), ERR_OK);
	ck_assert_int_eq(store_pipeline_add(st, "p", NULL), ERR_OK);
	return w;
}

static void
insert_committed(int n)
{
	while (n-- > 0) {
		ck_assert_int_eq(store_begin(st), ERR_OK);
		(void)insert("p", "2023-07-18", NULL);
		ck_assert_int_eq(store_commit(st), ERR_OK);
	}
}

/* Pages in the write-ahead log as another connection finds it. */
static int
log_frames(void)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	int		 n;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
	    "PRAGMA wal_checkpoint(PASSIVE)", -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int(s, 1);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

START_TEST(checkpoint_waits_for_idle_and_restarts_the_log)
{
	char		 wal[4300];
	struct stat	 sb;

	setup_path();
	ck_assert_int_eq(open_pool_db(&st, NULL, 2000), ERR_OK);
	ck_assert_int_eq(store_pipeline_add(st, "p", NULL), ERR_OK);
	insert_committed(1100);
	/* No commit checkpointed: the log holds every one of them. */
	snprintf(wal, sizeof(wal), "%s-wal", dbpath);
	ck_assert_int_eq(stat(wal, &sb), 0);
	ck_assert_int_ge(sb.st_size, 1100 * 4096);
	/* Between requests, the checkpoint completes: the next commit
	 * starts the log over. */
	store_idle(st);
	insert_committed(1);
	ck_assert_int_lt(log_frames(), 10);
}
END_TEST

START_TEST(checkpoint_gives_way_to_a_long_reader)
{
	struct timespec	 t0, t1;
	sqlite3		*db;
	sqlite3_stmt	*s;

	setup_path();
	ck_assert_int_eq(open_pool_db(&st, NULL, 2000), ERR_OK);
	ck_assert_int_eq(store_pipeline_add(st, "p", NULL), ERR_OK);
	insert_committed(10);
	/* A reader (a long list, a backup step) on an older snapshot. */
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
	    "SELECT count(*) FROM backfill", -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	insert_committed(1100);
	/* The checkpoint waits for it a moment, not busy_timeout (2 s),
	 * and the store goes on. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	store_idle(st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000, 500);
	sqlite3_finalize(s);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	insert_committed(1);
	ck_assert_int_eq(pipeline_count("p"), 1111);
}
END_TEST

START_TEST(write_queue_held_elsewhere_answers_unavailable)
{
	struct wlock	*w = pool_setup(300);
	struct timespec	 t0, t1;
	int		 held[2], done[2], status;
	int64_t		 count;
	int		 next;
	pid_t		 pid;
	char		 c;

	ck_assert_int_eq(pipe(held), 0);
	ck_assert_int_eq(pipe(done), 0);
	if ((pid = fork()) == 0) {
		/* Another worker of the pool, mid-write. */
		if (wlock_take(w, 1000) < 0 || write(held[1], "x", 1) != 1)
			_exit(1);
		(void)read(done[0], &c, 1);
		wlock_give(w);
		_exit(0);
	}
	ck_assert_int_eq(read(held[0], &c, 1), 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(store_begin(st), ERR_UNAVAILABLE);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_ge((t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000, 290);
	ck_assert_int_eq(write(done[1], "x", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	/* Given back: the write goes through, and nothing was left half. */
	insert_committed(1);
	ck_assert_int_eq(store_backfill_list(st, NULL, 5, 0, &count, &next,
	    ignore_row, NULL), ERR_OK);
	ck_assert_int_eq(count, 1);
}
END_TEST

START_TEST(write_queue_of_a_dead_worker_is_taken_over)
{
	struct wlock	*w = pool_setup(2000);
	int		 status;
	pid_t		 pid;

	if ((pid = fork()) == 0)
		_exit(wlock_take(w, 1000) < 0);	/* dies holding it */
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	insert_committed(1);
	ck_assert_int_eq(pipeline_count("p"), 1);
}
END_TEST

START_TEST(one_checkpoint_at_a_time_covers_earlier_commits)
{
	struct wlock	*w = wlock_create();
	int64_t		 before, after;

	ck_assert_ptr_nonnull(w);
	before = wlock_now_ns();
	ck_assert_int_eq(wlock_checkpoint_begin(w, before), 1);
	/* Another worker's long log, meanwhile: not twice at once. */
	ck_assert_int_eq(wlock_checkpoint_begin(w, wlock_now_ns()), 0);
	wlock_checkpoint_done(w, 1);
	after = wlock_now_ns();
	/* A commit before the checkpoint ended was covered by it; one
	 * after it was not. */
	ck_assert_int_eq(wlock_checkpoint_begin(w, before), 0);
	ck_assert_int_eq(wlock_checkpoint_begin(w, after), 1);
	/* One that did not complete covers nothing. */
	wlock_checkpoint_done(w, 0);
	ck_assert_int_eq(wlock_checkpoint_begin(w, after), 1);
	wlock_checkpoint_done(w, 1);
}
END_TEST

START_TEST(writers_of_a_pool_lose_nothing)
{
	struct wlock	*w = pool_setup(5000);
	pid_t		 pid[3];
	int		 i, status;

	store_close(st);
	st = NULL;
	for (i = 0; i < 3; i++)
		if ((pid[i] = fork()) == 0) {
			/* A worker: its own connection, after the fork. */
			if (open_pool_db(&st, w, 5000) != ERR_OK)
				_exit(1);
			insert_committed(300);
			store_idle(st);
			store_close(st);
			_exit(0);
		}
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert_int_eq(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    1);
	}
	ck_assert_int_eq(open_pool_db(&st, w, 5000), ERR_OK);
	ck_assert_int_eq(pipeline_count("p"), 900);
}
END_TEST

Suite *
store_suite(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc;

	tc = tcase_create("pipelines");
	tcase_add_checked_fixture(tc, setup_open, teardown);
	tcase_add_test(tc, pipeline_add_get_list_remove);
	tcase_add_test(tc, pipeline_remove_with_backfills);
	tcase_add_test(tc, backfill_count_kept);
	tcase_add_test(tc, credential_add_find_revoke);
	suite_add_tcase(s, tc);

	tc = tcase_create("backfills");
	tcase_add_checked_fixture(tc, setup_open, teardown);
	tcase_add_test(tc, backfill_insert_get_every_field);
	tcase_add_test(tc, backfill_insert_needs_pipeline);
	tcase_add_test(tc, backfill_update_only_changed_columns);
	tcase_add_test(tc, backfill_updates_never_undo_each_other);
	tcase_add_test(tc, backfill_delete);
	tcase_add_test(tc, reopen_keeps_data);
	tcase_add_test(tc, transaction_rollback);
	suite_add_tcase(s, tc);

	tc = tcase_create("lists");
	tcase_add_checked_fixture(tc, setup_open, teardown);
	tcase_add_test(tc, list_order);
	tcase_add_test(tc, list_pages);
	tcase_add_test(tc, list_pipeline_filter);
	tcase_add_test(tc, list_callback_stops);
	suite_add_tcase(s, tc);

	tc = tcase_create("schema");
	tcase_add_checked_fixture(tc, setup_open, teardown);
	tcase_add_test(tc, fresh_db_at_current_version);
	suite_add_tcase(s, tc);

	if (pg_admin() != NULL)
		return s;	/* the rest is SQLite's own */

	tc = tcase_create("pool");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, checkpoint_waits_for_idle_and_restarts_the_log);
	tcase_add_test(tc, checkpoint_gives_way_to_a_long_reader);
	tcase_add_test(tc, write_queue_held_elsewhere_answers_unavailable);
	tcase_add_test(tc, write_queue_of_a_dead_worker_is_taken_over);
	tcase_add_test(tc, one_checkpoint_at_a_time_covers_earlier_commits);
	tcase_add_test(tc, writers_of_a_pool_lose_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("schema_files");
	tcase_add_checked_fixture(tc, setup_path, teardown);
	tcase_add_test(tc, missing_file_without_create);
	tcase_add_test(tc, newer_schema_refused);
	tcase_add_test(tc, version_1_migrated_on_open);
	suite_add_tcase(s, tc);
	return s;
}
