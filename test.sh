#!/bin/sh
# Installs what is missing, then builds and runs every test: the plain
# build, one without liburing (its file-store tests), an ASan+UBSan
# build, and the threaded tests under TSan.
set -eu
cd "$(dirname "$0")"
scripts/deps.sh
jobs=$(nproc)

step() { printf '\n== %s\n' "$*"; }

step "plain build: all tests"
[ -d build ] || meson setup build -Dwerror=true >/dev/null
ninja -C build
meson test -C build --print-errorlogs --num-processes "$jobs"

step "build without liburing: the file store's synchronous path"
[ -d build-nouring ] || meson setup build-nouring -Dliburing=disabled \
	-Dwerror=true >/dev/null
ninja -C build-nouring
meson test -C build-nouring --print-errorlogs --num-processes "$jobs" \
	file backup-file backup-compressed-file

step "ASan + UBSan build: all tests"
[ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined \
	-Db_lundef=false -Dbuildtype=debug -Dwerror=true >/dev/null
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --print-errorlogs --num-processes "$jobs" \
	--timeout-multiplier 3

if meson introspect build --tests | grep -q ':threaded"'; then
	step "TSan build: threaded tests"
	[ -d build-tsan ] || meson setup build-tsan -Db_sanitize=thread \
		-Db_lundef=false -Dbuildtype=debug -Dwerror=true >/dev/null
	ninja -C build-tsan
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		meson test -C build-tsan --suite threaded --print-errorlogs \
		--num-processes "$jobs" --timeout-multiplier 5
fi
step "all tests passed"
