/*
 * GET /api/metrics: the pool's counters (metrics.c) and, read at scrape
 * time, the write queue's, the database's size and its backfills and
 * runs by status, in Prometheus' text format. Only for the addresses
 * metrics_allow names (never behind the API's credentials alone: the
 * route takes none).
 */
#include "handlers.h"
#include "metrics.h"
#include "store.h"
#include "wlock.h"

static void
gauge_by_status(struct buf *out, const char *name, const char *help,
    const int64_t *n)
{
	int	 s;

	buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
	for (s = 0; s < ST__MAX; s++)
		buf_printf(out, "%s{status=\"%s\"} %lld\n", name,
		    s == ST_NULL ? "new" : bf_status_name((enum bf_status)s),
		    (long long)n[s]);
}

void
h_metrics(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct store_stats st;
	uint64_t	 waits, wait_ns, timeouts;
	int64_t		 size;
	enum err	 e;

	(void)m;
	if (!addr_allowed(c->conf.metrics_allow, req->remote_addr)) {
		resp_error(resp, ERR_UNAUTHORIZED, "The metrics are not "
		    "reachable from this address (metrics_allow).", NULL);
		return;
	}
	if ((e = store_stats(c->store, &st)) != ERR_OK ||
	    (e = store_size(c->store, &size)) != ERR_OK) {
		resp_error(resp, e, NULL, NULL);
		return;
	}
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	metrics_render(&resp->body, c->metrics);
	if (c->wlock != NULL) {
		wlock_stats(c->wlock, &waits, &wait_ns, &timeouts);
		buf_printf(&resp->body, "# HELP backfills_write_queue_waits_"
		    "total Writes that waited for the pool's write queue.\n"
		    "# TYPE backfills_write_queue_waits_total counter\n"
		    "backfills_write_queue_waits_total %llu\n"
		    "# HELP backfills_write_queue_wait_seconds_total How long "
		    "they waited in all.\n"
		    "# TYPE backfills_write_queue_wait_seconds_total counter\n"
		    "backfills_write_queue_wait_seconds_total %.6f\n"
		    "# HELP backfills_write_queue_timeouts_total Waits that gave "
		    "up after busy_timeout (answered 503).\n"
		    "# TYPE backfills_write_queue_timeouts_total counter\n"
		    "backfills_write_queue_timeouts_total %llu\n",
		    (unsigned long long)waits, (double)wait_ns / 1e9,
		    (unsigned long long)timeouts);
	}
	buf_printf(&resp->body, "# HELP backfills_database_size_bytes The "
	    "database's size.\n# TYPE backfills_database_size_bytes gauge\n"
	    "backfills_database_size_bytes %lld\n", (long long)size);
	buf_printf(&resp->body, "# HELP backfills_pipelines Pipelines.\n"
	    "# TYPE backfills_pipelines gauge\nbackfills_pipelines %lld\n",
	    (long long)st.pipelines);
	gauge_by_status(&resp->body, "backfills_backfills",
	    "Backfills by status (new: never started).", st.backfills);
	gauge_by_status(&resp->body, "backfills_runs",
	    "Planned dates by the status of their latest attempt.", st.runs);
	buf_puts(&resp->body, "# HELP backfills_build_info The build.\n"
	    "# TYPE backfills_build_info gauge\n"
	    "backfills_build_info{version=\"" BACKFILLS_VERSION "\"} 1\n");
}
