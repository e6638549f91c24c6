#!/bin/sh
# The README's embedding example is examples/embed.c, to the letter, so
# the code readers copy is the code CI builds and runs.
set -eu
readme=$1
example=$2
awk '/^## Embedding the library/ { s = 1 } s && /^```c$/ { p = 1; next }
     p && /^```$/ { exit } p { print }' "$readme" > "${TMPDIR:-/tmp}/uttm-readme-example.$$"
if ! diff -u "$example" "${TMPDIR:-/tmp}/uttm-readme-example.$$"; then
	rm -f "${TMPDIR:-/tmp}/uttm-readme-example.$$"
	echo "FAIL: README's example differs from $example"
	exit 1
fi
rm -f "${TMPDIR:-/tmp}/uttm-readme-example.$$"
echo PASS
