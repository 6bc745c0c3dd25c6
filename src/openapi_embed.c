/*
 * openapi_embed: a build tool (not part of the service). Reads the API's
 * description, docs/openapi.yaml, with libyaml and writes its JSON form
 * twice: as a C file defining openapi_json, openapi_json_len and
 * openapi_etag (src/openapi.h), which the worker serves, and as a plain
 * JSON file for the tests.
 *
 *   openapi_embed docs/openapi.yaml build/openapi_json.c build/openapi.json
 *
 * The YAML is read by YAML 1.2's core schema, what OpenAPI tools read it
 * with. What a YAML 1.1 reader would read otherwise (yes, no, on, off;
 * 010 as octal; 1_000; 2023-07-01 as a date) or what JSON cannot hold
 * (anchors and aliases, tags, .inf, .nan, keys that are not text, a key
 * twice) is refused with its line: the description means the same to
 * every reader.
 */
#include <errno.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static const char	*yaml_path;

static void
die(const yaml_event_t *ev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void
die(const yaml_event_t *ev, const char *fmt, ...)
{
	va_list	 ap;

	if (ev != NULL)
		fprintf(stderr, "%s:%zu: ", yaml_path,
		    ev->start_mark.line + 1);
	else
		fprintf(stderr, "openapi_embed: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
next(yaml_parser_t *p, yaml_event_t *ev)
{
	if (!yaml_parser_parse(p, ev)) {
		fprintf(stderr, "%s:%zu: %s%s%s\n", yaml_path,
		    p->problem_mark.line + 1,
		    p->problem != NULL ? p->problem : "not YAML",
		    p->context != NULL ? " " : "",
		    p->context != NULL ? p->context : "");
		exit(1);
	}
}

/* Whether s matches the extended regular expression re, whole. */
static int
matches(const char *re, const char *s)
{
	regex_t	 r;
	int	 rc;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
		die(NULL, "bad expression %s", re);
	rc = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return rc;
}

/*
 * A plain (unquoted) scalar as YAML 1.2's core schema resolves it: null,
 * a boolean, an integer, a float, else text. The forms that a YAML 1.1
 * reader resolves otherwise, and those JSON has no value for, stop the
 * build.
 */
static struct json_object *
plain(const yaml_event_t *ev, const char *s)
{
	long long	 n;
	char		*end;

	if (*s == '\0' || matches("^(null|Null|NULL|~)$", s))
		return NULL;
	if (matches("^(true|True|TRUE)$", s))
		return json_object_new_boolean(1);
	if (matches("^(false|False|FALSE)$", s))
		return json_object_new_boolean(0);
	if (matches("^(yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$",
	    s))
		die(ev, "\"%s\" is text in YAML 1.2 and a boolean in YAML 1.1: "
		    "quote it", s);
	if (matches("^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt \t]|$)", s))
		die(ev, "\"%s\" is a timestamp in YAML 1.1 (and to js-yaml): "
		    "quote it", s);
	if (matches("^[-+]?\\.(inf|Inf|INF|nan|NaN|NAN)$", s))
		die(ev, "%s has no JSON form", s);
	if (matches("^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\\.[0-9_]*)?$", s) ||
	    matches("^[-+]?[0-9.]*_[0-9._]*$", s) ||
	    matches("^[-+]?0[0-9]+$", s) || matches("^0[bxo]", s))
		die(ev, "\"%s\" reads as another number in YAML 1.1, or as "
		    "none in JSON: quote it or write it in decimal", s);
	if (matches("^-?(0|[1-9][0-9]*)$", s)) {
		errno = 0;
		n = strtoll(s, &end, 10);
		if (errno != 0)
			die(ev, "%s is too large an integer", s);
		return json_object_new_int64(n);
	}
	if (matches("^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?$", s))
		return json_object_new_double_s(strtod(s, NULL), s);
	if (matches("^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$",
	    s))
		die(ev, "\"%s\" is a number JSON cannot spell: write it as "
		    "-?D[.D][eD]", s);
	return json_object_new_string(s);
}

/*
 * Whether a mapping's key (a scalar event) reads as text, as JSON's keys
 * are. A plain one that YAML reads as another value must be a status
 * code (200:, which OpenAPI's tools take as "200"); "<<" merges in YAML
 * 1.1 only.
 */
static int
key_is_text(const yaml_event_t *k)
{
	const char		*key = (const char *)k->data.scalar.value;
	struct json_object	*v;
	int			 text;

	if (k->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    matches("^[1-5][0-9][0-9]$", key))
		return 1;
	if (strcmp(key, "<<") == 0)
		return 0;
	v = plain(k, key);
	text = json_object_is_type(v, json_type_string);
	json_object_put(v);
	return text;
}

/* The node whose first event is ev (consumed, with the node's rest). */
static struct json_object *
node(yaml_parser_t *p, yaml_event_t *ev)
{
	struct json_object	*o;
	yaml_event_t		 k;
	const char		*key;

	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		die(ev, "an alias (*%s): write the value out, JSON has no "
		    "aliases", (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor != NULL)
			die(ev, "an anchor (&%s): JSON has none",
			    (const char *)ev->data.scalar.anchor);
		if (ev->data.scalar.tag != NULL &&
		    strcmp((const char *)ev->data.scalar.tag, YAML_STR_TAG) != 0)
			die(ev, "a tag (%s): only !!str is read",
			    (const char *)ev->data.scalar.tag);
		if (ev->data.scalar.tag != NULL ||
		    ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			o = json_object_new_string_len(
			    (const char *)ev->data.scalar.value,
			    (int)ev->data.scalar.length);
		else
			o = plain(ev, (const char *)ev->data.scalar.value);
		if (strlen((const char *)ev->data.scalar.value) !=
		    ev->data.scalar.length)
			die(ev, "a NUL in a scalar");
		yaml_event_delete(ev);
		return o;
	case YAML_SEQUENCE_START_EVENT:
		if (ev->data.sequence_start.anchor != NULL ||
		    ev->data.sequence_start.tag != NULL)
			die(ev, "an anchor or tag on a list: JSON has none");
		yaml_event_delete(ev);
		o = json_object_new_array();
		for (;;) {
			next(p, ev);
			if (ev->type == YAML_SEQUENCE_END_EVENT)
				break;
			json_object_array_add(o, node(p, ev));
		}
		yaml_event_delete(ev);
		return o;
	case YAML_MAPPING_START_EVENT:
		if (ev->data.mapping_start.anchor != NULL ||
		    ev->data.mapping_start.tag != NULL)
			die(ev, "an anchor or tag on a mapping: JSON has none");
		yaml_event_delete(ev);
		o = json_object_new_object();
		for (;;) {
			next(p, &k);
			if (k.type == YAML_MAPPING_END_EVENT)
				break;
			if (k.type != YAML_SCALAR_EVENT)
				die(&k, "a key that is not text: JSON keys are");
			key = (const char *)k.data.scalar.value;
			if (!key_is_text(&k))
				die(&k, "the key %s is not text: quote it", key);
			if (json_object_object_get_ex(o, key, NULL))
				die(&k, "the key \"%s\" twice", key);
			next(p, ev);
			json_object_object_add(o, key, node(p, ev));
			yaml_event_delete(&k);
		}
		yaml_event_delete(&k);
		return o;
	default:
		die(ev, "unexpected YAML event %d", (int)ev->type);
	}
}

/* The one document of the stream at path. */
static struct json_object *
load(FILE *f)
{
	yaml_parser_t		 p;
	yaml_event_t		 ev;
	struct json_object	*root;

	if (!yaml_parser_initialize(&p))
		die(NULL, "out of memory");
	yaml_parser_set_input_file(&p, f);
	next(&p, &ev);
	if (ev.type != YAML_STREAM_START_EVENT)
		die(&ev, "no YAML stream");
	yaml_event_delete(&ev);
	next(&p, &ev);
	if (ev.type != YAML_DOCUMENT_START_EVENT)
		die(&ev, "no YAML document");
	yaml_event_delete(&ev);
	next(&p, &ev);
	root = node(&p, &ev);
	next(&p, &ev);
	if (ev.type != YAML_DOCUMENT_END_EVENT)
		die(&ev, "more than one value in the document");
	yaml_event_delete(&ev);
	next(&p, &ev);
	if (ev.type != YAML_STREAM_END_EVENT)
		die(&ev, "a second document: the description is one");
	yaml_event_delete(&ev);
	yaml_parser_delete(&p);
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "openapi", NULL))
		die(NULL, "%s is no OpenAPI description (no openapi key)",
		    yaml_path);
	return root;
}

/* Writes text[0..len) as C string literals, 64 bytes a line; bytes
 * outside printable ASCII (and ? against trigraphs) as octal escapes. */
static void
c_string(FILE *out, const char *text, size_t len)
{
	size_t	 i;
	int	 c;

	fputs("\t\"", out);
	for (i = 0; i < len; i++) {
		c = (unsigned char)text[i];
		if (i > 0 && i % 64 == 0)
			fputs("\"\n\t\"", out);
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f || c == '?')
			fprintf(out, "\\%03o", c);
		else
			fputc(c, out);
	}
	fputs("\"", out);
}

int
main(int argc, char *argv[])
{
	struct json_object	*root;
	const char		*text;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen, i;
	size_t			 len;
	FILE			*in, *c, *js;

	if (argc != 4) {
		fprintf(stderr, "usage: openapi_embed openapi.yaml out.c "
		    "out.json\n");
		return 2;
	}
	yaml_path = argv[1];
	if ((in = fopen(argv[1], "rb")) == NULL)
		die(NULL, "%s: %s", argv[1], strerror(errno));
	root = load(in);
	fclose(in);
	text = json_object_to_json_string_length(root,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (text == NULL)
		die(NULL, "out of memory");
	/* The ETag: the first 128 bits of the text's SHA-256. */
	if (!EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL))
		die(NULL, "SHA-256 failed");

	if ((c = fopen(argv[2], "w")) == NULL)
		die(NULL, "%s: %s", argv[2], strerror(errno));
	fprintf(c, "/* Written by openapi_embed from %s: do not edit. */\n"
	    "#include \"openapi.h\"\n\nconst char openapi_json[] =\n",
	    argv[1]);
	c_string(c, text, len);
	fprintf(c, ";\nconst size_t openapi_json_len = %zu;\n"
	    "const char openapi_etag[] = \"\\\"", len);
	for (i = 0; i < 16 && i < mdlen; i++)
		fprintf(c, "%02x", md[i]);
	fprintf(c, "\\\"\";\n");
	if (fclose(c) != 0)
		die(NULL, "%s: %s", argv[2], strerror(errno));

	if ((js = fopen(argv[3], "w")) == NULL)
		die(NULL, "%s: %s", argv[3], strerror(errno));
	fwrite(text, 1, len, js);
	if (fclose(js) != 0)
		die(NULL, "%s: %s", argv[3], strerror(errno));
	json_object_put(root);
	return 0;
}
