#include "handlers.h"
#include "store.h"

/* GET /api/status: 200 when the database answers a read, else 503. */
void
h_status(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	(void)req;
	(void)m;
	if (store_ping(c->store) != ERR_OK) {
		resp_error(resp, ERR_UNAVAILABLE,
		    "The database cannot be read.", NULL);
		return;
	}
	buf_puts(&resp->body, "{\"status\": {\"ok\": true, \"version\": \""
	    BACKFILLS_VERSION "\"}}");
}
