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

#endif
