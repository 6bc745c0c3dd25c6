#!/bin/sh
# deps.sh: makes sure the Debian 12 packages the project needs are
# installed. As root it installs what is missing; otherwise it prints the
# exact apt-get line and fails. Quiet when everything is there.
set -eu

PKGS="build-essential pkg-config libfcgi-dev libfcgi-bin spawn-fcgi
libjson-c-dev libsqlite3-dev sqlite3 libinih-dev libssl-dev check
nginx-light curl python3 wrk libseccomp-dev"
[ -n "${EXTRA_PKGS:-}" ] && PKGS="$PKGS $EXTRA_PKGS"

missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$s" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "Missing Debian packages. Run as root:  apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
