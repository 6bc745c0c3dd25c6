/*
 * fuzz_datetime: the strict request datetime parser and the response
 * formatter (src/datetime.h).
 *
 * Input: the text given to dt_parse() (any bytes; not NUL-terminated,
 * the harness hands over an exact-size copy so a read past the length
 * is caught). Inputs of exactly 8 bytes are also read as a
 * little-endian int64 of microseconds and formatted.
 *
 * Invariants (abort() on a breach):
 *   - when dt_parse() accepts, the value lies in years 0001..9999 and
 *     dt_format() with ' ' and with 'T' writes 19 or 26 characters
 *     (".ffffff" exactly when the fraction is not zero) that dt_parse()
 *     reads back to the same value; formatting that again gives the
 *     same text;
 *   - the accepted text has one of the documented shapes: YYYY-MM-DD, or
 *     YYYY-MM-DD[ T]HH:MM:SS[.f{1,6}][Z|+HH:MM|-HH:MM];
 *   - a value with no fraction, no offset and a ' ' separator formats
 *     back to the very input text;
 *   - any value in range formats and parses back to itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datetime.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FAIL(...)	do {						\
	fprintf(stderr, "fuzz_datetime: " __VA_ARGS__);			\
	fputc('\n', stderr);						\
	abort();							\
} while (0)

#define US		1000000LL
#define MIN_US		(-62135596800LL * US)	/* 0001-01-01 00:00:00 */
#define MAX_US		(253402300800LL * US)	/* 10000-01-01 00:00:00 */

static int
isdig(char c)
{
	return c >= '0' && c <= '9';
}

/* Whether s[0..n) has one of the request shapes of docs/API.md (digits and
 * punctuation only; the calendar is dt_parse's business). */
static int
shape_ok(const char *s, size_t n)
{
	static const char date[] = "dddd-dd-dd", time[] = " dd:dd:dd";
	size_t	 i, fd;

	if (n < 10)
		return 0;
	for (i = 0; i < 10; i++)
		if (date[i] == 'd' ? !isdig(s[i]) : s[i] != date[i])
			return 0;
	if (n == 10)
		return 1;
	if (n < 19 || (s[10] != ' ' && s[10] != 'T'))
		return 0;
	for (i = 11; i < 19; i++)
		if (time[i - 10] == 'd' ? !isdig(s[i]) : s[i] != time[i - 10])
			return 0;
	if (i < n && s[i] == '.') {
		for (i++, fd = 0; i < n && isdig(s[i]); i++, fd++)
			;
		if (fd < 1 || fd > 6)
			return 0;
	}
	if (i == n)
		return 1;
	if (s[i] == 'Z')
		return i + 1 == n;
	if (s[i] != '+' && s[i] != '-')
		return 0;
	return n - i == 6 && isdig(s[i + 1]) && isdig(s[i + 2]) &&
	    s[i + 3] == ':' && isdig(s[i + 4]) && isdig(s[i + 5]);
}

static void
round_trip(int64_t us, const char *what)
{
	char	 out[DT_FMT_MAX], again[DT_FMT_MAX];
	size_t	 n, n2;
	int64_t	 back;
	int	 k;

	for (k = 0; k < 2; k++) {
		char	 sep = k ? 'T' : ' ';

		memset(out, 'x', sizeof(out));
		n = dt_format(us, sep, out);
		if (n != (us % US != 0 ? 26u : 19u))
			FAIL("%s: dt_format(%lld) wrote %zu characters", what,
			    (long long)us, n);
		if (out[n] != '\0' || strlen(out) != n || out[10] != sep)
			FAIL("%s: dt_format(%lld): bad text %.27s", what,
			    (long long)us, out);
		if (dt_parse(out, n, &back) < 0)
			FAIL("%s: dt_format(%lld) = \"%s\", which dt_parse "
			    "refuses", what, (long long)us, out);
		if (back != us)
			FAIL("%s: %lld -> \"%s\" -> %lld", what,
			    (long long)us, out, (long long)back);
		n2 = dt_format(back, sep, again);
		if (n2 != n || memcmp(out, again, n) != 0)
			FAIL("%s: formats differ: %s / %s", what, out, again);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s, out[DT_FMT_MAX];
	int64_t	 us = 0;
	size_t	 n;

	if ((s = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	if (dt_parse(s, size, &us) == 0) {
		if (!shape_ok(s, size))
			FAIL("dt_parse accepted \"%.*s\"", (int)size, s);
		if (us < MIN_US || us >= MAX_US)
			FAIL("dt_parse(\"%.*s\") = %lld, out of years "
			    "1..9999", (int)size, s, (long long)us);
		round_trip(us, "parsed");
		/* Plain "YYYY-MM-DD HH:MM:SS" formats back as given. */
		if (size == 19 && s[10] == ' ') {
			n = dt_format(us, ' ', out);
			if (n != 19 || memcmp(out, s, 19) != 0)
				FAIL("\"%.19s\" formats as \"%s\"", s, out);
		}
	}
	if (size == 8) {
		memcpy(&us, data, 8);
		if (us >= MIN_US && us < MAX_US)
			round_trip(us, "int64");
	}
	free(s);
	return 0;
}
