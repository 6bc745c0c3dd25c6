#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "datetime.h"
#include "jsonin.h"

enum bf_kind {
	K_INT,		/* integer, server-written */
	K_UNITS,	/* interval_units: integer 1 .. 1 000 000 */
	K_TEXT,		/* string <= 255 bytes, no NUL */
	K_TIME,		/* datetime */
	K_ITYPE,	/* interval type enum */
	K_STATUS,	/* status enum */
	K_OBJECT	/* JSON object, kept as its text */
};

/* Who may write a field: the client on create and update, on update
 * only, or nobody (read-only: sent back values are ignored). */
enum bf_access { A_READONLY, A_CLIENT, A_UPDATE_ONLY };

static const struct {
	const char	*name;
	enum bf_kind	 kind;
	enum bf_access	 access;
} fields[BF__MAX] = {
	[BF_ID] = { "id", K_INT, A_READONLY },
	[BF_BLOCK_UUID] = { "block_uuid", K_TEXT, A_CLIENT },
	[BF_COMPLETED_AT] = { "completed_at", K_TIME, A_READONLY },
	[BF_CREATED_AT] = { "created_at", K_TIME, A_READONLY },
	[BF_END_DATETIME] = { "end_datetime", K_TIME, A_CLIENT },
	[BF_FAILED_AT] = { "failed_at", K_TIME, A_READONLY },
	[BF_INTERVAL_TYPE] = { "interval_type", K_ITYPE, A_CLIENT },
	[BF_INTERVAL_UNITS] = { "interval_units", K_UNITS, A_CLIENT },
	[BF_METRICS] = { "metrics", K_OBJECT, A_READONLY },
	[BF_NAME] = { "name", K_TEXT, A_CLIENT },
	[BF_PIPELINE_SCHEDULE_ID] = { "pipeline_schedule_id", K_INT,
	    A_READONLY },
	[BF_PIPELINE_UUID] = { "pipeline_uuid", K_TEXT, A_READONLY },
	[BF_SETTINGS] = { "settings", K_OBJECT, A_CLIENT },
	[BF_START_DATETIME] = { "start_datetime", K_TIME, A_CLIENT },
	[BF_STARTED_AT] = { "started_at", K_TIME, A_READONLY },
	[BF_STATUS] = { "status", K_STATUS, A_UPDATE_ONLY },
	[BF_UPDATED_AT] = { "updated_at", K_TIME, A_READONLY },
	[BF_VARIABLES] = { "variables", K_OBJECT, A_CLIENT },
};
_Static_assert(sizeof(fields) / sizeof(fields[0]) == BF__MAX,
    "one entry per field");
_Static_assert(BF__MAX <= 32, "fields fit a 32-bit mask");

static const char *const status_names[ST__MAX] = {
	NULL, "initial", "running", "completed", "failed", "cancelled"
};
static const char *const itype_names[IT__MAX] = {
	NULL, "second", "minute", "hour", "day", "week", "month", "year",
	"custom"
};

/* docs/API.md "The run lifecycle": allowed[to] is the mask of from-states. */
#define S(x)	(1u << (x))
static const unsigned allowed_from[ST__MAX] = {
	[ST_NULL] = 0,
	[ST_INITIAL] = S(ST_NULL) | S(ST_FAILED) | S(ST_CANCELLED) |
	    S(ST_COMPLETED),
	[ST_RUNNING] = S(ST_INITIAL),
	[ST_COMPLETED] = S(ST_RUNNING),
	[ST_FAILED] = S(ST_INITIAL) | S(ST_RUNNING),
	[ST_CANCELLED] = S(ST_INITIAL) | S(ST_RUNNING) | S(ST_FAILED),
};
#undef S

#define TEXT_MAX	255

const char *
bf_field_name(enum bf_field f)
{
	return (unsigned)f < BF__MAX ? fields[f].name : "?";
}

const char *
bf_status_name(enum bf_status s)
{
	return (unsigned)s < ST__MAX ? status_names[s] : NULL;
}

const char *
bf_itype_name(enum bf_itype t)
{
	return (unsigned)t < IT__MAX ? itype_names[t] : NULL;
}

/* Index of s[0..len) in names[1..n), or -1. */
static int
enum_from(const char *const *names, int n, const char *s, size_t len)
{
	int	 i;

	for (i = 1; i < n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return i;
	return -1;
}

int
bf_status_from(const char *s, size_t len)
{
	return enum_from(status_names, ST__MAX, s, len);
}

int
bf_itype_from(const char *s, size_t len)
{
	return enum_from(itype_names, IT__MAX, s, len);
}

static void
bval_free(struct bval *v)
{
	if (v->own)
		free(v->s);
	memset(v, 0, sizeof(*v));
	v->null = 1;
}

int
bval_set_str(struct bval *v, const char *s, size_t len)
{
	char	*p;

	bval_free(v);
	if (s == NULL)
		return 0;
	if ((p = malloc(len + 1)) == NULL)
		return -1;
	memcpy(p, s, len);
	p[len] = '\0';
	v->null = 0;
	v->s = p;
	v->len = len;
	v->own = 1;
	return 0;
}

void
backfill_clear(struct backfill *b)
{
	int	 f;

	for (f = 0; f < BF__MAX; f++)
		bval_free(&b->v[f]);
	b->version = 0;
}

void
backfill_free(struct backfill *b)
{
	backfill_clear(b);
}

void
bf_patch_free(struct bf_patch *p)
{
	int	 f;

	for (f = 0; f < BF__MAX; f++)
		bval_free(&p->v[f]);
	p->set = 0;
}

static int
field_from(const char *key)
{
	int	 f;

	for (f = 0; f < BF__MAX; f++)
		if (strcmp(fields[f].name, key) == 0)
			return f;
	return -1;
}

/* Validates one client-writable value into v. Returns NULL, or why the
 * value is wrong (static text). */
static const char *
decode_value(enum bf_kind kind, struct json_object *j, struct bval *v)
{
	const char	*s;
	size_t		 len;
	int64_t		 n;
	int		 e;

	if (j == NULL) {
		bval_free(v);
		return NULL;
	}
	switch (kind) {
	case K_UNITS:
		if (!json_object_is_type(j, json_type_int))
			return "must be an integer from 1 to 1000000, or null";
		n = json_object_get_int64(j);
		if (n < 1 || n > 1000000)
			return "must be an integer from 1 to 1000000, or null";
		v->null = 0;
		v->i = n;
		return NULL;
	case K_TEXT:
		if (!json_object_is_type(j, json_type_string))
			return "must be a string or null";
		s = json_object_get_string(j);
		len = (size_t)json_object_get_string_len(j);
		if (len > TEXT_MAX)
			return "must be at most 255 bytes";
		if (memchr(s, '\0', len) != NULL)
			return "must not contain NUL";
		if (!utf8_valid(s, len))
			return "must be valid UTF-8";
		return bval_set_str(v, s, len) == 0 ? NULL : "out of memory";
	case K_TIME:
		if (!json_object_is_type(j, json_type_string) ||
		    dt_parse(json_object_get_string(j),
		    (size_t)json_object_get_string_len(j), &n) < 0)
			return "must be a datetime: YYYY-MM-DD, or YYYY-MM-DD "
			    "HH:MM:SS with an optional .ffffff and Z or "
			    "+HH:MM, or null";
		v->null = 0;
		v->i = n;
		return NULL;
	case K_ITYPE:
		if (!json_object_is_type(j, json_type_string) ||
		    (e = bf_itype_from(json_object_get_string(j),
		    (size_t)json_object_get_string_len(j))) < 0)
			return "must be one of second, minute, hour, day, "
			    "week, month, year, custom";
		v->null = 0;
		v->i = e;
		return NULL;
	case K_STATUS:
		if (!json_object_is_type(j, json_type_string) ||
		    (e = bf_status_from(json_object_get_string(j),
		    (size_t)json_object_get_string_len(j))) < 0)
			return "must be one of initial, running, completed, "
			    "failed, cancelled";
		v->null = 0;
		v->i = e;
		return NULL;
	case K_OBJECT:
		if (!json_object_is_type(j, json_type_object))
			return "must be an object or null";
		s = json_object_to_json_string_length(j,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		    &len);
		if (s == NULL)
			return "out of memory";
		if (!utf8_valid(s, len))
			return "must be valid UTF-8";
		return bval_set_str(v, s, len) == 0 ? NULL : "out of memory";
	case K_INT:
		break;
	}
	return "is read-only";
}

enum err
bf_patch_decode(struct json_object *root, int for_update, struct bf_patch *p,
    struct field_errors *fe, const char **detail)
{
	struct json_object	*body = NULL;
	const char		*why;
	int			 f;

	memset(p, 0, sizeof(*p));
	for (f = 0; f < BF__MAX; f++)
		p->v[f].null = 1;
	if (jsonin_envelope(root, "backfill", &body, detail) != ERR_OK)
		return ERR_INVALID_JSON;
	json_object_object_foreach(body, key, val) {
		if ((f = field_from(key)) < 0) {
			field_error(fe, key, "is not a field of backfill");
			continue;
		}
		switch (fields[f].access) {
		case A_READONLY:
			continue;
		case A_UPDATE_ONLY:
			if (!for_update) {
				if (val != NULL)
					field_error(fe, fields[f].name,
					    "can only be set by an update");
				continue;
			}
			break;
		case A_CLIENT:
			break;
		}
		if ((why = decode_value(fields[f].kind, val, &p->v[f]))
		    != NULL) {
			field_error(fe, fields[f].name, why);
			continue;
		}
		p->set |= BF_BIT(f);
	}
	return fe->n > 0 ? ERR_RECORD_INVALID : ERR_OK;
}

static int
bval_equal(const struct bval *a, const struct bval *b)
{
	if (a->null || b->null)
		return a->null == b->null;
	if (a->s != NULL || b->s != NULL)
		return a->s != NULL && b->s != NULL && a->len == b->len &&
		    memcmp(a->s, b->s, a->len) == 0;
	return a->i == b->i;
}

static void
set_time(struct bval *v, int64_t t)
{
	bval_free(v);
	v->null = 0;
	v->i = t;
}

/* Copies src into dst (owned copy for strings). Returns 0 or -1. */
static int
bval_copy(struct bval *dst, const struct bval *src)
{
	if (src->null) {
		bval_free(dst);
		return 0;
	}
	if (src->s != NULL)
		return bval_set_str(dst, src->s, src->len);
	bval_free(dst);
	dst->null = 0;
	dst->i = src->i;
	return 0;
}

enum err
bf_check_new(const struct backfill *b, struct field_errors *fe)
{
	const struct bval *s = &b->v[BF_START_DATETIME],
	    *e = &b->v[BF_END_DATETIME];

	if (!s->null && !e->null && e->i < s->i)
		field_error(fe, "end_datetime",
		    "must be at or after start_datetime");
	return fe->n > 0 ? ERR_RECORD_INVALID : ERR_OK;
}

enum err
bf_apply(struct backfill *b, const struct bf_patch *p, int64_t now,
    uint32_t *changed, struct field_errors *fe, const char **detail)
{
	struct backfill	 old;
	enum bf_status	 from, to;
	int		 f;
	enum err	 rc = ERR_OK;

	*changed = 0;
	old = *b;	/* shallow: compare against, never free */
	memset(b->v, 0, sizeof(b->v));
	for (f = 0; f < BF__MAX; f++)
		if (bval_copy(&b->v[f], (p->set & BF_BIT(f)) &&
		    f != BF_STATUS ? &p->v[f] : &old.v[f]) < 0)
			rc = ERR_INTERNAL;
	if (rc != ERR_OK)
		goto out;

	from = old.v[BF_STATUS].null ? ST_NULL :
	    (enum bf_status)old.v[BF_STATUS].i;
	to = from;
	if (p->set & BF_BIT(BF_STATUS)) {
		if (p->v[BF_STATUS].null) {
			if (from != ST_NULL)
				field_error(fe, "status", "cannot be null");
		} else
			to = (enum bf_status)p->v[BF_STATUS].i;
	}
	if (!b->v[BF_START_DATETIME].null && !b->v[BF_END_DATETIME].null &&
	    b->v[BF_END_DATETIME].i < b->v[BF_START_DATETIME].i)
		field_error(fe, "end_datetime",
		    "must be at or after start_datetime");
	if (fe->n > 0) {
		rc = ERR_RECORD_INVALID;
		goto out;
	}
	if (to != from) {
		if (!(allowed_from[to] & (1u << from))) {
			*detail = "This status change is not allowed; see "
			    "the status table.";
			rc = ERR_TRANSITION;
			goto out;
		}
		if (to == ST_INITIAL) {
			static const enum bf_field need[] = {
				BF_START_DATETIME, BF_END_DATETIME,
				BF_INTERVAL_TYPE, BF_INTERVAL_UNITS };
			size_t	 i;

			for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
				if (b->v[need[i]].null)
					field_error(fe, fields[need[i]].name,
					    "must be set to start the "
					    "backfill");
			if (fe->n > 0) {
				rc = ERR_RECORD_INVALID;
				goto out;
			}
			set_time(&b->v[BF_STARTED_AT], now);
			bval_free(&b->v[BF_COMPLETED_AT]);
			bval_free(&b->v[BF_FAILED_AT]);
		} else if (to == ST_COMPLETED)
			set_time(&b->v[BF_COMPLETED_AT], now);
		else if (to == ST_FAILED)
			set_time(&b->v[BF_FAILED_AT], now);
		bval_free(&b->v[BF_STATUS]);
		b->v[BF_STATUS].null = 0;
		b->v[BF_STATUS].i = to;
	}
	for (f = 0; f < BF__MAX; f++)
		if (!bval_equal(&b->v[f], &old.v[f]))
			*changed |= BF_BIT(f);
	if (*changed) {
		set_time(&b->v[BF_UPDATED_AT], now);
		*changed |= BF_BIT(BF_UPDATED_AT);
	}
out:
	for (f = 0; f < BF__MAX; f++)
		bval_free(&old.v[f]);
	return rc;
}

/* Each field's key as written: '{"id": ', ', "block_uuid": ', ... */
#define KEY(first, name)	{ first "\"" name "\": ", \
				  sizeof(first "\"" name "\": ") - 1 }
static const struct {
	const char	*s;
	size_t		 len;
} keys[BF__MAX] = {
	KEY("{", "id"), KEY(", ", "block_uuid"), KEY(", ", "completed_at"),
	KEY(", ", "created_at"), KEY(", ", "end_datetime"),
	KEY(", ", "failed_at"), KEY(", ", "interval_type"),
	KEY(", ", "interval_units"), KEY(", ", "metrics"), KEY(", ", "name"),
	KEY(", ", "pipeline_schedule_id"), KEY(", ", "pipeline_uuid"),
	KEY(", ", "settings"), KEY(", ", "start_datetime"),
	KEY(", ", "started_at"), KEY(", ", "status"), KEY(", ", "updated_at"),
	KEY(", ", "variables"),
};
#undef KEY
_Static_assert(sizeof(keys) / sizeof(keys[0]) == BF__MAX, "every key");

void
bf_present(struct buf *out, const struct backfill *b)
{
	char			 t[DT_FMT_MAX];
	const struct bval	*v;
	const char		*name;
	size_t			 n;
	int			 f;

	for (f = 0; f < BF__MAX; f++) {
		/* '{"id": ' then ', "block_uuid": ' ...: field names need no
		 * escaping, so each key is written whole. */
		buf_add(out, keys[f].s, keys[f].len);
		v = &b->v[f];
		if (v->null) {
			buf_add(out, "null", 4);
			continue;
		}
		switch (fields[f].kind) {
		case K_INT:
		case K_UNITS:
			buf_int(out, v->i);
			break;
		case K_TEXT:
			buf_json_str(out, v->s, v->len);
			break;
		case K_OBJECT:
			buf_add(out, v->s, v->len);
			break;
		case K_TIME:
			n = dt_format(v->i, ' ', t);
			buf_json_str(out, t, n);
			break;
		case K_ITYPE:
		case K_STATUS:
			name = fields[f].kind == K_ITYPE ?
			    bf_itype_name((enum bf_itype)v->i) :
			    bf_status_name((enum bf_status)v->i);
			if (name == NULL)
				buf_add(out, "null", 4);
			else
				buf_json_str(out, name, strlen(name));
			break;
		}
	}
	buf_putc(out, '}');
}

void
bf_etag(const struct backfill *b, char out[48])
{
	snprintf(out, 48, "\"%lld-%lld\"", (long long)b->v[BF_ID].i,
	    (long long)b->version);
}

int64_t
bf_run_limit(const struct backfill *b)
{
	const struct bval	*v = &b->v[BF_SETTINGS];
	struct json_object	*o, *l;
	const char		*t;
	char			*end;
	int64_t			 n = 0;

	if (v->null || v->s == NULL ||
	    (o = json_tokener_parse(v->s)) == NULL)
		return 0;
	if (json_object_object_get_ex(o, "pipeline_run_limit", &l)) {
		if (json_object_is_type(l, json_type_int))
			n = json_object_get_int64(l);
		else if (json_object_is_type(l, json_type_string)) {
			t = json_object_get_string(l);
			n = strtoll(t, &end, 10);
			if (end == t || *end != '\0')
				n = 0;
		}
	}
	json_object_put(o);
	return n > 0 ? n : 0;
}
