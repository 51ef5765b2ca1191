'use strict';
// Reconnecting against a `ws` server: order of events, exact backoff, resubscribe, heartbeat.

const test = require('node:test');
const assert = require('node:assert/strict');
const { RealtimeError } = require('..');
const ev = require('./helpers/events');
const { makeClient, startServer, until, settle, record, delay } = require('./helpers/util');

const T = { timeout: 20000 };
const sorted = (a) => [...a].sort();
const names = (log) => log.map((e) => e[0]);

test('a dropped connection: close, state, reconnecting in order; exact growing delays; one resubscribe; events flow', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-reconnect', reconnect: { initialDelay: 50, jitter: 0 } });
  await client.connect();
  const s1 = await client.subscribe([ev.topics.calls, ev.topics.messages]);
  const s2 = await client.subscribe(ev.topics.agentCalls);
  const got = [];
  s1.on('event', (e) => got.push(e));
  const before = ev.callStatus({ seq: 1 });
  await server.send(before);
  await until(() => got.length === 1, 'the first event');

  const log = record(client, ['close', 'state', 'reconnecting', 'open']);
  // The next two attempts are refused with 503 (retried), the third one succeeds.
  server.refusals.push({ status: 503 }, { status: 503 });
  const dropAt = performance.now();
  server.terminateAll();
  await server.waitForUpgrades(2, 5000);
  await until(() => client.state === 'subscribed', 'state subscribed after the resubscribe');

  assert.deepEqual(log[0][0], 'close');
  assert.equal(log[0][1].code, 1006);
  assert.equal(log[0][1].willReconnect, true);
  assert.deepEqual(log[1], ['state', 'reconnecting', 'subscribed']);
  assert.equal(log[2][0], 'reconnecting');
  const reconnecting = log.filter((e) => e[0] === 'reconnecting').map((e) => e[1]);
  assert.deepEqual(reconnecting.map((r) => [r.attempt, r.delay]), [[1, 50], [2, 100], [3, 200]]);
  assert.ok(reconnecting[0].error instanceof RealtimeError, 'reconnecting.error of the drop');
  assert.equal(reconnecting[1].error.status, 503);
  assert.equal(reconnecting[2].error.status, 503);
  const states = log.filter((e) => e[0] === 'state').map((e) => e[1]);
  assert.deepEqual(states, ['reconnecting', 'connecting', 'reconnecting', 'connecting', 'reconnecting', 'connecting', 'connected', 'subscribed']);
  assert.equal(names(log).filter((n) => n === 'open').length, 1);

  // The server saw three attempts after the drop, spaced by at least the announced delays.
  assert.equal(server.requests.length, 4);
  const gaps = [server.requests[1].at - dropAt, server.requests[2].at - server.requests[1].at, server.requests[3].at - server.requests[2].at];
  assert.ok(gaps[0] >= 45, `first retry after ${gaps[0]} ms`);
  assert.ok(gaps[1] >= 95, `second retry after ${gaps[1]} ms`);
  assert.ok(gaps[2] >= 195, `third retry after ${gaps[2]} ms`);

  const resub = server.messages.filter((m) => m.conn === 2).map((m) => m.msg);
  assert.equal(resub.length, 1);
  assert.equal(resub[0].type, 'subscribe');
  assert.deepEqual(sorted(resub[0].topics), sorted([ev.topics.calls, ev.topics.messages, ev.topics.agentCalls]));
  assert.deepEqual(client.topics, sorted([ev.topics.calls, ev.topics.messages, ev.topics.agentCalls]));
  assert.deepEqual(s2.topics, [ev.topics.agentCalls]);
  // Every attempt counts, the two refused ones too.
  assert.equal(client.stats().reconnects, 3);

  const after = ev.callStatus({ seq: 2 });
  await server.send(after);
  await until(() => got.length === 2, 'the event after the reconnect');
  assert.deepStrictEqual(got, [before, after]);

  // A successful upgrade resets the schedule: the next drop waits initialDelay again.
  log.length = 0;
  server.terminateAll();
  await until(() => client.state === 'subscribed' && server.upgrades === 3, 'the second reconnect');
  const again = log.filter((e) => e[0] === 'reconnecting').map((e) => [e[1].attempt, e[1].delay]);
  assert.deepEqual(again, [[1, 50]]);
  assert.equal(client.stats().reconnects, 4);
});

test('partial reconnect options keep the other defaults: factor 2 up to maxDelay', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-maxdelay', reconnect: { initialDelay: 40, maxDelay: 100, jitter: 0 } });
  await client.connect();
  const log = record(client, ['reconnecting']);
  server.refusals.push({ status: 502 }, { status: 503 }, { status: 500 });
  server.terminateAll();
  await server.waitForUpgrades(2, 5000);
  assert.deepEqual(log.map((e) => [e[1].attempt, e[1].delay]), [[1, 40], [2, 80], [3, 100], [4, 100]]);
  assert.deepEqual(log.slice(1).map((e) => e[1].error.status), [502, 503, 500]);
});

test('patterns subscribed while reconnecting go out with the resubscribe, in one message', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-during', reconnect: { initialDelay: 150, jitter: 0 } });
  await client.connect();
  await client.subscribe(ev.topics.calls);
  server.terminateAll();
  await until(() => client.state === 'reconnecting', 'state reconnecting');
  const pending = client.subscribe(ev.topics.messages);
  const sub = (await settle(pending)).value;
  assert.deepEqual(sub.topics, [ev.topics.messages]);
  const onConn2 = server.messages.filter((m) => m.conn === 2).map((m) => m.msg);
  assert.equal(onConn2.length, 1);
  assert.deepEqual(sorted(onConn2[0].topics), sorted([ev.topics.calls, ev.topics.messages]));
  assert.equal(server.sent('subscribe').length, 2);
});

test('with reconnect false a lost connection ends in closed and nothing is tried again', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-noreconnect', reconnect: false });
  await client.connect();
  await client.subscribe(ev.topics.calls);
  const log = record(client, ['close', 'state', 'reconnecting']);
  server.terminateAll();
  await until(() => client.state === 'closed', 'state closed');
  await delay(300);
  assert.equal(server.requests.length, 1);
  assert.deepEqual(names(log), ['state', 'close']);
  assert.deepEqual(log[0], ['state', 'closed', 'subscribed']);
  assert.equal(log[1][1].willReconnect, false);
  assert.equal(log[1][1].code, 1006);
});

test('a server that stops answering pings is detected with HEARTBEAT_TIMEOUT and the client reconnects', T, async (t) => {
  const server = await startServer(t);
  server.autoPong = false;
  const client = makeClient(t, {
    url: server.url,
    token: 'tok-heartbeat',
    heartbeat: { interval: 100, timeout: 150 },
    reconnect: { initialDelay: 50, jitter: 0 },
  });
  const errors = [];
  client.on('error', (e) => errors.push(e));
  const log = record(client, ['close', 'reconnecting']);
  await client.connect();
  const connectedAt = performance.now();
  await client.subscribe(ev.topics.calls);
  // Only the first connection is silent; the second answers pings.
  server.autoPong = true;
  await until(() => log.some((e) => e[0] === 'reconnecting'), 'reconnecting after the heartbeat timeout', 5000);
  const detectedAfter = performance.now() - connectedAt;
  assert.ok(detectedAfter >= 200 && detectedAfter < 3000, `dead connection detected after ${detectedAfter} ms`);
  const rec = log.find((e) => e[0] === 'reconnecting')[1];
  assert.equal(rec.attempt, 1);
  assert.equal(rec.delay, 50);
  assert.ok(rec.error instanceof RealtimeError);
  assert.equal(rec.error.code, 'HEARTBEAT_TIMEOUT');
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, 'HEARTBEAT_TIMEOUT');
  assert.equal(log[0][0], 'close');
  assert.equal(log[0][1].willReconnect, true);
  await until(() => client.state === 'subscribed' && server.upgrades === 2, 'resubscribed');
  // The healthy connection stays up across several heartbeat periods.
  await delay(600);
  assert.equal(server.upgrades, 2);
  assert.equal(client.state, 'subscribed');
  assert.equal(errors.length, 1);
  const seen = [];
  client.on('event', (e) => seen.push(e));
  const e = ev.callStatus({ seq: 9 });
  await server.send(e);
  await until(() => seen.length === 1, 'the event after the reconnect');
  assert.deepStrictEqual(seen, [e]);
});
