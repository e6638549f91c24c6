#!/bin/sh
# `uttm bench e2e` at CI size: it runs every side and reports every goal
# field, refuses without root with its own exit status, and puts the
# machine back as it found it (no swap file, zram device, zswap setting,
# cgroup or child left behind), interrupted at any side or not.  Skips
# (77) where the machine cannot have a swap file or memory cgroups,
# saying which.
set -u
uttm=$1
fail() { echo "FAIL: $*"; exit 1; }
. "$(dirname "$0")/confined.sh"

ZSWAP=/sys/module/zswap/parameters
# What the bench may change besides its swap file, and must put back:
# zram devices and swapping to them, zswap's settings.  (Other swap files
# come and go with other tests.)
machine() {
	grep '^/dev/zram' /proc/swaps | awk '{ print $1 }'
	ls -d /sys/block/zram* 2>/dev/null
	cat "$ZSWAP/enabled" "$ZSWAP/compressor" 2>/dev/null
}

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
	[ "$(machine)" = "$before" ] || echo "machine changed: $(machine)"
	return 0
}

json=$(mktemp)
err=$(mktemp)
# zswap on, as distributions ship it: the bench switches it off for every
# side but its own and back on at the end, so that kernel swap goes to
# the swap file.
zswap_was=$(cat "$ZSWAP/enabled" 2>/dev/null)
trap 'rm -f "$json" "$err"
      [ -z "$zswap_was" ] || echo "$zswap_was" >"$ZSWAP/enabled"' EXIT
[ -z "$zswap_was" ] || echo Y >"$ZSWAP/enabled" 2>/dev/null ||
	echo "zswap cannot be switched on: the bench with zswap on not tested"
before=$(machine)
"$uttm" bench e2e --size 96M --rounds 1 --duration 1 --content text \
	--json >"$json" 2>"$err" &
pid=$!
wait $pid
rc=$?
skip_unless_confinable $rc
[ $rc -eq 0 ] || { cat "$err"; fail "bench e2e exited $rc"; }
# Every goal field; zram's and zswap's where the machine has them.
python3 - "$json" "$err" <<'EOF' || { cat "$err"; fail "bench e2e --json"; }
import json, sys
d = json.load(open(sys.argv[1]))
err = open(sys.argv[2]).read()
keys = ["run_vs_kernel_swap", "run_vs_kernel_swap_shmem", "run_vs_mmap_file",
        "run_vs_kernel_swap_purgeable", "run_vs_device_limit",
        "restore_p50_vs_raw_read", "prefetch_restore_p50_vs_raw_read",
        "uttm_lookahead_touches_per_s", "uttm_touches_per_s",
        "kernel_swap_touches_per_s", "uttm_touch_p99_us",
        "kernel_swap_peak_bytes", "kernel_swap_swap_bytes_written",
        "uttm_store_bytes_written", "uttm_checker_gbps",
        "raw_odirect_read_gbps", "raw_odirect_write_gbps",
        "device_limit_touches_per_s", "uttm_compressed_rounds_completed"]
for peer in ("zram", "zswap"):
    if "no %s here" % peer not in err:
        keys += ["run_vs_" + peer, peer + "_outside_peak_bytes",
                 peer + "_memory_peak_bytes"]
        assert d[peer + "_rounds_completed"] == 0 or \
            d[peer + "_memory_peak_bytes"] >= d[peer + "_peak_bytes"]
for k in keys:
    assert k in d, k
assert d["content"] == "text"
# A peer the OOM killer stopped is a result (null figures); uttm is not.
assert d["uttm_rounds_completed"] == 1 and d["uttm_touches_per_s"] > 0
assert d["run_vs_device_limit"] > 0 and d["restore_p50_vs_raw_read"] > 0
# zswap keeps what it takes off the swap device: had it stayed on, the
# kernel swap side would have written nothing there.
assert d["kernel_swap_swap_bytes_written"] > 0
EOF
[ -z "$(leftovers $pid)" ] || fail "left behind: $(leftovers $pid)"
[ -z "$zswap_was" ] || echo "$zswap_was" >"$ZSWAP/enabled"
before=$(machine)

# The cgroup of side $2 of run $1 (its index in e2e.c's sides), round 1.
side_cgroup() {
	ls -d "/sys/fs/cgroup/uttm-e2e-$1-$2-0" \
		"/sys/fs/cgroup/memory/uttm-e2e-$1-$2-0" 2>/dev/null
}

# Interrupted by signal $1 (exit status $2 expected) as soon as side $3
# ($4) runs, its swap set up and its child filling: the same clean slate.
interrupt_at_side() {
	"$uttm" bench e2e --size 48M --rounds 1 --duration 1 --content text \
		>/dev/null 2>"$err" &
	pid=$!
	for _ in $(seq 1200); do
		[ -n "$(side_cgroup $pid "$3")" ] && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$(side_cgroup $pid "$3")" ]; then
		wait $pid
		grep -q "no $4 here" "$err" || fail "the $4 side never started"
		echo "no $4 here: its interruption not tested"
		return
	fi
	kill "-$1" $pid
	wait $pid
	rc=$?
	[ $rc -eq "$2" ] ||
		fail "bench e2e stopped in the $4 side exited $rc, not $2"
	[ -z "$(leftovers $pid)" ] ||
		fail "left behind after SIG$1 in the $4 side: $(leftovers $pid)"
}
interrupt_at_side INT 130 6 zram
interrupt_at_side TERM 143 7 zswap

# Interrupted early: the same clean slate, and 128 + SIGINT.
"$uttm" bench e2e --size 48M --rounds 1 --duration 30 >/dev/null 2>&1 &
pid=$!
sleep 3
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || fail "interrupted bench e2e exited $rc, not 130"
[ -z "$(leftovers $pid)" ] || fail "left behind after SIGINT: $(leftovers $pid)"

# Another confining benchmark holds the machine: this one waits, says
# so, and a signal stops the wait with nothing changed.
if command -v flock >/dev/null; then
	# The process that holds the lock is the one killed after.
	(flock 9 && exec sleep 30) 9>/run/lock/uttm-bench.lock &
	holder=$!
	sleep 0.5
	"$uttm" bench e2e --size 48M --rounds 1 --duration 1 >/dev/null \
		2>"$err" &
	pid=$!
	for _ in $(seq 100); do
		grep -q "waiting for another uttm benchmark" "$err" && break
		sleep 0.05
	done
	grep -q "waiting for another uttm benchmark" "$err" ||
		fail "bench e2e did not wait for the machine lock"
	kill -INT $pid
	wait $pid
	rc=$?
	kill $holder
	wait $holder 2>/dev/null
	[ $rc -eq 130 ] || fail "bench e2e stopped waiting exited $rc, not 130"
	[ -z "$(leftovers $pid)" ] ||
		fail "left behind after waiting: $(leftovers $pid)"
fi

# Without root it says so and exits 3, before touching anything.
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$uttm" bench e2e --size 48M >/dev/null 2>&1
	[ $? -eq 3 ] || fail "bench e2e without root should exit 3"
fi
echo PASS
