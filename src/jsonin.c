#include <json-c/json.h>
#include <string.h>

#include "buf.h"
#include "jsonin.h"

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
