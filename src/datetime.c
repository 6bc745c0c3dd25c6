#define _DEFAULT_SOURCE	/* timegm */
#include <stdio.h>
#include <time.h>

#include "datetime.h"

#define US_PER_SEC	1000000LL

/* Reads n decimal digits at s; returns the value or -1. */
static int
digits(const char *s, size_t n)
{
	int	 v = 0;
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Seconds since the epoch for a UTC broken-down time, or -1 when the
 * fields do not name a real instant (2023-02-30, 24:00:00, ...). */
static int
civil_to_secs(int y, int mo, int d, int h, int mi, int s, int64_t *out)
{
	struct tm tm = { 0 }, back;
	time_t	 t;

	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || s > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = timegm(&tm);
	if (gmtime_r(&t, &back) == NULL || back.tm_mday != d ||
	    back.tm_mon != mo - 1 || back.tm_year != y - 1900)
		return -1;
	*out = (int64_t)t;
	return 0;
}

int
dt_parse(const char *s, size_t len, int64_t *us)
{
	int	 y, mo, d, h = 0, mi = 0, sec = 0, oh, om, frac = 0, fd;
	int64_t	 secs, off = 0, v;
	size_t	 i;

	if (len < 10 || s[4] != '-' || s[7] != '-')
		return -1;
	if ((y = digits(s, 4)) < 0 || (mo = digits(s + 5, 2)) < 0 ||
	    (d = digits(s + 8, 2)) < 0)
		return -1;
	i = 10;
	if (len > 10) {
		if (len < 19 || (s[10] != ' ' && s[10] != 'T') ||
		    s[13] != ':' || s[16] != ':')
			return -1;
		if ((h = digits(s + 11, 2)) < 0 ||
		    (mi = digits(s + 14, 2)) < 0 ||
		    (sec = digits(s + 17, 2)) < 0)
			return -1;
		i = 19;
		if (i < len && s[i] == '.') {
			for (i++, fd = 0; i < len && fd < 7 &&
			    s[i] >= '0' && s[i] <= '9'; i++, fd++)
				frac = frac * 10 + (s[i] - '0');
			if (fd == 0 || fd > 6)
				return -1;
			for (; fd < 6; fd++)
				frac *= 10;
		}
		if (i < len && s[i] == 'Z')
			i++;
		else if (i < len && (s[i] == '+' || s[i] == '-')) {
			if (len - i != 6 || s[i + 3] != ':' ||
			    (oh = digits(s + i + 1, 2)) < 0 ||
			    (om = digits(s + i + 4, 2)) < 0 ||
			    oh > 23 || om > 59)
				return -1;
			off = (int64_t)(oh * 3600 + om * 60);
			if (s[i] == '-')
				off = -off;
			i += 6;
		}
	}
	if (i != len)
		return -1;
	if (civil_to_secs(y, mo, d, h, mi, sec, &secs) < 0)
		return -1;
	v = (secs - off) * US_PER_SEC + frac;
	/* The offset may not carry the instant out of years 1..9999. */
	if (v < -62135596800LL * US_PER_SEC ||
	    v >= 253402300800LL * US_PER_SEC)
		return -1;
	*us = v;
	return 0;
}

/* Writes v as exactly n digits at p. */
static void
put_digits(char *p, int v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

size_t
dt_format(int64_t us, char sep, char out[DT_FMT_MAX])
{
	int64_t	 secs = us / US_PER_SEC, frac = us % US_PER_SEC;
	time_t	 t;
	struct tm tm;

	if (frac < 0) {
		frac += US_PER_SEC;
		secs--;
	}
	t = (time_t)secs;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 ||
	    tm.tm_year + 1900 > 9999) {
		out[0] = '\0';
		return 0;
	}
	/* Fixed-width fields, written without printf (a hot path: every
	 * datetime of every record in a list). */
	put_digits(out, tm.tm_year + 1900, 4);
	out[4] = '-';
	put_digits(out + 5, tm.tm_mon + 1, 2);
	out[7] = '-';
	put_digits(out + 8, tm.tm_mday, 2);
	out[10] = sep;
	put_digits(out + 11, tm.tm_hour, 2);
	out[13] = ':';
	put_digits(out + 14, tm.tm_min, 2);
	out[16] = ':';
	put_digits(out + 17, tm.tm_sec, 2);
	if (frac == 0) {
		out[19] = '\0';
		return 19;
	}
	out[19] = '.';
	put_digits(out + 20, (int)frac, 6);
	out[26] = '\0';
	return 26;
}

int64_t
dt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}
