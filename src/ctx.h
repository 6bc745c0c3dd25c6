/*
 * ctx: what one worker shares between its requests (the conf, the open
 * store, the credential cache, the pool's write queue), passed down to
 * every handler; no globals.
 */
#ifndef CTX_H
#define CTX_H

#include <stdint.h>

#include "conf.h"

#ifndef BACKFILLS_VERSION
#error "BACKFILLS_VERSION: the Makefile passes it, from the file VERSION"
#endif

struct store;
struct auth_cache;
struct wlock;
struct metrics;

struct ctx {
	struct conf		 conf;
	struct store		*store;		/* opened on first use */
	struct auth_cache	*auth;		/* access.c's, made on use */
	struct wlock		*wlock;		/* the pool's write queue, or
						 * NULL; set after service_init */
	struct metrics		*metrics;	/* the pool's counters, or this
						 * process's; may be NULL */
	int64_t			 swept_at;	/* the last look for lapsed
						 * leases (service_idle) */
	unsigned char		 who[32];	/* the request's credentials
						 * (access.c); zero when none */
};

#endif
