/*
 * confval: what both configuration files (backfills.conf, read by
 * conf.c, and the executor's exec.conf, read by exec_conf.c) take
 * alike: inih's line limit, numbers with a unit, and durations.
 */
#ifndef CONFVAL_H
#define CONFVAL_H

#include <stddef.h>
#include <stdint.h>

/* inih splits a longer line in two: such lines are refused. */
#define CONFVAL_LINE_MAX	199

/* The number of the first line of path over CONFVAL_LINE_MAX bytes, 0
 * when none is, or -1 when the file cannot be read. */
int	confval_long_line(const char *path);

/* A suffix a number may carry, and what it multiplies the number by. */
struct confval_unit {
	const char	*suffix;
	int64_t		 mul;
};

/* A whole decimal number with nothing after it (then it is multiplied
 * by dflt) or exactly one of the n units' suffixes, in [lo, hi] once
 * multiplied. Returns 0 with *out set, or -1. */
int	confval_scaled(const char *v, const struct confval_unit *units,
	    size_t n, int64_t dflt, int64_t lo, int64_t hi, int64_t *out);

/* A duration: a whole number with an optional s, m or h suffix (none:
 * seconds), and ms when ms_ok, in [lo_ms, hi_ms] milliseconds. Returns
 * 0 with *ms set, or -1. */
int	confval_duration(const char *v, int ms_ok, int64_t lo_ms,
	    int64_t hi_ms, int64_t *ms);

#endif
