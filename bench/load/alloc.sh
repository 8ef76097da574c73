#!/usr/bin/env bash
# Bytes the whole Router.Server process allocates per request (Kestrel, HttpClient and the router together) on the
# routed cache-miss path and on exact hits, read from the runtime's own counter (dotnet.gc.heap.total_allocated, with
# dotnet-counters) while autocannon drives each path against the simulated provider.
# Usage: bench/load/alloc.sh   (env: ALLOC_DURATION=10 ALLOC_WARMUP=30)
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
tools="$root/.artifacts/tools"
[ -x "$tools/dotnet-counters" ] || dotnet tool install --tool-path "$tools" dotnet-counters --version 10.0.750501 >/dev/null
# shellcheck source=common.sh
source ./common.sh
sim=$(free_port); port=$(free_port)
start_simulator "$sim"
start_router "$port" "$sim" None   # the configuration of run.sh's router-miss target
router=${pids[-1]}
wait_for_ports "$sim" "$port"

# drive <seconds> <unique|fixed>: prints the number of requests answered 200.
drive() {
  node --input-type=module -e "
    import autocannon from 'autocannon';
    let n = 0;
    const unique = process.argv[2] === 'unique';
    const r = await autocannon({ url: 'http://127.0.0.1:$port/v1/chat/completions', method: 'POST', connections: 32, duration: Number(process.argv[1]),
      headers: { 'content-type': 'application/json' },
      requests: [{ setupRequest: (q) => ({ ...q, headers: { ...q.headers, 'x-session-id': 'alloc-' + (n % 256) },
        body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: unique ? 'Summarise request ' + process.pid + '-' + (n++) + ' of the load test in one short sentence.' : (n++, 'Summarise the load test in one short sentence.') }] }) }) }] });
    if (r.non2xx || r.errors) { console.error('non-2xx ' + r.non2xx + ', errors ' + r.errors); process.exit(1); }
    console.log(r['2xx']);" "$1" "$2"
}

duration=${ALLOC_DURATION:-10}
csv=$(mktemp --suffix .csv)
for path in unique fixed; do
  drive "${ALLOC_WARMUP:-30}" "$path" >/dev/null
  sleep 3
  rm -f "$csv"
  # A fixed collection window (3 s idle, the run, 2 s idle): a background job cannot be stopped with Ctrl-C.
  "$tools/dotnet-counters" collect -p "$router" --counters System.Runtime --format csv -o "$csv" --refresh-interval 1 \
    --duration "$(window=$((duration + 5)); printf '00:%02d:%02d:%02d' $((window / 3600)) $((window % 3600 / 60)) $((window % 60)))" >/dev/null 2>&1 &
  counters=$!
  sleep 3
  requests=$(drive "$duration" "$path")
  wait "$counters" || true
  [ -s "$csv" ] || { echo "dotnet-counters wrote nothing" >&2; exit 1; }
  bytes=$(grep 'total_allocated' "$csv" | awk -F, '{s += $5} END {printf "%.0f", s}')
  name=$([ "$path" = unique ] && echo "cache miss (model auto)" || echo "exact hit")
  echo "$name: $requests requests, $((bytes / requests)) bytes allocated per request (the ~5 s idle around the run included)"
done
