/*
 * src/conf.h: the "key = value" conf file (conf/backfills.conf documents
 * every key), its defaults (docs/API.md: max_body 64 KiB, max_runs 100 000),
 * refusals that name the key, relative database paths, and finding the
 * file (flag, then $BACKFILLS_CONF).
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "suites.h"

static char	 dir[4096];
static char	 path[4200];

static void
setup(void)
{
	unit_mkdtemp(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/backfills.conf", dir);
}

static void
teardown(void)
{
	unit_rmtree(dir);
}

/* Writes text as the conf and loads it over the defaults. */
static int
load(const char *text, struct conf *c, char *err, size_t errlen)
{
	unit_write_file(path, text);
	conf_defaults(c);
	err[0] = '\0';
	return conf_load(c, path, err, errlen);
}

static void
loads(const char *text, struct conf *c)
{
	char	 err[1024];

	ck_assert_msg(load(text, c, err, sizeof(err)) == 0,
	    "conf refused: %s\n--\n%s", err, text);
}

/* Asserts the conf is refused with a message naming key. */
static void
refused(const char *text, const char *key)
{
	struct conf	 c;
	char		 err[1024];

	ck_assert_msg(load(text, &c, err, sizeof(err)) == -1,
	    "conf accepted:\n%s", text);
	ck_assert_msg(strstr(err, key) != NULL,
	    "message does not name %s: %s", key, err);
}

START_TEST(defaults)
{
	struct conf	 c;

	memset(&c, 0x5a, sizeof(c));
	conf_defaults(&c);
	ck_assert_str_eq(c.path, "");
	ck_assert_str_eq(c.database, "var/backfills.db");
	ck_assert_int_eq(c.durability_full, 1);
	ck_assert_uint_eq(c.max_body, 64 * 1024);
	ck_assert_int_eq(c.busy_timeout, 5000);
	ck_assert_int_eq(c.max_runs, 100000);
	ck_assert_int_eq(c.require_auth, 0);
	ck_assert_str_eq(c.jwt_secret, "");
	ck_assert_str_eq(c.cors_origin, "*");
	/* conf/backfills.conf: "log_level = info", also the default */
	ck_assert_int_eq(c.log_level, LOG_INFO);
	ck_assert_uint_eq(c.file_mode, 0600);
	ck_assert_uint_eq(conf_umask(&c), 077);
}
END_TEST

START_TEST(every_key_parsed)
{
	struct conf	 c;

	loads("# a comment\n"
	    "; another\n"
	    "\n"
	    "database = /srv/backfills/db.sqlite\n"
	    "durability = normal\n"
	    "max_body = 128K\n"
	    "busy_timeout = 250\n"
	    "max_runs = 500\n"
	    "require_authentication = on\n"
	    "jwt_secret = materia\n"
	    "cors_origin = https://example.org\n"
	    "log_level = debug\n"
	    "file_mode = 0640\n", &c);
	ck_assert_str_eq(c.path, path);
	ck_assert_str_eq(c.database, "/srv/backfills/db.sqlite");
	ck_assert_int_eq(c.durability_full, 0);
	ck_assert_uint_eq(c.max_body, 128 * 1024);
	ck_assert_int_eq(c.busy_timeout, 250);
	ck_assert_int_eq(c.max_runs, 500);
	ck_assert_int_eq(c.require_auth, 1);
	ck_assert_str_eq(c.jwt_secret, "materia");
	ck_assert_str_eq(c.cors_origin, "https://example.org");
	ck_assert_int_eq(c.log_level, LOG_DEBUG);
	ck_assert_uint_eq(c.file_mode, 0640);
	ck_assert_uint_eq(conf_umask(&c), 027);
}
END_TEST

START_TEST(value_forms)
{
	static const struct {
		const char	*v;
		int		 b;
	} bools[] = { { "on", 1 }, { "off", 0 }, { "yes", 1 }, { "no", 0 },
	    { "true", 1 }, { "false", 0 }, { "1", 1 }, { "0", 0 },
	    { "On", 1 }, { "OFF", 0 } };
	static const struct {
		const char	*v;
		enum log_level	 l;
	} levels[] = { { "error", LOG_ERROR }, { "warn", LOG_WARN },
	    { "info", LOG_INFO }, { "debug", LOG_DEBUG } };
	struct conf	 c;
	char		 text[128];
	size_t		 i;

	loads("max_body = 1M\n", &c);
	ck_assert_uint_eq(c.max_body, 1024 * 1024);
	loads("max_body = 16M\n", &c);
	ck_assert_uint_eq(c.max_body, 16 * 1024 * 1024);
	loads("max_body = 64\n", &c);
	ck_assert_uint_eq(c.max_body, 64);
	loads("max_body = 65536\n", &c);
	ck_assert_uint_eq(c.max_body, 65536);
	loads("max_body = 2k\n", &c);
	ck_assert_uint_eq(c.max_body, 2048);
	loads("max_answer = 1G\n", &c);
	ck_assert_uint_eq(c.max_answer, 1u << 30);
	loads("max_answer = 64k\n", &c);
	ck_assert_uint_eq(c.max_answer, 64u << 10);
	loads("max_db_size = 2g\n", &c);
	ck_assert_int_eq(c.max_db_size, 2LL << 30);
	loads("max_db_size = 1024G\n", &c);
	ck_assert_int_eq(c.max_db_size, 1LL << 40);
	loads("max_db_size = 0\n", &c);
	ck_assert_int_eq(c.max_db_size, 0);
	loads("run_lease = 90\n", &c);
	ck_assert_int_eq(c.run_lease, 90);
	loads("run_lease = 2m\n", &c);
	ck_assert_int_eq(c.run_lease, 120);
	loads("run_lease = 24h\n", &c);
	ck_assert_int_eq(c.run_lease, 86400);
	loads("request_deadline = 25s\n", &c);
	ck_assert_int_eq(c.request_deadline, 25);
	loads("busy_timeout = 0\n", &c);
	ck_assert_int_eq(c.busy_timeout, 0);
	loads("busy_timeout = 600000\n", &c);
	ck_assert_int_eq(c.busy_timeout, 600000);
	loads("max_runs = 1\n", &c);
	ck_assert_int_eq(c.max_runs, 1);
	loads("max_runs = 10000000\n", &c);
	ck_assert_int_eq(c.max_runs, 10000000);
	loads("durability = full\n", &c);
	ck_assert_int_eq(c.durability_full, 1);
	loads("cors_origin =\n", &c);
	ck_assert_str_eq(c.cors_origin, "");
	loads("cors_origin = *\n", &c);
	ck_assert_str_eq(c.cors_origin, "*");
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		snprintf(text, sizeof(text), "require_authentication = %s\n",
		    bools[i].v);
		loads(text, &c);
		ck_assert_msg(c.require_auth == bools[i].b, "%s", bools[i].v);
	}
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		snprintf(text, sizeof(text), "log_level = %s\n", levels[i].v);
		loads(text, &c);
		ck_assert_int_eq(c.log_level, levels[i].l);
	}
	/* spaces around '=' and at the ends do not matter */
	loads("  max_runs=7  \nlog_level   =   info\n", &c);
	ck_assert_int_eq(c.max_runs, 7);
	ck_assert_int_eq(c.log_level, LOG_INFO);
}
END_TEST

START_TEST(last_value_wins)
{
	struct conf	 c;

	loads("max_runs = 5\nmax_runs = 6\nlog_level = info\n"
	    "log_level = error\n", &c);
	ck_assert_int_eq(c.max_runs, 6);
	ck_assert_int_eq(c.log_level, LOG_ERROR);
}
END_TEST

START_TEST(keys_not_given_keep_values)
{
	struct conf	 c;
	char		 err[256];

	unit_write_file(path, "max_runs = 9\n");
	conf_defaults(&c);
	c.busy_timeout = 1234;
	ck_assert_int_eq(conf_load(&c, path, err, sizeof(err)), 0);
	ck_assert_int_eq(c.max_runs, 9);
	ck_assert_int_eq(c.busy_timeout, 1234);
	ck_assert_uint_eq(c.max_body, 64 * 1024);
}
END_TEST

START_TEST(shipped_conf_loads)
{
	struct conf	 c;
	char		 err[512], p[PATH_MAX];
	ssize_t		 n;

	/* conf/backfills.conf of the repository, found from the runner's
	 * folder (build/ or build-san/) */
	n = readlink("/proc/self/exe", p, sizeof(p) - 64);
	ck_assert_int_gt(n, 0);
	p[n] = '\0';
	*strrchr(p, '/') = '\0';
	strcat(p, "/../conf/backfills.conf");
	if (access(p, R_OK) != 0)
		return;		/* runner moved away from the tree */
	conf_defaults(&c);
	ck_assert_msg(conf_load(&c, p, err, sizeof(err)) == 0, "%s", err);
	/* docs/API.md "Credentials": on in the shipped conf */
	ck_assert_int_eq(c.require_auth, 1);
	ck_assert_int_eq(c.database[0], '/');
}
END_TEST

START_TEST(unknown_key_refused)
{
	struct conf	 c;
	char		 err[1024];

	refused("colour = red\n", "colour");
	refused("max_runs = 5\nmax_run = 5\n", "max_run");
	refused("Database = /x.db\n", "Database");
	/* the message says where */
	ck_assert_int_eq(load("log_level = info\n\nbogus_key = 1\n", &c, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "bogus_key"));
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, ":3:"));
}
END_TEST

START_TEST(bad_values_refused)
{
	static const struct {
		const char	*key;
		const char	*value;
	} bad[] = {
		{ "database", "" },
		{ "durability", "fast" },
		{ "durability", "" },
		{ "durability", "fullest" },
		{ "max_body", "63" },
		{ "max_body", "0" },
		{ "max_body", "17M" },
		{ "max_body", "16385K" },
		{ "max_body", "1G" },
		{ "max_body", "-1" },
		{ "max_body", "abc" },
		{ "max_body", "" },
		{ "max_body", "64KB" },
		{ "max_body", "1.5K" },
		{ "max_body", "99999999999999999999" },
		{ "max_answer", "1025M" },
		{ "max_answer", "63K" },
		{ "max_db_size", "1025G" },
		{ "max_db_size", "1KG" },
		{ "max_db_size", "1T" },
		{ "max_db_size", "-1" },
		{ "run_lease", "4" },
		{ "run_lease", "25h" },
		{ "run_lease", "5000ms" },
		{ "run_lease", "1d" },
		{ "run_lease", "1m30s" },
		{ "request_deadline", "61m" },
		{ "busy_timeout", "-1" },
		{ "busy_timeout", "600001" },
		{ "busy_timeout", "5s" },
		{ "busy_timeout", "" },
		{ "max_runs", "0" },
		{ "max_runs", "10000001" },
		{ "max_runs", "1e5" },
		{ "max_runs", "100K" },
		{ "max_runs", "" },
		{ "require_authentication", "maybe" },
		{ "require_authentication", "2" },
		{ "require_authentication", "" },
		{ "jwt_secret", "" },
		{ "log_level", "verbose" },
		{ "log_level", "" },
		{ "log_level", "3" },
		{ "file_mode", "0644" },
		{ "file_mode", "640" },
		{ "file_mode", "0660" },
		{ "file_mode", "" },
	};
	char	 text[256];
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s = %s\n", bad[i].key,
		    bad[i].value);
		refused(text, bad[i].key);
	}
}
END_TEST

START_TEST(sections_and_junk_refused)
{
	struct conf	 c;
	char		 err[1024];

	ck_assert_int_eq(load("[main]\nmax_runs = 5\n", &c, err, sizeof(err)),
	    -1);
	ck_assert_int_gt(strlen(err), 0);
	ck_assert_int_eq(load("max_runs = 5\njust some words\n", &c, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, ":2:"));
}
END_TEST

START_TEST(first_error_reported)
{
	struct conf	 c;
	char		 err[1024];

	/* Two wrong lines: the message is about the first, at its line. */
	ck_assert_int_eq(load("colour = red\nmax_body = lots\n", &c, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, ":1:") != NULL && strstr(err, "colour")
	    != NULL, "want line 1 and colour: %s", err);
	ck_assert_msg(strstr(err, "max_body") == NULL,
	    "message names line 2's key under line 1: %s", err);
}
END_TEST

START_TEST(long_values)
{
	struct conf	 c;
	char		 secret[182], db[186], text[1200], err[1024];

	/* jwt_secret: 1 to 180 characters (conf.c; inih's lines stop at
	 * 199 bytes) */
	memset(secret, 's', 180);
	secret[180] = '\0';
	snprintf(text, sizeof(text), "jwt_secret = %s\n", secret);
	loads(text, &c);
	ck_assert_str_eq(c.jwt_secret, secret);
	/* 181 is too many, and named */
	snprintf(text, sizeof(text), "jwt_secret = %ss\n", secret);
	refused(text, "jwt_secret");

	/* a database path as long as a line allows */
	memset(db, 'd', sizeof(db) - 1);
	db[0] = '/';
	db[sizeof(db) - 1] = '\0';
	snprintf(text, sizeof(text), "database = %s\n", db);
	loads(text, &c);
	ck_assert_str_eq(c.database, db);

	/* a longer line is refused whole, naming its line, never split */
	snprintf(text, sizeof(text), "# ok\ndatabase = /%0300d\n", 0);
	ck_assert_int_eq(load(text, &c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, ":2: line longer than 199 bytes"));
}
END_TEST

START_TEST(missing_file)
{
	struct conf	 c;
	char		 err[1024] = "", p[4300];

	snprintf(p, sizeof(p), "%s/nope.conf", dir);
	conf_defaults(&c);
	ck_assert_int_eq(conf_load(&c, p, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, p));
}
END_TEST

/* realpath of a path's folder, plus its last part. */
static void
resolved(const char *p, char *out, size_t outlen)
{
	char	 d[PATH_MAX], r[PATH_MAX];
	const char *slash = strrchr(p, '/');

	ck_assert_ptr_nonnull(slash);
	snprintf(d, sizeof(d), "%.*s", (int)(slash - p), p);
	ck_assert_msg(realpath(d, r) != NULL, "cannot resolve %s", d);
	snprintf(out, outlen, "%s%s", r, slash);
}

START_TEST(relative_database_from_conf_folder)
{
	struct conf	 c;
	char		 sub[4300], var[4300], p[4400], err[1024], got[PATH_MAX + 64],
			 want[PATH_MAX + 64];

	snprintf(sub, sizeof(sub), "%s/etc", dir);
	snprintf(var, sizeof(var), "%s/var", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(mkdir(var, 0700), 0);
	snprintf(p, sizeof(p), "%s/backfills.conf", sub);
	unit_write_file(p, "database = ../var/backfills.db\n");

	/* run from elsewhere: the conf's folder counts, not the cwd */
	ck_assert_int_eq(chdir("/"), 0);
	conf_defaults(&c);
	ck_assert_msg(conf_load(&c, p, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c.database[0], '/');
	resolved(c.database, got, sizeof(got));
	{
		char	 r[PATH_MAX];

		ck_assert_ptr_nonnull(realpath(var, r));
		snprintf(want, sizeof(want), "%s/backfills.db", r);
	}
	ck_assert_str_eq(got, want);

	/* a plain file name, beside the conf */
	unit_write_file(p, "database = plain.db\n");
	conf_defaults(&c);
	ck_assert_int_eq(conf_load(&c, p, err, sizeof(err)), 0);
	resolved(c.database, got, sizeof(got));
	{
		char	 r[PATH_MAX];

		ck_assert_ptr_nonnull(realpath(sub, r));
		snprintf(want, sizeof(want), "%s/plain.db", r);
	}
	ck_assert_str_eq(got, want);

	/* an absolute one as given */
	unit_write_file(p, "database = /abs/olute.db\n");
	conf_defaults(&c);
	ck_assert_int_eq(conf_load(&c, p, err, sizeof(err)), 0);
	ck_assert_str_eq(c.database, "/abs/olute.db");

	/* a conf named relative to the cwd */
	ck_assert_int_eq(chdir(sub), 0);
	unit_write_file("backfills.conf", "database = here.db\n");
	conf_defaults(&c);
	ck_assert_int_eq(conf_load(&c, "backfills.conf", err, sizeof(err)),
	    0);
	resolved(c.database, got, sizeof(got));
	{
		char	 r[PATH_MAX];

		ck_assert_ptr_nonnull(realpath(sub, r));
		snprintf(want, sizeof(want), "%s/here.db", r);
	}
	ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(locate_flag)
{
	char	 out[PATH_MAX], err[256];

	unsetenv("BACKFILLS_CONF");
	ck_assert_int_eq(conf_locate("/etc/backfills/one.conf", out,
	    sizeof(out), err, sizeof(err)), 0);
	ck_assert_str_eq(out, "/etc/backfills/one.conf");
	/* the flag wins over the environment */
	setenv("BACKFILLS_CONF", "/from/env.conf", 1);
	ck_assert_int_eq(conf_locate("rel/two.conf", out, sizeof(out), err,
	    sizeof(err)), 0);
	ck_assert_str_eq(out, "rel/two.conf");
	/* too long for out */
	ck_assert_int_eq(conf_locate("/a/long/path.conf", out, 8, err,
	    sizeof(err)), -1);
	ck_assert_int_gt(strlen(err), 0);
}
END_TEST

START_TEST(locate_env)
{
	char	 out[PATH_MAX], err[256];

	setenv("BACKFILLS_CONF", "/from/env.conf", 1);
	ck_assert_int_eq(conf_locate(NULL, out, sizeof(out), err,
	    sizeof(err)), 0);
	ck_assert_str_eq(out, "/from/env.conf");
	ck_assert_int_eq(conf_locate("", out, sizeof(out), err, sizeof(err)),
	    0);
	ck_assert_str_eq(out, "/from/env.conf");
	/* an empty variable counts as unset */
	setenv("BACKFILLS_CONF", "", 1);
	if (conf_locate(NULL, out, sizeof(out), err, sizeof(err)) == 0) {
		ck_assert_str_ne(out, "");
		ck_assert_int_eq(access(out, R_OK), 0);
	} else
		ck_assert_int_gt(strlen(err), 0);
	unsetenv("BACKFILLS_CONF");
}
END_TEST

Suite *
conf_suite(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc;

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, every_key_parsed);
	tcase_add_test(tc, value_forms);
	tcase_add_test(tc, last_value_wins);
	tcase_add_test(tc, keys_not_given_keep_values);
	tcase_add_test(tc, shipped_conf_loads);
	tcase_add_test(tc, long_values);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, relative_database_from_conf_folder);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unknown_key_refused);
	tcase_add_test(tc, bad_values_refused);
	tcase_add_test(tc, sections_and_junk_refused);
	tcase_add_test(tc, first_error_reported);
	suite_add_tcase(s, tc);

	tc = tcase_create("locate");
	tcase_add_test(tc, locate_flag);
	tcase_add_test(tc, locate_env);
	suite_add_tcase(s, tc);
	return s;
}
