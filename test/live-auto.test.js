'use strict';
// dialect: 'auto' (the default) against a documented `ws` server and a live `ws` server: it picks
// the right one, says so, and leaves the documented wire exactly as it was.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { RealtimeError } = require('..');
const ev = require('./helpers/events');
const { makeClient, startServer, until, settle, delay, record } = require('./helpers/util');
const { startLiveServer, fakeJwt } = require('./helpers/live-server');

const T = { timeout: 20000 };
const SETTLE = 200;
const CUST = '5013bc52-da9a-11ee-844f-2fa34248de28';
const OTHER = '11111111-2222-4333-8444-555555555555';
const FRAMES = fs.readFileSync(path.join(__dirname, 'fixtures', 'live-frames.jsonl'), 'utf8')
  .split('\n').filter(Boolean).map((l) => JSON.parse(l));

function loggerInto(lines) {
  return Object.fromEntries(['debug', 'info', 'warn', 'error'].map((l) => [l, (m) => lines.push([l, m])]));
}

test('auto against a documented server: decided by the ack, wire unchanged', T, async (t) => {
  const server = await startServer(t);
  const lines = [];
  const client = makeClient(t, { url: server.url, token: 'tok-auto-doc', settleTime: SETTLE, logger: loggerInto(lines) });
  const log = record(client, ['dialect']);
  assert.equal(client.dialect, null);
  await client.connect();
  assert.equal(client.dialect, null);
  await client.subscribe([ev.topics.calls, ev.topics.messages]);
  assert.equal(client.dialect, 'documented');
  assert.deepEqual(log, [['dialect', 'documented', 'the server sent an ack frame']]);
  assert.ok(lines.some(([l, m]) => l === 'info' && m === 'voip-realtime: dialect documented (the server sent an ack frame)'));
  const e = ev.callStatus();
  const got = [];
  client.on('event', (x) => got.push(x));
  await server.send(e);
  await until(() => got.length === 1, 'the event');
  assert.deepStrictEqual({ ...got[0] }, { ...e });
  await delay(SETTLE * 2);
  assert.deepEqual(server.messages.map((m) => m.msg), [{ type: 'subscribe', topics: [ev.topics.calls, ev.topics.messages] }]);
  await client.unsubscribe(ev.topics.messages);
  assert.deepEqual(server.messages[1].msg, { type: 'unsubscribe', topics: [ev.topics.messages] });
  assert.equal(log.length, 1);
});

test('auto against a documented server: an event envelope before any subscribe decides too', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-auto-doc2', settleTime: SETTLE });
  const log = record(client, ['dialect']);
  await client.connect();
  await server.send(ev.callStatus());
  await until(() => log.length === 1, 'the decision');
  assert.deepEqual(log, [['dialect', 'documented', 'the server sent an event in the documented envelope']]);
});

test('auto against a live server: an unanswered subscribe that survives settleTime means live; the wire switches', T, async (t) => {
  const server = await startLiveServer(t);
  const lines = [];
  const client = makeClient(t, { url: server.url, token: fakeJwt({ customer_id: CUST }), settleTime: SETTLE, logger: loggerInto(lines) });
  const log = record(client, ['dialect', 'state']);
  const pattern = `customer_id:${CUST}:call:*`;
  const started = performance.now();
  await client.subscribe(pattern);
  assert.ok(performance.now() - started >= SETTLE - 5);
  assert.equal(client.dialect, 'live');
  const reason = `no answer to a subscribe within ${SETTLE} ms while the connection stayed open`;
  assert.deepEqual(log.filter((e) => e[0] === 'dialect'), [['dialect', 'live', reason]]);
  assert.ok(lines.some(([l, m]) => l === 'info' && m === `voip-realtime: dialect live (${reason})`));
  await server.waitFor(() => server.sent().length === 3, 'the switch');
  assert.deepEqual(server.sent(), [
    { type: 'subscribe', topics: [pattern] },
    { type: 'subscribe', topics: [`customer_id:${CUST}:call:call_`] },
    { type: 'unsubscribe', topics: [pattern] },
  ]);
  assert.deepEqual([...server.prefixes.get(1)], [`customer_id:${CUST}:call:call_`]);
  const got = [];
  client.on('call_ringing', (e) => got.push(e.topic));
  await server.send(FRAMES[0].frame);
  await until(() => got.length === 1, 'the live event');
  assert.deepEqual(got, [`customer_id:${CUST}:call:${FRAMES[0].frame.id}`]);
  // later calls follow the live rules: one message per call, prefixes only
  await client.subscribe(`customer_id:${CUST}:message:*`);
  assert.deepEqual(server.sent()[3], { type: 'subscribe', topics: [`customer_id:${CUST}:message:message_`] });
});

test('auto against a live server: a bare frame decides at once', T, async (t) => {
  const server = await startLiveServer(t);
  const client = makeClient(t, { url: server.url, token: fakeJwt({ customer_id: CUST }), settleTime: 5000 });
  const log = record(client, ['dialect']);
  await client.connect();
  await server.send(FRAMES[4].frame);
  await until(() => log.length === 1, 'the decision');
  assert.deepEqual(log, [['dialect', 'live', 'the server sent an event without the documented envelope (message_created)']]);
  assert.equal(client.dialect, 'live');
});

test('auto against a live server: a refused first topic fails once and never loops', T, async (t) => {
  const server = await startLiveServer(t);
  server.deny.add(OTHER);
  const client = makeClient(t, { url: server.url, token: fakeJwt({ customer_id: CUST }), settleTime: SETTLE });
  const log = record(client, ['dialect']);
  await client.connect();
  const r = await settle(client.subscribe(`customer_id:${OTHER}:call:*`));
  assert.ok(r.error instanceof RealtimeError);
  assert.equal(r.error.code, 'PERMISSION_DENIED');
  assert.deepEqual(r.error.topics, [`customer_id:${OTHER}:call:*`]);
  assert.deepEqual(log, [['dialect', 'live',
    `the connection closed within ${SETTLE} ms of an unanswered subscribe, as the live server does when it refuses a topic`]]);
  await until(() => server.upgrades === 2 && client.state === 'connected', 'the reconnect');
  await delay(SETTLE * 3);
  assert.equal(server.upgrades, 2);
  assert.deepEqual(server.sent(2), []);
  assert.equal(server.cuts, 1);
});

test('auto: once a bare frame decides live, held patterns get the live warnings and a pending subscribe settles from then', T, async (t) => {
  const AGENT = '98765432-4321-4321-4321-210987654321';
  const server = await startLiveServer(t);
  const lines = [];
  const settleTime = 400;
  const client = makeClient(t, {
    url: server.url, token: fakeJwt({ customer_id: CUST, agent_id: AGENT }), settleTime, logger: loggerInto(lines),
  });
  await client.connect();
  const patterns = [`agent_id:${AGENT}:queue:*`, `customer_id:${CUST}:call:*`];
  let resolvedAt = 0;
  const pending = client.subscribe(patterns).then((sub) => {
    resolvedAt = performance.now();
    return sub;
  });
  await server.waitFor(() => server.sent().length === 1, 'the documented subscribe');
  assert.deepEqual(server.sent(), [{ type: 'subscribe', topics: patterns }]);
  await delay(100);
  const decidedAt = performance.now();
  await server.send(FRAMES[4].frame);
  // The live prefixes go out at the decision, well before the first settle window ends.
  await server.waitFor(() => server.sent().length === 3, 'the switch');
  assert.deepEqual(server.sent().slice(1), [
    { type: 'subscribe', topics: [`agent_id:${AGENT}:queuecall:queuecall_`, `customer_id:${CUST}:call:call_`] },
    { type: 'unsubscribe', topics: patterns },
  ]);
  assert.equal(resolvedAt, 0, 'not settled yet');
  const sub = await pending;
  assert.deepEqual(sub.topics, [...patterns].sort());
  assert.ok(resolvedAt - decidedAt >= settleTime - 5, `settled ${Math.round(resolvedAt - decidedAt)} ms after the decision`);
  const warnings = lines.filter(([l]) => l === 'warn').map(([, m]) => m);
  assert.deepEqual(warnings, [`voip-realtime: the live server never publishes queue events on agent_id topics: "${patterns[0]}" will receive nothing`]);
  // The held patterns deliver under the documented names.
  const got = [];
  sub.on('call.status', (e) => got.push([e.server_event_type, e.topic]));
  await server.send(FRAMES[0].frame);
  await until(() => got.length === 1, 'the ringing call');
  assert.deepEqual(got, [['call_ringing', `customer_id:${CUST}:call:${FRAMES[0].frame.id}`]]);
});

test('auto: deciding live on an unanswered subscribe logs the same warnings as dialect live', T, async (t) => {
  const server = await startLiveServer(t);
  const lines = [];
  const client = makeClient(t, { url: server.url, token: fakeJwt({ customer_id: CUST }), settleTime: SETTLE, logger: loggerInto(lines) });
  await client.subscribe([`customer_id:${CUST}:conferencecall:*`, `customer_id:${CUST}:queue:${OTHER}`]);
  assert.equal(client.dialect, 'live');
  assert.deepEqual(lines.filter(([l]) => l === 'warn').map(([, m]) => m), [
    `voip-realtime: the live server never publishes conferencecall events: "customer_id:${CUST}:conferencecall:*" will receive nothing`,
    `voip-realtime: live queue calls carry no queue id: "customer_id:${CUST}:queue:${OTHER}" only matches the queue call whose own id is ${OTHER}`,
  ]);
});
