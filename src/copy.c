/*
 * copy: one database into another through store.h (see copy.h).
 *
 * What the interface allows, and how:
 * - backfills keep their ids (store_backfill_insert takes an explicit
 *   id); their versions (ETags) are restored by empty updates, each of
 *   which bumps the version by one.
 * - runs are inserted in id order (they get new ids: the interface has
 *   no insert with an id), each then given its status, timestamps,
 *   metrics and lease with store_run_update; an attempt that is no
 *   longer latest is retired (store_run_retire); the kept counts are
 *   recomputed.
 * - keys and tokens keep their hashes, names, roles, expiry, creation
 *   and revocation times (not their ids).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy.h"
#include "datetime.h"
#include "store.h"

#define PAGE	1000		/* backfills read at a time */
#define RUN_PAGE 100000		/* runs read at a time */

static int __attribute__((format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "backfillctl: copy: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static const char *
err_text(enum err e)
{
	switch (e) {
	case ERR_UNAVAILABLE:
		return "the database is locked, unreadable or read-only";
	case ERR_NOT_FOUND:
		return "a record it refers to is missing";
	case ERR_PRECONDITION:
		return "a record exists already";
	default:
		return "internal error (see the log line above)";
	}
}

/* Grows *p (of *cap elements of size sz) to hold n + 1; -1 when out of
 * memory. */
static int
grow(void *p, size_t *cap, size_t n, size_t sz)
{
	void	**pp = p, *q;
	size_t	 c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	if ((q = realloc(*pp, c * sz)) == NULL)
		return -1;
	*pp = q;
	*cap = c;
	return 0;
}

/* -- pipelines -------------------------------------------------------- */

struct pipelines {
	struct pipeline	*p;
	size_t		 n, cap;
	int		 oom;
};

static int
pipeline_keep(const struct pipeline *p, void *arg)
{
	struct pipelines *ps = arg;
	struct pipeline	*q;

	if (grow(&ps->p, &ps->cap, ps->n, sizeof(*ps->p)) < 0) {
		ps->oom = 1;
		return 1;
	}
	q = &ps->p[ps->n];
	memcpy(q->uuid, p->uuid, sizeof(q->uuid));
	q->backfill_count = p->backfill_count;
	q->variables = q->retry_config = NULL;
	if ((p->variables != NULL && (q->variables = strdup(p->variables)) ==
	    NULL) || (p->retry_config != NULL &&
	    (q->retry_config = strdup(p->retry_config)) == NULL)) {
		pipeline_free(q);
		ps->oom = 1;
		return 1;
	}
	ps->n++;
	return 0;
}

static enum err
copy_pipelines(struct store *src, struct store *dst, int64_t *n)
{
	struct pipelines ps = { NULL, 0, 0, 0 };
	enum err	 e;
	size_t		 i;

	e = store_pipeline_list(src, pipeline_keep, &ps);
	if (e == ERR_OK && ps.oom)
		e = ERR_INTERNAL;
	for (i = 0; e == ERR_OK && i < ps.n; i++)
		if ((e = store_pipeline_add(dst, ps.p[i].uuid,
		    ps.p[i].variables)) == ERR_OK && ps.p[i].retry_config)
			e = store_pipeline_set(dst, &ps.p[i]);
	for (i = 0; i < ps.n; i++)
		pipeline_free(&ps.p[i]);
	free(ps.p);
	*n = (int64_t)ps.n;
	return e;
}

/* -- runs ------------------------------------------------------------- */

struct runs {
	struct run	*r;
	size_t		 n, cap;
	int		 oom;
};

static int
run_keep(const struct run *r, void *arg)
{
	struct runs	*rs = arg;
	struct run	*q;

	if (grow(&rs->r, &rs->cap, rs->n, sizeof(*rs->r)) < 0) {
		rs->oom = 1;
		return 1;
	}
	q = &rs->r[rs->n];
	*q = *r;
	q->variables = q->metrics = q->lease_owner = NULL;
	if ((r->variables != NULL &&
	    (q->variables = strdup(r->variables)) == NULL) ||
	    (r->metrics != NULL && (q->metrics = strdup(r->metrics)) == NULL) ||
	    (r->lease_owner != NULL &&
	    (q->lease_owner = strdup(r->lease_owner)) == NULL)) {
		run_free(q);
		rs->oom = 1;
		return 1;
	}
	rs->n++;
	return 0;
}

static int
by_id(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Copies the runs of one backfill, in id order. Each attempt is
 * inserted, then given its status, timestamps, metrics and lease, and
 * one that is no longer its date's latest is retired; the kept counts
 * are recomputed at the end.
 */
static enum err
copy_runs(struct store *src, struct store *dst, int64_t bid, int64_t *total)
{
	struct runs	 rs = { NULL, 0, 0, 0 };
	struct run	 r;
	int64_t		 off = 0, count = 0;
	size_t		 i;
	int		 next = 1;
	enum err	 e = ERR_OK;

	while (e == ERR_OK && next) {
		e = store_run_list(src, bid, ST_NULL, 0, RUN_PAGE, off, &count,
		    &next, run_keep, &rs);
		off += RUN_PAGE;
		if (e == ERR_OK && rs.oom)
			e = ERR_INTERNAL;
	}
	if (e != ERR_OK || rs.n == 0)
		goto out;
	qsort(rs.r, rs.n, sizeof(*rs.r), by_id);
	for (i = 0; e == ERR_OK && i < rs.n; i++) {
		r = rs.r[i];
		if ((e = store_run_insert(dst, &r)) != ERR_OK)
			break;
		/* the insert wrote it initial, latest, updated = created */
		r.latest = 0;	/* the counts are recomputed below */
		if (r.status != ST_INITIAL || r.started_at != 0 ||
		    r.completed_at != 0 || r.updated_at != r.created_at ||
		    r.metrics != NULL || r.lease_id[0] != '\0')
			e = store_run_update(dst, &r, ST_INITIAL);
		if (e == ERR_OK && !rs.r[i].latest)
			e = store_run_retire(dst, r.id);
	}
	if (e == ERR_OK)
		e = store_runs_recount(dst, bid);
out:
	*total += (int64_t)rs.n;
	for (i = 0; i < rs.n; i++)
		run_free(&rs.r[i]);
	free(rs.r);
	return e;
}

/* -- backfills -------------------------------------------------------- */

struct page {
	struct backfill	 b[PAGE];
	size_t		 n;
	int		 oom;
};

/* Keeps a deep copy of a listed backfill (its strings are the list's). */
static int
backfill_keep(const struct backfill *b, void *arg)
{
	struct page	*pg = arg;
	struct backfill	*c = &pg->b[pg->n];
	int		 f;

	memset(c, 0, sizeof(*c));
	backfill_clear(c);
	c->version = b->version;
	for (f = 0; f < BF__MAX; f++) {
		if (b->v[f].null)
			continue;
		if (b->v[f].s != NULL) {
			if (bval_set_str(&c->v[f], b->v[f].s, b->v[f].len) <
			    0) {
				pg->oom = 1;
				return 1;
			}
		} else
			c->v[f] = (struct bval){ .i = b->v[f].i };
	}
	pg->n++;
	return 0;
}

static enum err
copy_backfill(struct store *src, struct store *dst, struct backfill *b,
    int64_t *runs)
{
	int64_t		 version = b->version, v;
	enum err	 e;

	if ((e = store_backfill_insert(dst, b)) != ERR_OK)
		return e;
	/* each empty update bumps the version by one (store.h) */
	for (v = 1; v < version && e == ERR_OK; v++)
		e = store_backfill_update(dst, b, 0);
	if (e == ERR_OK && b->version != version)
		e = ERR_INTERNAL;
	if (e == ERR_OK)
		e = copy_runs(src, dst, b->v[BF_ID].i, runs);
	return e;
}

static enum err
copy_backfills(struct store *src, struct store *dst, int64_t *n,
    int64_t *runs)
{
	struct page	*pg;
	int64_t		 off = 0, count;
	size_t		 i;
	int		 next = 1;
	enum err	 e = ERR_OK;

	if ((pg = calloc(1, sizeof(*pg))) == NULL)
		return ERR_INTERNAL;
	while (e == ERR_OK && next) {
		pg->n = 0;
		e = store_backfill_list(src, NULL, PAGE, off, &count, &next,
		    backfill_keep, pg);
		if (e == ERR_OK && pg->oom)
			e = ERR_INTERNAL;
		for (i = 0; e == ERR_OK && i < pg->n; i++)
			e = copy_backfill(src, dst, &pg->b[i], runs);
		for (i = 0; i < pg->n; i++)
			backfill_free(&pg->b[i]);
		*n += (int64_t)pg->n;
		off += PAGE;
	}
	free(pg);
	return e;
}

/* -- credentials ------------------------------------------------------ */

struct creds {
	struct credential *c;
	size_t		 n, cap;
	int		 oom;
};

static int
cred_keep(const struct credential *c, void *arg)
{
	struct creds	*cs = arg;

	if (grow(&cs->c, &cs->cap, cs->n, sizeof(*cs->c)) < 0) {
		cs->oom = 1;
		return 1;
	}
	cs->c[cs->n++] = *c;
	return 0;
}

static enum err
copy_creds(struct store *src, struct store *dst, enum cred_kind k,
    int64_t *n)
{
	struct creds	 cs = { NULL, 0, 0, 0 };
	struct credential c;
	enum err	 e;
	size_t		 i;

	e = store_cred_list(src, k, cred_keep, &cs);
	if (e == ERR_OK && cs.oom)
		e = ERR_INTERNAL;
	for (i = 0; e == ERR_OK && i < cs.n; i++) {
		c = cs.c[i];
		if ((e = store_cred_add(dst, k, &c)) == ERR_OK &&
		    cs.c[i].revoked_at != 0)
			e = store_cred_revoke(dst, k, c.id, cs.c[i].revoked_at);
	}
	*n = (int64_t)cs.n;
	free(cs.c);
	return e;
}

/* -- counts ----------------------------------------------------------- */

struct counts {
	struct store_stats s;
	int64_t		 runs;		/* every attempt */
	int64_t		 keys, tokens;
};

static int
count_one(const struct credential *c, void *arg)
{
	(void)c;
	(*(int64_t *)arg)++;
	return 0;
}

static int
no_run(const struct run *r, void *arg)
{
	(void)r;
	(void)arg;
	return 1;
}

static enum err
counts(struct store *st, struct counts *c)
{
	enum err	 e;
	int		 next;

	memset(c, 0, sizeof(*c));
	if ((e = store_stats(st, &c->s)) != ERR_OK ||
	    (e = store_run_list(st, 0, ST_NULL, 0, 1, 0, &c->runs, &next,
	    no_run, NULL)) != ERR_OK ||
	    (e = store_cred_list(st, CRED_KEY, count_one, &c->keys)) !=
	    ERR_OK)
		return e;
	return store_cred_list(st, CRED_TOKEN, count_one, &c->tokens);
}

static int64_t
backfills_total(const struct counts *c)
{
	int64_t	 n = 0;
	int	 i;

	for (i = 0; i < ST__MAX; i++)
		n += c->s.backfills[i];
	return n;
}

/* Describes the first difference into msg; 0 when there is none. */
static int
compare(const struct counts *a, const struct counts *b, char *msg,
    size_t len)
{
	int	 i;

	if (a->s.pipelines != b->s.pipelines)
		return snprintf(msg, len, "pipelines: %lld, copied %lld",
		    (long long)a->s.pipelines, (long long)b->s.pipelines), 1;
	for (i = 0; i < ST__MAX; i++)
		if (a->s.backfills[i] != b->s.backfills[i])
			return snprintf(msg, len, "backfills %s: %lld, copied "
			    "%lld", i == ST_NULL ? "new" :
			    bf_status_name((enum bf_status)i),
			    (long long)a->s.backfills[i],
			    (long long)b->s.backfills[i]), 1;
	for (i = ST_INITIAL; i < ST__MAX; i++)
		if (a->s.runs[i] != b->s.runs[i])
			return snprintf(msg, len, "latest runs %s: %lld, "
			    "copied %lld", bf_status_name((enum bf_status)i),
			    (long long)a->s.runs[i], (long long)b->s.runs[i]),
			    1;
	if (a->runs != b->runs)
		return snprintf(msg, len, "runs: %lld, copied %lld",
		    (long long)a->runs, (long long)b->runs), 1;
	if (a->keys != b->keys || a->tokens != b->tokens)
		return snprintf(msg, len, "keys/tokens: %lld/%lld, copied "
		    "%lld/%lld", (long long)a->keys, (long long)a->tokens,
		    (long long)b->keys, (long long)b->tokens), 1;
	return 0;
}

/* The copy itself; verb says what was done in the summary line. */
static int
copy_db(const char *from, const char *to, const char *verb)
{
	struct store_opts o;
	struct store	*src = NULL, *dst = NULL;
	struct counts	 before, after, empty;
	char		 why[512];
	int64_t		 np = 0, nb = 0, nr = 0, nk = 0, nt = 0;
	int		 rc = 1;
	enum err	 e;

	if (strcmp(from, to) == 0)
		return fail("--from and --to name the same database");
	memset(&o, 0, sizeof(o));
	o.durability_full = 1;
	o.busy_timeout = 5000;
	/* The source must exist: a mistyped path is not an empty database. */
	o.path = from;
	o.create = 0;
	if ((e = store_open(&src, &o, why, sizeof(why))) != ERR_OK)
		return fail("%s: %s", from, why);
	o.path = to;
	o.create = 1;
	if ((e = store_open(&dst, &o, why, sizeof(why))) != ERR_OK) {
		store_close(src);
		return fail("%s: %s", to, why);
	}
	if ((e = store_begin_snapshot(src)) != ERR_OK) {
		fail("%s: %s", from, err_text(e));
		goto out;
	}
	if ((e = store_begin(dst)) != ERR_OK) {
		fail("%s: %s", to, err_text(e));
		goto out;
	}
	if ((e = counts(dst, &empty)) != ERR_OK) {
		fail("%s: %s", to, err_text(e));
		goto out;
	}
	if (empty.s.pipelines != 0 || backfills_total(&empty) != 0 ||
	    empty.runs != 0 || empty.keys != 0 || empty.tokens != 0) {
		fail("%s is not empty (%lld pipelines, %lld backfills, %lld "
		    "keys, %lld tokens): copy only into a new database", to,
		    (long long)empty.s.pipelines,
		    (long long)backfills_total(&empty), (long long)empty.keys,
		    (long long)empty.tokens);
		goto out;
	}
	if ((e = counts(src, &before)) != ERR_OK) {
		fail("%s: %s", from, err_text(e));
		goto out;
	}
	if ((e = copy_pipelines(src, dst, &np)) != ERR_OK ||
	    (e = copy_backfills(src, dst, &nb, &nr)) != ERR_OK ||
	    (e = copy_creds(src, dst, CRED_KEY, &nk)) != ERR_OK ||
	    (e = copy_creds(src, dst, CRED_TOKEN, &nt)) != ERR_OK) {
		fail("copying into %s: %s; nothing was copied", to,
		    err_text(e));
		goto out;
	}
	if ((e = counts(dst, &after)) != ERR_OK) {
		fail("%s: %s", to, err_text(e));
		goto out;
	}
	if (compare(&before, &after, why, sizeof(why))) {
		fail("the counts differ after copying (%s); nothing was "
		    "copied", why);
		goto out;
	}
	if ((e = store_commit(dst)) != ERR_OK) {
		fail("%s: commit: %s", to, err_text(e));
		goto out;
	}
	printf("%s %s to %s: %lld pipelines, %lld backfills, %lld runs, "
	    "%lld keys, %lld tokens; counts verified\n", verb, from, to,
	    (long long)np, (long long)nb, (long long)nr, (long long)nk,
	    (long long)nt);
	rc = 0;
out:
	store_rollback(dst);
	store_rollback(src);
	store_close(dst);
	store_close(src);
	return rc;
}

int
ctl_copy(const char *from, const char *to)
{
	return copy_db(from, to, "copied");
}

int
ctl_backup(const char *from, const char *path)
{
	struct stat	 sb;

	if (stat(path, &sb) == 0 || errno != ENOENT) {
		fprintf(stderr, "backfillctl: %s exists already: not "
		    "overwritten\n", path);
		return 1;
	}
	return copy_db(from, path, "backed up");
}
