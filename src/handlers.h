/*
 * handlers: one function per route and method. Each gets a request that
 * passed routing, method, body-size checks and (when on) authentication,
 * inside the request's transaction (service.c commits a write that
 * answers 2xx and rolls back anything else), and fills the response.
 */
#ifndef HANDLERS_H
#define HANDLERS_H

#include "backfill.h"
#include "http.h"
#include "router.h"
#include "service.h"

typedef void (*handler_fn)(struct ctx *, const struct request *,
    const struct route_match *, struct response *);

/* h_status.c */
void	h_status(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);

/* h_backfill.c */
void	h_backfill_list(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);
void	h_backfill_create(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);
void	h_backfill_show(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);
void	h_backfill_update(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);
void	h_backfill_delete(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);

/* h_run.c */
void	h_run_list(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);
void	h_run_show(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);
void	h_run_update(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);

/* h_backfill.c: SPEC's list bounds, shared by every paginated list.
 * Reads _limit and _offset; returns 0, or -1 after answering 400. */
int	page_query(const struct request *, struct response *,
	    int64_t *limit, int64_t *offset);

/* h_backfill.c: after a run report moved a backfill's status, writes the
 * change (timestamps, version) in the request's transaction. */
enum err backfill_follow(struct ctx *, int64_t backfill_id,
	    enum bf_status run_to, int64_t now);

/* h_auth.c: checks the request's API key and token (SPEC
 * "Authentication") and the token's role against the method. Returns
 * ERR_OK or the error to answer (401, 403, or 503 from the store). */
enum err authenticate(struct ctx *, const struct request *);

/* Returns 1 when the If-Match header value matches etag (RFC 9110
 * 13.1.1: "*", or a list of strong entity tags), 0 otherwise. */
int	etag_matches(const char *if_match, const char *etag);

#endif
