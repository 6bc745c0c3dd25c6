#include "handlers.h"
#include "log.h"
#include "store.h"

/* GET /api/status: 200 when the database answers a read, else 503. */
void
h_status(struct ctx *c, const struct request *req,
    const struct route_match *m, struct response *resp)
{
	char	 why[256];
	enum err e;

	(void)req;
	(void)m;
	if ((e = service_open(c, why, sizeof(why))) != ERR_OK)
		log_msg(LOG_ERROR, "database %s: %s", c->conf.database, why);
	else
		e = store_ping(c->store);
	if (e != ERR_OK) {
		resp_error(resp, ERR_UNAVAILABLE,
		    "The database cannot be read.", NULL);
		return;
	}
	buf_puts(&resp->body, "{\"status\": {\"ok\": true, \"version\": \""
	    BACKFILLS_VERSION "\"}}");
}
