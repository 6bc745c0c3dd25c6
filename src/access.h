/*
 * access: checks a request's credentials against the store (docs/API.md
 * "Credentials"), between the router and the handlers.
 */
#ifndef ACCESS_H
#define ACCESS_H

#include "ctx.h"
#include "errors.h"
#include "http.h"

/* Checks the request's API key and token and the token's role against
 * the method, inside the request's transaction. Returns ERR_OK (and sets
 * c->who, the pair's identity) or the error to answer (401, 403, or 503
 * from the store). */
enum err access_check(struct ctx *, const struct request *);

#endif
