/*
 * The unit runner: every suite in one SRunner, fork mode (Check's
 * default, so a crash is one error and not a dead runner), CK_NORMAL
 * output ending in Check's summary line. Exits 1 on any failure.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "suites.h"

int
main(void)
{
	SRunner	*sr;
	char	 tmp[] = "/tmp/backfills-unit.XXXXXX";
	int	 failed;

	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	setenv(UNIT_TMPDIR_ENV, tmp, 1);
	/* Nothing in the environment may pick a conf for the tests. */
	unsetenv("BACKFILLS_CONF");

	sr = srunner_create(datetime_suite());
	srunner_add_suite(sr, backfill_suite());
	srunner_add_suite(sr, router_suite());
	srunner_add_suite(sr, http_suite());
	srunner_add_suite(sr, store_suite());
	srunner_add_suite(sr, service_suite());
	srunner_add_suite(sr, conf_suite());
	srunner_add_suite(sr, auth_suite());
	srunner_add_suite(sr, run_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);

	unit_rmtree(tmp);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
