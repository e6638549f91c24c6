#!/bin/sh
# `uttm run` at CI size: every byte checks out, the JSON parses and says
# so, memory stayed under the budget (in a build without a sanitizer,
# whose own memory grows beside the program's), and exit codes are right.
set -eu
uttm=$1
fail() { echo "FAIL: $*"; exit 1; }
# Whether the peak is held to the budget: unset or "none" is a plain build.
export UTTM_TEST_SANITIZE="${UTTM_TEST_SANITIZE:-none}"

out=$("$uttm" run --budget 48M --objects 48 --object-size 4M --threads 2 \
	--duration 3 --json)
echo "$out"
echo "$out" | python3 -c '
import json, os, sys
d = json.load(sys.stdin)
assert d["mismatches"] == 0, d
assert d["errors"] == 0, d
assert d["oversubscription"] >= 4, d
if os.environ["UTTM_TEST_SANITIZE"] == "none":
    assert d["peak_resident_bytes"] <= d["budget_bytes"], d
    assert d["budget_violations"] == 0, d
assert d["bytes_verified"] >= d["total_object_bytes"], d
assert d["pages_backed_up"] > 0 and d["pages_restored"] > 0, d
assert d["pages_purged"] > 0, d
assert d["touches"] > d["objects"], d
assert d["content"] == "random" and d["checker_gbps"] > 0, d
assert d["fill_gbps"] > 0, d
' || fail "uttm run --json"

# Text with same-filled pages checks out too, also through the store
# that compresses it.  Nothing is purgeable, so that what the objects
# take beyond the budget is backed up, not dropped.
for store in file compressed; do
	"$uttm" run --budget 96M --objects 24 --object-size 4M --duration 1 \
		--content text --same-filled 0.25 --store $store --purgeable 0 \
		--json |
		python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["mismatches"] == 0 and d["errors"] == 0, d
assert d["content"] == "text" and d["same_filled_share"] == 0.25, d
assert d["pages_backed_up"] > 0 and d["pages_restored"] > 0, d
' || fail "uttm run --content text --store $store"
done

# Fills that fail are errors, and exit 1; an object whose fill failed
# holds nothing yet: it is written at its next touch, never checked
# against content it never had.  fills_fail RULES ARGS...
fills_fail() {
	rules=$1
	shift
	set +e
	out=$(UTTM_FAULT="$rules" "$uttm" run --budget 48M --object-size 4M \
		--duration 1 --json "$@" 2>/dev/null)
	rc=$?
	set -e
	[ $rc -eq 1 ] || fail "$rules: a run with failed fills should exit 1, not $rc"
	echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["errors"] > 0 and d["mismatches"] == 0, d
' || fail "$rules: an object whose fill failed was checked"
}
fills_fail "alloc:nth=2,times=50" --objects 8 --purgeable 0 --store file
fills_fail "alloc:nth=1,times=64" --objects 24

"$uttm" run --budget 48M --objects 24 --object-size 4M --duration 1 |
	grep -q "bytes that differed" || fail "uttm run table"
"$uttm" run --budget 48M --objects 24 --object-size 4M --duration 1 --stats \
	2>&1 >/dev/null | grep -q "^total  :" || fail "uttm run --stats pool table"

set +e
"$uttm" run --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown option should exit 2"
"$uttm" run --purgeable 2 >/dev/null 2>&1; [ $? -eq 2 ] || fail "share above 1 should exit 2"
"$uttm" run --threads 0 >/dev/null 2>&1; [ $? -eq 2 ] || fail "0 threads should exit 2"
"$uttm" run --store nosuch --duration 0 >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown store should exit 2"
"$uttm" run --budget 1M >/dev/null 2>&1; [ $? -eq 2 ] || fail "tiny budget should exit 2"
"$uttm" run --budget 8M --object-size 4M --duration 0 >/dev/null 2>&1; [ $? -eq 1 ] || fail "budget that cannot hold 4 objects should exit 1"
"$uttm" run --help | grep -q -- "--budget" || fail "run --help"
set -e
echo PASS
