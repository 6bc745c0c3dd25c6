/*
 * conf: the service's configuration file, "key = value" lines read with
 * inih. Every key is documented in conf/backfills.conf and the README.
 */
#ifndef CONF_H
#define CONF_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

struct conf {
	char		 path[PATH_MAX];	/* the file read, "" if none */
	char		 database[PATH_MAX];	/* absolute or as given */
	int		 durability_full;	/* synchronous=FULL, else NORMAL */
	size_t		 max_body;		/* bytes */
	size_t		 max_answer;		/* bytes of one answer's body */
	int		 busy_timeout;		/* milliseconds */
	int64_t		 max_runs;
	int64_t		 max_db_size;		/* bytes; 0: no cap */
	int		 require_auth;
	char		 jwt_secret[512];
	char		 cors_origin[512];	/* "" sends no CORS headers */
	enum log_level	 log_level;
	int		 sandbox;		/* seccomp after start-up */
	int		 http_error_codes;	/* errors answer their status;
						 * off: Mage's 200 (README) */
	char		 project_name[256];	/* GET /api/projects */
	char		 metrics_allow[512];	/* addresses and networks that
						 * may scrape /api/metrics;
						 * "": nobody */
	int64_t		 max_requests;		/* a worker's; 0: no limit */
	int64_t		 run_lease;		/* seconds a claim holds */
	int64_t		 request_deadline;	/* seconds; 0: none */
	struct {				/* the default retry policy */
		int64_t	 retries;
		int64_t	 delay;			/* seconds */
		int64_t	 max_delay;		/* seconds */
		int	 exponential;
	}		 retry;
	mode_t		 file_mode;		/* 0600 or 0640: new data files */
};

/* Fills c with the built-in defaults. */
void	conf_defaults(struct conf *c);

/* Reads path over the values already in c. Returns 0, or -1 with a
 * one-line reason naming the file, line and key in err (the first
 * problem; lines over 199 bytes are refused, values are at most 180). A relative
 * database path is taken relative to the conf file's folder. */
int	conf_load(struct conf *c, const char *path, char *err, size_t errlen);

/* The umask under which new files (the database, its -wal and -shm,
 * backups) get c->file_mode: 077, or 027 for 0640. */
mode_t	conf_umask(const struct conf *c);

/* Picks the conf file: flag (may be NULL), else $BACKFILLS_CONF, else
 * the first readable of backfills.conf beside the running binary,
 * ../conf/backfills.conf (a checkout), ../etc/backfills/backfills.conf
 * (an installed PREFIX) from it, and /etc/backfills/backfills.conf.
 * Writes the path into out and returns 0, or -1 with a reason. */
int	conf_locate(const char *flag, char *out, size_t outlen,
	    char *err, size_t errlen);

/* Whether address addr (text) is in the network entry ("a.b.c.d",
 * "a.b.c.d/n", IPv6 likewise): 1 or 0, -1 when entry does not parse (addr
 * NULL: only parses entry). */
int	addr_match(const char *entry, const char *addr);

/* Whether addr is in one of a list's entries (spaces or commas). */
int	addr_allowed(const char *list, const char *addr);

#endif
