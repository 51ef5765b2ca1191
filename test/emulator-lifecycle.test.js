'use strict';
// The emulator and the process: running keeps it alive, stop() and unref() let it exit,
// process.exit() and worker termination with live connections are clean. Each case runs in a
// child process bounded by a timeout.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { runNode } = require('./helpers/util');

const LIB = path.join(__dirname, '..', 'lib', 'emulator.js');
const WS = require.resolve('ws');
const CUST = '5013bc52-da9a-11ee-844f-2fa34248de28';

function script(body) {
  return `
    const { Emulator } = require(${JSON.stringify(LIB)});
    const WebSocket = require(${JSON.stringify(WS)});
    const connect = (emu) => new Promise((resolve, reject) => {
      const ws = new WebSocket(emu.url + '?token=' + emu.issueToken({}));
      ws.on('open', () => resolve(ws));
      ws.on('error', reject);
    });
    (async () => { ${body} })().catch((err) => { console.error(err); process.exit(3); });
  `;
}

test('stop() closes connections, joins the threads and lets the process exit', { timeout: 15000 }, async () => {
  const res = await runNode(['-e', script(`
    const emu = await Emulator.start({ customerId: '${CUST}' });
    const ws = await connect(emu);
    ws.on('close', (code) => console.log('client closed', code));
    ws.send(JSON.stringify({ type: 'subscribe', topics: ['customer_id:${CUST}:call:*'] }));
    await new Promise((r) => ws.once('message', r));
    await emu.stop();
    await emu.stop();
    console.log('stopped', emu.stats().connections);
  `)], { timeout: 8000 });
  assert.equal(res.timedOut, false, res.stderr);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /client closed 1001/);
  assert.match(res.stdout, /stopped 0/);
});

test('a running emulator keeps the process alive; unref() lets it exit', { timeout: 15000 }, async () => {
  const alive = await runNode(['-e', script(`
    const emu = await Emulator.start({});
    console.log('listening', emu.port);
  `)], { timeout: 1500 });
  assert.match(alive.stdout, /listening \d+/);
  assert.equal(alive.timedOut, true, 'the process exited although the emulator was running');

  const unrefd = await runNode(['-e', script(`
    const emu = await Emulator.start({});
    emu.unref();
    console.log('listening', emu.port);
  `)], { timeout: 5000 });
  assert.equal(unrefd.timedOut, false);
  assert.equal(unrefd.code, 0, unrefd.stderr);
  assert.match(unrefd.stdout, /listening \d+/);
});

test('process.exit() with open connections and a running blast is clean', { timeout: 15000 }, async () => {
  const res = await runNode(['-e', script(`
    const emu = await Emulator.start({ customerId: '${CUST}' });
    const ws = await connect(emu);
    ws.send(JSON.stringify({ type: 'subscribe', topics: ['customer_id:${CUST}:call:*'] }));
    await new Promise((r) => ws.once('message', r));
    emu.scenario('blast', { count: 1e9 }).catch(() => {});
    setTimeout(() => { console.log('exiting'); process.exit(0); }, 200);
  `)], { timeout: 8000 });
  assert.equal(res.timedOut, false);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.signal, null);
  assert.match(res.stdout, /exiting/);
});

test('terminating a Worker that runs an emulator is clean', { timeout: 15000 }, async () => {
  const res = await runNode(['-e', `
    const { Worker } = require('node:worker_threads');
    const w = new Worker(${JSON.stringify(script(`
      const { parentPort } = require('node:worker_threads');
      const emu = await Emulator.start({});
      await connect(emu);
      parentPort.postMessage('ready');
    `))}, { eval: true });
    w.on('message', async () => {
      await w.terminate();
      console.log('terminated');
    });
    w.on('error', (err) => { console.error(err); process.exit(3); });
  `], { timeout: 8000 });
  assert.equal(res.timedOut, false, 'the process did not exit after the worker was terminated');
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /terminated/);
});
