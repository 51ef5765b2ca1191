'use strict';
// dialect: 'live' against a `ws` server that behaves like production (test/helpers/live-server.js):
// frame shapes, wire prefixes, local matching, de-duplication, settle-based outcomes.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { RealtimeError } = require('..');
const { makeClient, until, settle, delay } = require('./helpers/util');
const { startLiveServer, fakeJwt } = require('./helpers/live-server');

const T = { timeout: 20000 };
const SETTLE = 150;
const CUST = '5013bc52-da9a-11ee-844f-2fa34248de28';
const AGENT = '98765432-4321-4321-4321-210987654321';
const OTHER = '11111111-2222-4333-8444-555555555555';
const CALL = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
const FRAMES = fs.readFileSync(path.join(__dirname, 'fixtures', 'live-frames.jsonl'), 'utf8')
  .split('\n').filter(Boolean).map((l) => JSON.parse(l));

const { counterparts } = require('../schema/events');

// The documented event_type a live event is delivered under (docs/protocol-voipbin.md).
function documentedName(live, data) {
  const row = counterparts.find((c) => c.live === live && Object.entries(c.when || {}).every(([k, v]) => data[k] === v));
  return row ? row.documented : live;
}

function resourceOf(eventType) {
  return ['queuecall', 'activeflow', 'conference', 'recording', 'transcribe', 'transcript', 'message', 'agent', 'call']
    .find((r) => eventType.startsWith(`${r}_`));
}

/** The event a fixture line must become. */
function expected(line) {
  const data = line.wire === 'wrapped' ? line.frame.data : line.frame;
  return {
    event_type: documentedName(line.event_type, data),
    server_event_type: line.event_type,
    timestamp: data.tm_update || data.tm_create,
    topic: `customer_id:${data.customer_id}:${resourceOf(line.event_type)}:${data.id}`,
    data,
  };
}

function plain(e) {
  return { event_type: e.event_type, server_event_type: e.server_event_type, timestamp: e.timestamp, topic: e.topic, data: e.data };
}

async function liveClient(t, extra = {}) {
  const server = await startLiveServer(t, extra.server);
  const options = { url: server.url, token: fakeJwt({ customer_id: CUST }), dialect: 'live', settleTime: SETTLE, ...extra };
  delete options.server;
  const client = makeClient(t, options);
  await client.connect();
  return { server, client };
}

test('live: every fixture frame shape becomes {event_type, timestamp, topic, data}; the repeat is removed', T, async (t) => {
  const { server, client } = await liveClient(t);
  assert.equal(client.dialect, 'live');
  const got = [];
  client.on('event', (e) => got.push(plain(e)));
  const started = performance.now();
  await client.subscribe(`customer_id:${CUST}:*:*`);
  assert.ok(performance.now() - started >= SETTLE - 5, 'resolved only after the settle time');
  assert.deepEqual(server.sent(), [{ type: 'subscribe', topics: [`customer_id:${CUST}:`] }]);
  const bare = FRAMES.filter((l) => l.wire === 'bare');
  assert.equal(bare.length, 13);
  await server.send(...bare.map((l) => l.frame));
  await until(() => got.length === 12 && client.stats().received === 13, '12 events');
  const wanted = bare.filter((_, i) => i !== 3).map(expected);
  assert.deepStrictEqual(got, wanted);
  assert.deepEqual(got.map((e) => e.server_event_type), [
    'call_ringing', 'call_progressing', 'call_hangup', 'message_created', 'activeflow_updated',
    'queuecall_waiting', 'queuecall_serviced', 'agent_status_updated', 'conference_updated',
    'recording_finished', 'transcribe_done', 'transcript_created',
  ]);
  // documented names where the docs have a counterpart, the live name otherwise
  assert.deepEqual(got.map((e) => e.event_type), [
    'call.status', 'call.status', 'call.ended', 'message.received', 'activeflow.updated',
    'queue.joined', 'queue.connected', 'agent.status', 'conference_updated',
    'recording.completed', 'transcription.completed', 'transcript_created',
  ]);
  // the envelope's own keys, in order: server_event_type right after event_type
  const raw = [];
  client.once('event', (e) => raw.push(Object.keys(e)));
  await server.send({ ...FRAMES[1].frame, tm_update: '2026-10-07T10:30:06.000Z' });
  await until(() => raw.length === 1, 'one more event');
  assert.deepEqual(raw[0], ['event_type', 'server_event_type', 'timestamp', 'topic', 'data']);
  // the call's own top-level `type` ("flow") stays in data
  assert.equal(got[0].data.type, 'flow');
  assert.equal(got[8].data.type, wanted[8].data.type);
  const s = client.stats();
  assert.equal(s.duplicates, 1);
  assert.equal(s.delivered, 13);
  assert.equal(s.filtered, 0);
});

test('live: listeners on the documented name and on the live name both fire, once each; event once', T, async (t) => {
  const { server, client } = await liveClient(t);
  const sub = await client.subscribe(`customer_id:${CUST}:call:*`);
  const heard = [];
  for (const name of ['call.status', 'call_ringing', 'call_progressing', 'call.ended', 'call_hangup', 'event']) {
    client.on(name, (e) => heard.push(['client', name, e.server_event_type]));
    sub.on(name, (e) => heard.push(['sub', name, e.server_event_type]));
  }
  const typed = [];
  const iterate = (async () => {
    for await (const e of client.events({ types: ['call_ringing', 'call.ended'] })) {
      typed.push([e.event_type, e.server_event_type]);
      if (typed.length === 2) break;
    }
  })();
  await server.send(FRAMES[0].frame, FRAMES[2].frame);
  await until(() => heard.length === 12, 'twelve deliveries');
  await iterate;
  assert.deepEqual(heard, [
    ['client', 'call.status', 'call_ringing'], ['client', 'call_ringing', 'call_ringing'], ['client', 'event', 'call_ringing'],
    ['sub', 'call.status', 'call_ringing'], ['sub', 'call_ringing', 'call_ringing'], ['sub', 'event', 'call_ringing'],
    ['client', 'call.ended', 'call_hangup'], ['client', 'call_hangup', 'call_hangup'], ['client', 'event', 'call_hangup'],
    ['sub', 'call.ended', 'call_hangup'], ['sub', 'call_hangup', 'call_hangup'], ['sub', 'event', 'call_hangup'],
  ]);
  // an events() filter accepts either name
  assert.deepEqual(typed, [['call.status', 'call_ringing'], ['call.ended', 'call_hangup']]);
});

test('live: two Subscriptions matching one event under different topics each receive it, with their topic', T, async (t) => {
  const { server, client } = await liveClient(t, { token: fakeJwt({ customer_id: CUST, agent_id: AGENT }) });
  const customer = await client.subscribe(`customer_id:${CUST}:call:*`);
  const agent = await client.subscribe(`agent_id:${AGENT}:call:*`);
  const queue = await client.subscribe(`customer_id:${CUST}:queue:*`);
  const queuecall = await client.subscribe(`customer_id:${CUST}:queuecall:*`);
  const got = [];
  const all = [];
  for (const [name, sub] of Object.entries({ customer, agent, queue, queuecall })) {
    sub.on('event', (e) => got.push([name, e.event_type, e.topic]));
  }
  client.on('event', (e) => all.push([e.event_type, e.topic]));
  const waiting = FRAMES.find((l) => l.event_type === 'queuecall_waiting').frame;
  // the ringing call arrives on both routes, as production sends it: one event after de-duplication
  await server.send(FRAMES[0].frame, FRAMES[0].frame, waiting);
  await until(() => client.stats().received === 3 && got.length === 4, 'three frames');
  await delay(20);
  assert.deepEqual(got, [
    ['customer', 'call.status', `customer_id:${CUST}:call:${CALL}`],
    ['agent', 'call.status', `agent_id:${AGENT}:call:${CALL}`],
    ['queuecall', 'queue.joined', `customer_id:${CUST}:queuecall:${waiting.id}`],
    ['queue', 'queue.joined', `customer_id:${CUST}:queue:${waiting.id}`],
  ]);
  assert.deepEqual(all, [
    ['call.status', `customer_id:${CUST}:call:${CALL}`],
    ['queue.joined', `customer_id:${CUST}:queuecall:${waiting.id}`],
  ]);
  const s = client.stats();
  assert.deepEqual([s.delivered, s.duplicates], [2, 1]);

  // One Subscription holding both patterns receives the event once, under the first topic.
  await Promise.all([customer.unsubscribe(), agent.unsubscribe()]);
  const both = await client.subscribe([`customer_id:${CUST}:call:*`, `agent_id:${AGENT}:call:*`]);
  const once = [];
  both.on('event', (e) => once.push(e.topic));
  await server.send({ ...FRAMES[1].frame });
  await until(() => once.length === 1, 'the event');
  await delay(20);
  assert.deepEqual(once, [`customer_id:${CUST}:call:${CALL}`]);
});

test('live: the old {type,data} wrapper is unwrapped; its type is the event name', T, async (t) => {
  const { server, client } = await liveClient(t);
  await client.subscribe(`customer_id:${CUST}:call:*`);
  const wrapped = FRAMES.find((l) => l.wire === 'wrapped');
  const seen = [];
  client.on('call_hangup', (e) => seen.push(plain(e)));
  await server.send(wrapped.frame);
  await until(() => seen.length === 1, 'the wrapped event');
  assert.deepStrictEqual(seen, [expected(wrapped)]);
  assert.deepEqual(server.sent(), [{ type: 'subscribe', topics: [`customer_id:${CUST}:call:call_`] }]);
});

test('live: patterns become wire prefixes, one message per subscribe() call, each after the previous settled', T, async (t) => {
  const { server, client } = await liveClient(t);
  const calls = [
    [`customer_id:${CUST}:call:*`],
    [`customer_id:${CUST}:queue:*`],
    [`customer_id:${CUST}:transcription:*`, `customer_id:${CUST.toUpperCase()}:call:${CALL.toUpperCase()}`],
  ];
  const subs = await Promise.all(calls.map((c) => client.subscribe(c)));
  assert.equal(subs.length, 3);
  assert.deepEqual(server.sent(), [
    { type: 'subscribe', topics: [`customer_id:${CUST}:call:call_`] },
    { type: 'subscribe', topics: [`customer_id:${CUST}:queuecall:queuecall_`] },
    { type: 'subscribe', topics: [`customer_id:${CUST}:transcribe:transcribe_`, `customer_id:${CUST}:transcript:transcript_`, `customer_id:${CUST}:call:${CALL}`] },
  ]);
  const at = server.messages.map((m) => m.at);
  assert.ok(at[1] - at[0] >= SETTLE - 5 && at[2] - at[1] >= SETTLE - 5, `gaps ${at[1] - at[0]}, ${at[2] - at[1]}`);
  assert.equal(client.state, 'subscribed');

  // Documented names are matched on the derived topics: queue for queuecall, transcription for both.
  const got = [];
  client.on('event', (e) => got.push([e.event_type, e.topic]));
  const pick = (type) => FRAMES.find((l) => l.event_type === type).frame;
  await server.send(pick('queuecall_waiting'), pick('transcript_created'), pick('message_created'));
  await until(() => client.stats().received === 3 && got.length === 2, 'three frames');
  assert.deepEqual(got, [
    ['queue.joined', `customer_id:${CUST}:queue:${pick('queuecall_waiting').id}`],
    ['transcript_created', `customer_id:${CUST}:transcription:${pick('transcript_created').id}`],
  ]);
  assert.equal(client.stats().filtered, 1);
});

test('live: a prefix shared by patterns is unsubscribed only when the last pattern goes', T, async (t) => {
  const { server, client } = await liveClient(t);
  const all = `customer_id:${CUST}:*:*`;
  const one = `customer_id:${CUST}:*:${CALL}`;
  await client.subscribe(all);
  const started = performance.now();
  await client.subscribe(one);
  assert.ok(performance.now() - started < SETTLE, 'a prefix already confirmed needs no new settle');
  assert.equal(server.sent().length, 1);
  await client.unsubscribe(all);
  await delay(50);
  assert.equal(server.sent().length, 1, 'the prefix is still needed');
  assert.deepEqual(client.topics, [one]);
  await client.unsubscribe(one);
  await server.waitFor(() => server.sent().length === 2, 'the unsubscribe');
  assert.deepEqual(server.sent()[1], { type: 'unsubscribe', topics: [`customer_id:${CUST}:`] });
  assert.deepEqual([...server.prefixes.get(1)], []);
  assert.equal(client.state, 'connected');
});

test('live: an agent pattern matches owned resources under the agent topic; both routes arrive once', T, async (t) => {
  const { server, client } = await liveClient(t, { token: fakeJwt({ customer_id: CUST, agent_id: AGENT }) });
  await client.subscribe(`agent_id:${AGENT}:call:*`);
  assert.deepEqual(server.sent(), [{ type: 'subscribe', topics: [`agent_id:${AGENT}:call:call_`] }]);
  const got = [];
  client.on('event', (e) => got.push([e.event_type, e.topic]));
  const ringing = FRAMES[0].frame;
  await server.send(ringing, FRAMES.find((l) => l.event_type === 'queuecall_waiting').frame);
  await until(() => client.stats().received === 2 && got.length === 1, 'two frames');
  assert.deepEqual(got, [['call.status', `agent_id:${AGENT}:call:${CALL}`]]);

  await client.subscribe(`customer_id:${CUST}:call:*`);
  // the same call event on the customer route and on the agent route
  const progressing = FRAMES[1].frame;
  await server.send(progressing, progressing);
  await until(() => client.stats().received === 4 && got.length === 2, 'four frames');
  assert.deepEqual(got[1], ['call.status', `customer_id:${CUST}:call:${CALL}`]);
  assert.equal(got.length, 2);
  const s = client.stats();
  assert.deepEqual([s.delivered, s.duplicates, s.filtered], [2, 1, 1]);
});

test('live: a resource nobody subscribed is dropped unread, even broken; a wanted broken one is MALFORMED_EVENT', T, async (t) => {
  const { server, client } = await liveClient(t);
  await client.subscribe(`customer_id:${CUST}:call:*`);
  const errors = [];
  client.on('error', (e) => errors.push(e));
  const got = [];
  client.on('event', (e) => got.push([e.server_event_type, e.topic]));
  // The same call with an invalid literal at its end, for another customer and for this one.
  const broken = (customer) => JSON.stringify({ ...FRAMES[0].frame, customer_id: customer }).replace(/}$/, ',"x":nul}');
  await server.send(broken(OTHER), broken(CUST), FRAMES[1].frame);
  await until(() => got.length === 1 && errors.length === 1, 'one event and one error');
  assert.deepEqual(got, [['call_progressing', `customer_id:${CUST}:call:${CALL}`]]);
  assert.ok(errors[0] instanceof RealtimeError);
  assert.equal(errors[0].code, 'MALFORMED_EVENT');
  const s = client.stats();
  assert.deepEqual([s.received, s.filtered, s.malformed, s.delivered, s.duplicates], [2, 1, 1, 1, 0]);
  assert.equal(client.state, 'subscribed');
});

test('live: a refused topic closes the socket; only that subscribe fails, nothing loops, good patterns come back', T, async (t) => {
  const { server, client } = await liveClient(t, { reconnect: { initialDelay: 50, jitter: 0 } });
  server.deny.add(OTHER);
  const good = `customer_id:${CUST}:call:*`;
  const bad = `customer_id:${OTHER}:call:*`;
  await client.subscribe(good);
  const closes = [];
  const errors = [];
  client.on('close', (c) => closes.push(c));
  client.on('error', (e) => errors.push(e));
  const r = await settle(client.subscribe(bad));
  assert.ok(r.error instanceof RealtimeError);
  assert.equal(r.error.code, 'PERMISSION_DENIED');
  assert.deepEqual(r.error.topics, [bad]);
  assert.match(r.error.message, /closed the connection within 150 ms of the subscribe/);
  await until(() => client.state === 'subscribed' && server.upgrades === 2, 'the reconnect');
  await delay(SETTLE * 4);
  assert.equal(server.upgrades, 2);
  assert.equal(server.cuts, 1);
  assert.deepEqual(server.sent(1), [
    { type: 'subscribe', topics: [`customer_id:${CUST}:call:call_`] },
    { type: 'subscribe', topics: [`customer_id:${OTHER}:call:call_`] },
  ]);
  assert.deepEqual(server.sent(2), [{ type: 'subscribe', topics: [`customer_id:${CUST}:call:call_`] }]);
  assert.deepEqual(client.topics, [good]);
  assert.equal(closes.length, 1);
  assert.equal(closes[0].code, 1006);
  assert.equal(closes[0].willReconnect, true);
  assert.equal(closes[0].error.code, 'CLOSED');
  // reported once: by the subscribe's promise, not again as an 'error'
  assert.deepEqual(errors, []);
});

test('live: a refusal with reconnect off rejects the subscribe and ends the client without an extra error', T, async (t) => {
  const { server, client } = await liveClient(t, { reconnect: false });
  server.deny.add(OTHER);
  const errors = [];
  const closes = [];
  client.on('error', (e) => errors.push(e));
  client.on('close', (c) => closes.push(c));
  const r = await settle(client.subscribe(`customer_id:${OTHER}:call:*`));
  assert.equal(r.error && r.error.code, 'PERMISSION_DENIED');
  await until(() => client.state === 'closed', 'the end');
  assert.deepEqual(errors, []);
  assert.equal(closes.length, 1);
  assert.equal(closes[0].willReconnect, false);
  assert.equal(closes[0].error.code, 'CLOSED');
});

test('live: a resubscribe that is refused fails with an error event naming its topics, and is not retried', T, async (t) => {
  const { server, client } = await liveClient(t, { reconnect: { initialDelay: 50, jitter: 0 } });
  const pattern = `customer_id:${CUST}:message:*`;
  const sub = await client.subscribe(pattern);
  const errors = [];
  client.on('error', (e) => errors.push(e));
  server.deny.add(':message:');
  server.terminateAll();
  await until(() => errors.some((e) => e.code === 'PERMISSION_DENIED'), 'the resubscribe failure');
  const err = errors.find((e) => e.code === 'PERMISSION_DENIED');
  assert.deepEqual(err.topics, [pattern]);
  assert.match(err.message, /resubscribe after a reconnect/);
  await until(() => server.upgrades === 3 && client.state === 'connected', 'the next connection');
  await delay(SETTLE * 4);
  assert.equal(server.upgrades, 3);
  assert.deepEqual(server.sent(3), []);
  assert.deepEqual(client.topics, []);
  assert.deepEqual(sub.topics, []);
});

test('live: an access key never sends agent topics: PERMISSION_DENIED before anything goes out', T, async (t) => {
  const { server, client } = await liveClient(t, { token: undefined, accessKey: 'ak-live-fixture' });
  assert.ok(server.requests[0].url.endsWith('?accesskey=ak-live-fixture'));
  const r = await settle(client.subscribe([`customer_id:${CUST}:call:*`, `agent_id:${AGENT}:call:*`]));
  assert.ok(r.error instanceof RealtimeError);
  assert.equal(r.error.code, 'PERMISSION_DENIED');
  assert.deepEqual(r.error.topics, [`agent_id:${AGENT}:call:*`]);
  assert.match(r.error.message, /access key belongs to no agent/);
  await delay(SETTLE * 2);
  assert.deepEqual(server.sent(), []);
  assert.equal(server.upgrades, 1);
  assert.equal(client.state, 'connected');
  assert.deepEqual(client.topics, []);
  // the connection is still good for allowed topics
  await client.subscribe(`customer_id:${CUST}:call:*`);
  assert.deepEqual(server.sent(), [{ type: 'subscribe', topics: [`customer_id:${CUST}:call:call_`] }]);
});

test("live: a JWT's agent may not take another agent's topic; topics that can never deliver warn", T, async (t) => {
  const warnings = [];
  const logger = { warn: (m) => warnings.push(m) };
  const { server, client } = await liveClient(t, { token: fakeJwt({ customer_id: CUST, agent_id: AGENT }), logger });
  const r = await settle(client.subscribe(`agent_id:${OTHER}:call:*`));
  assert.equal(r.error && r.error.code, 'PERMISSION_DENIED');
  assert.match(r.error.message, new RegExp(`token belongs to agent ${AGENT}`));
  await client.subscribe(`agent_id:${AGENT}:queue:*`);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^voip-realtime: the live server never publishes queue events on agent_id topics/);
  assert.deepEqual(server.sent(), [{ type: 'subscribe', topics: [`agent_id:${AGENT}:queuecall:queuecall_`] }]);
});
