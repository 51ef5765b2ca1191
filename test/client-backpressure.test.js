'use strict';
// events() iterators that fall behind slow the socket down like a slow listener, instead of
// overflowing; the overflow error stays available as an option.

const test = require('node:test');
const assert = require('node:assert/strict');
const { setImmediate: tick } = require('node:timers/promises');
const { RealtimeClient } = require('..');
const { HostileServer, eventFrame } = require('./helpers/hostile-server.js');

const CUSTOMER = '5e4a0680-804e-11ec-8477-2fea5968d85b';
const PATTERN = `customer_id:${CUSTOMER}:call:*`;
const TOPIC = `customer_id:${CUSTOMER}:call:9b5c8a4e-1f0b-4c3f-9a0e-6f2d7c1b3a55`;
const BURST = 60000;

async function setup(t, options = {}) {
  const server = await HostileServer.start();
  t.after(() => server.close());
  const conns = [];
  server.onSubscribed = (conn) => conns.push(conn);
  const client = new RealtimeClient({ url: server.url, dialect: 'documented', heartbeat: false, ...options });
  t.after(() => client.close());
  await client.connect();
  await client.subscribe(PATTERN);
  const burst = Buffer.concat(Array.from({ length: BURST }, (_, seq) => eventFrame(TOPIC, { seq })));
  return { client, conn: conns[0], burst };
}

test('an events() consumer that yields every 50 events gets a burst whole and in order', async (t) => {
  const { client, conn, burst } = await setup(t);
  const it = client.events();
  conn.write(burst);
  const seqs = [];
  for await (const event of it) {
    seqs.push(event.data.seq);
    if (seqs.length % 50 === 0) await tick();
    if (seqs.length === BURST) break;
  }
  assert.equal(seqs.length, BURST);
  assert.ok(seqs.every((seq, i) => seq === i), 'events out of order');
  assert.equal(client.stats().dropped, 0);
});

test("events({ overflow: 'error' }) still throws QUEUE_OVERFLOW when highWaterMark events wait unread", async (t) => {
  const { client, conn, burst } = await setup(t);
  const it = client.events({ overflow: 'error', highWaterMark: 100 });
  const other = [];
  client.on('event', (e) => other.push(e.data.seq));
  conn.write(burst);
  while (other.length < BURST) await tick();
  await assert.rejects(it.next(), (err) => err.code === 'QUEUE_OVERFLOW' && /More than 100 events/.test(err.message));
});

test('events() validates overflow', (t) => {
  const client = new RealtimeClient({ url: 'ws://127.0.0.1:9/ws' });
  assert.throws(() => client.events({ overflow: 'drop' }), (err) => err.code === 'INVALID_OPTION' &&
    err.message === "Expected 'wait' or 'error' for filter.overflow but received \"drop\"");
});
