#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
	/* Passing the final NUL lets a bare number end (HACKING.md, json-c). */
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

/*
 * The faithful check: whether every value of a parsed body comes back as
 * it was sent. json-c saturates integers beyond 64 bits, reads "-0" as
 * 0, keeps one of two keys spelled alike and cuts a key at a NUL; those
 * bodies are refused instead (the numbers with fractions or exponents it
 * keeps as written). The scan walks the body's text, which json-c has
 * already found valid.
 */
struct scan {
	const char	*s;
	size_t		 n, i;
	const char	*why;		/* the first problem */
	const char	*key[2];	/* the root's key and the envelope's on
					 * the way, as the body spells them */
	size_t		 klen[2];
	char		 at[256];	/* the field the problem is in */
};

/* A key of an object, decoded: its bytes in the scan's scratch. */
struct key {
	uint32_t	 hash;
	size_t		 off, len;
};

static void
skip_ws(struct scan *sc)
{
	while (sc->i < sc->n && strchr(" \t\r\n", sc->s[sc->i]) != NULL)
		sc->i++;
}

/* Notes the first problem, in field name[0..len) (NULL: the innermost
 * key on the way: the envelope's, else the root's). */
static void
problem(struct scan *sc, const char *name, size_t len, const char *why)
{
	int	 d;

	if (sc->why != NULL)
		return;
	sc->why = why;
	for (d = 1; name == NULL && d >= 0; d--)
		if (sc->key[d] != NULL) {
			name = sc->key[d];
			len = sc->klen[d];
		}
	if (name == NULL)
		name = "body", len = 4;
	snprintf(sc->at, sizeof(sc->at), "%.*s",
	    (int)(len < sizeof(sc->at) ? len : sizeof(sc->at) - 1), name);
}

/* Appends code point c as UTF-8. */
static void
put_utf8(struct buf *b, uint32_t c)
{
	char	 u[4];

	if (c < 0x80)
		u[0] = (char)c, buf_add(b, u, 1);
	else if (c < 0x800) {
		u[0] = (char)(0xc0 | c >> 6);
		u[1] = (char)(0x80 | (c & 0x3f));
		buf_add(b, u, 2);
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | c >> 12);
		u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | c >> 18);
		u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		buf_add(b, u, 4);
	}
}

static uint32_t
hex4(const char *p)
{
	uint32_t v = 0;
	int	 i, d;

	for (i = 0; i < 4; i++) {
		d = p[i] <= '9' ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10;
		v = v << 4 | (uint32_t)d;
	}
	return v;
}

/* Skips the string at sc->i (its opening quote); with out, decodes it
 * into out. Returns 1 when it held a NUL (\u0000). */
static int
string(struct scan *sc, struct buf *out)
{
	uint32_t c, lo;
	int	 nul = 0;

	for (sc->i++; sc->i < sc->n && sc->s[sc->i] != '"'; sc->i++) {
		if (sc->s[sc->i] != '\\') {
			if (out)
				buf_add(out, sc->s + sc->i, 1);
			continue;
		}
		sc->i++;
		if (sc->s[sc->i] != 'u') {
			if (out)
				buf_putc(out, strchr("bfnrt", sc->s[sc->i]) ?
				    "\b\f\n\r\t"[strchr("bfnrt",
				    sc->s[sc->i]) - "bfnrt"] : sc->s[sc->i]);
			continue;
		}
		c = hex4(sc->s + sc->i + 1);
		sc->i += 4;
		if (c >= 0xd800 && c < 0xdc00 && sc->i + 6 < sc->n &&
		    sc->s[sc->i + 1] == '\\' && sc->s[sc->i + 2] == 'u') {
			lo = hex4(sc->s + sc->i + 3);
			c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
			sc->i += 6;
		}
		if (c == 0)
			nul = 1;
		if (out)
			put_utf8(out, c);
	}
	sc->i++;	/* the closing quote */
	return nul;
}

/* Whether the integer literal s[0..len) (no fraction, no exponent) is
 * what json-c keeps as written: -2^63 .. 2^64 - 1, and not "-0". */
static int
int_kept(const char *s, size_t len)
{
	static const char max_neg[] = "9223372036854775808";
	static const char max_pos[] = "18446744073709551615";
	const char	*bound = max_pos;
	size_t		 blen = sizeof(max_pos) - 1;

	if (*s == '-') {
		s++, len--;
		if (len == 1 && *s == '0')
			return 0;
		bound = max_neg;
		blen = sizeof(max_neg) - 1;
	}
	return len < blen || (len == blen && memcmp(s, bound, len) <= 0);
}

static int
by_key(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->len < y->len ? -1 : x->len > y->len;
}

static void	value(struct scan *, int depth, struct buf *scratch);

/* An object at depth (the root's is 0): its values, then its keys
 * against each other. */
static void
object(struct scan *sc, int depth, struct buf *scratch)
{
	struct key	*keys = NULL, *k;
	size_t		 n = 0, cap = 0, i, j, start, base = scratch->len;
	uint32_t	 h;
	int		 nul;

	sc->i++;
	for (;;) {
		skip_ws(sc);
		if (sc->i >= sc->n || sc->s[sc->i] == '}')
			break;
		if (sc->s[sc->i] == ',') {
			sc->i++;
			continue;
		}
		/* the key */
		start = sc->i + 1;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((k = realloc(keys, cap * sizeof(*k))) == NULL) {
				problem(sc, NULL, 0, "is too large to check");
				break;
			}
			keys = k;
		}
		keys[n].off = scratch->len;
		nul = string(sc, scratch);
		keys[n].len = scratch->len - keys[n].off;
		if (depth <= 1) {
			sc->key[depth] = sc->s + start;
			sc->klen[depth] = sc->i - 1 - start;
		}
		if (nul)
			problem(sc, NULL, 0, "has a key with a NUL (\\u0000), "
			    "which cannot be kept");
		n++;
		skip_ws(sc);
		sc->i++;	/* : */
		value(sc, depth + 1, scratch);
		if (depth <= 1)
			sc->key[depth] = NULL;
	}
	sc->i++;	/* } */
	if (scratch->oom)
		problem(sc, NULL, 0, "is too large to check");
	for (i = 0; i < n && !scratch->oom; i++) {
		for (h = 2166136261u, j = 0; j < keys[i].len; j++)
			h = (h ^ (unsigned char)scratch->data[keys[i].off +
			    j]) * 16777619u;	/* FNV-1a */
		keys[i].hash = h;
	}
	if (n > 1 && !scratch->oom) {
		qsort(keys, n, sizeof(*keys), by_key);
		for (i = 1; i < n; i++)
			if (by_key(&keys[i - 1], &keys[i]) == 0 &&
			    memcmp(scratch->data + keys[i - 1].off,
			    scratch->data + keys[i].off, keys[i].len) == 0) {
				/* named by the key at the envelope's level,
				 * else the one it is in */
				problem(sc, depth <= 1 ? scratch->data +
				    keys[i].off : NULL, keys[i].len, depth <= 1 ?
				    "is given twice" : "has a key twice (only "
				    "one would be kept)");
				break;
			}
	}
	free(keys);
	scratch->len = base;	/* the keys of objects done are not needed */
}

static void
value(struct scan *sc, int depth, struct buf *scratch)
{
	size_t	 k, j;

	skip_ws(sc);
	if (sc->i >= sc->n)
		return;
	switch (sc->s[sc->i]) {
	case '{':
		object(sc, depth, scratch);
		return;
	case '[':
		for (sc->i++;;) {
			skip_ws(sc);
			if (sc->i >= sc->n || sc->s[sc->i] == ']')
				break;
			if (sc->s[sc->i] == ',')
				sc->i++;
			else
				value(sc, depth + 1, scratch);
		}
		sc->i++;
		return;
	case '"':
		(void)string(sc, NULL);
		return;
	case 't':
	case 'n':
		sc->i += 4;
		return;
	case 'f':
		sc->i += 5;
		return;
	default:
		k = number_len(sc->s + sc->i, sc->n - sc->i);
		for (j = 0; j < k && strchr(".eE", sc->s[sc->i + j]) == NULL;
		    j++)
			;
		if (j == k && k > 0 && !int_kept(sc->s + sc->i, k))
			problem(sc, NULL, 0, "holds an integer that cannot be "
			    "kept as written (beyond 64 bits, or -0): send it "
			    "as a string");
		sc->i += k ? k : 1;
	}
}

enum err
jsonin_body(const char *body, size_t len, struct json_object **out,
    struct field_errors *fe, const char **detail)
{
	static char	 name[256];
	struct scan	 sc;
	struct buf	 scratch = { 0 };
	enum err	 e;

	if ((e = jsonin_parse(body, len, out, detail)) != ERR_OK)
		return e;
	memset(&sc, 0, sizeof(sc));
	sc.s = body;
	sc.n = len;
	value(&sc, 0, &scratch);
	buf_free(&scratch);
	if (sc.why == NULL)
		return ERR_OK;
	/* valid until the next call: the answer is rendered before */
	memcpy(name, sc.at, sizeof(name));
	field_error(fe, name, sc.why);
	return ERR_RECORD_INVALID;
}
