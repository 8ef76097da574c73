#!/usr/bin/env bash
# Builds with warnings as errors and runs every test against real parts (Azurite, loopback HTTP).
# Usage: ./test.sh [extra dotnet test arguments]
# Azurite: the tests start their own from node_modules, or use the one named by ROUTER_TEST_STORAGE.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [ ! -x node_modules/.bin/azurite ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# The dashboard test drives Debian's Chromium (never a downloaded browser); install it when it is missing.
if ! command -v chromium >/dev/null 2>&1; then
  as_root=(); [ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
  echo "Installing chromium from Debian packages for the dashboard test..."
  { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends chromium; } >/dev/null 2>&1 \
    || echo "Could not install chromium; the dashboard test will fail until 'apt-get install -y chromium' is run."
fi

# The Bicep CLI (a NuGet package) for the contract tests between infra/ and the code.
dotnet restore .ci/tools/tools.csproj --nologo -v quiet

results=.artifacts/test-results
rm -rf "$results"
dotnet build Router.Functions.sln -c Release -warnaserror -warnnotaserror:NU1603 -nologo -v quiet
status=0
dotnet test Router.Functions.sln -c Release --no-build --nologo \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results" "$@" || status=$?

passed=0
failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done
echo "$passed passed, $failed failed" > .artifacts/test-summary.txt
echo "$passed passed, $failed failed"
exit $status
