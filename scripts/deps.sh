#!/bin/sh
# deps.sh: makes sure the Debian 12 packages the project needs are
# installed. Silent (and fast) when they all are. Otherwise, as root, it
# installs the missing ones; as any other user it prints the apt-get line
# to run and fails.
#
#   EXTRA_PKGS="a b"   check (and install) these as well
set -eu

# build: build-essential pkg-config clang; libraries: libfcgi-dev
# libjson-c-dev libsqlite3-dev libinih-dev libssl-dev libseccomp-dev;
# tests: check python3 curl procps; fuzzing: libclang-rt-14-dev (clang's
# libFuzzer); running: libfcgi-bin spawn-fcgi nginx-light sqlite3;
# make bench: wrk; make prof: valgrind; deployment tests: apache2-bin
# libapache2-mod-fcgid (Apache, binary and modules only) and mandoc;
# the PostgreSQL store: libpq-dev, and postgresql for its tests.
PKGS="build-essential pkg-config clang libfcgi-dev libfcgi-bin spawn-fcgi
libjson-c-dev libsqlite3-dev sqlite3 libinih-dev libssl-dev libseccomp-dev
check nginx-light curl python3 procps wrk libclang-rt-14-dev valgrind
apache2-bin libapache2-mod-fcgid mandoc libpq-dev postgresql libcurl4-openssl-dev
${EXTRA_PKGS:-}"

if ! command -v dpkg-query >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	echo "deps: no dpkg-query, so not Debian: make sure the equivalents" \
	    "of these Debian 12 packages are installed:" $PKGS >&2
	exit 0
fi

# Prints the packages of $* that are not installed, each after a space.
missing() {
	for p in "$@"; do
		# "install ok installed" (also "hold ok installed"); a package
		# dpkg has never heard of prints nothing and fails.
		case "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" in
		*" installed") ;;
		*) printf ' %s' "$p" ;;
		esac
	done
}

# shellcheck disable=SC2086
miss=$(missing $PKGS)
[ -z "$miss" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "Missing Debian packages. Run as root:  apt-get install -y$miss" >&2
	exit 1
fi

echo "deps: installing$miss" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $miss

# shellcheck disable=SC2086
miss=$(missing $miss)
if [ -n "$miss" ]; then
	echo "deps: still not installed after apt-get:$miss" >&2
	exit 1
fi
