#!/bin/sh
# The man pages cover the API and the tool, and render cleanly: a page
# for every function include/uttm/ declares and no page without one,
# every option the tool's help lists in uttm(1), no groff warnings.
#
# Usage: test_man.sh KDOC_MAN INCLUDE_DIR MAN_DIR UTTM
set -eu
kdoc=$1 include=$2 man=$3 uttm=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

python3 "$kdoc" functions "$include"/*.h > "$tmp/functions"
(cd "$man" && ls -- *.3) | sed 's/\.3$//' | sort > "$tmp/pages"
if comm -23 "$tmp/functions" "$tmp/pages" | grep .; then
	echo "FAIL: the functions above have no page"
	status=1
fi
if comm -13 "$tmp/functions" "$tmp/pages" | grep .; then
	echo "FAIL: the pages above document no function"
	status=1
fi

for page in "$man"/*.[137]; do
	if ! groff -man -Tutf8 -ww -z "$page" 2>"$tmp/warnings" ||
	   [ -s "$tmp/warnings" ]; then
		echo "FAIL: $page:"
		cat "$tmp/warnings"
		status=1
	fi
done

# Every long option and benchmark the help lists is in uttm(1).
groff -man -Tutf8 -P-c -P-b -P-u "$man/uttm.1" 2>/dev/null |
	sed 's/\xe2\x80\x90/-/g' > "$tmp/uttm.1.txt"
{ "$uttm" run --help; "$uttm" bench --help; } |
	grep -o -- '--[a-z][a-z-]*' | sort -u > "$tmp/options"
"$uttm" bench --help | sed -n '/^benchmarks:/,$p' | awk 'NR > 1 { print $1 }' \
	>> "$tmp/options"
while read -r word; do
	grep -qF -- "$word" "$tmp/uttm.1.txt" || {
		echo "FAIL: uttm(1) does not mention $word"
		status=1
	}
done < "$tmp/options"

[ "$status" -eq 0 ] && echo "PASS: $(wc -l < "$tmp/pages") library pages"
exit "$status"
