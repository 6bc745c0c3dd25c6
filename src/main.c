/*
 * backfills.fcgi: the adapter. A FastCGI responder when fd 0 is a
 * listening socket (spawn-fcgi, mod_fcgid), else one plain CGI request
 * (RFC 3875) from the environment and stdin. The only file that knows
 * libfcgi: it turns params and streams into a struct request and writes
 * the struct response back.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <fcgiapp.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "prefork.h"
#include "sandbox.h"
#include "service.h"
#include "store.h"
#include "wlock.h"

#define DRAIN_MAX	(64u << 20)	/* discard at most this of a refused body */

extern char **environ;

/* The parameters the service reads, found in one pass over the
 * request's environment (a lookup each would scan it a dozen times). */
enum param {
	P_METHOD, P_PATH_INFO, P_SCRIPT_URL, P_QUERY, P_IF_MATCH,
	P_IF_NONE_MATCH, P_API_KEY,
	P_AUTHORIZATION, P_REDIRECT_AUTHORIZATION, P_OAUTH_TOKEN, P_COOKIE,
	P_ORIGIN, P_CONTENT_LENGTH, P_TRANSFER_ENCODING, P_REQUEST_ID,
	P_IDEMPOTENCY_KEY, P_REMOTE_ADDR, P__MAX
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
	P(P_IF_NONE_MATCH, "HTTP_IF_NONE_MATCH"),
	P(P_API_KEY, "HTTP_X_API_KEY"),
	P(P_AUTHORIZATION, "HTTP_AUTHORIZATION"),
	P(P_REDIRECT_AUTHORIZATION, "REDIRECT_HTTP_AUTHORIZATION"),
	P(P_OAUTH_TOKEN, "HTTP_OAUTH_TOKEN"),
	P(P_COOKIE, "HTTP_COOKIE"),
	P(P_ORIGIN, "HTTP_ORIGIN"),
	P(P_CONTENT_LENGTH, "CONTENT_LENGTH"),
	P(P_TRANSFER_ENCODING, "HTTP_TRANSFER_ENCODING"),
	P(P_REQUEST_ID, "REQUEST_ID"),
	P(P_IDEMPOTENCY_KEY, "HTTP_IDEMPOTENCY_KEY"),
	P(P_REMOTE_ADDR, "REMOTE_ADDR"),
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

/* Fills req from the source; the body lands in body (reused). */
static void
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
	req->if_none_match = param(src, P_IF_NONE_MATCH);
	req->api_key = param(src, P_API_KEY);
	req->authorization = param(src, P_AUTHORIZATION);
	if (req->authorization == NULL)	/* Apache after an internal rewrite */
		req->authorization = param(src, P_REDIRECT_AUTHORIZATION);
	req->oauth_token = param(src, P_OAUTH_TOKEN);
	req->cookie = param(src, P_COOKIE);
	req->origin = param(src, P_ORIGIN);
	req->idempotency_key = param(src, P_IDEMPOTENCY_KEY);
	req->remote_addr = param(src, P_REMOTE_ADDR);

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
	if (cut)	/* the service answers 400 (a FastCGI peer that ended
			 * its stream early, a CGI server still reading) */
		req->body_state = BODY_SHORT;
	else if (req->body_state == BODY_OK) {
		req->body = body->data;
		req->body_len = body->len;
	}
}

/* Writes p[0..n) to the request's output. */
static void
output(const struct source *src, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (src->fcgi != NULL)
		FCGX_PutStr(p, (int)n, src->fcgi->out);
	else
		fwrite(p, 1, n, stdout);
}

/* Writes the response as CGI output (RFC 3875 6.2): the head composed in
 * out, the body from where it is (a large one is not copied). */
static void
response_write(const struct source *src, const struct response *resp,
    struct buf *out)
{
	/* 204 and 304 have no content (RFC 9110 15.3.5, 15.4.5). */
	int	 content = resp->status != 204 && resp->status != 304;

	buf_reset(out);
	buf_printf(out, "Status: %d %s\r\n", resp->status,
	    http_reason(resp->status));
	if (content)
		buf_printf(out, "Content-Type: %s\r\n"
		    "Content-Length: %zu\r\n", resp->content_type != NULL ?
		    resp->content_type : "application/json", resp->body.len);
	buf_add(out, resp->headers.data, resp->headers.len);
	buf_add(out, "\r\n", 2);
	output(src, out->data, out->len);
	if (content)
		output(src, resp->body.data, resp->body.len);
	if (src->fcgi == NULL)
		fflush(stdout);
}


#define SLOW_MS	500	/* a request slower than this is logged */

/* Logs one request: 5xx as errors, slow ones as warnings, other
 * refusals at info, the rest at debug. Only the method, the path (never
 * the query, which may hold an api_key), status and duration. */
/* Microseconds since t0 (CLOCK_MONOTONIC). */
static int64_t
micros_since(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (int64_t)(t1.tv_sec - t0->tv_sec) * 1000000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000;
}

static void
log_request(const struct request *req, int status, const struct timespec *t0)
{
	long			 ms = (long)(micros_since(t0) / 1000);
	enum log_level		 l;

	l = status >= 500 ? LOG_ERROR : ms >= SLOW_MS ? LOG_WARN :
	    status >= 400 ? LOG_INFO : LOG_DEBUG;
	log_msg(l, "request %s %s %.512s -> %d in %ld ms", req->request_id,
	    http_method_name(req->method), req->path, status, ms);
}

/* The request's id: the web server's (nginx's $request_id, passed as
 * REQUEST_ID) when it is one, else this worker's own, pid-sequence.
 * Written into own (which holds 65 bytes). */
static const char *
request_id(const struct source *src, char *own)
{
	static unsigned long	 seq;
	const char		*rid = param(src, P_REQUEST_ID);
	size_t			 n;

	seq++;
	if (rid != NULL && (n = strlen(rid)) > 0 && n <= 64 &&
	    strspn(rid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n)
		return rid;
	snprintf(own, 65, "%d-%lu", (int)getpid(), seq);
	return own;
}

static void
serve_one(struct ctx *c, struct source *src, struct buf *body,
    struct buf *out, struct response *resp)
{
	struct request	 req;
	struct timespec	 t0;
	char		 own[65];
	const char	*rid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	params_scan(src);
	rid = request_id(src, own);
	request_read(src, &c->conf, body, &req);
	req.request_id = rid;
	req.started = (int64_t)t0.tv_sec * 1000000000 + t0.tv_nsec;
	metrics_busy(c->metrics, 1);
	service_handle(c, &req, resp);
	metrics_busy(c->metrics, -1);
	metrics_request(c->metrics, req.method, (enum route)resp->route,
	    resp->status, micros_since(&t0));
	log_request(&req, resp->status, &t0);
	response_write(src, resp, out);
}

static void
usage(void)
{
	fprintf(stderr, "usage: backfills.fcgi [-c conf] "
	    "[-s socket [-n workers] [-M mode] [-G group]]\n"
	    "       backfills.fcgi -V    (the version)\n"
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

/* What one worker needs: the service, the config, reused buffers; and
 * the conf's path as given, for a reload. */
struct worker {
	struct ctx	*c;
	struct buf	*body;
	struct buf	*out;
	struct response	*resp;
	const char	*conf_flag;
};

/* A buffer that grew past this for one request is given back after it:
 * a worker's memory returns to what its usual requests need. */
#define KEEP_MAX	(1u << 20)

/* Frees the buffers a large request grew, and returns the freed memory
 * to the system (malloc_trim: glibc keeps it otherwise). */
static void
shrink(struct worker *w)
{
	struct buf	*bufs[] = { w->body, w->out, &w->resp->body,
			    &w->resp->headers };
	size_t		 i;
	int		 freed = 0;

	for (i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		if (bufs[i]->cap > KEEP_MAX) {
			buf_free(bufs[i]);
			freed = 1;
		}
	if (freed)
		malloc_trim(0);
}

/*
 * No signal ever reaches libfcgi. In libfcgi 2.4.2 a stop asked for
 * while its accept checks a new connection for data drops that
 * connection, and its accept loop then spins on the closed descriptor: a
 * reload under load lost a request and left a worker at 100% CPU until
 * killed. So a worker keeps SIGTERM and SIGINT blocked and looks for
 * them itself (sigtimedwait, no handler) after each request and each
 * time its accept gives up: the listening socket has a receive timeout
 * (SO_RCVTIMEO, which accept(2) honours), so an idle worker's accept
 * returns every STOP_POLL_MS to let it see a stop. The accept itself
 * stays the kernel's blocking one, which wakes one waiting worker per
 * connection. (Waiting in epoll_pwait instead, signals open there, also
 * kept signals out of libfcgi, but woke workers for connections another
 * had taken: one failed accept per two requests, 14% of GET's
 * throughput on two cores.)
 */
#define STOP_POLL_MS	500

/* Whether a stop was asked for (a pending SIGTERM or SIGINT, taken). */
static int
stop_asked(const sigset_t *term)
{
	static const struct timespec now = { 0, 0 };

	return sigtimedwait(term, NULL, &now) > 0;
}

/* The FastCGI accept loop on a listening socket; returns when SIGTERM
 * or SIGINT arrives, after finishing the request in hand. */
static int
worker_loop(int fd, void *arg)
{
	struct worker	*w = arg;
	struct timeval	 poll_tv = { 0, STOP_POLL_MS * 1000 }, none = { 0, 0 };
	sigset_t	 term;
	FCGX_Request	 fr;
	struct source	 src;
	int64_t		 served = 0;
	int		 rc, fl;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_BLOCK, &term, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0) {
		log_msg(LOG_ERROR, "FCGX_Init failed");
		return 1;
	}
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    (fl & O_NONBLOCK && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &poll_tv,
	    sizeof(poll_tv)) < 0) {
		log_msg(LOG_ERROR, "the listening socket: %s", strerror(errno));
		return 1;
	}
	if (sandbox_for(&w->c->conf) < 0)
		return 1;
	log_msg(LOG_INFO, "worker started (conf %s, database %s%s)",
	    w->c->conf.path, w->c->conf.database,
	    w->c->conf.sandbox ? ", sandboxed" : "");
	FCGX_InitRequest(&fr, fd, 0);
	src.fcgi = &fr;
	while (!stop_asked(&term)) {
		/* -EAGAIN: the accept's timeout, to look for a stop */
		if ((rc = FCGX_Accept_r(&fr)) == -EAGAIN ||
		    rc == -EWOULDBLOCK || rc == -EINTR)
			continue;
		if (rc < 0) {
			log_msg(LOG_ERROR, "accept: %s", strerror(-rc));
			break;
		}
		/* The connection must not inherit the listener's timeout
		 * (a TCP one does): a body may take longer. */
		(void)setsockopt(fr.ipcFd, SOL_SOCKET, SO_RCVTIMEO, &none,
		    sizeof(none));
		served++;
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
		shrink(w);
		service_idle(w->c);
		/* recycled: the pool starts another in its place */
		if (w->c->conf.max_requests > 0 &&
		    served >= w->c->conf.max_requests)
			break;
	}
	FCGX_Free(&fr, 1);
	log_msg(LOG_INFO, "worker stopped");
	service_close(w->c);
	resp_free(w->resp);
	buf_free(w->body);
	buf_free(w->out);
	return 0;
}

/*
 * The conf read again on SIGHUP, in the pool's parent: the workers it
 * forks from now on serve with it. One that does not load (or lacks a
 * jwt_secret it needs) is logged and the old one kept. The socket and
 * the pool's size are the command line's: a reload keeps them.
 */
static int
reload(void *arg)
{
	struct worker	*w = arg;
	struct conf	 nc;
	char		 path[PATH_MAX], err[512];

	conf_defaults(&nc);
	if (conf_locate(w->conf_flag, path, sizeof(path), err,
	    sizeof(err)) < 0 || conf_load(&nc, path, err, sizeof(err)) < 0) {
		log_msg(LOG_ERROR, "reload: %s; the conf in use is kept", err);
		return -1;
	}
	if (nc.require_auth && nc.jwt_secret[0] == '\0') {
		log_msg(LOG_ERROR, "reload: %s: require_authentication is on "
		    "but jwt_secret is not set; the conf in use is kept",
		    nc.path);
		return -1;
	}
	w->c->conf = nc;
	log_set_level(nc.log_level);
	log_msg(LOG_INFO, "reload: %s read", nc.path);
	return 0;
}

/*
 * A listening socket systemd passed (socket activation, sd_listen_fds(3):
 * LISTEN_PID names this process, LISTEN_FDS counts the sockets from fd
 * 3): the pool then serves on fd 3, and a restart of the pool leaves the
 * socket to systemd, where connections wait instead of being refused.
 * The protocol is three variables and a file descriptor, stable since
 * systemd 183; reading them here spares a dependency on libsystemd.
 * Returns fd 3, or -1 when there is none.
 */
static int
systemd_socket(void)
{
	const char	*pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	int		 listening = 0;
	socklen_t	 len = sizeof(listening);

	if (pid == NULL || n == NULL || strtol(pid, NULL, 10) != getpid() ||
	    strcmp(n, "1") != 0)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 ||
	    !listening) {
		log_msg(LOG_ERROR, "LISTEN_FDS: fd 3 is not a listening "
		    "socket; ignored");
		return -1;
	}
	return 3;
}

int
main(int argc, char *argv[])
{
	struct conf	 conf;
	struct ctx	 c;
	struct response	 resp = { 0 };
	struct buf	 body = { 0 }, out = { 0 };
	struct worker	 w = { &c, &body, &out, &resp, NULL };
	struct prefork_hooks hooks = { reload, NULL, 0 };
	struct source	 src = { NULL };
	const char	*flag = NULL, *sock = NULL, *group = NULL;
	char		 path[PATH_MAX], err[512], *end;
	long		 workers = 1, mode = 0660;
	int		 ch, fd;
	enum err	 e;

	/* Nothing this process creates is for others to read (the database
	 * may hold secrets in variables); the conf's file_mode below. */
	umask(077);
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("backfills.fcgi %s\n", BACKFILLS_VERSION);
		return 0;
	}
	while ((ch = getopt(argc, argv, "c:s:n:M:G:VX")) != -1)
		switch (ch) {
		case 'V':
			printf("backfills.fcgi %s\n", BACKFILLS_VERSION);
			return 0;
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
	w.conf_flag = flag;
	/* Counted across the pool's workers when there is one, else by this
	 * process alone. */
	c.metrics = metrics_create();

	if (sock != NULL) {
		if ((fd = systemd_socket()) >= 0)
			hooks.keep_socket = 1;
		else if ((fd = prefork_listen(sock, (mode_t)mode, group)) < 0)
			return 1;
		/* The pool's writers queue for the write lock here. */
		c.wlock = wlock_create();
		hooks.metrics = c.metrics;
		return prefork_run(fd, sock, (int)workers, worker_loop, &w,
		    &hooks);
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
