# The API's description (issue 15): docs/openapi.yaml, OpenAPI 3.1, built
# into the programs as JSON and served at /api/openapi.json, and the
# checks that keep it true to the service.
#
#   make               also writes build/openapi_json.c (the JSON as a C
#                      string, compiled in) and build/openapi.json from
#                      docs/openapi.yaml, with build/openapi_embed
#                      (src/openapi_embed.c; libyaml, Debian: libyaml-dev).
#                      No program reads YAML.
#   make e2e           records every answer of the end-to-end suite in
#                      $(BUILD)/e2e-answers.jsonl (tests/e2e/harness.py,
#                      E2E_RECORD), for the check against the description.
#   make openapi-check tests/openapi/ (about 15 s once the answers are
#                      recorded; the end-to-end suite is run first when
#                      they are older than the binaries or the tests):
#                      the description linted by Redocly's CLI
#                      (recommended-strict, tests/openapi/redocly.yaml),
#                      its served JSON compared with what js-yaml reads of
#                      the YAML, and every recorded answer checked against
#                      it (tests/openapi/check_answers.py: its operation,
#                      status, headers and body schema; every operation
#                      answered, every component used).
#
# The npm packages are pinned in tests/openapi/package-lock.json and
# installed with npm ci into tests/openapi/node_modules (ignored by git),
# again only when the lock changes. Redocly's CLI runs without its
# telemetry and its check for a newer version: the check asks nothing of
# the network. SAN=1 works as for make check.

# The build tool and what it writes are the plain build's (build/), also
# under SAN=1 and for the fuzzers: they are data, the same for every build.
OPENAPI_EMBED	= build/openapi_embed
OPENAPI_C	= build/openapi_json.c
OPENAPI_JSON	= build/openapi.json
OPENAPI_ANSWERS	= $(BUILD)/e2e-answers.jsonl
OPENAPI_NODE	= tests/openapi/node_modules/.installed
REDOCLY		= tests/openapi/node_modules/.bin/redocly

.PHONY: openapi-check openapi-deps

$(OPENAPI_EMBED): src/openapi_embed.c | build-probe
	@mkdir -p $(dir $@)
	$(CC) $(BF_CPPFLAGS) $(CPPFLAGS) $(BF_CFLAGS) $(CFLAGS) \
	    $(shell pkg-config --cflags $(BUILD_TOOL_PKGS) 2>/dev/null) \
	    $(LDFLAGS) -o $@ $< \
	    $(shell pkg-config --libs $(BUILD_TOOL_PKGS) json-c libcrypto \
	    2>/dev/null)

$(OPENAPI_C) $(OPENAPI_JSON) &: docs/openapi.yaml $(OPENAPI_EMBED)
	$(OPENAPI_EMBED) docs/openapi.yaml $(OPENAPI_C) $(OPENAPI_JSON)

$(BUILD)/openapi_json.o: $(OPENAPI_C) src/openapi.h | build-probe $(BUILD)
	$(COMPILE) -c $< -o $@

# The recorded answers, when make e2e has not left newer ones.
$(OPENAPI_ANSWERS): $(FCGI_BIN) $(CTL_BIN) tests/e2e/*.py scripts/serve.sh \
    nginx.conf.example conf/demo.conf
	@rm -f $@ $@.part
	FCGI_BIN=$(FCGI_BIN) CTL_BIN=$(CTL_BIN) E2E_RECORD=$@.part \
	    python3 tests/e2e/run.py
	@mv $@.part $@

$(OPENAPI_NODE): tests/openapi/package.json tests/openapi/package-lock.json
	cd tests/openapi && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

openapi-deps:
	@scripts/deps.sh build run check openapi

openapi-check: openapi-deps
	@$(MAKE) --no-print-directory all $(OPENAPI_NODE)
	@$(MAKE) --no-print-directory $(OPENAPI_ANSWERS)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	    $(REDOCLY) lint --config tests/openapi/redocly.yaml \
	    --format stylish docs/openapi.yaml
	node tests/openapi/same_json.js docs/openapi.yaml $(OPENAPI_JSON)
	python3 tests/openapi/check_answers.py $(OPENAPI_JSON) \
	    $(OPENAPI_ANSWERS)
