/*
 * exec_api: the executor API over HTTP(S). libcurl's easy interface, one
 * handle kept for the executor's life so its connection to nginx is
 * reused; json-c reads the answers. See exec_api.h for the contract.
 */
#define _GNU_SOURCE	/* asprintf */
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_api.h"

#define BODY_MAX	(1 << 20)	/* the largest answer read */

/* libcurl's write callback: appends to a->body, refuses past BODY_MAX
 * (the transfer then fails with CURLE_WRITE_ERROR). */
static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct api	*a = arg;

	n *= size;	/* size is 1, says libcurl */
	if (a->body.len + n > BODY_MAX) {
		a->broken = 1;
		return 0;
	}
	buf_add(&a->body, p, n);
	return a->body.oom ? 0 : n;
}

/* Appends line (copied) to *h. Returns 0, or -1 (out of memory). */
static int
add_header(struct curl_slist **h, const char *line)
{
	struct curl_slist	*t;

	if (line == NULL || (t = curl_slist_append(*h, line)) == NULL)
		return -1;
	*h = t;
	return 0;
}

int
api_init(struct api *a, const struct exec_conf *c, char *err,
    size_t errlen)
{
	struct curl_slist	*h = NULL;
	struct buf		 key = { 0 }, bearer = { 0 };
	CURL			*curl;
	int			 bad;

	memset(a, 0, sizeof(*a));
	snprintf(a->base, sizeof(a->base), "%s", c->url);
	if ((curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "libcurl: cannot make a handle");
		return -1;
	}
	a->curl = curl;
	/* No credential is ever logged. "Expect:" drops libcurl's wait for
	 * a 100-continue on larger bodies. */
	buf_printf(&key, "X-API-KEY: %s", c->api_key);
	buf_printf(&bearer, "Authorization: Bearer %s", c->token);
	bad = key.oom || bearer.oom || add_header(&h, key.data) < 0 ||
	    add_header(&h, bearer.data) < 0 ||
	    add_header(&h, "Content-Type: application/json") < 0 ||
	    add_header(&h, "Accept: application/json") < 0 ||
	    add_header(&h, "Expect:") < 0;
	buf_free(&key);
	buf_free(&bearer);
	a->headers = h;
	if (bad) {
		snprintf(err, errlen, "out of memory");
		api_free(a);
		return -1;
	}
	if (curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
	    (long)c->http_timeout) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(c->connect_timeout < c->http_timeout ? c->connect_timeout :
	    c->http_timeout)) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_USERAGENT, "backfills-exec/"
	    BACKFILLS_VERSION) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body) !=
	    CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_WRITEDATA, a) != CURLE_OK ||
	    (c->ca_file[0] != '\0' && curl_easy_setopt(curl, CURLOPT_CAINFO,
	    c->ca_file) != CURLE_OK)) {
		snprintf(err, errlen, "libcurl refused an option (is it "
		    "7.85 or newer?)");
		api_free(a);
		return -1;
	}
	return 0;
}

void
api_free(struct api *a)
{
	if (a->curl != NULL)
		curl_easy_cleanup(a->curl);
	curl_slist_free_all(a->headers);
	buf_free(&a->body);
	buf_free(&a->url);
	memset(a, 0, sizeof(*a));
}

/* The string at key of o, or NULL when absent or of another type. */
static const char *
get_str(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The integer at key of o into *out. Returns 0, or -1 when absent or of
 * another type (json-c would coerce). */
static int
get_int(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

/* One call: method on path (from the API's URL) with body (or NULL).
 * Returns the answer's JSON (the caller's to put; NULL when the body is
 * none or not JSON) and fills *rep. */
static struct json_object *
call(struct api *a, const char *method, const char *path, const char *body,
    struct api_reply *rep)
{
	struct json_object	*o = NULL, *e;
	const char		*t;
	int64_t			 code;
	curl_off_t		 ra = 0;
	CURLcode		 rc;
	CURL			*curl = a->curl;

	memset(rep, 0, sizeof(*rep));
	buf_reset(&a->body);
	buf_reset(&a->url);
	a->broken = 0;
	/* Real statuses even from a service that answers errors as Mage
	 * does (http_error_codes = off, for Mage's UI): Mage's own switch. */
	buf_printf(&a->url, "%s%s%c_http_error_codes=true", a->base, path,
	    strchr(path, '?') != NULL ? '&' : '?');
	if (a->url.oom || a->body.oom) {
		rep->outcome = API_RETRY;
		snprintf(rep->why, sizeof(rep->why), "out of memory");
		return NULL;
	}
	curl_easy_setopt(curl, CURLOPT_URL, a->url.data);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE,
	    (long)(body ? strlen(body) : 0));
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		rep->outcome = a->broken ? API_REFUSED : API_RETRY;
		snprintf(rep->why, sizeof(rep->why), "%s %s: %s", method,
		    path, a->broken ? "answer over 1 MiB" :
		    curl_easy_strerror(rc));
		return NULL;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &rep->status);
	if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
	    ra > 0)
		rep->retry_after = (int64_t)(ra > 3600 ? 3600 : ra) * 1000;
	if (a->body.len > 0)
		o = json_tokener_parse(a->body.data);
	/* ... and should a proxy or an older service still answer an error
	 * with 200, its body says so: {"error": {"code": 409, ...}} */
	if (rep->status >= 200 && rep->status < 300 && o != NULL &&
	    json_object_object_get_ex(o, "error", &e) &&
	    get_int(e, "code", &code) == 0 && code >= 400 && code < 600)
		rep->status = (long)code;
	if (rep->status >= 200 && rep->status < 300) {
		rep->outcome = API_OK;
		return o;
	}
	rep->outcome = rep->status >= 500 || rep->status == 408 ||
	    rep->status == 429 ? API_RETRY : API_REFUSED;
	if (o != NULL && json_object_object_get_ex(o, "error", &e) &&
	    (t = get_str(e, "type")) != NULL)
		snprintf(rep->type, sizeof(rep->type), "%s", t);
	t = o != NULL && json_object_object_get_ex(o, "error", &e) ?
	    get_str(e, "message") : NULL;
	snprintf(rep->why, sizeof(rep->why), "%s %s: %ld %s%s%.120s", method,
	    path, rep->status, rep->type[0] ? rep->type : "(no error type)",
	    t ? ": " : "", t ? t : "");
	return o;
}

/* Appends "NAME=value" to run->env. Returns 0, or -1 (out of memory, or
 * no room). */
static int
env_add(struct claimed_run *run, const char *name, const char *value)
{
	size_t	 i;

	for (i = 0; i < RUN_ENV_MAX - 1 && run->env[i] != NULL; i++)
		;
	if (i == RUN_ENV_MAX - 1 ||
	    asprintf(&run->env[i], "%s=%s", name, value ? value : "") < 0) {
		run->env[i] = NULL;
		return -1;
	}
	return 0;
}

/* The command's environment from the claim's run r and its plan p
 * (README "backfills-exec": which variable holds what). Returns 0 or -1
 * (out of memory). */
static int
claim_env(struct claimed_run *run, struct json_object *r,
    struct json_object *p)
{
	struct json_object	*v = NULL, *all;
	char			 num[32], iso[32];
	const char		*s;
	int64_t			 n;
	int			 bad = 0;

	snprintf(num, sizeof(num), "%lld", (long long)run->backfill_id);
	bad |= env_add(run, "BACKFILL_ID", num);
	bad |= env_add(run, "BACKFILL_NAME", get_str(r, "backfill_name"));
	bad |= env_add(run, "PIPELINE_UUID", run->pipeline_uuid);
	snprintf(num, sizeof(num), "%lld", (long long)run->id);
	bad |= env_add(run, "PIPELINE_RUN_ID", num);
	snprintf(num, sizeof(num), "%lld", (long long)run->attempt);
	bad |= env_add(run, "PIPELINE_RUN_ATTEMPT", num);
	/* ISO, as Mage's runtime variables have it */
	if ((s = get_str(p, "execution_date")) == NULL) {
		snprintf(iso, sizeof(iso), "%s", run->execution_date);
		if (strlen(iso) > 10 && iso[10] == ' ')
			iso[10] = 'T';
		s = iso;
	}
	bad |= env_add(run, "EXECUTION_DATE", s);
	bad |= env_add(run, "DS", get_str(p, "ds"));
	bad |= env_add(run, "HR", get_str(p, "hr"));
	bad |= env_add(run, "INTERVAL_START_DATETIME",
	    get_str(p, "interval_start_datetime"));
	bad |= env_add(run, "INTERVAL_END_DATETIME",
	    get_str(p, "interval_end_datetime"));
	num[0] = '\0';
	if (get_int(p, "interval_seconds", &n) == 0)
		snprintf(num, sizeof(num), "%lld", (long long)n);
	bad |= env_add(run, "INTERVAL_SECONDS", num);
	/* As Mage's backfill runs have them: the run's variables (the
	 * pipeline's and the backfill's), the plan's keys over them. */
	if ((all = json_object_new_object()) == NULL)
		return -1;
	if (json_object_object_get_ex(r, "variables", &v) &&
	    json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, k1, v1)
			bad |= json_object_object_add(all, k1,
			    json_object_get(v1));
	}
	if (p != NULL && json_object_is_type(p, json_type_object)) {
		json_object_object_foreach(p, k2, v2)
			bad |= json_object_object_add(all, k2,
			    json_object_get(v2));
	}
	bad |= env_add(run, "VARIABLES", json_object_to_json_string_ext(all,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(all);
	return bad ? -1 : 0;
}

int
api_claim(struct api *a, const char *name, const char *pipelines,
    struct claimed_run *run, struct api_reply *rep)
{
	struct json_object	*o, *r = NULL, *p = NULL;
	struct buf		 body = { 0 };
	const char		*s;
	int			 rc = -1;

	memset(run, 0, sizeof(*run));
	buf_puts(&body, "{\"claim\": {\"executor\": ");
	buf_json_str(&body, name, strlen(name));
	buf_printf(&body, ", \"pipelines\": %s}}", pipelines);
	o = call(a, "POST", "/pipeline_runs/claim", body.data, rep);
	buf_free(&body);
	if (rep->outcome != API_OK)
		goto out;
	if (o == NULL || !json_object_object_get_ex(o, "pipeline_run", &r)) {
		rep->outcome = API_RETRY;
		snprintf(rep->why, sizeof(rep->why), "POST /pipeline_runs/"
		    "claim: %ld without a pipeline_run", rep->status);
		goto out;
	}
	if (r == NULL) {
		rc = 0;		/* nothing may start now */
		goto out;
	}
	(void)json_object_object_get_ex(r, "plan", &p);
	if (get_int(r, "id", &run->id) < 0 ||
	    get_int(r, "backfill_id", &run->backfill_id) < 0 ||
	    get_int(r, "lease_seconds", &run->lease_seconds) < 0 ||
	    run->lease_seconds < 1 ||
	    (s = get_str(r, "lease_id")) == NULL || s[0] == '\0' ||
	    strlen(s) >= sizeof(run->lease_id)) {
		/* unusable: its lease lapses and the service fails it */
		rep->outcome = API_REFUSED;
		snprintf(rep->why, sizeof(rep->why), "POST /pipeline_runs/"
		    "claim: a run without id, backfill_id, lease_id or "
		    "lease_seconds");
		goto out;
	}
	snprintf(run->lease_id, sizeof(run->lease_id), "%s", s);
	if (get_int(r, "attempt", &run->attempt) < 0)
		run->attempt = 1;
	snprintf(run->pipeline_uuid, sizeof(run->pipeline_uuid), "%s",
	    (s = get_str(r, "pipeline_uuid")) ? s : "");
	snprintf(run->execution_date, sizeof(run->execution_date), "%s",
	    (s = get_str(r, "execution_date")) ? s : "");
	if (claim_env(run, r, p) < 0) {
		rep->outcome = API_RETRY;
		snprintf(rep->why, sizeof(rep->why), "out of memory");
		claimed_run_free(run);
		run->id = 0;
		goto out;
	}
	rc = 1;
out:
	json_object_put(o);
	return rc;
}

int
api_put_run(struct api *a, const struct claimed_run *run,
    const char *status, const char *metrics, char *now_status,
    size_t now_len, struct api_reply *rep)
{
	struct json_object	*o, *r;
	struct buf		 body = { 0 };
	char			 path[64];
	const char		*s;
	int			 rc = -1;

	buf_puts(&body, "{\"pipeline_run\": {\"lease_id\": ");
	buf_json_str(&body, run->lease_id, strlen(run->lease_id));
	if (status != NULL)
		buf_printf(&body, ", \"status\": \"%s\"", status);
	if (metrics != NULL)
		buf_printf(&body, ", \"metrics\": %s", metrics);
	buf_puts(&body, "}}");
	snprintf(path, sizeof(path), "/pipeline_runs/%lld",
	    (long long)run->id);
	o = call(a, "PUT", path, body.oom ? NULL : body.data, rep);
	buf_free(&body);
	if (rep->outcome == API_OK) {
		if (o != NULL && json_object_object_get_ex(o, "pipeline_run",
		    &r) && (s = get_str(r, "status")) != NULL) {
			snprintf(now_status, now_len, "%s", s);
			rc = 0;
		} else {
			rep->outcome = API_RETRY;
			snprintf(rep->why, sizeof(rep->why), "PUT %s: %ld "
			    "without the run's status", path, rep->status);
		}
	}
	json_object_put(o);
	return rc;
}

void
claimed_run_free(struct claimed_run *run)
{
	size_t	 i;

	for (i = 0; i < RUN_ENV_MAX; i++) {
		free(run->env[i]);
		run->env[i] = NULL;
	}
}
