/*
 * openapi: the API's description, docs/openapi.yaml in its JSON form,
 * built into the program (build/openapi_json.c, written at build time by
 * src/openapi_embed.c): the worker reads no YAML and no file to serve it.
 */
#ifndef OPENAPI_H
#define OPENAPI_H

#include <stddef.h>

extern const char	openapi_json[];		/* the JSON text, NUL-ended */
extern const size_t	openapi_json_len;	/* its length */
extern const char	openapi_etag[];		/* "\"<hash of the text>\"" */

#endif
