/*
 * The frame of Mage's UI (frame.h): answered from the conf and the
 * pipelines table, with the routes' usual credentials and errors.
 */
#include <unistd.h>

#include "frame.h"
#include "handlers.h"
#include "store.h"

void
h_statuses(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	(void)req;
	(void)m;
	frame_statuses(&resp->body, c->conf.require_auth, (long)getpid());
}

void
h_projects(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	(void)req;
	(void)m;
	frame_projects(&resp->body, c->conf.project_name, BACKFILLS_VERSION);
}

/* Shows the path's pipeline with fn; 404 when there is none. */
static void
show(struct ctx *c, const struct route_match *m, struct response *resp,
    int variables)
{
	struct pipeline	 p;
	enum err	 e;

	if ((e = store_pipeline_get(c->store, m->pipeline, &p)) != ERR_OK) {
		resp_error(resp, e, NULL, NULL);
		return;
	}
	if (!variables)
		frame_pipeline(&resp->body, &p);
	else if (frame_variables(&resp->body, &p) < 0)
		resp_error(resp, ERR_INTERNAL, NULL, NULL);
	pipeline_free(&p);
}

void
h_pipeline_show(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	(void)req;
	show(c, m, resp, 0);
}

/* The UI's logs page of a pipeline: logs stay where the runs ran (the
 * executor's log_dir), so there are none here, for a pipeline that
 * exists. */
void
h_pipeline_logs(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	struct pipeline	 p;
	enum err	 e;

	(void)req;
	if ((e = store_pipeline_get(c->store, m->pipeline, &p)) != ERR_OK) {
		resp_error(resp, e, NULL, NULL);
		return;
	}
	pipeline_free(&p);
	buf_puts(&resp->body, "{\"logs\": [{\"block_run_logs\": [], "
	    "\"pipeline_run_logs\": [], \"total_block_run_log_count\": 0, "
	    "\"total_pipeline_run_log_count\": 0}]}");
}

void
h_pipeline_variables(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	(void)req;
	show(c, m, resp, 1);
}

/* The header of every page asks whether git is set up: it is not here. */
void
h_git_branch(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	(void)c;
	(void)req;
	(void)m;
	frame_git_branch(&resp->body);
}
