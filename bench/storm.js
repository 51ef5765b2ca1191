'use strict';
// Reconnect storm: how hard a fleet of clients hits a server that restarts and then, while it
// is not healthy yet, accepts each WebSocket upgrade and drops the connection at once.
//
//   node bench/storm.js [--clients 200] [--stable 11] [--hostile 10] [--seconds 20] [--tls]
//                       [--reset-after ms]
//
// The clients connect (spread over two seconds), stay connected for `--stable` seconds, then the
// server drops them all and answers every upgrade with a drop for `--hostile` seconds, then
// serves normally again. Printed: upgrades per 100 ms window over `--seconds` after the drop (peak,
// and the peak after the first 2 s), the total, and how many clients were connected at the end.
// `--reset-after 0` restores the old schedule (the attempt count started over at every upgrade)
// for comparison.

const path = require('node:path');
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');
const { setTimeout: delay } = require('node:timers/promises');
const { HostileServer } = require('../test/helpers/hostile-server.js');
const { RealtimeClient } = require('..');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  if (typeof fallback === 'boolean') return true;
  return Number(process.argv[i + 1]);
}

async function main() {
  const clients = arg('clients', 200);
  const stable = arg('stable', 11);
  const hostileSeconds = arg('hostile', 10);
  const seconds = arg('seconds', 20);
  const secure = arg('tls', false);
  const resetAfter = arg('reset-after', undefined);
  const tlsDir = path.join(__dirname, '..', 'test', 'fixtures', 'tls');
  const read = (f) => fs.readFileSync(path.join(tlsDir, f), 'utf8');
  const server = await HostileServer.start(secure ? { tls: { cert: read('server.pem'), key: read('server-key.pem') } } : {});
  let hostileUntil = 0;
  server.onConnection = (conn) => {
    if (performance.now() < hostileUntil) setImmediate(() => conn.drop());
  };

  const fleet = [];
  for (let i = 0; i < clients; i++) {
    const c = new RealtimeClient({
      url: server.url,
      dialect: 'documented',
      heartbeat: false,
      reconnect: resetAfter === undefined ? undefined : { resetAfter },
      tls: secure ? { ca: read('ca.pem') } : undefined,
    });
    c.on('error', () => {});
    fleet.push(c);
  }
  const startedAt = performance.now();
  await Promise.all(fleet.map(async (c, i) => {
    await delay((2000 * i) / clients);
    await c.connect();
  }));
  const wait = stable * 1000 - (performance.now() - startedAt - 2000);
  if (wait > 0) await delay(wait);

  const dropAt = performance.now();
  hostileUntil = dropAt + hostileSeconds * 1000;
  const before = server.upgrades.length;
  server.dropAll();
  await delay(seconds * 1000);

  const windows = new Array(Math.ceil(seconds * 10)).fill(0);
  for (const at of server.upgrades.slice(before)) {
    const w = Math.floor((at - dropAt) / 100);
    if (w >= 0 && w < windows.length) windows[w]++;
  }
  const peak = Math.max(...windows);
  const peakAfter2s = Math.max(...windows.slice(20));
  const total = windows.reduce((a, b) => a + b, 0);
  const connected = fleet.filter((c) => c.state === 'connected' || c.state === 'subscribed').length;
  const perSecond = [];
  for (let s = 0; s < seconds; s++) perSecond.push(windows.slice(s * 10, s * 10 + 10).reduce((a, b) => a + b, 0));
  const result = { clients, tls: secure, resetAfter: resetAfter === undefined ? 'default' : resetAfter, hostileSeconds, seconds, peakPer100ms: peak, peakPer100msAfter2s: peakAfter2s, total, perSecond, connectedAtEnd: connected };
  console.log(JSON.stringify(result));
  await Promise.all(fleet.map((c) => c.close()));
  await server.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
