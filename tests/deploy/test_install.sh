#!/bin/sh
# test_install.sh: make install / make uninstall into a temporary DESTDIR.
#
#   1. make install DESTDIR=$tmp PREFIX=/usr/local lays out every file
#      with its mode; the units and the confs name the installed paths;
#      the installed programs run.
#   2. The conf is edited (backfillctl init appends a jwt_secret, and a
#      line is changed by hand); a second make install keeps it as edited
#      and puts everything else back.
#   3. make uninstall removes every file but the edited conf, which
#      make uninstall PURGE=1 then removes; an unedited conf goes with a
#      plain make uninstall.
#   4. PREFIX=/opt/backfills DBDIR=/srv/bf: the unit, the man pages, the
#      conf and the tmpfiles.d and sysusers.d files name those paths.
#   5. PREFIX=/usr: the conf in /etc/backfills (not /usr/etc), the rest
#      under /usr/lib and /usr/share.
#
# Run from make install-test (MAKE is passed on; SAN=1 as well, through
# MAKEFLAGS). Prints one line per check and "N passed, N failed"; exits 1
# when a check failed. Needs no root.
set -u

cd "$(dirname "$0")/../.." || exit 2
MAKE=${MAKE:-make}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bf-install.XXXXXX") || exit 2
log=$tmp/make.log
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
# check NAME COMMAND...: passes when COMMAND succeeds.
check() {
	name=$1; shift
	if "$@" >>"$log" 2>&1; then ok "$name"; else fail "$name"; fi
}
# mode_is FILE MODE: the file exists with exactly these permissions.
mode_is() { [ -f "$1" ] && [ "$(stat -c %a "$1")" = "$2" ]; }
mk() { $MAKE --no-print-directory "$@" >>"$log" 2>&1; }

d=$tmp/root
P=$d/usr/local
conf=$P/etc/backfills/backfills.conf
unit=$P/lib/systemd/system/backfills.service
sysusers=$P/lib/sysusers.d/backfills.conf
tmpfiles=$P/lib/tmpfiles.d/backfills.conf
site=$P/share/backfills/nginx-site.conf
xunit=$P/lib/systemd/system/backfills-exec.service
xconf=$P/etc/backfills/exec.conf
files="$P/bin/backfills.fcgi:755 $P/bin/backfillctl:755 $conf:640
$unit:644 $sysusers:644 $tmpfiles:644 $site:644
$P/share/man/man5/backfills.conf.5:644
$P/share/man/man8/backfills.fcgi.8:644 $P/share/man/man8/backfillctl.8:644
$P/bin/backfills-exec:755 $xconf:640 $xunit:644
$P/lib/systemd/system/backfills.socket:644
$P/share/man/man8/backfills-exec.8:644"
nfiles=15

# -- 1. install -------------------------------------------------------------

check "make install DESTDIR PREFIX=/usr/local" \
	mk install DESTDIR="$d" PREFIX=/usr/local
for f in $files; do
	check "installed ${f%:*} (mode ${f##*:})" mode_is "${f%:*}" "${f##*:}"
done
check "nothing else installed" test "$(find "$d" -type f | wc -l)" -eq $nfiles
check "the unit runs the installed binary with the installed conf" \
	grep -qx 'ExecStart=/usr/local/bin/backfills.fcgi -c /usr/local/etc/backfills/backfills.conf -s /run/backfills/backfills.sock -n 4 -M 0660 -G www-data' "$unit"
check "the executor's unit runs it with the installed conf" \
	grep -qx 'ExecStart=/usr/local/bin/backfills-exec -c /usr/local/etc/backfills/exec.conf' "$xunit"
check "the executor's conf is the shipped one" cmp -s conf/exec.conf "$xconf"
check "the installed backfills-exec runs (--version, exit 0)" \
	sh -c "'$P/bin/backfills-exec' --version | grep -q '^backfills-exec '"
check "the unit reloads with SIGHUP" \
	grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit"
check "the socket unit listens where the service would bind" \
	grep -qx 'ListenStream=/run/backfills/backfills.sock' \
	"$P/lib/systemd/system/backfills.socket"
# systemd-analyze verify: nothing to say but that the binaries are not
# at /usr/local/bin (they are under DESTDIR)
verify_units() {
	(cd "$P/lib/systemd/system" && SYSTEMD_LOG_LEVEL=err \
	    systemd-analyze verify --man=no ./backfills.socket \
	    ./backfills.service 2>&1) | grep -v 'is not executable' |
	    grep . && return 1
	return 0
}
if command -v systemd-analyze >/dev/null 2>&1; then
	check "systemd-analyze verify accepts the socket and service" \
		verify_units
fi
check "the conf names /var/lib/backfills/backfills.db" \
	grep -qx 'database = /var/lib/backfills/backfills.db' "$conf"
check "the unit makes its folders from the tmpfiles.d file" \
	grep -qx 'ExecStartPre=+/usr/bin/systemd-tmpfiles --create backfills.conf' "$unit"
check "sysusers.d: the system user backfills, home /var/lib/backfills" \
	grep -qx 'u backfills - "backfills API service" /var/lib/backfills' "$sysusers"
check "tmpfiles.d: /var/lib/backfills, /run/backfills (group www-data), the conf root:backfills 0640" \
	sh -c "grep -qx 'd /var/lib/backfills 0750 backfills backfills -' '$tmpfiles' &&
	    grep -qx 'd /run/backfills 0750 backfills www-data -' '$tmpfiles' &&
	    grep -qx 'z /usr/local/etc/backfills/backfills.conf 0640 root backfills -' '$tmpfiles'"
# Applied to a scratch root (its /etc/passwd and group copied from this
# system's): the user, the folders with their owners, the conf's group.
if [ "$(id -u)" -eq 0 ] && command -v systemd-tmpfiles >/dev/null 2>&1; then
	s=$tmp/sysroot
	mkdir -p "$s/etc" "$s/usr/local/etc/backfills"
	cp /etc/passwd /etc/group "$s/etc/"
	cp "$conf" "$s/usr/local/etc/backfills/"
	check "systemd-sysusers and systemd-tmpfiles apply them (--root)" \
		sh -c "systemd-sysusers --root='$s' '$sysusers' &&
		    systemd-tmpfiles --root='$s' --create '$tmpfiles'"
	ids() { stat -c '%u:%g %a' "$1" 2>/dev/null; }
	u=$(sed -n 's/^backfills:[^:]*:\([0-9]*\):\([0-9]*\):.*/\1:\2/p' "$s/etc/passwd")
	w=$(getent group www-data | cut -d: -f3)
	check "... backfills:backfills 0750 /var/lib/backfills" \
		test "$(ids "$s/var/lib/backfills")" = "$u 750"
	check "... backfills:www-data 0750 /run/backfills" \
		test "$(ids "$s/run/backfills")" = "${u%:*}:$w 750"
	check "... root:backfills 0640 the conf" \
		test "$(ids "$s/usr/local/etc/backfills/backfills.conf")" = "0:${u#*:} 640"
fi
check "the nginx site names the socket the unit binds, no placeholder left" \
	sh -c "grep -q 'server unix:/run/backfills/backfills.sock;' '$site' &&
	    ! sed 's/#.*//' '$site' | grep -q '@[A-Z_]*@'"
# beside Debian's default site (listen 80 default_server), an address
# with parameters of its own (backlog=) would be bound apart: EADDRINUSE
check "the site's listen line has no parameters of its own" \
	grep -qx '    listen 127.0.0.1:80;' "$site"
if command -v nginx >/dev/null 2>&1; then
	printf 'pid %s/nginx.pid;\nerror_log stderr;\nevents { }\nhttp { include %s; }\n' \
		"$tmp" "$site" > "$tmp/nginx.conf"
	check "nginx -t accepts the site inside an http block" \
		env PATH="$PATH:/usr/sbin" nginx -t -q -c "$tmp/nginx.conf"
fi
grep -v '^database = ' conf/backfills.conf > "$tmp/expect"
check "the conf is the shipped one otherwise" \
	sh -c "grep -v '^database = ' '$conf' | cmp -s - '$tmp/expect'"
check "the installed backfillctl runs (usage, exit 2)" \
	sh -c "'$P/bin/backfillctl' >/dev/null 2>&1; [ \$? -eq 2 ]"
check "the installed backfills.fcgi runs (bad flag, exit 2)" \
	sh -c "'$P/bin/backfills.fcgi' -Z >/dev/null 2>&1; [ \$? -eq 2 ]"
if command -v mandoc >/dev/null 2>&1; then
	check "the installed man pages pass mandoc -T lint -W warning" \
		mandoc -T lint -W warning "$P"/share/man/man5/*.5 \
		"$P"/share/man/man8/*.8
fi

# -- 2. edit the conf, install again ---------------------------------------

check "backfillctl --conf INSTALLED init writes a jwt_secret into it" \
	"$P/bin/backfillctl" --conf "$conf" --db "$tmp/test.db" init
sed 's/^log_level = info$/log_level = warn/' "$conf" > "$tmp/edited" &&
	cat "$tmp/edited" > "$conf"
cp "$conf" "$tmp/before"
check "the edited conf has a jwt_secret and log_level = warn" \
	sh -c "grep -q '^jwt_secret = ' '$conf' && grep -qx 'log_level = warn' '$conf'"
rm -f "$unit" "$P/bin/backfillctl"
check "make install again" mk install DESTDIR="$d" PREFIX=/usr/local
check "the edited conf was not overwritten" cmp "$tmp/before" "$conf"
check "the edited conf kept mode 640" mode_is "$conf" 640
check "the removed files are back" \
	sh -c "[ -f '$unit' ] && [ -x '$P/bin/backfillctl' ]"

# -- 3. uninstall -----------------------------------------------------------

check "make uninstall DESTDIR" mk uninstall DESTDIR="$d" PREFIX=/usr/local
for f in $files; do
	f=${f%:*}
	[ "$f" = "$conf" ] && continue
	check "uninstalled $f" test ! -e "$f"
done
check "the edited conf is kept by make uninstall" cmp "$tmp/before" "$conf"
check "make uninstall PURGE=1" \
	mk uninstall DESTDIR="$d" PREFIX=/usr/local PURGE=1
check "PURGE=1 removed the conf and its folder" \
	test ! -e "$P/etc/backfills"
check "no file left in DESTDIR" test "$(find "$d" -type f | wc -l)" -eq 0

check "install then uninstall, conf unedited" \
	sh -c "$MAKE --no-print-directory install DESTDIR='$d' &&
	    $MAKE --no-print-directory uninstall DESTDIR='$d'"
check "an unedited conf goes with make uninstall" \
	test "$(find "$d" -type f | wc -l)" -eq 0

# -- 4. another PREFIX and DBDIR -------------------------------------------

d2=$tmp/opt
O=$d2/opt/backfills
check "make install PREFIX=/opt/backfills DBDIR=/srv/bf" \
	mk install DESTDIR="$d2" PREFIX=/opt/backfills DBDIR=/srv/bf
check "the unit names /opt/backfills and /srv/bf" \
	sh -c "grep -qx 'ExecStart=/opt/backfills/bin/backfills.fcgi -c /opt/backfills/etc/backfills/backfills.conf -s /run/backfills/backfills.sock -n 4 -M 0660 -G www-data' '$O/lib/systemd/system/backfills.service' &&
	    grep -qx 'ReadWritePaths=/srv/bf /run/backfills' '$O/lib/systemd/system/backfills.service' &&
	    ! grep -q '/usr/local' '$O/lib/systemd/system/backfills.service'"
check "the executor's unit and man page name /opt/backfills" \
	sh -c "grep -qx 'ExecStart=/opt/backfills/bin/backfills-exec -c /opt/backfills/etc/backfills/exec.conf' '$O/lib/systemd/system/backfills-exec.service' &&
	    ! grep -q '/usr/local' '$O/lib/systemd/system/backfills-exec.service' &&
	    ! grep -q '/usr/local' '$O/share/man/man8/backfills-exec.8'"
check "the conf names /srv/bf/backfills.db" \
	grep -qx 'database = /srv/bf/backfills.db' "$O/etc/backfills/backfills.conf"
check "tmpfiles.d and sysusers.d name /srv/bf and /opt/backfills/etc" \
	sh -c "grep -qx 'd /srv/bf 0750 backfills backfills -' '$O/lib/tmpfiles.d/backfills.conf' &&
	    grep -qx 'z /opt/backfills/etc/backfills/backfills.conf 0640 root backfills -' '$O/lib/tmpfiles.d/backfills.conf' &&
	    grep -q ' /srv/bf\$' '$O/lib/sysusers.d/backfills.conf'"
check "the man pages name /opt/backfills/etc" \
	sh -c "grep -q '/opt/backfills/etc/backfills/backfills.conf' '$O/share/man/man8/backfills.fcgi.8' &&
	    ! grep -q '/usr/local' '$O/share/man/man8/backfills.fcgi.8'"
check "make uninstall PREFIX=/opt/backfills" \
	mk uninstall DESTDIR="$d2" PREFIX=/opt/backfills DBDIR=/srv/bf
check "nothing left" test "$(find "$d2" -type f | wc -l)" -eq 0

# -- 5. PREFIX=/usr ---------------------------------------------------------

d3=$tmp/usr
check "make install PREFIX=/usr" mk install DESTDIR="$d3" PREFIX=/usr
check "the conf in /etc/backfills, not /usr/etc" \
	sh -c "[ -f '$d3/etc/backfills/backfills.conf' ] && [ ! -e '$d3/usr/etc' ]"
check "the unit, sysusers.d, tmpfiles.d in /usr/lib; the site in /usr/share" \
	sh -c "[ -f '$d3/usr/lib/systemd/system/backfills.service' ] &&
	    [ -f '$d3/usr/lib/sysusers.d/backfills.conf' ] &&
	    [ -f '$d3/usr/lib/tmpfiles.d/backfills.conf' ] &&
	    [ -f '$d3/usr/share/backfills/nginx-site.conf' ]"
check "the unit names /usr/bin and /etc/backfills" \
	grep -qx 'ExecStart=/usr/bin/backfills.fcgi -c /etc/backfills/backfills.conf -s /run/backfills/backfills.sock -n 4 -M 0660 -G www-data' \
	"$d3/usr/lib/systemd/system/backfills.service"
check "tmpfiles.d names /etc/backfills/backfills.conf" \
	grep -qx 'z /etc/backfills/backfills.conf 0640 root backfills -' \
	"$d3/usr/lib/tmpfiles.d/backfills.conf"
check "installed: $nfiles files" test "$(find "$d3" -type f | wc -l)" -eq $nfiles
check "make uninstall PREFIX=/usr leaves nothing" \
	sh -c "$MAKE --no-print-directory uninstall DESTDIR='$d3' PREFIX=/usr &&
	    [ \"\$(find '$d3' -type f | wc -l)\" -eq 0 ]"

if [ "$failed" -eq 0 ]; then
	rm -rf "$tmp"
else
	echo "     (make's output and the files: $tmp)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
