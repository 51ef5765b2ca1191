'use strict';
// `node worker-child.js <url> <workers>`: starts Workers that each stream events through their own
// client, terminates them mid-stream, and exits by itself. Run as a child process so a crash in
// the addon's per-environment cleanup shows up as an exit code or stderr, not a dead test runner.

const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

if (isMainThread) {
  const [url, count = '1'] = process.argv.slice(2);
  const say = (line) => process.stdout.write(`${line}\n`);
  const run = () => new Promise((resolve, reject) => {
    const w = new Worker(__filename, { workerData: { url } });
    w.on('error', reject);
    w.on('message', async (m) => {
      if (m !== 'streaming') return;
      const code = await w.terminate();
      resolve(code);
    });
  });
  (async () => {
    const codes = [];
    // Several in a row: the addon is loaded once per thread and must clean up every time.
    for (let i = 0; i < Number(count); i += 1) codes.push(await run());
    say(`terminated ${codes.join(',')}`);
  })().catch((err) => {
    process.stderr.write(`main failed: ${err && err.stack}\n`);
    process.exitCode = 1;
  });
} else {
  const { RealtimeClient } = require('../..');
  const { topics } = require('./events');
  const c = new RealtimeClient({ url: workerData.url, token: 'worker-token', heartbeat: false });
  let n = 0;
  c.on('event', () => {
    n += 1;
    if (n === 200) parentPort.postMessage('streaming');
  });
  c.connect().then(() => c.subscribe(topics.calls)).catch((err) => {
    process.stderr.write(`worker failed: ${err && err.stack}\n`);
  });
}
