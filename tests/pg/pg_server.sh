#!/bin/sh
# pg_server.sh: a throwaway PostgreSQL server for the tests, in a folder
# of its own, reachable only on a unix socket in that folder (no TCP).
#
#   pg_server.sh start DIR     initdb DIR/data and start it; prints the URI
#                              of its database postgres (others: replace
#                              the name, postgresql:///NAME?host=DIR&...)
#   pg_server.sh createdb DIR NAME   a database (UTF-8, C collation)
#   pg_server.sh dropdb DIR NAME
#   pg_server.sh halt DIR      stop the server, keep its data
#   pg_server.sh resume DIR    start it again
#   pg_server.sh stop DIR      stop it (pg_ctl, else the pid in its pid
#                              file) and remove DIR
#
# PostgreSQL refuses to run as root: as root, DIR is given to the user
# postgres and initdb/pg_ctl run as that user (runuser); as anyone else
# they run as that user. Authentication is "trust" on the socket, which
# only DIR's owner (and root) can reach.
#
# Environment: PG_BIN (default: the newest /usr/lib/postgresql/*/bin),
# PG_FSYNC (on; off trades crash safety for speed), PG_LOG (DIR/server.log).
set -eu

PATH=$PATH:/usr/sbin:/sbin
die() { echo "pg_server: $*" >&2; exit 1; }

[ $# -ge 2 ] || die "usage: pg_server.sh start|stop|createdb DIR [NAME]"
cmd=$1
dir=$2
case "$dir" in
/*) ;;
*) die "DIR must be an absolute path" ;;
esac
case "$dir" in
*[!A-Za-z0-9/._-]*) die "DIR=$dir: use a path without special characters" ;;
esac

if [ -z "${PG_BIN:-}" ]; then
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] ||
	die "no PostgreSQL server binaries (Debian: apt-get install postgresql)"

# Runs a command as the server's owner.
if [ "$(id -u)" -eq 0 ]; then
	id postgres >/dev/null 2>&1 ||
		die "no user postgres to run the server as (install postgresql)"
	# from /: the caller's folder may be closed to postgres (a clone
	# in root's 0700 home), which its tools complain about
	as_owner() { (cd / && runuser -u postgres -- "$@"); }
else
	as_owner() { "$@"; }
fi

# The socket in DIR only; no TCP listener at all.
opts="-c listen_addresses='' -c unix_socket_directories='$dir' \
-c fsync=${PG_FSYNC:-on} -c max_connections=200"
log=${PG_LOG:-$dir/server.log}

case "$cmd" in
start)
	[ ! -e "$dir/data" ] || die "$dir/data exists already"
	mkdir -p "$dir"
	chmod 0700 "$dir"
	[ "$(id -u)" -ne 0 ] || chown postgres:postgres "$dir"
	as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust \
	    -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$log" -w -t 30 \
	    -o "$opts" start >/dev/null ||
		{ tail -n 20 "$log" >&2; die "the server did not start"; }
	echo "postgresql:///postgres?host=$dir&user=postgres"
	;;
halt)
	as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
	;;
resume)
	as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$log" -w -t 30 \
	    -o "$opts" start >/dev/null ||
		{ tail -n 20 "$log" >&2; die "the server did not start"; }
	;;
createdb)
	[ $# -eq 3 ] || die "usage: pg_server.sh createdb DIR NAME"
	as_owner "$PG_BIN/createdb" -h "$dir" -U postgres -E UTF8 \
	    -T template0 --locale=C "$3"
	;;
dropdb)
	[ $# -eq 3 ] || die "usage: pg_server.sh dropdb DIR NAME"
	as_owner "$PG_BIN/dropdb" -h "$dir" -U postgres --if-exists --force "$3"
	;;
stop)
	if [ -f "$dir/data/postmaster.pid" ]; then
		pid=$(head -n 1 "$dir/data/postmaster.pid")
		as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop \
		    >/dev/null 2>&1 || {
			# pg_ctl could not: the postmaster's own pid, by number
			case "$pid" in ''|*[!0-9]*) ;; *) kill -TERM "$pid" 2>/dev/null || true ;; esac
			sleep 2
		}
	fi
	rm -rf "$dir"
	;;
*)
	die "unknown command $cmd"
	;;
esac
