#!/bin/sh
# `uttm bench budget` at CI size: `uttm run` in memory cgroups whose limit
# is exactly its budget, every store and profile, and the pressure
# scenario once per source; no run may break the budget.  The full matrix
# (20 runs per source) is the benchmark's, not CI's.  Skips (77), saying
# why, without root, memory cgroups or a swap file, or in a sanitizer
# build; leaves nothing behind.
set -u
uttm=$1
fail() { echo "FAIL: $*"; exit 1; }
. "$(dirname "$0")/confined.sh"

json=$(mktemp)
trap 'rm -f "$json"' EXIT
# 48 MiB: the smallest budget that holds four objects of 8 MiB besides
# the process itself.
"$uttm" bench budget --size 48M --rounds 1 --duration 1 --json >"$json" &
pid=$!
wait $pid
rc=$?
skip_unless_confinable $rc
[ $rc -eq 0 ] || { cat "$json"; fail "bench budget exited $rc"; }
cat "$json"
python3 - "$json" <<'PY' || fail "bench budget --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["budget_violations"] == 0, d
assert d["matrix_runs"] == 12, d
assert d["pressure_runs"] >= 2, d
assert d["pressure_survived"] == d["pressure_runs"], d
for store in ("file", "shmem", "insert", "compressed_file"):
    for profile in ("defaults", "small", "mixed"):
        k = "%s_%s_" % (store, profile)
        assert d[k + "held"] == 1, k
        assert 0 < d[k + "peak_vs_budget"] <= 1, k
        assert 0 < d[k + "cgroup_peak_vs_budget"] <= 1, k
        assert d[k + "limit_hits"] >= 0, k
PY
# What the benchmark makes is named after its process, so that another
# run on the machine (with its own) does not count.
for root in /sys/fs/cgroup /sys/fs/cgroup/memory; do
	ls -d "$root"/uttm-budget-$pid-* 2>/dev/null | grep -q . &&
		fail "a cgroup was left behind"
done
grep -q "uttm-budget-swap-$pid" /proc/swaps && fail "the swap file was left on"
echo PASS
