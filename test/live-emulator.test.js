'use strict';
// The client's live dialect against the emulator's live dialect: routing on both topics,
// de-duplication, refused topics, handshake failures, auto detection and a silent peer.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { RealtimeError, Emulator } = require('..');
const { makeClient, until, settle, delay, record } = require('./helpers/util');

const T = { timeout: 20000 };
const SETTLE = 150;
const CUST = '5013bc52-da9a-11ee-844f-2fa34248de28';
const AGENT = '98765432-4321-4321-4321-210987654321';
const OTHER = '11111111-2222-4333-8444-555555555555';
const FRAMES = fs.readFileSync(path.join(__dirname, 'fixtures', 'live-frames.jsonl'), 'utf8')
  .split('\n').filter(Boolean).map((l) => JSON.parse(l));
const sample = (type) => FRAMES.find((l) => l.event_type === type && l.wire === 'bare').frame;

async function emulator(t, options) {
  const emu = await Emulator.start({ dialect: 'live', customerId: CUST, ...options });
  t.after(() => emu.stop());
  const log = { connections: 0, subscribes: [] };
  emu.on('connection', () => { log.connections += 1; });
  emu.on('subscribe', (e) => log.subscribes.push(e));
  return { emu, log };
}

test('live emulator: an owned call arrives on the customer and the agent route and is delivered once', T, async (t) => {
  const { emu, log } = await emulator(t);
  const client = makeClient(t, {
    url: emu.url, token: emu.issueToken({ agentId: AGENT, permissions: ['agent', 'admin'] }), dialect: 'live', settleTime: SETTLE,
  });
  await client.subscribe(`customer_id:${CUST}:call:*`);
  await client.subscribe(`agent_id:${AGENT}:call:*`);
  assert.deepEqual(log.subscribes.map((s) => s.topics), [[`customer_id:${CUST}:call:call_`], [`agent_id:${AGENT}:call:call_`]]);
  const got = [];
  client.on('event', (e) => got.push({ ...e }));
  const data = sample('call_ringing');
  emu.publish({ event_type: 'call_ringing', data });
  emu.publish({ event_type: 'call_hangup', data: sample('call_hangup') });
  await until(() => client.stats().received === 4 && got.length === 2, 'both events on both routes');
  assert.deepStrictEqual(got[0], {
    event_type: 'call.status', server_event_type: 'call_ringing', timestamp: data.tm_update,
    topic: `customer_id:${CUST}:call:${data.id}`, data,
  });
  assert.deepEqual([got[1].event_type, got[1].server_event_type], ['call.ended', 'call_hangup']);
  const s = client.stats();
  assert.deepEqual([s.received, s.delivered, s.duplicates, s.filtered], [4, 2, 2, 0]);
});

test('live emulator: another customer\'s topic is refused by a cut; no reconnect loop; the good pattern comes back', T, async (t) => {
  const { emu, log } = await emulator(t);
  const client = makeClient(t, { url: emu.url, token: emu.issueToken({}), dialect: 'live', settleTime: SETTLE });
  await client.subscribe(`customer_id:${CUST}:message:*`);
  const r = await settle(client.subscribe(`customer_id:${OTHER}:call:*`));
  assert.ok(r.error instanceof RealtimeError);
  assert.equal(r.error.code, 'PERMISSION_DENIED');
  assert.deepEqual(r.error.topics, [`customer_id:${OTHER}:call:*`]);
  await until(() => log.connections === 2 && client.state === 'subscribed', 'the resubscribed connection');
  await delay(SETTLE * 4);
  assert.equal(log.connections, 2);
  assert.equal(client.stats().reconnects, 1);
  assert.deepEqual(log.subscribes.map((s) => s.topics), [[`customer_id:${CUST}:message:message_`], [`customer_id:${CUST}:message:message_`]]);
  const got = [];
  client.on('message_created', (e) => got.push(e.topic));
  emu.publish({ event_type: 'message_created', data: sample('message_created') });
  await until(() => got.length === 1, 'the message after the reconnect');
});

for (const [status, setup] of [
  [401, () => ({ token: 'not-a-jwt' })],
  [403, (emu) => { emu.freeze(CUST); return { token: emu.issueToken({}) }; }],
]) {
  test(`live emulator: HTTP ${status} stops with AUTH_FAILED and no retry`, T, async (t) => {
    const { emu, log } = await emulator(t);
    let requests = 0;
    const client = makeClient(t, { url: emu.url, dialect: 'live', ...setup(emu) });
    const events = record(client, ['reconnecting', 'state']);
    client.on('state', (s) => { if (s === 'connecting') requests += 1; });
    const r = await settle(client.connect());
    assert.equal(r.error && r.error.code, 'AUTH_FAILED');
    assert.equal(r.error.status, status);
    await delay(300);
    assert.equal(client.state, 'closed');
    assert.equal(requests, 1);
    assert.equal(events.filter((e) => e[0] === 'reconnecting').length, 0);
    assert.equal(log.connections, 0);
    assert.equal(emu.stats().upgradesRefused, 1);
  });
}

test('live emulator: HTTP 429 waits Retry-After, then connects', T, async (t) => {
  const { emu } = await emulator(t, { upgradeRateLimit: 1, retryAfter: 1 });
  const first = makeClient(t, { url: emu.url, token: emu.issueToken({}), dialect: 'live' });
  await first.connect();
  const client = makeClient(t, { url: emu.url, token: emu.issueToken({}), dialect: 'live', reconnect: { initialDelay: 50, jitter: 0 } });
  const log = record(client, ['reconnecting']);
  const started = performance.now();
  const r = await settle(client.connect(), 8000);
  assert.equal(r.error, undefined);
  assert.ok(performance.now() - started >= 990);
  assert.equal(log.length, 1);
  assert.equal(log[0][1].error.code, 'RATE_LIMITED');
  assert.equal(log[0][1].error.status, 429);
  assert.equal(log[0][1].error.retryAfter, 1000);
  assert.ok(log[0][1].delay >= 1000);
});

test('live emulator: HTTP 200 without an upgrade (delegate token) is a clear PROTOCOL_ERROR', T, async (t) => {
  const { emu } = await emulator(t);
  const client = makeClient(t, { url: emu.url, token: emu.issueToken({ delegate: true }), dialect: 'live', reconnect: false });
  const r = await settle(client.connect());
  assert.ok(r.error instanceof RealtimeError);
  assert.equal(r.error.code, 'PROTOCOL_ERROR');
  assert.equal(r.error.status, 200);
  assert.equal(r.error.message, 'the server answered HTTP 200 without upgrading to WebSocket');
});

for (const dialect of ['documented', 'live']) {
  test(`auto against the ${dialect} emulator picks ${dialect} and receives events`, T, async (t) => {
    const { emu } = await emulator(t, { dialect });
    const client = makeClient(t, { url: emu.url, token: emu.issueToken({}), settleTime: SETTLE });
    const log = record(client, ['dialect']);
    await client.subscribe(`customer_id:${CUST}:call:*`);
    assert.equal(client.dialect, dialect);
    assert.equal(log.length, 1);
    assert.equal(log[0][1], dialect);
    const got = [];
    client.on('event', (e) => got.push(e.topic));
    // in the live emulator the switch to prefixes must be applied before publishing
    await until(() => emu.stats().subscriptions >= 1 && (dialect === 'documented' || emu.stats().messagesReceived === 3), 'the wire set');
    const data = sample('call_progressing');
    emu.publish({ event_type: dialect === 'live' ? 'call_progressing' : 'call.status', data });
    await until(() => got.length === 1, 'the event');
    assert.deepEqual(got, [`customer_id:${CUST}:call:${data.id}`]);
  });
}

test('live emulator: a peer that goes silent (no pings, no pongs) is detected by the heartbeat', T, async (t) => {
  const { emu, log } = await emulator(t, { pingInterval: 50 });
  const client = makeClient(t, {
    url: emu.url, token: emu.issueToken({}), dialect: 'live', heartbeat: { interval: 100, timeout: 150 }, reconnect: { initialDelay: 50, jitter: 0 },
  });
  await client.connect();
  await delay(400);
  assert.equal(client.state, 'connected', 'pings and pongs keep a healthy live connection up');
  const errors = [];
  client.on('error', (e) => errors.push(e.code));
  emu.fault('stall', true);
  await until(() => errors.includes('HEARTBEAT_TIMEOUT'), 'the heartbeat timeout', 5000);
  emu.fault('stall', false);
  await until(() => log.connections === 2 && client.state === 'connected', 'the reconnect');
});
