'use strict';

// Workload 5, cold start: a fresh process requires the client library, connects, subscribes and
// waits for the first event (the server publishes one every millisecond meanwhile). Times are
// milliseconds since this process's time origin, so `firstEventMs` includes Node's own start-up.
// Usage (forked by bench/run.js): node bench/cold.js '{"client","url","token","pattern"}'

const bootMs = performance.now();
const job = JSON.parse(process.argv[2]);
const path = require('node:path');

const LIBRARIES = {
  'voip-realtime': path.resolve(__dirname, '..'),
  ws: 'ws',
  undici: 'undici',
};

async function main() {
  const t0 = performance.now();
  require(LIBRARIES[job.client]);
  const requiredAt = performance.now();
  const { open } = require('./lib/clients.js');
  const client = await open(job.client, { url: job.url, token: job.token, patterns: [] });
  const connectedAt = performance.now();
  const first = new Promise((resolve) => client.on('call.status', resolve));
  await client.subscribe([job.pattern]);
  const subscribedAt = performance.now();
  await first;
  const firstAt = performance.now();
  await client.close();
  await new Promise((resolve) => process.send({
    type: 'result', bootMs, requireMs: requiredAt - t0, connectMs: connectedAt - requiredAt,
    subscribeMs: subscribedAt - connectedAt, firstEventMs: firstAt - subscribedAt, totalMs: firstAt,
  }, resolve));
}

const guard = setTimeout(() => {
  process.send({ type: 'failed', message: 'no first event within 30 s' });
  process.exit(1);
}, 30000);
guard.unref();

main().then(() => process.disconnect(), (err) => {
  process.exitCode = 1;
  process.send({ type: 'failed', message: err && err.stack ? err.stack : String(err) }, () => process.disconnect());
});
