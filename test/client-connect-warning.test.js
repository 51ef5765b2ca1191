'use strict';

// A client nobody listens to ('error' unlistened, no logger) is never silent: its operator gets a
// process warning, once per distinct failure, and connect({ timeout }) bounds the wait. Each case
// runs in its own process, where the warnings and the exit are what is checked.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const { runNode, freePort: closedPort } = require('./helpers/util');

const ROOT = path.join(__dirname, '..');
const T = { timeout: 30000 };

// The child's program: `body` runs with `RealtimeClient`, `Emulator`, `url` and `say(obj)` (one
// JSON line on stdout) in scope.
function child(body, url) {
  const program = `
    const { RealtimeClient, Emulator } = require(${JSON.stringify(ROOT)});
    const url = ${JSON.stringify(url ?? '')};
    const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\\n');
    (async () => { ${body} })().catch((err) => { console.error('child failed:', err); process.exitCode = 9; });`;
  return runNode(['-e', program], { timeout: 20000 });
}

function warnings(stderr) {
  return stderr.split('\n').filter((line) => /^\(node:\d+\) \[VOIP_REALTIME_/.test(line));
}

test('a wrong port with no listener and no logger: one warning, and connect({ timeout }) rejects', T, async () => {
  const port = await closedPort();
  const url = `ws://127.0.0.1:${port}/v1.0/ws`;
  const r = await child(`
    const client = new RealtimeClient({ url, token: 't', heartbeat: false,
      reconnect: { initialDelay: 20, maxDelay: 20, jitter: 0 } });
    let attempts = 0;
    const fiveAttempts = new Promise((resolve) => {
      client.on('reconnecting', () => { if (++attempts === 5) resolve(); });
    });
    client.connect().catch(() => {});
    await fiveAttempts;
    try {
      await client.connect({ timeout: 200 });
      say({ resolved: true });
    } catch (err) {
      say({ name: err.name, code: err.code, message: err.message, cause: err.cause && err.cause.code,
        state: client.state, attempts, reconnects: client.stats().reconnects });
    }
    // Nothing is left running: the process ends by itself.
  `, url);
  assert.equal(r.timedOut, false, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.name, 'RealtimeError');
  assert.equal(out.code, 'CONNECT_TIMEOUT');
  assert.equal(out.cause, 'CONNECT_FAILED');
  assert.match(out.message, /^connect\(\) did not succeed within 200 ms; the last attempt failed with CONNECT_FAILED: /);
  assert.equal(out.state, 'closed');
  assert.ok(out.attempts >= 5, `only ${out.attempts} attempts`);
  // Every attempt of the failing loop is counted.
  assert.equal(out.reconnects, out.attempts);
  // Dozens of identical failures, one warning.
  const lines = warnings(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], new RegExp(`^\\(node:\\d+\\) \\[VOIP_REALTIME_CONNECT_FAILED\\] RealtimeWarning: ` +
    `CONNECT_FAILED: could not connect to 127\\.0\\.0\\.1:${port}: Connection refused$`));
  assert.match(r.stderr, /Attach an 'error' listener or pass a logger/);
});

test('without connect({ timeout }) the warning still comes while the client keeps retrying', T, async () => {
  const url = `ws://127.0.0.1:${await closedPort()}/v1.0/ws`;
  const r = await child(`
    const client = new RealtimeClient({ url, token: 't', heartbeat: false,
      reconnect: { initialDelay: 20, maxDelay: 20, jitter: 0 } });
    process.on('warning', (w) => {
      if (!String(w.code).startsWith('VOIP_REALTIME_')) return;
      say({ warning: w.name, code: w.code, state: client.state });
      client.close();
    });
    client.connect().then(() => say({ resolved: true }), (err) => say({ rejected: err.code }));
  `, url);
  assert.equal(r.timedOut, false, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines, [
    { warning: 'RealtimeWarning', code: 'VOIP_REALTIME_CONNECT_FAILED', state: 'reconnecting' },
    { rejected: 'CLOSED' },
  ]);
});

test('distinct failures each warn once; an error listener or a logger takes the warning\'s place', T, async () => {
  const r = await child(`
    const emu = await Emulator.start();
    const token = emu.issueToken();
    const options = { url: emu.url, token, heartbeat: false, reconnect: { initialDelay: 20, maxDelay: 20, jitter: 0 } };
    const seen = [];
    process.on('warning', (w) => { if (String(w.code).startsWith('VOIP_REALTIME_')) seen.push(w.message); });
    const waitAttempts = (client, n) => new Promise((resolve) => {
      let count = 0;
      client.on('reconnecting', () => { if (++count === n) resolve(); });
    });

    emu.fault('refuseUpgrades', { status: 503 });
    const quiet = new RealtimeClient(options);
    quiet.connect().catch(() => {});
    await waitAttempts(quiet, 4);
    emu.fault('refuseUpgrades', { status: 502 });
    await waitAttempts(quiet, 4);
    const afterQuiet = seen.length;

    const listened = new RealtimeClient(options);
    const errors = [];
    listened.on('error', (err) => errors.push(err.code));
    listened.connect().catch(() => {});
    await waitAttempts(listened, 3);

    const logged = [];
    const withLogger = new RealtimeClient({ ...options, logger: { warn: (m) => logged.push(m) } });
    withLogger.connect().catch(() => {});
    await waitAttempts(withLogger, 3);

    await Promise.all([quiet.close(), listened.close(), withLogger.close()]);
    await emu.stop();
    say({ seen, afterQuiet, errors: errors.length, logged: logged.length, loggedFirst: logged[0] });
  `);
  assert.equal(r.timedOut, false, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.afterQuiet, 2, JSON.stringify(out.seen));
  assert.equal(out.seen.length, 2, 'the listened and logged clients add no warning');
  assert.match(out.seen[0], /^CONNECT_FAILED: .*503/);
  assert.match(out.seen[1], /^CONNECT_FAILED: .*502/);
  assert.ok(out.errors >= 3, `the listener got ${out.errors}`);
  assert.ok(out.logged >= 3, `the logger got ${out.logged}`);
  assert.match(out.loggedFirst, /^voip-realtime: CONNECT_FAILED: .*502/);
  assert.equal(warnings(r.stderr).length, 2, r.stderr);
});
