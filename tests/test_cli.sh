#!/bin/sh
# The tool's command line, as util-linux's tools behave: every bad value
# is named with its reason, followed by a pointer to --help, and exits 2;
# sizes are read as truncate(1) reads them.
set -eu
uttm=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
failures=0

# expect STATUS MESSAGE ARGS...: the exit status and a line of stderr.
expect() {
	status=$1 message=$2
	shift 2
	set +e
	"$uttm" "$@" >/dev/null 2>"$out"
	got=$?
	set -e
	if [ "$got" -ne "$status" ] || ! grep -qF -- "$message" "$out"; then
		echo "FAIL: uttm $*: exit $got (want $status), stderr:"
		sed 's/^/  /' "$out"
		echo "  wanted: $message"
		failures=$((failures + 1))
	elif [ "$status" -eq 2 ] && ! grep -q "^Try 'uttm.* --help' for more information.$" "$out"; then
		echo "FAIL: uttm $*: no pointer to --help"
		failures=$((failures + 1))
	fi
}

expect 2 "uttm run: --threads 0: must be at least 1" run --threads 0
expect 2 "uttm run: --threads 300: must be at most 256" run --threads 300
expect 2 "uttm run: --threads two: not a whole number" run --threads two
expect 2 "uttm run: --purgeable 2: must be between 0 and 1" run --purgeable 2
expect 2 "uttm run: --skew -0.5: must be between 0 and 1" run --skew -0.5
expect 2 "uttm run: --seed -1: not a whole number" run --seed -1
expect 2 "uttm run: --objects 0: must be at least 1" run --objects 0
expect 2 "uttm run: --duration -1: must not be negative" run --duration -1
expect 2 "uttm run: --budget 1M: must be at least 2 MiB" run --budget 1M
expect 2 "uttm run: --budget 12Q: not a size" run --budget 12Q
expect 2 "uttm run: --budget 99999999999T: too large" run --budget 99999999999T
# Memory the machine does not have, refused before anything starts.
expect 2 "uttm run: --budget 7 TiB: more than this process may use" \
	run --budget 7T
expect 2 "uttm bench pool: --size 7 TiB: more than this process may use" \
	bench pool --size 7T
expect 2 "uttm run: --object-size 1MB: must be a whole number of 4 KiB pages" run --object-size 1MB
expect 2 "uttm run: --store nosuch: unknown store" run --store nosuch
expect 2 "uttm run: --content binary: unknown content; the kinds are random|text" run --content binary
expect 2 "uttm run: --same-filled 1.5: must be between 0 and 1" run --same-filled 1.5
expect 2 "uttm run: --store-path /nonexistent: No such file or directory" run --store-path /nonexistent
expect 2 "uttm run: --store-path /etc/hostname: Not a directory" run --store-path /etc/hostname
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	expect 2 "uttm run: --store-path /dev/shm: on tmpfs, which keeps files in memory" \
		run --store-path /dev/shm
fi
expect 2 "uttm run: unknown option '--bogus'" run --bogus
expect 2 "uttm run: --budget needs a value" run --budget
expect 2 "uttm run: unexpected argument 'extra'" run extra
expect 2 "uttm run: --metrics-interval needs --metrics" run --metrics-interval 1
expect 2 "uttm run: --metrics-interval 0: must be more than 0" run --metrics /tmp/x --metrics-interval 0
expect 2 "uttm bench pool: --store: not an option of this benchmark" bench pool --store file
expect 2 "uttm bench pool: --duration: not an option of this benchmark" bench pool --duration 3
expect 2 "uttm bench pool: --rounds 0: must be at least 1" bench pool --rounds 0
expect 2 "uttm bench shrink: --size 1M: must be at least" bench shrink --size 1M
expect 2 "uttm bench e2e: --duration 0: must be more than 0" bench e2e --duration 0
expect 2 "uttm bench e2e: --content zeros: unknown content" bench e2e --content zeros
expect 2 "uttm bench e2e: --same-filled x: not a number" bench e2e --same-filled x
expect 2 "uttm bench backup: --content: not an option of this benchmark" bench backup --content text
expect 2 "uttm bench: unknown benchmark 'nosuch'" bench nosuch
expect 2 "uttm bench: which benchmark?" bench
expect 2 "uttm: unknown command 'frobnicate'" frobnicate
for v in -V --version; do
	"$uttm" $v | grep -Eq "^uttm [0-9]+\.[0-9]+\.[0-9]+$" || {
		echo "FAIL: uttm $v"
		failures=$((failures + 1))
	}
done
# The one that needs UTTM_FAULT set, done apart.
set +e
UTTM_FAULT=garbage "$uttm" run --duration 0 >/dev/null 2>"$out"
got=$?
set -e
if [ "$got" -ne 2 ] || ! grep -q "UTTM_FAULT=garbage: not a fault rule" "$out"; then
	echo "FAIL: UTTM_FAULT=garbage: exit $got"
	failures=$((failures + 1))
fi

# Sizes as util-linux reads them: K and KiB are 1024, KB is 1000.
size_of() {
	"$uttm" bench pool --rounds 1 --size "$1" --json |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["bytes"])'
}
budget_of() {
	"$uttm" run --budget "$1" --objects 1 --object-size 4K --duration 0 \
		--json | python3 -c 'import json, sys; print(json.load(sys.stdin)["budget_bytes"])'
}
check_size() {
	if [ "$2" != "$3" ]; then
		echo "FAIL: $1 read as $2, want $3"
		failures=$((failures + 1))
	fi
}
check_size 1MB "$(size_of 1MB)" 1000000
check_size 64KiB "$(size_of 64KiB)" 65536
check_size 256m "$(budget_of 256m)" 268435456
check_size 1.5G "$(budget_of 1.5G)" 1610612736
check_size 8g "$(budget_of 8g)" 8589934592

[ "$failures" -eq 0 ] || { echo "$failures failures"; exit 1; }
echo PASS
