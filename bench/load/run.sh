#!/usr/bin/env bash
# Side-by-side load harness: the simulated provider directly, Router.Server on the cache-miss path, with the semantic
# cache on, on exact-cache hits, and the Portkey gateway, all forwarding to the same simulator on this machine.
# Prints added latency and throughput as ratios, and writes docs/benchmarks.md.
# Usage: bench/load/run.sh   (env: LOAD_ROUNDS=3 LOAD_DURATION=10 LOAD_WARMUP=30 LOAD_CONNECTIONS=32 LOAD_LATENCY_REQUESTS=2000)
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
# shellcheck source=common.sh
source ./common.sh
sim=$(free_port); miss=$(free_port); semantic=$(free_port); portkey=$(free_port)
start_simulator "$sim"
start_router "$miss" "$sim" None
start_router "$semantic" "$sim" Local
node node_modules/.bin/gateway --port="$portkey" --headless >/dev/null & pids+=($!)

wait_for_ports "$sim" "$miss" "$semantic" "$portkey"

unique='{"model":"auto","messages":[{"role":"user","content":"Summarise request {n} of the load test in one short sentence."}]}'
fixed='{"model":"auto","messages":[{"role":"user","content":"Summarise the load test in one short sentence."}]}'
direct='{"model":"sim-small","messages":[{"role":"user","content":"Summarise request {n} of the load test in one short sentence."}]}'
target() { printf '{"name":"%s","url":"%s","unique":%s,"body":%s,"headers":%s,"sessions":%s}' "$1" "$2" "$3" "$(node -e 'console.log(JSON.stringify(process.argv[1]))' "$4")" "$5" "${6:-0}"; }
results=$(mktemp)
targets=(
  "$(target direct "http://127.0.0.1:$sim/v1/chat/completions" true "$direct" '{}')"
  "$(target router-miss "http://127.0.0.1:$miss/v1/chat/completions" true "$unique" '{}')"
  "$(target router-semantic "http://127.0.0.1:$semantic/v1/chat/completions" true "$unique" '{}')"
  "$(target router-exact-hit "http://127.0.0.1:$miss/v1/chat/completions" false "$fixed" '{}' 256)"
  "$(target portkey "http://127.0.0.1:$portkey/v1/chat/completions" true "$direct" "{\"x-portkey-provider\":\"openai\",\"x-portkey-custom-host\":\"http://127.0.0.1:$sim/v1\",\"authorization\":\"Bearer sim\"}")"
)
# Rounds interleave the targets, so a slow minute of this shared VM lands on every target of a round rather than on
# one; ratios are taken within a round and the report gives their median. Only the first round warms up.
rounds=${LOAD_ROUNDS:-3}
for round in $(seq 1 "$rounds"); do
  warmup=${LOAD_WARMUP:-30}; [ "$round" -gt 1 ] && warmup=0
  for t in "${targets[@]}"; do
    LOAD_ROUND=$round LOAD_WARMUP=$warmup node load.mjs "$t" >>"$results"
  done
done

node report.mjs "$results" "$root/docs/benchmarks.md"
