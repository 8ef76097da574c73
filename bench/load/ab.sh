#!/usr/bin/env bash
# A/B of two Router.Server configurations side by side on the routed miss and on exact hits, each round interleaved with
# the provider called directly, so a slow minute of this shared VM lands on both. Prints req/s and p50 µs per target.
# Usage: bench/load/ab.sh "ENV=A ..." "ENV=B ..." [rounds]   e.g. bench/load/ab.sh "X=1" "DOTNET_gcServer=0" 2
# (env: AB_WARMUP=30 first-round warm-up seconds, AB_LATENCY_REQUESTS=1000; LOAD_DURATION, LOAD_CONNECTIONS as load.mjs)
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
# shellcheck source=common.sh
source ./common.sh
sim=$(free_port); a=$(free_port); b=$(free_port)
start_simulator "$sim"
# shellcheck disable=SC2086 # each configuration is a list of NAME=value words
start_router "$a" "$sim" None ${1:?first configuration}
# shellcheck disable=SC2086
start_router "$b" "$sim" None ${2:?second configuration}
wait_for_ports "$sim" "$a" "$b"

unique='{"model":"auto","messages":[{"role":"user","content":"Summarise request {n} of the load test in one short sentence."}]}'
fixed='{"model":"auto","messages":[{"role":"user","content":"Summarise the load test in one short sentence."}]}'
direct='{"model":"sim-small","messages":[{"role":"user","content":"Summarise request {n} of the load test in one short sentence."}]}'
target() { printf '{"name":"%s","url":"http://127.0.0.1:%s/v1/chat/completions","unique":%s,"body":%s,"headers":{},"sessions":%s}' \
  "$1" "$2" "$3" "$(node -e 'console.log(JSON.stringify(process.argv[1]))' "$4")" "${5:-0}"; }
for round in $(seq 1 "${3:-2}"); do
  warmup=${AB_WARMUP:-30}; [ "$round" -gt 1 ] && warmup=0
  for t in "$(target direct "$sim" true "$direct")" "$(target miss-A "$a" true "$unique")" "$(target miss-B "$b" true "$unique")" \
           "$(target hit-A "$a" false "$fixed" 256)" "$(target hit-B "$b" false "$fixed" 256)"; do
    LOAD_ROUND=$round LOAD_WARMUP=$warmup LOAD_LATENCY_REQUESTS=${AB_LATENCY_REQUESTS:-1000} node load.mjs "$t" \
      | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(`round ${r.round} ${r.name}: ${Math.round(r.rps)} req/s, p50 ${Math.round(r.latency.p50)} µs`)})'
  done
done
