/*
 * backfills.fcgi: the adapter. A FastCGI responder when fd 0 is a
 * listening socket (spawn-fcgi, mod_fcgid), else one plain CGI request
 * (RFC 3875) from the environment and stdin. The only file that knows
 * libfcgi: it turns params and streams into a struct request and writes
 * the struct response back.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "prefork.h"
#include "sandbox.h"
#include "service.h"
#include "store.h"
#include "wlock.h"

#define DRAIN_MAX	(64u << 20)	/* discard at most this of a refused body */

extern char **environ;

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
	FCGX_ShutdownPending();
}

/* The parameters the service reads, found in one pass over the
 * request's environment (a lookup each would scan it a dozen times). */
enum param {
	P_METHOD, P_PATH_INFO, P_SCRIPT_URL, P_QUERY, P_IF_MATCH, P_API_KEY,
	P_AUTHORIZATION, P_REDIRECT_AUTHORIZATION, P_OAUTH_TOKEN, P_COOKIE,
	P_ORIGIN, P_CONTENT_LENGTH, P_TRANSFER_ENCODING, P_REQUEST_ID, P__MAX
};

static const struct {
	const char	*name;
	size_t		 len;
} param_names[P__MAX] = {
#define P(e, s)	[e] = { s, sizeof(s) - 1 }
	P(P_METHOD, "REQUEST_METHOD"),
	P(P_PATH_INFO, "PATH_INFO"),
	P(P_SCRIPT_URL, "SCRIPT_URL"),
	P(P_QUERY, "QUERY_STRING"),
	P(P_IF_MATCH, "HTTP_IF_MATCH"),
	P(P_API_KEY, "HTTP_X_API_KEY"),
	P(P_AUTHORIZATION, "HTTP_AUTHORIZATION"),
	P(P_REDIRECT_AUTHORIZATION, "REDIRECT_HTTP_AUTHORIZATION"),
	P(P_OAUTH_TOKEN, "HTTP_OAUTH_TOKEN"),
	P(P_COOKIE, "HTTP_COOKIE"),
	P(P_ORIGIN, "HTTP_ORIGIN"),
	P(P_CONTENT_LENGTH, "CONTENT_LENGTH"),
	P(P_TRANSFER_ENCODING, "HTTP_TRANSFER_ENCODING"),
	P(P_REQUEST_ID, "REQUEST_ID"),
#undef P
};

/* How the adapter reads one request, whichever the mode. */
struct source {
	FCGX_Request	*fcgi;		/* NULL in CGI mode */
	const char	*p[P__MAX];	/* NULL where absent */
};

/* Fills src->p from the request's environment; the first of a name
 * counts, as with getenv(). */
static void
params_scan(struct source *src)
{
	char	**e = src->fcgi != NULL ? src->fcgi->envp : environ;
	const char *eq;
	size_t	 k;
	int	 i;

	memset(src->p, 0, sizeof(src->p));
	for (; e != NULL && *e != NULL; e++) {
		if ((eq = strchr(*e, '=')) == NULL)
			continue;
		k = (size_t)(eq - *e);
		for (i = 0; i < P__MAX; i++)
			if (param_names[i].len == k && src->p[i] == NULL &&
			    memcmp(*e, param_names[i].name, k) == 0) {
				src->p[i] = eq + 1;
				break;
			}
	}
}

static const char *
param(const struct source *src, enum param p)
{
	return src->p[p];
}

/* Reads up to n bytes of the body; returns how many were read. */
static size_t
body_read(const struct source *src, char *p, size_t n)
{
	size_t	 got = 0;
	int	 r;

	while (got < n) {
		if (src->fcgi != NULL)
			r = FCGX_GetStr(p + got, (int)(n - got), src->fcgi->in);
		else {
			r = (int)fread(p + got, 1, n - got, stdin);
			if (r == 0 && ferror(stdin) && errno == EINTR) {
				clearerr(stdin);
				continue;
			}
		}
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* Reads and discards up to max bytes of the body (DRAIN_MAX at most),
 * so that the web server can deliver an answer given before the body
 * was read, on a clean connection. */
static void
body_drain(const struct source *src, unsigned long long max)
{
	char	 sink[4096];
	size_t	 got, left;

	for (left = max > DRAIN_MAX ? DRAIN_MAX : (size_t)max; left > 0;
	    left -= got)
		if ((got = body_read(src, sink, left < sizeof(sink) ?
		    left : sizeof(sink))) == 0)
			break;
}

/* A body of the declared length cl (CONTENT_LENGTH), at most max bytes:
 * a longer one is refused unread (and drained). Returns its state; *cut
 * is set when it ended short: the client went away mid-body. */
static enum body_state
body_sized(const struct source *src, const char *cl, size_t max,
    struct buf *body, int *cut)
{
	unsigned long long n = 0;
	size_t		 i;

	for (i = 0; cl[i] != '\0'; i++) {
		if (cl[i] < '0' || cl[i] > '9' || i > 18)
			return BODY_BAD_LENGTH;
		n = n * 10 + (unsigned)(cl[i] - '0');
	}
	if (n > max) {
		body_drain(src, n);
		return BODY_TOO_LARGE;
	}
	if (buf_reserve(body, (size_t)n) < 0)
		return BODY_TOO_LARGE;
	body->len = body_read(src, body->data, (size_t)n);
	body->data[body->len] = '\0';
	*cut = body->len != n;
	return BODY_OK;
}

#define STREAM_STEP	16384	/* a body of unknown length grows by this */

/*
 * A FastCGI body without CONTENT_LENGTH, read to the stream's end: what
 * a server sends when it passes a chunked request on as it comes (nginx
 * and mod_fcgid buffer one and set CONTENT_LENGTH; nginx with
 * fastcgi_request_buffering off does not). At most max bytes: a longer
 * one is drained and refused. Returns its state (BODY_NONE for an empty
 * stream); *cut is set when the stream broke off (the connection
 * dropped) instead of ending.
 */
static enum body_state
body_stream(const struct source *src, size_t max, struct buf *body,
    int *cut)
{
	size_t	 want, got;

	do {
		want = max + 1 - body->len;
		if (want > STREAM_STEP)
			want = STREAM_STEP;
		if (buf_reserve(body, want) < 0)
			return BODY_TOO_LARGE;
		got = body_read(src, body->data + body->len, want);
		body->len += got;
		if (body->len > max) {
			body_drain(src, DRAIN_MAX);
			return BODY_TOO_LARGE;
		}
	} while (got == want);
	body->data[body->len] = '\0';
	*cut = FCGX_GetError(src->fcgi->in) != 0;
	return body->len > 0 ? BODY_OK : BODY_NONE;
}

/* Fills req from the source; the body lands in body (reused). Returns
 * 0, or -1 when the client went away before sending all its body. */
static int
request_read(const struct source *src, const struct conf *conf,
    struct buf *body, struct request *req)
{
	const char	*cl, *path;
	int		 cut = 0;

	memset(req, 0, sizeof(*req));
	req->method = http_method(param(src, P_METHOD));
	path = param(src, P_PATH_INFO);
	req->path = path != NULL && path[0] != '\0' ? path :
	    param(src, P_SCRIPT_URL);
	if (req->path == NULL)
		req->path = "";
	req->query = param(src, P_QUERY);
	if (req->query == NULL)
		req->query = "";
	req->if_match = param(src, P_IF_MATCH);
	req->api_key = param(src, P_API_KEY);
	req->authorization = param(src, P_AUTHORIZATION);
	if (req->authorization == NULL)	/* Apache after an internal rewrite */
		req->authorization = param(src, P_REDIRECT_AUTHORIZATION);
	req->oauth_token = param(src, P_OAUTH_TOKEN);
	req->cookie = param(src, P_COOKIE);
	req->origin = param(src, P_ORIGIN);

	buf_reset(body);
	cl = param(src, P_CONTENT_LENGTH);
	if (cl != NULL && cl[0] != '\0')
		req->body_state = body_sized(src, cl, conf->max_body, body,
		    &cut);
	else if (src->fcgi != NULL)
		req->body_state = body_stream(src, conf->max_body, body, &cut);
	else {
		/* Plain CGI: no CONTENT_LENGTH, no body (RFC 3875 4.1.2).
		 * Apache's mod_cgid passes a chunked one on stdin all the
		 * same, and ends it early with no sign when LimitRequestBody
		 * cuts it: refused (411), drained so that Apache can deliver
		 * the answer. */
		if (param(src, P_TRANSFER_ENCODING) != NULL)
			body_drain(src, DRAIN_MAX);
		req->body_state = BODY_NONE;
	}
	if (cut)
		return -1;
	if (req->body_state == BODY_OK) {
		req->body = body->data;
		req->body_len = body->len;
	}
	return 0;
}

/* Writes the response as CGI output (RFC 3875 6.2). */
static void
response_write(const struct source *src, const struct response *resp,
    struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "Status: %d %s\r\n", resp->status,
	    http_reason(resp->status));
	if (resp->status != 204)
		buf_printf(out, "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n", resp->body.len);
	buf_add(out, resp->headers.data, resp->headers.len);
	buf_add(out, "\r\n", 2);
	if (resp->status != 204)
		buf_add(out, resp->body.data, resp->body.len);
	if (src->fcgi != NULL)
		FCGX_PutStr(out->data, (int)out->len, src->fcgi->out);
	else {
		fwrite(out->data, 1, out->len, stdout);
		fflush(stdout);
	}
}

#define SLOW_MS	500	/* a request slower than this is logged */

/* Logs one request: 5xx as errors, slow ones as warnings, other
 * refusals at info, the rest at debug. Only the method, the path (never
 * the query, which may hold an api_key), status and duration. */
static void
log_request(const struct source *src, const struct request *req,
    int status, const struct timespec *t0)
{
	static unsigned long	 seq;
	struct timespec		 t1;
	const char		*rid = param(src, P_REQUEST_ID);
	char			 own[32];
	long			 ms;
	enum log_level		 l;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
	seq++;
	l = status >= 500 ? LOG_ERROR : ms >= SLOW_MS ? LOG_WARN :
	    status >= 400 ? LOG_INFO : LOG_DEBUG;
	if (rid == NULL || rid[0] == '\0') {
		snprintf(own, sizeof(own), "%d-%lu", (int)getpid(), seq);
		rid = own;
	}
	log_msg(l, "request %.64s %s %.512s -> %d in %ld ms", rid,
	    http_method_name(req->method), req->path, status, ms);
}

static void
serve_one(struct ctx *c, struct source *src, struct buf *body,
    struct buf *out, struct response *resp)
{
	struct request	 req;
	struct timespec	 t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	params_scan(src);
	if (request_read(src, &c->conf, body, &req) < 0) {
		/* The body ended before its CONTENT_LENGTH: nothing is
		 * changed. Whoever is still there (a CGI server reading our
		 * stdout, a FastCGI peer that ended its stream early) gets
		 * the 400 of a body that is not JSON, rather than nothing,
		 * which the web server would answer with its own 500. */
		resp_reset(resp);
		resp_error(resp, ERR_INVALID_JSON,
		    "The body is shorter than its Content-Length.", NULL);
	} else
		service_handle(c, &req, resp);
	log_request(src, &req, resp->status, &t0);
	response_write(src, resp, out);
}

static void
usage(void)
{
	fprintf(stderr, "usage: backfills.fcgi [-c conf] "
	    "[-s socket [-n workers] [-M mode] [-G group]]\n"
	    "       backfills.fcgi -X    (sandbox self-test: must die of "
	    "SIGSYS)\n");
	exit(2);
}

/* Enters the sandbox unless the conf turns it off, with what libpq
 * needs for a PostgreSQL database: a FastCGI worker before its first
 * accept, a CGI process before it reads its request. Returns 0, or -1
 * with a reason on stderr (then the process must not serve). */
static int
sandbox_for(const struct conf *conf)
{
	if (!conf->sandbox)
		return 0;
	return sandbox_enter(store_is_postgres(conf->database));
}

/* What one worker needs: the service, the config, reused buffers. */
struct worker {
	struct ctx	*c;
	struct buf	*body;
	struct buf	*out;
	struct response	*resp;
};

/* The FastCGI accept loop on a listening socket; returns when SIGTERM
 * or SIGINT arrives, after finishing the request in hand. */
static int
worker_loop(int fd, void *arg)
{
	struct worker	*w = arg;
	struct sigaction sa;
	sigset_t	 term;
	FCGX_Request	 fr;
	struct source	 src;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;	/* no SA_RESTART: accept() returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0) {
		log_msg(LOG_ERROR, "FCGX_Init failed");
		return 1;
	}
	if (sandbox_for(&w->c->conf) < 0)
		return 1;
	log_msg(LOG_INFO, "worker started (conf %s, database %s%s)",
	    w->c->conf.path, w->c->conf.database,
	    w->c->conf.sandbox ? ", sandboxed" : "");
	FCGX_InitRequest(&fr, fd, 0);
	src.fcgi = &fr;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	while (!stopping && FCGX_Accept_r(&fr) >= 0) {
		/* A stop asked for mid-request waits until it is answered: no
		 * read or write of this request sees EINTR. */
		sigprocmask(SIG_BLOCK, &term, NULL);
		serve_one(w->c, &src, w->body, w->out, w->resp);
		/* libfcgi closes a connection the slow way: shutdown(), then
		 * wait up to 2 s for the web server to close its end, reading
		 * and discarding what it still sends, so that no reset can
		 * cut the answer short. Once the request's input has been
		 * read to its end nothing more comes, and a plain close()
		 * cannot lose the answer (a unix socket hands written data to
		 * the peer at once); that saves a wait and a wake-up per
		 * request. A body left unread keeps the slow way. */
		if (FCGX_GetChar(fr.in) == EOF && FCGX_HasSeenEOF(fr.in))
			(void)FCGX_Detach(&fr);
		FCGX_Finish_r(&fr);
		service_idle(w->c);
		sigprocmask(SIG_UNBLOCK, &term, NULL);
	}
	FCGX_Free(&fr, 1);
	log_msg(LOG_INFO, "worker stopped");
	service_close(w->c);
	resp_free(w->resp);
	buf_free(w->body);
	buf_free(w->out);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct conf	 conf;
	struct ctx	 c;
	struct response	 resp = { 0 };
	struct buf	 body = { 0 }, out = { 0 };
	struct worker	 w = { &c, &body, &out, &resp };
	struct source	 src = { NULL };
	const char	*flag = NULL, *sock = NULL, *group = NULL;
	char		 path[PATH_MAX], err[512], *end;
	long		 workers = 1, mode = 0660;
	int		 ch, fd;
	enum err	 e;

	/* Nothing this process creates is for others to read (the database
	 * may hold secrets in variables); the conf's file_mode below. */
	umask(077);
	while ((ch = getopt(argc, argv, "c:s:n:M:G:X")) != -1)
		switch (ch) {
		case 'X':
			/* Self-test: enter the sandbox, then try execve; the
			 * sandbox must kill the process (SIGSYS). */
			if (sandbox_enter(0) < 0)
				return 1;
			execl("/bin/true", "true", (char *)NULL);
			fprintf(stderr, "backfills.fcgi: execve was not "
			    "stopped by the sandbox\n");
			return 3;
		case 'c':
			flag = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'n':
			workers = strtol(optarg, &end, 10);
			if (*end != '\0' || workers < 1 || workers > 256)
				usage();
			break;
		case 'M':
			mode = strtol(optarg, &end, 8);
			if (*end != '\0' || mode < 0 || mode > 0777)
				usage();
			break;
		case 'G':
			group = optarg;
			break;
		default:
			usage();
		}
	if (optind != argc)
		usage();
	conf_defaults(&conf);
	if (conf_locate(flag, path, sizeof(path), err, sizeof(err)) < 0 ||
	    conf_load(&conf, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "backfills.fcgi: %s\n", err);
		return 1;
	}
	log_set_level(conf.log_level);
	umask(conf_umask(&conf));
	if (conf.require_auth && conf.jwt_secret[0] == '\0') {
		fprintf(stderr, "backfills.fcgi: %s: require_authentication "
		    "is on but jwt_secret is not set: add a line \"jwt_secret "
		    "= <long random text>\" to it, or run \"backfillctl --conf "
		    "%s init\" to write one\n", conf.path, conf.path);
		return 1;
	}
	service_init(&c, &conf);
	/* Checked once up front (a newer schema refuses to serve); each
	 * worker then opens its own connection, after the fork. */
	e = service_open(&c, err, sizeof(err));
	service_close(&c);
	if (e == ERR_PRECONDITION) {
		fprintf(stderr, "backfills.fcgi: %s: %s\n", conf.database, err);
		return 1;
	}
	if (e != ERR_OK)
		log_msg(LOG_WARN, "database %s: %s (will retry per request)",
		    conf.database, err);
	service_init(&c, &conf);

	if (sock != NULL) {
		if ((fd = prefork_listen(sock, (mode_t)mode, group)) < 0)
			return 1;
		/* The pool's writers queue for the write lock here. */
		c.wlock = wlock_create();
		return prefork_run(fd, sock, (int)workers, worker_loop, &w);
	}
	if (FCGX_Init() != 0) {
		fprintf(stderr, "backfills.fcgi: FCGX_Init failed\n");
		return 1;
	}
	if (!FCGX_IsCGI())
		return worker_loop(0, &w);
	signal(SIGPIPE, SIG_IGN);
	/* One CGI request runs under the same sandbox as a FastCGI worker.
	 * If it cannot be entered, a JSON 500 rather than the web server's
	 * own page for a script that wrote nothing. */
	if (sandbox_for(&conf) < 0) {
		resp_error(&resp, ERR_INTERNAL, NULL, NULL);
		response_write(&src, &resp, &out);
		resp_free(&resp);
		buf_free(&out);
		return 1;
	}
	serve_one(&c, &src, &body, &out, &resp);
	fflush(stdout);
	service_idle(&c);
	service_close(&c);
	resp_free(&resp);
	buf_free(&body);
	buf_free(&out);
	return 0;
}
