/*
 * floor: the benchmark's floor. A FastCGI responder that reads the body
 * and answers a fixed small JSON document, and nothing else: what nginx,
 * libfcgi and the socket cost on their own. Started exactly as the
 * service is (spawn-fcgi, same nginx conf), so make bench can report the
 * service's throughput as a ratio of it. It closes each connection the
 * way the service does (src/main.c): plainly, once the input has been
 * read to its end, not with libfcgi's shutdown-and-wait; the floor is
 * the cheapest the plumbing can be, not libfcgi's default.
 */
#include <fcgiapp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char answer[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 44\r\n"
    "\r\n"
    "{\"status\": {\"ok\": true, \"version\": \"floor\"}}";

int
main(void)
{
	FCGX_Request	 r;
	char		 buf[4096];

	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0)
		return 1;
	FCGX_InitRequest(&r, 0, 0);
	while (FCGX_Accept_r(&r) >= 0) {
		while (FCGX_GetStr(buf, sizeof(buf), r.in) > 0)
			;
		if (FCGX_HasSeenEOF(r.in))
			(void)FCGX_Detach(&r);
		FCGX_PutStr(answer, sizeof(answer) - 1, r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}
