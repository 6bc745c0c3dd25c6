/*
 * exec_api: backfills-exec's side of the executor API, over HTTP(S)
 * with libcurl and json-c: claim a run, renew its lease, report on it.
 * Every call is bounded by the conf's http_timeout and connect_timeout
 * and says whether it is worth retrying; none retries by itself (the
 * caller schedules the retry, so one slow call never holds the others).
 */
#ifndef EXEC_API_H
#define EXEC_API_H

#include <stdint.h>

#include "buf.h"
#include "exec_conf.h"

/* The handle: one libcurl easy handle (its connection kept alive between
 * calls), the headers every call sends, the answer's body. */
struct api {
	void		*curl;		/* CURL * */
	void		*headers;	/* struct curl_slist * */
	char		 base[512];
	struct buf	 body;
	struct buf	 url;
	int		 broken;	/* the body overflowed */
};

/* How a call went. */
enum api_outcome {
	API_OK,		/* a 2xx answer */
	API_RETRY,	/* no answer, a 5xx, 408 or 429: try again later */
	API_REFUSED	/* any other answer: retrying will not help */
};

struct api_reply {
	enum api_outcome outcome;
	long		 status;	/* HTTP status, 0 when none */
	int64_t		 retry_after;	/* ms the server asked for, 0 */
	char		 type[64];	/* the error's "type", "" */
	char		 why[256];	/* for the log: what went wrong */
};

/* The facts of a claimed run that the executor needs. */
#define RUN_ENV_MAX	16
struct claimed_run {
	int64_t		 id;
	int64_t		 backfill_id;
	int64_t		 attempt;
	int64_t		 lease_seconds;
	char		 lease_id[64];
	char		 pipeline_uuid[256];
	char		 execution_date[32];	/* "YYYY-MM-DD HH:MM:SS" */
	/* "NAME=value" for the command's environment, NULL-terminated:
	 * BACKFILL_ID ... VARIABLES (README "backfills-exec"). Owned. */
	char		*env[RUN_ENV_MAX];
};

/* Sets the handle up from the conf. Returns 0, or -1 with err. */
int	api_init(struct api *a, const struct exec_conf *c, char *err,
	    size_t errlen);
void	api_free(struct api *a);

/* POST /pipeline_runs/claim for executor name and the pipelines (a JSON
 * array's text, or "null"). Returns 1 with *run filled (to be
 * claimed_run_free()d), 0 when nothing may start now, -1 with *rep
 * saying why (rep is filled in every case). */
int	api_claim(struct api *a, const char *name, const char *pipelines,
	    struct claimed_run *run, struct api_reply *rep);

/* PUT /pipeline_runs/:id with the lease: a renewal when status is NULL,
 * else a report of status with metrics (a JSON object's text, or NULL).
 * Returns 0 with the run's status as the server now has it written into
 * now_status ("running", "cancelled", ...), or -1 with *rep saying why
 * (rep->type "lease_lost" when the lease is gone). */
int	api_put_run(struct api *a, const struct claimed_run *run,
	    const char *status, const char *metrics, char *now_status,
	    size_t now_len, struct api_reply *rep);

void	claimed_run_free(struct claimed_run *run);

#endif
