'use strict';
// The emulator's live dialect (docs/protocol-voipbin.md section 2), checked with the npm `ws` client.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startEmulator, open, connect, nextEvent, delay } = require('./helpers/emulator-ws');

const FRAMES = fs.readFileSync(path.join(__dirname, 'fixtures', 'live-frames.jsonl'), 'utf8')
  .split('\n').filter(Boolean).map((l) => JSON.parse(l));
const CUST = '5013bc52-da9a-11ee-844f-2fa34248de28';
const AGENT = '98765432-4321-4321-4321-210987654321';
const OTHER = '11111111-2222-4333-8444-555555555555';
const T = { timeout: 15000 };

function sample(eventType) {
  const f = FRAMES.find((x) => x.event_type === eventType && x.wire === 'bare');
  assert.ok(f, `fixture for ${eventType}`);
  return f.frame;
}

const CALL_ELSEWHERE = 'c0c0c0c0-0000-4000-8000-000000000001';

/** Unsubscribes and waits until the emulator applied it. */
async function unsubscribeAll(emu, peer, topics) {
  const applied = nextEvent(emu, 'unsubscribe', (e) => e.topics.join() === topics.join());
  peer.send({ type: 'unsubscribe', topics });
  await applied;
}

async function live(t, options) {
  return startEmulator(t, { dialect: 'live', customerId: CUST, ...options });
}

/** Subscribes and waits until the emulator applied it (the live dialect sends no ack). */
async function subscribe(emu, peer, topics) {
  const applied = nextEvent(emu, 'subscribe', (e) => e.topics.join() === topics.join());
  peer.send({ type: 'subscribe', topics });
  await applied;
}

test('live: events are bare resource frames, byte for byte', T, async (t) => {
  const emu = await live(t);
  const peer = await connect(t, `${emu.url}?token=${emu.issueToken({})}`);
  await subscribe(emu, peer, [`customer_id:${CUST}:call:call_`]);
  const data = sample('call_ringing');
  emu.publish({ event_type: 'call_ringing', data });
  emu.publish({ event_type: 'call.hangup', data: sample('call_hangup') });
  await peer.waitFrames(2);
  assert.equal(peer.frames[0].text, JSON.stringify(data));
  assert.deepEqual(JSON.parse(peer.frames[1].text), sample('call_hangup'));
});

test('live: a 3-part prefix gets every event twice, the 5-part form once, ids once, * never', T, async (t) => {
  const emu = await live(t);
  const url = `${emu.url}?token=${emu.issueToken({})}`;
  const data = sample('call_ringing');
  const peers = {};
  const topics = {
    three: `customer_id:${CUST}:call`,
    five: `customer_id:${CUST}:call:call_`,
    id: `customer_id:${CUST}:call:${data.id}`,
    star: `customer_id:${CUST}:call:*`,
    upper: `customer_id:${CUST.toUpperCase()}:call`,
    queue: `customer_id:${CUST}:queue`,
    queueColon: `customer_id:${CUST}:queue:`,
  };
  for (const [name, topic] of Object.entries(topics)) {
    peers[name] = await connect(t, url);
    await subscribe(emu, peers[name], [topic]);
  }
  emu.publish({ event_type: 'call_ringing', data });
  emu.publish({ event_type: 'queuecall_waiting', data: sample('queuecall_waiting') });
  const expected = { three: 2, five: 1, id: 1, star: 0, upper: 0, queue: 2, queueColon: 0 };
  await Promise.all(Object.entries(expected).map(([k, n]) => peers[k].waitFrames(n)));
  await delay(150);
  const counts = Object.fromEntries(Object.entries(peers).map(([k, p]) => [k, p.frames.length]));
  assert.deepEqual(counts, expected);
  for (const name of ['star', 'upper', 'queueColon']) assert.equal(peers[name].ws.readyState, 1);
  assert.equal(emu.stats().eventsSent, 2 + 1 + 1 + 2);
});

test('live: agent_id routes carry owned resources only; events arrive on both routes', T, async (t) => {
  const emu = await live(t);
  const agent = await connect(t, `${emu.url}?token=${emu.issueToken({ agentId: AGENT, permissions: ['agent', 'admin'] })}`);
  await subscribe(emu, agent, [`agent_id:${AGENT}:`, `customer_id:${CUST}:call:call_`]);
  const call = sample('call_hangup');
  emu.publish({ event_type: 'call_hangup', data: call });
  emu.publish({ event_type: 'queuecall_serviced', data: { ...sample('queuecall_serviced'), owner_type: 'agent', owner_id: AGENT } });
  emu.publish({ event_type: 'recording_finished', data: sample('recording_finished') });
  await agent.waitFrames(5);
  await delay(150);
  // call: agent route twice (both topics) + customer 5-part once; recording: agent route twice.
  const ids = agent.json.map((f) => f.id);
  assert.equal(ids.filter((id) => id === call.id).length, 3);
  assert.equal(ids.filter((id) => id === sample('recording_finished').id).length, 2);
  assert.equal(ids.length, 5);
});

test('live: an invalid or forbidden topic closes the socket without a close frame, nothing applied', T, async (t) => {
  const emu = await live(t);
  const token = emu.issueToken({});
  const cases = [
    [`customer_id:${CUST}:call`, 'customer_id:not-a-uuid:call'],
    [`customer_id:${OTHER}:call`],
    [`agent_id:${AGENT}:call`],
    ['user_id:x'],
  ];
  for (const topics of cases) {
    const peer = await connect(t, `${emu.url}?token=${token}`);
    const gone = nextEvent(emu, 'disconnect');
    peer.send({ type: 'subscribe', topics });
    assert.equal((await peer.waitClose()).code, 1006, JSON.stringify(topics));
    assert.equal((await gone).reason, 'invalid or forbidden topic');
  }
  // A topic list that does not decode as strings is a bad message, and bad messages are ignored.
  const typed = await connect(t, `${emu.url}?token=${token}`);
  typed.send({ type: 'subscribe', topics: [42] });
  await delay(150);
  assert.equal(typed.ws.readyState, 1);
  assert.equal(emu.stats().subscriptions, 0);
  assert.equal(emu.stats().acksSent + emu.stats().errorsSent, 0);

  const manager = await connect(t, `${emu.url}?token=${emu.issueToken({ permissions: ['agent'] })}`);
  manager.send({ type: 'unsubscribe', topics: [`customer_id:${CUST}:call`] });
  assert.equal((await manager.waitClose()).code, 1006);
});

test('live: no acks; bad JSON and unknown shapes are ignored; a binary frame closes', T, async (t) => {
  const emu = await live(t);
  const peer = await connect(t, `${emu.url}?token=${emu.issueToken({})}`);
  peer.send('{"type":');
  peer.send({ type: 'hello' });
  peer.send({ type: 'subscribe', topics: 'x' });
  await subscribe(emu, peer, [`customer_id:${CUST}:message`]);
  peer.send({ type: 'subscribe', topics: [`customer_id:${CUST}:message`] });
  peer.send({ type: 'unsubscribe', topics: [`customer_id:${CUST}:agent`] });
  await delay(200);
  assert.equal(peer.frames.length, 0);
  assert.equal(peer.ws.readyState, 1);
  assert.equal(emu.stats().subscriptions, 1);
  emu.publish({ event_type: 'message_created', data: sample('message_created') });
  await peer.waitFrames(2);
  peer.ws.send(Buffer.from('{}'));
  assert.equal((await peer.waitClose()).code, 1006);
});

test('live: access keys in ?accesskey= or the cookie; ?token= takes only JWTs; keys have no agent', T, async (t) => {
  const emu = await live(t);
  const key = emu.issueAccessKey({ customerId: CUST });
  const byQuery = await connect(t, `${emu.url}?accesskey=${key}`);
  await subscribe(emu, byQuery, [`customer_id:${CUST}:call`]);
  const byCookie = await connect(t, emu.url, { headers: { Cookie: `other=1; accesskey=${key}` } });
  await subscribe(emu, byCookie, [`customer_id:${CUST}:agent`]);
  const refused = await open(`${emu.url}?token=${key}`);
  assert.equal(refused.status, 401);
  assert.equal(JSON.parse(refused.body).error.message, 'invalid token');
  byQuery.send({ type: 'subscribe', topics: [`agent_id:${AGENT}:call`] });
  assert.equal((await byQuery.waitClose()).code, 1006);
});

test('live: 401, 403 frozen and 429 with Retry-After at the upgrade', T, async (t) => {
  const emu = await live(t, { upgradeRateLimit: 3, retryAfter: 2, frozen: [OTHER] });
  assert.equal((await open(emu.url)).status, 401);
  const frozen = await open(`${emu.url}?token=${emu.issueToken({ customerId: OTHER })}`);
  assert.equal(frozen.status, 403);
  assert.deepEqual(Object.keys(JSON.parse(frozen.body).error), ['status', 'reason', 'message', 'request_id']);
  await connect(t, `${emu.url}?token=${emu.issueToken({})}`);
  const limited = await open(`${emu.url}?token=${emu.issueToken({})}`);
  assert.equal(limited.status, 429);
  assert.equal(limited.headers['retry-after'], '2');
  assert.equal(JSON.parse(limited.body).error.status, 429);
});

test('live: the old {type,data} wrapper when liveWrapper is set', T, async (t) => {
  const emu = await live(t, { liveWrapper: true });
  const peer = await connect(t, `${emu.url}?token=${emu.issueToken({})}`);
  await subscribe(emu, peer, [`customer_id:${CUST}:call:call_hangup`]);
  const data = sample('call_hangup');
  emu.publish({ event_type: 'call.hangup', data });
  await peer.waitFrames(1);
  assert.equal(peer.frames[0].text, `{"type":"call_hangup","data":${JSON.stringify(data)}}`);
});

test('live: 2000-event buffer per connection with silent drops', T, async (t) => {
  const emu = await live(t);
  const peer = await connect(t, `${emu.url}?token=${emu.issueToken({})}`);
  await subscribe(emu, peer, [`customer_id:${CUST}:message:message_`]);
  emu.fault('stall');
  const base = sample('message_created');
  for (let i = 0; i < 2100; i++) emu.publish({ event_type: 'message_created', data: { ...base, id: `m-${i}` } });
  await delay(200);
  assert.equal(emu.stats().eventsDropped, 100);
  emu.fault('stall', false);
  await peer.waitFrames(2000);
  await delay(200);
  assert.equal(peer.frames.length, 2000);
  assert.equal(peer.json[1999].id, 'm-1999');
});

test('live: ping every pingInterval; only a pong extends the read deadline', T, async (t) => {
  const emu = await live(t, { pingInterval: 100, readTimeout: 400 });
  const token = emu.issueToken({});
  const answering = await connect(t, `${emu.url}?token=${token}`);
  const chatty = await connect(t, `${emu.url}?token=${token}`, { autoPong: false });
  const keepTalking = setInterval(() => chatty.send({ type: 'subscribe', topics: [`customer_id:${CUST}:call`] }), 50);
  t.after(() => clearInterval(keepTalking));
  const started = Date.now();
  assert.equal((await chatty.waitClose(2000)).code, 1006);
  clearInterval(keepTalking);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 350 && elapsed < 1000, `dropped after ${elapsed} ms`);
  await delay(600);
  assert.equal(answering.ws.readyState, 1);
  assert.ok(answering.pings >= 8, `pings: ${answering.pings}`);
  assert.equal(emu.stats().timeouts, 1);
});

test('live: disconnectAll and stop are bare TCP closes', T, async (t) => {
  const emu = await live(t);
  const a = await connect(t, `${emu.url}?token=${emu.issueToken({})}`);
  emu.disconnectAll({ code: 4000 });
  assert.equal((await a.waitClose()).code, 1006);
  const b = await connect(t, `${emu.url}?token=${emu.issueToken({})}`);
  await emu.stop();
  assert.equal((await b.waitClose()).code, 1006);
  await emu.stop();
  assert.throws(() => emu.publish({ event_type: 'call_created', data: sample('call_ringing') }), { code: 'CLOSED' });
});

test('live: blast counts each copy a prefix receives', T, async (t) => {
  const emu = await live(t);
  const peer = await connect(t, `${emu.url}?token=${emu.issueToken({})}`);
  await subscribe(emu, peer, [`customer_id:${CUST}:call`]);
  const report = await emu.scenario('blast', { count: 1000, ids: 10, size: 300 });
  await peer.waitFrames(1000);
  assert.equal(report.events, 1000);
  // `size` is the whole frame: 296 bytes of bare resource JSON and a 4-byte header.
  assert.deepEqual(new Set(peer.frames.map((f) => Buffer.byteLength(f.text))), new Set([296]));
  assert.equal(report.bytes, 1000 * 300);
  // A bare call, recognisable as one by its hangup_by (a live frame names no event); resource
  // did not fit in 300 bytes.
  assert.deepEqual(Object.keys(peer.json[0]),
    ['id', 'customer_id', 'hangup_by', 'owner_type', 'owner_id', 'type', 'direction', 'tm_create', 'status', 'pad']);
  // Each pool event goes out twice in a row (both of its topics match the 3-part prefix).
  assert.equal(peer.json[0].id, peer.json[1].id);
  assert.equal(new Set(peer.json.map((e) => e.id)).size, 10);
});

test('live: 50,000 prefixes of mixed lengths: each route is matched, unsubscribing keeps the rest exact', T, async (t) => {
  const emu = await live(t, { pingInterval: 0 });
  const peer = await connect(t, `${emu.url}?token=${emu.issueToken({})}`);
  const id = (i) => `0ddba11d-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  const many = Array.from({ length: 50000 }, (_, k) => `customer_id:${CUST}:call:${id((k * 7919) % 50000)}`);
  await subscribe(emu, peer, many);
  // Routing looks prefixes up by length rather than comparing with each: 4,000 unmatched routes
  // cost a few ms of the io thread's CPU (comparing each with 50,000 prefixes took about 650 ms).
  const cpu0 = emu.stats().cpuMs;
  for (let i = 0; i < 2000; i++) emu.publish({ event_type: 'call_hangup', data: { ...sample('call_hangup'), id: CALL_ELSEWHERE } });
  emu.publish({ event_type: 'call_hangup', data: { ...sample('call_hangup'), id: many[0].split(':')[3] } });
  await peer.waitFrames(1);
  assert.ok(emu.stats().cpuMs - cpu0 < 200, `routing took ${emu.stats().cpuMs - cpu0} ms of CPU`);
  peer.frames.length = 0;

  await subscribe(emu, peer, [`customer_id:${CUST}:queue`, `customer_id:${CUST}:call:call_ring`, many[0]]);
  assert.equal(emu.stats().subscriptions, 50002);

  const ringing = { ...sample('call_ringing'), id: id(7) };
  const stranger = { ...sample('call_hangup'), id: CALL_ELSEWHERE };
  const queued = sample('queuecall_waiting');
  const publishAll = () => {
    emu.publish({ event_type: 'call_ringing', data: ringing });
    emu.publish({ event_type: 'call_hangup', data: stranger });
    emu.publish({ event_type: 'queuecall_waiting', data: queued });
  };
  publishAll();
  // ringing: its id route (one of the 50,000) and its typed route (call:call_ring); queued: both
  // routes under the 3-part queue prefix; the unknown hung-up call: no route matches.
  await peer.waitFrames(4);
  await delay(150);
  assert.deepEqual(peer.json.map((f) => f.id), [id(7), id(7), queued.id, queued.id]);

  await unsubscribeAll(emu, peer, [`customer_id:${CUST}:queue`, `customer_id:${CUST}:call:${id(7)}`]);
  assert.equal(emu.stats().subscriptions, 50000);
  publishAll();
  await peer.waitFrames(5);
  await delay(150);
  assert.deepEqual(peer.json.slice(4).map((f) => f.id), [id(7)]);

  await unsubscribeAll(emu, peer, [`customer_id:${CUST}:call:call_ring`, ...many]);
  assert.equal(emu.stats().subscriptions, 0);
  publishAll();
  await delay(150);
  assert.equal(peer.frames.length, 5);
});
