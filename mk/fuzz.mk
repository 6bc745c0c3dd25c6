# Fuzzing: libFuzzer harnesses in tests/fuzz/ (clang, with AddressSanitizer
# and UndefinedBehaviorSanitizer), each with a seed corpus and a dictionary
# checked in. Needs clang and libFuzzer (Debian 12: clang, libclang-rt-14-dev).
#
#   make fuzz            build into build-fuzz/, run each harness FUZZ_SECONDS
#                        (default 60) on a copy of its corpus; fails on a crash
#   make fuzz-ci         fuzz-regress, then make fuzz with 20 seconds each
#   make fuzz-regress    replay tests/fuzz/regressions/<harness>/* and the
#                        seed corpora once; fails on a crash
#   make fuzz-build      build only
#
# A crash leaves its input in build-fuzz/artifacts/<harness>/ and the log in
# build-fuzz/<harness>.log; copy the input into tests/fuzz/regressions/<harness>/.
# make -j4 fuzz runs the harnesses side by side.

FUZZ_SECONDS	?= 60
FUZZ_CC		?= clang
FUZZ_DIR	= build-fuzz
FUZZ_SRC	= tests/fuzz
FUZZ_HARNESSES	= fuzz_request fuzz_patch fuzz_datetime fuzz_auth
FUZZ_SAN	= -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS	= -std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra \
		  -Isrc -DBACKFILLS_VERSION='"$(VERSION)"' $(FUZZ_SAN) \
		  $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_LDLIBS	= $(shell pkg-config --libs $(PKGS) 2>/dev/null)
FUZZ_CORE_O	= $(CORE:%=$(FUZZ_DIR)/obj/%.o)
FUZZ_BINS	= $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/%)
# Per harness libFuzzer options (the request format needs room for bodies).
FUZZ_OPTS	= -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_OPTS_fuzz_request	= -max_len=8192
FUZZ_OPTS_fuzz_patch	= -max_len=8192
FUZZ_OPTS_fuzz_datetime	= -max_len=64
FUZZ_OPTS_fuzz_auth	= -max_len=4096
FUZZ_ENV	= ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: fuzz fuzz-ci fuzz-build fuzz-regress fuzz-deps \
	$(FUZZ_HARNESSES:%=fuzz-run-%)

# clang and libFuzzer (scripts/deps.sh: installed as root), before the
# first fuzz object is compiled.
fuzz-deps:
	@scripts/deps.sh build fuzz

fuzz-build: $(FUZZ_BINS)

.SECONDARY: $(FUZZ_CORE_O)

$(FUZZ_DIR)/obj/%.o: src/%.c src/*.h | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

# The API's description is generated, not in src/ (mk/openapi.mk).
$(FUZZ_DIR)/obj/openapi_json.o: build/openapi_json.c src/openapi.h | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/%: $(FUZZ_SRC)/%.c $(FUZZ_CORE_O) src/*.h | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer -o $@ $< \
	    $(FUZZ_CORE_O) \
	    $(FUZZ_LDLIBS)

# Each run works on a temporary copy of the corpus, so the checked-in
# seeds never change; the summary line gives the executions.
$(FUZZ_HARNESSES:%=fuzz-run-%): fuzz-run-%: $(FUZZ_DIR)/%
	@set -e; h=$*; work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; \
	cp -R $(FUZZ_SRC)/corpus/$$h/. "$$work/"; \
	mkdir -p $(FUZZ_DIR)/artifacts/$$h; \
	echo "fuzz: $$h for $(FUZZ_SECONDS) s (log: $(FUZZ_DIR)/$$h.log)"; \
	if $(FUZZ_ENV) $(FUZZ_DIR)/$$h $(FUZZ_OPTS) $(FUZZ_OPTS_$*) \
	    -dict=$(FUZZ_SRC)/$$h.dict -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=$(FUZZ_DIR)/artifacts/$$h/ \
	    "$$work" >$(FUZZ_DIR)/$$h.log 2>&1; then \
		execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' \
		    $(FUZZ_DIR)/$$h.log); \
		echo "fuzz: $$h: $$execs executions, no crash"; \
	else \
		tail -n 60 $(FUZZ_DIR)/$$h.log; \
		echo "fuzz: $$h FAILED; input in $(FUZZ_DIR)/artifacts/$$h/"; \
		exit 1; \
	fi

fuzz: $(FUZZ_HARNESSES:%=fuzz-run-%)

fuzz-ci: fuzz-regress
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20

# Every crash found stays a test: each file in regressions/<harness>/
# (and each seed) is run once through its harness.
fuzz-regress: $(FUZZ_BINS)
	@set -e; fail=0; for h in $(FUZZ_HARNESSES); do \
		files=$$(find $(FUZZ_SRC)/regressions/$$h \
		    $(FUZZ_SRC)/corpus/$$h -type f ! -name 'README*' \
		    2>/dev/null | sort); \
		[ -n "$$files" ] || continue; \
		n=$$(echo "$$files" | wc -l); \
		if $(FUZZ_ENV) $(FUZZ_DIR)/$$h $$files \
		    >$(FUZZ_DIR)/$$h-regress.log 2>&1; then \
			echo "fuzz-regress: $$h: $$n inputs, no crash"; \
		else \
			tail -n 40 $(FUZZ_DIR)/$$h-regress.log; \
			echo "fuzz-regress: $$h FAILED"; fail=1; \
		fi; \
	done; exit $$fail
