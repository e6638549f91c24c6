#!/bin/sh
# Golden checks of the uttm tool: help, version, exit codes, and short
# benchmarks whose JSON must parse and carry every documented field.
set -eu
uttm=$1
fail() { echo "FAIL: $*"; exit 1; }

"$uttm" --help | grep -q "usage: uttm" || fail "--help"
"$uttm" --version | grep -Eq "^uttm [0-9]+\.[0-9]+\.[0-9]+$" || fail "--version"
set +e
"$uttm" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no command should exit 2"
"$uttm" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown command should exit 2"
"$uttm" bench nosuch >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown bench should exit 2"
"$uttm" bench pool --rounds 0 >/dev/null 2>&1; [ $? -eq 2 ] || fail "--rounds 0 should exit 2"
"$uttm" bench pool --size 12Q >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad size should exit 2"
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
# The file part writes only into TMPDIR, and leaves nothing there.
dir=$(mktemp -d)
TMPDIR=$dir "$uttm" bench backup --rounds 1 --size 4M --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
for k in ("file_backup_vs_raw_odirect_write", "file_restore_vs_raw_odirect_read",
          "raw_odirect_write_gbps", "raw_odirect_read_gbps", "file_backup_gbps",
          "file_restore_gbps", "file_tt_backup_gbps", "order0_purge_gbps",
          "file_direct", "file_io_uring"):
    assert k in d, k
' || fail "bench backup --json"
[ -z "$(ls -A "$dir")" ] || fail "bench backup left files in TMPDIR"
rmdir "$dir"
echo PASS
