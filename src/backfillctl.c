/*
 * backfillctl: the admin command line. Creates and migrates the database
 * and manages pipelines, through the same store and domain code as the
 * service. Exit status 0 on success, 1 with a one-line reason on
 * failure, 2 on bad usage.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "conf.h"
#include "datetime.h"
#include "jsonin.h"
#include "router.h"
#include "store.h"

static const char *progname = "backfillctl";

static void
usage(void)
{
	fprintf(stderr,
	    "usage: backfillctl [--db PATH | --conf FILE] COMMAND\n"
	    "  init [--demo]                         create or migrate the database\n"
	    "  pipeline add UUID [--variables JSON]  add a pipeline\n"
	    "  pipeline list                         list pipelines\n"
	    "  pipeline remove UUID [--force]        remove a pipeline\n");
	exit(2);
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

/* Adds the founding example's pipeline and backfill 6 when missing. */
static enum err
demo(struct store *st)
{
	struct pipeline	 p;
	struct backfill	 b;
	int64_t		 created;
	enum err	 e;

	if ((e = store_pipeline_get(st, "arwen_starlight", &p)) == ERR_OK)
		pipeline_free(&p);
	else if (e != ERR_NOT_FOUND ||
	    (e = store_pipeline_add(st, "arwen_starlight", NULL)) != ERR_OK)
		return e;
	memset(&b, 0, sizeof(b));
	if ((e = store_backfill_get(st, 6, &b)) != ERR_NOT_FOUND) {
		backfill_free(&b);
		return e;
	}
	backfill_clear(&b);
	dt_parse("2023-07-18 23:30:26", 19, &created);
	b.v[BF_ID] = (struct bval){ .i = 6 };
	b.v[BF_CREATED_AT] = (struct bval){ .i = created };
	b.v[BF_UPDATED_AT] = (struct bval){ .i = created };
	if (bval_set_str(&b.v[BF_PIPELINE_UUID], "arwen_starlight", 15) < 0)
		return ERR_INTERNAL;
	e = store_backfill_insert(st, &b);
	backfill_free(&b);
	return e;
}

static int
cmd_init(struct store *st, const char *db, int argc, char **argv)
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
	return 0;
}

static int
print_pipeline(const struct pipeline *p, void *arg)
{
	(void)arg;
	printf("%s\t%lld backfills\t%s\n", p->uuid,
	    (long long)p->backfill_count,
	    p->variables ? p->variables : "null");
	return 0;
}

static int
cmd_pipeline(struct store *st, int argc, char **argv)
{
	struct json_object	*vars = NULL;
	const char		*uuid, *detail = "", *text = NULL;
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
	if (strcmp(argv[0], "add") == 0) {
		if (argc == 4 && strcmp(argv[2], "--variables") == 0) {
			if (jsonin_parse(argv[3], strlen(argv[3]), &vars,
			    &detail) != ERR_OK ||
			    !json_object_is_type(vars, json_type_object)) {
				json_object_put(vars);
				return die("--variables must be a JSON "
				    "object");
			}
			text = json_object_to_json_string_ext(vars,
			    JSON_C_TO_STRING_PLAIN |
			    JSON_C_TO_STRING_NOSLASHESCAPE);
		} else if (argc != 2)
			usage();
		e = store_pipeline_add(st, uuid, text);
		json_object_put(vars);
		if (e == ERR_PRECONDITION)
			return die("pipeline %s exists already", uuid);
		if (e != ERR_OK)
			return die("%s", err_text(e));
		printf("added pipeline %s\n", uuid);
		return 0;
	}
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

int
main(int argc, char *argv[])
{
	struct conf	 conf;
	struct store	*st = NULL;
	struct store_opts o;
	const char	*db = NULL, *confpath = NULL;
	char		 path[PATH_MAX], err[512];
	int		 i, rc;
	enum err	 e;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "--conf") == 0 && i + 1 < argc)
			confpath = argv[++i];
		else
			usage();
	}
	if (i >= argc)
		usage();
	conf_defaults(&conf);
	if (db == NULL) {
		if (conf_locate(confpath, path, sizeof(path), err,
		    sizeof(err)) < 0 ||
		    conf_load(&conf, path, err, sizeof(err)) < 0)
			return die("%s (or pass --db PATH)", err);
		db = conf.database;
	}
	memset(&o, 0, sizeof(o));
	o.path = db;
	o.durability_full = 1;
	o.busy_timeout = 5000;
	o.create = strcmp(argv[i], "init") == 0;
	if ((e = store_open(&st, &o, err, sizeof(err))) != ERR_OK)
		return die("%s: %s", db, err);
	if (strcmp(argv[i], "init") == 0)
		rc = cmd_init(st, db, argc - i - 1, argv + i + 1);
	else if (strcmp(argv[i], "pipeline") == 0)
		rc = cmd_pipeline(st, argc - i - 1, argv + i + 1);
	else {
		store_close(st);
		usage();
		return 2;
	}
	store_close(st);
	return rc;
}
