#!/bin/sh
# Installs the Debian packages uttm builds and tests with, when missing.
# Each is there for a reason: meson/ninja build it, cmocka tests it,
# liburing batches file I/O, lz4 and zstd compress, python3 checks JSON
# and makes the man pages, groff checks that they render, Debian's
# prometheus-client parses the metrics independently, hiredis talks to
# Redis and redis-server is the server its tests start, g++ proves the
# public headers compile as C++, python3-dev builds the Python module,
# python3-pytest and python3-numpy test it.
set -eu
packages="meson ninja-build pkg-config gcc g++ libc6-dev libcmocka-dev liburing-dev liblz4-dev libzstd-dev python3 groff-base python3-prometheus-client
	libhiredis-dev redis-server python3-dev python3-pytest python3-numpy"
missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "uttm: installing$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
