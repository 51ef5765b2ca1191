'use strict';
// Reconnect storm: how hard a fleet of clients hits a server that restarts. Two shapes:
//
//   --shape drop (default): the server drops every client and then, while it is not healthy
//     yet, accepts each WebSocket upgrade and drops the connection at once for `--hostile`
//     seconds, then serves normally again. Windows count from the drop.
//   --shape down: the server drops every client and stops listening (connections are refused)
//     for `--down` seconds, then listens again on the same port and serves normally. Windows
//     count from its return.
//
//   node bench/storm.js [--shape drop|down] [--clients 200] [--stable 11] [--hostile 10]
//                       [--down 10] [--seconds 20] [--tls] [--reset-after ms] [--jitter x]
//
// The clients connect (spread over two seconds) and stay connected for `--stable` seconds before
// the drop. Printed (one JSON line): upgrades per 100 ms window over `--seconds` (peak, and the
// peak after the first 2 s), per second, the total, how many clients were connected at the end,
// and for the down shape how long after the return the last client was back. `--reset-after 0`
// restores the old schedule (the attempt count started over at every upgrade) and `--jitter`
// sets reconnect.jitter, for comparison.

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
  const value = process.argv[i + 1];
  return typeof fallback === 'string' ? value : Number(value);
}

/** Upgrades at `times` (performance.now()) per 100 ms window from `from`, over `seconds`. */
function windowsOf(times, from, seconds) {
  const windows = new Array(Math.ceil(seconds * 10)).fill(0);
  for (const at of times) {
    const w = Math.floor((at - from) / 100);
    if (w >= 0 && w < windows.length) windows[w]++;
  }
  return windows;
}

async function main() {
  const shape = arg('shape', 'drop');
  if (shape !== 'drop' && shape !== 'down') throw new Error(`Expected drop or down for --shape but received ${shape}`);
  const clients = arg('clients', 200);
  const stable = arg('stable', 11);
  const hostileSeconds = arg('hostile', 10);
  const downSeconds = arg('down', 10);
  const seconds = arg('seconds', 20);
  const secure = arg('tls', false);
  const resetAfter = arg('reset-after', undefined);
  const jitter = arg('jitter', undefined);
  const tlsDir = path.join(__dirname, '..', 'test', 'fixtures', 'tls');
  const read = (f) => fs.readFileSync(path.join(tlsDir, f), 'utf8');
  const server = await HostileServer.start(secure ? { tls: { cert: read('server.pem'), key: read('server-key.pem') } } : {});
  let hostileUntil = 0;
  server.onConnection = (conn) => {
    if (performance.now() < hostileUntil) setImmediate(() => conn.drop());
  };

  const reconnect = {};
  if (resetAfter !== undefined) reconnect.resetAfter = resetAfter;
  if (jitter !== undefined) reconnect.jitter = jitter;
  const fleet = [];
  for (let i = 0; i < clients; i++) {
    const c = new RealtimeClient({
      url: server.url,
      dialect: 'documented',
      heartbeat: false,
      reconnect,
      tls: secure ? { ca: read('ca.pem') } : undefined,
    });
    c.on('error', () => {});
    fleet.push(c);
  }
  // When each client was last back (connected), for the down shape's "all back" time.
  const backAt = new Array(clients).fill(0);
  fleet.forEach((c, i) => c.on('open', () => { backAt[i] = performance.now(); }));
  const startedAt = performance.now();
  await Promise.all(fleet.map(async (c, i) => {
    await delay((2000 * i) / clients);
    await c.connect();
  }));
  const wait = stable * 1000 - (performance.now() - startedAt - 2000);
  if (wait > 0) await delay(wait);

  const dropAt = performance.now();
  const before = server.upgrades.length;
  let from = dropAt;
  if (shape === 'drop') {
    hostileUntil = dropAt + hostileSeconds * 1000;
    server.dropAll();
  } else {
    await server.stopListening();
    await delay(downSeconds * 1000 - (performance.now() - dropAt));
    await server.listenAgain();
    from = performance.now();
  }
  await delay(seconds * 1000);

  const upgrades = server.upgrades.slice(before);
  const windows = windowsOf(upgrades, from, seconds);
  const peak = Math.max(...windows);
  const peakAfter2s = Math.max(...windows.slice(20));
  const total = windows.reduce((a, b) => a + b, 0);
  const connected = fleet.filter((c) => c.state === 'connected' || c.state === 'subscribed').length;
  const perSecond = [];
  for (let s = 0; s < seconds; s++) perSecond.push(windows.slice(s * 10, s * 10 + 10).reduce((a, b) => a + b, 0));
  const result = {
    shape,
    clients,
    tls: secure,
    resetAfter: resetAfter === undefined ? 'default' : resetAfter,
    jitter: jitter === undefined ? 'default' : jitter,
    ...(shape === 'drop' ? { hostileSeconds } : { downSeconds, upgradesWhileDown: upgrades.filter((t) => t < from).length }),
    seconds,
    peakPer100ms: peak,
    peakPer100msAfter2s: peakAfter2s,
    total,
    perSecond,
    connectedAtEnd: connected,
  };
  if (shape === 'down' && connected === clients) {
    result.allBackAfterMs = Math.round(Math.max(...backAt) - from);
  }
  console.log(JSON.stringify(result));
  await Promise.all(fleet.map((c) => c.close()));
  await server.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
