# Shared by run.sh, alloc.sh and ab.sh (sourced from bench/load with $root set): builds what they start, and starts the
# simulated provider and Router.Server in the configuration every load figure uses.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
npm ci --no-audit --no-fund --loglevel=error >/dev/null
dotnet build "$root/src/Router.Server" -c Release -nologo -v quiet >/dev/null
dotnet build "$root/tests/Router.Testing" -c Release -nologo -v quiet >/dev/null

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

# start_simulator <port>
start_simulator() {
  dotnet "$root/tests/Router.Testing/bin/Release/net10.0/Router.Testing.dll" --port "$1" >/dev/null &
  pids+=($!)
}

# start_router <port> <simulator port> <embeddings provider> [NAME=value ...]: the router on the simulator's two models;
# its pid is the last in $pids. The model ids contain '-', which a shell assignment cannot, hence env. The runaway-agent
# guard stays on with its repeat limit raised, since the exact-hit load repeats one prompt thousands of times a second.
start_router() {
  local port=$1 sim=$2 embeddings=$3
  shift 3
  env "$@" Router__UseDefaultCatalog=false \
    Router__Providers__sim__Endpoint="http://127.0.0.1:$sim/v1" \
    Router__Models__sim-small__Provider=sim Router__Models__sim-small__Tier=Economy \
    Router__Models__sim-small__InputCostPerMillion=0.15 Router__Models__sim-small__OutputCostPerMillion=0.6 \
    Router__Models__sim-large__Provider=sim Router__Models__sim-large__Tier=Premium \
    Router__Models__sim-large__InputCostPerMillion=2.5 Router__Models__sim-large__OutputCostPerMillion=10 \
    Router__Embeddings__Provider="$embeddings" Router__Audits__Enabled=false Router__LoopGuard__MaxRepeats=10000 Router__LoopGuard__Window=00:00:10 \
    Logging__LogLevel__Default=Warning ASPNETCORE_ENVIRONMENT=Production \
    dotnet "$root/src/Router.Server/bin/Release/net10.0/Router.Server.dll" --urls "http://127.0.0.1:$port" >/dev/null &
  pids+=($!)
}

# wait_for_ports <port> ...: until each accepts connections (30 s at most each).
wait_for_ports() {
  for port in "$@"; do
    for _ in $(seq 1 150); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.2; done
  done
}
