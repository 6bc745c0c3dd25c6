/*
 * handlers: one function per route and method. Each gets a request that
 * passed routing, method, body-size checks and (when on) authentication,
 * inside the request's transaction (service.c commits a write that
 * answers 2xx and rolls back anything else), and fills the response.
 */
#ifndef HANDLERS_H
#define HANDLERS_H

#include "backfill.h"
#include "ctx.h"
#include "http.h"
#include "router.h"

typedef void (*handler_fn)(struct ctx *, const struct request *,
    const struct route_match *, struct response *);

/* h_metrics.c */
void	h_metrics(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);

/* h_openapi.c: the API's description, docs/openapi.yaml as JSON */
void	h_openapi(struct ctx *, const struct request *,
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
void	h_run_claim(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);
void	h_run_retry(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);

/* h_frame.c: what Mage's UI asks of every page (its frame) */
void	h_pipeline_logs(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);
void	h_statuses(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);
void	h_projects(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);
void	h_pipeline_show(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);
void	h_pipeline_variables(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);
void	h_git_branch(struct ctx *, const struct request *,
	    const struct route_match *, struct response *);

#endif
