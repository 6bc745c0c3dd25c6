/*
 * exec_conf: backfills-exec's configuration file (conf/exec.conf), read
 * with inih: "key = value" lines at the top, then one [pipeline UUID]
 * section per pipeline the executor runs ([pipeline *] for any other).
 * Every key is documented in conf/exec.conf and backfills-exec(8).
 */
#ifndef EXEC_CONF_H
#define EXEC_CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"	/* enum log_level */

/* What to run for one pipeline ("*": for any pipeline without its own). */
struct exec_pipeline {
	char		 uuid[256];
	struct buf	 command;	/* its lines joined with '\n' */
	int64_t		 timeout;	/* ms, 0: none, -1: the conf's */
};

struct exec_conf {
	char		 path[PATH_MAX];	/* the file read */
	char		 url[512];		/* the API's, no final '/' */
	char		 api_key[256];
	char		 token[256];
	char		 name[256];		/* "" until defaulted */
	char		 log_dir[PATH_MAX];	/* absolute or as given */
	char		 ca_file[PATH_MAX];	/* "" for the system's */
	int64_t		 concurrency;		/* runs at once */
	int64_t		 poll_interval;		/* ms */
	int64_t		 timeout;		/* ms per run, 0: none */
	int64_t		 kill_grace;		/* ms */
	int64_t		 http_timeout;		/* ms per HTTP call */
	int64_t		 connect_timeout;	/* ms */
	enum log_level	 log_level;
	struct exec_pipeline *pipelines;
	size_t		 npipelines;
};

/* Reads the file at path into c (defaults first). Returns 0, or -1 with
 * a one-line reason naming the file, the line and the key in err; c is
 * to be exec_conf_free()d either way. */
int	exec_conf_load(struct exec_conf *c, const char *path, char *err,
	    size_t errlen);

/* Frees what c holds (the pipelines' commands). */
void	exec_conf_free(struct exec_conf *c);

/* The section for pipeline uuid: its own, else [pipeline *], else NULL. */
const struct exec_pipeline *exec_conf_pipeline(const struct exec_conf *c,
	    const char *uuid);

/* Writes the claim's "pipelines" value into out (reset first): null
 * when a [pipeline *] section takes any, else the list of uuids. */
void	exec_conf_pipelines_json(const struct exec_conf *c, struct buf *out);

#endif
