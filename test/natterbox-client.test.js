'use strict';
// A natterbox client against the emulator started with protocol 'natterbox' (both native), and
// against a hand-driven `ws` server where the frame order itself is the point.

const test = require('node:test');
const assert = require('node:assert/strict');
const { WebSocketServer } = require('ws');
const { Emulator } = require('../lib/emulator.js');
const { makeClient, record, until, settle, delay } = require('./helpers/util.js');

const USER = 'org:1:user:1001:presence';
const GROUP = 'org:1:group:100:presence';

async function world(t, options = {}) {
  const emu = await Emulator.start({ protocol: 'natterbox', pingInterval: 0, ...options });
  t.after(() => emu.stop());
  emu.group(100, [1001, 1002]);
  emu.presence(1001, { presence: '', availability: 'Available', availabilityStateId: 1 });
  emu.presence(1002, { presence: '', availability: 'Available', availabilityStateId: 1 });
  return emu;
}

function natterbox(t, emu, options = {}) {
  return makeClient(t, { protocol: 'natterbox', url: emu.url, token: emu.issueToken({ userId: 1001 }), ...options });
}

const brief = (e) => `${e.event_type} ${e.topic}`;

// A client subscribed to USER whose snapshot arrived, recording its warnings, errors and events.
async function watched(t) {
  const emu = await world(t);
  const warnings = [];
  const client = natterbox(t, emu, { logger: { warn: (m) => warnings.push(m) } });
  const errors = record(client, ['error']);
  const sub = await client.subscribe(USER);
  const got = [];
  sub.on('event', (e) => got.push(e));
  await until(() => got.length === 1, 'the snapshot');
  return { emu, client, warnings, errors, got };
}

test('snapshots, then changes with derived events in order; a group delivers member topics once per Subscription', async (t) => {
  const emu = await world(t);
  const client = natterbox(t, emu);
  const sub = await client.subscribe([GROUP, USER]);
  const got = [];
  sub.on('event', (e) => got.push(brief(e)));
  const ringing = [];
  client.on('presence_ringing', (e) => ringing.push(e));
  // The group snapshot (both members) and the user snapshot follow the ack.
  await until(() => got.length === 3, 'three snapshot events');
  assert.deepEqual(got, [
    `presence_updated ${USER}`,
    'presence_updated org:1:user:1002:presence',
    `presence_updated ${USER}`,
  ]);
  assert.deepEqual(client.topics, [GROUP, USER]);
  assert.equal(client.state, 'subscribed');
  got.length = 0;
  emu.presence(1001, { presence: 'RINGING', logicalDirection: 'Inbound' });
  emu.presence(1002, { availability: 'Break', availabilityStateId: 4 });
  await until(() => got.length === 4, 'four change events');
  // 1001 is covered by the group and by its own pattern: each event still arrives once.
  assert.deepEqual(got, [
    `presence_updated ${USER}`,
    `presence_ringing ${USER}`,
    'presence_updated org:1:user:1002:presence',
    'availability_changed org:1:user:1002:presence',
  ]);
  assert.equal(ringing.length, 1);
  assert.deepEqual(ringing[0].data, { userId: 1001, presence: 'RINGING', logicalDirection: 'Inbound' });
  assert.match(ringing[0].timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('paths are reference-counted; error{path} rejects only that subscribe with PERMISSION_DENIED', async (t) => {
  const emu = await world(t);
  const wire = record(emu, ['subscribe', 'unsubscribe']);
  const client = natterbox(t, emu);
  const [a, b] = await Promise.all([client.subscribe(USER), client.subscribe(USER)]);
  const denied = await settle(client.subscribe(['org:2:user:5:presence']));
  assert.equal(denied.error.code, 'PERMISSION_DENIED');
  assert.deepEqual(denied.error.topics, ['org:2:user:5:presence']);
  assert.equal(denied.error.message, 'not allowed: another organisation: org:2:user:5:presence');
  // The server's own frame, as received.
  assert.deepEqual(denied.error.frame, { type: 'error', message: 'not allowed: another organisation', path: '/organisation/2/user/5' });
  await a.unsubscribe();
  assert.deepEqual(client.topics, [USER]);
  await b.unsubscribe();
  await until(() => wire.some(([n]) => n === 'unsubscribe'), 'the wire unsubscribe');
  assert.deepEqual(wire.map(([n, e]) => `${n} ${e.topics.join(',')}`), [`subscribe ${USER}`, `unsubscribe ${USER}`]);
  assert.deepEqual(client.topics, []);
  assert.equal(client.state, 'connected');
});

test('* and malformed patterns are INVALID_TOPIC before anything is sent; messages topics are per user', async (t) => {
  const emu = await world(t);
  const client = natterbox(t, emu);
  for (const [pattern, pattern2] of [['org:1:user:*:presence'], ['org:1:user:abc:presence'], ['org:1:group:100:messages']]
    .map(([p]) => [p, p])) {
    const r = await settle(client.subscribe(pattern));
    assert.equal(r.error.code, 'INVALID_TOPIC', pattern);
    assert.deepEqual(r.error.topics, [pattern2]);
  }
  const m = await settle(client.subscribe(['org:1:user:1001:messages', 'org:1:group:100:messages']));
  assert.equal(m.error.code, 'INVALID_TOPIC');
  assert.deepEqual(m.error.topics, ['org:1:group:100:messages']);
  assert.equal(m.error.message, 'topic "org:1:group:100:messages": unread counts are per user (org:<org>:user:<user>:messages)');
  assert.equal(client.state, 'disconnected');
  assert.equal(emu.stats().connectionsTotal, 0);
});

test('a bad token is AUTH_FAILED without a reconnect loop; getToken gets at most 3 tries', async (t) => {
  const emu = await world(t, { natterbox: { tokens: ['good'] } });
  const client = natterbox(t, emu, { token: 'bad' });
  const r = await settle(client.connect());
  assert.equal(r.error.code, 'AUTH_FAILED');
  assert.match(r.error.message, /invalid token/);
  assert.equal(client.state, 'closed');

  let calls = 0;
  const other = natterbox(t, emu, { token: undefined, getToken: () => `bad-${++calls}` });
  const r2 = await settle(other.connect());
  assert.equal(r2.error.code, 'AUTH_FAILED');
  assert.equal(calls, 3);
  assert.equal(emu.stats().connectionsTotal, 4);
});

test('reconnect: a fresh getToken, re-auth, every path resubscribed, no derived events from an unchanged snapshot', async (t) => {
  const emu = await world(t);
  const tokens = [];
  const client = natterbox(t, emu, {
    token: undefined,
    getToken: () => { tokens.push(emu.issueToken({ userId: 1001, expiresIn: 3600 + tokens.length })); return tokens.at(-1); },
  });
  const sub = await client.subscribe([GROUP]);
  const got = [];
  sub.on('event', (e) => got.push(brief(e)));
  await until(() => got.length === 2, 'the group snapshot');
  const auths = record(emu, ['auth', 'subscribe']);
  emu.disconnectAll({ code: 1012 });
  await until(() => auths.filter(([n]) => n === 'subscribe').length === 1, 'the resubscribe');
  await until(() => got.length === 4, 'the snapshot after the reconnect');
  assert.equal(tokens.length, 2);
  assert.notEqual(tokens[0], tokens[1]);
  assert.deepEqual(auths.map(([n]) => n), ['auth', 'subscribe']);
  assert.equal(auths[0][1].client, 'CTI 2.0');
  // Only presence_updated: nothing changed while disconnected.
  assert.deepEqual(got.slice(2), [`presence_updated ${USER}`, 'presence_updated org:1:user:1002:presence']);
  emu.presence(1002, { presence: 'RINGING' });
  await until(() => got.length === 6, 'a change after the reconnect');
  assert.deepEqual(got.slice(4), ['presence_updated org:1:user:1002:presence', 'presence_ringing org:1:user:1002:presence']);
  assert.equal(client.stats().reconnects, 1);
});

test('a token close to its exp is replaced by a planned reconnect, without an error', async (t) => {
  const emu = await world(t);
  let calls = 0;
  // 2.4 s left: replaced halfway (a token with less than two minutes left), so after about 1.2 s;
  // the next token lives an hour.
  const client = natterbox(t, emu, {
    token: undefined,
    getToken: () => emu.issueToken({ expiresIn: ++calls === 1 ? 2.4 : 3600 }),
  });
  const log = record(client, ['error', 'reconnecting']);
  await client.subscribe(USER);
  const subs = record(emu, ['subscribe']);
  await until(() => subs.length === 1, 'the resubscribe after the refresh', 8000);
  assert.equal(calls, 2);
  assert.deepEqual(log.map(([n, info]) => `${n} ${info.delay} ${info.error}`), ['reconnecting 0 null']);
  assert.deepEqual(client.topics, [USER]);
});

test('unknown and malformed frames are counted and logged; the stream goes on', async (t) => {
  const { emu, client, warnings, errors, got } = await watched(t);
  emu.fault('malformed', { text: '{"type":"mystery"}' });
  emu.fault('malformed', { text: '{"type":"response","data":[{"presence":"RINGING"}]}' });
  emu.fault('malformed', { text: 'not json' });
  emu.presence(1001, { presence: 'RINGING' });
  await until(() => got.length === 3, 'the change after the bad frames');
  assert.deepEqual(got.slice(1).map(brief), [`presence_updated ${USER}`, `presence_ringing ${USER}`]);
  assert.equal(client.stats().malformed, 3);
  assert.deepEqual(errors.map(([, e]) => e.code), ['MALFORMED_EVENT', 'MALFORMED_EVENT']);
  assert.deepEqual(warnings, ['voip-realtime: ignored a frame of unknown type "mystery"']);
  assert.equal(client.state, 'subscribed');
});

test('auth is the first frame and nothing is subscribed before tick welcome (seed path style)', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  t.after(() => new Promise((resolve) => { for (const c of wss.clients) c.terminate(); wss.close(resolve); }));
  const frames = [];
  let socket;
  wss.on('connection', (ws) => {
    socket = ws;
    ws.on('message', (m) => frames.push(JSON.parse(m.toString())));
  });
  const client = makeClient(t, {
    protocol: 'natterbox', url: `ws://127.0.0.1:${wss.address().port}/cti`, token: 'jwt-1',
    clientInfo: { name: 'FreedomWeb', version: '3.0.0' }, pathStyle: 'org', snapshotWindow: 300,
  });
  const pending = client.subscribe(USER);
  await until(() => frames.length === 1, 'the auth frame');
  await delay(150);
  assert.deepEqual(frames, [{ type: 'auth', accessToken: 'jwt-1', client: { name: 'FreedomWeb', version: '3.0.0' } }]);
  assert.equal(client.state, 'connecting');
  socket.send('{"type":"tick","message":"welcome"}');
  await until(() => frames.length === 2, 'the subscribe');
  assert.deepEqual(frames[1], { type: 'subscribe', path: '/org/1/user/1001/presence' });
  socket.send('{"type":"response","data":[{"userId":"1001","presence":"BRIDGED","extra":{"x":1}}]}');
  const sub = await pending;
  const [event] = await new Promise((resolve) => sub.once('presence_updated', (...a) => resolve(a)));
  assert.deepEqual(event.data, { userId: '1001', presence: 'BRIDGED', extra: { x: 1 } });
  assert.equal(event.topic, USER);
});

test('options: natterbox-only options are refused for voipbin, voipbin-only ones for natterbox', () => {
  const { RealtimeClient } = require('..');
  const bad = [
    [{ clientInfo: { name: 'x' } }, "Expected protocol: 'natterbox' with clientInfo but received protocol \"voipbin\""],
    [{ protocol: 'natterbox', accessKey: 'k' }, 'Expected token or getToken for a natterbox client but received accessKey'],
    [{ protocol: 'natterbox', messagesUrl: 'https://x/' }, 'Expected a ws:// or wss:// URL for messagesUrl but received "https://x/"'],
    [{ protocol: 'natterbox', messagesUrl: 'wss://x/?token=a' }, 'Expected messagesUrl without a token (the client adds ?token= itself) but received one'],
    [{ protocol: 'natterbox', messagesMaxAge: 10 }, 'Expected an integer >= 1000 and <= 2147483647 for messagesMaxAge but received 10'],
    [{ protocol: 'natterbox', pathStyle: 'x' }, 'Expected \'organisation\' or \'org\' for pathStyle but received "x"'],
    [{ protocol: 'natterbox', clientInfo: { name: '' } }, 'Expected a non-empty string for clientInfo.name but received ""'],
    [{ protocol: 'x' }, "Expected 'voipbin' or 'natterbox' for protocol but received \"x\""],
  ];
  for (const [options, message] of bad) {
    assert.throws(() => new RealtimeClient(options), { code: 'INVALID_OPTION', message });
  }
  assert.throws(() => new RealtimeClient({ protocol: 'natterbox', token: 't', messagesUrl: 'ws://example.com/' }),
    { code: 'INSECURE_URL' });
  const c = new RealtimeClient({ protocol: 'natterbox', token: 't' });
  assert.equal(c.url, 'wss://cti.natterbox.net/');
  assert.equal(c.dialect, null);
});

test('events() filtered by a group pattern follows the group\'s members; stats and states as for VoIPBIN', async (t) => {
  const emu = await world(t);
  emu.presence(1003, { presence: '' });
  const client = natterbox(t, emu);
  const states = record(client, ['state']);
  const it = client.events({ topics: GROUP, types: ['presence_ringing'] });
  await client.subscribe([GROUP, 'org:1:user:1003:presence']);
  emu.presence(1003, { presence: 'RINGING' });  // not a member: filtered out
  emu.presence(1002, { presence: 'RINGING' });
  const { value } = await it.next();
  assert.equal(value.topic, 'org:1:user:1002:presence');
  assert.equal(value.event_type, 'presence_ringing');
  await it.return();
  assert.deepEqual(states.map(([, s]) => s), ['connecting', 'connected', 'subscribed']);
  const s = client.stats();
  assert.equal(s.patterns, 2);
  assert.equal(s.pendingAcks, 0);
  assert.equal(s.malformed, 0);
  assert.ok(s.received >= 5, `received ${s.received}`);
});

test('an expired token on an open connection: a fresh getToken reconnects; a static token ends in AUTH_FAILED', async (t) => {
  const emu = await world(t);
  let calls = 0;
  const fresh = natterbox(t, emu, { token: undefined, getToken: () => emu.issueToken({ userId: 1001, expiresIn: 3600 + ++calls }) });
  const errors = record(fresh, ['error']);
  await fresh.subscribe(USER);
  const subs = record(emu, ['subscribe']);
  emu.fault('expireToken');
  await until(() => subs.length === 1, 'the resubscribe with a fresh token');
  assert.equal(calls, 2);
  assert.deepEqual(fresh.topics, [USER]);
  assert.deepEqual(errors.map(([, e]) => e.code), ['PROTOCOL_ERROR', 'CLOSED']);

  const expired = emu.issueToken({ userId: 1001, expiresIn: 1 });
  const fixed = natterbox(t, emu, { token: expired });
  const closed = record(fixed, ['close']);
  await fixed.subscribe(USER);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  emu.fault('expireToken');
  await until(() => closed.some(([, info]) => !info.willReconnect), 'the final close');
  assert.equal(closed.at(-1)[1].error.code, 'AUTH_FAILED');
  assert.match(closed.at(-1)[1].error.message, /token expired/);
  assert.equal(fixed.state, 'closed');
});

test('wss:// with a private CA, and a certificate it does not sign is a terminal TLS_ERROR', async (t) => {
  const { certs } = require('./helpers/ws-server.js');
  const emu = await world(t, { tls: certs.good() });
  assert.match(emu.url, /^wss:\/\/127\.0\.0\.1:\d+\/$/);
  const client = natterbox(t, emu, { tls: { ca: certs.ca() } });
  const sub = await client.subscribe(USER);
  const [event] = await new Promise((resolve) => sub.once('presence_updated', (...a) => resolve(a)));
  assert.equal(event.topic, USER);
  const other = await world(t, { tls: certs.unknownCa() });
  const refused = natterbox(t, other, { tls: { ca: certs.ca() } });
  const r = await settle(refused.connect());
  assert.equal(r.error.code, 'TLS_ERROR');
  assert.equal(other.stats().errorsSent, 0);
});

test('hostile frames: each bad element or frame is counted and reported, the connection and its events go on', async (t) => {
  const { emu, client, warnings, errors, got } = await watched(t);
  for (const text of [
    '{"type":"response","data":[1,"x",null,{"userId":-5},{"userId":"12345678901234567890"}]}',  // 5 bad elements
    '{"type":"response","data":{}}',
    '{"type":"tick","message":5}',
    '{"type":"error"}',
    '[]',
    '"str"',
    `${'['.repeat(5000)}${']'.repeat(5000)}`,
    '{"type":"response","data":[{"userId":1001,"presence":5}]}',
  ]) emu.fault('malformed', { text });
  emu.presence(1001, { presence: 'RINGING' });
  await until(() => got.length === 4, 'the events after the hostile frames');
  assert.deepEqual(got.slice(1).map((e) => e.event_type), ['presence_updated', 'presence_updated', 'presence_ringing']);
  assert.deepEqual(got[1].data, { userId: 1001, presence: 5 });
  assert.equal(client.stats().malformed, 9);
  assert.deepEqual(errors.map(([, e]) => e.code), [
    ...Array(6).fill('MALFORMED_EVENT'), 'PROTOCOL_ERROR', 'MALFORMED_EVENT',
  ]);
  assert.equal(warnings.length, 2);
  assert.equal(client.state, 'subscribed');
});
