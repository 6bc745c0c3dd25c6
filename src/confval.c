#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "confval.h"

int
confval_long_line(const char *path)
{
	FILE	*f;
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;
	int	 no = 0, rc = 0;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
		no++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n > CONFVAL_LINE_MAX)
			rc = no;
	}
	free(line);
	fclose(f);
	return rc;
}

int
confval_scaled(const char *v, const struct confval_unit *units, size_t n,
    int64_t dflt, int64_t lo, int64_t hi, int64_t *out)
{
	char		*end;
	long long	 num;
	int64_t		 mul = dflt;
	size_t		 i;

	errno = 0;
	if (*v < '0' || *v > '9')
		return -1;
	num = strtoll(v, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		for (i = 0; i < n && strcmp(end, units[i].suffix) != 0; i++)
			;
		if (i == n)
			return -1;
		mul = units[i].mul;
	}
	if (num > hi / mul || num * mul < lo)
		return -1;
	*out = num * mul;
	return 0;
}

int
confval_duration(const char *v, int ms_ok, int64_t lo_ms, int64_t hi_ms,
    int64_t *ms)
{
	static const struct confval_unit units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }
	};

	/* without ms_ok the table starts after "ms" */
	return confval_scaled(v, units + !ms_ok, 4 - !ms_ok, 1000, lo_ms,
	    hi_ms, ms);
}
