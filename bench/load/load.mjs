// Measures one target: maximum throughput with autocannon, and added latency with one request in flight at
// microsecond resolution (process.hrtime). Usage: node load.mjs '<json target>' → JSON result on stdout.
import autocannon from 'autocannon';
import http from 'node:http';

const target = JSON.parse(process.argv[2]);
const duration = Number(process.env.LOAD_DURATION ?? 10);
const connections = Number(process.env.LOAD_CONNECTIONS ?? 32);
const latencyRequests = Number(process.env.LOAD_LATENCY_REQUESTS ?? 2000);
// Long enough for .NET tiered compilation (tier-1 with dynamic PGO) and V8 to settle on a machine whose 2 cores the load
// generator saturates; a short warm-up measures the JIT, not the gateway. A fresh router still spent 8% of its CPU in
// the JIT's background tier-up after 30 s of full load on this machine, and none after 75 s.
const warmup = Number(process.env.LOAD_WARMUP ?? 30);
let counter = 0;
const body = () => target.unique
  ? target.body.replace('{n}', `${process.pid}-${counter++}`)
  : target.body;
// Repeated requests are spread over many agent sessions (x-session-id), as real clients' traffic is, so the router's
// runaway-agent guard, which stays on, sees no loop.
let sessionCounter = 0;
const headers = () => target.sessions
  ? { ...target.headers, 'x-session-id': `load-${sessionCounter++ % target.sessions}` }
  : target.headers;

async function throughput(seconds) {
  const result = await autocannon({
    url: target.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    connections,
    pipelining: 1,
    duration: seconds,
    requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...headers() }, body: body() }) }],
  });
  return { rps: result.requests.average, total: result.requests.total, non2xx: result.non2xx, errors: result.errors + result.timeouts };
}

function one(agent, url) {
  return new Promise((resolve, reject) => {
    const payload = body();
    const started = process.hrtime.bigint();
    const request = http.request(url, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers() },
    }, (response) => {
      response.on('data', () => {});
      response.on('end', () => resolve({ micros: Number(process.hrtime.bigint() - started) / 1000, status: response.statusCode }));
    });
    request.on('error', reject);
    request.end(payload);
  });
}

async function latency(count) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(target.url);
  for (let i = 0; i < 200; i++) await one(agent, url);
  const samples = [];
  let failures = 0;
  for (let i = 0; i < count; i++) {
    const { micros, status } = await one(agent, url);
    if (status !== 200) failures++;
    samples.push(micros);
  }
  agent.destroy();
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), failures };
}

// Pauses after each loaded phase, so background work that load leaves behind (tier-1 recompilation starved of CPU
// while the load generator saturates the cores, GC rebalancing) finishes before the next measurement starts.
const settle = () => new Promise((resolve) => setTimeout(resolve, 3000));
if (warmup > 0) {
  await throughput(warmup);   // warm-up: JIT, connection pools, caches (a later round of a running target skips it)
  await settle();
}
const max = await throughput(duration);
await settle();
const lat = await latency(latencyRequests);
process.stdout.write(JSON.stringify({ name: target.name, round: Number(process.env.LOAD_ROUND ?? 1), ...max, latency: lat }) + '\n');
