# The API's description (issue 15): docs/openapi.yaml, OpenAPI 3.1, built
# into the programs as JSON.
#
#   make               also writes build/openapi_json.c (the JSON as a C
#                      string, compiled in) and build/openapi.json from
#                      docs/openapi.yaml, with build/openapi_embed
#                      (src/openapi_embed.c; libyaml, Debian: libyaml-dev).
#                      No program reads YAML.
#   make e2e           records every answer of the end-to-end suite in
#                      $(BUILD)/e2e-answers.jsonl (tests/e2e/harness.py,
#                      E2E_RECORD), for the check against the description.

# The build tool and what it writes are the plain build's (build/), also
# under SAN=1 and for the fuzzers: they are data, the same for every build.
OPENAPI_EMBED	= build/openapi_embed
OPENAPI_C	= build/openapi_json.c
OPENAPI_JSON	= build/openapi.json
OPENAPI_ANSWERS	= $(BUILD)/e2e-answers.jsonl

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
