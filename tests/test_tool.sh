#!/bin/sh
# Golden checks of the uttm tool: help, version, exit codes, and short
# benchmarks whose JSON must parse and carry every documented field.
set -eu
uttm=$1
fail() { echo "FAIL: $*"; exit 1; }

"$uttm" --help | grep -q "usage: uttm" || fail "--help"
for cmd in "" run bench "bench pool"; do
	"$uttm" $cmd -h | grep -q "usage: uttm" || fail "uttm $cmd -h"
done
"$uttm" --version | grep -Eq "^uttm [0-9]+\.[0-9]+\.[0-9]+$" || fail "--version"
set +e
"$uttm" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no command should exit 2"
"$uttm" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown command should exit 2"
"$uttm" bench nosuch >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown bench should exit 2"
"$uttm" bench pool --rounds 0 >/dev/null 2>&1; [ $? -eq 2 ] || fail "--rounds 0 should exit 2"
"$uttm" bench pool --size 12Q >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad size should exit 2"
# Sizes whose sums would wrap are out of range, not a failure midway.
"$uttm" run --object-size 9223372036854775808 >/dev/null 2>&1; [ $? -eq 2 ] ||
	fail "an object size that wraps should exit 2"
"$uttm" run --budget 9000000T >/dev/null 2>&1; [ $? -eq 2 ] ||
	fail "a budget that wraps should exit 2"
# Before it makes a swap file or a cgroup, whether root or not.
"$uttm" bench e2e --store nosuch >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown store should exit 2"
set -e

"$uttm" bench pool --rounds 1 --size 4M | grep -q "pool hit" || fail "bench pool table"
"$uttm" bench pool --rounds 1 --size 4M --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
for k in ("pool_hit_speedup_vs_first_touch", "metadata_bytes_per_page",
          "pool_hit_pages_per_s", "fresh_block_pages_per_s",
          "first_touch_pages_per_s", "pool_hit_share"):
    assert k in d, k
assert d["metadata_bytes_per_page"] <= 16
assert d["pool_hit_share"] == 1
' || fail "bench pool --json"
# Every benchmark prints a table and, with --json, one object with its fields.
check_json() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)
missing = [k for k in sys.argv[1:] if k not in d]
assert not missing, missing
' "$@"
}
"$uttm" bench shrink --rounds 1 --size 64M | grep -q "walk itself" || fail "bench shrink table"
"$uttm" bench shrink --rounds 1 --size 64M --json | check_json \
	walk_overhead_share pages_per_s pages_freed || fail "bench shrink --json"
set +e
"$uttm" bench shrink --size 1M >/dev/null 2>&1; [ $? -eq 2 ] || fail "bench shrink with too few pages should exit 2"
set -e
# bench backup runs every part (shmem, insert, compressed, file), so it
# runs twice only: a table, then one JSON object carrying every part's
# fields.  The compressed part reads its realistic data set from /usr; the
# file part writes only into TMPDIR, and leaves nothing there.
dir=$(mktemp -d)
TMPDIR=$dir "$uttm" bench backup --rounds 1 --size 8M | grep -q "raw pwritev" ||
	fail "bench backup table"
TMPDIR=$dir "$uttm" bench backup --rounds 1 --size 8M --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
for k in ("shmem_backup_vs_raw_memfd_write", "shmem_restore_vs_raw_memfd_read",
          "memcpy_gbps",
          "insert_cpu_vs_copy_cpu", "insert_wall_vs_copy_wall",
          "insert_backup_cpu_ms", "copy_backup_cpu_ms", "insert_backup_wall_ms",
          "copy_backup_wall_ms", "insert_restore_gbps", "insert_blocks",
          "compressed_ratio_vs_lz4_direct", "compressed_backup_vs_lz4_direct",
          "compressed_backup_vs_lz4_direct_resident",
          "compressed_usr_ratio", "lz4_direct_usr_ratio", "usr_bytes",
          "compressed_random_ratio", "zero_page_bytes_used",
          "file_backup_vs_raw_odirect_write", "file_restore_vs_raw_odirect_read",
          "raw_odirect_write_gbps", "raw_odirect_read_gbps", "file_backup_gbps",
          "file_tt_backup_vs_raw_odirect_write", "file_restore_gbps",
          "file_tt_backup_gbps", "order0_purge_gbps",
          "file_direct", "file_io_uring"):
    assert k in d, k
assert d["zero_page_bytes_used"] == 0
assert d["usr_bytes"] == 8 << 20
assert d["compressed_random_ratio"] <= 1
assert d["compressed_usr_ratio"] > 1
' || fail "bench backup --json"
[ -z "$(ls -A "$dir")" ] || fail "bench backup left files in TMPDIR"
rmdir "$dir"
echo PASS
