#!/usr/bin/env bash
# serve.sh: runs the service in the foreground, as make run does, and as
# the end-to-end tests and make bench start it: nginx on 127.0.0.1:$PORT
# in front of $WORKERS FastCGI workers on a unix socket only nginx can
# reach. Ctrl-C or SIGTERM stops nginx and every worker.
#
# Environment (defaults):
#   PORT=6789  DB=var/backfills.db  WORKERS=$(nproc)  RUNDIR=run
#   BASE_CONF=conf/demo.conf   the conf the run's conf starts from
#   EXTRA_CONF=""              "key = value" lines appended (they win)
#   SUPERVISOR=prefork         prefork: backfills.fcgi -s (restarts dead
#                              workers); spawn-fcgi: spawn-fcgi -F
#   FCGI_BIN=cgi-bin/backfills.fcgi  CTL_BIN=bin/backfillctl
#   MAX_BODY_NGINX=1m  QUIET=0 (1: print only the "Serving on" line)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
abs() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }

PORT=${PORT:-6789}
WORKERS=${WORKERS:-$(nproc)}
DB=$(abs "${DB:-var/backfills.db}")
RUNDIR=$(abs "${RUNDIR:-run}")
BASE_CONF=$(abs "${BASE_CONF:-conf/demo.conf}")
EXTRA_CONF=${EXTRA_CONF:-}
SUPERVISOR=${SUPERVISOR:-prefork}
FCGI_BIN=$(abs "${FCGI_BIN:-cgi-bin/backfills.fcgi}")
CTL_BIN=$(abs "${CTL_BIN:-bin/backfillctl}")
MAX_BODY_NGINX=${MAX_BODY_NGINX:-1m}
QUIET=${QUIET:-0}
SOCK=$RUNDIR/backfills.sock

say() { [ "$QUIET" = 1 ] || printf '%s\n' "$*"; }

for b in "$FCGI_BIN" "$CTL_BIN"; do
	[ -x "$b" ] || { echo "serve: $b is not built: run make first" >&2; exit 1; }
done

mkdir -p "$RUNDIR" "$(dirname "$DB")"
if [ ! -e "$DB" ]; then
	say "Creating the demo database $DB"
	"$CTL_BIN" --db "$DB" init --demo >/dev/null
fi

# The run's conf: the base, then the database, then the overrides.
{
	cat "$BASE_CONF"
	printf '\n# Added by scripts/serve.sh\ndatabase = %s\n' "$DB"
	[ -n "$EXTRA_CONF" ] && printf '%s\n' "$EXTRA_CONF"
} > "$RUNDIR/backfills.conf"
chmod 0640 "$RUNDIR/backfills.conf"	# it holds jwt_secret

# Only nginx reaches the socket: as root, nginx's workers run as
# www-data and the socket is group www-data, mode 0660; otherwise
# everything runs as this user and the socket is 0600.
if [ "$(id -u)" -eq 0 ]; then
	USER_LINE="user www-data www-data;"
	chgrp www-data "$RUNDIR"
	chmod 0750 "$RUNDIR"
	if ! runuser -u www-data -- test -x "$RUNDIR/."; then
		echo "serve: nginx's user www-data cannot reach $RUNDIR;" \
		    "make the folders above it traversable (chmod o+x) or" \
		    "run as a user other than root" >&2
		exit 1
	fi
	SOCK_MODE=0660
	SOCK_GROUP=www-data
else
	USER_LINE=""
	chmod 0700 "$RUNDIR"
	SOCK_MODE=0600
	SOCK_GROUP=""
fi
sed -e "s|@USER_LINE@|$USER_LINE|" -e "s|@RUNDIR@|$RUNDIR|g" \
    -e "s|@SOCKET@|$SOCK|g" -e "s|@PORT@|$PORT|g" \
    -e "s|@MAX_BODY@|$MAX_BODY_NGINX|g" nginx.conf.example > "$RUNDIR/nginx.conf"

pids=()
stopped=0
stop() {
	[ "$stopped" = 1 ] && return
	stopped=1
	trap - INT TERM HUP
	local p n
	[ -f "$RUNDIR/workers.pid" ] && while read -r p || [ -n "$p" ]; do pids+=("$p"); done < "$RUNDIR/workers.pid"
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for n in $(seq 50); do
		local alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -f "$SOCK" "$RUNDIR/workers.pid"
	say "Stopped."
}
trap 'stop; exit 0' INT TERM HUP
trap 'stop' EXIT

rm -f "$SOCK" "$RUNDIR/workers.pid"
case "$SUPERVISOR" in
prefork)
	"$FCGI_BIN" -c "$RUNDIR/backfills.conf" -s "$SOCK" -n "$WORKERS" \
	    -M "$SOCK_MODE" ${SOCK_GROUP:+-G "$SOCK_GROUP"} &
	pids+=($!)
	;;
spawn-fcgi)
	spawn-fcgi -F "$WORKERS" -s "$SOCK" -M "$SOCK_MODE" \
	    ${SOCK_GROUP:+-G "$SOCK_GROUP"} -P "$RUNDIR/workers.pid" \
	    -- "$FCGI_BIN" -c "$RUNDIR/backfills.conf" >/dev/null
	;;
*)
	echo "serve: SUPERVISOR must be prefork or spawn-fcgi" >&2
	exit 1
	;;
esac

nginx -p "$RUNDIR" -c "$RUNDIR/nginx.conf" -e "$RUNDIR/error.log" &
pids+=($!)
nginx_pid=$!

ready=0
for _ in $(seq 150); do
	if curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/status" 2>/dev/null; then
		ready=1
		break
	fi
	if ! kill -0 "$nginx_pid" 2>/dev/null; then
		echo "serve: nginx did not start:" >&2
		cat "$RUNDIR/error.log" >&2 || true
		exit 1
	fi
	sleep 0.1
done
if [ "$ready" != 1 ]; then
	echo "serve: the service did not answer /api/status with 200:" >&2
	tail -n 5 "$RUNDIR/error.log" >&2 || true
	exit 1
fi

printf 'Serving on http://127.0.0.1:%s/api/ (%s workers, %s, database %s). Ctrl-C stops.\n' \
    "$PORT" "$WORKERS" "$SUPERVISOR" "$DB"
say ""
say "Try the founding example:"
say ""
say "curl -X PUT --url http://localhost:$PORT/api/pipelines/arwen_starlight/backfills/6 \\
  -H 'Content-Type: application/json' \\
  -H 'Cookie: oauth_token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHBpcmVzIjoxNjkyMzE0ODM3LjE1MTkzOSwidG9rZW4iOiJieHlQajlVcHE5N2phTC1nTGtOQTVnM2draWZwRjJwSEZZZkNzLTJ2NmpnIn0.bWqUP7Xg9PmHBW703AGPOE270Cc73F4kb0IKHLppGbM' \\
  -H 'X-API-KEY: zkWlN0PkIKSN0C11CfUHUj84OT5XOJ6tDZ6bDRO2' \\
  -d '{\"backfill\": {\"start_datetime\": \"2023-07-17 23:56:05\",
                   \"end_datetime\": \"2023-07-18 23:56:05\", \"name\": \"new_name\"}}'"

# Stay in the foreground while nginx runs.
wait "$nginx_pid" || true
