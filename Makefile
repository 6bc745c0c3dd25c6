# backfills: a FastCGI worker and an admin CLI in C.
#   make            build cgi-bin/backfills.fcgi and bin/backfillctl
#   make run        set up, build, create the demo database, serve on PORT
#   make check      set up, build, run the unit and end-to-end tests
#   make check SAN=1  the same under AddressSanitizer + UBSan
#   make bench      throughput and latency against a floor (QUICK=1)

VERSION	= 0.1.0
PORT	?= 6789
DB	?= var/backfills.db
WORKERS	?= $(shell echo $$((4 * $$(nproc 2>/dev/null || echo 1))))

CC	?= cc
PKGS	= json-c sqlite3 inih libcrypto
CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Isrc -DBACKFILLS_VERSION='"$(VERSION)"' \
	   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS	= $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(SAN),1)
BUILD	= build-san
CFLAGS	+= -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer
LDFLAGS	+= -fsanitize=address,undefined
FCGI_BIN = $(BUILD)/backfills.fcgi
CTL_BIN	= $(BUILD)/backfillctl
else
BUILD	= build
FCGI_BIN = cgi-bin/backfills.fcgi
CTL_BIN	= bin/backfillctl
endif

CORE	= buf errors datetime conf log http router backfill jsonin auth \
	  store sql db_sqlite wlock service h_status h_backfill access lifecycle plan run h_run
-include mk/postgres.vars
CORE_O	= $(CORE:%=$(BUILD)/%.o)
UNIT	= tests/unit/runner tests/unit/test_datetime tests/unit/test_backfill \
	  tests/unit/test_router tests/unit/test_http tests/unit/test_store \
	  tests/unit/test_service tests/unit/test_conf
UNIT_O	= $(UNIT:tests/unit/%=$(BUILD)/unit/%.o)

.PHONY: all run check unit e2e deps bench prof clean

all: $(FCGI_BIN) $(CTL_BIN)

$(BUILD)/%.o: src/%.c src/*.h | $(BUILD)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/unit/%.o: tests/unit/%.c tests/unit/*.h src/*.h | $(BUILD)
	@mkdir -p $(BUILD)/unit
	$(CC) $(CFLAGS) $(shell pkg-config --cflags check) -c $< -o $@

$(BUILD):
	mkdir -p $(BUILD)

$(FCGI_BIN): $(CORE_O) $(BUILD)/main.o $(BUILD)/prefork.o $(BUILD)/sandbox.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lfcgi -lseccomp

$(CTL_BIN): $(CORE_O) $(BUILD)/backfillctl.o $(BUILD)/copy.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit-runner: $(CORE_O) $(UNIT_O)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check)

deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@PORT=$(PORT) DB='$(DB)' WORKERS=$(WORKERS) STOP_WITH_PARENT=1 \
	    exec scripts/serve.sh

unit: $(BUILD)/unit-runner
	$(BUILD)/unit-runner

# The whole suite under the pre-fork pool (what make run uses), then the
# core modules again under spawn-fcgi, which must keep working.
e2e: all
	FCGI_BIN=$(FCGI_BIN) CTL_BIN=$(CTL_BIN) python3 tests/e2e/run.py
	FCGI_BIN=$(FCGI_BIN) CTL_BIN=$(CTL_BIN) SUPERVISOR=spawn-fcgi \
	    python3 tests/e2e/run.py test_founding test_routes test_update \
	    test_concurrency test_burst

check: deps
	@$(MAKE) --no-print-directory all $(BUILD)/unit-runner
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory fault
	@$(MAKE) --no-print-directory deploy-check
	@$(MAKE) --no-print-directory pg-check

$(BUILD)/floor: tests/bench/floor.c | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< -lfcgi

$(BUILD)/prof: tests/bench/prof.c $(CORE_O)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Instruction counts per request inside the worker (callgrind), by
# function: where the time of show, list and put goes.
prof: all $(BUILD)/prof
	@python3 tests/bench/prof.py

# The service against the floor, with wrk (QUICK=1: about a minute).
bench: deps
	@$(MAKE) --no-print-directory all build/floor
	@python3 tests/bench/bench.py

clean:
	rm -rf build build-san build-fuzz cgi-bin/backfills.fcgi bin/backfillctl

# Further targets, a file per concern (install, fuzzing, ...).
include $(wildcard mk/*.mk)
