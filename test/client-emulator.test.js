'use strict';
// Our client against the project's emulator in the documented dialect, one test per rule of
// native/emulator/README.md: routing, credentials, permissions, rate limits, refusals, faults,
// keepalive, unsubscribe and wss. The live dialect is covered by live-emulator.test.js.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { RealtimeError, Emulator } = require('..');
const { makeClient, until, settle, delay, record } = require('./helpers/util');

const T = { timeout: 15000 };
const CUST = '5013bc52-da9a-11ee-844f-2fa34248de28';
const OTHER = '11111111-2222-4333-8444-555555555555';
const AGENT = '98765432-4321-4321-4321-210987654321';
const AGENT2 = '0a0b0c0d-1111-4222-8333-444455556666';
const CALL = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
const CALL2 = 'b1b2c3d4-e5f6-7890-abcd-ef1234567890';
const TS = '2024-01-15T10:30:05.123456Z';
const DENIED = 'You do not have permission to subscribe to this topic';
const TLS_DIR = path.join(__dirname, 'fixtures', 'tls');

const calls = `customer_id:${CUST}:call:*`;
const messages = `customer_id:${CUST}:message:*`;

// An emulator stopped after the test, with every notification it gives recorded in order.
async function emulator(t, options) {
  const emu = await Emulator.start({ customerId: CUST, ...options });
  t.after(() => emu.stop());
  const log = { connections: [], subscribes: [], unsubscribes: [], disconnects: [] };
  emu.on('connection', (e) => log.connections.push(e));
  emu.on('subscribe', (e) => log.subscribes.push(e));
  emu.on('unsubscribe', (e) => log.unsubscribes.push(e));
  emu.on('disconnect', (e) => log.disconnects.push(e));
  return { emu, log };
}

function client(t, emu, options) {
  return makeClient(t, { url: emu.url, token: emu.issueToken({}), dialect: 'documented', ...options });
}

function callEvent(id, extra = {}) {
  return { event_type: 'call.status', timestamp: TS, data: { id, customer_id: CUST, status: 'ringing', ...extra } };
}

function collect(emitter, name = 'event') {
  const got = [];
  emitter.on(name, (e) => got.push({ ...e }));
  return got;
}

function expectRefused(r, code, topics, message) {
  assert.ok(r.error instanceof RealtimeError, `expected a RealtimeError, got ${r.error || JSON.stringify(r.value)}`);
  assert.equal(r.error.code, code);
  assert.deepEqual(r.error.topics, topics);
  assert.equal(r.error.action, 'subscribe');
  if (message) assert.equal(r.error.message, message);
}

test('admin token: subscribe resolves and a call.status reaches the type, event and the Subscription exactly', T, async (t) => {
  const { emu, log } = await emulator(t);
  const c = client(t, emu);
  const sub = await c.subscribe(calls);
  assert.deepEqual(sub.topics, [calls]);
  assert.deepEqual(c.topics, [calls]);
  assert.equal(c.state, 'subscribed');
  await until(() => log.subscribes.length === 1, 'the emulator applying the subscription');
  assert.deepEqual(log.subscribes[0].topics, [calls]);
  assert.equal(log.connections.length, 1);
  assert.equal(log.connections[0].customerId, CUST);

  const byType = collect(c, 'call.status');
  const all = collect(c, 'event');
  const subAll = collect(sub, 'event');
  const subType = collect(sub, 'call.status');
  const raw = [];
  c.on('event', (e) => raw.push(Object.keys(e)));
  const ev = callEvent(CALL);
  emu.publish(ev);
  emu.publish({ event_type: 'call.created', timestamp: TS, data: { id: CALL2, customer_id: CUST } });
  await until(() => all.length === 2 && subAll.length === 2, 'both events');
  const expected = { event_type: 'call.status', timestamp: TS, topic: `customer_id:${CUST}:call:${CALL}`, data: ev.data };
  assert.deepStrictEqual(byType, [expected]);
  assert.deepStrictEqual(subType, [expected]);
  assert.deepStrictEqual(all[0], expected);
  assert.deepStrictEqual(subAll[0], expected);
  assert.deepStrictEqual(all[1], {
    event_type: 'call.created', timestamp: TS, topic: `customer_id:${CUST}:call:${CALL2}`, data: { id: CALL2, customer_id: CUST },
  });
  assert.deepEqual(raw, [['event_type', 'timestamp', 'topic', 'data'], ['event_type', 'timestamp', 'topic', 'data']]);
  const s = c.stats();
  assert.deepEqual([s.received, s.delivered, s.filtered, s.dropped, s.malformed], [2, 2, 0, 0, 0]);
  assert.equal(emu.stats().eventsSent, 2);
});

test('* wildcards: *:*, call:* and call:<id> each receive exactly their events, in order', T, async (t) => {
  const { emu, log } = await emulator(t);
  const everything = client(t, emu);
  const allCalls = client(t, emu);
  const oneCall = client(t, emu);
  await everything.subscribe(`customer_id:${CUST}:*:*`);
  await allCalls.subscribe(calls);
  await oneCall.subscribe(`customer_id:${CUST}:call:${CALL.toUpperCase()}`);
  assert.deepEqual(oneCall.topics, [`customer_id:${CUST}:call:${CALL}`]);
  await until(() => log.subscribes.length === 3, 'three subscriptions applied');
  const got = [everything, allCalls, oneCall].map((c) => collect(c));

  emu.publish(callEvent(CALL));
  emu.publish(callEvent(CALL2));
  emu.publish({ event_type: 'message.created', timestamp: TS, data: { id: 'm-1', customer_id: CUST, text: 'hi' } });
  emu.publish({ event_type: 'call.status', timestamp: TS, data: { id: CALL, customer_id: OTHER, status: 'ringing' } });
  emu.publish({ event_type: 'agent.status', timestamp: TS, topic: `customer_id:${OTHER}:agent:${AGENT}`, data: { id: AGENT } });
  // The last event reaches all three, so once it is in, everything before it has been handled.
  emu.publish({ event_type: 'call.hangup', timestamp: TS, data: { id: CALL, customer_id: CUST } });
  await until(() => got.every((g) => g.length > 0 && g[g.length - 1].event_type === 'call.hangup'), 'the closing event everywhere');
  await delay(100);

  const seen = (g) => g.map((e) => `${e.event_type} ${e.topic}`);
  assert.deepEqual(seen(got[0]), [
    `call.status customer_id:${CUST}:call:${CALL}`, `call.status customer_id:${CUST}:call:${CALL2}`,
    `message.created customer_id:${CUST}:message:m-1`, `call.hangup customer_id:${CUST}:call:${CALL}`,
  ]);
  assert.deepEqual(seen(got[1]), [
    `call.status customer_id:${CUST}:call:${CALL}`, `call.status customer_id:${CUST}:call:${CALL2}`,
    `call.hangup customer_id:${CUST}:call:${CALL}`,
  ]);
  assert.deepEqual(seen(got[2]), [`call.status customer_id:${CUST}:call:${CALL}`, `call.hangup customer_id:${CUST}:call:${CALL}`]);
  // The emulator filters: what a client was not subscribed to never reached its socket.
  assert.deepEqual([everything, allCalls, oneCall].map((c) => [c.stats().received, c.stats().filtered, c.stats().delivered]),
    [[4, 0, 4], [3, 0, 3], [2, 0, 2]]);
  const s = emu.stats();
  assert.equal(s.eventsPublished, 6);
  assert.equal(s.eventsSent, 9);

  // Unfiltered, another customer's events do reach the sockets: the client must drop them itself.
  const report = await emu.scenario('blast', { count: 6, ids: 2, unfiltered: true, customerId: OTHER });
  assert.deepEqual([report.connections, report.events], [3, 18]);
  const clients = [everything, allCalls, oneCall];
  await until(() => clients.every((c) => c.stats().filtered === 6), 'the foreign events filtered');
  assert.deepEqual(clients.map((c) => [c.stats().received, c.stats().filtered, c.stats().delivered]),
    [[10, 6, 4], [9, 6, 3], [8, 6, 2]]);
  assert.deepEqual(got.map((g) => g.length), [4, 3, 2]);
});

for (const [label, token] of [
  ['a missing token', null],
  ['an invalid token', () => 'eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl'],
  ['an expired token', (emu) => emu.issueToken({ expiresIn: -10 })],
]) {
  test(`${label}: connect() rejects AUTH_FAILED 401 after exactly one upgrade attempt`, T, async (t) => {
    const { emu, log } = await emulator(t);
    const options = token ? { token: token(emu) } : { token: undefined };
    const c = client(t, emu, options);
    const events = record(c, ['state', 'reconnecting', 'close']);
    const r = await settle(c.connect());
    assert.ok(r.error instanceof RealtimeError, `connect() gave ${r.error}`);
    assert.equal(r.error.code, 'AUTH_FAILED');
    assert.equal(r.error.status, 401);
    assert.equal(r.error.message, 'the server refused the credential (HTTP 401)');
    await delay(300);
    assert.equal(c.state, 'closed');
    assert.deepEqual(events.filter((e) => e[0] === 'state').map((e) => e[1]), ['connecting', 'closed']);
    assert.equal(events.filter((e) => e[0] === 'reconnecting').length, 0);
    assert.equal(events[events.length - 1][0], 'close');
    assert.equal(events[events.length - 1][1].willReconnect, false);
    const s = emu.stats();
    assert.equal(s.upgradesRefused, 1);
    assert.equal(s.connectionsTotal, 0);
    assert.equal(log.connections.length, 0);
  });
}

// Each refusal: the refused pattern named exactly, the same call's accepted pattern released
// again on the server, nothing left subscribed, and the connection still usable.
async function refusal(t, claims, refused, allowed, next) {
  const { emu, log } = await emulator(t);
  const c = client(t, emu, { token: emu.issueToken(claims) });
  await c.connect();
  const r = await settle(c.subscribe([refused, allowed]));
  // The message names the refused topic after the server's text.
  expectRefused(r, 'PERMISSION_DENIED', [refused], `${DENIED}: ${refused}`);
  await until(() => log.unsubscribes.length === 1, 'the release of the accepted pattern');
  assert.deepEqual(log.subscribes.map((s) => s.topics), [[allowed]]);
  assert.deepEqual(log.unsubscribes.map((s) => s.topics), [[allowed]]);
  assert.equal(emu.stats().subscriptions, 0);
  assert.deepEqual(c.topics, []);
  assert.equal(c.state, 'connected');
  assert.equal(c.stats().patterns, 0);
  const sub = await c.subscribe(next);
  assert.deepEqual(sub.topics, [next]);
  assert.equal(emu.stats().subscriptions, 1);
  assert.equal(emu.stats().connectionsTotal, 1);
}

test('PERMISSION_DENIED: another customer\'s topic; the call\'s other pattern is released', T, async (t) => {
  await refusal(t, {}, `customer_id:${OTHER}:call:*`, messages, calls);
});

test('PERMISSION_DENIED: an agent token on a customer topic', T, async (t) => {
  await refusal(t, { agentId: AGENT }, calls, `agent_id:${AGENT}:call:*`, `agent_id:${AGENT}:message:*`);
});

test('PERMISSION_DENIED: an agent token on another agent\'s topic', T, async (t) => {
  await refusal(t, { agentId: AGENT }, `agent_id:${AGENT2}:call:*`, `agent_id:${AGENT}:call:*`, `agent_id:${AGENT}:call:${CALL}`);
});

test('an agent token on its own agent topic receives the events that agent owns, only those', T, async (t) => {
  const { emu, log } = await emulator(t);
  const c = client(t, emu, { token: emu.issueToken({ agentId: AGENT }) });
  const own = `agent_id:${AGENT}:call:*`;
  await c.subscribe(own);
  await until(() => log.subscribes.length === 1, 'the subscription applied');
  assert.equal(log.connections[0].agentId, AGENT);
  const got = collect(c);
  emu.publish(callEvent(CALL, { owner_type: 'agent', owner_id: AGENT }));
  emu.publish(callEvent(CALL2, { owner_type: 'agent', owner_id: AGENT2 }));
  emu.publish(callEvent(CALL2, { owner_type: '', owner_id: '' }));
  emu.publish({ event_type: 'message.created', timestamp: TS, data: { id: 'm-1', customer_id: CUST, owner_type: 'agent', owner_id: AGENT } });
  emu.publish({ event_type: 'call.hangup', timestamp: TS, data: { id: CALL, customer_id: CUST, owner_type: 'agent', owner_id: AGENT } });
  await until(() => got.length === 2, 'the two owned calls');
  await delay(100);
  assert.deepEqual(got.map((e) => [e.event_type, e.topic]), [
    ['call.status', `agent_id:${AGENT}:call:${CALL}`], ['call.hangup', `agent_id:${AGENT}:call:${CALL}`],
  ]);
  assert.deepStrictEqual(got[0].data, { id: CALL, customer_id: CUST, status: 'ringing', owner_type: 'agent', owner_id: AGENT });
  assert.equal(c.stats().received, 2);
});

test('more subscribe messages per second than rateLimit: RATE_LIMITED rejection, fine again a second later', T, async (t) => {
  const { emu, log } = await emulator(t, { rateLimit: 2 });
  const c = client(t, emu);
  const errors = [];
  c.on('error', (e) => errors.push(e));
  const started = performance.now();
  await c.subscribe(calls);
  await c.subscribe(messages);
  const third = `customer_id:${CUST}:agent:*`;
  const r = await settle(c.subscribe(third));
  assert.ok(performance.now() - started < 1000, 'the three messages must fall within one second');
  expectRefused(r, 'RATE_LIMITED', [third], 'rate limit exceeded: at most 2 subscribe/unsubscribe messages per second');
  assert.deepEqual(errors, []);
  assert.deepEqual(c.topics, [calls, messages]);
  assert.equal(c.state, 'subscribed');
  assert.equal(emu.stats().subscriptions, 2);
  assert.equal(emu.stats().errorsSent, 1);

  await delay(1100);
  await c.subscribe(third);
  assert.deepEqual(c.topics, [`customer_id:${CUST}:agent:*`, calls, messages]);
  await until(() => log.subscribes.length === 3, 'the third subscription applied');
  assert.deepEqual(log.subscribes.map((s) => s.topics), [[calls], [messages], [third]]);
  const got = collect(c);
  emu.publish({ event_type: 'agent.status', timestamp: TS, topic: `customer_id:${CUST}:agent:${AGENT}`, data: { id: AGENT } });
  await until(() => got.length === 1, 'the event on the pattern subscribed after the limit');
  assert.equal(got[0].topic, `customer_id:${CUST}:agent:${AGENT}`);
  assert.equal(emu.stats().connectionsTotal, 1);
});

test('a frozen customer: AUTH_FAILED 403, terminal even after the account is thawed', T, async (t) => {
  const { emu } = await emulator(t);
  emu.freeze(CUST);
  const c = client(t, emu);
  const events = record(c, ['state', 'reconnecting']);
  const r = await settle(c.connect());
  assert.ok(r.error instanceof RealtimeError);
  assert.equal(r.error.code, 'AUTH_FAILED');
  assert.equal(r.error.status, 403);
  assert.equal(r.error.message, 'the server refused the credential (HTTP 403)');
  emu.freeze(CUST, false);
  await delay(400);
  assert.equal(c.state, 'closed');
  assert.deepEqual(events.filter((e) => e[0] === 'state').map((e) => e[1]), ['connecting', 'closed']);
  assert.equal(events.filter((e) => e[0] === 'reconnecting').length, 0);
  assert.equal(emu.stats().upgradesRefused, 1);
  assert.equal(emu.stats().connectionsTotal, 0);
  // A later call says why the client ended: the terminal error itself.
  await assert.rejects(c.subscribe(calls), (err) => err === r.error);
});

test('refused upgrades with 429 Retry-After: the client waits at least that long, then connects', T, async (t) => {
  const { emu, log } = await emulator(t);
  emu.fault('refuseUpgrades', { status: 429, retryAfter: 1 });
  const c = client(t, emu);
  const reconnecting = [];
  c.on('reconnecting', (info) => reconnecting.push(info));
  c.once('reconnecting', () => {
    // Let the next attempt through: it must still wait the full Retry-After.
    emu.fault('refuseUpgrades', false);
  });
  const started = performance.now();
  const r = await settle(c.connect(), 8000);
  const openedAt = performance.now();
  assert.equal(r.error, undefined);
  assert.ok(openedAt - started >= 990, `connected after ${openedAt - started} ms`);
  assert.equal(reconnecting.length, 1);
  const { attempt, delay: waited, error } = reconnecting[0];
  assert.equal(attempt, 1);
  assert.ok(waited >= 1000, `delay ${waited}`);
  assert.ok(error instanceof RealtimeError);
  assert.equal(error.code, 'RATE_LIMITED');
  assert.equal(error.status, 429);
  assert.equal(error.retryAfter, 1000);
  await until(() => log.connections.length === 1, 'the emulator reporting the connection');
  assert.equal(emu.stats().upgradesRefused, 1);
  await c.subscribe(calls);
  await delay(100);
  assert.equal(log.connections.length, 1);
  assert.equal(c.state, 'subscribed');
});

test('disconnectAll: close (willReconnect), reconnecting, one resubscribe with every pattern, events again', T, async (t) => {
  const { emu, log } = await emulator(t);
  const c = client(t, emu);
  const one = `customer_id:${CUST}:call:${CALL}`;
  await c.subscribe(calls);
  await c.subscribe([messages, one]);
  await until(() => log.subscribes.length === 2, 'two subscribe messages');
  const events = record(c, ['close', 'state', 'reconnecting', 'open']);
  emu.disconnectAll();
  await until(() => c.state === 'subscribed' && log.subscribes.length === 3, 'the resubscribed connection');
  await delay(200);

  assert.deepEqual(events.map((e) => (e[0] === 'state' ? `state:${e[1]}` : e[0])), [
    'close', 'state:reconnecting', 'reconnecting', 'state:connecting', 'state:connected', 'open', 'state:subscribed',
  ]);
  const close = events[0][1];
  assert.equal(close.code, 1001);
  assert.equal(close.willReconnect, true);
  assert.equal(close.error.code, 'CLOSED');
  const again = events[2][1];
  assert.equal(again.attempt, 1);
  assert.equal(again.delay, 50);
  assert.equal(again.error.code, 'CLOSED');
  assert.equal(log.subscribes.length, 3);
  assert.equal(log.subscribes[2].connection, log.connections[1].connection);
  assert.deepEqual([...log.subscribes[2].topics].sort(), [calls, one, messages].sort());
  assert.equal(log.connections.length, 2);
  assert.equal(log.disconnects.length, 1);
  assert.equal(c.stats().reconnects, 1);
  assert.deepEqual(c.topics, [calls, one, messages].sort());

  const got = collect(c);
  emu.publish(callEvent(CALL));
  emu.publish({ event_type: 'message.created', timestamp: TS, data: { id: 'm-2', customer_id: CUST } });
  await until(() => got.length === 2, 'events after the reconnect');
  assert.deepEqual(got.map((e) => e.topic), [`customer_id:${CUST}:call:${CALL}`, `customer_id:${CUST}:message:m-2`]);
});

test('noPong: the client heartbeat reports HEARTBEAT_TIMEOUT and reconnects', T, async (t) => {
  // No server pings: they would count as traffic and keep the connection alive.
  const { emu, log } = await emulator(t, { pingInterval: 0 });
  const c = client(t, emu, { heartbeat: { interval: 100, timeout: 150 } });
  await c.subscribe(calls);
  await delay(400);
  assert.equal(c.state, 'subscribed', 'answered pings keep the connection');
  assert.equal(log.connections.length, 1);
  const errors = [];
  c.on('error', (e) => errors.push(e.code));
  const closes = record(c, ['close', 'reconnecting']);
  emu.fault('noPong');
  await until(() => errors.includes('HEARTBEAT_TIMEOUT'), 'the heartbeat timeout', 5000);
  emu.fault('noPong', false);
  await until(() => log.connections.length === 2 && c.state === 'subscribed', 'the reconnect');
  assert.deepEqual(errors, ['HEARTBEAT_TIMEOUT']);
  assert.equal(closes[0][0], 'close');
  assert.equal(closes[0][1].willReconnect, true);
  assert.equal(closes[0][1].error.code, 'HEARTBEAT_TIMEOUT');
  assert.equal(closes[1][0], 'reconnecting');
  assert.equal(closes[1][1].error.code, 'HEARTBEAT_TIMEOUT');
  const got = collect(c);
  emu.publish(callEvent(CALL));
  await until(() => got.length === 1, 'an event after the reconnect');
});

test('a malformed frame: MALFORMED_EVENT per frame, the events around it arrive, no reconnect', T, async (t) => {
  const { emu } = await emulator(t);
  const c = client(t, emu);
  await c.subscribe(calls);
  const errors = [];
  c.on('error', (e) => errors.push(e));
  const got = collect(c);
  emu.publish(callEvent(CALL));
  await until(() => got.length === 1, 'the first event');
  emu.fault('malformed');
  emu.fault('malformed', { text: 'not json at all' });
  emu.publish(callEvent(CALL2));
  await until(() => got.length === 2, 'the event after the malformed frames');
  await delay(100);
  assert.deepEqual(got.map((e) => e.data.id), [CALL, CALL2]);
  // Two faults back to back may be coalesced into one report carrying count 2.
  assert.deepEqual([...new Set(errors.map((e) => e.code))], ['MALFORMED_EVENT']);
  assert.equal(errors.reduce((n, e) => n + (e.count ?? 1), 0), 2);
  assert.equal(c.stats().malformed, 2);
  assert.equal(c.state, 'subscribed');
  assert.equal(emu.stats().connectionsTotal, 1);
});

test('a binary frame: PROTOCOL_ERROR, the events around it arrive, no reconnect', T, async (t) => {
  const { emu } = await emulator(t);
  const c = client(t, emu);
  await c.subscribe(calls);
  const errors = [];
  c.on('error', (e) => errors.push(e));
  const got = collect(c);
  emu.publish(callEvent(CALL));
  await until(() => got.length === 1, 'the first event');
  emu.fault('binary', { data: Buffer.from([1, 2, 3, 4, 5]) });
  emu.publish(callEvent(CALL2));
  await until(() => got.length === 2, 'the event after the binary frame');
  await delay(100);
  assert.deepEqual(got.map((e) => e.data.id), [CALL, CALL2]);
  assert.deepEqual(errors.map((e) => [e.code, e.message]), [['PROTOCOL_ERROR', 'unexpected binary frame of 5 bytes']]);
  assert.equal(c.state, 'subscribed');
  assert.equal(emu.stats().connectionsTotal, 1);
});

test('an oversized frame: PAYLOAD_TOO_LARGE, close 1009, reconnect, events before and after arrive', T, async (t) => {
  const { emu, log } = await emulator(t);
  const c = client(t, emu, { maxPayload: 4096 });
  await c.subscribe(calls);
  const errors = [];
  c.on('error', (e) => errors.push(e));
  const closes = record(c, ['close']);
  const got = collect(c);
  emu.publish(callEvent(CALL));
  await until(() => got.length === 1, 'the first event');
  emu.fault('oversized', { size: 10000 });
  await until(() => log.connections.length === 2 && c.state === 'subscribed', 'the reconnect');
  emu.publish(callEvent(CALL2));
  await until(() => got.length === 2, 'the event after the reconnect');
  await delay(100);
  assert.deepEqual(got.map((e) => e.data.id), [CALL, CALL2]);
  assert.deepEqual(errors.map((e) => e.code), ['PAYLOAD_TOO_LARGE']);
  assert.equal(errors[0].message, 'a message exceeded maxPayload (4096 bytes)');
  assert.equal(closes.length, 1);
  assert.equal(closes[0][1].code, 1009);
  assert.equal(closes[0][1].willReconnect, true);
  assert.equal(c.stats().reconnects, 1);
});

test('server pings are answered: connected over many ping periods; close() is seen by the emulator', T, async (t) => {
  const { emu, log } = await emulator(t, { pingInterval: 50, readTimeout: 1000 });
  const c = client(t, emu);
  const closes = record(c, ['close', 'reconnecting']);
  await c.subscribe(calls);
  await delay(1200);
  assert.deepEqual(closes, []);
  assert.equal(c.state, 'subscribed');
  const s = emu.stats();
  assert.ok(s.pingsSent >= 8, `pings sent: ${s.pingsSent}`);
  assert.ok(s.pongsReceived >= s.pingsSent - 1, `pongs ${s.pongsReceived} for ${s.pingsSent} pings`);
  assert.equal(s.timeouts, 0);
  assert.equal(s.connectionsTotal, 1);
  assert.equal(log.disconnects.length, 0);

  await c.close();
  await until(() => log.disconnects.length === 1, 'the emulator seeing the close');
  assert.equal(log.disconnects[0].connection, log.connections[0].connection);
  assert.equal(log.disconnects[0].reason, 'closed');
  assert.equal(emu.stats().connections, 0);
  assert.equal(closes.length, 1);
  assert.equal(closes[0][1].willReconnect, false);
});

test('unsubscribe: the emulator sees it and stops delivering that pattern', T, async (t) => {
  const { emu, log } = await emulator(t);
  const c = client(t, emu);
  await c.subscribe(calls);
  await c.subscribe(messages);
  await c.unsubscribe(calls);
  await until(() => log.unsubscribes.length === 1, 'the unsubscribe applied');
  assert.deepEqual(log.unsubscribes[0].topics, [calls]);
  assert.deepEqual(c.topics, [messages]);
  assert.equal(emu.stats().subscriptions, 1);
  const got = collect(c);
  emu.publish(callEvent(CALL));
  emu.publish({ event_type: 'message.created', timestamp: TS, data: { id: 'm-3', customer_id: CUST } });
  await until(() => got.length === 1, 'the message event');
  await delay(100);
  assert.deepEqual(got.map((e) => e.topic), [`customer_id:${CUST}:message:m-3`]);
  assert.equal(c.stats().received, 1);
  assert.equal(emu.stats().eventsSent, 1);
});

test('wss: a TLS emulator trusted through tls.ca works end to end', T, async (t) => {
  const { emu, log } = await emulator(t, {
    tls: { cert: fs.readFileSync(path.join(TLS_DIR, 'server.pem')), key: fs.readFileSync(path.join(TLS_DIR, 'server-key.pem')) },
  });
  assert.match(emu.url, /^wss:\/\/127\.0\.0\.1:\d+\/v1\.0\/ws$/);
  const c = client(t, emu, { tls: { ca: fs.readFileSync(path.join(TLS_DIR, 'ca.pem')) } });
  const sub = await c.subscribe(calls);
  await until(() => log.subscribes.length === 1, 'the subscription applied');
  const got = collect(sub);
  const ev = callEvent(CALL);
  emu.publish(ev);
  await until(() => got.length === 1, 'the event over wss');
  assert.deepStrictEqual(got, [{ event_type: 'call.status', timestamp: TS, topic: `customer_id:${CUST}:call:${CALL}`, data: ev.data }]);
  await c.close();
  await until(() => log.disconnects.length === 1, 'the emulator seeing the close');
  assert.equal(log.disconnects[0].reason, 'closed');
});
