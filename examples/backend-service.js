'use strict';

// A long-running Node.js backend: it follows every call of a customer, keeps the number of
// active calls, and serves `GET /health` with the client's state and `stats()` for a load
// balancer or an orchestrator. SIGTERM (or SIGINT) shuts it down gracefully: the health server
// stops accepting, the client closes, and the process exits on its own with code 0.
//
// Against VoIPBIN:
//   VOIPBIN_TOKEN=... VOIPBIN_CUSTOMER_ID=... PORT=8081 node examples/backend-service.js
// Without VOIPBIN_URL it starts a local emulator playing a contact centre. PORT defaults to 0
// (any free port); the chosen address is printed as `health: http://127.0.0.1:<port>/health`.

const http = require('node:http');
const { RealtimeClient, Emulator, topic } = require('voip-realtime');

const SEED = 'backend-service';

async function main() {
  let url = process.env.VOIPBIN_URL;
  let token = process.env.VOIPBIN_TOKEN;
  let customerId = process.env.VOIPBIN_CUSTOMER_ID;
  const port = Number(process.env.PORT ?? 0);
  let emu = null;
  if (!url) {
    emu = await Emulator.start();
    url = emu.url;
    customerId = '12345678-1234-4234-8234-123456789012';
    token = emu.issueToken({ customerId, permissions: ['admin'] });
  }

  const client = new RealtimeClient({ url, token });
  const active = new Set();
  let handled = 0;
  client.on('event', (e) => {
    handled++;
    if (e.event_type === 'call.created') active.add(e.data.id);
    else if (e.event_type === 'call.ended') active.delete(e.data.id);
  });
  // A backend logs connection trouble and keeps running: the client reconnects by itself.
  client.on('error', (err) => console.error(`voip-realtime ${err.code}: ${err.message}`));

  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/health') {
      res.writeHead(404).end();
      return;
    }
    const healthy = client.state === 'subscribed';
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ state: client.state, handled, activeCalls: active.size, stats: client.stats() }));
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));

  let scenario = null;
  let stopping = false;
  const shutdown = async (signal) => {
    stopping = true;
    console.log(`${signal}: shutting down`);
    server.close();
    server.closeIdleConnections();
    if (scenario) scenario.stop();
    await client.close();
    if (emu) await emu.stop();
    console.log(`stopped after ${handled} events, ${active.size} calls active`);
    // Nothing else holds the event loop: the process ends by itself with code 0.
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  // A signal during start-up closes the client, which rejects these with CLOSED: not an error.
  try {
    await client.connect();
    await client.subscribe(topic.customer(customerId, 'call'));
  } catch (err) {
    if (stopping && err.code === 'CLOSED') return;
    throw err;
  }
  // durationScale 0.1 fast-forwards the day: calls last seconds instead of minutes.
  if (emu) scenario = emu.scenario('callcenter', { seed: SEED, rate: 100, durationScale: 0.1, customerId });
  console.log(`health: http://127.0.0.1:${server.address().port}/health`);
}

main().catch((err) => {
  console.error(err);
  // Start-up failed: a service that cannot serve exits non-zero and lets its supervisor restart it.
  process.exit(1);
});
