#!/bin/sh
# Every public header stands on its own and compiles as C++11, 14, 17 and
# 20 and as strict C99, warnings as errors, so that a C++ program or an
# old C code base can include any of them; then all of them together in
# one C++ unit.
#
# Usage: test_headers.sh INCLUDE_DIR CC CXX
set -eu
include=$1
cc=$2
cxx=$3
flags="-fsyntax-only -Wall -Wextra -Wpedantic -Werror -I$include"
status=0

check() {
	lang=$1
	std=$2
	compiler=$3
	source=$4
	if ! printf '%s\n' "$source" |
		"$compiler" -x "$lang" -std="$std" $flags - 2>"$tmp"; then
		echo "FAIL: $std: $(echo "$source" | tr '\n' ' ')"
		cat "$tmp"
		status=1
	fi
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
all=""
for header in "$include"/uttm/*.h; do
	line="#include <uttm/$(basename "$header")>"
	all="$all$line
"
	for std in c++11 c++14 c++17 c++20; do
		check c++ "$std" "$cxx" "$line"
	done
	check c c99 "$cc" "$line"
done
check c++ c++11 "$cxx" "$all"
[ "$status" -eq 0 ] && echo "PASS: $(echo "$all" | grep -c include) headers"
exit "$status"
