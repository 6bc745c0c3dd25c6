/*
 * prof: drives service_handle() in-process for a profiler (make prof:
 * valgrind --tool=callgrind counts instructions repeatably). No nginx,
 * no FastCGI: what one request costs inside the worker.
 *   prof DB OP N     OP: show, list, put, post
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "service.h"

int
main(int argc, char *argv[])
{
	struct conf	 conf;
	struct ctx	 c;
	struct request	 req;
	struct response	 resp = { 0 };
	char		 body[128], why[256];
	long		 i, n;
	const char	*op;

	if (argc != 4) {
		fprintf(stderr, "usage: prof DB show|list|put|post N\n");
		return 2;
	}
	op = argv[2];
	n = atol(argv[3]);
	conf_defaults(&conf);
	snprintf(conf.database, sizeof(conf.database), "%s", argv[1]);
	conf.require_auth = 1;
	snprintf(conf.jwt_secret, sizeof(conf.jwt_secret), "materia");
	conf.durability_full = 0;
	service_init(&c, &conf);
	if (service_open(&c, why, sizeof(why)) != ERR_OK) {
		fprintf(stderr, "prof: %s\n", why);
		return 1;
	}
	for (i = 0; i < n; i++) {
		memset(&req, 0, sizeof(req));
		req.query = "";
		req.api_key = "zkWlN0PkIKSN0C11CfUHUj84OT5XOJ6tDZ6bDRO2";
		req.oauth_token = "bxyPj9Upq97jaL-gLkNA5g3gkifpF2pHFYfCs-2v6jg";
		req.method = M_GET;
		req.path = "/api/backfills/6";
		if (strcmp(op, "list") == 0) {
			req.path = "/api/backfills";
			req.query = "_limit=40";
		} else if (strcmp(op, "put") == 0 || strcmp(op, "post") == 0) {
			snprintf(body, sizeof(body),
			    "{\"backfill\": {\"name\": \"prof %ld\"}}", i);
			req.method = op[1] == 'u' ? M_PUT : M_POST;
			if (op[1] == 'o')
				req.path = "/api/pipelines/arwen_starlight/"
				    "backfills";
			req.body_state = BODY_OK;
			req.body = body;
			req.body_len = strlen(body);
		}
		service_handle(&c, &req, &resp);
		if (resp.status >= 300) {
			fprintf(stderr, "prof: %d %s\n", resp.status,
			    resp.body.data);
			return 1;
		}
	}
	service_close(&c);
	resp_free(&resp);
	return 0;
}
