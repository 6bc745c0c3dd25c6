# backfills-exec: the executor (src/exec_*.c), a client of the API over
# HTTP(S): libcurl (Debian: libcurl4-openssl-dev), json-c, inih.
#
#   make               builds bin/backfills-exec too (SAN=1: build-san/)
#   make exec-check    tests/exec/run.py: real nginx + workers, real
#                      executors running real commands (about 2 minutes)
#   make exec-bench    tests/bench/exec_bench.py: runs handed out and
#                      reported a second by one executor running `true`,
#                      and the latency of a claim (p50, p99)
#
# Both take SAN=1 like make check.

ifeq ($(SAN),1)
EXEC_BIN	= $(BUILD)/backfills-exec
else
EXEC_BIN	= bin/backfills-exec
endif
EXEC_O		= $(BUILD)/exec_main.o $(BUILD)/exec_conf.o $(BUILD)/exec_api.o \
		  $(BUILD)/confval.o \
		  $(BUILD)/exec_proc.o $(BUILD)/buf.o $(BUILD)/log.o \
		  $(BUILD)/datetime.o
EXEC_LDLIBS	= $(shell pkg-config --libs json-c inih libcurl 2>/dev/null)

.PHONY: exec-check exec-bench

all: $(EXEC_BIN)

$(BUILD)/exec_api.o $(BUILD)/exec_main.o: BF_CPPFLAGS += \
	$(shell pkg-config --cflags libcurl 2>/dev/null)

$(EXEC_BIN): $(EXEC_O)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $^ $(EXEC_LDLIBS)

exec-check:
	@scripts/deps.sh build run check
	@$(MAKE) --no-print-directory all
	FCGI_BIN=$(FCGI_BIN) CTL_BIN=$(CTL_BIN) EXEC_BIN=$(EXEC_BIN) \
	    python3 tests/exec/run.py

exec-bench:
	@scripts/deps.sh build run
	@$(MAKE) --no-print-directory all
	@python3 tests/bench/exec_bench.py
