#!/bin/sh
# `uttm run` inside a real memory cgroup whose limit is below the
# workload: no OOM kill, every byte verified, peak memory under the limit.
# Needs root and a memory controller (cgroup v2 or v1); skips (77) and
# says why otherwise.  Leaves no cgroup behind.
set -u
uttm=$1
limit=$((96 * 1024 * 1024))
name="uttm-test-run-$$"

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

v2=/sys/fs/cgroup
v1=/sys/fs/cgroup/memory
if grep -qw memory "$v2/cgroup.controllers" 2>/dev/null; then
	dir="$v2/$name"
	echo "+memory" > "$v2/cgroup.subtree_control" 2>/dev/null
	mkdir "$dir" 2>/dev/null || skip "cannot create $dir (root needed)"
	echo "$limit" > "$dir/memory.max" || fail "memory.max"
	echo 0 > "$dir/memory.swap.max" 2>/dev/null
	peak_file="$dir/memory.peak"
	events="$dir/memory.events"
elif [ -d "$v1" ]; then
	dir="$v1/$name"
	mkdir "$dir" 2>/dev/null || skip "cannot create $dir (root needed)"
	echo "$limit" > "$dir/memory.limit_in_bytes" || fail "limit_in_bytes"
	peak_file="$dir/memory.max_usage_in_bytes"
	events="$dir/memory.oom_control"
else
	skip "no memory cgroup controller on this machine"
fi
cleanup() { rmdir "$dir" 2>/dev/null; }
trap cleanup EXIT

# 256 MiB of objects against a 64 MiB budget, in a 96 MiB cgroup.
out=$(sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$dir" \
	"$uttm" run --budget 64M --objects 64 --object-size 4M --duration 4 \
	--json)
rc=$?
echo "$out"
[ $rc -eq 0 ] || fail "uttm run exited $rc inside the cgroup"
echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["mismatches"] == 0 and d["errors"] == 0, d
assert d["total_object_bytes"] > '"$limit"', d
' || fail "run report"
peak=$(cat "$peak_file" 2>/dev/null || echo 0)
echo "cgroup peak usage: $peak of $limit"
[ "$peak" -le "$limit" ] || fail "peak $peak above the limit $limit"
if grep -Eq "^oom_kill [1-9]" "$events" 2>/dev/null; then
	fail "OOM kill in the cgroup"
fi
echo PASS
