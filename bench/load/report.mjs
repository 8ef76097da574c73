// Turns the harness's JSON lines into ratios (printed) and docs/benchmarks.md.
import fs from 'node:fs';
import os from 'node:os';
import { execSync } from 'node:child_process';

const [resultsPath, outPath] = process.argv.slice(2);
const rows = fs.readFileSync(resultsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const by = Object.fromEntries(rows.map((r) => [r.name, r]));
const direct = by.direct;
const f = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const version = (cmd) => { try { return execSync(cmd, { encoding: 'utf8' }).trim().split('\n')[0]; } catch { return 'unknown'; } };
const lines = [];
lines.push('| target | req/s | × direct | × Portkey | p50 µs | p90 µs | p99 µs | added p50 µs | added p90 µs | added p99 µs | non-2xx |');
lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  lines.push(`| ${r.name} | ${f(r.rps)} | ${f(r.rps / direct.rps, 2)} | ${f(r.rps / by.portkey.rps, 1)} | ${f(r.latency.p50)} | ${f(r.latency.p90)} | ${f(r.latency.p99)} | ${f(r.latency.p50 - direct.latency.p50)} | ${f(r.latency.p90 - direct.latency.p90)} | ${f(r.latency.p99 - direct.latency.p99)} | ${r.non2xx + r.errors + r.latency.failures} |`);
}
const table = lines.join('\n');
console.log(table);
const miss = by['router-miss'], semantic = by['router-semantic'], hit = by['router-exact-hit'];
const check = (ok) => (ok ? 'met' : '**not met**');
const targets = [
  '| target (issue 11) | measured | |',
  '|---|---:|---|',
  `| router-miss throughput ≥ 15× Portkey | ${f(miss.rps / by.portkey.rps, 1)}× | ${check(miss.rps / by.portkey.rps >= 15)} |`,
  `| router-miss throughput ≥ 40% of direct | ${f(100 * miss.rps / direct.rps)}% | ${check(miss.rps / direct.rps >= 0.4)} |`,
  `| router-miss added p50 ≤ 200 µs | ${f(miss.latency.p50 - direct.latency.p50)} µs | ${check(miss.latency.p50 - direct.latency.p50 <= 200)} |`,
  `| router-miss added p90 ≤ 500 µs | ${f(miss.latency.p90 - direct.latency.p90)} µs | ${check(miss.latency.p90 - direct.latency.p90 <= 500)} |`,
  `| router-semantic added p50 ≤ 5 ms | ${f((semantic.latency.p50 - direct.latency.p50) / 1000, 2)} ms | ${check(semantic.latency.p50 - direct.latency.p50 <= 5000)} |`,
  `| exact hits ≥ 1.0× direct throughput | ${f(hit.rps / direct.rps, 2)}× | ${check(hit.rps >= direct.rps)} |`,
].join('\n');
console.log('\n' + targets);
const cpu = os.cpus()[0]?.model ?? 'unknown';
const doc = `# Load benchmarks

Measured by \`bench/load/run.sh\` on ${new Date().toISOString().slice(0, 10)}: one run, everything on one machine (${os.cpus().length} cores, ${cpu},
${f(os.totalmem() / 2 ** 30)} GiB), so the load generator, the simulated provider and the gateway under test share its cores.
Throughput: autocannon, ${process.env.LOAD_CONNECTIONS ?? 32} connections, ${process.env.LOAD_DURATION ?? 10} s per target after a warm-up.
Latency: one request in flight over a keep-alive connection, ${process.env.LOAD_LATENCY_REQUESTS ?? 2000} requests, timed with
\`process.hrtime\` (microseconds); "added" is the difference from the provider called directly.

${table}

${targets}

Allocations per routed request are measured apart, by BenchmarkDotNet with the provider replaced by a canned answer:
\`dotnet run -c Release --project bench/Router.Benchmarks -- --filter '*RoutedRequest*'\` (the router's own share;
Kestrel's and HttpClient's come on top).

Targets: **direct** is the simulated provider (no think time); **router-miss** is \`Router.Server\` routing \`model: auto\`
with a unique prompt per request (analysis without the embedding, cache lookup, routing decision, usage recorded in
memory, audits off); **router-semantic** is the same with the local embedding model and the semantic cache on;
**router-exact-hit** sends the same request every time, so every one is an exact cache hit; **portkey** is the Portkey
gateway (\`@portkey-ai/gateway\`) forwarding to the same simulator with \`x-portkey-custom-host\`. Each target is warmed
up at full load for \`LOAD_WARMUP\` seconds (default 30: a fresh .NET process is still tiering up its JIT-compiled code
after 30 s of full load here) first. The runaway-agent guard stays on, with its repeat limit
raised (\`Router:LoopGuard:MaxRepeats\` 10000 per 10 s) and the exact-hit requests spread over 256 \`x-session-id\`
sessions, since sending one prompt thousands of times a second is exactly what it exists to refuse.

Versions: .NET ${version('dotnet --version')}, Node.js ${process.version}, autocannon ${JSON.parse(fs.readFileSync(new URL('./node_modules/autocannon/package.json', import.meta.url))).version},
@portkey-ai/gateway ${JSON.parse(fs.readFileSync(new URL('./node_modules/@portkey-ai/gateway/package.json', import.meta.url))).version}.

Reproduce: \`bench/load/run.sh\` (environment: \`LOAD_DURATION\`, \`LOAD_WARMUP\`, \`LOAD_CONNECTIONS\`, \`LOAD_LATENCY_REQUESTS\`).
`;
fs.writeFileSync(outPath, doc);
console.log(`\nwritten ${outPath}`);
