// Turns the harness's JSON lines into ratios (printed) and docs/benchmarks.md.
import fs from 'node:fs';
import os from 'node:os';
import { execSync } from 'node:child_process';

const [resultsPath, outPath] = process.argv.slice(2);
const rows = fs.readFileSync(resultsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const f = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const version = (cmd) => { try { return execSync(cmd, { encoding: 'utf8' }).trim().split('\n')[0]; } catch { return 'unknown'; } };
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// Every figure is taken within one round (the targets of a round ran back to back), then the median over the rounds
// is reported; ratios and added latency are never formed across rounds.
const rounds = [...new Set(rows.map((r) => r.round ?? 1))].sort((a, b) => a - b);
const names = [...new Set(rows.map((r) => r.name))];
const inRound = (round) => Object.fromEntries(rows.filter((r) => (r.round ?? 1) === round).map((r) => [r.name, r]));
const perRound = rounds.map(inRound).filter((by) => by.direct && by.portkey);
const figures = (name) => {
  const runs = perRound.filter((by) => by[name]).map((by) => {
    const r = by[name], direct = by.direct;
    return {
      rps: r.rps, xDirect: r.rps / direct.rps, xPortkey: r.rps / by.portkey.rps,
      p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99,
      added50: r.latency.p50 - direct.latency.p50, added90: r.latency.p90 - direct.latency.p90, added99: r.latency.p99 - direct.latency.p99,
      failures: r.non2xx + r.errors + r.latency.failures,
    };
  });
  const of = (key) => runs.map((x) => x[key]);
  const summary = Object.fromEntries(Object.keys(runs[0]).map((key) => [key, median(of(key))]));
  summary.failures = of('failures').reduce((a, b) => a + b, 0);
  summary.range = (key, d = 0, scale = 1) => runs.length > 1
    ? ` (${f(Math.min(...of(key)) * scale, d)}–${f(Math.max(...of(key)) * scale, d)})` : '';
  summary.met = (ok) => runs.filter(ok).length;
  summary.runs = runs.length;
  return summary;
};
const by = Object.fromEntries(names.map((n) => [n, figures(n)]));
const lines = [];
lines.push('| target | req/s | × direct | × Portkey | p50 µs | p90 µs | p99 µs | added p50 µs | added p90 µs | added p99 µs | non-2xx |');
lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const name of names) {
  const r = by[name];
  lines.push(`| ${name} | ${f(r.rps)} | ${f(r.xDirect, 2)} | ${f(r.xPortkey, 1)} | ${f(r.p50)} | ${f(r.p90)} | ${f(r.p99)} | ${f(r.added50)} | ${f(r.added90)} | ${f(r.added99)} | ${r.failures} |`);
}
const table = lines.join('\n');
console.log(table);
const miss = by['router-miss'], semantic = by['router-semantic'], hit = by['router-exact-hit'];
const check = (ok, met, runs) => `${ok ? 'met' : '**not met**'} (${met} of ${runs} rounds)`;
const targets = [
  '| target (issue 11) | median (range over rounds) | |',
  '|---|---:|---|',
  `| router-miss throughput ≥ 15× Portkey | ${f(miss.xPortkey, 1)}×${miss.range('xPortkey', 1)} | ${check(miss.xPortkey >= 15, miss.met((x) => x.xPortkey >= 15), miss.runs)} |`,
  `| router-miss throughput ≥ 40% of direct | ${f(100 * miss.xDirect)}%${miss.range('xDirect', 0, 100)} | ${check(miss.xDirect >= 0.4, miss.met((x) => x.xDirect >= 0.4), miss.runs)} |`,
  `| router-miss added p50 ≤ 200 µs | ${f(miss.added50)} µs${miss.range('added50')} | ${check(miss.added50 <= 200, miss.met((x) => x.added50 <= 200), miss.runs)} |`,
  `| router-miss added p90 ≤ 500 µs | ${f(miss.added90)} µs${miss.range('added90')} | ${check(miss.added90 <= 500, miss.met((x) => x.added90 <= 500), miss.runs)} |`,
  `| router-semantic added p50 ≤ 5 ms | ${f(semantic.added50 / 1000, 2)} ms${semantic.range('added50', 2, 0.001)} | ${check(semantic.added50 <= 5000, semantic.met((x) => x.added50 <= 5000), semantic.runs)} |`,
  `| exact hits ≥ 1.0× direct throughput | ${f(hit.xDirect, 2)}×${hit.range('xDirect', 2)} | ${check(hit.xDirect >= 1, hit.met((x) => x.xDirect >= 1), hit.runs)} |`,
].join('\n');
console.log('\n' + targets);
const cpu = os.cpus()[0]?.model ?? 'unknown';
const doc = `# Load benchmarks

Measured by \`bench/load/run.sh\` on ${new Date().toISOString().slice(0, 10)}: one run of ${perRound.length} rounds, everything on one machine (${os.cpus().length} cores, ${cpu},
${f(os.totalmem() / 2 ** 30)} GiB), so the load generator, the simulated provider and the gateway under test share its cores.
Throughput: autocannon, ${process.env.LOAD_CONNECTIONS ?? 32} connections, ${process.env.LOAD_DURATION ?? 10} s per target and round after a warm-up.
Latency: one request in flight over a keep-alive connection, ${process.env.LOAD_LATENCY_REQUESTS ?? 2000} requests, timed with
\`process.hrtime\` (microseconds); "added" is the difference from the provider called directly.

${table}

${targets}

Allocations per request are measured apart: the whole server process (Kestrel, HttpClient and the router) with
\`bench/load/alloc.sh\` (the runtime's \`dotnet.gc.heap.total_allocated\` counter read with dotnet-counters while autocannon
drives the routed miss, then exact hits), and the router's own share by BenchmarkDotNet with the provider replaced by a
canned answer: \`dotnet run -c Release --project bench/Router.Benchmarks -- --filter '*RoutedRequest*'\`.

Targets: **direct** is the simulated provider (no think time); **router-miss** is \`Router.Server\` routing \`model: auto\`
with a unique prompt per request (analysis without the embedding, cache lookup, routing decision, usage recorded in
memory, audits off); **router-semantic** is the same with the local embedding model and the semantic cache on;
**router-exact-hit** sends the same request every time, so every one is an exact cache hit; **portkey** is the Portkey
gateway (\`@portkey-ai/gateway\`) forwarding to the same simulator with \`x-portkey-custom-host\`. Each target is warmed
up at full load for \`LOAD_WARMUP\` seconds (default 30: a fresh .NET process is still tiering up its JIT-compiled code
after 30 s of full load here) first. Then all targets run one after another, \`LOAD_ROUNDS\` times (default 3); every
ratio and added latency pairs a target with the direct run of its own round, and the tables give the median over the
rounds (the range in brackets), because this shared VM's speed drifts by tens of percent from one minute to the next.
The runaway-agent guard stays on, with its repeat limit
raised (\`Router:LoopGuard:MaxRepeats\` 10000 per 10 s) and the exact-hit requests spread over 256 \`x-session-id\`
sessions, since sending one prompt thousands of times a second is exactly what it exists to refuse.

Versions: .NET ${version('dotnet --version')}, Node.js ${process.version}, autocannon ${JSON.parse(fs.readFileSync(new URL('./node_modules/autocannon/package.json', import.meta.url))).version},
@portkey-ai/gateway ${JSON.parse(fs.readFileSync(new URL('./node_modules/@portkey-ai/gateway/package.json', import.meta.url))).version}.

Reproduce: \`bench/load/run.sh\` (environment: \`LOAD_ROUNDS\`, \`LOAD_DURATION\`, \`LOAD_WARMUP\`, \`LOAD_CONNECTIONS\`, \`LOAD_LATENCY_REQUESTS\`).
`;
fs.writeFileSync(outPath, doc);
console.log(`\nwritten ${outPath}`);
