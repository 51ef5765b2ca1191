'use strict';
// The Natterbox messages socket (unread counts): one socket per subscribed user, against the
// emulator's messages socket, and against a hand-driven `ws` server where the frames themselves
// are the point.

const test = require('node:test');
const assert = require('node:assert/strict');
const { WebSocket, WebSocketServer } = require('ws');
const { Emulator } = require('../lib/emulator.js');
const { makeClient, record, until, settle } = require('./helpers/util.js');

const A = 'org:1:user:1001:messages';
const B = 'org:1:user:1002:messages';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function world(t, natterbox = {}) {
  const emu = await Emulator.start({ protocol: 'natterbox', pingInterval: 0, natterbox });
  t.after(() => emu.stop());
  return emu;
}

function client(t, emu, options = {}) {
  return makeClient(t, {
    protocol: 'natterbox', url: emu.url, messagesUrl: emu.messagesUrl, token: emu.issueToken({ userId: 1001 }), ...options,
  });
}

// A getToken that issues a new token (a distinct `exp`) on every call and keeps them in `tokens`.
function freshTokens(emu, tokens) {
  return () => {
    tokens.push(emu.issueToken({ userId: 1001, expiresIn: 3600 + tokens.length }));
    return tokens[tokens.length - 1];
  };
}

// A hand-driven `ws` server on a free loopback port, closed when the test ends.
async function wsServer(t) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  t.after(() => new Promise((resolve) => { for (const ws of wss.clients) ws.terminate(); wss.close(resolve); }));
  return wss;
}

const brief = (e) => [e.event_type, e.topic, e.data];

test('one socket per user, each subscribe with its own clientRequestId; INSERT/MODIFY/REMOVE in order; release closes', async (t) => {
  const emu = await world(t);
  const wire = record(emu, ['subscribe', 'connection', 'close']);
  const c = client(t, emu);
  const sub = await c.subscribe([A, B]);
  const got = [];
  sub.on('event', (e) => got.push(brief(e)));
  const subs = wire.filter(([n]) => n === 'subscribe').map(([, r]) => r);
  assert.deepEqual(subs.map((r) => r.topics).sort(), [[A], [B]]);
  assert.match(subs[0].clientRequestId, UUID_V4);
  assert.match(subs[1].clientRequestId, UUID_V4);
  assert.notEqual(subs[0].clientRequestId, subs[1].clientRequestId);
  // The CTI socket and one messages socket per user; three distinct connections.
  assert.equal(new Set(subs.map((r) => r.connection)).size, 2);
  assert.equal(emu.stats().connections, 3);
  // The messages sockets' tokens came as ?token= (the default); the CTI socket's in its auth frame.
  assert.deepEqual(wire.filter(([n]) => n === 'connection').map(([, r]) => r.tokenIn), [null, 'query', 'query']);
  assert.equal(c.stats().messagesSockets, 2);
  assert.deepEqual(c.topics, [A, B]);
  assert.equal(c.state, 'subscribed');

  assert.equal(emu.unread(1001, 3), 'INSERT');
  await until(() => got.length === 1, 'the INSERT');
  assert.equal(emu.unread(1001, 5), 'MODIFY');
  await until(() => got.length === 2, 'the MODIFY');
  assert.equal(emu.unread(1002, 1), 'INSERT');
  await until(() => got.length === 3, 'the second user\'s INSERT');
  assert.equal(emu.unread(1001, null), 'REMOVE');
  await until(() => got.length === 4, 'the REMOVE');
  assert.deepEqual(got, [
    ['userstatistics_created', A, { userStatistics: { unreadMessages: 3 } }],
    ['userstatistics_updated', A, { userStatistics: { unreadMessages: 5 } }],
    ['userstatistics_created', B, { userStatistics: { unreadMessages: 1 } }],
    ['userstatistics_deleted', A, { userStatistics: {} }],
  ]);

  // Released: that user's socket closes, the other one stays.
  await c.unsubscribe(B);
  await until(() => emu.stats().connections === 2, 'the closed messages socket');
  assert.equal(c.stats().messagesSockets, 1);
  emu.unread(1002, 7);
  emu.unread(1001, 2);
  await until(() => got.length === 5, 'the fence event');
  assert.deepEqual(got[4], ['userstatistics_created', A, { userStatistics: { unreadMessages: 2 } }]);
  await sub.unsubscribe();
  await until(() => emu.stats().connections === 1, 'every messages socket closed');
  assert.equal(c.stats().messagesSockets, 0);
  assert.deepEqual(c.topics, []);
  assert.equal(c.state, 'connected');
  // Counted like the CTI socket's events, closed sockets included.
  assert.equal(c.stats().received, 5);
  assert.equal(c.stats().delivered, 5);
});

test('a server that never answers: the subscribe counts as accepted after settleTime', async (t) => {
  const emu = await world(t, { silentMessages: true });
  const c = client(t, emu, { settleTime: 150 });
  const events = [];
  c.on('userstatistics_updated', (e) => events.push(e));
  const started = Date.now();
  await c.subscribe(A);
  assert.ok(Date.now() - started >= 150, 'resolved before the settle time');
  emu.unread(1001, 1);
  emu.unread(1001, 4);
  await until(() => events.length === 1, 'the MODIFY');
  assert.deepEqual(events[0].data, { userStatistics: { unreadMessages: 4 } });
  assert.match(events[0].timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

for (const tokenIn of ['query', 'header']) {
  test(`an HTTP 401 at the messages upgrade (token in the ${tokenIn}) is AUTH_FAILED for that subscribe only`, async (t) => {
    const emu = await world(t);
    const strict = await world(t, { tokens: ['other'] });
    const c = client(t, emu, { messagesUrl: strict.messagesUrl, messagesTokenIn: tokenIn });
    const presence = await c.subscribe('org:1:user:1001:presence');
    const r = await settle(c.subscribe(A));
    assert.equal(r.error.code, 'AUTH_FAILED');
    assert.equal(r.error.status, 401);
    assert.deepEqual(r.error.topics, [A]);
    assert.equal(strict.stats().connectionsTotal, 0);
    assert.equal(c.stats().messagesSockets, 0);
    assert.deepEqual(c.topics, ['org:1:user:1001:presence']);
    assert.equal(c.state, 'subscribed');
    await presence.unsubscribe();
  });
}

test('messagesTokenIn: \'header\': the token is Authorization: Bearer, not in the query; the events flow', async (t) => {
  const probe = await world(t);
  const token = probe.issueToken({ userId: 1001 });
  // This emulator accepts exactly this token, so the messages socket must present it.
  const emu = await world(t, { tokens: [token] });
  const wire = record(emu, ['connection']);
  const logs = [];
  const logger = Object.fromEntries(['debug', 'info', 'warn', 'error'].map((l) => [l, (m) => logs.push(m)]));
  const c = client(t, emu, { token, messagesTokenIn: 'header', logger });
  const got = [];
  c.on('userstatistics_created', (e) => got.push(brief(e)));
  await c.subscribe(A);
  assert.deepEqual(wire.map(([, r]) => r.tokenIn), [null, 'header']);
  emu.unread(1001, 2);
  await until(() => got.length === 1, 'the INSERT');
  assert.deepEqual(got, [['userstatistics_created', A, { userStatistics: { unreadMessages: 2 } }]]);
  assert.ok(logs.includes(`voip-realtime: connected to ${emu.messagesUrl} (messages socket of ${A})`), logs.join('\n'));
  assert.ok(!logs.some((m) => m.includes(token)), 'a log line carries the token');
  assert.ok(!c.url.includes(token));
});

test('messagesTokenIn: \'header\' on the wire: the exact target and header, a fresh getToken per attempt', async (t) => {
  const emu = await world(t);
  const wss = await wsServer(t);
  const seen = [];
  wss.on('connection', (ws, req) => {
    seen.push([req.url, req.headers.authorization]);
    ws.on('message', (raw) => {
      ws.send(JSON.stringify({ clientRequestId: JSON.parse(raw.toString()).clientRequestId }));
      if (seen.length === 1) ws.terminate();
    });
  });
  const tokens = [];
  const c = client(t, emu, {
    token: undefined,
    getToken: freshTokens(emu, tokens),
    messagesUrl: `ws://127.0.0.1:${wss.address().port}/ws?region=eu`,
    messagesTokenIn: 'header',
    reconnect: { initialDelay: 10, maxDelay: 20 },
  });
  const errors = record(c, ['error']);
  await c.subscribe(A);
  await until(() => seen.length === 2, 'the reconnect');
  await until(() => c.state === 'subscribed', 'subscribed again');
  assert.deepEqual(errors.map(([, e]) => e.code), ['CLOSED']);
  // Each attempt carries the token asked for just before it; the CTI socket asked for the others.
  const mine = seen.map(([, auth]) => tokens.indexOf(auth.slice('Bearer '.length)));
  assert.deepEqual(seen.map(([url, auth]) => [url, auth.startsWith('Bearer ')]), [['/ws?region=eu', true], ['/ws?region=eu', true]]);
  assert.ok(mine[0] >= 0 && mine[1] > mine[0], `token indexes ${mine}`);
});

test('the emulator\'s messages socket takes the token from the query or the header; neither valid is 401', async (t) => {
  const emu = await world(t, { tokens: ['good'] });
  const wire = record(emu, ['connection']);
  const attempt = (query, authorization) => new Promise((resolve) => {
    const ws = new WebSocket(`${emu.messagesUrl}${query}`, authorization ? { headers: { authorization } } : {});
    ws.once('open', () => { ws.close(); resolve(101); });
    ws.once('unexpected-response', (req, res) => { res.resume(); resolve(res.statusCode); });
  });
  assert.equal(await attempt('?token=good'), 101);
  assert.equal(await attempt('', 'Bearer good'), 101);
  assert.equal(await attempt('?token=bad', 'bearer good'), 101);
  assert.equal(await attempt(''), 401);
  assert.equal(await attempt('', 'Bearer bad'), 401);
  assert.equal(await attempt('?token=bad', 'Basic good'), 401);
  assert.deepEqual(wire.map(([, r]) => r.tokenIn), ['query', 'header', 'header']);
});

test('messagesTokenIn is validated', () => {
  const { RealtimeClient } = require('..');
  for (const [value, shown] of [['cookie', '"cookie"'], [true, 'true'], ['', 'an empty string']]) {
    assert.throws(() => new RealtimeClient({ protocol: 'natterbox', token: 't', messagesTokenIn: value }), {
      code: 'INVALID_OPTION', message: `Expected 'query' or 'header' for messagesTokenIn but received ${shown}`,
    });
  }
  assert.throws(() => new RealtimeClient({ token: 't', messagesTokenIn: 'header' }), {
    code: 'INVALID_OPTION', message: "Expected protocol: 'natterbox' with messagesTokenIn but received protocol \"voipbin\"",
  });
});

test('reconnects with a fresh getToken and resubscribes; a connection is renewed before messagesMaxAge', async (t) => {
  const emu = await world(t);
  const wire = record(emu, ['subscribe']);
  const tokens = [];
  const c = client(t, emu, {
    token: undefined,
    getToken: freshTokens(emu, tokens),
    messagesMaxAge: 1000,
  });
  const errors = record(c, ['error']);
  const got = [];
  c.on('userstatistics_created', (e) => got.push(e.topic));
  c.on('userstatistics_updated', (e) => got.push(e.topic));
  await c.subscribe(A);
  const before = tokens.length;
  emu.fault('drop');
  await until(() => wire.length === 2, 'the resubscribe after the drop');
  await until(() => wire.length === 3, 'the resubscribe of the renewed connection', 4000);
  const ids = wire.map(([, r]) => r.clientRequestId);
  assert.equal(new Set(ids).size, 3);
  assert.deepEqual(wire.map(([, r]) => r.topics), [[A], [A], [A]]);
  // The CTI socket and the messages socket each asked for a fresh token for every attempt.
  assert.ok(tokens.length >= before + 3, `tokens: ${tokens.length}, before: ${before}`);
  await until(() => c.state === 'subscribed', 'subscribed again');
  emu.unread(1001, 1);
  await until(() => got.length === 1, 'an event after the renewal');
  assert.deepEqual(got, [A]);
  // The drop: one CLOSED for the CTI socket, one for the messages socket; the renewal is planned
  // and reports nothing.
  assert.deepEqual(errors.map(([, e]) => `${e.code} ${e.message}`), [
    'CLOSED connection lost: End of file', 'CLOSED connection lost: End of file']);
});

test('unknown operations and malformed frames are counted and logged; the stream goes on; the token is ?token=', async (t) => {
  const emu = await world(t);
  const wss = await wsServer(t);
  const seen = [];
  const authorizations = [];
  wss.on('connection', (ws, req) => {
    seen.push(req.url);
    authorizations.push(req.headers.authorization);
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString());
      seen.push(frame);
      ws.send(JSON.stringify({ operation: 'UPSERT', data: {} }));
      ws.send('not json');
      ws.send(JSON.stringify({ operation: 'MODIFY', data: 5 }));
      ws.send(JSON.stringify({ hello: 1 }));
      ws.send(JSON.stringify({ clientRequestId: frame.clientRequestId, status: 'ok' }));
      ws.send(JSON.stringify({ operation: 'INSERT', data: { userStatistics: { unreadMessages: 9 }, extra: [1] } }));
    });
  });
  const warnings = [];
  const token = emu.issueToken({ userId: 1001 });
  const c = client(t, emu, {
    messagesUrl: `ws://127.0.0.1:${wss.address().port}/ws`, token, logger: { warn: (m) => warnings.push(m) },
  });
  const errors = record(c, ['error']);
  const events = [];
  c.on('userstatistics_created', (e) => events.push(e));
  await c.subscribe(A);
  await until(() => events.length === 1, 'the INSERT after the bad frames');
  assert.deepEqual(events[0].data, { userStatistics: { unreadMessages: 9 }, extra: [1] });
  assert.equal(seen[0], `/ws?token=${encodeURIComponent(token)}`);
  assert.deepEqual(authorizations, [undefined]);
  assert.deepEqual(Object.keys(seen[1]), ['request', 'clientRequestId', 'data']);
  assert.equal(seen[1].request, 'subscribe');
  assert.match(seen[1].clientRequestId, UUID_V4);
  assert.deepEqual(seen[1].data, { users: ['org:1:user:1001'] });
  // The two malformed frames come back to back: reported apart, or coalesced into one with count 2.
  const reported = () => errors.reduce((n, [, e]) => n + (e.count ?? 1), 0);
  await until(() => reported() === 2 && warnings.length === 2, 'the reports');
  assert.equal(c.stats().malformed, 4);
  assert.deepEqual([...new Set(errors.map(([, e]) => e.code))], ['MALFORMED_EVENT']);
  assert.match(warnings[0], /unknown operation "UPSERT"/);
  assert.match(warnings[1], /neither an operation nor a pending clientRequestId/);
  assert.equal(c.stats().received, 1);
});
