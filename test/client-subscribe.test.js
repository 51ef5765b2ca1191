'use strict';
// Subscription bookkeeping against a `ws` server: acks, errors, validation, sharing, batching.

const test = require('node:test');
const assert = require('node:assert/strict');
const { RealtimeError } = require('..');
const ev = require('./helpers/events');
const { makeClient, startServer, until, settle, record, delay } = require('./helpers/util');

const T = { timeout: 15000 };
const sorted = (a) => [...a].sort();

async function connected(t, extra = {}) {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-sub', ...extra });
  await client.connect();
  return { server, client };
}

// A subscribe the server will acknowledge; once its message is recorded, every message the
// client wrote before it has been recorded too (one ordered TCP stream).
async function barrier(server, client, n) {
  const pattern = `customer_id:${ev.CUSTOMER}:barrier${n}:*`;
  await client.subscribe(pattern);
  const last = server.messages[server.messages.length - 1].msg;
  assert.deepEqual(last, { type: 'subscribe', topics: [pattern] });
  return pattern;
}

test('an error frame rejects subscribe with its code and topics; the other patterns are released', T, async (t) => {
  const { server, client } = await connected(t);
  server.deny.set(ev.OTHER_CUSTOMER, 'PERMISSION_DENIED');
  const errors = record(client, ['error']);
  const r = await settle(client.subscribe([ev.topics.calls, ev.topics.otherCalls]));
  assert.ok(r.error instanceof RealtimeError, `expected a RealtimeError, got ${r.error}`);
  assert.equal(r.error.code, 'PERMISSION_DENIED');
  assert.deepEqual(r.error.topics, [ev.topics.otherCalls]);
  assert.equal(r.error.action, 'subscribe');
  assert.match(r.error.message, /You do not have permission to subscribe to this topic/);
  assert.deepEqual(client.topics, []);
  assert.equal(client.state, 'connected');
  // The accepted pattern was subscribed on the server, so releasing it means an unsubscribe.
  await server.waitForSent('unsubscribe', 1);
  assert.deepEqual(server.sent('unsubscribe'), [{ type: 'unsubscribe', topics: [ev.topics.calls] }]);
  assert.equal(server.sent('subscribe').length, 1);
  assert.deepEqual(sorted(server.sent('subscribe')[0].topics), sorted([ev.topics.calls, ev.topics.otherCalls]));
  // A failure that rejects a promise is not also emitted.
  assert.deepEqual(errors, []);
  const seen = [];
  client.on('event', (e) => seen.push(e));
  await server.send(ev.callStatus({ seq: 1 }));
  await until(() => client.stats().received === 1, 'the event to be read');
  assert.deepEqual(seen, []);
  assert.equal(client.stats().filtered, 1);
});

test('a refused subscribe does not disturb patterns another Subscription already holds', T, async (t) => {
  const { server, client } = await connected(t);
  const held = await client.subscribe(ev.topics.calls);
  server.deny.set(ev.OTHER_CUSTOMER, 'PERMISSION_DENIED');
  const r = await settle(client.subscribe([ev.topics.calls, ev.topics.otherCalls]));
  assert.equal(r.error && r.error.code, 'PERMISSION_DENIED');
  assert.deepEqual(r.error.topics, [ev.topics.otherCalls]);
  assert.deepEqual(client.topics, [ev.topics.calls]);
  assert.equal(client.state, 'subscribed');
  await barrier(server, client, 1);
  assert.deepEqual(server.sent('unsubscribe'), []);
  const got = [];
  held.on('event', (e) => got.push(e));
  const e = ev.callStatus({ seq: 2 });
  await server.send(e);
  await until(() => got.length === 1, 'the held subscription to get the event');
  assert.deepStrictEqual(got, [e]);
});

test('invalid patterns reject with INVALID_TOPIC naming the segment, and nothing is sent', T, async (t) => {
  const { server, client } = await connected(t);
  const cases = [
    ['customer_id:abc:call:*', 'scope_id "abc" is not a UUID'],
    [`team_id:${ev.CUSTOMER}:call:*`, 'scope "team_id"'],
    [`customer_id:${ev.CUSTOMER}:ca*:*`, 'resource "ca*"'],
    [`customer_id:${ev.CUSTOMER}:Call:*`, 'resource "Call"'],
    [`customer_id:${ev.CUSTOMER}:call`, null],
    [`customer_id:${ev.CUSTOMER}:call:x:y`, null],
    ['', null],
  ];
  for (const [pattern, fragment] of cases) {
    const r = await settle(client.subscribe([ev.topics.calls, pattern]));
    assert.ok(r.error instanceof RealtimeError, `${JSON.stringify(pattern)} was accepted`);
    assert.equal(r.error.code, 'INVALID_TOPIC', `code for ${JSON.stringify(pattern)}`);
    if (fragment) assert.ok(r.error.message.includes(fragment), `message "${r.error.message}" lacks ${fragment}`);
    assert.deepEqual(r.error.topics, [pattern], `topics for ${JSON.stringify(pattern)}`);
  }
  const exact = await settle(client.subscribe('customer_id:abc:call:*'));
  assert.equal(exact.error.message, 'scope_id "abc" is not a UUID');
  assert.deepEqual(client.topics, []);
  assert.equal(server.messages.length, 0);
  await barrier(server, client, 1);
  assert.equal(server.messages.length, 1);
});

test('an empty list rejects with INVALID_OPTION and sends nothing', T, async (t) => {
  const { server, client } = await connected(t);
  const r = await settle(client.subscribe([]));
  assert.ok(r.error instanceof RealtimeError);
  assert.equal(r.error.code, 'INVALID_OPTION');
  const u = await settle(client.unsubscribe([]));
  assert.equal(u.error && u.error.code, 'INVALID_OPTION');
  await barrier(server, client, 1);
  assert.equal(server.messages.length, 1);
});

test('duplicates within one call count once; upper-case UUIDs are the same shared pattern', T, async (t) => {
  const { server, client } = await connected(t);
  const upper = `customer_id:${ev.CUSTOMER.toUpperCase()}:call:*`;
  const sub = await client.subscribe([ev.topics.calls, upper, ev.topics.calls]);
  assert.deepEqual(sub.topics, [ev.topics.calls]);
  assert.deepEqual(client.topics, [ev.topics.calls]);
  assert.deepEqual(server.sent('subscribe'), [{ type: 'subscribe', topics: [ev.topics.calls] }]);
  const again = await client.subscribe(upper);
  assert.deepEqual(again.topics, [ev.topics.calls]);
  await barrier(server, client, 1);
  assert.equal(server.sent('subscribe').length, 2);
  await again.unsubscribe();
  await barrier(server, client, 2);
  assert.deepEqual(server.sent('unsubscribe'), []);
  await sub.unsubscribe();
  await server.waitForSent('unsubscribe', 1);
  assert.deepEqual(server.sent('unsubscribe'), [{ type: 'unsubscribe', topics: [ev.topics.calls] }]);
});

test('overlapping and repeated patterns: one wire subscription each, each listener gets each event once', T, async (t) => {
  const { server, client } = await connected(t);
  const a = await client.subscribe(ev.topics.calls);
  const b = await client.subscribe([ev.topics.calls, ev.topics.call]);
  // `calls` was already active: only the new pattern goes on the wire.
  assert.deepEqual(server.sent('subscribe'), [
    { type: 'subscribe', topics: [ev.topics.calls] },
    { type: 'subscribe', topics: [ev.topics.call] },
  ]);
  assert.deepEqual(client.topics, sorted([ev.topics.calls, ev.topics.call]));
  const got = { client: [], a: [], b: [], bType: [] };
  client.on('event', (e) => got.client.push(e));
  a.on('event', (e) => got.a.push(e));
  b.on('event', (e) => got.b.push(e));
  b.on('call.status', (e) => got.bType.push(e));
  const both = ev.callStatus({ seq: 1 });
  const onlyWildcard = ev.callStatus({ call: ev.CALL2, seq: 2 });
  await server.send(both, onlyWildcard);
  await until(() => got.client.length === 2 && got.a.length === 2 && got.b.length === 2, 'deliveries');
  await delay(50);
  assert.deepStrictEqual(got.client, [both, onlyWildcard]);
  assert.deepStrictEqual(got.a, [both, onlyWildcard]);
  assert.deepStrictEqual(got.b, [both, onlyWildcard]);
  assert.deepStrictEqual(got.bType, [both, onlyWildcard]);
  assert.equal(client.stats().delivered, 2);

  // a lets go of `calls`, but b still holds it: nothing on the wire.
  await a.unsubscribe();
  await barrier(server, client, 1);
  assert.deepEqual(server.sent('unsubscribe'), []);
  assert.deepEqual(client.topics, sorted([`customer_id:${ev.CUSTOMER}:barrier1:*`, ev.topics.calls, ev.topics.call]));
  const later = ev.callStatus({ call: ev.CALL2, seq: 3 });
  await server.send(later);
  await until(() => got.b.length === 3, 'b to get the next event');
  assert.equal(got.a.length, 2);
  // The last holder lets go: one unsubscribe with exactly its patterns.
  await b.unsubscribe();
  await server.waitForSent('unsubscribe', 1);
  assert.deepEqual(server.sent('unsubscribe').length, 1);
  assert.deepEqual(sorted(server.sent('unsubscribe')[0].topics), sorted([ev.topics.calls, ev.topics.call]));
  assert.deepEqual(client.topics, [`customer_id:${ev.CUSTOMER}:barrier1:*`]);
});

test('three Subscriptions on one pattern: each release keeps it for the others, the last one sends unsubscribe', T, async (t) => {
  const { server, client } = await connected(t);
  const subs = [];
  for (let i = 0; i < 3; i++) subs.push(await client.subscribe(ev.topics.calls));
  assert.deepEqual(server.sent('subscribe'), [{ type: 'subscribe', topics: [ev.topics.calls] }]);
  const got = subs.map(() => []);
  subs.forEach((s, i) => s.on('event', (e) => got[i].push(e.data.seq)));
  let seq = 0;
  const sendOne = async () => {
    await server.send(ev.callStatus({ seq: ++seq }));
    await until(() => client.stats().delivered === seq, `event ${seq}`);
  };
  await sendOne();
  await subs[1].unsubscribe();  // the middle one first
  await sendOne();
  await subs[0].unsubscribe();
  await sendOne();
  assert.deepEqual(client.topics, [ev.topics.calls]);
  await barrier(server, client, 1);
  assert.deepEqual(server.sent('unsubscribe'), []);
  await subs[2].unsubscribe();
  await server.waitForSent('unsubscribe', 1);
  assert.deepEqual(server.sent('unsubscribe'), [{ type: 'unsubscribe', topics: [ev.topics.calls] }]);
  assert.deepEqual(got, [[1, 2], [1], [1, 2, 3]]);
  assert.deepEqual(client.topics, [`customer_id:${ev.CUSTOMER}:barrier1:*`]);
  // Held again after being let go: a fresh entry, sent again.
  const again = await client.subscribe(ev.topics.calls);
  const later = [];
  again.on('event', (e) => later.push(e.data.seq));
  await sendOne();
  assert.deepEqual(later, [4]);
  assert.deepEqual(server.sent('subscribe').filter((m) => m.topics.includes(ev.topics.calls)).length, 2);
});

test('client.unsubscribe removes every hold; sub.unsubscribe releases only its own', T, async (t) => {
  const { server, client } = await connected(t);
  const a = await client.subscribe([ev.topics.calls, ev.topics.messages]);
  const b = await client.subscribe(ev.topics.calls);
  const got = { a: [], b: [] };
  a.on('event', (e) => got.a.push(e));
  b.on('event', (e) => got.b.push(e));
  await client.unsubscribe(ev.topics.calls);
  await server.waitForSent('unsubscribe', 1);
  assert.deepEqual(server.sent('unsubscribe'), [{ type: 'unsubscribe', topics: [ev.topics.calls] }]);
  assert.deepEqual(client.topics, [ev.topics.messages]);
  const call = ev.callStatus({ seq: 1 });
  const msg = ev.messageReceived();
  await server.send(call, msg);
  await until(() => client.stats().received === 2, 'both events read');
  await until(() => got.a.length === 1, 'a to get the message');
  assert.deepStrictEqual(got.a, [msg]);
  assert.deepStrictEqual(got.b, []);
  assert.equal(client.stats().filtered, 1);
  // b's hold is gone already; releasing it sends nothing.
  await b.unsubscribe();
  await a.unsubscribe();
  await server.waitForSent('unsubscribe', 2);
  assert.deepEqual(server.sent('unsubscribe')[1], { type: 'unsubscribe', topics: [ev.topics.messages] });
  await barrier(server, client, 1);
  assert.equal(server.sent('unsubscribe').length, 2);
  assert.equal(client.state, 'subscribed');
});

test('subscribe calls in the same tick go out in one message and all resolve', T, async (t) => {
  const { server, client } = await connected(t);
  const [s1, s2, s3] = await Promise.all([
    client.subscribe(ev.topics.calls),
    client.subscribe(ev.topics.messages),
    client.subscribe([ev.topics.calls, ev.topics.agentCalls]),
  ]);
  assert.deepEqual(s1.topics, [ev.topics.calls]);
  assert.deepEqual(s2.topics, [ev.topics.messages]);
  assert.deepEqual(sorted(s3.topics), sorted([ev.topics.calls, ev.topics.agentCalls]));
  assert.equal(server.messages.length, 1);
  assert.equal(server.messages[0].msg.type, 'subscribe');
  assert.deepEqual(sorted(server.messages[0].msg.topics), sorted([ev.topics.calls, ev.topics.messages, ev.topics.agentCalls]));
});

test('subscribe before connect() resolves is sent once the connection is up, in one message', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-early' });
  const connecting = client.connect();
  const p1 = client.subscribe(ev.topics.calls);
  const p2 = client.subscribe(ev.topics.messages);
  await connecting;
  const [s1, s2] = await Promise.all([p1, p2]);
  assert.deepEqual(s1.topics, [ev.topics.calls]);
  assert.deepEqual(s2.topics, [ev.topics.messages]);
  assert.equal(server.messages.length, 1);
  assert.deepEqual(sorted(server.messages[0].msg.topics), sorted([ev.topics.calls, ev.topics.messages]));
  assert.equal(client.state, 'subscribed');
});

test('a subscribe the server never answers rejects with ACK_TIMEOUT after ackTimeout', T, async (t) => {
  const { server, client } = await connected(t, { ackTimeout: 200 });
  server.silent.add(ev.OTHER_CUSTOMER);
  const started = performance.now();
  const r = await settle(client.subscribe(ev.topics.otherCalls));
  const took = performance.now() - started;
  assert.ok(r.error instanceof RealtimeError);
  assert.equal(r.error.code, 'ACK_TIMEOUT');
  assert.ok(took >= 190 && took < 2000, `rejected after ${took} ms`);
  assert.deepEqual(client.topics, []);
});

test('a server error not tied to a pending call is emitted as error with its code', T, async (t) => {
  const { server, client } = await connected(t);
  await client.subscribe(ev.topics.calls);
  const errors = [];
  client.on('error', (e) => errors.push(e));
  await server.send({ type: 'error', action: 'subscribe', topics: [ev.topics.messages], code: 'RATE_LIMITED', message: 'Too many subscription requests' });
  await until(() => errors.length === 1, 'the error event');
  assert.ok(errors[0] instanceof RealtimeError);
  assert.equal(errors[0].code, 'RATE_LIMITED');
  assert.deepEqual(errors[0].topics, [ev.topics.messages]);
  const e = ev.callStatus();
  const seen = [];
  client.on('event', (x) => seen.push(x));
  await server.send(e);
  await until(() => seen.length === 1, 'the next event');
  assert.deepStrictEqual(seen, [e]);
});
