'use strict';

// Errors that say what happened: a client that ends for good rejects what is pending (and what
// comes later) with the terminal error itself, a refused subscribe names its topics, and the
// stats count what a failing loop and an overflow really did.

const { test } = require('node:test');
const assert = require('node:assert/strict');

const { Emulator, RealtimeError } = require('..');
const { makeClient, outcome: settle, until, record } = require('./helpers/util');

const T = { timeout: 30000 };
const OTHER = '11111111-2222-4333-8444-555555555555';

async function startEmulator(t) {
  const emu = await Emulator.start();
  t.after(() => emu.stop());
  return emu;
}

test('a bad token: subscribe() without connect() rejects with AUTH_FAILED 401 itself, so do connect() and later calls', T, async (t) => {
  const emu = await startEmulator(t);
  const client = makeClient(t, { url: emu.url, token: 'not-a-jwt' });
  const events = record(client, ['error', 'close']);
  const subscribing = client.subscribe(`customer_id:${emu.customerId}:call:*`);
  const connecting = client.connect();
  const [s, c] = await Promise.all([settle(subscribing), settle(connecting)]);
  for (const r of [s, c]) {
    assert.equal(r.status, 'rejected');
    assert.ok(r.reason instanceof RealtimeError);
    assert.equal(r.reason.code, 'AUTH_FAILED');
    assert.equal(r.reason.status, 401);
  }
  assert.equal(s.reason, c.reason, 'one failure, one error object');
  assert.equal(client.state, 'closed');
  // The promises carried it: it is not emitted as well; 'close' carries it last.
  assert.deepEqual(events.map((e) => e[0]), ['close']);
  assert.equal(events[0][1].error, c.reason);
  // Calls after the end say why the client ended, not just that it did.
  for (const late of [client.connect(), client.subscribe(`customer_id:${emu.customerId}:message:*`)]) {
    const r = await settle(late);
    assert.equal(r.status, 'rejected');
    assert.equal(r.reason, c.reason);
  }
});

test('a subscribe() pending when the client is closed still rejects with CLOSED', T, async (t) => {
  const emu = await startEmulator(t);
  emu.fault('refuseUpgrades', { status: 503 });
  const client = makeClient(t, { url: emu.url, token: emu.issueToken(), reconnect: { initialDelay: 20, jitter: 0 } });
  client.on('error', () => {});
  const pending = client.subscribe(`customer_id:${emu.customerId}:call:*`);
  await client.close();
  const r = await settle(pending);
  assert.equal(r.status, 'rejected');
  assert.equal(r.reason.code, 'CLOSED');
  const late = await settle(client.connect());
  assert.equal(late.reason.code, 'CLOSED');
});

test('PERMISSION_DENIED names the refused topics in its message, in both dialects', T, async (t) => {
  for (const dialect of ['documented', 'live']) {
    const emu = await Emulator.start({ dialect });
    t.after(() => emu.stop());
    const client = makeClient(t, { url: emu.url, token: emu.issueToken({ permissions: ['admin'] }), dialect, settleTime: 200 });
    const mine = `customer_id:${emu.customerId}:call:*`;
    const refused = [`customer_id:${OTHER}:call:*`, `customer_id:${OTHER}:message:*`];
    const r = await settle(client.subscribe(dialect === 'live' ? refused : [mine, ...refused]));
    assert.equal(r.status, 'rejected');
    assert.equal(r.reason.code, 'PERMISSION_DENIED', dialect);
    assert.deepEqual([...r.reason.topics].sort(), [...refused].sort());
    for (const topic of refused) assert.ok(r.reason.message.includes(topic), `${dialect}: ${r.reason.message}`);
    assert.equal(r.reason.message.includes(mine), false, r.reason.message);
  }
});

test('stats(): dropped counts the events an events() iterator discarded on overflow', T, async (t) => {
  const emu = await startEmulator(t);
  const client = makeClient(t, { url: emu.url, token: emu.issueToken() });
  await client.subscribe(`customer_id:${emu.customerId}:call:*`);
  let seen = 0;
  client.on('event', () => { seen++; });
  const it = client.events({ highWaterMark: 4 });
  for (let i = 0; i < 8; i++) {
    emu.publish({ event_type: 'call.status', data: { id: `call-${i}`, customer_id: emu.customerId, seq: i } });
  }
  await until(() => seen === 8, 'eight events');
  // The fifth unread event overflowed the iterator: those five were discarded, the iterator
  // ended, and the last three were never meant for it.
  await assert.rejects(it.next(), { code: 'QUEUE_OVERFLOW' });
  const s = client.stats();
  assert.equal(s.dropped, 5);
  assert.equal(s.delivered, 8);
});

test('stats(): dropped counts events that reach the client after close()', T, async (t) => {
  const emu = await startEmulator(t);
  const client = makeClient(t, { url: emu.url, token: emu.issueToken() });
  await client.subscribe(`customer_id:${emu.customerId}:call:*`);
  let emitted = 0;
  const closed = new Promise((resolve) => {
    client.on('event', () => {
      emitted++;
      if (emitted === 1) resolve(client.close());
    });
  });
  const blast = emu.scenario('blast', { count: 2000, size: 100 });
  await closed;
  await blast;
  const s = client.stats();
  assert.equal(emitted, 1);
  // Every event handed to JS was either emitted or counted as dropped.
  assert.equal(s.delivered, emitted + s.dropped);
});
