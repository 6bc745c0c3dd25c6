#include <stddef.h>

#include "errors.h"

static const struct {
	int		 code;
	const char	*type;
	const char	*message;
} errs[ERR__MAX] = {
	[ERR_OK] = { 200, "ok", "OK." },
	[ERR_INVALID_JSON] = { 400, "invalid_json",
	    "Body is not one JSON object {\"backfill\": {...}}." },
	[ERR_RECORD_INVALID] = { 400, "record_invalid",
	    "Record is invalid." },
	[ERR_INVALID_QUERY] = { 400, "invalid_query", "Invalid query." },
	[ERR_INVALID_API_KEY] = { 401, "invalid_api_key",
	    "Invalid API key." },
	[ERR_INVALID_TOKEN] = { 401, "invalid_oauth_token",
	    "Invalid OAuth token." },
	[ERR_EXPIRED_TOKEN] = { 401, "expired_oauth_token",
	    "Expired OAuth token." },
	[ERR_UNAUTHORIZED] = { 403, "unauthorized_access",
	    "Unauthorized access." },
	[ERR_NOT_FOUND] = { 404, "record_not_found", "Record not found." },
	[ERR_METHOD] = { 405, "method_not_allowed", "Method not allowed." },
	[ERR_TRANSITION] = { 409, "invalid_transition",
	    "Invalid status transition." },
	[ERR_LEASE_LOST] = { 409, "lease_lost",
	    "This run's lease is not yours: it lapsed, or another executor "
	    "holds it. Stop the run and report nothing more." },
	[ERR_LENGTH_REQUIRED] = { 411, "length_required",
	    "Content-Length required." },
	[ERR_PRECONDITION] = { 412, "precondition_failed",
	    "If-Match does not match the current ETag." },
	[ERR_TOO_LARGE] = { 413, "payload_too_large", "Payload too large." },
	[ERR_IDEMPOTENCY] = { 422, "idempotency_key_reused",
	    "This Idempotency-Key was used with another request: send a "
	    "new key with a new request." },
	[ERR_INTERNAL] = { 500, "internal_error", "Internal error." },
	[ERR_UNAVAILABLE] = { 503, "unavailable",
	    "Service unavailable, try again." },
};

_Static_assert(sizeof(errs) / sizeof(errs[0]) == ERR__MAX,
    "one entry per error");

int
err_code(enum err e)
{
	return (unsigned)e < ERR__MAX ? errs[e].code : 500;
}

const char *
err_type(enum err e)
{
	return (unsigned)e < ERR__MAX ? errs[e].type : "internal_error";
}

const char *
err_message(enum err e)
{
	return (unsigned)e < ERR__MAX ? errs[e].message : "Internal error.";
}

const char *
http_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Content";
	case 503: return "Service Unavailable";
	default:  return "Internal Server Error";
	}
}

void
field_error(struct field_errors *fe, const char *field, const char *message)
{
	if (fe->n < FIELD_ERRORS_MAX) {
		fe->e[fe->n].field = field;
		fe->e[fe->n].message = message;
		fe->n++;
	}
}
