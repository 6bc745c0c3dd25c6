#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "jsonin.h"

/* Returns the length of an RFC 8259 number at s (at most n bytes), or 0:
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static size_t
number_len(const char *s, size_t n)
{
	size_t	 i = 0, d;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return 0;
	if (i < n && s[i] == '.') {
		for (i++, d = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			d++;
		if (d == 0)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			d++;
		if (d == 0)
			return 0;
	}
	return i;
}

/*
 * json-c's strict mode still takes single-quoted strings, NaN, Infinity,
 * "1." and raw control characters in strings. This scan refuses them at
 * the level of tokens, leaving the grammar to json-c: outside strings
 * only structural characters, white space, true/false/null and RFC 8259
 * numbers; inside strings no byte below 0x20. Returns 0 or -1.
 */
static int
lexemes_strict(const char *s, size_t n)
{
	size_t	 i = 0, k;

	while (i < n) {
		if (s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if ((unsigned char)s[i] < 0x20)
					return -1;
				if (s[i] == '\\')
					i++;
			}
			if (i >= n)
				return -1;
			i++;
		} else if (strchr("{}[],: \t\r\n", s[i]) != NULL)
			i++;
		else if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
			if ((k = number_len(s + i, n - i)) == 0)
				return -1;
			i += k;
		} else if (n - i >= 4 && (memcmp(s + i, "true", 4) == 0 ||
		    memcmp(s + i, "null", 4) == 0))
			i += 4;
		else if (n - i >= 5 && memcmp(s + i, "false", 5) == 0)
			i += 5;
		else
			return -1;
	}
	return 0;
}

enum err
jsonin_parse(const char *body, size_t len, struct json_object **out,
    const char **detail)
{
	struct json_tokener	*tok;
	struct json_object	*obj;
	enum json_tokener_error	 jerr;
	size_t			 end;

	*out = NULL;
	if (len == 0) {
		*detail = "The body is empty; send {\"backfill\": {...}}.";
		return ERR_INVALID_JSON;
	}
	if (memchr(body, '\0', len) != NULL || !utf8_valid(body, len)) {
		*detail = "The body is not UTF-8 text.";
		return ERR_INVALID_JSON;
	}
	if (lexemes_strict(body, len) < 0) {
		*detail = "The body is not valid JSON.";
		return ERR_INVALID_JSON;
	}
	if ((tok = json_tokener_new_ex(JSONIN_DEPTH)) == NULL) {
		*detail = "Out of memory.";
		return ERR_INVALID_JSON;
	}
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	/* Passing the final NUL lets a bare number end (DESIGN.md). */
	obj = json_tokener_parse_ex(tok, body, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (obj == NULL || jerr != json_tokener_success) {
		json_object_put(obj);
		*detail = jerr == json_tokener_error_depth ?
		    "The body is nested too deeply." :
		    "The body is not valid JSON.";
		return ERR_INVALID_JSON;
	}
	/* Anything but white space between the value and the end. */
	for (; end < len; end++)
		if (strchr(" \t\r\n", body[end]) == NULL) {
			json_object_put(obj);
			*detail = "The body has data after the JSON value.";
			return ERR_INVALID_JSON;
		}
	*out = obj;
	return ERR_OK;
}

enum err
jsonin_envelope(struct json_object *root, const char *name,
    struct json_object **inner, const char **detail)
{
	static char	 msg[160];

	*inner = NULL;
	if (json_object_is_type(root, json_type_object)) {
		json_object_object_foreach(root, key, val) {
			if (strcmp(key, name) == 0)
				*inner = val;
			else if (strcmp(key, "api_key") != 0) {
				snprintf(msg, sizeof(msg), "The body may hold "
				    "only \"%s\" (and \"api_key\") at its "
				    "root.", name);
				*detail = msg;
				return ERR_INVALID_JSON;
			}
		}
		if (*inner != NULL &&
		    json_object_is_type(*inner, json_type_object))
			return ERR_OK;
	}
	snprintf(msg, sizeof(msg), "The body must be one JSON object "
	    "{\"%s\": {...}} with an object inside.", name);
	*detail = msg;
	*inner = NULL;
	return ERR_INVALID_JSON;
}
