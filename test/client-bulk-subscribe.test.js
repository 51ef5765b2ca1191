'use strict';
// A subscription of many patterns in one call against the emulator: what is held, what the
// server was told, what is delivered, after partial releases and after subscribing again.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Emulator, topic } = require('..');
const { makeClient, until } = require('./helpers/util');

const T = { timeout: 60000 };
const CUST = '5013bc52-da9a-11ee-844f-2fa34248de28';
const TS = '2024-01-15T10:30:05.123456Z';
const COUNT = 20000;

const callId = (i) => `0ddba11d-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
const pattern = (i) => `customer_id:${CUST}:call:${callId(i)}`;
const range = (from, to) => Array.from({ length: to - from }, (_, k) => from + k);

async function setup(t) {
  const emu = await Emulator.start({ customerId: CUST });
  t.after(() => emu.stop());
  const subscribes = [];
  const unsubscribes = [];
  emu.on('subscribe', (e) => subscribes.push(e));
  emu.on('unsubscribe', (e) => unsubscribes.push(e));
  const client = makeClient(t, { url: emu.url, token: emu.issueToken({}), dialect: 'documented' });
  await client.connect();
  const got = [];
  client.on('call.updated', (e) => got.push(e.data.id));
  return { emu, client, got, subscribes, unsubscribes };
}

function publish(emu, ids) {
  for (const i of ids) emu.publish({ event_type: 'call.updated', timestamp: TS, data: { id: callId(i), customer_id: CUST } });
}

test(`${COUNT} patterns in one subscribe: held, released in part, subscribed again`, T, async (t) => {
  const { emu, client, got, subscribes, unsubscribes } = await setup(t);
  const all = range(0, COUNT).map(pattern);
  const sub = await client.subscribe(all);
  // The emulator writes its ack before it reports the subscribe to its own listeners, so the
  // client may hold the ack first.
  await until(() => subscribes.length === 1, 'the subscribe to reach the server');
  assert.equal(subscribes.length, 1);
  assert.equal(subscribes[0].topics.length, COUNT);
  assert.deepEqual(sub.topics, [...all].sort());
  assert.equal(client.topics.length, COUNT);

  // The first half goes; the Subscription keeps exactly the second half.
  const gone = range(0, COUNT / 2);
  await client.unsubscribe(gone.map(pattern));
  await until(() => unsubscribes.length === 1, 'the unsubscribe to reach the server');
  assert.equal(unsubscribes[0].topics.length, COUNT / 2);
  assert.deepEqual(sub.topics, range(COUNT / 2, COUNT).map(pattern).sort());
  assert.deepEqual(client.topics, range(COUNT / 2, COUNT).map(pattern).sort());

  publish(emu, [0, 1, COUNT / 2, COUNT - 1]);
  await until(() => got.length === 2, 'the events of held patterns');
  assert.deepEqual(got, [callId(COUNT / 2), callId(COUNT - 1)]);

  // Subscribed again in upper case: the same patterns, held by a second Subscription.
  const again = await client.subscribe(gone.map((i) => `customer_id:${CUST.toUpperCase()}:call:${callId(i).toUpperCase()}`));
  assert.deepEqual(again.topics, gone.map(pattern).sort());
  assert.equal(client.topics.length, COUNT);
  publish(emu, [0, COUNT - 1]);
  await until(() => got.length === 4, 'events of the patterns subscribed again');
  assert.deepEqual(got.slice(2), [callId(0), callId(COUNT - 1)]);

  // Releasing the first Subscription leaves only what the second holds.
  await sub.unsubscribe();
  assert.deepEqual(sub.topics, []);
  assert.deepEqual(client.topics, gone.map(pattern).sort());
  publish(emu, [1, COUNT - 2]);
  await until(() => got.length === 5, 'the event of the pattern still held');
  assert.deepEqual(got.slice(4), [callId(1)]);
  // The emulator routes by subscription: events of released patterns never reach the client.
  assert.equal(client.stats().received, 5);
});

test('normalize returns a pattern already in normal form as it is, and lower-cases UUIDs otherwise', () => {
  const id = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
  const normal = [
    `customer_id:${id}:call:*`, `agent_id:${id}:*:*`, `customer_id:${id}:call:${id}`,
    `customer_id:${id}:${'r'.repeat(64)}:*`,
  ];
  for (const p of normal) assert.equal(topic.normalize(p), p);
  assert.equal(topic.normalize(`customer_id:${id.toUpperCase()}:call:${id.toUpperCase()}`), `customer_id:${id}:call:${id}`);
  assert.equal(topic.normalize(`customer_id:${id}:call:ABC`), `customer_id:${id}:call:ABC`);
  assert.throws(() => topic.normalize(`customer_id:${id}:${'r'.repeat(65)}:*`),
    { code: 'INVALID_TOPIC', message: `resource "${'r'.repeat(65)}" must be a lower-case identifier or *` });
  assert.throws(() => topic.normalize(`customer_id:${id}:call:*\n`),
    { code: 'INVALID_TOPIC', message: 'resource_id "*\\n" must be a UUID, another id without \':\' or *' });
  assert.throws(() => topic.normalize(`Customer_id:${id}:call:*`),
    { code: 'INVALID_TOPIC', message: 'scope "Customer_id" must be customer_id or agent_id' });
});
