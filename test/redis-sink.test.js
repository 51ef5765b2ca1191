'use strict';
// The Redis sink with several appends in flight, against a real redis-server: overlapping calls
// land in the order they were made, each entry once; a write that fails makes the calls after it
// write nothing, and writing again from it keeps the order with nothing twice; the bridge over
// this sink recovers the same way.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Bridge, toEntry } = require('../lib/bridge/index.js');
const { RedisSink } = require('../lib/redis/sink.js');
const { createEvent } = require('../lib/events.js');
const { startRedis, redisFor } = require('./helpers/redis-server');
const { until } = require('./helpers/util');
const { FakeClient } = require('./helpers/fake-bridge-client.js');

const T = { timeout: 60000 };

function entry(k, resource = 'call') {
  const type = resource === 'call' ? 'call.status' : 'message.received';
  return toEntry(createEvent(type, `t${k}`, `customer_id:c:${resource}:${k}`, `{"seq":${k}}`));
}

async function sinkFor(t, options) {
  const sink = new RedisSink({ maxlen: 0, ...options });
  t.after(() => sink.close());
  await sink.ready();
  return sink;
}

// The seq of each entry of a stream, in stream order.
async function seqs(r, stream) {
  return (await r.xrange(stream, '-', '+')).map(([, f]) => JSON.parse(f[f.indexOf('data') + 1]).seq);
}

test('overlapping appends land in the order they were made, each entry once', T, async (t) => {
  const server = await startRedis(t);
  const r = redisFor(t, server);
  const sink = await sinkFor(t, { redis: server.url, stream: 'ord' });
  assert.equal(sink.maxInFlight, 4);
  const batches = Array.from({ length: 8 }, (_, b) => Array.from({ length: 50 }, (_, i) => entry(b * 50 + i)));
  const first = await Promise.all(batches.map((batch) => sink.append(batch)));
  assert.deepEqual(first, batches.map(() => ({ appended: 50, duplicates: 0 })));
  assert.deepEqual(await seqs(r, 'ord'), Array.from({ length: 400 }, (_, k) => k));
  const again = await Promise.all(batches.map((batch) => sink.append(batch)));
  assert.deepEqual(again, batches.map(() => ({ appended: 0, duplicates: 50 })));
  assert.equal(await r.xlen('ord'), 400);
});

test('a failed write makes the calls made behind it write nothing; writing again from it keeps order, nothing twice', T, async (t) => {
  const server = await startRedis(t);
  const r = redisFor(t, server);
  const sink = await sinkFor(t, { redis: server.url, stream: 'ord', streamBy: 'resource' });
  // The message stream's key holds a string: XADD to it fails with WRONGTYPE.
  await r.set('ord:message', 'not a stream');
  const a = [entry(0), entry(1), entry(0, 'message'), entry(2)];
  const b = [entry(3)];
  const c = [entry(4)];
  const results = await Promise.allSettled([sink.append(a), sink.append(b), sink.append(c)]);
  assert.equal(results[0].status, 'rejected');
  assert.equal(results[0].reason.code, 'CONNECT_FAILED');
  assert.match(results[0].reason.message, /WRONGTYPE/);
  for (const later of results.slice(1)) {
    assert.equal(later.status, 'rejected');
    assert.match(later.reason.message, /VRCHAIN/);
  }
  // The entries before the failing one stay written; the failing one's identity is given back.
  assert.deepEqual(await seqs(r, 'ord:call'), [0, 1]);
  assert.equal(await r.exists(`ord:seen:${a[2].id}`), 0);
  assert.equal(await r.exists(`ord:seen:${a[3].id}`), 0);

  await r.del('ord:message');
  assert.deepEqual(await sink.append(a), { appended: 2, duplicates: 2 });
  assert.deepEqual(await Promise.all([sink.append(b), sink.append(c)]), [{ appended: 1, duplicates: 0 }, { appended: 1, duplicates: 0 }]);
  assert.deepEqual(await seqs(r, 'ord:call'), [0, 1, 2, 3, 4]);
  assert.deepEqual(await seqs(r, 'ord:message'), [0]);
});

test('the bridge over the sink: a stream that refuses writes for a while, then every event in order, once', T, async (t) => {
  const server = await startRedis(t);
  const r = redisFor(t, server);
  const sink = await sinkFor(t, { redis: server.url, stream: 'ord', streamBy: 'resource' });
  await r.set('ord:message', 'not a stream');
  const client = new FakeClient();
  const errors = [];
  const b = new Bridge({ client, sink, batchSize: 7, retry: { initialDelay: 10, maxDelay: 50 },
    onError: (err) => errors.push(err) }).start();
  t.after(() => b.close());
  // Sent over several turns so that several calls are in flight when the first message fails.
  for (let k = 0; k < 300; k++) {
    client.send(k, k % 10 === 9 ? 'message' : 'call');
    if (k % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
  }
  await until(() => b.stats().retries >= 3, 'retries while the message stream refuses writes');
  assert.ok(b.stats().appended < 300);
  await r.del('ord:message');
  await b.drained();
  const calls = Array.from({ length: 300 }, (_, k) => k);
  assert.deepEqual(await seqs(r, 'ord:call'), calls.filter((k) => k % 10 !== 9));
  assert.deepEqual(await seqs(r, 'ord:message'), calls.filter((k) => k % 10 === 9));
  const s = b.stats();
  // Entries a failing call wrote before its refused XADD count as duplicates when written again.
  assert.deepEqual([s.received, s.appended + s.duplicates, s.pending, s.lastError], [300, 300, 0, null]);
  assert.equal(await r.xlen('ord:call') + await r.xlen('ord:message'), 300);
  // The first failure of each round is a refused XADD, never the chain's rejection behind it.
  assert.ok(errors.length === s.retries && errors.every((e) => /WRONGTYPE/.test(e.message)), errors.map((e) => e.message).join('\n'));
});
