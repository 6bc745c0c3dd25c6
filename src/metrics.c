#include <sys/mman.h>

#include <string.h>

#include "metrics.h"

/* The statuses the service answers, each counted on its own; any other
 * counts as "other". */
static const int statuses[] = { 200, 201, 204, 304, 400, 401, 403, 404,
    405, 409, 411, 412, 413, 422, 500, 503 };
#define NSTATUS	(sizeof(statuses) / sizeof(statuses[0]) + 1)

/* Latency buckets, seconds (Prometheus' le), in microseconds; +Inf last. */
static const int64_t buckets[] = { 1000, 2500, 5000, 10000, 25000, 50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000 };
#define NBUCKET	(sizeof(buckets) / sizeof(buckets[0]) + 1)

#define NROUTE	(ROUTE__MAX + 1)	/* and ROUTE_NONE */

struct metrics {
	uint64_t	 requests[NROUTE][M__MAX][NSTATUS];
	uint64_t	 latency[NROUTE][NBUCKET];	/* per bucket */
	uint64_t	 latency_us[NROUTE];		/* the sum */
	int64_t		 busy;
	int64_t		 workers;
	uint64_t	 replaced, recycled, reloads;
};

#define ADD(p, n)	__atomic_fetch_add((p), (n), __ATOMIC_RELAXED)
#define GET(p)		__atomic_load_n((p), __ATOMIC_RELAXED)

struct metrics *
metrics_create(void)
{
	struct metrics	*m;

	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	memset(m, 0, sizeof(*m));
	return m;
}

void
metrics_request(struct metrics *m, enum method meth, enum route r,
    int status, int64_t micros)
{
	size_t	 s, b;

	if (m == NULL)
		return;
	if ((unsigned)r > ROUTE__MAX)
		r = ROUTE_NONE;
	if ((unsigned)meth >= M__MAX)
		meth = M_OTHER;
	for (s = 0; s < NSTATUS - 1 && statuses[s] != status; s++)
		;
	for (b = 0; b < NBUCKET - 1 && micros > buckets[b]; b++)
		;
	ADD(&m->requests[r][meth][s], 1);
	ADD(&m->latency[r][b], 1);
	ADD(&m->latency_us[r], (uint64_t)(micros > 0 ? micros : 0));
}

void
metrics_busy(struct metrics *m, int delta)
{
	if (m != NULL)
		ADD(&m->busy, delta);
}

void
metrics_workers(struct metrics *m, int n)
{
	if (m != NULL)
		__atomic_store_n(&m->workers, n, __ATOMIC_RELAXED);
}

void
metrics_replaced(struct metrics *m)
{
	if (m != NULL)
		ADD(&m->replaced, 1);
}

void
metrics_recycled(struct metrics *m)
{
	if (m != NULL)
		ADD(&m->recycled, 1);
}

void
metrics_reloaded(struct metrics *m)
{
	if (m != NULL)
		ADD(&m->reloads, 1);
}

/* The name of route r in a label. */
static const char *
rname(size_t r)
{
	return r < ROUTE__MAX ? route_name((enum route)r) : "none";
}

static void
help(struct buf *out, const char *name, const char *type, const char *text)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, text, name,
	    type);
}

void
metrics_render(struct buf *out, const struct metrics *m)
{
	uint64_t	 n, cum, sum;
	int64_t		 busy, workers;
	size_t		 r, me, s, b;

	if (m == NULL)
		return;
	help(out, "backfills_requests_total", "counter",
	    "Requests answered, by route, method and status.");
	for (r = 0; r < NROUTE; r++)
		for (me = 0; me < M__MAX; me++)
			for (s = 0; s < NSTATUS; s++) {
				if ((n = GET(&m->requests[r][me][s])) == 0)
					continue;
				buf_printf(out, "backfills_requests_total{route="
				    "\"%s\",method=\"%s\",status=\"", rname(r),
				    http_method_name((enum method)me));
				if (s < NSTATUS - 1)
					buf_printf(out, "%d", statuses[s]);
				else
					buf_puts(out, "other");
				buf_printf(out, "\"} %llu\n",
				    (unsigned long long)n);
			}
	help(out, "backfills_request_duration_seconds", "histogram",
	    "Time from a request's arrival to its answer, by route.");
	for (r = 0; r < NROUTE; r++) {
		for (b = 0, cum = 0; b < NBUCKET; b++)
			cum += GET(&m->latency[r][b]);
		if (cum == 0)
			continue;
		for (b = 0, cum = 0; b < NBUCKET; b++) {
			cum += GET(&m->latency[r][b]);
			if (b < NBUCKET - 1)
				buf_printf(out, "backfills_request_duration_"
				    "seconds_bucket{route=\"%s\",le=\"%g\"} "
				    "%llu\n", rname(r), (double)buckets[b] / 1e6,
				    (unsigned long long)cum);
			else
				buf_printf(out, "backfills_request_duration_"
				    "seconds_bucket{route=\"%s\",le=\"+Inf\"} "
				    "%llu\n", rname(r), (unsigned long long)cum);
		}
		sum = GET(&m->latency_us[r]);
		buf_printf(out, "backfills_request_duration_seconds_sum{route="
		    "\"%s\"} %.6f\nbackfills_request_duration_seconds_count{"
		    "route=\"%s\"} %llu\n", rname(r), (double)sum / 1e6,
		    rname(r), (unsigned long long)cum);
	}
	busy = GET(&m->busy);
	workers = GET(&m->workers);
	help(out, "backfills_workers", "gauge",
	    "The pool's workers, busy with a request or idle.");
	buf_printf(out, "backfills_workers{state=\"busy\"} %lld\n"
	    "backfills_workers{state=\"idle\"} %lld\n", (long long)busy,
	    (long long)(workers > busy ? workers - busy : 0));
	help(out, "backfills_workers_replaced_total", "counter",
	    "Workers that died and were replaced.");
	buf_printf(out, "backfills_workers_replaced_total %llu\n",
	    (unsigned long long)GET(&m->replaced));
	help(out, "backfills_workers_recycled_total", "counter",
	    "Workers replaced after max_requests.");
	buf_printf(out, "backfills_workers_recycled_total %llu\n",
	    (unsigned long long)GET(&m->recycled));
	help(out, "backfills_reloads_total", "counter",
	    "Reloads of the conf (SIGHUP) that took.");
	buf_printf(out, "backfills_reloads_total %llu\n",
	    (unsigned long long)GET(&m->reloads));
}
