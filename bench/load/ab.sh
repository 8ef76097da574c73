#!/usr/bin/env bash
# A/B of two Router.Server configurations side by side on the routed miss and on exact hits, each round interleaved with
# the provider called directly, so a slow minute of this shared VM lands on both. Prints req/s and p50 µs per target.
# Usage: bench/load/ab.sh "ENV=A ..." "ENV=B ..." [rounds]   e.g. bench/load/ab.sh "X=1" "DOTNET_gcServer=0" 2
# (env: AB_WARMUP=30 first-round warm-up seconds, AB_LATENCY_REQUESTS=1000; LOAD_DURATION, LOAD_CONNECTIONS as load.mjs)
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
npm ci --no-audit --no-fund --loglevel=error >/dev/null
dotnet build "$root/src/Router.Server" -c Release -nologo -v quiet >/dev/null
dotnet build "$root/tests/Router.Testing" -c Release -nologo -v quiet >/dev/null

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
sim=$(free_port); a=$(free_port); b=$(free_port)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
dotnet "$root/tests/Router.Testing/bin/Release/net10.0/Router.Testing.dll" --port "$sim" >/dev/null & pids+=($!)
router() { # port "extra env"; the same configuration as run.sh's router-miss target
  # shellcheck disable=SC2086 # the extra environment is a list of NAME=value words
  env $2 Router__UseDefaultCatalog=false \
    Router__Providers__sim__Endpoint="http://127.0.0.1:$sim/v1" \
    Router__Models__sim-small__Provider=sim Router__Models__sim-small__Tier=Economy \
    Router__Models__sim-small__InputCostPerMillion=0.15 Router__Models__sim-small__OutputCostPerMillion=0.6 \
    Router__Models__sim-large__Provider=sim Router__Models__sim-large__Tier=Premium \
    Router__Models__sim-large__InputCostPerMillion=2.5 Router__Models__sim-large__OutputCostPerMillion=10 \
    Router__Embeddings__Provider=None Router__Audits__Enabled=false Router__LoopGuard__MaxRepeats=10000 Router__LoopGuard__Window=00:00:10 \
    Logging__LogLevel__Default=Warning ASPNETCORE_ENVIRONMENT=Production \
    dotnet "$root/src/Router.Server/bin/Release/net10.0/Router.Server.dll" --urls "http://127.0.0.1:$1" >/dev/null &
  pids+=($!)
}
router "$a" "${1:?first configuration}"
router "$b" "${2:?second configuration}"
for port in "$sim" "$a" "$b"; do
  for _ in $(seq 1 150); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.2; done
done

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
