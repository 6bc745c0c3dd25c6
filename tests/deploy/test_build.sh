#!/bin/sh
# test_build.sh: what the build and scripts/deps.sh ask of the system, in
# a fresh clone (git clone of this repository's committed HEAD).
#
#   1. On a box without the packages (stand-ins first in PATH: dpkg-query
#      knows no package, pkg-config finds no library, apt-get only writes
#      down what it was asked), plain make stops at once with the
#      apt-get install -y line of the build group and no compiler error,
#      and installs nothing, even as root.
#   2. As root, make run asks apt-get for the build and run groups only
#      (SUPERVISOR=spawn-fcgi: and spawn-fcgi), make check for every
#      group; as another user, make run prints the line and installs
#      nothing.
#   3. With the real tools: make takes the caller's CPPFLAGS, CFLAGS and
#      LDFLAGS beside its own (-std=gnu11 -Werror -Isrc), and builds with
#      Debian's dpkg-buildflags (hardening=+all).
#
# Prints one line per check and "N passed, N failed"; exits 1 when a
# check failed. The root-only checks are skipped as another user.
set -u

cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bf-build.XXXXXX") || exit 2
chmod 0711 "$tmp"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
# check NAME COMMAND...: passes when COMMAND succeeds.
check() {
	name=$1; shift
	if "$@" >>"$tmp/check.log" 2>&1; then ok "$name"; else fail "$name"; fi
}

git clone -q "$ROOT" "$tmp/src" || exit 2
chmod -R a+rX "$tmp/src"

# -- stand-ins -----------------------------------------------------------------

fake=$tmp/fake
mkdir "$fake"
cat > "$fake/dpkg-query" <<'EOF'
#!/bin/sh
# knows no package
for a in "$@"; do case "$a" in -*) ;; *) echo "dpkg-query: no packages found matching $a" >&2 ;; esac; done
exit 1
EOF
printf '#!/bin/sh\nexit 1\n' > "$fake/pkg-config"
cat > "$fake/apt-get" <<EOF
#!/bin/sh
echo "\$*" >> "$tmp/apt.log"
EOF
chmod 0755 "$fake"/*
bare() {
	# make with the stand-ins, a clean environment, in the clone
	env -i PATH="$fake:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
	    HOME="$tmp" LANG=C "$@"
}

# -- 1. plain make on a bare box -------------------------------------------------

: > "$tmp/apt.log"
(cd "$tmp/src" && bare make) > "$tmp/make.out" 2>&1
rc=$?
check "plain make on a bare box fails" test "$rc" -ne 0
check "... with the build group's apt-get install -y line" \
	grep -qx "apt-get install -y build-essential pkg-config libfcgi-dev libjson-c-dev libsqlite3-dev libinih-dev libssl-dev libseccomp-dev libcurl4-openssl-dev libyaml-dev" "$tmp/make.out"
check "... and no compiler run" sh -c "! grep -q -e '-c src/' -e 'error:' '$tmp/make.out'"
check "... and nothing installed (apt-get not called)" test ! -s "$tmp/apt.log"

# -- 2. what each target asks for --------------------------------------------------

# asked TARGET...: the packages make TARGET asked apt-get to install.
asked() {
	: > "$tmp/apt.log"
	(cd "$tmp/src" && bare "$@") >> "$tmp/check.log" 2>&1
	sed -n 's/^install -y -q --no-install-recommends //p' "$tmp/apt.log"
}
if [ "$(id -u)" -eq 0 ]; then
	want=$(cd "$tmp/src" && bare sh scripts/deps.sh -n build run 2>&1 | sed -n 's/^apt-get install -y //p')
	got=$(asked make run)
	check "make run as root asks for build + run: $got" test "$got" = "$want"
	check "... nothing of check, deploy, pg, fuzz, bench, prof" \
		sh -c "! echo '$got' | grep -qw -e postgresql -e apache2 -e clang -e valgrind -e wrk -e check"
	want=$(cd "$tmp/src" && bare sh scripts/deps.sh -n build run spawn-fcgi 2>&1 | sed -n 's/^apt-get install -y //p')
	got=$(asked make run SUPERVISOR=spawn-fcgi)
	check "SUPERVISOR=spawn-fcgi make run adds spawn-fcgi" test "$got" = "$want"
	want=$(cd "$tmp/src" && bare sh scripts/deps.sh -n 2>&1 | sed -n 's/^apt-get install -y //p')
	got=$(asked make check)
	check "make check asks for every group" test "$got" = "$want"
	: > "$tmp/apt.log"
	(cd "$tmp/src" && bare runuser -u nobody -- make run) > "$tmp/nobody.out" 2>&1
	check "make run as nobody prints the apt-get line, installs nothing" \
		sh -c "grep -q '^apt-get install -y build-essential .* nginx-light curl procps\$' '$tmp/nobody.out' &&
		    [ ! -s '$tmp/apt.log' ]"
else
	echo "skip make run/check as root (not root)"
fi

# -- 3. the caller's flags ------------------------------------------------------------

export DEB_BUILD_MAINT_OPTIONS=hardening=+all
if command -v dpkg-buildflags >/dev/null 2>&1; then
	cppflags="$(dpkg-buildflags --get CPPFLAGS) -DBF_TEST_CPPFLAGS"
	cflags="$(dpkg-buildflags --get CFLAGS) -DBF_TEST_CFLAGS"
	ldflags="$(dpkg-buildflags --get LDFLAGS) -Wl,--build-id=sha1"
else
	cppflags=-DBF_TEST_CPPFLAGS cflags="-O2 -DBF_TEST_CFLAGS"
	ldflags=-Wl,--build-id=sha1
fi
(cd "$tmp/src" && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make \
    CPPFLAGS="$cppflags" CFLAGS="$cflags" LDFLAGS="$ldflags") \
    > "$tmp/flags.out" 2>&1
check "make with dpkg-buildflags' CPPFLAGS, CFLAGS, LDFLAGS builds" \
	test -x "$tmp/src/cgi-bin/backfills.fcgi" -a -x "$tmp/src/bin/backfillctl"
check "... every compile has CPPFLAGS, CFLAGS and the project's flags" \
	sh -c "grep -e ' -c src/' '$tmp/flags.out' > '$tmp/cc.lines' && [ -s '$tmp/cc.lines' ] &&
	    ! grep -v -e '-DBF_TEST_CPPFLAGS.*-std=gnu11.*-Werror.*-DBF_TEST_CFLAGS' '$tmp/cc.lines' &&
	    grep -q -e '-Isrc' '$tmp/cc.lines'"
check "... every link has LDFLAGS" \
	sh -c "grep -e ' -o cgi-bin/backfills.fcgi ' -e ' -o bin/backfillctl ' '$tmp/flags.out' > '$tmp/ld.lines' &&
	    [ \"\$(grep -c -e '-Wl,--build-id=sha1' '$tmp/ld.lines')\" -eq 2 ]"

if [ "$failed" -eq 0 ]; then
	rm -rf "$tmp"
else
	echo "     (kept $tmp)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
