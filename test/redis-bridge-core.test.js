'use strict';
// The bridge's engine-independent core with an in-memory sink (what a NATS or Kafka sink would
// implement): order kept across failed writes, retries with growing delays, several writes in
// flight for a sink that keeps their order, pause above the high-water mark and resume below half
// of it, drained() and close(), and the subpath's exports matching its typings.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Bridge, identity, toEntry } = require('../lib/bridge/index.js');
const { createEvent } = require('../lib/events.js');
const { until } = require('./helpers/util');
const { FakeClient } = require('./helpers/fake-bridge-client.js');

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
    return this.store(entries);
  }

  // Stores the entries whose identity is new.
  store(entries) {
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
  // Bridges of any version agree: SHA-1 over the four fields joined by NUL bytes, as UTF-8.
  const unicode = { event_type: 'message.received', topic: 'org:o:user:u:messages', timestamp: 't\u00e9', data: '{"text":"\u{1f600}"}' };
  const joined = Buffer.from('message.received\0org:o:user:u:messages\0t\u00e9\0{"text":"\u{1f600}"}', 'utf8');
  assert.equal(identity(unicode), require('node:crypto').createHash('sha1').update(joined).digest('base64url'));
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

// Keeps the order of overlapping calls the way the Redis sink's chain does: calls complete in the
// order they were made, and a chained call applies nothing unless the call before it succeeded. Calls numbered in `failAt` fail; each call is recorded with the seq of its
// first entry and how many calls were in flight once it was made.
class ChainSink extends MemorySink {
  maxInFlight = 3;
  calls = [];
  failAt = new Set();
  #made = 0;
  #inFlight = 0;
  #last = 0;

  append(entries, { chained }) {
    const no = ++this.#made;
    const prev = chained ? no - 1 : 0;
    this.#inFlight++;
    this.calls.push({ no, first: JSON.parse(entries[0].data).seq, n: entries.length, inFlight: this.#inFlight });
    return new Promise((resolve, reject) => setImmediate(() => {
      this.#inFlight--;
      if (prev !== 0 && this.#last !== prev) {
        reject(new Error(`call ${no}: call ${prev} did not complete`));
        return;
      }
      if (this.failAt.has(no)) {
        reject(new Error(`call ${no}: sink down`));
        return;
      }
      this.#last = no;
      resolve(this.store(entries));
    }));
  }
}

test('a sink that keeps the order of overlapping calls gets up to maxInFlight of them at once', async () => {
  const client = new FakeClient();
  const sink = new ChainSink();
  const b = new Bridge({ client, sink, batchSize: 2 }).start();
  for (let k = 0; k < 20; k++) client.send(k);
  await b.drained();
  assert.deepEqual(sink.stored, Array.from({ length: 20 }, (_, k) => k));
  // Three calls went out at once, the next one as soon as the first was answered.
  assert.deepEqual(sink.calls.slice(0, 4).map((c) => [c.first, c.inFlight]), [[0, 1], [2, 2], [4, 3], [6, 3]]);
  assert.equal(Math.max(...sink.calls.map((c) => c.inFlight)), 3);
  assert.equal(sink.calls.length, 10);
  const s = b.stats();
  assert.deepEqual([s.received, s.appended, s.duplicates, s.retries, s.pending], [20, 20, 0, 0, 0]);
  await b.close();
});

test('a failed call among several in flight: nothing new is made until all settled, then writing resumes at the first unconfirmed entry', async () => {
  const client = new FakeClient();
  const sink = new ChainSink();
  sink.failAt.add(2);
  const errors = [];
  let atFailure = null;
  const onError = (err) => {
    errors.push(err.message);
    const s = b.stats();
    atFailure = { calls: sink.calls.map((c) => c.first), stored: [...sink.stored], appended: s.appended, pending: s.pending };
  };
  const b = new Bridge({ client, sink, batchSize: 2, retry: { initialDelay: 30 }, onError }).start();
  for (let k = 0; k < 10; k++) client.send(k);
  await b.drained();
  // Calls 1-3 went out together; call 4 (entries 6, 7) when call 1 was answered, before call 2
  // failed. Calls 3 and 4 applied nothing: the call before each did not complete. The failure is
  // reported once all four settled.
  assert.deepEqual(atFailure, { calls: [0, 2, 4, 6], stored: [0, 1], appended: 2, pending: 8 });
  assert.deepEqual(errors, ['call 2: sink down'], 'the first failure is reported, once');
  assert.deepEqual(sink.stored, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(sink.calls.slice(4).map((c) => c.first), [2, 4, 6, 8]);
  const s = b.stats();
  assert.deepEqual([s.received, s.appended, s.duplicates, s.retries, s.pending, s.lastError], [10, 10, 0, 1, 0, null]);
  await b.close();
});

test('a call that succeeded after an earlier one failed is written again, and its entries counted once', async () => {
  const client = new FakeClient();
  const answers = [];
  const memory = new MemorySink();
  // Answers by hand, in any order; remembers identities like the Redis sink.
  const sink = {
    maxInFlight: 2,
    append(entries) {
      return new Promise((resolve, reject) => answers.push({ entries, resolve, reject }));
    },
  };
  const store = ({ entries, resolve }) => resolve(memory.store(entries));
  const b = new Bridge({ client, sink, batchSize: 2, retry: { initialDelay: 10 } }).start();
  for (let k = 0; k < 4; k++) client.send(k);
  await until(() => answers.length === 2, 'two calls in flight');
  store(answers[1]);
  await new Promise((r) => setImmediate(r));
  assert.equal(b.stats().appended, 0, 'a later answer confirms nothing while an earlier call is open');
  answers[0].reject(new Error('down'));
  await until(() => answers.length === 4, 'the retry: both batches again');
  assert.deepEqual(answers.slice(2).map((a) => a.entries.map((e) => JSON.parse(e.data).seq)), [[0, 1], [2, 3]]);
  store(answers[2]);
  store(answers[3]);
  await b.drained();
  assert.deepEqual(memory.stored, [2, 3, 0, 1], 'such a sink reorders: why maxInFlight > 1 needs one that keeps order');
  const s = b.stats();
  assert.deepEqual([s.appended, s.duplicates, s.retries, s.pending], [2, 2, 1, 0]);
  await b.close();
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
    [{ client, sink: { append() {}, maxInFlight: 0 } }, 'Expected a positive integer for sink.maxInFlight but received 0'],
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
