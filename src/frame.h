/*
 * frame: the answers of what Mage's UI asks on every page around the
 * backfills (its "frame": statuses, projects, a pipeline, its global
 * variables), as pure functions from this service's own data. Where the
 * service has no such concept the value says so (null, false, [] or
 * {}), so that the UI renders and shows nothing it does not have.
 */
#ifndef FRAME_H
#define FRAME_H

#include "buf.h"
#include "store.h"

/* {"statuses": [{...}], "metadata": {}}: the service's own status;
 * require_auth is whether requests need credentials. */
void	 frame_statuses(struct buf *out, int require_auth, long pid);

/* {"projects": [{...}], "metadata": {}}: one project named name. */
void	 frame_projects(struct buf *out, const char *name,
	    const char *version);

/* {"pipeline": {...}, "metadata": null}: the pipeline as Mage presents
 * one (a python pipeline with no blocks; its variables and retry
 * policy from the pipelines table). */
void	 frame_pipeline(struct buf *out, const struct pipeline *p);

/* {"variables": [{"block": {"uuid": "global"}, ...}], "metadata": {}}:
 * the pipeline's global variables as Mage lists them, each with its
 * value and the Python type name Mage gives it. Returns 0, or -1 when
 * the stored variables are not a JSON object. */
int	 frame_variables(struct buf *out, const struct pipeline *p);

/* {"git_branch": {...}, "metadata": null}: no git integration. */
void	 frame_git_branch(struct buf *out);

#endif
