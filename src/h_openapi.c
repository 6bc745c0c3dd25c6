/*
 * GET /api/openapi.json: the description of this API (docs/openapi.yaml
 * as JSON, built in), with an ETag that changes with its text: a client
 * or cache that has it asks with If-None-Match and gets 304.
 */
#include "handlers.h"
#include "openapi.h"

void
h_openapi(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	(void)c;
	(void)m;
	resp_header(resp, "ETag", openapi_etag);
	if (req->if_none_match != NULL &&
	    etag_none_match(req->if_none_match, openapi_etag)) {
		resp->status = 304;
		return;
	}
	/* A fixed document, not rows: max_answer is for lists. */
	resp->body.limit = 0;
	buf_add(&resp->body, openapi_json, openapi_json_len);
}
