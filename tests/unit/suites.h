/*
 * The Check suites of the unit runner, one per module, and the few
 * helpers they share (temporary folders). runner.c builds one SRunner
 * from every constructor declared here.
 */
#ifndef UNIT_SUITES_H
#define UNIT_SUITES_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

Suite	*datetime_suite(void);
Suite	*backfill_suite(void);
Suite	*router_suite(void);
Suite	*http_suite(void);
Suite	*store_suite(void);
Suite	*service_suite(void);
Suite	*conf_suite(void);
Suite	*auth_suite(void);
Suite	*run_suite(void);

/* The runner makes one folder for the whole run and names it here; the
 * tests make theirs inside it, so nothing is left behind even when a
 * failing test skips its teardown. */
#define UNIT_TMPDIR_ENV	"BACKFILLS_UNIT_TMPDIR"

/* Makes a fresh folder (under the run's folder, else /tmp) into out. */
static inline void
unit_mkdtemp(char *out, size_t outlen)
{
	const char	*base = getenv(UNIT_TMPDIR_ENV);

	ck_assert_int_lt(snprintf(out, outlen, "%s/unit.XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp"), (int)outlen);
	ck_assert_msg(mkdtemp(out) != NULL, "mkdtemp %s failed", out);
}

/* Removes a folder and everything in it (no symlinks are followed). */
static inline void
unit_rmtree(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	struct stat	 sb;
	char		 p[4096];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >=
		    sizeof(p))
			continue;
		if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
			unit_rmtree(p);
		else
			(void)unlink(p);
	}
	closedir(d);
	(void)rmdir(dir);
}

/* Writes text into path (created or truncated). */
static inline void
unit_write_file(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	ck_assert_msg(f != NULL, "cannot write %s", path);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

#endif
