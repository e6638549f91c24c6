#!/bin/sh
# The tool on the Redis store, against a server of its own on loopback
# that needs a password: `uttm run` at CI size checks out and stays under
# its budget, `uttm bench backup --store redis` prints its fields, the
# password shows nowhere, a server that may evict keys is refused with a
# clear message.  The server is stopped and its directory removed on
# every way out.
set -eu
uttm=$1
fail() { echo "FAIL: $*"; exit 1; }
command -v redis-server >/dev/null ||
	{ echo "SKIP: redis-server is not installed"; exit 77; }

dir=$(mktemp -d)
pid=
cleanup() {
	status=$?
	if [ -n "$pid" ]; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
	exit $status
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

secret=never-shown-$$
for try in 1 2 3 4 5 6 7 8 9 10; do
	port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
	redis-server --port "$port" --bind 127.0.0.1 --save "" \
		--appendonly no --dir "$dir" --requirepass "$secret" \
		>"$dir/log" 2>&1 &
	pid=$!
	for wait in 1 2 3 4 5 6 7 8 9 10; do
		REDISCLI_AUTH=$secret redis-cli -p "$port" ping 2>/dev/null |
			grep -q PONG && break 2
		sleep 0.2
	done
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=
done
[ -n "$pid" ] || fail "no redis-server could be started"
url=redis://127.0.0.1:$port
export UTTM_REDIS_PASSWORD=$secret
# Under ASan (test.sh sets ASAN_OPTIONS) its shadow and quarantine count
# as resident: the budget is checked in the plain build only.
sanitized=${ASAN_OPTIONS:+1}

"$uttm" run --store redis --redis "$url" --budget 48M --objects 48 \
	--object-size 4M --duration 3 --json >"$dir/run.json" 2>"$dir/run.err" ||
	fail "uttm run --store redis: $(cat "$dir/run.err")"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["mismatches"] == 0 and d["errors"] == 0, d
assert sys.argv[2] or d["peak_resident_bytes"] <= d["budget_bytes"], d
assert d["pages_backed_up"] > 0 and d["pages_restored"] > 0, d
' "$dir/run.json" "${sanitized:-}" || fail "uttm run --store redis --json"

# Compressed memory over the server: text compresses, the coldest pages
# move down past the store's third of the budget, and all come back:
# some from the server, which counts the reads that found their key.
hits() {
	REDISCLI_AUTH=$secret redis-cli -p "$port" info stats |
		sed -n 's/^keyspace_hits:\([0-9]*\).*/\1/p'
}
hits_before=$(hits)
"$uttm" run --store compressed-redis --redis "$url" --content text \
	--budget 48M --objects 48 --object-size 4M --duration 3 --json \
	>"$dir/tier.json" 2>"$dir/tier.err" ||
	fail "uttm run --store compressed-redis: $(cat "$dir/tier.err")"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["store"] == "compressed-redis", d
assert d["mismatches"] == 0 and d["errors"] == 0, d
assert sys.argv[2] or d["budget_violations"] == 0, d
assert sys.argv[2] or d["peak_resident_bytes"] <= d["budget_bytes"], d
assert d["pages_backed_up"] > 0 and d["pages_restored"] > 0, d
' "$dir/tier.json" "${sanitized:-}" || fail "uttm run --store compressed-redis --json"
[ "$(hits)" -gt "$hits_before" ] ||
	fail "uttm run --store compressed-redis read nothing from the server"

"$uttm" bench backup --store redis --redis "$url" --rounds 1 --size 8M \
	--json >"$dir/bench.json" 2>"$dir/bench.err" ||
	fail "bench backup --store redis: $(cat "$dir/bench.err")"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("redis_backup_vs_raw_pipeline", "redis_restore_vs_raw_pipeline",
          "redis_backup_gbps", "redis_restore_gbps",
          "redis_raw_pipeline_set_gbps", "redis_raw_pipeline_get_gbps",
          "redis_server_bytes_per_page"):
    assert k in d, k
assert "shmem_backup_gbps" not in d, "--store redis runs the redis part alone"
' "$dir/bench.json" || fail "bench backup --store redis --json"
! grep -q "$secret" "$dir/run.json" "$dir/run.err" "$dir/tier.json" \
	"$dir/tier.err" "$dir/bench.json" "$dir/bench.err" ||
	fail "the password was printed"

REDISCLI_AUTH=$secret redis-cli -p "$port" config set maxmemory-policy \
	allkeys-lru >/dev/null
set +e
"$uttm" run --store redis --redis "$url" --budget 48M --objects 8 \
	--duration 0 >/dev/null 2>"$dir/evict.err"
status=$?
set -e
[ $status -eq 1 ] || fail "a server that may evict keys should exit 1"
grep -q "may evict keys" "$dir/evict.err" || fail "no clear message: $(cat "$dir/evict.err")"
[ "$(REDISCLI_AUTH=$secret redis-cli -p "$port" dbsize)" = 0 ] ||
	fail "keys left on the server"
echo PASS
