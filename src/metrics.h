/*
 * metrics: counters of a pool, in memory its supervisor shares with the
 * workers it forks (as the write queue is), so that they add up across
 * workers and outlive a worker's replacement: requests by route, method
 * and status, their latency, workers busy, replaced and recycled,
 * reloads. Rendered as Prometheus' text format (metrics_render) with
 * what is asked of the database at scrape time (h_metrics.c). Without a
 * pool (spawn-fcgi, CGI) each process counts its own.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "router.h"

struct metrics;

/* Makes the counters in memory that children forked later share; NULL
 * if the system cannot. */
struct metrics	*metrics_create(void);

/* A request answered: its method, route (ROUTE_NONE for none), status
 * and how long it took. */
void	 metrics_request(struct metrics *, enum method, enum route, int status,
	    int64_t micros);
/* A worker took a request (busy +1) or finished one (-1). */
void	 metrics_busy(struct metrics *, int delta);
/* The supervisor's events: the pool's size; a worker that died and was
 * replaced, one recycled after max_requests, a reload of the conf. */
void	 metrics_workers(struct metrics *, int n);
void	 metrics_replaced(struct metrics *);
void	 metrics_recycled(struct metrics *);
void	 metrics_reloaded(struct metrics *);

/* Appends the counters in Prometheus' text format (version 0.0.4). */
void	 metrics_render(struct buf *, const struct metrics *);

#endif
