# PostgreSQL: the driver of src/db_pg.c (built when libpq is installed:
# see mk/postgres.vars, included before the rules) and its tests.
#
#   make pg-check     install libpq-dev and postgresql if missing (as
#                     root), build, start a throwaway PostgreSQL server
#                     (initdb + pg_ctl in a folder under /tmp, a unix
#                     socket there, no TCP), run the end-to-end suite,
#                     the store's unit suite and its other tests and
#                     the two-pool test and the executor suite
#                     (tests/exec) against it, stop it
#                     (tests/pg/check.py)
#   make pg-bench     make bench with the service on PostgreSQL (QUICK=1)
#
# SAN=1 works as for make check. PG_DIR=/folder uses a running server
# whose socket is in that folder instead of starting one.

.PHONY: pg-check pg-deps pg-bench

pg-deps:
	@scripts/deps.sh build run check pg

# The build is redone by a new make: the libpq that deps may just have
# installed is only seen by a fresh read of mk/postgres.vars.
pg-check: pg-deps
	@$(MAKE) --no-print-directory all $(BUILD)/unit-runner
	@FCGI_BIN=$(FCGI_BIN) CTL_BIN=$(CTL_BIN) EXEC_BIN=$(EXEC_BIN) SAN=$(SAN) \
	    UNIT_RUNNER=$(BUILD)/unit-runner python3 tests/pg/check.py

pg-bench: pg-deps
	@$(MAKE) --no-print-directory all build/floor
	@python3 tests/pg/bench_pg.py

# store.o differs with and without PostgreSQL (-DWITH_POSTGRES): a stamp
# named after the setting makes it rebuilt when the setting changes.
PG_STAMP = $(BUILD)/.postgres-$(or $(WITH_POSTGRES),0)
$(BUILD)/store.o: $(PG_STAMP)
$(PG_STAMP): | $(BUILD)
	@rm -f $(BUILD)/.postgres-*
	@touch $@
