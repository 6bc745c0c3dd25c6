/*
 * backfill: the backfill resource of docs/API.md as pure functions, no I/O.
 * The field table (order, kind, who writes it), decoding a request body
 * into a validated patch, applying a patch with the status machine, and
 * presenting a record as JSON.
 */
#ifndef BACKFILL_H
#define BACKFILL_H

#include <stdint.h>

#include "buf.h"
#include "errors.h"

struct json_object;

/* The fields in the documented order, which is also the presentation order. */
enum bf_field {
	BF_ID,
	BF_BLOCK_UUID,
	BF_COMPLETED_AT,
	BF_CREATED_AT,
	BF_END_DATETIME,
	BF_FAILED_AT,
	BF_INTERVAL_TYPE,
	BF_INTERVAL_UNITS,
	BF_METRICS,
	BF_NAME,
	BF_PIPELINE_SCHEDULE_ID,
	BF_PIPELINE_UUID,
	BF_SETTINGS,
	BF_START_DATETIME,
	BF_STARTED_AT,
	BF_STATUS,
	BF_UPDATED_AT,
	BF_VARIABLES,
	BF__MAX
};

enum bf_status {
	ST_NULL = 0,
	ST_INITIAL,
	ST_RUNNING,
	ST_COMPLETED,
	ST_FAILED,
	ST_CANCELLED,
	ST__MAX
};

enum bf_itype {
	IT_NULL = 0,
	IT_SECOND,
	IT_MINUTE,
	IT_HOUR,
	IT_DAY,
	IT_WEEK,
	IT_MONTH,
	IT_YEAR,
	IT_CUSTOM,
	IT__MAX
};

/*
 * One value: null, an integer (ints, datetimes in microseconds, the
 * status and interval type enums) or a string (text and JSON objects,
 * held as their JSON text). s is owned by the record when own is set.
 */
struct bval {
	int	 null;
	int64_t	 i;
	char	*s;
	size_t	 len;
	int	 own;
};

struct backfill {
	int64_t		 version;
	struct bval	 v[BF__MAX];
};

/* A decoded request: the fields sent (bit 1 << field in set). */
struct bf_patch {
	uint32_t	 set;
	struct bval	 v[BF__MAX];
};

#define BF_BIT(f)	(1u << (f))

const char	*bf_field_name(enum bf_field);
const char	*bf_status_name(enum bf_status);	/* NULL for ST_NULL */
const char	*bf_itype_name(enum bf_itype);		/* NULL for IT_NULL */
int		 bf_status_from(const char *, size_t);	/* -1 if none */
int		 bf_itype_from(const char *, size_t);	/* -1 if none */

/* Sets every field of b to null (strings freed). */
void	 backfill_clear(struct backfill *b);
/* Frees what b owns and nulls it. */
void	 backfill_free(struct backfill *b);
void	 bf_patch_free(struct bf_patch *p);

/* Sets v to a copy of s[0..len) (owned), or null when s is NULL.
 * Returns 0, or -1 when out of memory. */
int	 bval_set_str(struct bval *v, const char *s, size_t len);

/*
 * Decodes the parsed body {"backfill": {...}} (root keys other than
 * "backfill" and "api_key" refused) into p. for_update allows status.
 * Returns ERR_OK; ERR_INVALID_JSON with *detail set; or
 * ERR_RECORD_INVALID with every wrong field in fe. fe's pointers may
 * point into root. p owns its strings either way: bf_patch_free() it.
 */
enum err bf_patch_decode(struct json_object *root, int for_update,
	    struct bf_patch *p, struct field_errors *fe, const char **detail);

/*
 * Applies p onto b (the record as stored) at time now: null clears,
 * status moves by the status table of docs/API.md and sets its
 * timestamps, then end_datetime >= start_datetime is checked. *changed gets the fields
 * whose value differs; updated_at is set only when one does.
 * Returns ERR_OK, ERR_RECORD_INVALID (fe filled) or ERR_TRANSITION
 * (*detail set, static text). b is changed even on error: discard it.
 */
enum err bf_apply(struct backfill *b, const struct bf_patch *p, int64_t now,
	    uint32_t *changed, struct field_errors *fe, const char **detail);

/* Checks a new record (create): end >= start. Returns as bf_apply. */
enum err bf_check_new(const struct backfill *b, struct field_errors *fe);

/* Appends the record as a JSON object, fields in the documented order. */
void	 bf_present(struct buf *out, const struct backfill *b);

/* The most runs of the backfill that may run at once: its settings'
 * pipeline_run_limit (Mage's "Max concurrent runs"), a whole number of
 * at least 1 or a string of one (Mage's form sends a string); 0 for no
 * limit. */
int64_t	 bf_run_limit(const struct backfill *b);

/* Writes the ETag value "\"<id>-<version>\"" into out. */
void	 bf_etag(const struct backfill *b, char out[48]);

#endif
