#!/bin/sh
# deps.sh: makes sure the Debian 12 packages of the named groups are
# installed. Silent (and fast) when they all are. Otherwise, as root, it
# installs the missing ones; as any other user (or with -n) it prints the
# apt-get line to run and fails.
#
#   scripts/deps.sh [-n] GROUP...     no GROUP: every group
#   -n   never install, only report (what plain `make` does)
#
# Each make target asks for the groups it needs (README, "Packages"):
#   build       the compiler and the libraries' -dev packages (make;
#               libyaml for the build tool that reads docs/openapi.yaml)
#   run         nginx in front of the workers, curl, pgrep (make run)
#   spawn-fcgi  SUPERVISOR=spawn-fcgi make run
#   check       Check (unit tests), Python, spawn-fcgi (the e2e suite
#               runs under it too)
#   deploy      make deploy-check: Apache with mod_fcgid and its Debian
#               configuration (the README's Apache steps are run as
#               written), git (fresh clones), iproute2 and systemd's
#               sysusers and tmpfiles (the README's server steps run in
#               namespaces)
#   man         mandoc (make man-lint)
#   openapi     make openapi-check: Node.js and npm (the pinned validator,
#               tests/openapi/package-lock.json), Python's jsonschema
#               (the recorded answers against the description's schemas).
#               A group of its own: Debian's npm brings several hundred
#               packages that the unit and end-to-end tests do not need
#   pg          libpq-dev, and postgresql for make pg-check
#   fuzz        clang and its libFuzzer (make fuzz)
#   bench       wrk (make bench)
#   prof        valgrind (make prof)
#   fresh       debootstrap (make fresh-test)
#
# Installing starts no service: while apt-get runs, a policy-rc.d (unless
# the system has one) refuses every start, so nginx, Apache and
# PostgreSQL do not come up on their Debian defaults (port 80, a
# cluster); the tests start their own.
set -eu

group() {
	case "$1" in
	build) echo build-essential pkg-config libfcgi-dev libjson-c-dev \
	    libsqlite3-dev libinih-dev libssl-dev libseccomp-dev \
	    libcurl4-openssl-dev libyaml-dev ;;
	run) echo nginx-light curl procps ;;
	spawn-fcgi) echo spawn-fcgi ;;
	check) echo check python3 spawn-fcgi ;;
	deploy) echo apache2 libapache2-mod-fcgid git iproute2 systemd ;;
	man) echo mandoc ;;
	openapi) echo nodejs npm python3-jsonschema ;;
	pg) echo libpq-dev postgresql ;;
	fuzz) echo clang libclang-rt-14-dev ;;
	bench) echo wrk ;;
	prof) echo valgrind ;;
	fresh) echo debootstrap ;;
	*) return 1 ;;
	esac
}
ALL="build run spawn-fcgi check deploy man openapi pg fuzz bench prof fresh"

install=1
if [ "${1:-}" = -n ]; then
	install=0
	shift
fi
[ $# -gt 0 ] || set -- $ALL
PKGS=""
for g in "$@"; do
	p=$(group "$g") || { echo "deps: unknown group $g (known: $ALL)" >&2; exit 2; }
	PKGS="$PKGS $p"
done

if ! command -v dpkg-query >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	echo "deps: no dpkg-query, so not Debian: make sure the equivalents" \
	    "of these Debian 12 packages are installed:" $PKGS >&2
	exit 0
fi

# Prints the packages of $* that are not installed, each after a space
# (once each, in the order given). One that an installed package
# provides counts as installed: apt-get would not install it then (npm,
# say, where NodeSource's nodejs, which provides npm, is installed).
missing() {
	# shellcheck disable=SC2046
	ok=" $(dpkg-query -W -f='${db:Status-Status} ${Package}\n' "$@" \
	    2>/dev/null | sed -n 's/^installed //p' | tr '\n' ' ')"
	for p in "$@"; do
		case "$ok" in
		*" $p "*) ;;
		*)	ok="$ok$(dpkg-query -W -f='${db:Status-Status} ${Provides}\n' \
			    2>/dev/null | sed -n 's/^installed //p' | tr ',' '\n' |
			    sed 's/(.*)//; s/^ *//; s/ *$//' | tr '\n' ' ')"
			break ;;
		esac
	done
	seen=" "
	for p in "$@"; do
		case "$ok$seen" in
		*" $p "*) ;;
		*) printf ' %s' "$p"; seen="$seen$p " ;;
		esac
	done
}

# shellcheck disable=SC2086
miss=$(missing $PKGS)
[ -z "$miss" ] && exit 0

if [ "$install" = 0 ] || [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages ($*); as root, run:" >&2
	echo "apt-get install -y$miss" >&2
	exit 1
fi

echo "deps: installing$miss" >&2
export DEBIAN_FRONTEND=noninteractive
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\n# scripts/deps.sh: no service starts while it installs\nexit 101\n' \
	    > /usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	trap 'exit 1' INT TERM HUP
fi
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $miss

# shellcheck disable=SC2086
miss=$(missing $miss)
if [ -n "$miss" ]; then
	echo "deps: still not installed after apt-get:$miss" >&2
	exit 1
fi
