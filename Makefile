# backfills: a FastCGI worker, an admin CLI and an executor in C.
#   make            build cgi-bin/backfills.fcgi, bin/backfillctl and
#                   bin/backfills-exec (mk/exec.mk)
#   make run        set up, build, create the demo database, serve on PORT
#   make check      set up, build, run the unit and end-to-end tests, and
#                   check the API's description (make openapi-check)
#   make check SAN=1  the same under AddressSanitizer + UBSan
#   make bench      throughput and latency against a floor (QUICK=1)

VERSION	:= $(shell cat VERSION)
PORT	?= 6789
DB	?= var/backfills.db
WORKERS	?= $(shell echo $$((4 * $$(nproc 2>/dev/null || echo 1))))

CC	?= cc
PKGS	= json-c sqlite3 inih libcrypto
# What a build tool needs besides, not linked into the programs: libyaml
# reads docs/openapi.yaml (mk/openapi.mk).
BUILD_TOOL_PKGS = yaml-0.1
# CPPFLAGS, CFLAGS and LDFLAGS are the caller's (Debian's dpkg-buildflags,
# say): the project's own flags go beside them, so setting them on the
# command line never drops -std=gnu11, -Werror or -Isrc.
CFLAGS	?= -O2 -g
BF_CPPFLAGS = -Isrc -DBACKFILLS_VERSION='"$(VERSION)"' \
	   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
BF_CFLAGS = -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes
LDLIBS	= $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(SAN),1)
BUILD	= build-san
SAN_FLAGS = -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer
FCGI_BIN = $(BUILD)/backfills.fcgi
CTL_BIN	= $(BUILD)/backfillctl
else
BUILD	= build
FCGI_BIN = cgi-bin/backfills.fcgi
CTL_BIN	= bin/backfillctl
endif
# Compiling, and linking (with the same flags, as a compiler driver wants).
COMPILE	= $(CC) $(BF_CPPFLAGS) $(CPPFLAGS) $(BF_CFLAGS) $(CFLAGS) $(SAN_FLAGS)
LINK	= $(CC) $(BF_CFLAGS) $(CFLAGS) $(SAN_FLAGS) $(LDFLAGS)

CORE	= buf errors datetime conf confval log http router backfill jsonin auth \
	  store sql db_sqlite wlock service h_status h_backfill access lifecycle plan run h_run frame h_frame metrics h_metrics \
	  h_openapi openapi_json
-include mk/postgres.vars
CORE_O	= $(CORE:%=$(BUILD)/%.o)
UNIT	= tests/unit/runner tests/unit/test_datetime tests/unit/test_backfill \
	  tests/unit/test_router tests/unit/test_http tests/unit/test_store \
	  tests/unit/test_service tests/unit/test_conf tests/unit/test_auth \
	  tests/unit/test_run
UNIT_O	= $(UNIT:tests/unit/%=$(BUILD)/unit/%.o)

.PHONY: all run check unit e2e deps build-probe bench prof clean

# var/: where the shipped conf (conf/backfills.conf) puts the database.
all: $(FCGI_BIN) $(CTL_BIN) var

var:
	mkdir -p $@

$(BUILD)/%.o: src/%.c src/*.h | build-probe $(BUILD)
	$(COMPILE) -c $< -o $@

# The version is the file VERSION's; these files print it.
$(patsubst %,$(BUILD)/%.o,backfillctl exec_api exec_main h_frame h_metrics \
	h_status main): VERSION

$(BUILD)/unit/%.o: tests/unit/%.c tests/unit/*.h src/*.h | build-probe $(BUILD)
	@mkdir -p $(BUILD)/unit
	$(COMPILE) $(shell pkg-config --cflags check) -c $< -o $@

$(BUILD):
	mkdir -p $(BUILD)

$(FCGI_BIN): $(CORE_O) $(BUILD)/main.o $(BUILD)/prefork.o $(BUILD)/sandbox.o
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(LDLIBS) -lfcgi -lseccomp

$(CTL_BIN): $(CORE_O) $(BUILD)/backfillctl.o $(BUILD)/copy.o
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(LDLIBS)

$(BUILD)/unit-runner: $(CORE_O) $(UNIT_O)
	$(LINK) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check)

# Before the first compile: the compiler, pkg-config and each library
# (its pkg-config module or header) are there, or make stops with the
# apt-get line of what is missing. Plain make never installs; the targets
# below that set up (run, check, unit, ...) install as root what they
# need first (scripts/deps.sh GROUP...).
build-probe:
	@{ command -v $(firstword $(CC)) && \
	   pkg-config --exists $(PKGS) $(BUILD_TOOL_PKGS) && \
	   printf '#include <fcgiapp.h>\n#include <seccomp.h>\n' | \
	   $(CC) $(BF_CPPFLAGS) $(CPPFLAGS) -E -x c - ; } >/dev/null 2>&1 || \
	{ scripts/deps.sh -n build && echo "make: $(firstword $(CC))," \
	    "pkg-config or a library ($(PKGS) $(BUILD_TOOL_PKGS), libfcgi," \
	    "libseccomp) is missing" >&2; exit 1; }

# Every package any target needs (what CI installs first).
deps:
	@scripts/deps.sh

run:
	@scripts/deps.sh build run $(if $(filter spawn-fcgi,$(SUPERVISOR)),spawn-fcgi)
	@$(MAKE) --no-print-directory all
	@PORT=$(PORT) DB='$(DB)' WORKERS=$(WORKERS) STOP_WITH_PARENT=1 \
	    exec scripts/serve.sh

unit:
	@scripts/deps.sh build check
	@$(MAKE) --no-print-directory $(BUILD)/unit-runner
	$(BUILD)/unit-runner

# The whole suite under the pre-fork pool (what make run uses), then the
# core modules again under spawn-fcgi, which must keep working. The first
# run records every answer for make openapi-check (mk/openapi.mk).
e2e:
	@scripts/deps.sh build run check
	@$(MAKE) --no-print-directory all
	@rm -f $(OPENAPI_ANSWERS) $(OPENAPI_ANSWERS).part
	FCGI_BIN=$(FCGI_BIN) CTL_BIN=$(CTL_BIN) \
	    E2E_RECORD=$(OPENAPI_ANSWERS).part python3 tests/e2e/run.py
	@mv $(OPENAPI_ANSWERS).part $(OPENAPI_ANSWERS)
	FCGI_BIN=$(FCGI_BIN) CTL_BIN=$(CTL_BIN) SUPERVISOR=spawn-fcgi \
	    python3 tests/e2e/run.py test_founding test_routes test_update \
	    test_concurrency test_burst

# Installs every group (the tests', fuzzing's, Apache, PostgreSQL, ...),
# so that any target works afterwards.
check: deps
	@$(MAKE) --no-print-directory all $(BUILD)/unit-runner
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory openapi-check
	@$(MAKE) --no-print-directory exec-check
	@$(MAKE) --no-print-directory fault
	@$(MAKE) --no-print-directory deploy-check
	@$(MAKE) --no-print-directory pg-check

$(BUILD)/floor: tests/bench/floor.c | build-probe $(BUILD)
	$(COMPILE) $(LDFLAGS) -o $@ $< -lfcgi

$(BUILD)/prof: tests/bench/prof.c $(CORE_O)
	$(COMPILE) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Instruction counts per request inside the worker (callgrind), by
# function: where the time of show, list and put goes.
prof:
	@scripts/deps.sh build prof
	@$(MAKE) --no-print-directory all $(BUILD)/prof
	@python3 tests/bench/prof.py

# The service against the floor, with wrk (QUICK=1: about a minute).
bench:
	@scripts/deps.sh build run bench
	@$(MAKE) --no-print-directory all build/floor
	@python3 tests/bench/bench.py

clean:
	rm -rf build build-san build-fuzz cgi-bin/backfills.fcgi bin/backfillctl \
	    bin/backfills-exec

# Further targets, a file per concern (install, fuzzing, ...).
include $(wildcard mk/*.mk)
