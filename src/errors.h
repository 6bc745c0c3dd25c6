/*
 * One error enum for the whole program: each value is an error type of
 * the errors of docs/API.md (plus ERR_OK), with its HTTP code and message.
 */
#ifndef ERRORS_H
#define ERRORS_H

enum err {
	ERR_OK = 0,
	ERR_INVALID_JSON,	/* 400 */
	ERR_RECORD_INVALID,	/* 400 */
	ERR_INVALID_QUERY,	/* 400 */
	ERR_INVALID_API_KEY,	/* 401 */
	ERR_INVALID_TOKEN,	/* 401 */
	ERR_EXPIRED_TOKEN,	/* 401 */
	ERR_UNAUTHORIZED,	/* 403 */
	ERR_NOT_FOUND,		/* 404 */
	ERR_METHOD,		/* 405 */
	ERR_TRANSITION,		/* 409 */
	ERR_LEASE_LOST,		/* 409 */
	ERR_LENGTH_REQUIRED,	/* 411 */
	ERR_PRECONDITION,	/* 412 */
	ERR_TOO_LARGE,		/* 413 */
	ERR_IDEMPOTENCY,	/* 422 */
	ERR_INTERNAL,		/* 500 */
	ERR_UNAVAILABLE,	/* 503 */
	ERR__MAX
};

int		 err_code(enum err);	/* HTTP status */
const char	*err_type(enum err);	/* "record_not_found" */
const char	*err_message(enum err);	/* "Record not found." */
const char	*http_reason(int);	/* "Not Found" */

/*
 * The "errors" list of a 400 record_invalid: every wrong field with why.
 * field and message point at static text or into the parsed request,
 * which outlives the response's rendering.
 */
#define FIELD_ERRORS_MAX	32

struct field_errors {
	size_t	 n;
	struct {
		const char	*field;
		const char	*message;
	} e[FIELD_ERRORS_MAX];
	char	 note[160];	/* room for one message made for this request */
};

void	field_error(struct field_errors *, const char *, const char *);

#endif
