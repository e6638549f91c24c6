#!/bin/sh
# The library exports exactly its public API, as zstd's and libdrm's
# symbol checks make sure of theirs: every global symbol that libuttm.so
# or the installed libuttm.a defines is a uttm_* function declared in
# include/uttm/, and every function declared there is defined.
#
# Usage: test_symbols.sh INCLUDE_DIR [LIBRARY...]
set -eu
include=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Functions the public headers declare; inline ones are the header's own.
grep -h -E '^[a-z].*\buttm_[a-z0-9_]+\(' "$include"/*.h |
	grep -v '^static inline' |
	sed -E 's/.*\b(uttm_[a-z0-9_]+)\(.*/\1/' | sort -u > "$tmp/declared"
[ -s "$tmp/declared" ] || { echo "FAIL: no declarations in $include"; exit 1; }

status=0
for lib in "$@"; do
	case $lib in
	*.so*) nm -D --defined-only "$lib" ;;
	*) nm -g --defined-only "$lib" ;;
	esac | awk 'NF == 3 && $2 != "A" { sub(/@.*/, "", $3); print $3 }' |
		sort -u > "$tmp/defined"
	if comm -23 "$tmp/defined" "$tmp/declared" | grep .; then
		echo "FAIL: $lib exports the names above, not in $include"
		status=1
	elif comm -13 "$tmp/defined" "$tmp/declared" | grep .; then
		echo "FAIL: $lib does not define the names above from $include"
		status=1
	else
		echo "$lib: $(wc -l < "$tmp/defined") symbols, each declared"
	fi
done
[ "$status" -eq 0 ] && echo PASS
exit "$status"
