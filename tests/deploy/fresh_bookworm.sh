#!/bin/sh
# fresh_bookworm.sh (make fresh-test): make and make run on a fresh
# Debian 12, as an operator would meet them.
#
#   1. debootstrap --variant=minbase bookworm (once, kept in
#      $FRESH_DIR/base; FRESH_REBUILD=1 makes it again), copied afresh to
#      $FRESH_DIR/root; apt-get install git make there.
#   2. As root in /root (mode 0700): git clone of this repository's
#      committed HEAD into /root/p.
#   3. Plain make stops at once with the apt-get install -y line of the
#      build group, no compiler error.
#   4. PORT=<free port> make run installs what it needs, builds, serves:
#      /api/status answers 200, the founding example 200; SIGTERM stops it.
#   5. What make run installed: counted and listed, none of PostgreSQL,
#      Apache, clang, valgrind, wrk; no service left running by the
#      install (nginx on port 80, say).
#
# The chroot runs in new mount and PID namespaces (unshare): /proc, /dev
# and /sys are mounted for apt and nginx, and every process started there
# dies with it. It shares this machine's network (apt needs the Debian
# mirror), so make run's nginx listens on 127.0.0.1 here.
#
# Root only; needs debootstrap (scripts/deps.sh fresh) and the Debian
# mirror. Several minutes (about 150 packages). Prints one line per check,
# the package counts, and "N passed, N failed".
#   FRESH_DIR=/var/tmp/backfills-fresh   FRESH_MIRROR=http://deb.debian.org/debian
set -eu

cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "fresh-test: run as root (debootstrap, chroot)" >&2; exit 2; }
D=${FRESH_DIR:-/var/tmp/backfills-fresh}
MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$D"

if [ ! -x "$D/base/usr/bin/apt-get" ] || [ "${FRESH_REBUILD:-0}" = 1 ]; then
	rm -rf --one-file-system "$D/base" "$D/base.new"
	echo "fresh-test: debootstrap --variant=minbase bookworm (log: $D/debootstrap.log)"
	debootstrap --variant=minbase bookworm "$D/base.new" "$MIRROR" \
	    > "$D/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$D/debootstrap.log"; exit 1; }
	mv "$D/base.new" "$D/base"
fi
R=$D/root
rm -rf --one-file-system "$R"
cp -a "$D/base" "$R"
cp /etc/resolv.conf "$R/etc/resolv.conf"
git clone -q --bare . "$R/srv/backfills.git"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Everything below runs inside the namespaces; its output is the report.
unshare --mount --pid --fork --kill-child --mount-proc --propagation private \
    sh -s "$R" "$D" "$port" <<'INNER'
set -u
R=$1 D=$2 port=$3
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
mount -t proc proc "$R/proc"
mount --rbind /dev "$R/dev"
mount -t sysfs sysfs "$R/sys"
chr() {
	env -i HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive \
	    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    chroot "$R" sh -c "$1"
}
pkgs() { chr "dpkg-query -W -f='\${db:Status-Status} \${Package}\n'" | sed -n 's/^installed //p' | sort; }

n_base=$(pkgs | wc -l)
chr "apt-get update -q && apt-get install -y -q --no-install-recommends git make" \
    > "$D/apt.log" 2>&1 || { fail "apt-get install git make (see $D/apt.log)"; exit 1; }
pkgs > "$D/pkgs.before"
n0=$(wc -l < "$D/pkgs.before")
echo "     minbase: $n_base packages; with git and make: $n0"
[ "$(stat -c %a "$R/root")" = 700 ] && ok "/root is 0700" || fail "/root is $(stat -c %a "$R/root")"

chr "cd /root && git clone -q /srv/backfills.git p" && ok "git clone into /root/p" ||
	{ fail "git clone"; exit 1; }

chr "cd /root/p && make" > "$D/make.log" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q '^apt-get install -y build-essential pkg-config libfcgi-dev' "$D/make.log" &&
    ! grep -q 'error:' "$D/make.log"; then
	ok "plain make stops with the apt-get line: $(grep '^apt-get install' "$D/make.log")"
else
	fail "plain make (exit $rc): $(tail -n 5 "$D/make.log")"
fi

# make's own pid (exec), for the SIGTERM below
chr "echo \$\$ > /root/make.pid; cd /root/p && PORT=$port exec make run" > "$D/make-run.log" 2>&1 &
run=$!
i=0
while [ $i -lt 1200 ] && kill -0 $run 2>/dev/null && ! grep -q '^Serving on' "$D/make-run.log"; do
	sleep 1; i=$((i + 1))
done
if grep -q '^Serving on' "$D/make-run.log"; then
	ok "make run serves after ${i} s: $(grep '^Serving on' "$D/make-run.log")"
	code=$(chr "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/api/status")
	[ "$code" = 200 ] && ok "GET /api/status -> 200" || fail "GET /api/status -> $code"
	# the founding example, as make run prints it
	sed -n '/^curl -X PUT/,/new_name/p' "$D/make-run.log" |
	    sed '$ s/$/ -s -w " %{http_code}"/' > "$R/root/founding.sh"
	out=$(chr "sh /root/founding.sh")
	case "$out" in
	*'"name": "new_name"'*' 200') ok "the founding example -> 200 new_name" ;;
	*) fail "the founding example: $out" ;;
	esac
else
	fail "make run did not serve: $(tail -n 15 "$D/make-run.log")"
fi
kill -TERM "$(cat "$R/root/make.pid")" 2>/dev/null
wait $run
grep -q '^Stopped' "$D/make-run.log" && ok "SIGTERM: make run stopped" ||
	fail "make run did not say Stopped: $(tail -n 3 "$D/make-run.log")"

pkgs > "$D/pkgs.after"
comm -13 "$D/pkgs.before" "$D/pkgs.after" > "$D/pkgs.added"
echo "     make run installed $(wc -l < "$D/pkgs.added") packages ($D/pkgs.added); asked for:" \
    "$(sed -n 's/^deps: installing//p' "$D/make-run.log")"
bad=$(grep -E '^(postgresql|apache2|clang|valgrind|wrk|libclang-rt|check)' "$D/pkgs.added" | tr '\n' ' ')
[ -z "$bad" ] && ok "nothing of PostgreSQL, Apache, clang, valgrind, wrk, Check" ||
	fail "installed $bad"
sleep 1
left=""
for p in /proc/[0-9]*; do
	n=${p#/proc/}
	[ "$n" = 1 ] || [ "$n" = $$ ] && continue
	c=$(cat "$p/comm" 2>/dev/null) || continue
	case "$c" in sh|sleep|cat|sed) ;; *) left="$left $n:$c" ;; esac
done
[ -z "$left" ] && ok "no service left running by the install or make run" ||
	fail "still running:$left"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
INNER
