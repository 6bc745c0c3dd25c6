/*
 * http: the plain request and response the core works on. The adapter
 * (main.c) fills a struct request from FastCGI or CGI and writes the
 * struct response back; tests and fuzzers build them directly.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"

enum method {
	M_GET,
	M_HEAD,
	M_POST,
	M_PUT,
	M_DELETE,
	M_OPTIONS,
	M_OTHER,
	M__MAX
};

#define M_BIT(m)	(1u << (m))

/* What the adapter found of the body (RFC 3875 4.2: CONTENT_LENGTH). */
enum body_state {
	BODY_NONE,		/* no Content-Length */
	BODY_OK,		/* body/body_len hold it, NUL-terminated */
	BODY_TOO_LARGE,		/* over max_body: not read */
	BODY_BAD_LENGTH,	/* Content-Length not a number */
	BODY_SHORT		/* ended before its Content-Length */
};

struct request {
	enum method	 method;
	const char	*path;		/* PATH_INFO, decoded */
	const char	*query;		/* QUERY_STRING, "" when none */
	const char	*if_match;	/* NULL when absent, likewise below */
	const char	*if_none_match;
	const char	*api_key;	/* X-API-KEY */
	const char	*authorization;
	const char	*oauth_token;	/* OAUTH-TOKEN */
	const char	*cookie;
	const char	*origin;
	const char	*idempotency_key;	/* Idempotency-Key */
	const char	*request_id;	/* answered as X-Request-Id; may be
					 * NULL (no such header then) */
	const char	*remote_addr;	/* the client's address, or NULL */
	int64_t		 started;	/* when it arrived: wlock_now_ns(),
					 * 0 for no deadline */
	enum body_state	 body_state;
	const char	*body;
	size_t		 body_len;
};

struct response {
	int		 status;
	struct buf	 headers;	/* "Name: value\r\n" lines */
	struct buf	 body;
	int		 mage_errors;	/* record_invalid's errors as Mage's
					 * "field: message" strings */
	const char	*content_type;	/* NULL: application/json */
	int		 route;		/* the enum route answering, or
					 * ROUTE_NONE (metrics) */
};

enum method	 http_method(const char *);
const char	*http_method_name(enum method);

/* Empties r for the next request, keeping its buffers. */
void	resp_reset(struct response *r);
void	resp_free(struct response *r);
/* Adds one header line; value is written as given (no CR/LF allowed). */
void	resp_header(struct response *r, const char *name, const char *value);
/* Sets status and the JSON error body of docs/API.md "Errors"; detail, when not
 * NULL, replaces the stock message. fe is used for record_invalid: its
 * errors are {"field", "message"} objects, or with r->mage_errors the
 * "field: message" strings Mage's UI shows. */
void	resp_error(struct response *r, enum err e, const char *detail,
	    const struct field_errors *fe);

/* Closes a list body opened with {"<things>": [ : writes
 * ], "metadata": {"count": N, "next": true|false}} (docs/API.md "Lists"). */
void	resp_list_end(struct response *r, int64_t count, int next);

/* Finds name in a query string and URL-decodes its first value into out.
 * Returns 1 when found, 0 when absent, -1 when too long or malformed. */
int	query_get(const char *query, const char *name, char *out,
	    size_t outlen);

/* Reads an optional whole-number parameter in [lo, hi] into *out (left
 * as is when absent). Returns 0, or -1 when present but not such a
 * number. */
int	query_int(const char *query, const char *name, int64_t lo, int64_t hi,
	    int64_t *out);

/* Returns 1 when the parameter is true as Mage reads it: present with
 * any value but an empty one or "false" (so "true", "1" and Python's
 * "True" are true, as Mage's "0" is), else 0. */
int	query_flag(const char *query, const char *name);

/* The list bounds of docs/API.md, shared by every paginated list: reads _limit
 * (1-1000, default 40) and _offset (0-2^31-1, default 0). Returns 0, or
 * -1 after answering 400. */
int	page_query(const struct request *, struct response *,
	    int64_t *limit, int64_t *offset);

/* Returns 1 when the If-Match header value matches etag (RFC 9110
 * 13.1.1: "*", or a list of strong entity tags), 0 otherwise. */
int	etag_matches(const char *if_match, const char *etag);

/* Returns 1 when the If-None-Match header value matches etag (RFC 9110
 * 13.1.2: "*", or a list of entity tags compared weakly: W/"x" is "x"),
 * 0 otherwise. */
int	etag_none_match(const char *if_none_match, const char *etag);

#endif
