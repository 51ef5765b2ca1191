'use strict';
// Bad frames from the server are typed errors that lose nothing around them; volume arrives whole.

const test = require('node:test');
const assert = require('node:assert/strict');
const { RealtimeError } = require('..');
const ev = require('./helpers/events');
const { makeClient, startServer, until, record } = require('./helpers/util');

const T = { timeout: 20000 };

async function subscribed(t, extra = {}) {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-frames', ...extra });
  const errors = [];
  client.on('error', (e) => errors.push(e));
  const seen = [];
  client.on('event', (e) => seen.push(e));
  await client.connect();
  await client.subscribe(ev.topics.calls);
  return { server, client, errors, seen };
}

test('malformed JSON is MALFORMED_EVENT; the events around it arrive; the connection stays', T, async (t) => {
  const { server, client, errors, seen } = await subscribed(t);
  const a = ev.callStatus({ seq: 1 });
  const b = ev.callStatus({ seq: 2 });
  await server.sendRaw(JSON.stringify(a), '{"event_type":"call.status","topic":', JSON.stringify(b));
  await until(() => seen.length === 2 && errors.length === 1, '2 events and 1 error');
  assert.deepStrictEqual(seen, [a, b]);
  assert.ok(errors[0] instanceof RealtimeError);
  assert.equal(errors[0].code, 'MALFORMED_EVENT');
  assert.equal(server.upgrades, 1);
  assert.equal(client.state, 'subscribed');
  assert.equal(client.stats().delivered, 2);
});

test('an event for a topic nobody subscribed is dropped unread, even broken; a wanted broken one is MALFORMED_EVENT', T, async (t) => {
  const { server, client, errors, seen } = await subscribed(t);
  assert.equal(client.dialect, 'documented');
  const a = ev.callStatus({ seq: 1 });
  const b = ev.callStatus({ seq: 2 });
  const foreign = ev.callStatus({ customer: ev.OTHER_CUSTOMER, seq: 3 }).topic;
  const wanted = a.topic;
  // The same broken payload (an invalid literal inside data) under each topic.
  const broken = (topic) => `{"event_type":"call.status","topic":"${topic}","data":{"id":nul}}`;
  await server.sendRaw(JSON.stringify(a), broken(foreign), broken(wanted), JSON.stringify(b));
  await until(() => seen.length === 2 && errors.length === 1, '2 events and 1 error');
  assert.deepStrictEqual(seen, [a, b]);
  assert.equal(errors[0].code, 'MALFORMED_EVENT');
  const s = client.stats();
  assert.deepEqual([s.received, s.filtered, s.malformed, s.delivered], [3, 1, 1, 2]);
  assert.equal(client.state, 'subscribed');
});

test('when nearly everything is wanted the peek pauses: then a broken unwanted event is MALFORMED_EVENT', T, async (t) => {
  const { server, client, errors, seen } = await subscribed(t);
  // 256 wanted events fill one sampling window with nothing to drop, so the next frames go
  // straight to the full parse, which reports the broken one although nobody wants its topic.
  const wanted = Array.from({ length: 256 }, (_, seq) => ev.callStatus({ seq }));
  const foreign = ev.callStatus({ customer: ev.OTHER_CUSTOMER, seq: 999 }).topic;
  const after = ev.callStatus({ seq: 1000 });
  await server.sendRaw(...wanted.map((e) => JSON.stringify(e)),
    `{"event_type":"call.status","topic":"${foreign}","data":{"id":nul}}`, JSON.stringify(after));
  await until(() => seen.length === 257 && errors.length === 1, '257 events and 1 error');
  assert.equal(errors[0].code, 'MALFORMED_EVENT');
  assert.deepStrictEqual(seen.at(-1), after);
  const s = client.stats();
  assert.deepEqual([s.received, s.filtered, s.malformed, s.delivered], [257, 0, 1, 257]);
});

test('invalid UTF-8 in a text frame is MALFORMED_EVENT for that frame only, unless nobody wants its topic', T, async (t) => {
  const { server, client, errors, seen } = await subscribed(t);
  const a = ev.callStatus({ seq: 1 });
  const b = ev.callStatus({ seq: 2 });
  const foreign = ev.callStatus({ customer: ev.OTHER_CUSTOMER, seq: 3 }).topic;
  // A lone continuation byte and a truncated two-byte sequence inside a string of data: RFC 6455
  // would fail the whole connection (1007); here only the frame is lost, reported once.
  const bad = (topic) => Buffer.concat([
    Buffer.from(`{"event_type":"call.status","topic":"${topic}","data":{"id":"`),
    Buffer.from([0x80, 0x41, 0xc3]),
    Buffer.from('"}}'),
  ]);
  await server.sendRaw(JSON.stringify(a), bad(foreign), bad(a.topic), JSON.stringify(b));
  await until(() => seen.length === 2 && errors.length === 1, '2 events and 1 error');
  assert.deepStrictEqual(seen, [a, b]);
  assert.ok(errors[0] instanceof RealtimeError);
  assert.equal(errors[0].code, 'MALFORMED_EVENT');
  assert.match(errors[0].message, /UTF-8/);
  const s = client.stats();
  assert.deepEqual([s.received, s.filtered, s.malformed, s.delivered], [3, 1, 1, 2]);
  assert.equal(server.upgrades, 1);
  assert.equal(client.state, 'subscribed');
});

test('a binary frame is PROTOCOL_ERROR; the events around it arrive; the connection stays', T, async (t) => {
  const { server, client, errors, seen } = await subscribed(t);
  const a = ev.callStatus({ seq: 1 });
  const b = ev.callStatus({ seq: 2 });
  await server.sendRaw(JSON.stringify(a));
  await server.sendBinary(Buffer.from(JSON.stringify(ev.callStatus({ seq: 99 }))));
  await server.sendRaw(JSON.stringify(b));
  await until(() => seen.length === 2 && errors.length === 1, '2 events and 1 error');
  assert.deepStrictEqual(seen, [a, b]);
  assert.equal(errors[0].code, 'PROTOCOL_ERROR');
  assert.equal(server.upgrades, 1);
  assert.equal(client.state, 'subscribed');
});

test('an oversized frame is PAYLOAD_TOO_LARGE, then reconnect and resubscribe, and events flow again', T, async (t) => {
  const { server, client, errors, seen } = await subscribed(t, { maxPayload: 2048, reconnect: { initialDelay: 50, jitter: 0 } });
  const log = record(client, ['reconnecting']);
  const a = ev.callStatus({ seq: 1 });
  const big = ev.callStatus({ seq: 2, extra: { blob: 'x'.repeat(4096) } });
  const fits = ev.callStatus({ seq: 3, extra: { blob: 'y'.repeat(1500) } });
  await server.send(a, fits, big);
  await until(() => client.state === 'subscribed' && server.upgrades === 2, 'the reconnect and resubscribe');
  assert.deepStrictEqual(seen, [a, fits]);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, 'PAYLOAD_TOO_LARGE');
  assert.equal(log.length, 1);
  assert.equal(log[0][1].error.code, 'PAYLOAD_TOO_LARGE');
  assert.equal(log[0][1].attempt, 1);
  assert.equal(log[0][1].delay, 50);
  assert.deepEqual(server.messages.filter((m) => m.conn === 2).map((m) => m.msg), [{ type: 'subscribe', topics: [ev.topics.calls] }]);
  const c = ev.callStatus({ seq: 4 });
  await server.send(c);
  await until(() => seen.length === 3, 'the event after the reconnect');
  assert.deepStrictEqual(seen, [a, fits, c]);
});

test('10,000 events arrive complete and in order', T, async (t) => {
  const { server, client, errors, seen } = await subscribed(t);
  const N = 10000;
  const frames = [];
  for (let seq = 0; seq < N; seq += 1) frames.push(JSON.stringify(ev.callStatus({ seq })));
  await server.sendRaw(...frames);
  await until(() => seen.length >= N, `${N} events`, 15000);
  assert.equal(seen.length, N);
  let outOfOrder = -1;
  for (let i = 0; i < N; i += 1) {
    if (seen[i].data.seq !== i) { outOfOrder = i; break; }
  }
  assert.equal(outOfOrder, -1, `event ${outOfOrder} has seq ${outOfOrder >= 0 ? seen[outOfOrder].data.seq : ''}`);
  assert.deepStrictEqual(seen[N - 1], ev.callStatus({ seq: N - 1 }));
  const s = client.stats();
  assert.equal(s.received, N);
  assert.equal(s.delivered, N);
  assert.equal(s.filtered, 0);
  assert.equal(s.dropped, 0);
  assert.equal(s.queueDepth, 0);
  assert.deepEqual(errors, []);
});
