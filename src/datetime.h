/*
 * datetime: the strict request formats of docs/API.md "Backfills"
 * and the UTC response format. A datetime is held as microseconds since
 * the Unix epoch, UTC, years 0001 to 9999. Calendar arithmetic is glibc's
 * timegm()/gmtime_r(); this file only reads and writes fixed-width text.
 */
#ifndef DATETIME_H
#define DATETIME_H

#include <stddef.h>
#include <stdint.h>

#define DT_FMT_MAX	27	/* "YYYY-MM-DD HH:MM:SS.ffffff" + NUL */

/* Parses s[0..len) as YYYY-MM-DD, or YYYY-MM-DD[ T]HH:MM:SS[.f{1,6}]
 * [Z|+HH:MM|-HH:MM]. Returns 0 and sets *us (UTC), or -1 for anything
 * else, impossible dates included. */
int	 dt_parse(const char *s, size_t len, int64_t *us);

/* Writes "YYYY-MM-DD HH:MM:SS" (".ffffff" only when the fraction is not
 * zero) into out; sep is ' ' or 'T'. Returns the length. */
size_t	 dt_format(int64_t us, char sep, char out[DT_FMT_MAX]);

/* Current time, UTC, in microseconds. */
int64_t	 dt_now(void);

#endif
