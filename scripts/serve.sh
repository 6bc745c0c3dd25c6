#!/usr/bin/env bash
# serve.sh: runs the service in the foreground, as `make run` does and as
# the end-to-end tests and `make bench` start it: nginx on 127.0.0.1:$PORT
# in front of $WORKERS FastCGI workers on a unix socket only nginx can
# reach. Ctrl-C, SIGTERM or SIGHUP stops nginx and every worker, and the
# script exits 0; if nginx (or the pre-fork supervisor) dies on its own,
# the rest is stopped too and the script exits 1.
#
# Environment (defaults); paths are taken from the repository's root:
#   PORT=6789                 nginx listens on 127.0.0.1:$PORT only
#   DB=var/backfills.db       created with `$CTL_BIN init --demo` if absent;
#                             a postgresql:// URI is used as is (its demo
#                             data added by init --demo where missing)
#   WORKERS=4 x $(nproc)      FastCGI worker processes
#   RUNDIR=run                conf, socket, pid files, nginx logs and temp;
#                             as root, /run/backfills-<checksum of the
#                             checkout's path> (see below)
#   BASE_CONF=conf/demo.conf  the conf the run's conf starts from
#   EXTRA_CONF=""             "key = value" lines appended (later keys win)
#   SUPERVISOR=prefork        prefork: backfills.fcgi -s SOCK -n N (restarts
#                             dead workers); spawn-fcgi: spawn-fcgi -F N
#   FCGI_BIN=cgi-bin/backfills.fcgi   CTL_BIN=bin/backfillctl
#   MAX_BODY_NGINX=1m         nginx's client_max_body_size (above max_body)
#   MAGE_UI=""                a prebuilt Mage UI (frontend_dist) to serve at
#                             / beside the API, with Mage's error convention
#                             (http_error_codes = off) and, for the demo's
#                             token, a /sign-in that sets its cookie
#   QUIET=0                   1: print only the "Serving on" line
#
# Files in RUNDIR: backfills.conf (the workers' conf), nginx.conf (rendered
# from nginx.conf.example), backfills.sock, workers.pid (spawn-fcgi),
# nginx.pid, error.log (nginx's), serve.lock, *_temp/.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
# nginx, runuser: not in a Debian user's PATH by default.
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

die() { echo "serve: $*" >&2; exit 1; }
abs() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }

PORT=${PORT:-6789}
# Four per core: a worker waiting on a sync of the disk or on the write
# queue leaves its core to another (README, "Performance").
WORKERS=${WORKERS:-$((4 * $(nproc 2>/dev/null || echo 1)))}
DB=${DB:-var/backfills.db}
case "$DB" in
postgres://*|postgresql://*) DB_URI=1 ;;
*) DB_URI=0; DB=$(abs "$DB") ;;
esac
# As root, nginx's workers run as www-data, which cannot enter a checkout
# under a 0700 home such as /root: the run folder is then root's own under
# /run (root:www-data 0750, below), one per checkout.
if [ -z "${RUNDIR:-}" ] && [ "$(id -u)" -eq 0 ]; then
	RUNDIR=/run/backfills-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)
fi
RUNDIR=$(abs "${RUNDIR:-run}")
BASE_CONF=$(abs "${BASE_CONF:-conf/demo.conf}")
EXTRA_CONF=${EXTRA_CONF:-}
SUPERVISOR=${SUPERVISOR:-prefork}
FCGI_BIN=$(abs "${FCGI_BIN:-cgi-bin/backfills.fcgi}")
CTL_BIN=$(abs "${CTL_BIN:-bin/backfillctl}")
MAX_BODY_NGINX=${MAX_BODY_NGINX:-1m}
QUIET=${QUIET:-0}
MAGE_UI=${MAGE_UI:-}
SOCK=$RUNDIR/backfills.sock

say() { [ "$QUIET" = 1 ] || printf '%s\n' "$*"; }

# -- checks ---------------------------------------------------------------

case "$PORT" in
''|*[!0-9]*) die "PORT=$PORT is not a port number" ;;
esac
if [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
	die "PORT=$PORT is not in 1-65535"
fi
case "$WORKERS" in
''|*[!0-9]*|0) die "WORKERS=$WORKERS is not a positive number" ;;
esac
case "$MAX_BODY_NGINX" in
*[!0-9kKmMgG]*|[!0-9]*) die "MAX_BODY_NGINX=$MAX_BODY_NGINX is not an nginx size (e.g. 1m)" ;;
esac
case "$SUPERVISOR" in
prefork|spawn-fcgi) ;;
*) die "SUPERVISOR must be prefork or spawn-fcgi" ;;
esac
# The paths go into nginx.conf unquoted and through sed: plain characters
# only. A unix socket path has at most 107 bytes.
case "$RUNDIR" in
*[!A-Za-z0-9/._+,:%=~-]*) die "RUNDIR=$RUNDIR: use a path without spaces or special characters" ;;
esac
[ "${#SOCK}" -le 107 ] || die "$SOCK is too long for a unix socket (107 bytes at most): choose a shorter RUNDIR"
if [ -n "$MAGE_UI" ]; then
	MAGE_UI=$(abs "$MAGE_UI")
	case "$MAGE_UI" in
	*[!A-Za-z0-9/._+,:%=~-]*) die "MAGE_UI=$MAGE_UI: use a path without spaces or special characters" ;;
	esac
	[ -f "$MAGE_UI/index.html" ] && [ -d "$MAGE_UI/_next/static" ] ||
		die "MAGE_UI=$MAGE_UI is not a prebuilt Mage UI (no index.html" \
		    "and _next/static): point it at mage_ai/server/frontend_dist"
fi

for b in "$FCGI_BIN" "$CTL_BIN"; do
	[ -x "$b" ] || die "$b is not built: run make first"
done
[ -r "$BASE_CONF" ] || die "BASE_CONF=$BASE_CONF cannot be read"
for c in nginx curl flock; do
	command -v "$c" >/dev/null || die "$c not found: run scripts/deps.sh"
done
[ "$SUPERVISOR" = prefork ] || command -v spawn-fcgi >/dev/null ||
	die "spawn-fcgi not found: run scripts/deps.sh"

mkdir -p "$RUNDIR"
[ "$DB_URI" = 1 ] || mkdir -p "$(dirname "$DB")"

# One serve.sh per run folder: a second one would take over the socket.
# (fd 9 is closed for the processes started below.)
exec 9>"$RUNDIR/serve.lock"
flock -n 9 || die "another serve.sh is running with RUNDIR=$RUNDIR"

if [ "$DB_URI" = 1 ]; then
	"$CTL_BIN" --db "$DB" init --demo >/dev/null 9>&- ||
		die "$CTL_BIN --db $DB init --demo failed"
elif [ ! -e "$DB" ]; then
	say "Creating the demo database $DB"
	"$CTL_BIN" --db "$DB" init --demo >/dev/null 9>&- ||
		die "$CTL_BIN --db $DB init --demo failed"
fi

# -- the workers' conf and nginx's ----------------------------------------

# The base, then the database, then the overrides (a key given twice takes
# its last value). It may hold jwt_secret: not readable by others.
(
	umask 077
	{
		cat "$BASE_CONF"
		printf '\n# Added by scripts/serve.sh\ndatabase = %s\n' "$DB"
		# Mage's UI shows only the errors answered with HTTP 200.
		[ -z "$MAGE_UI" ] || printf 'http_error_codes = off\n'
		[ -z "$EXTRA_CONF" ] || printf '%s\n' "$EXTRA_CONF"
	} > "$RUNDIR/backfills.conf.new"
)
mv -f "$RUNDIR/backfills.conf.new" "$RUNDIR/backfills.conf"

# Only nginx reaches the socket. As root, nginx's workers run as www-data
# and the socket is root:www-data 0660 in a folder only root and www-data
# enter; otherwise everything runs as this user and the socket is 0600.
if [ "$(id -u)" -eq 0 ]; then
	USER_LINE="user www-data www-data;"
	chgrp www-data "$RUNDIR"
	chmod 0750 "$RUNDIR"
	if ! runuser -u www-data -- test -x "$RUNDIR/." 2>/dev/null; then
		die "nginx's user www-data cannot reach $RUNDIR: choose a" \
		    "RUNDIR whose folders above it www-data may enter, or" \
		    "leave RUNDIR unset"
	fi
	SOCK_MODE=0660
	SOCK_GROUP=www-data
else
	USER_LINE=""
	chmod 0700 "$RUNDIR"
	SOCK_MODE=0600
	SOCK_GROUP=""
fi
# With MAGE_UI, the UI's lines of nginx.conf.example replace the 404 at /,
# and the demo's token gets a cookie for the UI's sign-in page (signed
# with the conf's jwt_secret; a database without the demo token has no
# sign-in: use Mage's, README "Mage's UI").
UI_SED=()
if [ -n "$MAGE_UI" ]; then
	UI_SED=(-e '/#@NO_UI@/d' -e 's|^\( *\)#@UI@ |\1|' -e "s|@MAGE_UI@|$MAGE_UI|g")
	DEMO_TOKEN=bxyPj9Upq97jaL-gLkNA5g3gkifpF2pHFYfCs-2v6jg
	if cookie=$("$CTL_BIN" --conf "$RUNDIR/backfills.conf" token cookie \
	    "$DEMO_TOKEN" --ttl 30d 2>/dev/null 9>&-); then
		UI_SED+=(-e 's|^\( *\)#@SIGNIN@ |\1|' -e "s|@UI_COOKIE@|${cookie#oauth_token=}|g")
	fi
fi
sed "${UI_SED[@]}" -e "s|@USER_LINE@|$USER_LINE|g" -e "s|@RUNDIR@|$RUNDIR|g" \
    -e "s|@SOCKET@|$SOCK|g" -e "s|@PORT@|$PORT|g" \
    -e "s|@ACCESS_LOG@|$RUNDIR/access.log|g" \
    -e "s|@MAX_BODY@|$MAX_BODY_NGINX|g" \
    nginx.conf.example > "$RUNDIR/nginx.conf"

# -- start, stop ----------------------------------------------------------

nginx_pid=""
sup_pid=""
stopping=0
watcher_pid=""

# Whether process $1 runs. A zombie does not: spawn-fcgi's workers are
# orphans, and where nothing reaps orphans promptly (a container's PID 1)
# they would look alive long after they exited.
running() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# Sends TERM to nginx and every worker, waits up to 5 s, then KILLs what
# is left; removes the socket and pid files.
# shellcheck disable=SC2317  # called from the traps
stop() {
	[ "$stopping" = 1 ] && return 0
	stopping=1
	trap '' INT TERM HUP
	[ -z "$watcher_pid" ] || kill "$watcher_pid" 2>/dev/null || true
	local p pids=() alive
	[ -n "$nginx_pid" ] && pids+=("$nginx_pid")
	[ -n "$sup_pid" ] && pids+=("$sup_pid")
	if [ -f "$RUNDIR/workers.pid" ]; then
		# spawn-fcgi ends its pid file without a newline.
		while read -r p || [ -n "$p" ]; do
			case "$p" in ''|*[!0-9]*) ;; *) pids+=("$p") ;; esac
		done < "$RUNDIR/workers.pid"
	fi
	# nginx's own workers too, in case its master must be killed.
	if [ -n "$nginx_pid" ]; then
		for p in $(pgrep -P "$nginx_pid" 2>/dev/null || true); do
			pids+=("$p")
		done
	fi
	[ "${#pids[@]}" -gt 0 ] || { rm -f "$SOCK" "$RUNDIR/workers.pid"; return 0; }
	kill -TERM "${pids[@]}" 2>/dev/null || true
	for _ in $(seq 50); do
		alive=0
		for p in "${pids[@]}"; do
			running "$p" && { alive=1; break; }
		done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	if [ "$alive" = 1 ]; then
		echo "serve: killing what did not stop within 5 s" >&2
		kill -KILL "${pids[@]}" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	rm -f "$SOCK" "$RUNDIR/workers.pid" "$RUNDIR/nginx.pid"
	say "Stopped."
}
trap 'stop; exit 0' INT TERM HUP
trap 'rc=$?; stop; exit $rc' EXIT

rm -f "$SOCK" "$RUNDIR/workers.pid"
if [ "$SUPERVISOR" = prefork ]; then
	"$FCGI_BIN" -c "$RUNDIR/backfills.conf" -s "$SOCK" -n "$WORKERS" \
	    -M "$SOCK_MODE" ${SOCK_GROUP:+-G "$SOCK_GROUP"} 9>&- &
	sup_pid=$!
else
	# spawn-fcgi binds the socket, forks the workers and returns. (Not
	# -U root: spawn-fcgi refuses it, "I will not set uid to 0"; the
	# socket is root's anyway.) -b: the system's longest listen queue,
	# as the pre-fork pool takes (spawn-fcgi's default is 1024).
	spawn-fcgi -F "$WORKERS" -s "$SOCK" -M "$SOCK_MODE" \
	    -b "$(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo 1024)" \
	    ${SOCK_GROUP:+-G "$SOCK_GROUP"} -P "$RUNDIR/workers.pid" \
	    -- "$FCGI_BIN" -c "$RUNDIR/backfills.conf" >/dev/null 9>&- ||
		die "spawn-fcgi failed (status $?)"
fi

nginx -p "$RUNDIR" -c "$RUNDIR/nginx.conf" -e "$RUNDIR/error.log" 9>&- &
nginx_pid=$!

# Ready when a worker answers /api/status through nginx: 200, or any other
# status that does not come from nginx itself (then the service runs but
# reports a problem, e.g. 503 when the database cannot be read: serve, and
# say so). nginx's own 503 (no worker yet) is told apart by its body,
# written in nginx.conf.example.
GATEWAY_503='"message": "Service unavailable.", "type": "unavailable"'
show_error_log() {
	echo "serve: nginx's error log ($RUNDIR/error.log) ends:" >&2
	tail -n 20 "$RUNDIR/error.log" >&2 2>/dev/null || true
}
workers_alive() {
	local p
	if [ -n "$sup_pid" ]; then
		running "$sup_pid"
		return
	fi
	[ -f "$RUNDIR/workers.pid" ] || return 1
	while read -r p || [ -n "$p" ]; do
		running "$p" && return 0
	done < "$RUNDIR/workers.pid"
	return 1
}
ready=0
code=000
for _ in $(seq 100); do
	: > "$RUNDIR/status.out"
	code=$(curl -s -o "$RUNDIR/status.out" -w '%{http_code}' --max-time 2 \
	    "http://127.0.0.1:$PORT/api/status" 2>/dev/null) || true
	case "$code" in
	200) ready=1; break ;;
	000|502|504) ;;
	503) grep -qF "$GATEWAY_503" "$RUNDIR/status.out" || { ready=1; break; } ;;
	*) ready=1; break ;;
	esac
	if ! kill -0 "$nginx_pid" 2>/dev/null; then
		echo "serve: nginx did not start" >&2
		show_error_log
		exit 1
	fi
	workers_alive || die "the workers exited (see their messages above)"
	sleep 0.1
done
if [ "$ready" != 1 ]; then
	echo "serve: no worker answered http://127.0.0.1:$PORT/api/status within" \
	    "10 s (last: ${code/#000/no answer})" >&2
	show_error_log
	exit 1
fi
if [ "$code" != 200 ]; then
	echo "serve: warning: /api/status answers $code: $(head -c 300 "$RUNDIR/status.out")" >&2
fi
rm -f "$RUNDIR/status.out"

printf 'Serving on http://127.0.0.1:%s/api/ (%s workers, database %s). Ctrl-C stops.\n' \
    "$PORT" "$WORKERS" "$DB"
say "Run folder (nginx.conf, error.log, the socket): $RUNDIR"
if [ -n "$MAGE_UI" ]; then
	printf "Mage's UI: http://127.0.0.1:%s/pipelines/arwen_starlight/backfills\n" "$PORT"
	printf "(127.0.0.1, not localhost: on localhost Mage's UI calls port 6789)\n"
fi
say ""
say "Try the founding example:"
say ""
say "curl -X PUT --url http://localhost:$PORT/api/pipelines/arwen_starlight/backfills/6 \\
  -H 'Content-Type: application/json' \\
  -H 'Cookie: oauth_token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHBpcmVzIjoxNjkyMzE0ODM3LjE1MTkzOSwidG9rZW4iOiJieHlQajlVcHE5N2phTC1nTGtOQTVnM2draWZwRjJwSEZZZkNzLTJ2NmpnIn0.bWqUP7Xg9PmHBW703AGPOE270Cc73F4kb0IKHLppGbM' \\
  -H 'X-API-KEY: zkWlN0PkIKSN0C11CfUHUj84OT5XOJ6tDZ6bDRO2' \\
  -d '{\"backfill\": {\"start_datetime\": \"2023-07-17 23:56:05\",
                   \"end_datetime\": \"2023-07-18 23:56:05\", \"name\": \"new_name\"}}'"

# With STOP_WITH_PARENT=1 (make run), a SIGTERM to make stops the service
# too: make does not pass signals on, so a watcher sends TERM here when
# the parent is gone.
if [ "${STOP_WITH_PARENT:-0}" = 1 ]; then
	parent=$PPID
	(
		trap - INT TERM HUP EXIT
		while kill -0 "$parent" 2>/dev/null; do sleep 0.5; done
		kill -TERM $$ 2>/dev/null
	) 9>&- &
	watcher_pid=$!
fi

# Stay in the foreground while nginx (and the pre-fork supervisor) run. A
# trapped signal interrupts the wait and stops everything (exit 0).
rc=0
if [ -n "$sup_pid" ]; then
	wait -n "$nginx_pid" "$sup_pid" || rc=$?
else
	wait "$nginx_pid" || rc=$?
fi
if kill -0 "$nginx_pid" 2>/dev/null; then
	echo "serve: the worker supervisor exited (status $rc); stopping" >&2
else
	echo "serve: nginx exited (status $rc); stopping the workers" >&2
	show_error_log
fi
exit 1
