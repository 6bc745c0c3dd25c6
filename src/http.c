#include <string.h>

#include "http.h"

static const char *const method_names[M__MAX] = {
	[M_GET] = "GET",
	[M_HEAD] = "HEAD",
	[M_POST] = "POST",
	[M_PUT] = "PUT",
	[M_DELETE] = "DELETE",
	[M_OPTIONS] = "OPTIONS",
	[M_OTHER] = "OTHER",
};

enum method
http_method(const char *s)
{
	int	 m;

	if (s == NULL)
		return M_OTHER;
	for (m = 0; m < M_OTHER; m++)
		if (strcmp(s, method_names[m]) == 0)
			return (enum method)m;
	return M_OTHER;
}

const char *
http_method_name(enum method m)
{
	return (unsigned)m < M__MAX ? method_names[m] : "OTHER";
}

void
resp_reset(struct response *r)
{
	r->status = 200;
	r->content_type = NULL;
	buf_reset(&r->headers);
	buf_reset(&r->body);
}

void
resp_free(struct response *r)
{
	buf_free(&r->headers);
	buf_free(&r->body);
}

void
resp_header(struct response *r, const char *name, const char *value)
{
	buf_puts(&r->headers, name);
	buf_add(&r->headers, ": ", 2);
	buf_puts(&r->headers, value);
	buf_add(&r->headers, "\r\n", 2);
}

void
resp_error(struct response *r, enum err e, const char *detail,
    const struct field_errors *fe)
{
	const char	*msg = detail != NULL ? detail : err_message(e);
	struct buf	 line = { 0 };
	size_t		 i;

	/* Mage's error popup shows the message and folds the errors away:
	 * there, the message says the first reason too. */
	if (r->mage_errors && e == ERR_RECORD_INVALID && detail == NULL &&
	    fe != NULL && fe->n > 0) {
		buf_printf(&line, "Record is invalid: %s: %s", fe->e[0].field,
		    fe->e[0].message);
		if (fe->n > 1)
			buf_printf(&line, " (and %zu more)", fe->n - 1);
		if (line.data != NULL)
			msg = line.data;
	}
	r->status = err_code(e);
	r->content_type = NULL;
	buf_reset(&r->body);
	buf_puts(&r->body, "{\"error\": {\"code\": ");
	buf_int(&r->body, r->status);
	buf_puts(&r->body, ", \"message\": ");
	buf_json_str(&r->body, msg, strlen(msg));
	buf_reset(&line);
	buf_puts(&r->body, ", \"type\": ");
	buf_json_str(&r->body, err_type(e), strlen(err_type(e)));
	if (e == ERR_RECORD_INVALID && fe != NULL) {
		buf_puts(&r->body, ", \"errors\": [");
		for (i = 0; i < fe->n; i++) {
			if (i > 0)
				buf_puts(&r->body, ", ");
			if (r->mage_errors) {
				/* Mage's shape, which its UI shows: strings */
				buf_reset(&line);
				buf_printf(&line, "%s: %s", fe->e[i].field,
				    fe->e[i].message);
				buf_json_str(&r->body, line.data != NULL ?
				    line.data : "", line.len);
				continue;
			}
			buf_puts(&r->body, "{\"field\": ");
			buf_json_str(&r->body, fe->e[i].field,
			    strlen(fe->e[i].field));
			buf_puts(&r->body, ", \"message\": ");
			buf_json_str(&r->body, fe->e[i].message,
			    strlen(fe->e[i].message));
			buf_putc(&r->body, '}');
		}
		buf_putc(&r->body, ']');
	}
	buf_free(&line);
	buf_puts(&r->body, "}}");
	if (e == ERR_UNAVAILABLE)
		resp_header(r, "Retry-After", "1");
}

void
resp_list_end(struct response *r, int64_t count, int next)
{
	buf_puts(&r->body, "], \"metadata\": {\"count\": ");
	buf_int(&r->body, count);
	buf_puts(&r->body, next ? ", \"next\": true}}" : ", \"next\": false}}");
}

int
query_get(const char *query, const char *name, char *out, size_t outlen)
{
	size_t		 nlen = strlen(name), o;
	const char	*p = query, *amp;
	int		 v;

	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		if (strncmp(p, name, nlen) == 0 &&
		    (p[nlen] == '=' || p[nlen] == '&' || p[nlen] == '\0')) {
			p += nlen;
			if (*p == '=')
				p++;
			for (o = 0; *p != '\0' && *p != '&'; p++) {
				char	 c = *p;

				if (c == '+')
					c = ' ';
				else if (c == '%') {
					if ((v = hex_byte(p + 1)) < 0)
						return -1;
					c = (char)v;
					p += 2;
				}
				if (c == '\0' || o + 1 >= outlen)
					return -1;
				out[o++] = c;
			}
			out[o] = '\0';
			return 1;
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return 0;
}

int
query_int(const char *query, const char *name, int64_t lo, int64_t hi,
    int64_t *out)
{
	char	 v[24];
	int	 rc = query_get(query, name, v, sizeof(v)), i;
	int64_t	 n = 0;

	if (rc == 0)
		return 0;
	if (rc < 0 || v[0] == '\0')
		return -1;
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '9' || i >= 18)
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	if (n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

int
query_flag(const char *query, const char *name)
{
	char	 v[8];
	int	 rc = query_get(query, name, v, sizeof(v));

	/* Mage takes any value but an empty one and "false" as true (a
	 * long one does not fit v: it is neither). */
	return rc == -1 || (rc == 1 && v[0] != '\0' && strcmp(v, "false") != 0);
}

#define LIMIT_DEFAULT	40
#define LIMIT_MAX	1000
#define OFFSET_MAX	2147483647LL

/* Whether the comma-separated list of entity tags names etag, or is
 * "*"; weak: a W/ prefix is ignored (If-None-Match's weak comparison),
 * else it makes the tag differ (If-Match's strong one). */
static int
etag_listed(const char *list, const char *etag, int weak)
{
	const char	*p = list, *end;
	size_t		 elen = strlen(etag);

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		end = p;
		while (*end != '\0' && *end != ',')
			end++;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (weak && end - p >= 2 && p[0] == 'W' && p[1] == '/')
			p += 2;
		if ((end - p == 1 && *p == '*') ||
		    ((size_t)(end - p) == elen && memcmp(p, etag, elen) == 0))
			return 1;
		p = end;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}

int
etag_matches(const char *if_match, const char *etag)
{
	return etag_listed(if_match, etag, 0);
}

int
etag_none_match(const char *if_none_match, const char *etag)
{
	return etag_listed(if_none_match, etag, 1);
}

int
page_query(const struct request *req, struct response *resp,
    int64_t *limit, int64_t *offset)
{
	*limit = LIMIT_DEFAULT;
	*offset = 0;
	if (query_int(req->query, "_limit", 1, LIMIT_MAX, limit) < 0) {
		resp_error(resp, ERR_INVALID_QUERY,
		    "_limit must be an integer from 1 to 1000.", NULL);
		return -1;
	}
	if (query_int(req->query, "_offset", 0, OFFSET_MAX, offset) < 0) {
		resp_error(resp, ERR_INVALID_QUERY,
		    "_offset must be an integer from 0 to 2147483647.", NULL);
		return -1;
	}
	return 0;
}
