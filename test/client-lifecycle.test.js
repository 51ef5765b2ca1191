'use strict';
// Process lifecycle, each case in its own child process: what keeps the process alive, what lets
// it exit, exiting in every state, listener exceptions, and Worker termination.

const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const path = require('node:path');
const ev = require('./helpers/events');
const { startServer, runNode } = require('./helpers/util');

const T = { timeout: 20000 };
const CHILD = path.join(__dirname, 'helpers', 'lifecycle-child.js');
const THROW = path.join(__dirname, 'helpers', 'throw-child.js');
const WORKER = path.join(__dirname, 'helpers', 'worker-child.js');
// Generous for a loaded 2-core machine, yet far below "hangs".
const EXIT_BOUND = 6000;

function closedPort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(`ws://127.0.0.1:${p}/v1.0/ws`));
    });
  });
}

function assertCleanExit(r, code, stdout) {
  assert.equal(r.timedOut, false, `child did not exit by itself; stdout: ${r.stdout} stderr: ${r.stderr}`);
  assert.equal(r.stderr, '');
  assert.equal(r.signal, null);
  assert.equal(r.code, code);
  if (stdout !== undefined) assert.equal(r.stdout, stdout);
  assert.ok(r.ms < EXIT_BOUND, `child took ${r.ms} ms`);
}

test('a client that was only constructed does not keep the process alive', T, async (t) => {
  const server = await startServer(t);
  const r = await runNode([CHILD, 'construct-only', server.url], { timeout: EXIT_BOUND + 2000 });
  assertCleanExit(r, 0, 'constructed disconnected\n');
  assert.equal(server.tcpConnections, 0);
});

test('close() twice, concurrently and again, resolves and the process exits', T, async (t) => {
  const server = await startServer(t);
  const r = await runNode([CHILD, 'close-twice', server.url], { timeout: EXIT_BOUND + 2000 });
  assertCleanExit(r, 0, 'closed closed\n');
  assert.equal(server.upgrades, 1);
});

test('a process with a client that received an event exits after close()', T, async (t) => {
  const server = await startServer(t);
  const r = await runNode([CHILD, 'close-after-event', server.url], {
    timeout: EXIT_BOUND + 2000,
    onStdout: (out) => { if (out === 'ready\n') server.send(ev.callStatus({ seq: 5 })); },
  });
  assertCleanExit(r, 0, 'ready\nevent 5\nclosed\n');
});

test('an unref()ed connected client does not keep the process alive', T, async (t) => {
  const server = await startServer(t);
  const r = await runNode([CHILD, 'unref', server.url], { timeout: EXIT_BOUND + 2000 });
  assertCleanExit(r, 0, 'unrefd subscribed\n');
});

test('an unref()ed client waiting to reconnect does not keep the process alive', T, async () => {
  const url = await closedPort();
  const r = await runNode([CHILD, 'unref-reconnecting', url], { timeout: EXIT_BOUND + 2000 });
  assertCleanExit(r, 0);
  assert.ok(r.stdout === '' || r.stdout === 'reconnecting\n', r.stdout);
});

for (const [mode, useServer] of [['keep-alive', true], ['keep-alive-reconnecting', false], ['ref-again', true]]) {
  test(`a ${mode === 'keep-alive' ? 'connected' : mode === 'ref-again' ? 're-ref()ed' : 'reconnecting'} client keeps the process alive`, T, async (t) => {
    const url = useServer ? (await startServer(t)).url : await closedPort();
    let aliveAfterWait;
    const r = await runNode([CHILD, mode, url], {
      timeout: EXIT_BOUND + 4000,
      onStdout: (out, child) => {
        if (out !== 'ready\n') return;
        setTimeout(() => {
          aliveAfterWait = child.exitCode === null && child.signalCode === null;
          child.kill('SIGTERM');
        }, 800);
      },
    });
    assert.equal(r.stdout, 'ready\n');
    assert.equal(aliveAfterWait, true, `the process exited by itself: code ${r.code}`);
    assert.equal(r.signal, 'SIGTERM');
    if (mode === 'keep-alive-reconnecting') {
      // Nobody listens for 'error' and there is no logger: the operator is told, once.
      assert.equal(r.stderr.match(/\[VOIP_REALTIME_CONNECT_FAILED\] RealtimeWarning: CONNECT_FAILED: could not connect to /g).length, 1, r.stderr);
    } else {
      assert.equal(r.stderr, '');
    }
  });
}

for (const state of ['connecting', 'connected', 'subscribed', 'reconnecting', 'closing']) {
  test(`process.exit() while ${state} exits with the given code and nothing on stderr`, T, async (t) => {
    const server = await startServer(t);
    const url = state === 'reconnecting' ? await closedPort() : server.url;
    const r = await runNode([CHILD, `exit-${state}`, url], {
      timeout: EXIT_BOUND + 2000,
      onStdout: (out) => { if (out === 'ready\n') server.send(ev.callStatus({ seq: 1 })); },
    });
    assertCleanExit(r, 7);
  });
}

test('a listener that throws surfaces as uncaughtException with the same error; later events still arrive', T, async (t) => {
  const server = await startServer(t);
  const r = await runNode([THROW, 'handled', server.url], {
    timeout: EXIT_BOUND + 2000,
    onStdout: (out) => {
      if (out === 'ready\n') server.send(...[0, 1, 2, 3].map((seq) => ev.callStatus({ seq })));
    },
  });
  assertCleanExit(r, 0);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'ready');
  assert.deepEqual(JSON.parse(lines[1]), { seqs: [0, 1, 2, 3], caught: ['same'] });
});

test('a listener that throws with no handler kills the process with its stack', T, async (t) => {
  const server = await startServer(t);
  const r = await runNode([THROW, 'unhandled', server.url], {
    timeout: EXIT_BOUND + 2000,
    onStdout: (out) => {
      if (out === 'ready\n') server.send(...[0, 1, 2, 3].map((seq) => ev.callStatus({ seq })));
    },
  });
  assert.equal(r.timedOut, false);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error: boom-from-listener/);
  assert.match(r.stderr, /throwingListener/);
  assert.equal(r.stdout, 'ready\n');
});

test('Workers streaming events through a client can be terminated without crashing', T, async (t) => {
  const server = await startServer(t);
  let seq = 0;
  const pump = setInterval(() => {
    if (server.clients.length === 0) return;
    const batch = [];
    for (let i = 0; i < 50; i += 1) batch.push(ev.callStatus({ seq: seq++ }));
    server.send(...batch);
  }, 5);
  t.after(() => clearInterval(pump));
  const r = await runNode([WORKER, server.url, '3'], { timeout: 15000 });
  assertCleanExit(r, 0, 'terminated 1,1,1\n');
  assert.equal(server.upgrades, 3);
});
