'use strict';
// A burst that one native drain hands to JS in several onBatch calls (BINDING.md: at most
// 120K UTF-16 units each, offsets relative to each call's text, names possibly shared). The fixture server runs in a
// worker and the JS thread is held while the io thread reads the whole burst, so a single drain
// is certain to hold all of it, once as pure ASCII (Latin-1 strings) and once with non-ASCII
// text (UTF-8 strings).

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const ev = require('./helpers/events');
const { makeClient, until } = require('./helpers/util');
const { loadBinding } = require('../lib/native');

const T = { timeout: 60000 };
const MAX_CALL_UNITS = 120 * 1024;
const STRIDE = 13;

// The fixture in a worker thread: it keeps answering and sending while the JS thread is held.
const WORKER = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { FixtureServer } = require(workerData.fixture);
FixtureServer.start().then((server) => {
  parentPort.on('message', async (msg) => {
    if (msg.type === 'burst') {
      await server.sendRaw(...msg.frames);
      Atomics.store(msg.flag, 0, 1);
      Atomics.notify(msg.flag, 0);
    } else if (msg.type === 'stop') {
      await server.close();
      parentPort.close();
    }
  });
  parentPort.postMessage({ url: server.url });
});
`;

function startWorkerServer(t) {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { fixture: path.join(__dirname, 'helpers', 'ws-server.js') },
  });
  t.after(() => Promise.race([
    new Promise((resolve) => {
      worker.once('exit', resolve);
      worker.postMessage({ type: 'stop' });
    }),
    new Promise((resolve) => setTimeout(resolve, 3000)),
  ]).then(() => worker.terminate()));
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m) => resolve({ worker, url: m.url }));
  });
}

// Records every onBatch call of clients created while installed: its text length, a copy of its
// meta, and which wake-up (microtask-free run of calls) it belongs to.
function spyOnBatches(t) {
  const binding = loadBinding();
  const Original = binding.Client;
  const calls = [];
  let group = 0;
  let groupOpen = false;
  binding.Client = class extends Original {
    constructor(config, onBatch) {
      super(config, (text, meta) => {
        if (!groupOpen) {
          groupOpen = true;
          queueMicrotask(() => {
            groupOpen = false;
            group += 1;
          });
        }
        calls.push({ text, meta: Int32Array.from(meta), group });
        onBatch(text, meta);
      });
    }
  };
  t.after(() => { binding.Client = Original; });
  return calls;
}

// End of a record in UTF-16 units: an event's last field end, or a control/server record's only span.
function recordEnd(meta, i) {
  return meta[i] === 1 ? meta[i + STRIDE - 1] : meta[i + 2];
}

/**
 * Checks the shape of one onBatch call: records from 0 to the text's end, within the limit. Each
 * field follows the one before it, except an event name ([1,2) or [9,10)) that points at a name
 * an earlier record of the same call wrote (BINDING.md). Returns how many names pointed back.
 */
function checkCall(call, where) {
  const { text, meta } = call;
  assert.ok(meta.length > 0 && meta.length % STRIDE === 0, `${where}: meta length ${meta.length}`);
  assert.equal(meta[1], 0, `${where}: the first record starts at 0`);
  const names = new Set();
  let shared = 0;
  let end = 0;
  for (let i = 0; i < meta.length; i += STRIDE) {
    assert.ok([1, 2, 3].includes(meta[i]), `${where}: record kind ${meta[i]}`);
    const fields = meta[i] === 1 ? (STRIDE - 1) / 2 : 1;
    for (let f = 0; f < fields; f += 1) {
      const a = meta[i + 1 + 2 * f];
      const z = meta[i + 2 + 2 * f];
      assert.ok(a <= z, `${where}: offsets of record ${i / STRIDE} ascend`);
      const name = meta[i] === 1 && (f === 0 || f === 4) && a < z;
      if (name && a !== end) {
        assert.ok(names.has(`${a}-${z}`), `${where}: record ${i / STRIDE} field ${f} points at a name written before`);
        shared += 1;
        continue;
      }
      assert.equal(a, end, `${where}: record ${i / STRIDE} field ${f} follows the previous one`);
      end = z;
      if (name) names.add(`${a}-${z}`);
    }
  }
  assert.equal(end, text.length, `${where}: the last record ends the text`);
  if (meta.length > STRIDE) {
    assert.ok(text.length <= MAX_CALL_UNITS, `${where}: ${text.length} UTF-16 units in one call`);
  }
  return shared;
}

// ~1 KB of data per event, different for every seq so that a shifted offset cannot go unseen.
function burstEvent(seq, unicode) {
  const unit = unicode && seq % 4 !== 3 ? `${seq}\u00e9\u4e2d\u{1F600}-` : `${seq}abc-`;
  const e = ev.callStatus({ seq, extra: { pad: unit.repeat(Math.ceil(900 / unit.length)).slice(0, 900) } });
  if (unicode && seq % 10 === 5) {
    e.topic = `customer_id:${ev.CUSTOMER}:call:\u547c\u53eb-${seq}-\u{1F600}`;
  }
  return e;
}

async function burst(t, { count, unicode }) {
  const calls = spyOnBatches(t);
  const { worker, url } = await startWorkerServer(t);
  const client = makeClient(t, { url, token: 'tok-burst' });
  await client.connect();
  await client.subscribe(ev.topics.calls);
  const got = [];
  client.on('event', (e) => got.push(e));
  const sent = Array.from({ length: count }, (_, seq) => burstEvent(seq, unicode));
  const frames = sent.map((e) => JSON.stringify(e));
  const totalUnits = frames.reduce((n, f) => n + f.length, 0);
  assert.ok(totalUnits > 8 * MAX_CALL_UNITS, `the burst holds ${totalUnits} UTF-16 units`);

  const before = calls.length;
  const flag = new Int32Array(new SharedArrayBuffer(8));
  worker.postMessage({ type: 'burst', frames, flag });
  // Hold the JS thread until the io thread has read every frame (bounded), then a little longer
  // so the last staged events are published: the next wake-up drains the whole burst at once.
  const deadline = Date.now() + 20000;
  Atomics.wait(flag, 0, 0, 20000);
  while (client.stats().received < count && Date.now() < deadline) Atomics.wait(flag, 1, 0, 5);
  assert.equal(client.stats().received, count, 'the io thread read the whole burst while JS was held');
  Atomics.wait(flag, 1, 0, 200);

  await until(() => got.length >= count, `${count} events`, 20000);
  assert.equal(got.length, count);
  for (let i = 0; i < count; i += 1) assert.deepStrictEqual(got[i], sent[i], `event ${i}`);
  assert.equal(client.stats().delivered, count);

  const burstCalls = calls.slice(before);
  const shared = burstCalls.reduce((n, c, i) => n + checkCall(c, `call ${i}`), 0);
  // The io thread read many frames at a time, so the names staged together were shared.
  assert.ok(shared > 0, 'some event names point at an earlier copy');
  const events = burstCalls.reduce((n, c) => n + c.meta.filter((_, i) => i % STRIDE === 0 && c.meta[i] === 1).length, 0);
  assert.equal(events, count, 'events across the onBatch calls');
  assert.equal(burstCalls.every((c) => /^[\x00-\xff]*$/.test(c.text)), !unicode, 'string encoding of the calls');
  // One wake-up drained the burst and split it into several calls, none of which could have
  // joined the next: native ends a call before a record whose UTF-8 bytes (never fewer than its
  // UTF-16 units) would pass the limit, or where text staged apart would not fit behind it.
  const first = burstCalls.filter((c) => c.group === burstCalls[0].group);
  assert.ok(first.length >= Math.floor(totalUnits / MAX_CALL_UNITS), `${first.length} calls in the first wake-up`);
  for (let i = 0; i + 1 < first.length; i += 1) {
    const next = Buffer.byteLength(first[i + 1].text);
    assert.ok(first[i].text.length + next > MAX_CALL_UNITS,
      `call ${i} of the wake-up stopped at ${first[i].text.length} units with a ${next}-byte call next`);
  }
}

test('an ASCII burst split over several onBatch calls arrives exactly once, in order, intact', T, async (t) => {
  await burst(t, { count: 1000, unicode: false });
});

test('a non-ASCII burst split over several onBatch calls arrives exactly once, in order, intact', T, async (t) => {
  await burst(t, { count: 2000, unicode: true });
});
