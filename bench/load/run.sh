#!/usr/bin/env bash
# Side-by-side load harness: the simulated provider directly, Router.Server on the cache-miss path, with the semantic
# cache on, on exact-cache hits, and the Portkey gateway, all forwarding to the same simulator on this machine.
# Prints added latency and throughput as ratios, and writes docs/benchmarks.md.
# Usage: bench/load/run.sh   (env: LOAD_ROUNDS=3 LOAD_DURATION=10 LOAD_WARMUP=30 LOAD_CONNECTIONS=32 LOAD_LATENCY_REQUESTS=2000)
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
npm ci --no-audit --no-fund --loglevel=error >/dev/null

dotnet build "$root/src/Router.Server" -c Release -nologo -v quiet >/dev/null
dotnet build "$root/tests/Router.Testing" -c Release -nologo -v quiet >/dev/null

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
sim=$(free_port); miss=$(free_port); semantic=$(free_port); portkey=$(free_port)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

dotnet "$root/tests/Router.Testing/bin/Release/net10.0/Router.Testing.dll" --port "$sim" >/dev/null & pids+=($!)

router() { # port embeddings
  # env: the model ids contain '-', which a shell assignment cannot.
  env Router__UseDefaultCatalog=false \
    Router__Providers__sim__Endpoint="http://127.0.0.1:$sim/v1" \
    Router__Models__sim-small__Provider=sim Router__Models__sim-small__Tier=Economy \
    Router__Models__sim-small__InputCostPerMillion=0.15 Router__Models__sim-small__OutputCostPerMillion=0.6 \
    Router__Models__sim-large__Provider=sim Router__Models__sim-large__Tier=Premium \
    Router__Models__sim-large__InputCostPerMillion=2.5 Router__Models__sim-large__OutputCostPerMillion=10 \
    Router__Embeddings__Provider="$2" Router__Audits__Enabled=false Router__LoopGuard__MaxRepeats=10000 Router__LoopGuard__Window=00:00:10 \
    Logging__LogLevel__Default=Warning ASPNETCORE_ENVIRONMENT=Production \
    dotnet "$root/src/Router.Server/bin/Release/net10.0/Router.Server.dll" --urls "http://127.0.0.1:$1" >/dev/null &
  pids+=($!)
}
router "$miss" None
router "$semantic" Local
node node_modules/.bin/gateway --port="$portkey" --headless >/dev/null & pids+=($!)

for port in "$sim" "$miss" "$semantic" "$portkey"; do
  for _ in $(seq 1 150); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.2; done
done

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
