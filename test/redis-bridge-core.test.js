'use strict';
// The bridge's engine-independent core with an in-memory sink (what a NATS or Kafka sink would
// implement): order kept across failed writes, retries with growing delays, pause above the
// high-water mark and resume below half of it, drained() and close(), and the subpath's exports
// matching its typings.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { EventEmitter } = require('node:events');
const { Bridge, identity, toEntry } = require('../lib/bridge/index.js');
const { createEvent } = require('../lib/events.js');
const { until } = require('./helpers/util');

// A stand-in for RealtimeClient: emits 'event', records pause()/resume().
class FakeClient extends EventEmitter {
  calls = [];
  pause() {
    this.calls.push('pause');
  }

  resume() {
    this.calls.push('resume');
  }

  send(k) {
    this.emit('event', createEvent('call.status', `t${k}`, `customer_id:c:call:${k}`, `{"seq":${k}}`));
  }
}

// Fails the first `failures` calls, then stores; remembers identities like the Redis sink does.
class MemorySink {
  stored = [];
  seen = new Set();
  attempts = [];
  gate = null;

  constructor(failures = 0) {
    this.failures = failures;
  }

  async append(entries) {
    this.attempts.push({ at: Date.now(), n: entries.length });
    if (this.gate) await this.gate;
    if (this.failures > 0) {
      this.failures--;
      throw Object.assign(new Error('sink down'), { code: 'CONNECT_FAILED' });
    }
    let appended = 0;
    for (const e of entries) {
      if (this.seen.has(e.id)) continue;
      this.seen.add(e.id);
      this.stored.push(JSON.parse(e.data).seq);
      appended++;
    }
    return { appended, duplicates: entries.length - appended };
  }
}

test('an entry keeps the data text as received and its identity covers all four fields', () => {
  const e = createEvent('call.status', 'ts', 'customer_id:c:call:1', '{ "seq" : 1 }');
  const entry = toEntry(e);
  assert.equal(entry.data, '{ "seq" : 1 }');
  assert.equal(entry.id, identity({ event_type: 'call.status', topic: 'customer_id:c:call:1', timestamp: 'ts', data: '{ "seq" : 1 }' }));
  for (const change of [{ event_type: 'call.ended' }, { topic: 'customer_id:c:call:2' }, { timestamp: 'ts2' }, { data: '{"seq":1}' }]) {
    assert.notEqual(identity({ ...entry, ...change }), entry.id, JSON.stringify(change));
  }
  // Once `data` was read, the text is the value serialised again.
  const read = createEvent('call.status', 'ts', 'customer_id:c:call:1', '{ "seq" : 1 }');
  assert.deepEqual(read.data, { seq: 1 });
  assert.equal(toEntry(read).data, '{"seq":1}');
});

test('a failing sink is retried with growing delays and the order is kept', async () => {
  const client = new FakeClient();
  const sink = new MemorySink(3);
  const errors = [];
  const b = new Bridge({ client, sink, batchSize: 4, retry: { initialDelay: 20, maxDelay: 1000, factor: 2 },
    onError: (err) => errors.push(err.message) }).start();
  for (let k = 0; k < 10; k++) client.send(k);
  await b.drained();
  assert.deepEqual(sink.stored, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(errors, ['sink down', 'sink down', 'sink down']);
  const gaps = sink.attempts.slice(1, 4).map((a, i) => a.at - sink.attempts[i].at);
  assert.ok(gaps[0] >= 19 && gaps[1] >= 39 && gaps[2] >= 79, `delays ${gaps}`);
  const s = b.stats();
  assert.deepEqual([s.received, s.appended, s.duplicates, s.retries, s.pending, s.lastError], [10, 10, 0, 3, 0, null]);
  await b.close();
  client.send(10);
  assert.equal(b.stats().received, 10, 'a closed bridge takes nothing more');
});

test('above the high-water mark the client is paused, below half of it resumed', async () => {
  const client = new FakeClient();
  const sink = new MemorySink();
  let open;
  sink.gate = new Promise((resolve) => { open = resolve; });
  const b = new Bridge({ client, sink, batchSize: 2, highWaterMark: 6 }).start();
  for (let k = 0; k < 8; k++) client.send(k);
  assert.deepEqual(client.calls, ['pause']);
  assert.equal(b.stats().paused, true);
  await until(() => sink.attempts.length === 1, 'the first write');
  sink.gate = null;
  open();
  await b.drained();
  assert.deepEqual(client.calls, ['pause', 'resume']);
  assert.deepEqual(sink.stored, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(b.stats().pauses, 1);
  await b.close();
});

test('options are checked with INVALID_OPTION', () => {
  const client = new FakeClient();
  const sink = new MemorySink();
  const cases = [
    [{ client, sink, batchSize: 0 }, 'Expected a positive integer for batchSize but received 0'],
    [{ client, sink, highWaterMark: 1.5 }, 'Expected a positive integer for highWaterMark but received 1.5'],
    [{ client, sink, retry: { factor: 0.5 } }, 'Expected a number of at least 1 for retry.factor but received 0.5'],
    [{ client, sink: {} }, 'Expected an object with append(entries) for sink but received {}'],
    [{ client, sink, onError: 1 }, 'Expected a function for onError but received 1'],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => new Bridge(options), (err) => err.code === 'INVALID_OPTION' && err.message === message);
  }
});

test('voip-realtime/redis exports what types/redis.d.ts declares', () => {
  const ts = require('typescript');
  const entry = path.join(__dirname, '..', 'types', 'redis.d.ts');
  const program = ts.createProgram([entry], { strict: true, noEmit: true, types: [], lib: ['lib.es2022.d.ts'] });
  const checker = program.getTypeChecker();
  const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)));
  const values = exported.filter((s) => s.flags & ts.SymbolFlags.Value).map((s) => s.getName()).filter((n) => n !== 'default');
  assert.deepEqual(values.sort(), Object.keys(require('../lib/redis/index.js')).sort());
});
