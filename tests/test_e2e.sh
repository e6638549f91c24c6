#!/bin/sh
# `uttm bench e2e` at CI size: it runs both sides and reports, refuses
# without root with its own exit status, and leaves no swap file, cgroup
# or child behind, interrupted or not.  Skips (77) where the machine
# cannot have a swap file or memory cgroups, saying which.
set -u
uttm=$1
fail() { echo "FAIL: $*"; exit 1; }

# What the run of pid $1 made and did not remove.  Only this script's runs
# count: others may be going on beside it (their names carry their pid,
# their processes do not carry this mark).
export UTTM_E2E_TEST=$$
leftovers() {
	grep -q "uttm-e2e-swap-$1" /proc/swaps && echo "swap file still on"
	for root in /sys/fs/cgroup /sys/fs/cgroup/memory; do
		ls -d "$root/uttm-e2e-$1-"* "$root/uttm-e2e-probe-$1" 2>/dev/null
	done
	ls -d "${TMPDIR:-/tmp}/uttm-e2e-swap-$1" 2>/dev/null
	for p in $(pgrep -f "uttm bench e2e"); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
			grep -qx "UTTM_E2E_TEST=$$" && echo "process $p is left"
	done
	return 0
}

json=$(mktemp)
trap 'rm -f "$json"' EXIT
"$uttm" bench e2e --size 96M --rounds 1 --duration 1 --json >"$json" &
pid=$!
wait $pid
rc=$?
out=$(cat "$json")
case $rc in
0) ;;
3) echo "SKIP: needs root"; exit 77 ;;
4) echo "SKIP: no memory cgroup can be created here"; exit 77 ;;
5) echo "SKIP: no swap file can be enabled here"; exit 77 ;;
*) fail "bench e2e exited $rc" ;;
esac
echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for k in ("run_vs_kernel_swap", "run_vs_kernel_swap_purgeable",
          "uttm_touches_per_s", "kernel_swap_touches_per_s",
          "uttm_touch_p99_us", "kernel_swap_peak_bytes",
          "kernel_swap_swap_bytes_written", "uttm_store_bytes_written"):
    assert k in d, k
assert d["uttm_touches_per_s"] > 0 and d["kernel_swap_touches_per_s"] > 0
' || fail "bench e2e --json"
[ -z "$(leftovers $pid)" ] || fail "left behind: $(leftovers $pid)"

# Interrupted halfway: the same clean slate, and 128 + SIGINT.
"$uttm" bench e2e --size 48M --rounds 1 --duration 30 >/dev/null 2>&1 &
pid=$!
sleep 3
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || fail "interrupted bench e2e exited $rc, not 130"
[ -z "$(leftovers $pid)" ] || fail "left behind after SIGINT: $(leftovers $pid)"

# Without root it says so and exits 3, before touching anything.
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$uttm" bench e2e --size 48M >/dev/null 2>&1
	[ $? -eq 3 ] || fail "bench e2e without root should exit 3"
fi
echo PASS
