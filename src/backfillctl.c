/*
 * backfillctl: the admin command line. Creates and migrates the database
 * and manages pipelines, through the same store and domain code as the
 * service. Exit status 0 on success, 1 with a one-line reason on
 * failure, 2 on bad usage.
 */
#include <sys/stat.h>

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "backfill.h"
#include "conf.h"
#include "copy.h"
#include "datetime.h"
#include "jsonin.h"
#include "router.h"
#include "store.h"

static const char *progname = "backfillctl";

/* Each command's synopsis, as --help and COMMAND --help print them. */
static const struct {
	const char	*name;
	const char	*text;
} helps[] = {
	{ "init",
	  "  init [--demo]                         create or migrate the database;\n"
	  "                                        --demo adds the demo's pipeline,\n"
	  "                                        key and token\n" },
	{ "pipeline",
	  "  pipeline add|set UUID [--variables JSON] [--retry-config JSON]\n"
	  "                                        add a pipeline, or change one\n"
	  "  pipeline list                         list pipelines\n"
	  "  pipeline remove UUID [--force]        remove a pipeline (--force: and\n"
	  "                                        its backfills)\n" },
	{ "key",
	  "  key add [KEY] [--name NAME]           add an API key (random when none)\n"
	  "  key list                              list API keys (no secrets)\n"
	  "  key revoke ID|KEY                     revoke an API key\n" },
	{ "token",
	  "  token issue --role viewer|editor|owner [--ttl 30d] [--name NAME]\n"
	  "                                        issue an OAuth token and its cookie\n"
	  "  token add TOKEN --role R [--expires T | --ttl D] [--name NAME]\n"
	  "                                        register a token issued elsewhere\n"
	  "  token cookie TOKEN [--ttl D]          sign an oauth_token cookie for it\n"
	  "  token list                            list tokens (no secrets)\n"
	  "  token revoke ID|TOKEN                 revoke a token\n" },
	{ "backup",
	  "  backup FILE                           copy the database into a new\n"
	  "                                        SQLite file (safe while serving)\n" },
	{ "check",
	  "  check                                 integrity check and schema version\n" },
	{ "stats",
	  "  stats                                 pipelines, backfills and runs by\n"
	  "                                        status\n" },
	{ "seed",
	  "  seed N [--pipeline UUID]              add N sample backfills (benchmarks)\n" },
	{ "copy",
	  "  copy --from DB --to DB                copy a database into a new, empty one\n"
	  "                                        (each a SQLite file or a postgresql:// URI)\n" },
};
#define NHELPS	(sizeof(helps) / sizeof(helps[0]))

/* The command being run, once known: its usage errors show its lines. */
static const char *command;

static void
print_usage(FILE *f, const char *only)
{
	size_t	 i;

	fprintf(f, "usage: backfillctl [--db PATH | --conf FILE] COMMAND\n"
	    "       backfillctl --help | --version | COMMAND --help\n");
	for (i = 0; i < NHELPS; i++)
		if (only == NULL || strcmp(only, helps[i].name) == 0)
			fputs(helps[i].text, f);
	if (only == NULL)
		fputs("The database is --db PATH (a SQLite file or a "
		    "postgresql:// URI), else the\nconf's: --conf FILE, else "
		    "$BACKFILLS_CONF, else the first of backfills.conf\n"
		    "beside the program, ../conf/, ../etc/backfills/ from it, "
		    "/etc/backfills/.\nExit status: 0 done, 1 failed (one line "
		    "says why), 2 bad usage.\n", f);
	else
		fputs("(backfillctl --help: every command)\n", f);
}

/* Bad usage: the synopsis (the command's, once known) on stderr; exit
 * status 2. */
static void
usage(void)
{
	print_usage(stderr, command);
	exit(2);
}

/* Whether name is a command of helps[]. */
static int
known_command(const char *name)
{
	size_t	 i;

	for (i = 0; i < NHELPS; i++)
		if (strcmp(name, helps[i].name) == 0)
			return 1;
	return 0;
}

/* Prints "backfillctl: reason" and returns the failure exit status. */
static int __attribute__((format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static const char *
err_text(enum err e)
{
	return e == ERR_UNAVAILABLE ?
	    "the database is locked, unreadable or read-only" :
	    "internal error";
}

#define DEMO_KEY	"zkWlN0PkIKSN0C11CfUHUj84OT5XOJ6tDZ6bDRO2"
#define DEMO_TOKEN	"bxyPj9Upq97jaL-gLkNA5g3gkifpF2pHFYfCs-2v6jg"
#define FAR_FUTURE	"9999-12-31 23:59:59"

/* Adds a credential for a known secret unless it is there already. */
static enum err
add_secret(struct store *st, enum cred_kind k, const char *secret,
    const char *name, const char *role, int64_t expires_at)
{
	struct credential c;
	enum err	 e;

	memset(&c, 0, sizeof(c));
	auth_hash(secret, strlen(secret), c.hash);
	snprintf(c.name, sizeof(c.name), "%s", name ? name : "");
	snprintf(c.role, sizeof(c.role), "%s", role ? role : "");
	c.expires_at = expires_at;
	c.created_at = dt_now();
	e = store_cred_add(st, k, &c);
	return e == ERR_PRECONDITION ? ERR_OK : e;
}

/* Adds the founding example's pipeline, backfill 6, API key and token
 * (role owner, expiring at the end of year 9999) where missing. */
static enum err
demo(struct store *st)
{
	struct pipeline	 p;
	struct backfill	 b;
	int64_t		 created, expires;
	enum err	 e;

	if ((e = store_pipeline_get(st, "arwen_starlight", &p)) == ERR_OK)
		pipeline_free(&p);
	else if (e != ERR_NOT_FOUND ||
	    (e = store_pipeline_add(st, "arwen_starlight", NULL)) != ERR_OK)
		return e;
	memset(&b, 0, sizeof(b));
	e = store_backfill_get(st, 6, &b);
	if (e == ERR_NOT_FOUND) {
		backfill_clear(&b);
		dt_parse("2023-07-18 23:30:26", 19, &created);
		b.v[BF_ID] = (struct bval){ .i = 6 };
		b.v[BF_CREATED_AT] = (struct bval){ .i = created };
		b.v[BF_UPDATED_AT] = (struct bval){ .i = created };
		e = bval_set_str(&b.v[BF_PIPELINE_UUID], "arwen_starlight",
		    15) < 0 ? ERR_INTERNAL : store_backfill_insert(st, &b);
	}
	backfill_free(&b);
	if (e != ERR_OK ||
	    (e = add_secret(st, CRED_KEY, DEMO_KEY, "demo", NULL, 0)) != ERR_OK)
		return e;
	dt_parse(FAR_FUTURE, strlen(FAR_FUTURE), &expires);
	return add_secret(st, CRED_TOKEN, DEMO_TOKEN, "demo", "owner",
	    expires);
}

/* Appends a random jwt_secret to the conf file, if one was read, when it
 * has none. A conf others may read loses their access first (its group,
 * the service's in an install, keeps its own). */
static int
write_secret(const struct conf *conf)
{
	struct stat	 sb;
	char		 secret[64];
	FILE		*f;

	if (conf->path[0] == '\0' || conf->jwt_secret[0] != '\0')
		return 0;
	if (auth_random(32, secret, sizeof(secret)) < 0)
		return die("no random bytes for a jwt_secret");
	if (stat(conf->path, &sb) < 0)
		return die("%s: %s", conf->path, strerror(errno));
	if ((sb.st_mode & 007) != 0) {
		if (chmod(conf->path, sb.st_mode & 0770) < 0)
			return die("%s is readable by others and holds the "
			    "jwt_secret: chmod o-rwx it (%s)", conf->path,
			    strerror(errno));
		printf("made %s mode %04o: it holds the jwt_secret\n",
		    conf->path, (unsigned)(sb.st_mode & 0770));
	}
	if ((f = fopen(conf->path, "a")) == NULL)
		return die("%s: cannot write a jwt_secret to it", conf->path);
	fprintf(f, "\n# Written by backfillctl init: signs oauth_token "
	    "cookies.\njwt_secret = %s\n", secret);
	if (fclose(f) != 0)
		return die("%s: cannot write a jwt_secret to it", conf->path);
	printf("wrote a new random jwt_secret to %s\n", conf->path);
	return 0;
}

static int
cmd_init(struct store *st, const struct conf *conf, const char *db,
    int argc, char **argv)
{
	int	 demo_data = 0, v = 0;
	enum err e;

	if (argc == 1 && strcmp(argv[0], "--demo") == 0)
		demo_data = 1;
	else if (argc != 0)
		usage();
	if (demo_data) {
		if ((e = store_begin(st)) != ERR_OK ||
		    (e = demo(st)) != ERR_OK ||
		    (e = store_commit(st)) != ERR_OK) {
			store_rollback(st);
			return die("%s: %s", db, err_text(e));
		}
	}
	store_schema_version(st, &v);
	printf("%s: schema version %d%s\n", db, v,
	    demo_data ? ", demo data present" : "");
	return write_secret(conf);
}

/* Adds n sample backfills to a pipeline (created if missing) in one
 * transaction, created one second apart, for benchmarks. */
static int
cmd_seed(struct store *st, int argc, char **argv)
{
	struct pipeline	 p;
	struct backfill	 b;
	const char	*uuid = "arwen_starlight";
	char		 name[32];
	int64_t		 n, i, base;
	enum err	 e;

	if (argc == 3 && strcmp(argv[1], "--pipeline") == 0)
		uuid = argv[2];
	else if (argc != 1)
		usage();
	if (parse_id(argv[0], strlen(argv[0]), &n) < 0 || n > 10000000)
		return die("seed takes a count from 1 to 10000000");
	if (!valid_uuid(uuid, strlen(uuid)))
		return die("bad pipeline uuid \"%s\"", uuid);
	dt_parse("2023-01-01", 10, &base);
	if ((e = store_begin(st)) != ERR_OK)
		return die("%s", err_text(e));
	if ((e = store_pipeline_get(st, uuid, &p)) == ERR_OK)
		pipeline_free(&p);
	else if (e == ERR_NOT_FOUND)
		e = store_pipeline_add(st, uuid, NULL);
	memset(&b, 0, sizeof(b));
	backfill_clear(&b);
	if (e == ERR_OK && bval_set_str(&b.v[BF_PIPELINE_UUID], uuid,
	    strlen(uuid)) < 0)
		e = ERR_INTERNAL;
	for (i = 0; e == ERR_OK && i < n; i++) {
		snprintf(name, sizeof(name), "seed %lld", (long long)i);
		b.v[BF_ID] = (struct bval){ .null = 1 };
		b.v[BF_NAME] = (struct bval){ .s = name, .len = strlen(name) };
		b.v[BF_CREATED_AT] = (struct bval){ .i = base + i * 1000000 };
		b.v[BF_UPDATED_AT] = b.v[BF_CREATED_AT];
		e = store_backfill_insert(st, &b);
	}
	b.v[BF_NAME] = (struct bval){ .null = 1 };
	backfill_free(&b);
	if (e != ERR_OK || (e = store_commit(st)) != ERR_OK) {
		store_rollback(st);
		return die("%s", err_text(e));
	}
	printf("added %lld backfills to %s\n", (long long)n, uuid);
	return 0;
}

/* backup FILE, check, stats: operations on a live database. */
static int
cmd_ops(struct store *st, const char *db, int argc, char **argv)
{
	struct store_stats ss;
	char		 msg[512];
	int		 ok, v = 0, i;
	enum err	 e;

	if (strcmp(argv[0], "backup") == 0 && argc == 2) {
		/* PostgreSQL has no file to copy: a copy of one snapshot
		 * into a new SQLite file (pg_dump is the other way). */
		if (strncmp(db, "postgresql://", 13) == 0 ||
		    strncmp(db, "postgres://", 11) == 0)
			return ctl_backup(db, argv[1]);
		if ((e = store_backup(st, argv[1])) == ERR_PRECONDITION)
			return die("%s exists already: not overwritten",
			    argv[1]);
		if (e != ERR_OK)
			return die("backup to %s failed: %s", argv[1],
			    err_text(e));
		printf("backed up %s to %s\n", db, argv[1]);
		return 0;
	}
	if (strcmp(argv[0], "check") == 0 && argc == 1) {
		if ((e = store_check(st, &ok, msg, sizeof(msg))) != ERR_OK ||
		    (e = store_schema_version(st, &v)) != ERR_OK)
			return die("%s: %s", db, err_text(e));
		printf("%s: schema version %d (this program: %d), integrity "
		    "%s\n", db, v, STORE_SCHEMA_VERSION, ok ? "ok" : msg);
		return ok ? 0 : 1;
	}
	if (strcmp(argv[0], "stats") == 0 && argc == 1) {
		if ((e = store_stats(st, &ss)) != ERR_OK)
			return die("%s: %s", db, err_text(e));
		printf("pipelines\t%lld\n", (long long)ss.pipelines);
		for (i = 0; i < ST__MAX; i++)
			printf("backfills %s\t%lld\n", i == ST_NULL ? "new" :
			    bf_status_name((enum bf_status)i),
			    (long long)ss.backfills[i]);
		for (i = ST_INITIAL; i < ST__MAX; i++)
			printf("runs %s\t%lld\n",
			    bf_status_name((enum bf_status)i),
			    (long long)ss.runs[i]);
		return 0;
	}
	usage();
	return 2;
}

/* Parses a --ttl: a whole number with s, m, h or d. Returns seconds, or
 * -1. */
static int64_t
parse_ttl(const char *v)
{
	char		*end;
	long long	 n, unit;

	if (*v < '0' || *v > '9')
		return -1;
	n = strtoll(v, &end, 10);
	if (n <= 0 || end[0] == '\0' || end[1] != '\0')
		return -1;
	switch (*end) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: return -1;
	}
	/* At most 100 years, checked before multiplying. */
	if (n > 100LL * 365 * 86400 / unit)
		return -1;
	return n * unit;
}

static int
print_cred(const struct credential *c, void *arg)
{
	char	 created[DT_FMT_MAX], when[DT_FMT_MAX];
	int	 token = *(int *)arg;

	dt_format(c->created_at / 1000000 * 1000000, ' ', created);
	printf("%lld\t%s\t", (long long)c->id, c->name[0] ? c->name : "-");
	if (token) {
		dt_format(c->expires_at / 1000000 * 1000000, ' ', when);
		printf("%s\texpires %s\t", c->role, when);
	}
	printf("created %s\t%s\n", created,
	    c->revoked_at ? "revoked" : "active");
	return 0;
}

/* Finds a credential's id from an id or its secret. */
static enum err
cred_id(struct store *st, enum cred_kind k, const char *arg, int64_t *id)
{
	struct credential c;
	enum err	 e;

	if (parse_id(arg, strlen(arg), id) == 0)
		return ERR_OK;
	auth_hash(arg, strlen(arg), c.hash);
	if ((e = store_cred_find(st, k, c.hash, &c)) == ERR_OK)
		*id = c.id;
	return e;
}

/* Whether a secret given on the command line may be stored: 16 to 255
 * characters without blanks, quotes or separators. */
static int
secret_ok(const char *v)
{
	return strlen(v) >= 16 && strlen(v) < AUTH_SECRET_MAX &&
	    strpbrk(v, " \t\r\n;,\"\\") == NULL;
}

/* token cookie TOKEN [--ttl D]: signs an oauth_token cookie (the JWT
 * Mage's UI reads) for a token that is stored, valid and not revoked;
 * it expires with the token, or after D when that is sooner. */
static int
token_cookie(struct store *st, const struct conf *conf, int argc,
    char **argv)
{
	struct credential c;
	char		 jwt[1024];
	int64_t		 ttl = 30 * 86400, expires, now = dt_now();
	enum err	 e;

	if (argc == 3 && strcmp(argv[1], "--ttl") == 0) {
		if ((ttl = parse_ttl(argv[2])) < 0)
			return die("--ttl takes a number with s, m, h or d, "
			    "as 90s, 15m, 12h, 30d");
	} else if (argc != 1)
		usage();
	if (conf->jwt_secret[0] == '\0')
		return die("no jwt_secret: pass --conf FILE with one, to sign "
		    "the cookie");
	auth_hash(argv[0], strlen(argv[0]), c.hash);
	if ((e = store_cred_find(st, CRED_TOKEN, c.hash, &c)) == ERR_NOT_FOUND)
		return die("no such token (token add registers one)");
	if (e != ERR_OK)
		return die("%s", err_text(e));
	if (c.revoked_at != 0 || (c.expires_at != 0 && c.expires_at <= now))
		return die("that token is %s", c.revoked_at ? "revoked" :
		    "expired");
	expires = now + ttl * 1000000;
	if (c.expires_at != 0 && c.expires_at < expires)
		expires = c.expires_at;
	if (auth_jwt_sign(argv[0], (double)(expires / 1000000),
	    conf->jwt_secret, jwt, sizeof(jwt)) < 0)
		return die("cannot sign the cookie");
	printf("oauth_token=%s\n", jwt);
	return 0;
}

/* key add|list|revoke, token issue|add|cookie|list|revoke. */
static int
cmd_cred(struct store *st, const struct conf *conf, enum cred_kind k,
    int argc, char **argv)
{
	struct credential c;
	const char	*what = k == CRED_KEY ? "key" : "token";
	char		 secret[AUTH_SECRET_MAX], jwt[1024];
	int64_t		 id, ttl = 30 * 86400, expires = 0;
	int		 i, token = k == CRED_TOKEN, given;
	enum err	 e;

	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		e = store_cred_list(st, k, print_cred, &token);
		return e == ERR_OK ? 0 : die("%s", err_text(e));
	}
	if (argc == 2 && strcmp(argv[0], "revoke") == 0) {
		if ((e = cred_id(st, k, argv[1], &id)) == ERR_OK)
			e = store_cred_revoke(st, k, id, dt_now());
		if (e == ERR_NOT_FOUND)
			return die("no %s %s", what, argv[1]);
		if (e == ERR_PRECONDITION) {
			/* what was asked holds: not a failure */
			printf("%s %lld was already revoked\n", what,
			    (long long)id);
			return 0;
		}
		if (e != ERR_OK)
			return die("%s", err_text(e));
		printf("revoked %s %lld\n", what, (long long)id);
		return 0;
	}
	if (token && argc >= 2 && strcmp(argv[0], "cookie") == 0)
		return token_cookie(st, conf, argc - 1, argv + 1);
	/* key add [KEY]; token issue (a new one); token add TOKEN (one
	 * issued elsewhere: Mage's sign-in) */
	if (argc < 1 || (strcmp(argv[0], "add") != 0 &&
	    (!token || strcmp(argv[0], "issue") != 0)))
		usage();
	given = strcmp(argv[0], "add") == 0;
	memset(&c, 0, sizeof(c));
	secret[0] = '\0';
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			snprintf(c.name, sizeof(c.name), "%s", argv[++i]);
		else if (token && strcmp(argv[i], "--role") == 0 &&
		    i + 1 < argc) {
			if (role_from(argv[++i]) < 0)
				return die("--role must be viewer, editor "
				    "or owner");
			snprintf(c.role, sizeof(c.role), "%s", argv[i]);
		} else if (token && strcmp(argv[i], "--ttl") == 0 &&
		    i + 1 < argc) {
			if ((ttl = parse_ttl(argv[++i])) < 0)
				return die("--ttl takes a number with s, m, "
				    "h or d, as 90s, 15m, 12h, 30d");
		} else if (token && given && strcmp(argv[i], "--expires") == 0 &&
		    i + 1 < argc) {
			i++;
			if (dt_parse(argv[i], strlen(argv[i]), &expires) < 0)
				return die("--expires takes a datetime, as "
				    "2024-01-31 or 2024-01-31T12:00:00Z");
		} else if (given && argv[i][0] != '-' && secret[0] == '\0') {
			if (!secret_ok(argv[i]))
				return die("a %s must be 16 to 255 characters "
				    "without spaces, quotes or separators",
				    what);
			snprintf(secret, sizeof(secret), "%s", argv[i]);
		} else
			usage();
	}
	if (token && c.role[0] == '\0')
		return die("token %s needs --role viewer|editor|owner",
		    argv[0]);
	if (token && given && secret[0] == '\0')
		return die("token add needs the TOKEN (to make a new one: "
		    "token issue)");
	if (secret[0] == '\0' && auth_random(token ? 32 : 30, secret,
	    sizeof(secret)) < 0)
		return die("no random bytes");
	auth_hash(secret, strlen(secret), c.hash);
	c.created_at = dt_now();
	if (token)
		c.expires_at = expires != 0 ? expires :
		    c.created_at + ttl * 1000000;
	if ((e = store_cred_add(st, k, &c)) == ERR_PRECONDITION)
		return die("that %s exists already", what);
	if (e != ERR_OK)
		return die("%s", err_text(e));
	if (!token) {
		printf("added key %lld (shown once, keep it): %s\n",
		    (long long)c.id, secret);
		return 0;
	}
	printf("%s token %lld, role %s, expires %s", given ? "added" :
	    "issued", (long long)c.id, c.role, (dt_format(c.expires_at /
	    1000000 * 1000000, ' ', jwt), jwt));
	if (given) {
		putchar('\n');
		return 0;
	}
	printf(" (shown once, keep it)\ntoken:  %s\n", secret);
	if (conf->jwt_secret[0] == '\0') {
		printf("cookie: none signed: no jwt_secret (pass --conf FILE "
		    "with one); send the token as Authorization: Bearer\n");
		return 0;
	}
	if (auth_jwt_sign(secret, (double)(c.expires_at / 1000000),
	    conf->jwt_secret, jwt, sizeof(jwt)) < 0)
		return die("cannot sign the cookie");
	printf("cookie: oauth_token=%s\n", jwt);
	return 0;
}

static int
print_pipeline(const struct pipeline *p, void *arg)
{
	(void)arg;
	printf("%s\t%lld backfills\t%s", p->uuid,
	    (long long)p->backfill_count,
	    p->variables ? p->variables : "null");
	if (p->retry_config != NULL)
		printf("\tretry_config %s", p->retry_config);
	putchar('\n');
	return 0;
}

/* Reads a JSON object option into *out (a malloc'd compact text).
 * Returns 0, or 1 after saying why. */
static int
json_option(const char *flag, const char *v, char **out)
{
	struct json_object	*o = NULL;
	struct field_errors	 fe = { 0 };
	const char		*detail = "";

	if (jsonin_body(v, strlen(v), &o, &fe, &detail) == ERR_RECORD_INVALID) {
		json_object_put(o);
		return die("%s: %s %s", flag, fe.e[0].field, fe.e[0].message);
	}
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return die("%s must be a JSON object", flag);
	}
	free(*out);
	*out = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return *out == NULL ? die("out of memory") : 0;
}

/* pipeline add|set UUID [--variables JSON] [--retry-config JSON] */
static int
pipeline_write(struct store *st, const char *verb, const char *uuid,
    int argc, char **argv)
{
	struct pipeline	 p;
	char		*vars = NULL, *retry = NULL;
	int		 i, set_vars = 0, set_retry = 0, rc = 0;
	enum err	 e;

	for (i = 0; i < argc && rc == 0; i++)
		if (strcmp(argv[i], "--variables") == 0 && i + 1 < argc) {
			rc = json_option(argv[i], argv[i + 1], &vars);
			set_vars = 1;
			i++;
		} else if (strcmp(argv[i], "--retry-config") == 0 &&
		    i + 1 < argc) {
			rc = json_option(argv[i], argv[i + 1], &retry);
			set_retry = 1;
			i++;
		} else
			usage();
	if (rc != 0)
		goto out;
	if ((e = store_begin(st)) != ERR_OK)
		goto fail;
	if (strcmp(verb, "add") == 0 &&
	    (e = store_pipeline_add(st, uuid, vars)) != ERR_OK)
		goto fail;
	if ((e = store_pipeline_get(st, uuid, &p)) != ERR_OK)
		goto fail;
	if (set_vars) {
		free(p.variables);
		p.variables = vars;
		vars = NULL;
	}
	if (set_retry) {
		free(p.retry_config);
		p.retry_config = retry;
		retry = NULL;
	}
	e = store_pipeline_set(st, &p);
	pipeline_free(&p);
	if (e != ERR_OK || (e = store_commit(st)) != ERR_OK)
		goto fail;
	printf("%s pipeline %s\n", strcmp(verb, "add") == 0 ? "added" :
	    "changed", uuid);
	goto out;
fail:
	store_rollback(st);
	if (e == ERR_PRECONDITION)
		rc = die("pipeline %s exists already", uuid);
	else if (e == ERR_NOT_FOUND)
		rc = die("no pipeline %s", uuid);
	else
		rc = die("%s", err_text(e));
out:
	free(vars);
	free(retry);
	return rc;
}

static int
cmd_pipeline(struct store *st, int argc, char **argv)
{
	const char		*uuid;
	char			 n[32];
	int64_t			 removed;
	enum err		 e;

	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		e = store_pipeline_list(st, print_pipeline, NULL);
		return e == ERR_OK ? 0 : die("%s", err_text(e));
	}
	if (argc < 2)
		usage();
	uuid = argv[1];
	if (!valid_uuid(uuid, strlen(uuid)))
		return die("bad pipeline uuid \"%s\": use 1-255 of "
		    "A-Z a-z 0-9 _ . -", uuid);
	if (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "set") == 0)
		return pipeline_write(st, argv[0], uuid, argc - 2, argv + 2);
	if (strcmp(argv[0], "remove") == 0) {
		if (argc == 3 && strcmp(argv[2], "--force") != 0)
			usage();
		if (argc > 3)
			usage();
		if ((e = store_begin(st)) == ERR_OK &&
		    (e = store_pipeline_remove(st, uuid, argc == 3,
		    &removed)) == ERR_OK)
			e = store_commit(st);
		if (e != ERR_OK)
			store_rollback(st);
		if (e == ERR_NOT_FOUND)
			return die("no pipeline %s", uuid);
		if (e == ERR_PRECONDITION)
			return die("pipeline %s has backfills; pass --force "
			    "to remove them with it", uuid);
		if (e != ERR_OK)
			return die("%s", err_text(e));
		snprintf(n, sizeof(n), "%lld", (long long)removed);
		printf("removed pipeline %s and %s backfills\n", uuid, n);
		return 0;
	}
	usage();
	return 2;
}

/* copy --from DB --to DB: needs neither --db nor a conf. */
static int
cmd_copy(int argc, char **argv)
{
	const char	*from = NULL, *to = NULL;
	int		 i;

	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else
			usage();
	if (from == NULL || to == NULL)
		usage();
	return ctl_copy(from, to);
}

/* Why store_open failed, said once: the driver's reason names the
 * database already. A missing SQLite file, or its missing folder for
 * init, says what to do. */
static int
open_failed(const char *db, const char *why, int create,
    const char *confpath, const char *dbflag)
{
	struct stat	 sb;
	char		 dir[PATH_MAX], *slash;

	if (store_is_postgres(db) || stat(db, &sb) == 0 || errno != ENOENT)
		return die("%s", why);
	if (create) {
		snprintf(dir, sizeof(dir), "%s", db);
		if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
			*slash = '\0';
			if (stat(dir, &sb) < 0)
				return die("cannot create %s: no folder %s "
				    "(mkdir -p it first)", db, dir);
		}
		return die("%s", why);
	}
	if (dbflag != NULL)
		return die("no database at %s: create it with backfillctl "
		    "--db %s init", db, dbflag);
	if (confpath != NULL)
		return die("no database at %s: create it with backfillctl "
		    "--conf %s init", db, confpath);
	return die("no database at %s: create it with backfillctl init", db);
}

int
main(int argc, char *argv[])
{
	struct conf	 conf;
	struct store	*st = NULL;
	struct store_opts o;
	const char	*db = NULL, *confpath = NULL;
	char		 path[PATH_MAX], err[512];
	int		 i, j, rc;
	enum err	 e;

	/* The database, its -wal and -shm and backups are private (SQLite
	 * gives the -wal and -shm the database's mode); the conf may say
	 * 0640 instead (file_mode). */
	umask(077);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			print_usage(stdout, NULL);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("backfillctl %s\n", BACKFILLS_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "--conf") == 0 && i + 1 < argc)
			confpath = argv[++i];
		else {
			fprintf(stderr, "%s: unknown option %s\n", progname,
			    argv[i]);
			usage();
		}
	}
	if (i >= argc)
		usage();
	if (!known_command(argv[i])) {
		fprintf(stderr, "%s: unknown command %s\n", progname, argv[i]);
		usage();
	}
	command = argv[i];
	for (j = i + 1; j < argc; j++)
		if (strcmp(argv[j], "--help") == 0 ||
		    strcmp(argv[j], "-h") == 0) {
			print_usage(stdout, command);
			return 0;
		}
	if (strcmp(command, "copy") == 0)
		return cmd_copy(argc - i - 1, argv + i + 1);
	conf_defaults(&conf);
	/* The conf gives the database unless --db does, and jwt_secret. */
	if (conf_locate(confpath, path, sizeof(path), err, sizeof(err)) < 0) {
		if (db == NULL)
			return die("%s (or pass --db PATH)", err);
	} else if (conf_load(&conf, path, err, sizeof(err)) < 0) {
		if (db == NULL || confpath != NULL)
			return die("%s", err);
		conf_defaults(&conf);
	}
	/* init writes a jwt_secret only into a conf that names this
	 * database: one given with --conf, or found when --db is not. */
	if (db != NULL && confpath == NULL)
		conf.path[0] = '\0';
	umask(conf_umask(&conf));
	memset(&o, 0, sizeof(o));
	o.path = db != NULL ? db : conf.database;
	o.durability_full = 1;
	o.busy_timeout = 5000;
	o.create = strcmp(command, "init") == 0;
	if ((e = store_open(&st, &o, err, sizeof(err))) != ERR_OK)
		return open_failed(o.path, err, o.create, confpath, db);
	argc -= i + 1;
	argv += i + 1;
	if (strcmp(command, "init") == 0)
		rc = cmd_init(st, &conf, o.path, argc, argv);
	else if (strcmp(command, "pipeline") == 0)
		rc = cmd_pipeline(st, argc, argv);
	else if (strcmp(command, "seed") == 0)
		rc = cmd_seed(st, argc, argv);
	else if (strcmp(command, "key") == 0)
		rc = cmd_cred(st, &conf, CRED_KEY, argc, argv);
	else if (strcmp(command, "token") == 0)
		rc = cmd_cred(st, &conf, CRED_TOKEN, argc, argv);
	else	/* backup, check, stats */
		rc = cmd_ops(st, o.path, argc + 1, argv - 1);
	store_close(st);
	return rc;
}
