#!/bin/sh
# Makes the installed libuttm.a from the library's objects: one relocatable
# object, partially linked, in which every hidden symbol (the cross-file
# internals) is made local, so that a program linked statically sees only
# the public uttm_* names, as one linked against libuttm.so does.
#
# Usage: static-lib.sh OUTPUT.a OBJCOPY AR CC... -- OBJECTS...
set -eu
out=$1 objcopy=$2 ar=$3
shift 3
cc=""
while [ "$1" != "--" ]; do
	cc="$cc $1"
	shift
done
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086
$cc -r -nostdlib -o "$tmp/uttm.o" "$@"
"$objcopy" --localize-hidden "$tmp/uttm.o"
rm -f "$out"
"$ar" rcs "$out" "$tmp/uttm.o"
