/*
 * jsonin: reading a request body as exactly one JSON value with json-c,
 * strictly (RFC 8259, UTF-8, bounded depth, nothing after it).
 */
#ifndef JSONIN_H
#define JSONIN_H

#include <stddef.h>

#include "errors.h"

struct json_object;

#define JSONIN_DEPTH	32	/* deeper nesting is refused */

/* Parses body[0..len) (body[len] must be NUL). Returns ERR_OK and *out
 * (the caller json_object_put()s it), or ERR_INVALID_JSON and *detail
 * (static text). */
enum err jsonin_parse(const char *body, size_t len, struct json_object **out,
	    const char **detail);

/* jsonin_parse(), then the faithful check: a body whose values json-c
 * would not keep as sent (an integer beyond 64 bits or "-0", a key
 * twice, a key with a NUL) is ERR_RECORD_INVALID, with the field it is
 * in (the key inside the envelope, else the root's) in fe; *out is the
 * parsed tree either way when parsing succeeded (json_object_put it). */
enum err jsonin_body(const char *body, size_t len, struct json_object **out,
	    struct field_errors *fe, const char **detail);

/* Unwraps the body's envelope {"<name>": {...}}: root must be an object
 * whose keys are name (an object) and optionally "api_key". Returns
 * ERR_OK with *inner set, or ERR_INVALID_JSON with *detail pointing at
 * a message valid until the next call. */
enum err jsonin_envelope(struct json_object *root, const char *name,
	    struct json_object **inner, const char **detail);

#endif
