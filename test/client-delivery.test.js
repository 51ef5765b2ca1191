'use strict';
// Delivery of documented-dialect events from a `ws` server to every kind of consumer.

const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
const { RealtimeError } = require('..');
const ev = require('./helpers/events');
const { makeClient, startServer, until, settle } = require('./helpers/util');

const T = { timeout: 15000 };

test('one event reaches the type listener, event listener, Subscription listeners and events()', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-delivery' });
  await client.connect();
  const sub = await client.subscribe(ev.topics.calls);
  assert.ok(sub instanceof EventEmitter);
  assert.deepEqual(sub.topics, [ev.topics.calls]);
  assert.deepEqual(server.sent('subscribe'), [{ type: 'subscribe', topics: [ev.topics.calls] }]);
  assert.equal(server.messages.length, 1);

  const got = { type: [], all: [], subType: [], subAll: [], wrongType: [] };
  client.on('call.status', (e) => got.type.push(e));
  client.on('event', (e) => got.all.push(e));
  client.on('call.created', (e) => got.wrongType.push(e));
  sub.on('call.status', (e) => got.subType.push(e));
  sub.on('event', (e) => got.subAll.push(e));
  const iter = client.events();
  const subIter = sub[Symbol.asyncIterator]();

  const event = ev.callStatus();
  await server.send(event);

  const first = await settle(iter.next());
  assert.deepStrictEqual(first.value, { value: event, done: false });
  const subFirst = await settle(subIter.next());
  assert.deepStrictEqual(subFirst.value, { value: event, done: false });
  await until(() => got.subAll.length === 1, 'the Subscription event listener');
  assert.deepStrictEqual(got.type, [event]);
  assert.deepStrictEqual(got.all, [event]);
  assert.deepStrictEqual(got.subType, [event]);
  assert.deepStrictEqual(got.subAll, [event]);
  assert.deepStrictEqual(got.wrongType, []);
  // The same object for every consumer of one client would be fine; equal content is the contract.
  const s = client.stats();
  assert.equal(s.received, 1);
  assert.equal(s.filtered, 0);
  assert.equal(s.delivered, 1);
  assert.equal(s.dropped, 0);
  assert.ok(s.bytesReceived >= JSON.stringify(event).length, `bytesReceived ${s.bytesReceived}`);
  assert.equal(typeof s.lastEventAt, 'number');
  assert.ok(s.lastEventAt > Date.now() - 60000 && s.lastEventAt <= Date.now() + 1000, `lastEventAt ${s.lastEventAt}`);

  const ended = await settle(iter.return());
  assert.deepStrictEqual(ended.value, { value: undefined, done: true });
});

test('events of several types keep arrival order and reach only their type listeners', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-order' });
  await client.connect();
  await client.subscribe([ev.topics.calls, ev.topics.messages]);
  const all = [];
  const created = [];
  const received = [];
  client.on('event', (e) => all.push(e));
  client.on('call.created', (e) => created.push(e));
  client.on('message.received', (e) => received.push(e));
  const a = ev.callCreated();
  const b = ev.messageReceived();
  const c = ev.callStatus({ seq: 7 });
  await server.send(a, b, c);
  await until(() => all.length === 3, '3 events');
  assert.deepStrictEqual(all, [a, b, c]);
  assert.deepStrictEqual(created, [a]);
  assert.deepStrictEqual(received, [b]);
});

test('events matching no active pattern never reach JS and are counted as filtered', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-filter' });
  await client.connect();
  await client.subscribe(ev.topics.call);
  const all = [];
  client.on('event', (e) => all.push(e));
  const iter = client.events();
  const wanted1 = ev.callStatus({ seq: 1 });
  const otherCall = ev.callStatus({ call: ev.CALL2, seq: 2 });
  const otherCustomer = ev.callStatus({ customer: ev.OTHER_CUSTOMER, seq: 3 });
  const message = ev.messageReceived();
  const agent = ev.agentStatus();
  const wanted2 = ev.callStatus({ seq: 4 });
  await server.send(wanted1, otherCall, otherCustomer, message, agent, wanted2);
  await until(() => all.length === 2 && client.stats().received === 6, 'the 6 events to be read');
  assert.deepStrictEqual(all, [wanted1, wanted2]);
  const s = client.stats();
  assert.equal(s.received, 6);
  assert.equal(s.filtered, 4);
  assert.equal(s.delivered, 2);
  assert.deepStrictEqual((await settle(iter.next())).value, { value: wanted1, done: false });
  assert.deepStrictEqual((await settle(iter.next())).value, { value: wanted2, done: false });
});

test('events() filters by topics and types, rejects on abort and ends on close', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-iter' });
  await client.connect();
  await client.subscribe([ev.topics.calls, ev.topics.messages]);
  const ac = new AbortController();
  const byType = client.events({ types: ['call.created'] });
  const byTopic = client.events({ topics: [ev.topics.messages], signal: ac.signal });
  const a = ev.callStatus({ seq: 1 });
  const b = ev.callCreated();
  const c = ev.messageReceived();
  await server.send(a, b, c);
  assert.deepStrictEqual((await settle(byType.next())).value, { value: b, done: false });
  assert.deepStrictEqual((await settle(byTopic.next())).value, { value: c, done: false });
  const pending = byTopic.next();
  ac.abort();
  // As Node's events.on(): the waiting read rejects with an AbortError, then the iterator is done.
  const aborted = await settle(pending);
  assert.equal(aborted.error.name, 'AbortError');
  assert.equal(aborted.error.code, 'ABORT_ERR');
  assert.deepStrictEqual((await settle(byTopic.next())).value, { value: undefined, done: true });
  const pendingType = byType.next();
  await client.close();
  const closed = await settle(pendingType);
  assert.deepStrictEqual(closed.value, { value: undefined, done: true });
});

test('events() throws QUEUE_OVERFLOW when more than highWaterMark events wait unread', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-hwm' });
  await client.connect();
  await client.subscribe(ev.topics.calls);
  const seen = [];
  client.on('event', (e) => seen.push(e));
  const iter = client.events({ highWaterMark: 5 });
  const sent = Array.from({ length: 10 }, (_, seq) => ev.callStatus({ seq }));
  await server.send(...sent);
  await until(() => seen.length === 10, '10 events on the client');
  const values = [];
  let failure;
  for (let i = 0; i < 11 && !failure; i += 1) {
    const r = await settle(iter.next());
    if (r.error) failure = r.error;
    else if (r.value.done) break;
    else values.push(r.value.value.data.seq);
  }
  assert.ok(failure, `the iterator never threw; it yielded seq ${values.join(',')}`);
  assert.ok(failure instanceof RealtimeError);
  assert.equal(failure.code, 'QUEUE_OVERFLOW');
  assert.ok(values.length <= 5, `yielded ${values.length} values before overflowing`);
  assert.deepEqual(values, values.map((_, i) => i));
});

test('listeners attached after await subscribe() get the events that followed the ack back to back', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-after-ack' });
  await client.connect();
  const sent = [];
  server.afterAck = (ws, action) => {
    if (action !== 'subscribe') return;
    for (let seq = 1; seq <= 50; seq++) {
      const e = ev.callStatus({ seq });
      sent.push(e);
      ws.send(JSON.stringify(e));
    }
  };
  const sub = await client.subscribe(ev.topics.calls);
  const viaSub = [];
  const viaClient = [];
  sub.on('call.status', (e) => viaSub.push(e.data.seq));
  client.on('call.status', (e) => viaClient.push(e.data.seq));
  await until(() => viaSub.length === 50, 'the 50 events after the ack');
  const expected = sent.map((e) => e.data.seq);
  assert.deepStrictEqual(viaSub, expected);
  assert.deepStrictEqual(viaClient, expected);
  assert.equal(client.stats().delivered, 50);
});

test('a queue bound of 4 and a slow listener: reading pauses and resumes, all 300 events arrive in order', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-bound', maxQueue: 4 });
  await client.connect();
  await client.subscribe(ev.topics.calls);
  const seqs = [];
  client.on('event', (e) => {
    const until = Date.now() + 1;
    while (Date.now() < until);  // a listener slower than the socket
    seqs.push(e.data.seq);
  });
  const events = Array.from({ length: 300 }, (_, seq) => ev.callStatus({ seq }));
  await server.send(...events);
  await until(() => seqs.length === 300, 'all 300 events');
  assert.deepEqual(seqs, events.map((e) => e.data.seq));
  const s = client.stats();
  assert.deepEqual([s.received, s.delivered, s.filtered, s.queueDepth], [300, 300, 0, 0]);
  assert.equal(server.upgrades, 1);
});
