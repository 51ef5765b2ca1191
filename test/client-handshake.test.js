'use strict';
// HTTP answers at the upgrade: terminal 401/403, Retry-After on 429, retried 5xx, credentials.

const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const util = require('node:util');
const { RealtimeError } = require('..');
const ev = require('./helpers/events');
const { makeClient, startServer, settle, record, delay, until } = require('./helpers/util');

const T = { timeout: 15000 };
const TOKEN = 'secret-token-7f3a9c';

for (const status of [401, 403]) {
  test(`HTTP ${status} at the upgrade: AUTH_FAILED, connect() rejects, no reconnect loop`, T, async (t) => {
    const server = await startServer(t);
    server.refusals.push({ status });
    const lines = [];
    const logger = Object.fromEntries(['debug', 'info', 'warn', 'error'].map((l) => [l, (...a) => lines.push(util.inspect(a, { depth: 5 }))]));
    const client = makeClient(t, { url: server.url, token: TOKEN, logger });
    const log = record(client, ['state', 'close', 'reconnecting', 'open']);
    const r = await settle(client.connect());
    assert.ok(r.error instanceof RealtimeError, `connect() gave ${util.inspect(r)}`);
    assert.equal(r.error.code, 'AUTH_FAILED');
    assert.equal(r.error.status, status);
    await delay(400);
    assert.equal(server.requests.length, 1);
    assert.equal(client.state, 'closed');
    const kinds = log.map((e) => e[0]);
    assert.deepEqual(kinds.filter((k) => k === 'reconnecting' || k === 'open'), []);
    assert.deepEqual(log.filter((e) => e[0] === 'state').map((e) => e[1]), ['connecting', 'closed']);
    assert.equal(kinds.filter((k) => k === 'close').length, 1);
    assert.equal(kinds[kinds.length - 1], 'close');
    assert.equal(log[log.length - 1][1].willReconnect, false);
    // The credential reached the server, and nowhere else.
    assert.ok(server.requests[0].url.includes(`token=${TOKEN}`));
    const surfaces = [r.error.message, r.error.stack, util.inspect(r.error, { depth: 5 }), JSON.stringify(r.error),
      client.url, JSON.stringify(client.stats()), util.inspect(log, { depth: 5 }), ...lines];
    for (const s of surfaces) assert.ok(!String(s).includes(TOKEN), `credential leaked into: ${s}`);
    // A later call says why the client ended: the terminal error itself.
    const after = await settle(client.subscribe(ev.topics.calls));
    assert.equal(after.error, r.error);
  });
}

test('HTTP 429 with Retry-After is honoured and the next attempt succeeds', T, async (t) => {
  const server = await startServer(t);
  server.refusals.push({ status: 429, headers: { 'retry-after': '1' } });
  const client = makeClient(t, { url: server.url, token: TOKEN, reconnect: { initialDelay: 50, jitter: 0 } });
  const log = record(client, ['reconnecting']);
  const started = performance.now();
  const r = await settle(client.connect(), 8000);
  assert.equal(r.error, undefined);
  assert.ok(performance.now() - started >= 990);
  assert.equal(server.requests.length, 2);
  const gap = server.requests[1].at - server.requests[0].at;
  assert.ok(gap >= 990, `second attempt after ${gap} ms`);
  assert.equal(log.length, 1);
  const rec = log[0][1];
  assert.equal(rec.attempt, 1);
  assert.ok(rec.delay >= 1000, `announced delay ${rec.delay}`);
  assert.ok(rec.error instanceof RealtimeError);
  assert.equal(rec.error.code, 'RATE_LIMITED');
  assert.equal(rec.error.status, 429);
  assert.equal(rec.error.retryAfter, 1000);
  assert.equal(client.state, 'connected');
});

test('with reconnect false a 503 at the upgrade rejects connect() and closes', T, async (t) => {
  const server = await startServer(t);
  server.refusals.push({ status: 503 });
  const client = makeClient(t, { url: server.url, token: TOKEN, reconnect: false });
  const r = await settle(client.connect());
  assert.ok(r.error instanceof RealtimeError);
  assert.equal(r.error.status, 503);
  assert.equal(client.state, 'closed');
  await delay(200);
  assert.equal(server.requests.length, 1);
});

test('with reconnect false a refused TCP connection rejects connect() with CONNECT_FAILED', T, async (t) => {
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const client = makeClient(t, { url: `ws://127.0.0.1:${port}/v1.0/ws`, token: TOKEN, reconnect: false });
  const r = await settle(client.connect());
  assert.ok(r.error instanceof RealtimeError);
  assert.equal(r.error.code, 'CONNECT_FAILED');
  assert.equal(client.state, 'closed');
});

test('getToken is asked before every attempt; a new credential after a 401 gets one more attempt', T, async (t) => {
  const server = await startServer(t);
  server.refusals.push({ status: 401 });
  const tokens = ['first-token-aaa', 'second-token-bbb'];
  let calls = 0;
  let inFlight = 0;
  let overlapped = false;
  const client = makeClient(t, {
    url: server.url,
    getToken: async () => {
      inFlight += 1;
      if (inFlight > 1) overlapped = true;
      await delay(10);
      inFlight -= 1;
      return tokens[Math.min(calls++, 1)];
    },
  });
  await client.connect();
  assert.equal(calls, 2);
  assert.equal(overlapped, false);
  assert.equal(server.requests.length, 2);
  assert.ok(server.requests[0].url.includes('token=first-token-aaa'));
  assert.ok(server.requests[1].url.includes('token=second-token-bbb'));
  assert.ok(!client.url.includes('token-aaa') && !client.url.includes('token-bbb'));
});

test('getToken returning the refused credential again ends with AUTH_FAILED after one request', T, async (t) => {
  const server = await startServer(t);
  server.refusals.push({ status: 401 }, { status: 401 }, { status: 401 });
  let calls = 0;
  const client = makeClient(t, { url: server.url, getToken: async () => { calls += 1; return 'same-token'; } });
  const r = await settle(client.connect());
  assert.equal(r.error && r.error.code, 'AUTH_FAILED');
  assert.equal(r.error.status, 401);
  await delay(300);
  assert.equal(server.requests.length, 1);
  assert.equal(calls, 2);
  await until(() => client.state === 'closed', 'closed');
});

test('accessKey is sent as ?accesskey= and redacted from url', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, accessKey: 'ak-123456789' });
  await client.connect();
  assert.ok(server.requests[0].url.includes('accesskey=ak-123456789'));
  assert.ok(!server.requests[0].url.includes('token='));
  assert.ok(!client.url.includes('ak-123456789'));
  assert.ok(!JSON.stringify(client.stats()).includes('ak-123456789'));
});
