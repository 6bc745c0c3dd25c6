#include <sys/stat.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datetime.h"
#include "log.h"

static enum log_level	 level = LOG_INFO;
static int		 journal = -1;	/* stderr is the journal's stream */

/*
 * Whether stderr is connected to systemd's journal: JOURNAL_STREAM holds
 * "device:inode" of the stream systemd gave the service, which must be
 * the one stderr still is (a child whose stderr was redirected keeps
 * the variable). Then each line starts with its syslog priority, "<3>"
 * for errors to "<7>" for debug, so that journalctl -p filters them.
 */
static int
on_journal(void)
{
	const char		*v = getenv("JOURNAL_STREAM");
	struct stat		 sb;
	unsigned long long	 dev, ino;

	if (v == NULL || sscanf(v, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &sb) != 0)
		return 0;
	return (unsigned long long)sb.st_dev == dev &&
	    (unsigned long long)sb.st_ino == ino;
}

void
log_set_level(enum log_level l)
{
	level = l;
}

void
log_msg(enum log_level l, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	static const char prio[] = { '3', '4', '6', '7' };
	char	 msg[1024], line[4200], t[DT_FMT_MAX];
	size_t	 i, o;
	va_list	 ap;

	if (l > level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (journal < 0)
		journal = on_journal();
	dt_format(dt_now() / 1000000 * 1000000, 'T', t);
	o = (size_t)snprintf(line, sizeof(line), "%s%s%s%sZ %s [%d] ",
	    journal ? "<" : "", journal ? (char[]){ prio[l], '\0' } : "",
	    journal ? ">" : "", t, names[l], (int)getpid());
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
