'use strict';
// The state machine as users see it, topics, and what close() emits.

const test = require('node:test');
const assert = require('node:assert/strict');
const util = require('node:util');
const ev = require('./helpers/events');
const { makeClient, startServer, until, record, delay, settle } = require('./helpers/util');

const T = { timeout: 15000 };

test('states: disconnected, connecting, connected, subscribed, connected, closed; close is the last event', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-states' });
  assert.equal(client.state, 'disconnected');
  const log = record(client, ['state', 'open', 'close', 'reconnecting', 'event']);
  await client.connect();
  assert.equal(client.state, 'connected');
  const sub = await client.subscribe([ev.topics.messages, ev.topics.calls]);
  assert.equal(client.state, 'subscribed');
  await sub.unsubscribe();
  assert.equal(client.state, 'connected');
  await client.close();
  assert.equal(client.state, 'closed');
  assert.deepEqual(log.filter((e) => e[0] === 'state').map((e) => e.slice(1)), [
    ['connecting', 'disconnected'],
    ['connected', 'connecting'],
    ['subscribed', 'connected'],
    ['connected', 'subscribed'],
    ['closed', 'connected'],
  ]);
  assert.deepEqual(log.map((e) => e[0]), ['state', 'state', 'open', 'state', 'state', 'state', 'close']);
  const close = log[log.length - 1][1];
  assert.equal(close.willReconnect, false);
  assert.ok(close.code === 1000 || close.code === 1005, `close code ${close.code}`);
  // Nothing after 'closed', even if the server still sends.
  const n = log.length;
  await server.send(ev.callStatus());
  await delay(100);
  assert.equal(log.length, n);
  await server.waitFor(() => server.closes === 1, 'the server to see the close');
});

test('topics is the sorted list of active patterns with UUIDs in lower case', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-topics' });
  await client.connect();
  await client.subscribe([ev.topics.messages, ev.topics.agentCalls, `customer_id:${ev.CUSTOMER.toUpperCase()}:call:${ev.CALL.toUpperCase()}`]);
  await client.subscribe(ev.topics.calls);
  const expected = [ev.topics.agentCalls, ev.topics.call, ev.topics.calls, ev.topics.messages].sort();
  assert.deepEqual(client.topics, expected);
  assert.deepEqual([...server.sent('subscribe')[0].topics].sort(), [ev.topics.agentCalls, ev.topics.call, ev.topics.messages].sort());
  // A copy: changing it changes nothing inside the client.
  client.topics.push('x');
  assert.deepEqual(client.topics, expected);
});

test('the logger never sees the credential, through connect, drop, reconnect and close', T, async (t) => {
  const server = await startServer(t);
  const TOKEN = 'logger-secret-5521';
  const lines = [];
  const logger = Object.fromEntries(['debug', 'info', 'warn', 'error'].map((l) => [l, (...a) => lines.push(`${l} ${util.inspect(a, { depth: 6 })}`)]));
  const client = makeClient(t, { url: server.url, token: TOKEN, logger });
  await client.connect();
  await client.subscribe(ev.topics.calls);
  server.terminateAll();
  await until(() => client.state === 'subscribed' && server.upgrades === 2, 'the reconnect');
  await server.sendRaw('not json');
  await delay(50);
  await client.close();
  assert.ok(lines.length > 0, 'the logger was given nothing at all');
  for (const line of lines) assert.ok(!line.includes(TOKEN), `credential in log line: ${line}`);
  assert.ok(!client.url.includes(TOKEN));
  assert.ok(!JSON.stringify(client.stats()).includes(TOKEN));
});

test('without an error listener a malformed frame goes to logger.warn and nothing throws', T, async (t) => {
  const server = await startServer(t);
  const warnings = [];
  const client = makeClient(t, { url: server.url, token: 'tok-warn', logger: { debug() {}, info() {}, warn: (...a) => warnings.push(a), error() {} } });
  await client.connect();
  await client.subscribe(ev.topics.calls);
  const seen = [];
  client.on('event', (e) => seen.push(e));
  const a = ev.callStatus({ seq: 1 });
  await server.sendRaw('{oops', JSON.stringify(a));
  await until(() => seen.length === 1, 'the event after the bad frame');
  assert.deepStrictEqual(seen, [a]);
  assert.ok(warnings.some((w) => w.some((x) => x && x.code === 'MALFORMED_EVENT') || util.inspect(w).includes('MALFORMED_EVENT')), util.inspect(warnings));
});

test('close() twice resolves both times and emits close once', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-close' });
  await client.connect();
  const log = record(client, ['close', 'state']);
  const [a, b] = await Promise.all([settle(client.close()), settle(client.close())]);
  assert.equal(a.error, undefined);
  assert.equal(b.error, undefined);
  const c = await settle(client.close());
  assert.equal(c.error, undefined);
  assert.deepEqual(log.map((e) => e[0]), ['state', 'close']);
  const r = await settle(client.connect());
  assert.equal(r.error && r.error.code, 'CLOSED');
});
