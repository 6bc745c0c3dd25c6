/*
 * service: the core. One struct request in, one struct response out;
 * the FastCGI loop, CGI mode, unit tests and fuzzers all call
 * service_handle(). Shared state lives in struct ctx, not in globals.
 */
#ifndef SERVICE_H
#define SERVICE_H

#include "conf.h"
#include "ctx.h"
#include "http.h"

/* Takes a copy of conf; opens nothing yet. */
void	 service_init(struct ctx *, const struct conf *);
/* Opens the store now if it is not open. Returns ERR_OK, or
 * ERR_PRECONDITION (a newer schema: refuse to serve) or ERR_UNAVAILABLE,
 * with why set. */
enum err service_open(struct ctx *, char *why, size_t whylen);
void	 service_close(struct ctx *);
/* Answers one request into resp (reset first). */
void	 service_handle(struct ctx *, const struct request *,
	    struct response *);
/* Upkeep between requests, once the answer is sent (a checkpoint of a
 * long write-ahead log). */
void	 service_idle(struct ctx *);

#endif
