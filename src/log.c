#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "datetime.h"
#include "log.h"

static enum log_level	 level = LOG_INFO;

void
log_set_level(enum log_level l)
{
	level = l;
}

void
log_msg(enum log_level l, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char	 msg[1024], line[4200], t[DT_FMT_MAX];
	size_t	 i, o;
	va_list	 ap;

	if (l > level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dt_format(dt_now() / 1000000 * 1000000, 'T', t);
	o = (size_t)snprintf(line, sizeof(line), "%sZ %s [%d] ", t, names[l],
	    (int)getpid());
	for (i = 0; msg[i] != '\0' && o < sizeof(line) - 6; i++) {
		unsigned char c = (unsigned char)msg[i];

		if (c < 0x20 || c == 0x7f || c == '\\')
			o += (size_t)snprintf(line + o, sizeof(line) - o,
			    c == '\\' ? "\\\\" : "\\x%02x", c);
		else
			line[o++] = (char)c;
	}
	line[o++] = '\n';
	(void)!write(STDERR_FILENO, line, o);
}
