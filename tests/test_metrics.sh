#!/bin/sh
# `uttm run --metrics`: the file parses with an independent OpenMetrics
# parser (Debian's python3-prometheus-client), its counters agree with the
# JSON report, and with an interval it is written while the run lasts.
set -eu
uttm=$1
# Debian's interpreter: the parser is a Debian package.
python=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

$python -c 'import prometheus_client' 2>/dev/null ||
	fail "python3-prometheus-client is not installed (scripts/deps.sh)"

"$uttm" run --budget 48M --objects 24 --object-size 4M --duration 3 \
	--metrics "$dir/uttm.prom" --metrics-interval 0.2 --json \
	> "$dir/report.json" &
pid=$!
seen_early=no
while kill -0 "$pid" 2>/dev/null; do
	[ -s "$dir/uttm.prom" ] && seen_early=yes && break
	sleep 0.1
done
wait "$pid" || fail "uttm run failed"
[ "$seen_early" = yes ] || fail "no metrics written while the run lasted"
[ ! -e "$dir/uttm.prom.tmp" ] || fail "a temporary file was left behind"

$python - "$dir/uttm.prom" "$dir/report.json" <<'PY' || fail "metrics do not match the report"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
report = json.load(open(sys.argv[2]))
samples = {}
for family in text_string_to_metric_families(text):
    for s in family.samples:
        samples.setdefault(s.name, []).append((s.labels, s.value))

def one(name):
    (labels, value), = samples[name]
    return value

assert one("uttm_pages_backed_up_total") == report["pages_backed_up"]
assert one("uttm_pages_restored_total") == report["pages_restored"]
assert one("uttm_pages_purged_total") == report["pages_purged"]
assert sum(v for _, v in samples["uttm_objects"]) == report["objects"]
allocated = dict((l["zone"], v) for l, v in samples["uttm_pages_allocated"])
limit = dict((l["zone"], v) for l, v in samples["uttm_page_limit"])
assert 0 < allocated["all"] <= limit["all"]
memory = dict((l["kind"], v) for l, v in samples["uttm_memory_bytes"])
assert one("uttm_memory_budget_bytes") == report["context_budget_bytes"]
assert memory["pages"] > 0 and memory["metadata"] > 0
assert sum(memory.values()) <= one("uttm_memory_peak_bytes")
assert one("uttm_memory_peak_bytes") <= report["context_budget_bytes"]
reclaimed = dict((l["reason"], v) for l, v in samples["uttm_pages_reclaimed_total"])
assert set(reclaimed) == {"watermark", "purge", "swap"}
assert 0 < sum(reclaimed.values()) <= report["pages_backed_up"] + report["pages_purged"]
buckets = [(float(l["le"]), v) for l, v in samples["uttm_restore_seconds_bucket"]]
assert buckets == sorted(buckets) and buckets[-1][0] == float("inf")
assert buckets[-1][1] == one("uttm_restore_seconds_count") == report["restores"]
assert one("uttm_restore_seconds_sum") > 0
pools = samples["uttm_pool_pages"]
assert len(pools) == 3 * 11 and all(v >= 0 for _, v in pools)
assert {l["caching"] for l, _ in pools} == {"plain", "locked", "device"}
print("PASS:", len(samples), "metric samples match the report")
PY
