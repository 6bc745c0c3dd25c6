#define _GNU_SOURCE	/* memmem */
/*
 * fuzz_request: the whole request handler, service_handle(), against a
 * temporary SQLite database, as the FastCGI adapter would drive it.
 *
 * Input format (text, so seeds and the dictionary stay readable):
 *
 *   One to MAX_REQ requests separated by the byte 0x1E (ASCII RS). The
 *   database is restored to the same snapshot before each input, so an
 *   input is a reproducible sequence (create, then start, then report).
 *   Each request is
 *
 *     METHOD SP TARGET LF          TARGET = PATH_INFO [ "?" QUERY_STRING ]
 *     Name: value LF               zero or more header lines
 *     LF                           optional: an empty line, then
 *     BODY                         the body: every byte up to the next RS
 *
 *   A CR before an LF is dropped. Recognised header names (any case):
 *   If-Match, If-None-Match, X-API-KEY, Authorization, OAUTH-TOKEN,
 *   Cookie, Origin;
 *   Content-Length, whose value is checked as the adapter does (not a
 *   number: BODY_BAD_LENGTH; over max_body: BODY_TOO_LARGE) while the
 *   body is always the bytes given; and the pseudo-header
 *   "X-Fuzz-Auth: off", which answers with a second context whose
 *   require_authentication is off (and whose cors_origin is a named
 *   origin rather than "*"). Other headers are ignored. With no empty
 *   line the request has no body (BODY_NONE, no Content-Length); with
 *   one it is BODY_OK, a NUL-terminated copy (it may hold NULs itself);
 *   a body over max_body is BODY_TOO_LARGE, as the adapter would say.
 *   An unknown METHOD is M_OTHER; PATH_INFO and header values are C
 *   strings (an embedded NUL cuts them, as in CGI variables).
 *
 * The database (made once in LLVMFuzzerInitialize): pipelines
 * arwen_starlight and other_pipeline; backfill 6 of the founding
 * example; backfill 7 fully set (daily, 2023-07-01 to 2023-07-05, not
 * started); backfill 8 started (runs planned), with its first runs
 * reported running, completed and failed; backfill 9 cancelled. The demo
 * API key and owner token (README), a viewer and an editor token, an
 * expired token, and a revoked key and token; jwt_secret "materia".
 *
 * Invariants checked on every response (abort() on a breach):
 *   - the status is one docs/API.md lists, and never 500;
 *   - header lines are "Name: value\r\n" with no other CR, LF or NUL;
 *   - a non-2xx body is {"error": {"code": <status>, "message": "...",
 *     "type": "..."}}; a 200/201 body is one JSON object; 204 and 304
 *     (the description's revalidation) have none;
 *     201 carries Location, 405 Allow, 503 Retry-After;
 *   - a read (GET, HEAD, OPTIONS) or a refused request (not 2xx) leaves
 *     the database unchanged (PRAGMA data_version of a third connection);
 *   - with authentication on, a request carrying no API key or no token
 *     anywhere is never answered 2xx (but OPTIONS and the public routes:
 *     /api/status, /api/statuses, /api/metrics, /api/openapi.json);
 *   - no request leaves a transaction open (the next restore would be
 *     refused as busy);
 *   - a write answered 2xx with one backfill or run is what a GET of it
 *     then reads, body and ETag alike; a deleted backfill reads 404;
 *   - a presented backfill has the documented fields in the documented
 *     order, response datetimes, and ETag "<id>-<version>".
 *
 * FUZZ_VERBOSE=1 build-fuzz/fuzz_request FILE prints every answer.
 */
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "backfill.h"
#include "conf.h"
#include "datetime.h"
#include "http.h"
#include "log.h"
#include "router.h"
#include "service.h"
#include "store.h"

#define MAX_REQ		4
#define SEP		0x1e

#define DEMO_KEY	"zkWlN0PkIKSN0C11CfUHUj84OT5XOJ6tDZ6bDRO2"
#define DEMO_TOKEN	"bxyPj9Upq97jaL-gLkNA5g3gkifpF2pHFYfCs-2v6jg"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char		 dir[4096];
static char		 dbpath[4200];
static struct ctx	 ctx_auth, ctx_open;
static struct response	 resp;
static sqlite3		*admin;		/* restores the snapshot, watches */
static sqlite3		*snap;		/* the pristine database, in memory */
static int		 verbose;	/* $FUZZ_VERBOSE: print each answer */

static void	rmdb(void);

#define FAIL(...)	do {						\
	fprintf(stderr, "fuzz_request: " __VA_ARGS__);			\
	fputc('\n', stderr);						\
	rmdb();								\
	abort();							\
} while (0)

/* Removes the temporary database (at exit, and before a FAIL). */
static void
rmdb(void)
{
	char	 p[4300];

	if (dbpath[0] == '\0')
		return;
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	unlink(dbpath);
	rmdir(dir);
}

static int64_t
T(const char *s)
{
	int64_t	 us;

	if (dt_parse(s, strlen(s), &us) < 0)
		FAIL("bad setup date %s", s);
	return us;
}

static void
add_cred(struct store *st, enum cred_kind k, const char *secret,
    const char *role, int64_t expires, int revoke)
{
	struct credential c;

	memset(&c, 0, sizeof(c));
	auth_hash(secret, strlen(secret), c.hash);
	snprintf(c.name, sizeof(c.name), "fuzz");
	snprintf(c.role, sizeof(c.role), "%s", role ? role : "");
	c.expires_at = expires;
	c.created_at = dt_now();
	if (store_cred_add(st, k, &c) != ERR_OK)
		FAIL("store_cred_add %s", secret);
	if (revoke && store_cred_revoke(st, k, c.id, dt_now()) != ERR_OK)
		FAIL("store_cred_revoke %s", secret);
}

static void
add_backfill(struct store *st, int64_t id, const char *pipeline,
    const char *name, const char *start, const char *end, int itype,
    int64_t units, const char *variables)
{
	struct backfill	 b;

	memset(&b, 0, sizeof(b));
	backfill_clear(&b);
	b.v[BF_ID] = (struct bval){ .i = id };
	b.v[BF_CREATED_AT] = (struct bval){ .i = T("2023-07-18 23:30:26") +
	    (id - 6) * 1000000 };
	b.v[BF_UPDATED_AT] = b.v[BF_CREATED_AT];
	if (bval_set_str(&b.v[BF_PIPELINE_UUID], pipeline,
	    strlen(pipeline)) < 0 ||
	    (name && bval_set_str(&b.v[BF_NAME], name, strlen(name)) < 0) ||
	    (variables && bval_set_str(&b.v[BF_VARIABLES], variables,
	    strlen(variables)) < 0))
		FAIL("out of memory");
	if (start)
		b.v[BF_START_DATETIME] = (struct bval){ .i = T(start) };
	if (end)
		b.v[BF_END_DATETIME] = (struct bval){ .i = T(end) };
	if (itype)
		b.v[BF_INTERVAL_TYPE] = (struct bval){ .i = itype };
	if (units)
		b.v[BF_INTERVAL_UNITS] = (struct bval){ .i = units };
	if (store_backfill_insert(st, &b) != ERR_OK || b.v[BF_ID].i != id)
		FAIL("store_backfill_insert %lld", (long long)id);
	backfill_free(&b);
}

/* One setup request through the service, auth off; must answer want. */
static void
setup_call(enum method m, const char *path, const char *body, int want)
{
	struct request	 req;

	memset(&req, 0, sizeof(req));
	req.method = m;
	req.path = path;
	req.query = "";
	if (body != NULL) {
		req.body_state = BODY_OK;
		req.body = body;
		req.body_len = strlen(body);
	}
	service_handle(&ctx_open, &req, &resp);
	if (resp.status != want)
		FAIL("setup %s %s: %d, wanted %d: %s", http_method_name(m),
		    path, resp.status, want,
		    resp.body.data ? resp.body.data : "");
}

static void
check_sqlite(int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE)
		FAIL("%s: %s", what, sqlite3_errstr(rc));
}

/* Copies from into to's main database with the online-backup API. */
static int
copy_db(sqlite3 *to, sqlite3 *from)
{
	sqlite3_backup	*bk;
	int		 rc;

	if ((bk = sqlite3_backup_init(to, "main", from, "main")) == NULL)
		return sqlite3_errcode(to);
	rc = sqlite3_backup_step(bk, -1);
	sqlite3_backup_finish(bk);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int64_t
data_version(void)
{
	sqlite3_stmt	*s;
	int64_t		 v = -1;

	if (sqlite3_prepare_v2(admin, "PRAGMA data_version", -1, &s, NULL)
	    != SQLITE_OK)
		FAIL("data_version: %s", sqlite3_errmsg(admin));
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct store_opts o;
	struct store	*st = NULL;
	struct conf	 conf;
	const char	*tmp = getenv("TMPDIR");
	char		 why[256] = "";
	int64_t		 far;

	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (access("/dev/shm", W_OK) == 0)
		tmp = "/dev/shm";
	else if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/fuzz_request.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		FAIL("mkdtemp %s", dir);
	snprintf(dbpath, sizeof(dbpath), "%s/backfills.db", dir);
	atexit(rmdb);

	memset(&o, 0, sizeof(o));
	o.path = dbpath;
	o.durability_full = 0;
	o.busy_timeout = 50;
	o.create = 1;
	if (store_open(&st, &o, why, sizeof(why)) != ERR_OK)
		FAIL("store_open: %s", why);
	if (store_begin(st) != ERR_OK)
		FAIL("store_begin");
	if (store_pipeline_add(st, "arwen_starlight",
	    "{\"env\": \"prod\", \"region\": \"eu\"}") != ERR_OK ||
	    store_pipeline_add(st, "other_pipeline", NULL) != ERR_OK)
		FAIL("store_pipeline_add");
	/* the founding backfill, then three with every field set. */
	add_backfill(st, 6, "arwen_starlight", NULL, NULL, NULL, 0, 0, NULL);
	add_backfill(st, 7, "arwen_starlight", "july", "2023-07-01",
	    "2023-07-05", IT_DAY, 1, "{\"env\": \"staging\"}");
	add_backfill(st, 8, "arwen_starlight", "hourly", "2023-07-01 00:00:00",
	    "2023-07-01 05:00:00", IT_HOUR, 1, NULL);
	add_backfill(st, 9, "other_pipeline", "monthly", "2023-01-31",
	    "2023-06-30", IT_MONTH, 1, NULL);
	far = T("9999-12-31 23:59:59");
	add_cred(st, CRED_KEY, DEMO_KEY, NULL, 0, 0);
	add_cred(st, CRED_KEY, "revoked-key", NULL, 0, 1);
	add_cred(st, CRED_TOKEN, DEMO_TOKEN, "owner", far, 0);
	add_cred(st, CRED_TOKEN, "editor-token", "editor", far, 0);
	add_cred(st, CRED_TOKEN, "viewer-token", "viewer", far, 0);
	add_cred(st, CRED_TOKEN, "expired-token", "owner", T("2023-01-01"), 0);
	add_cred(st, CRED_TOKEN, "revoked-token", "owner", far, 1);
	if (store_commit(st) != ERR_OK)
		FAIL("store_commit");
	store_close(st);

	conf_defaults(&conf);
	snprintf(conf.database, sizeof(conf.database), "%s", dbpath);
	conf.durability_full = 0;
	conf.busy_timeout = 50;
	conf.max_runs = 500;		/* keeps plans small and quick */
	conf.sandbox = 0;
	conf.log_level = LOG_ERROR;
	conf.require_auth = 1;
	snprintf(conf.jwt_secret, sizeof(conf.jwt_secret), "materia");
	service_init(&ctx_auth, &conf);
	conf.require_auth = 0;
	snprintf(conf.cors_origin, sizeof(conf.cors_origin),
	    "https://mage.example");
	service_init(&ctx_open, &conf);

	/* Runs, through the service: 8 started and reported on, 9
	 * started and cancelled. */
	setup_call(M_PUT, "/api/backfills/8",
	    "{\"backfill\": {\"status\": \"initial\"}}", 200);
	setup_call(M_PUT, "/api/pipeline_runs/1",
	    "{\"pipeline_run\": {\"status\": \"running\"}}", 200);
	setup_call(M_PUT, "/api/pipeline_runs/1",
	    "{\"pipeline_run\": {\"status\": \"completed\"}}", 200);
	setup_call(M_PUT, "/api/pipeline_runs/2",
	    "{\"pipeline_run\": {\"status\": \"running\"}}", 200);
	setup_call(M_PUT, "/api/pipeline_runs/3",
	    "{\"pipeline_run\": {\"status\": \"running\"}}", 200);
	setup_call(M_PUT, "/api/pipeline_runs/3",
	    "{\"pipeline_run\": {\"status\": \"failed\"}}", 200);
	setup_call(M_PUT, "/api/backfills/9",
	    "{\"backfill\": {\"status\": \"initial\"}}", 200);
	setup_call(M_PUT, "/api/backfills/9",
	    "{\"backfill\": {\"status\": \"cancelled\"}}", 200);
	/* The same through the authenticated context. */
	{
		struct request	 req;

		memset(&req, 0, sizeof(req));
		req.method = M_GET;
		req.path = "/api/backfills/6";
		req.query = "";
		req.api_key = DEMO_KEY;
		req.cookie = "oauth_token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
		    "eyJleHBpcmVzIjoxNjkyMzE0ODM3LjE1MTkzOSwidG9rZW4iOiJieHlQ"
		    "ajlVcHE5N2phTC1nTGtOQTVnM2draWZwRjJwSEZZZkNzLTJ2NmpnIn0."
		    "bWqUP7Xg9PmHBW703AGPOE270Cc73F4kb0IKHLppGbM";
		service_handle(&ctx_auth, &req, &resp);
		if (resp.status != 200)
			FAIL("setup: authenticated GET: %d", resp.status);
	}

	check_sqlite(sqlite3_open_v2(dbpath, &admin, SQLITE_OPEN_READWRITE,
	    NULL), "open admin");
	sqlite3_busy_timeout(admin, 50);
	check_sqlite(sqlite3_exec(admin, "PRAGMA synchronous = OFF", NULL,
	    NULL, NULL), "synchronous");
	check_sqlite(sqlite3_open(":memory:", &snap), "open snapshot");
	check_sqlite(copy_db(snap, admin), "snapshot");
	return 0;
}

struct parsed {
	struct request	 req;
	int		 open;		/* X-Fuzz-Auth: off */
	int		 has_len;	/* a Content-Length header */
	char		*cl;
	char		*line[16];	/* allocations to free */
	size_t		 nline;
	char		*target;
	char		*body;
};

/* A NUL-terminated copy of s[0..n), kept in p to be freed. */
static char *
keep(struct parsed *p, const char *s, size_t n)
{
	char	*c;

	if ((c = malloc(n + 1)) == NULL)
		FAIL("out of memory");
	memcpy(c, s, n);
	c[n] = '\0';
	if (p->nline < sizeof(p->line) / sizeof(p->line[0]))
		p->line[p->nline++] = c;
	else {
		free(c);
		return NULL;
	}
	return c;
}

/* Decodes one request of the format above from s[0..n). */
static void
parse_request(struct parsed *p, const char *s, size_t n,
    size_t max_body)
{
	const char	*end = s + n, *nl, *colon, *v;
	size_t		 ll;
	int		 first = 1, blank = 0;
	char		*line, *sp, *q;

	memset(p, 0, sizeof(*p));
	p->req.method = M_OTHER;
	p->req.path = "";
	p->req.query = "";
	p->req.body_state = BODY_NONE;
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		ll = (size_t)((nl ? nl : end) - s);
		if (ll > 0 && s[ll - 1] == '\r')
			ll--;
		if (!first && ll == 0) {
			s = nl ? nl + 1 : end;
			blank = 1;
			break;
		}
		if (first) {
			if ((line = keep(p, s, ll)) == NULL)
				break;
			if ((sp = strchr(line, ' ')) != NULL) {
				*sp++ = '\0';
				p->target = sp;
				if ((q = strchr(sp, '?')) != NULL) {
					*q++ = '\0';
					p->req.query = q;
				}
				p->req.path = sp;
			}
			p->req.method = http_method(line);
			first = 0;
		} else if ((colon = memchr(s, ':', ll)) != NULL) {
			size_t	 nlen = (size_t)(colon - s);

			for (v = colon + 1; v < s + ll && (*v == ' ' ||
			    *v == '\t'); v++)
				;
#define IS(name)	(nlen == sizeof(name) - 1 && \
			 strncasecmp(s, name, nlen) == 0)
			if (IS("If-Match"))
				p->req.if_match = keep(p, v,
				    (size_t)(s + ll - v));
			else if (IS("If-None-Match"))
				p->req.if_none_match = keep(p, v,
				    (size_t)(s + ll - v));
			else if (IS("X-API-KEY"))
				p->req.api_key = keep(p, v,
				    (size_t)(s + ll - v));
			else if (IS("Authorization"))
				p->req.authorization = keep(p, v,
				    (size_t)(s + ll - v));
			else if (IS("OAUTH-TOKEN"))
				p->req.oauth_token = keep(p, v,
				    (size_t)(s + ll - v));
			else if (IS("Cookie"))
				p->req.cookie = keep(p, v,
				    (size_t)(s + ll - v));
			else if (IS("Origin"))
				p->req.origin = keep(p, v,
				    (size_t)(s + ll - v));
			else if (IS("Content-Length")) {
				p->has_len = 1;
				p->cl = keep(p, v, (size_t)(s + ll - v));
			} else if (IS("X-Fuzz-Auth"))
				p->open = (size_t)(s + ll - v) >= 3 &&
				    strncasecmp(v, "off", 3) == 0;
#undef IS
		}
		s = nl ? nl + 1 : end;
	}
	if (!blank)
		return;
	if ((p->body = malloc((size_t)(end - s) + 1)) == NULL)
		FAIL("out of memory");
	memcpy(p->body, s, (size_t)(end - s));
	p->body[end - s] = '\0';
	p->req.body = p->body;
	p->req.body_len = (size_t)(end - s);
	p->req.body_state = BODY_OK;
	if (p->has_len && p->cl != NULL) {
		/* As the adapter reads CONTENT_LENGTH (RFC 3875 4.1.2). */
		const char	*c = p->cl;
		unsigned long long n = 0;

		if (*c == '\0')
			p->req.body_state = BODY_BAD_LENGTH;
		for (; *c != '\0'; c++) {
			if (*c < '0' || *c > '9' || n > (1ULL << 40)) {
				p->req.body_state = BODY_BAD_LENGTH;
				break;
			}
			n = n * 10 + (unsigned)(*c - '0');
		}
		if (p->req.body_state == BODY_OK && n > max_body)
			p->req.body_state = BODY_TOO_LARGE;
	}
	if (p->req.body_state == BODY_OK && p->req.body_len > max_body)
		p->req.body_state = BODY_TOO_LARGE;
	if (p->req.body_state != BODY_OK) {
		p->req.body = NULL;
		p->req.body_len = 0;
	}
}

static void
parsed_free(struct parsed *p)
{
	size_t	 i;

	for (i = 0; i < p->nline; i++)
		free(p->line[i]);
	free(p->body);
}

/* Parses s[0..n) strictly as one JSON value; NULL if it is not. */
static struct json_object *
parse_json(const char *s, size_t n)
{
	struct json_tokener	*tok;
	struct json_object	*o;

	if ((tok = json_tokener_new_ex(64)) == NULL)
		FAIL("out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, s, (int)n);
	if (o == NULL && json_tokener_get_error(tok) ==
	    json_tokener_continue)	/* a bare number needs its end */
		o = json_tokener_parse_ex(tok, "", 1);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success
	    || json_tokener_get_parse_end(tok) < n)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static int
has_header(const struct response *r, const char *name)
{
	size_t		 n = strlen(name);
	const char	*p = r->headers.data;

	if (r->headers.len == 0)
		return 0;
	for (; p != NULL && *p != '\0'; p = strstr(p, "\r\n"), p = p ?
	    p + 2 : NULL)
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			return 1;
	return 0;
}

static void
check_headers(const struct response *r, const char *what)
{
	const char	*p = r->headers.data, *end;
	size_t		 i, n = r->headers.len;

	if (n == 0)
		return;
	if (strlen(p) != n)
		FAIL("%s: a NUL inside the headers", what);
	while (*p != '\0') {
		if ((end = strstr(p, "\r\n")) == NULL)
			FAIL("%s: a header line without CRLF: %s", what, p);
		for (i = 0; p + i < end; i++)
			if (p[i] == '\r' || p[i] == '\n')
				FAIL("%s: CR or LF inside a header: %.*s",
				    what, (int)(end - p), p);
		if (memchr(p, ':', (size_t)(end - p)) == NULL || p[0] == ' ')
			FAIL("%s: a malformed header line: %.*s", what,
			    (int)(end - p), p);
		p = end + 2;
	}
}

static const char *const bf_names[BF__MAX] = {
	"id", "block_uuid", "completed_at", "created_at", "end_datetime",
	"failed_at", "interval_type", "interval_units", "metrics", "name",
	"pipeline_schedule_id", "pipeline_uuid", "settings", "start_datetime",
	"started_at", "status", "updated_at", "variables",
};

/* A presented backfill: the documented fields first, in order, datetimes in the
 * response format (what may follow, the run counts, is not checked). */
static void
check_backfill(struct json_object *b, const char *what, const char *body)
{
	char		 back[DT_FMT_MAX];
	const char	*s;
	size_t		 n;
	int64_t		 us;
	int		 f = 0;

	if (!json_object_is_type(b, json_type_object))
		FAIL("%s: a backfill that is no object: %s", what, body);
	json_object_object_foreach(b, key, val) {
		if (f == BF__MAX)
			break;
		if (strcmp(key, bf_names[f]) != 0)
			FAIL("%s: field %d is %s, not %s: %s", what, f, key,
			    bf_names[f], body);
		if (val != NULL && (f == BF_COMPLETED_AT ||
		    f == BF_CREATED_AT || f == BF_END_DATETIME ||
		    f == BF_FAILED_AT || f == BF_START_DATETIME ||
		    f == BF_STARTED_AT || f == BF_UPDATED_AT)) {
			s = json_object_get_string(val);
			n = (size_t)json_object_get_string_len(val);
			if (!json_object_is_type(val, json_type_string) ||
			    (n != 19 && n != 26) || s[10] != ' ' ||
			    dt_parse(s, n, &us) < 0 ||
			    dt_format(us, ' ', back) != n ||
			    memcmp(back, s, n) != 0)
				FAIL("%s: %s is no response datetime: %s",
				    what, key, body);
		}
		f++;
	}
	if (f != BF__MAX)
		FAIL("%s: a backfill with %d fields: %s", what, f, body);
}

/* The ETag header's value, or NULL. */
static const char *
etag(const struct response *r, char *out, size_t outlen)
{
	const char	*p, *e;

	if (r->headers.len == 0 ||
	    (p = strstr(r->headers.data, "ETag: ")) == NULL ||
	    (e = strstr(p, "\r\n")) == NULL)
		return NULL;
	p += 6;
	snprintf(out, outlen, "%.*s", (int)(e - p), p);
	return out;
}

static void
check_response(const struct parsed *pr, const char *what)
{
	const struct response	*r = &resp;
	struct json_object	*o, *e, *v;
	struct route_match	 m;
	int			 st = r->status;

	switch (st) {
	case 200: case 201: case 204: case 304: case 400: case 401:
	case 403: case 404: case 405: case 409: case 411: case 412:
	case 413: case 503:
		break;
	case 500:
		FAIL("%s: 500: %s", what, r->body.len ? r->body.data : "");
	default:
		FAIL("%s: status %d is none docs/API.md lists", what, st);
	}
	check_headers(r, what);
	if (r->body.len > 0 && strlen(r->body.data) != r->body.len)
		FAIL("%s: a NUL inside the body", what);
	if (st == 304 && route_match(pr->req.path, &m) != ROUTE_OPENAPI)
		FAIL("%s: 304 from a route that has no If-None-Match", what);
	if (st == 204 || st == 304) {
		if (r->body.len != 0)
			FAIL("%s: %d with a body", what, st);
		return;
	}
	if (st == 201 && !has_header(r, "Location"))
		FAIL("%s: 201 without Location", what);
	if (st == 405 && !has_header(r, "Allow"))
		FAIL("%s: 405 without Allow", what);
	if (st == 503 && !has_header(r, "Retry-After"))
		FAIL("%s: 503 without Retry-After", what);
	if (r->body.len == 0) {
		if (pr->req.method == M_HEAD)
			return;
		FAIL("%s: %d with an empty body", what, st);
	}
	if ((o = parse_json(r->body.data, r->body.len)) == NULL)
		FAIL("%s: %d body is not JSON: %s", what, st, r->body.data);
	if (!json_object_is_type(o, json_type_object))
		FAIL("%s: %d body is not an object: %s", what, st,
		    r->body.data);
	if (st < 300 && json_object_object_get_ex(o, "backfill", &e)) {
		char		 tag[64], want[64];
		struct json_object *id;

		check_backfill(e, what, r->body.data);
		/* docs/API.md "Backfills": ETag: "<id>-<version>". */
		if (!json_object_object_get_ex(e, "id", &id) ||
		    etag(r, tag, sizeof(tag)) == NULL)
			FAIL("%s: a backfill without ETag", what);
		snprintf(want, sizeof(want), "\"%lld-",
		    (long long)json_object_get_int64(id));
		if (strncmp(tag, want, strlen(want)) != 0 ||
		    tag[strlen(tag) - 1] != '"')
			FAIL("%s: ETag %s for backfill %s", what, tag,
			    want + 1);
	}
	if (st < 300 && json_object_object_get_ex(o, "backfills", &e)) {
		size_t	 i;

		if (!json_object_is_type(e, json_type_array) ||
		    !json_object_object_get_ex(o, "metadata", &v) ||
		    !json_object_is_type(v, json_type_object))
			FAIL("%s: a list without metadata: %s", what,
			    r->body.data);
		for (i = 0; i < json_object_array_length(e); i++)
			check_backfill(json_object_array_get_idx(e, i), what,
			    r->body.data);
	}
	if (st >= 300) {
		if (!json_object_object_get_ex(o, "error", &e) ||
		    !json_object_is_type(e, json_type_object) ||
		    !json_object_object_get_ex(e, "code", &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    json_object_get_int(v) != st ||
		    !json_object_object_get_ex(e, "message", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    !json_object_object_get_ex(e, "type", &v) ||
		    !json_object_is_type(v, json_type_string))
			FAIL("%s: %d error body is wrong: %s", what, st,
			    r->body.data);
	}
	json_object_put(o);
}

/*
 * After a write answered 2xx with one record, reads that record back
 * (GET, authentication off): it must be what the writer was told, byte
 * for byte and with the same ETag; after a DELETE it must be gone.
 */
static void
check_readback(const struct parsed *pr, const char *what)
{
	struct json_object	*o, *rec, *id;
	struct request		 get;
	char			 path[64], tag1[64], tag2[64], *body;
	const char		*t1, *t2, *kind;
	int			 st = resp.status;

	if (st >= 300 || (pr->req.method != M_PUT &&
	    pr->req.method != M_POST && pr->req.method != M_DELETE) ||
	    (o = parse_json(resp.body.data, resp.body.len)) == NULL)
		return;
	kind = json_object_object_get_ex(o, "backfill", &rec) ?
	    "backfills" : json_object_object_get_ex(o, "pipeline_run", &rec) ?
	    "pipeline_runs" : NULL;
	if (kind == NULL || !json_object_object_get_ex(rec, "id", &id)) {
		json_object_put(o);
		return;
	}
	snprintf(path, sizeof(path), "/api/%s/%lld", kind,
	    (long long)json_object_get_int64(id));
	json_object_put(o);
	if ((body = strdup(resp.body.data)) == NULL)
		FAIL("out of memory");
	t1 = etag(&resp, tag1, sizeof(tag1));
	memset(&get, 0, sizeof(get));
	get.method = M_GET;
	get.path = path;
	get.query = "";
	service_handle(&ctx_open, &get, &resp);
	if (pr->req.method == M_DELETE && kind[0] == 'b') {
		if (resp.status != 404)
			FAIL("%s: deleted, yet GET %s answers %d", what, path,
			    resp.status);
	} else if (resp.status != 200 || strcmp(resp.body.data, body) != 0)
		FAIL("%s: answered %d with\n%s\nbut GET %s reads %d\n%s",
		    what, st, body, path, resp.status,
		    resp.body.len ? resp.body.data : "");
	else if ((t2 = etag(&resp, tag2, sizeof(tag2))) != t1 &&
	    (t1 == NULL || t2 == NULL || strcmp(t1, t2) != 0))
		FAIL("%s: ETag %s, but GET %s gives %s", what,
		    t1 ? t1 : "none", path, t2 ? t2 : "none");
	free(body);
}

/* Whether the path is a route that answers without credentials. */
static int
public_route(const char *path)
{
	struct route_match	 m;

	switch (route_match(path, &m)) {
	case ROUTE_STATUS:
	case ROUTE_STATUSES:
	case ROUTE_METRICS:
	case ROUTE_OPENAPI:
		return 1;
	default:
		return 0;
	}
}

/* Whether the request carries an API key or a token anywhere. */
static int
has_key(const struct request *q)
{
	return q->api_key != NULL || strstr(q->query, "api_key") != NULL ||
	    (q->body != NULL && memmem(q->body, q->body_len, "api_key", 7)
	    != NULL);
}

static int
has_token(const struct request *q)
{
	return q->authorization != NULL || q->oauth_token != NULL ||
	    (q->cookie != NULL && strstr(q->cookie, "oauth_token") != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*s = (const char *)data, *end = s + size, *sep;
	struct parsed		 pr;
	struct ctx		*c;
	char			 what[160];
	int64_t			 dv;
	int			 i, rc, reading, changed;

	if ((rc = copy_db(admin, snap)) != SQLITE_OK)
		FAIL("restoring the database: %s (a transaction left open?)",
		    sqlite3_errstr(rc));
	for (i = 0; i < MAX_REQ && s <= end; i++) {
		sep = memchr(s, SEP, (size_t)(end - s));
		c = &ctx_auth;
		parse_request(&pr, s, (size_t)((sep ? sep : end) - s),
		    c->conf.max_body);
		if (pr.open)
			c = &ctx_open;
		snprintf(what, sizeof(what), "request %d: %s %.100s", i + 1,
		    http_method_name(pr.req.method), pr.req.path);
		dv = data_version();
		service_handle(c, &pr.req, &resp);
		changed = data_version() != dv;
		if (verbose)
			fprintf(stderr, "%s%s -> %d%s\n%s%s\n", what,
			    c == &ctx_open ? " (auth off)" : "", resp.status,
			    changed ? " (database changed)" : "",
			    resp.headers.len ? resp.headers.data : "",
			    resp.body.len ? resp.body.data : "");
		check_response(&pr, what);
		reading = pr.req.method == M_GET || pr.req.method == M_HEAD ||
		    pr.req.method == M_OPTIONS;
		if ((reading || resp.status >= 300) && changed)
			FAIL("%s: answered %d yet changed the database",
			    what, resp.status);
		if (c == &ctx_auth && resp.status < 300 &&
		    pr.req.method != M_OPTIONS && !public_route(pr.req.path) &&
		    (!has_key(&pr.req) || !has_token(&pr.req)))
			FAIL("%s: answered %d without credentials", what,
			    resp.status);
		check_readback(&pr, what);
		parsed_free(&pr);
		if (sep == NULL)
			break;
		s = sep + 1;
	}
	return 0;
}
