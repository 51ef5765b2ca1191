'use strict';
// The emulator's documented dialect, checked on the wire with the npm `ws` client.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { startEmulator, open, connect, nextEvent, delay } = require('./helpers/emulator-ws');
const { until } = require('./helpers/util');

const CUST = '5013bc52-da9a-11ee-844f-2fa34248de28';
const OTHER = '11111111-2222-4333-8444-555555555555';
const AGENT = '98765432-4321-4321-4321-210987654321';
const CALL = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
const CALL2 = 'b1b2c3d4-e5f6-7890-abcd-ef1234567890';

const T = { timeout: 15000 };

function withToken(emu, claims) {
  return `${emu.url}?token=${emu.issueToken({ customerId: CUST, ...claims })}`;
}

function assertErrorBody(res, status, reason, message) {
  assert.equal(res.status, status);
  assert.match(res.headers['content-type'], /application\/json/);
  const body = JSON.parse(res.body);
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error), ['status', 'reason', 'message', 'request_id']);
  assert.equal(body.error.status, status);
  assert.equal(body.error.reason, reason);
  if (message) assert.equal(body.error.message, message);
  assert.match(body.error.request_id, /^[0-9a-f]{32}$/);
}

test('upgrade: missing, forged and expired tokens get HTTP 401 with a JSON body', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST });
  assertErrorBody(await open(emu.url), 401, 'Unauthorized', 'missing credentials: pass ?token=<jwt> or ?accesskey=<key>');

  const good = emu.issueToken({ customerId: CUST });
  const [h, p] = good.split('.');
  const forged = `${h}.${p}.${crypto.createHmac('sha256', 'not the secret').update(`${h}.${p}`).digest('base64url')}`;
  assertErrorBody(await open(`${emu.url}?token=${forged}`), 401, 'Unauthorized', 'invalid token');
  const tampered = `${h}.${Buffer.from(JSON.stringify({ customer_id: OTHER, permissions: ['admin'] })).toString('base64url')}.${good.split('.')[2]}`;
  assertErrorBody(await open(`${emu.url}?token=${tampered}`), 401, 'Unauthorized', 'invalid token');
  assertErrorBody(await open(`${emu.url}?token=not.a.jwt`), 401, 'Unauthorized', 'invalid token');
  assertErrorBody(await open(withToken(emu, { expiresIn: -5 })), 401, 'Unauthorized', 'token expired');
  assertErrorBody(await open(`${emu.url.replace('/v1.0/ws', '/v1.0/other')}?token=${good}`), 404, 'Not Found');

  const peer = await connect(t, `${emu.url}?token=${good}`);
  assert.equal(peer.ws.readyState, 1);
  const s = emu.stats();
  assert.equal(s.upgradesRefused, 6);
  assert.equal(s.connections, 1);
});

test('upgrade: frozen account 403, delegate token 200 without upgrade, access key in ?token=', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST, frozen: [OTHER] });
  assertErrorBody(await open(`${emu.url}?token=${emu.issueToken({ customerId: OTHER })}`), 403, 'Forbidden', 'the account is frozen');
  emu.freeze(OTHER, false);
  await connect(t, `${emu.url}?token=${emu.issueToken({ customerId: OTHER })}`);
  emu.freeze(CUST);
  assertErrorBody(await open(withToken(emu, {})), 403, 'Forbidden');
  emu.freeze(CUST, false);

  const delegate = await open(withToken(emu, { delegate: true }));
  assert.equal(delegate.status, 200);
  assert.equal(delegate.body, '{}');

  const key = emu.issueAccessKey({ customerId: CUST });
  const peer = await connect(t, `${emu.url}?token=${key}`);
  peer.send({ type: 'subscribe', topics: [`customer_id:${CUST}:call:*`] });
  await peer.waitFrames(1);
  assert.equal(peer.json[0].type, 'ack');
  assertErrorBody(await open(`${emu.url}?token=ak_unknown`), 401, 'Unauthorized', 'invalid access key');
});

test('subscribe and unsubscribe are acknowledged with the exact documented shape', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST });
  const peer = await connect(t, withToken(emu, {}));
  const upper = `customer_id:${CUST.toUpperCase()}:call:${CALL.toUpperCase()}`;
  peer.send({ type: 'subscribe', topics: [`customer_id:${CUST}:call:*`, upper] });
  await peer.waitFrames(1);
  assert.equal(peer.frames[0].text,
    `{"type":"ack","action":"subscribe","topics":["customer_id:${CUST}:call:*","customer_id:${CUST}:call:${CALL}"],"status":"success"}`);
  peer.send({ type: 'subscribe', topics: [`customer_id:${CUST}:call:*`] });
  peer.send({ type: 'unsubscribe', topics: [`customer_id:${CUST}:call:*`, `customer_id:${CUST}:message:*`] });
  await peer.waitFrames(3);
  assert.deepEqual(peer.json.slice(1), [
    { type: 'ack', action: 'subscribe', topics: [`customer_id:${CUST}:call:*`], status: 'success' },
    { type: 'ack', action: 'unsubscribe', topics: [`customer_id:${CUST}:call:*`, `customer_id:${CUST}:message:*`], status: 'success' },
  ]);
  assert.equal(emu.stats().subscriptions, 1);
  assert.equal(emu.stats().acksSent, 3);
});

test('PERMISSION_DENIED: other customer, agent permission on customer topics, other agent', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST });
  const denied = 'You do not have permission to subscribe to this topic';
  const admin = await connect(t, withToken(emu, { permissions: ['admin'] }));
  admin.send({ type: 'subscribe', topics: [`customer_id:${OTHER}:call:*`, `customer_id:${CUST}:call:*`, `agent_id:${AGENT}:call:*`] });
  await admin.waitFrames(1);
  await delay(100);
  // One answer per message: the error names the refused topics; the others are accepted silently.
  assert.deepEqual(admin.json, [
    { type: 'error', action: 'subscribe', topics: [`customer_id:${OTHER}:call:*`, `agent_id:${AGENT}:call:*`], code: 'PERMISSION_DENIED', message: denied },
  ]);
  emu.publish({ event_type: 'call.status', data: { id: CALL, customer_id: CUST } });
  await admin.waitFrames(2);
  assert.equal(admin.json[1].topic, `customer_id:${CUST}:call:${CALL}`);

  const manager = await connect(t, withToken(emu, { permissions: ['manager'] }));
  manager.send({ type: 'subscribe', topics: [`customer_id:${CUST}:message:*`] });
  await manager.waitFrames(1);
  assert.equal(manager.json[0].type, 'ack');

  const agent = await connect(t, withToken(emu, { agentId: AGENT, permissions: ['agent'] }));
  agent.send({ type: 'subscribe', topics: [`customer_id:${CUST}:call:*`] });
  agent.send({ type: 'subscribe', topics: [`agent_id:${OTHER}:call:*`] });
  agent.send({ type: 'subscribe', topics: [`agent_id:${AGENT}:call:*`] });
  await agent.waitFrames(3);
  assert.deepEqual(agent.json, [
    { type: 'error', action: 'subscribe', topics: [`customer_id:${CUST}:call:*`], code: 'PERMISSION_DENIED', message: denied },
    { type: 'error', action: 'subscribe', topics: [`agent_id:${OTHER}:call:*`], code: 'PERMISSION_DENIED', message: denied },
    { type: 'ack', action: 'subscribe', topics: [`agent_id:${AGENT}:call:*`], status: 'success' },
  ]);
  assert.equal(emu.stats().subscriptions, 3);
  assert.equal(emu.stats().acksSent, 2);
});

test('INVALID_TOPIC names the bad segment; the message\'s other topics are accepted without an ack', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST });
  const peer = await connect(t, withToken(emu, {}));
  peer.send({ type: 'subscribe', topics: [`customer_id:abc:call:*`, `customer_id:${CUST}:ca*:*`, `customer_id:${CUST}:call:*`, `customer_id:${OTHER}:call:*`] });
  await peer.waitFrames(2);
  assert.deepEqual(peer.json, [
    { type: 'error', action: 'subscribe', topics: ['customer_id:abc:call:*', `customer_id:${CUST}:ca*:*`], code: 'INVALID_TOPIC', message: 'scope_id "abc" is not a UUID' },
    { type: 'error', action: 'subscribe', topics: [`customer_id:${OTHER}:call:*`], code: 'PERMISSION_DENIED', message: 'You do not have permission to subscribe to this topic' },
  ]);
  assert.equal(emu.stats().subscriptions, 1);
  peer.send({ type: 'unsubscribe', topics: ['user_id:x:y:z'] });
  await peer.waitFrames(3);
  assert.deepEqual(peer.json[2], { type: 'error', action: 'unsubscribe', topics: ['user_id:x:y:z'], code: 'INVALID_TOPIC', message: 'scope "user_id" must be customer_id or agent_id' });
});

test('INVALID_MESSAGE for bad JSON, bad shapes and binary frames; the connection stays usable', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST });
  const peer = await connect(t, withToken(emu, {}));
  peer.send('{"type":"subscribe",');
  peer.send('[1,2]');
  peer.send({ type: 'hello', topics: [] });
  peer.send({ type: 'subscribe' });
  peer.send({ type: 'subscribe', topics: [] });
  peer.send({ type: 'subscribe', topics: ['a', 7] });
  peer.ws.send(Buffer.from([1, 2, 3]));
  peer.send({ type: 'subscribe', topics: [`customer_id:${CUST}:call:*`] });
  await peer.waitFrames(8);
  const shape = '"topics" must be a non-empty array of topic strings';
  assert.deepEqual(peer.json, [
    { type: 'error', action: '', topics: [], code: 'INVALID_MESSAGE', message: 'message is not valid JSON' },
    { type: 'error', action: '', topics: [], code: 'INVALID_MESSAGE', message: 'message must be a JSON object' },
    { type: 'error', action: 'hello', topics: [], code: 'INVALID_MESSAGE', message: '"type" must be "subscribe" or "unsubscribe"' },
    { type: 'error', action: 'subscribe', topics: [], code: 'INVALID_MESSAGE', message: shape },
    { type: 'error', action: 'subscribe', topics: [], code: 'INVALID_MESSAGE', message: shape },
    { type: 'error', action: 'subscribe', topics: ['a'], code: 'INVALID_MESSAGE', message: shape },
    { type: 'error', action: '', topics: [], code: 'INVALID_MESSAGE', message: 'binary frames are not supported; send JSON text' },
    { type: 'ack', action: 'subscribe', topics: [`customer_id:${CUST}:call:*`], status: 'success' },
  ]);
  assert.equal(emu.stats().messagesReceived, 8);
  assert.equal(emu.stats().errorsSent, 7);
});

test('RATE_LIMITED beyond rateLimit subscribe/unsubscribe messages per second, accepted again later', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST, rateLimit: 3 });
  const peer = await connect(t, withToken(emu, {}));
  const topic = `customer_id:${CUST}:call:*`;
  for (let i = 0; i < 5; i++) peer.send({ type: i % 2 ? 'unsubscribe' : 'subscribe', topics: [topic] });
  await peer.waitFrames(5);
  const limited = { type: 'error', action: 'subscribe', topics: [topic], code: 'RATE_LIMITED', message: 'rate limit exceeded: at most 3 subscribe/unsubscribe messages per second' };
  assert.deepEqual(peer.json.map((m) => m.type), ['ack', 'ack', 'ack', 'error', 'error']);
  assert.deepEqual(peer.json[3], { ...limited, action: 'unsubscribe' });
  assert.deepEqual(peer.json[4], limited);
  await delay(1050);
  peer.send({ type: 'subscribe', topics: [topic] });
  await peer.waitFrames(6);
  assert.equal(peer.json[5].type, 'ack');
});

test('events: wildcard routing, exact shape, other customers never see them, unsubscribe stops them', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST });
  const all = await connect(t, withToken(emu, {}));
  const one = await connect(t, withToken(emu, {}));
  const everything = await connect(t, withToken(emu, {}));
  const stranger = await connect(t, `${emu.url}?token=${emu.issueToken({ customerId: OTHER })}`);
  all.send({ type: 'subscribe', topics: [`customer_id:${CUST}:call:*`] });
  one.send({ type: 'subscribe', topics: [`customer_id:${CUST}:call:${CALL}`] });
  everything.send({ type: 'subscribe', topics: [`customer_id:${CUST}:*:*`] });
  stranger.send({ type: 'subscribe', topics: [`customer_id:${OTHER}:*:*`] });
  await Promise.all([all, one, everything, stranger].map((p) => p.waitFrames(1)));

  const ts = '2024-01-15T10:30:05.000000Z';
  emu.publish({ event_type: 'call.status', timestamp: ts, data: { id: CALL, customer_id: CUST, status: 'ringing' } });
  emu.publish({ event_type: 'call.status', timestamp: ts, data: { id: CALL2, customer_id: CUST, status: 'dialing' } });
  emu.publish({ event_type: 'message.received', timestamp: ts, data: { id: 'm-1', customer_id: CUST, text: 'hi' } });
  emu.publish({ event_type: 'agent.status', timestamp: ts, topic: `customer_id:${CUST.toUpperCase()}:agent:${AGENT}`, data: { id: AGENT, status: 'available' } });

  await all.waitFrames(3);
  await one.waitFrames(2);
  await everything.waitFrames(5);
  assert.equal(all.frames[1].text,
    `{"event_type":"call.status","timestamp":"${ts}","topic":"customer_id:${CUST}:call:${CALL}","data":{"id":"${CALL}","customer_id":"${CUST}","status":"ringing"}}`);
  assert.deepEqual(all.json.slice(1).map((e) => e.data.id), [CALL, CALL2]);
  assert.deepEqual(one.json.slice(1).map((e) => e.data.id), [CALL]);
  assert.deepEqual(everything.json.slice(1).map((e) => e.topic), [
    `customer_id:${CUST}:call:${CALL}`, `customer_id:${CUST}:call:${CALL2}`,
    `customer_id:${CUST}:message:m-1`, `customer_id:${CUST}:agent:${AGENT}`,
  ]);
  all.send({ type: 'unsubscribe', topics: [`customer_id:${CUST}:call:*`] });
  await all.waitFrames(4);
  emu.publish({ event_type: 'call.ended', data: { id: CALL, customer_id: CUST } });
  await everything.waitFrames(6);
  const last = everything.json[5];
  assert.equal(last.event_type, 'call.ended');
  assert.match(last.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  await delay(100);
  assert.equal(all.frames.length, 4);
  assert.equal(stranger.frames.length, 1);
  assert.deepEqual(one.json.slice(1).map((e) => e.event_type), ['call.status', 'call.ended']);
  const s = emu.stats();
  assert.equal(s.eventsPublished, 5);
  assert.equal(s.eventsSent, 2 + 2 + 5);
});

test('events owned by an agent also reach that agent\'s topic', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST });
  const agent = await connect(t, withToken(emu, { agentId: AGENT }));
  agent.send({ type: 'subscribe', topics: [`agent_id:${AGENT}:call:*`] });
  await agent.waitFrames(1);
  emu.publish({ event_type: 'call.created', data: { id: CALL, customer_id: CUST, owner_type: 'agent', owner_id: AGENT } });
  emu.publish({ event_type: 'call.created', data: { id: CALL2, customer_id: CUST, owner_type: '', owner_id: '' } });
  await agent.waitFrames(2);
  await delay(100);
  assert.equal(agent.frames.length, 2);
  assert.equal(agent.json[1].topic, `agent_id:${AGENT}:call:${CALL}`);
});

test('publish validates its input with typed errors', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST });
  assert.throws(() => emu.publish({ data: {} }), { code: 'INVALID_OPTION' });
  assert.throws(() => emu.publish({ event_type: 'call.status', data: { id: CALL } }), { code: 'INVALID_OPTION' });
  assert.throws(() => emu.publish({ event_type: 'call.status', topic: 'customer_id:x:call:1', data: {} }), { code: 'INVALID_TOPIC' });
  assert.throws(() => emu.publish({ event_type: 'call.status', topic: `customer_id:${CUST}:call:*`, data: {} }), { code: 'INVALID_OPTION' });
  assert.equal(emu.stats().eventsPublished, 0);
});

test('pings every pingInterval; a silent client is dropped after readTimeout', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST, pingInterval: 100, readTimeout: 60000 });
  const peer = await connect(t, withToken(emu, {}));
  const opened = Date.now();
  await until(() => peer.pings >= 4, 'four pings', 3000);
  const elapsed = Date.now() - opened;
  // Never faster than one per 100 ms (the ticker arms about when the peer sees its open, hence
  // the 50 ms of slack); a stalled machine may make them later, not more frequent.
  assert.ok(peer.pings <= Math.floor((elapsed + 50) / 100), `${peer.pings} pings in ${elapsed} ms`);
  await until(() => emu.stats().pongsReceived >= 4, 'four pongs at the emulator', 3000);

  const short = await startEmulator(t, { customerId: CUST, pingInterval: 100, readTimeout: 300 });
  const mute = await connect(t, withToken(short, {}), { autoPong: false });
  const started = Date.now();
  const closed = await mute.waitClose(2000);
  assert.equal(closed.code, 1006);
  assert.ok(Date.now() - started >= 250, 'dropped too early');
  assert.equal(short.stats().timeouts, 1);
});

test('a full outgoing buffer drops events silently and counts them', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST, bufferSize: 5 });
  const peer = await connect(t, withToken(emu, {}));
  peer.send({ type: 'subscribe', topics: [`customer_id:${CUST}:call:*`] });
  await peer.waitFrames(1);
  emu.fault('stall');
  for (let i = 0; i < 20; i++) emu.publish({ event_type: 'call.status', data: { id: `c-${i}`, customer_id: CUST } });
  await delay(100);
  emu.fault('stall', false);
  await peer.waitFrames(6);
  await delay(100);
  assert.deepEqual(peer.json.slice(1).map((e) => e.data.id), ['c-0', 'c-1', 'c-2', 'c-3', 'c-4']);
  assert.equal(emu.stats().eventsDropped, 15);
});

test('faults: malformed, binary and oversized frames, no pong, drop, refused upgrades', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST });
  const peer = await connect(t, withToken(emu, {}));
  emu.fault('malformed');
  emu.fault('malformed', { text: 'not json at all' });
  emu.fault('binary', { data: Buffer.from([9, 8, 7]) });
  emu.fault('oversized', { size: 100000 });
  await peer.waitFrames(4);
  assert.equal(peer.frames[0].text, '{"event_type":"call.status","timestamp":');
  assert.equal(peer.frames[1].text, 'not json at all');
  assert.deepEqual([...peer.frames[2].binary], [9, 8, 7]);
  assert.equal(peer.frames[3].text.length, 100000);
  assert.equal(JSON.parse(peer.frames[3].text).data.customer_id, CUST);

  emu.fault('noPong');
  let pongs = 0;
  peer.ws.on('pong', () => { pongs++; });
  peer.ws.ping();
  await delay(200);
  assert.equal(pongs, 0);
  emu.fault('noPong', false);
  const pong = new Promise((resolve) => peer.ws.once('pong', resolve));
  peer.ws.ping();
  await pong;
  await delay(50);
  assert.equal(pongs, 1);

  emu.fault('drop');
  assert.equal((await peer.waitClose()).code, 1006);

  emu.fault('refuseUpgrades', { status: 429, retryAfter: 7 });
  const refused = await open(withToken(emu, {}));
  assertErrorBody(refused, 429, 'Too Many Requests');
  assert.equal(refused.headers['retry-after'], '7');
  emu.fault('refuseUpgrades', { status: 503 });
  assert.equal((await open(withToken(emu, {}))).status, 503);
  emu.clearFaults();
  await connect(t, withToken(emu, {}));
});

test('a connection is registered before its 101: what follows the peer\'s open reaches it', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST });
  const peers = [];
  for (let i = 0; i < 40; i++) {
    const peer = await connect(t, withToken(emu, {}));
    // Synchronously on the peer's open: the emulator already counts it, and a one-shot fault
    // aimed at every current connection reaches it and every earlier one.
    assert.equal(emu.stats().connections, i + 1);
    emu.fault('malformed', { text: `after ${i}` });
    peers.push(peer);
  }
  for (let i = 0; i < peers.length; i++) {
    const frames = await peers[i].waitFrames(40 - i);
    assert.deepEqual(frames.map((f) => f.text), Array.from({ length: 40 - i }, (_, k) => `after ${i + k}`));
  }
  await delay(50);
  assert.deepEqual(peers.map((p) => p.frames.length), Array.from({ length: 40 }, (_, i) => 40 - i));
});

test('upgradeRateLimit answers 429 with Retry-After', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST, upgradeRateLimit: 2, retryAfter: 3 });
  await connect(t, withToken(emu, {}));
  await connect(t, withToken(emu, {}));
  const res = await open(withToken(emu, {}));
  assertErrorBody(res, 429, 'Too Many Requests', 'too many requests');
  assert.equal(res.headers['retry-after'], '3');
});

test('disconnectAll sends a close frame (1001 or the given code) in the documented dialect', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST });
  const a = await connect(t, withToken(emu, {}));
  const b = await connect(t, withToken(emu, {}));
  const gone = nextEvent(emu, 'disconnect');
  emu.disconnectAll({ code: 4000 });
  assert.equal((await a.waitClose()).code, 4000);
  assert.equal((await b.waitClose()).code, 4000);
  assert.equal(typeof (await gone).connection, 'number');
  const c = await connect(t, withToken(emu, {}));
  emu.disconnectAll({ abrupt: true });
  assert.equal((await c.waitClose()).code, 1006);
});

test('blast streams exactly count pre-serialized events to each subscribed connection', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST });
  const sub = await connect(t, withToken(emu, {}));
  const idle = await connect(t, withToken(emu, {}));
  sub.send({ type: 'subscribe', topics: [`customer_id:${CUST}:call:*`] });
  await sub.waitFrames(1);
  const report = await emu.scenario('blast', { count: 20000, size: 480 });
  await sub.waitFrames(20001, 10000);
  assert.equal(report.connections, 1);
  assert.equal(report.events, 20000);
  const first = sub.json[1];
  assert.equal(first.event_type, 'call.status');
  assert.deepEqual(Object.keys(first.data), ['id', 'customer_id', 'hangup_by', 'owner_type', 'owner_id', 'type', 'direction', 'tm_create', 'status', 'pad']);
  // `size` is the whole frame: a 4-byte header and 476 bytes of JSON, for every event.
  assert.deepEqual(new Set(sub.frames.slice(1).map((f) => Buffer.byteLength(f.text))), new Set([476]));
  assert.equal(report.bytes, 20000 * 480);
  assert.equal(new Set(sub.json.slice(1, 65).map((e) => e.data.id)).size, 64);
  assert.ok(report.wallMs > 0 && report.cpuMs >= 0 && report.eventsPerSecond > 0);
  assert.equal(idle.frames.length, 0);
  const s = emu.stats();
  assert.equal(s.blast.events, 20000);
  assert.equal(s.blast.running, false);
  assert.equal(s.eventsDropped, 0);

  const none = await emu.scenario('blast', { count: 10, customerId: OTHER });
  assert.equal(none.connections, 0);
  assert.equal(none.events, 0);
  assert.throws(() => emu.scenario('no-such-scenario'), { code: 'INVALID_OPTION', message: /one of blast, agents, callcenter/ });
});

test('a named scenario returns its handle synchronously; stop() ends it and emu.stop() stops it too', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST });
  const peer = await connect(t, withToken(emu, {}));
  peer.send({ type: 'subscribe', topics: [`customer_id:${CUST}:*:*`] });
  await peer.waitFrames(1);
  const handle = emu.scenario('callcenter', { seed: 1, rate: 200, durationScale: 0.1, customerId: CUST });
  assert.equal(typeof handle.then, 'undefined', 'a handle, not a Promise');
  assert.equal(typeof handle.stop, 'function');
  assert.equal(handle.error, null);
  await peer.waitFrames(2);
  const first = require('../lib/scenarios/callcenter').generate({ seed: 1, rate: 200, durationScale: 0.1, customerId: CUST, count: 50 })
    .find((e) => e.topic.startsWith(`customer_id:${CUST}:`));
  const got = JSON.parse(peer.frames[1].text);
  assert.deepEqual([got.event_type, got.topic], [first.event_type, first.topic]);
  handle.stop();
  assert.equal(await handle.done, undefined);
  const published = handle.published;
  assert.ok(published >= 1);
  await delay(300);
  assert.equal(handle.published, published, 'nothing published after stop()');

  const second = emu.scenario('callcenter', { seed: 2, rate: 200, customerId: CUST });
  await emu.stop();
  assert.equal(await second.done, undefined, 'emu.stop() stopped the scenario');
  assert.equal(second.error, null);
  assert.throws(() => emu.scenario('callcenter'), { code: 'CLOSED' });
  assert.throws(() => emu.scenario('callcenter', { rate: -1 }), { code: 'CLOSED' });
});

test('blast: frames down to ~300 bytes, and unfiltered sends the whole pool to every open connection', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST });
  const id = (i) => `b1a57000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  const one = await connect(t, withToken(emu, {}));
  const idle = await connect(t, withToken(emu, {}));
  const stranger = await connect(t, `${emu.url}?token=${emu.issueToken({ customerId: OTHER })}`);
  one.send({ type: 'subscribe', topics: [`customer_id:${CUST}:call:${id(0)}`] });
  await one.waitFrames(1);

  const report = await emu.scenario('blast', { count: 50, ids: 10, size: 300, unfiltered: true });
  assert.equal(report.connections, 3);
  assert.equal(report.events, 150);
  const statuses = ['dialing', 'ringing', 'progressing', 'terminating', 'hangup'];
  let bytes = 0;
  for (const [peer, skip] of [[one, 1], [idle, 0], [stranger, 0]]) {
    await peer.waitFrames(skip + 50);
    const events = peer.json.slice(skip);
    assert.equal(events.length, 50);
    events.forEach((e, k) => {
      const i = k % 10;
      // Only the required fields fit: the frame is as small as an event gets.
      assert.equal(JSON.stringify(e.data), `{"id":"${id(i)}","customer_id":"${CUST}","status":"${statuses[i % 5]}"}`);
      assert.equal(e.topic, `customer_id:${CUST}:call:${id(i)}`);
    });
    for (const f of peer.frames.slice(skip)) {
      const frame = Buffer.byteLength(f.text) + 4;
      assert.ok(frame >= 299 && frame <= 304, `frame of ${frame} bytes`);
      bytes += frame;
    }
  }
  assert.equal(report.bytes, bytes);

  // Without `unfiltered` only the matching event goes out, to the one connection that asked.
  const filtered = await emu.scenario('blast', { count: 3, ids: 10, size: 300 });
  assert.equal(filtered.connections, 1);
  assert.equal(filtered.events, 3);
  await one.waitFrames(1 + 50 + 3);
  assert.deepEqual(one.json.slice(51).map((e) => e.data.id), [id(0), id(0), id(0)]);
  await delay(100);
  assert.equal(idle.frames.length, 50);
  assert.equal(stranger.frames.length, 50);
  await assert.rejects(emu.scenario('blast', { unfiltered: 'yes' }), { code: 'INVALID_OPTION', message: /unfiltered/ });
});

test('paced blast: each event carries its send time on the machine clock, never ahead of the rate', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST, pingInterval: 0 });
  const id = (i) => `b1a57000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  const peers = [await connect(t, withToken(emu, {})), await connect(t, withToken(emu, {}))];
  const arrived = peers.map(() => []);
  for (const [k, p] of peers.entries()) {
    p.send({ type: 'subscribe', topics: [`customer_id:${CUST}:call:*`] });
    await p.waitFrames(1);
    p.ws.on('message', () => arrived[k].push(Number(process.hrtime.bigint()) / 1e6));
  }
  const rate = 2000;
  const count = 400;
  const report = await emu.scenario('blast', { count, ids: 8, size: 512, rate });
  assert.equal(report.connections, 2);
  assert.equal(report.events, 2 * count);
  assert.equal(report.bytes, 2 * count * 512);
  // Event k is not released before k / rate seconds: the last one no sooner than 199.5 ms in.
  assert.ok(report.wallMs >= ((count - 1) / rate) * 1000, `wallMs ${report.wallMs}`);
  for (const [k, p] of peers.entries()) {
    await p.waitFrames(1 + count);
    const events = p.json.slice(1);
    assert.equal(events.length, count);
    let last = 0;
    events.forEach((e, i) => {
      assert.equal(e.data.id, id(i % 8));
      assert.deepEqual(Object.keys(e.data), ['id', 'customer_id', 'sent', 'hangup_by', 'owner_type', 'owner_id', 'type', 'direction', 'tm_create', 'status', 'pad']);
      assert.equal(typeof e.data.sent, 'number');
      assert.ok(e.data.sent >= last, `event ${i}: sent ${e.data.sent} before ${last}`);
      last = e.data.sent;
      // The clock is process.hrtime's: a stamp precedes its own arrival, by less than a second.
      const lag = arrived[k][i] - e.data.sent;
      assert.ok(lag >= 0 && lag < 1000, `event ${i}: arrived ${lag} ms after its stamp`);
    });
    assert.deepEqual(new Set(p.frames.slice(1).map((f) => Buffer.byteLength(f.text))), new Set([508]));
    // Stamped in place: the slot is padded to a fixed width, so every frame keeps its size.
    assert.match(p.frames[1].text, /"sent": *\d+\.\d{6},"hangup_by"/);
    // 400 events over at least 199.5 ms cannot all share a few stamps.
    assert.ok(new Set(events.map((e) => e.data.sent)).size > 20);
  }
  assert.equal(emu.stats().eventsDropped, 0);

  for (const bad of [-1, Number.NaN, Infinity, 2e9, '100']) {
    await assert.rejects(emu.scenario('blast', { count: 1, rate: bad }), { code: 'INVALID_OPTION', message: /rate/ });
  }
  assert.equal(emu.stats().blast.running, false);
});

test('paced blast: a connection that goes away, or stop(), ends it with a report', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST, pingInterval: 0 });
  const p = await connect(t, withToken(emu, {}));
  p.send({ type: 'subscribe', topics: [`customer_id:${CUST}:call:*`] });
  await p.waitFrames(1);
  const blast = emu.scenario('blast', { count: 1e9, rate: 1000 });
  await p.waitFrames(1 + 20);
  p.ws.terminate();
  const report = await blast;
  assert.equal(report.connections, 1);
  assert.ok(report.events >= 20 && report.events < 1e9, `events ${report.events}`);
  assert.equal(emu.stats().blast.running, false);

  // Another blast, paced, with the emulator stopped under it.
  const q = await connect(t, withToken(emu, {}));
  q.send({ type: 'subscribe', topics: [`customer_id:${CUST}:call:*`] });
  await q.waitFrames(1);
  const second = emu.scenario('blast', { count: 1e9, rate: 1000 });
  await q.waitFrames(1 + 5);
  await emu.stop();
  const r2 = await second;
  assert.equal(r2.connections, 1);
  assert.ok(r2.events >= 5 && r2.events < 1e9, `events ${r2.events}`);
});

test('one subscribe message of 50,000 topics is acknowledged at once, de-duplicated and routed', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST, pingInterval: 0 });
  const peer = await connect(t, withToken(emu, {}));
  const id = (i) => `0ddba11d-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  const topics = [];
  // Scattered order, upper-case duplicates of every tenth topic after it.
  for (let k = 0; k < 50000; k++) {
    const i = (k * 7919) % 50000;
    topics.push(`customer_id:${CUST}:call:${id(i)}`);
    if (k % 10 === 0) topics.push(`customer_id:${CUST}:call:${id(i).toUpperCase()}`);
  }
  assert.equal(topics.length, 55000);
  const unique = (list) => [...new Set(list.map((x) => x.toLowerCase()))];
  peer.send({ type: 'subscribe', topics });
  // Linear handling answers in well under a second; the former quadratic one took about 6 s.
  await peer.waitFrames(1, 5000);
  const ack = peer.json[0];
  assert.equal(ack.type, 'ack');
  assert.equal(ack.topics.length, 50000);
  assert.deepEqual(ack.topics, unique(topics));
  assert.equal(emu.stats().subscriptions, 50000);
  for (let i = 0; i < 100; i++) emu.publish({ event_type: 'call.status', data: { id: id(i * 499), customer_id: CUST, status: 'ringing' } });
  emu.publish({ event_type: 'call.status', data: { id: CALL, customer_id: CUST, status: 'ringing' } });
  await peer.waitFrames(101, 5000);
  await delay(100);
  assert.equal(peer.frames.length, 101);
  assert.deepEqual(peer.json.slice(1).map((e) => e.data.id), Array.from({ length: 100 }, (_, i) => id(i * 499)));
  peer.send({ type: 'unsubscribe', topics: topics.slice(0, 20000) });
  await peer.waitFrames(102, 5000);
  const removed = unique(topics.slice(0, 20000));
  assert.equal(removed.length, 18181);
  assert.deepEqual(peer.json[101], { type: 'ack', action: 'unsubscribe', topics: removed, status: 'success' });
  assert.equal(emu.stats().subscriptions, 50000 - 18181);
});

test('wss with a certificate from options', T, async (t) => {
  const fs = require('node:fs');
  const path = require('node:path');
  const dir = path.join(__dirname, 'fixtures', 'tls');
  const emu = await startEmulator(t, {
    customerId: CUST,
    tls: { cert: fs.readFileSync(path.join(dir, 'server.pem')), key: fs.readFileSync(path.join(dir, 'server-key.pem')) },
  });
  assert.match(emu.url, /^wss:\/\/127\.0\.0\.1:\d+\/v1\.0\/ws$/);
  const WebSocket = require('ws');
  const ws = new WebSocket(`${emu.url}?token=${emu.issueToken({})}`, { ca: fs.readFileSync(path.join(dir, 'ca.pem')), servername: 'localhost' });
  t.after(() => ws.terminate());
  const msg = new Promise((resolve, reject) => {
    ws.on('message', (d) => resolve(JSON.parse(d.toString())));
    ws.on('error', reject);
  });
  ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', topics: [`customer_id:${CUST}:call:*`] })));
  assert.deepEqual(await msg, { type: 'ack', action: 'subscribe', topics: [`customer_id:${CUST}:call:*`], status: 'success' });
});

test('options are validated with INVALID_OPTION', T, async () => {
  const { Emulator } = require('../lib/emulator.js');
  await assert.rejects(Emulator.start({ dialect: 'v2' }), { code: 'INVALID_OPTION', message: /dialect/ });
  await assert.rejects(Emulator.start({ port: 70000 }), { code: 'INVALID_OPTION', message: /port/ });
  await assert.rejects(Emulator.start({ tls: { cert: 'x' } }), { code: 'INVALID_OPTION', message: /tls\.cert/ });
  await assert.rejects(Emulator.start({ nope: 1 }), { code: 'INVALID_OPTION' });
  await assert.rejects(Emulator.start({ host: '256.0.0.1' }), { code: 'INVALID_OPTION', message: 'Expected an IP address string for host but received "256.0.0.1"' });
});
