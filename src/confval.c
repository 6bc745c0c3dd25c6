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
confval_duration(const char *v, int ms_ok, int64_t lo_ms, int64_t hi_ms,
    int64_t *ms)
{
	char		*end;
	long long	 n;
	int64_t		 mul = 1000;

	errno = 0;
	if (*v < '0' || *v > '9')
		return -1;
	n = strtoll(v, &end, 10);
	if (errno != 0)
		return -1;
	if (ms_ok && strcmp(end, "ms") == 0)
		mul = 1, end += 2;
	else if (*end == 's')
		end++;
	else if (*end == 'm')
		mul = 60000, end++;
	else if (*end == 'h')
		mul = 3600000, end++;
	if (*end != '\0' || n > hi_ms / mul || n * mul < lo_ms)
		return -1;
	*ms = n * mul;
	return 0;
}
