/*
 * log: one line per event on stderr, "TIME LEVEL [pid] message", UTC,
 * control characters escaped; on systemd's journal with the syslog
 * priority in front ("<4>...", see log.c). Never pass secrets or request
 * bodies.
 */
#ifndef LOG_H
#define LOG_H

#include "conf.h"

void	log_set_level(enum log_level);
void	log_msg(enum log_level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
