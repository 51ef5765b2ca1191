'use strict';
// The bridge beyond VoIPBIN's documented dialect, against a real redis-server: `bridge
// --protocol natterbox` from the Natterbox emulator's presence and messages sockets into one
// stream per resource, and the live dialect's server name (server_event_type) kept in the entry
// and handed back by consume().

const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
const { Emulator } = require('..');
const { bridge, consume } = require('../lib/redis/index.js');
const { resourceOf } = require('../lib/redis/sink.js');
const { createEvent, dataText } = require('../lib/events.js');
const { startRedis, redisFor } = require('./helpers/redis-server');
const { makeClient, until, runNode } = require('./helpers/util');
const { cli, CLI } = require('./helpers/pty');

const T = { timeout: 60000 };
const GROUP = 'org:1:group:100:presence';
const MESSAGES = 'org:1:user:1001:messages';
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function entries(r, stream) {
  return (await r.xrange(stream, '-', '+')).map(([, fields]) => fields);
}

// A stream entry's fields as an object (the field order is checked separately).
function fieldsOf(list) {
  const o = {};
  for (let i = 0; i < list.length; i += 2) o[list[i]] = list[i + 1];
  return o;
}

test('resource of a topic by its grammar: VoIPBIN segment, Natterbox presence / messages, else other', () => {
  assert.equal(resourceOf('customer_id:5013bc52-da9a-11ee-844f-2fa34248de28:call:abc'), 'call');
  assert.equal(resourceOf('agent_id:5013bc52-da9a-11ee-844f-2fa34248de28:queuecall:x'), 'queuecall');
  assert.equal(resourceOf('org:1:user:1001:presence'), 'presence');
  assert.equal(resourceOf('org:1:user:1001:messages'), 'messages');
  // The user segment is not the resource of a Natterbox topic.
  assert.equal(resourceOf('org:1:user:1001:user'), 'other');
  assert.equal(resourceOf('a:b:c:d:e'), 'other');
  assert.equal(resourceOf('a:b::d'), 'other');
  assert.equal(resourceOf('nocolon'), 'other');
});

test('bridge --protocol natterbox: presence and unread counts, one stream per resource, data verbatim', T, async (t) => {
  const server = await startRedis(t);
  const emu = await Emulator.start({ protocol: 'natterbox', pingInterval: 0 });
  t.after(() => emu.stop());
  emu.group(100, [1001, 1002]);
  emu.presence(1001, { presence: '', availability: 'Available', availabilityStateId: 1 });
  emu.presence(1002, { presence: '', availability: 'Available', availabilityStateId: 1 });

  // What a client of its own receives on the same subscription: the entries must carry exactly that.
  const reference = makeClient(t, { protocol: 'natterbox', url: emu.url, messagesUrl: emu.messagesUrl,
    token: emu.issueToken({ userId: 1001 }) });
  const seen = [];
  reference.on('event', (e) => seen.push(e));
  await reference.subscribe([GROUP, MESSAGES]);

  // The credential comes from the environment variable `tail` reads for Natterbox.
  const running = cli(['bridge', '--protocol', 'natterbox', '--url', emu.url, '--messages-url', emu.messagesUrl,
    '--topic', GROUP, '--topic', MESSAGES, '--redis', server.url, '--stream', 'nb', '--stream-by', 'resource'],
  { env: { NATTERBOX_TOKEN: emu.issueToken({ userId: 1001 }), VOIPBIN_TOKEN: undefined } });
  t.after(() => running.child.kill('SIGKILL'));
  await running.waitFor((out, err) => err.includes(`subscribed to ${GROUP}, ${MESSAGES}`), 20000);
  const r = redisFor(t, server);
  // The group's snapshot: both members.
  await until(async () => (await r.xlen('nb:presence')) === 2, 'the snapshot in nb:presence', 20000);

  emu.presence(1001, { presence: 'RINGING', logicalDirection: 'Inbound' });
  emu.presence(1002, { availability: 'Break', availabilityStateId: 4 });
  assert.equal(emu.unread(1001, 3), 'INSERT');
  assert.equal(emu.unread(1001, 5), 'MODIFY');
  await until(async () => (await r.xlen('nb:presence')) === 6 && (await r.xlen('nb:messages')) === 2,
    'four presence changes and two unread counts', 20000);
  await until(() => seen.length === 8, 'the reference client\'s eight events', 20000);
  await reference.close();
  running.child.kill('SIGTERM');
  await running.exited(15000);
  assert.equal(running.code, 0, running.stderr);
  assert.match(running.stderr, /^bridge: in=8 appended=8 duplicates=0$/m);

  const presence = await entries(r, 'nb:presence');
  const messages = await entries(r, 'nb:messages');
  for (const list of [...presence, ...messages]) {
    assert.deepEqual(list.filter((_, i) => i % 2 === 0), ['event_type', 'topic', 'timestamp', 'data']);
    assert.match(fieldsOf(list).timestamp, ISO);
  }
  const brief = (list) => {
    const f = fieldsOf(list);
    return [f.event_type, f.topic, f.data];
  };
  const U1 = 'org:1:user:1001:presence';
  const U2 = 'org:1:user:1002:presence';
  assert.deepEqual(presence.map(brief).map(([type, topic]) => `${type} ${topic}`), [
    `presence_updated ${U1}`, `presence_updated ${U2}`,
    `presence_updated ${U1}`, `presence_ringing ${U1}`,
    `presence_updated ${U2}`, `availability_changed ${U2}`,
  ]);
  assert.deepEqual(JSON.parse(fieldsOf(presence[3]).data), { userId: 1001, presence: 'RINGING', logicalDirection: 'Inbound' });
  assert.deepEqual(messages.map(brief).map(([type, topic]) => `${type} ${topic}`),
    [`userstatistics_created ${MESSAGES}`, `userstatistics_updated ${MESSAGES}`]);
  assert.deepEqual(messages.map((l) => JSON.parse(fieldsOf(l).data)),
    [{ userStatistics: { unreadMessages: 3 } }, { userStatistics: { unreadMessages: 5 } }]);
  // Byte for byte what a client receives, per resource in arrival order.
  const want = (resource) => seen.filter((e) => e.topic.endsWith(`:${resource}`))
    .map((e) => [e.event_type, e.topic, dataText(e)]);
  assert.deepEqual(presence.map(brief), want('presence'));
  assert.deepEqual(messages.map(brief), want('messages'));
});

test('bridge --protocol natterbox: usage errors exit 2', T, async () => {
  const usage = [
    [['--protocol', 'natterbox', '--topic', GROUP], 'a credential is required: --token (or $NATTERBOX_TOKEN)'],
    [['--protocol', 'natterbox', '--token', 't', '--topic', 'org:1:group:100:messages'],
      '--topic "org:1:group:100:messages": topic "org:1:group:100:messages": unread counts are per user (org:<org>:user:<user>:messages)'],
    [['--protocol', 'natterbox', '--token', 't', '--topic', 'customer_id:5013bc52-da9a-11ee-844f-2fa34248de28:call:x'],
      /^--topic "customer_id:[^"]+": topic "customer_id:[^"]+" must be org:<org>:user:<user>:presence, /],
    [['--token', 't', '--topic', 'customer_id:5013bc52-da9a-11ee-844f-2fa34248de28:*:*', '--messages-url', 'ws://127.0.0.1:9/'],
      '--messages-url needs --protocol natterbox'],
    [['--protocol', 'xmpp', '--token', 't', '--topic', GROUP], '--protocol must be one of voipbin, natterbox, got "xmpp"'],
  ];
  for (const [args, message] of usage) {
    const r = await runNode([CLI, 'bridge', ...args, '--redis', 'redis://127.0.0.1:1'],
      { env: { NATTERBOX_TOKEN: '', VOIPBIN_TOKEN: '', VOIPBIN_ACCESS_KEY: '' } });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const first = r.stderr.split('\n')[0];
    if (typeof message === 'string') assert.equal(first, `voip-realtime bridge: ${message}`);
    else assert.match(first.slice('voip-realtime bridge: '.length), message);
  }
});

test('server_event_type: stored after event_type when the event has one, handed back by consume() and its command', T, async (t) => {
  const server = await startRedis(t);
  // Events as the client delivers them: one live event under its documented name, one without.
  const client = new EventEmitter();
  const b = await bridge({ client, redis: server.url, stream: 'names' });
  const topic = 'customer_id:5013bc52-da9a-11ee-844f-2fa34248de28:call:5013bc52-da9a-11ee-844f-2fa34248de29';
  const liveText = '{"id":"5013bc52-da9a-11ee-844f-2fa34248de29","status":"ringing" ,"tm_update":"2024-01-15 10:30:05.000000"}';
  const docText = '{"id":"5013bc52-da9a-11ee-844f-2fa34248de29","status":"answered"}';
  client.emit('event', createEvent('call.status', '2024-01-15T10:30:05.000Z', topic, liveText, 'call_ringing'));
  client.emit('event', createEvent('call.status', '2024-01-15T10:30:06.000Z', topic, docText));
  await until(() => b.stats().appended === 2, 'both appended', 20000);
  await b.close();
  const r = redisFor(t, server);
  assert.deepEqual(await entries(r, 'names'), [
    ['event_type', 'call.status', 'server_event_type', 'call_ringing', 'topic', topic,
      'timestamp', '2024-01-15T10:30:05.000Z', 'data', liveText],
    ['event_type', 'call.status', 'topic', topic, 'timestamp', '2024-01-15T10:30:06.000Z', 'data', docText],
  ]);

  const got = [];
  const c = await consume({ redis: server.url, stream: 'names', group: 'g', handler: (e) => {
    got.push(e);
  } });
  t.after(() => c.close());
  await until(() => got.length === 2, 'both handled', 20000);
  await c.close();
  assert.deepEqual(got.map((e) => Object.keys(e)), [
    ['event_type', 'server_event_type', 'timestamp', 'topic', 'data'],
    ['event_type', 'timestamp', 'topic', 'data'],
  ]);
  assert.deepEqual(got.map((e) => [e.event_type, e.server_event_type, e.timestamp, e.topic, dataText(e)]), [
    ['call.status', 'call_ringing', '2024-01-15T10:30:05.000Z', topic, liveText],
    ['call.status', undefined, '2024-01-15T10:30:06.000Z', topic, docText],
  ]);
  assert.equal(got[0].data.status, 'ringing');
  assert.deepEqual(c.stats(), { read: 2, handled: 2, acked: 2, failed: 0, reclaimed: 0, malformed: 0, inFlight: 0 });

  // The consume command's JSON lines carry it too, after event_type.
  const printed = await runNode([CLI, 'consume', '--redis', server.url, '--stream', 'names', '--group', 'lines', '--count', '2'],
    { timeout: 20000 });
  assert.equal(printed.code, 0, printed.stderr);
  assert.equal(printed.stdout,
    `{"event_type":"call.status","server_event_type":"call_ringing","timestamp":"2024-01-15T10:30:05.000Z","topic":"${topic}","data":${liveText}}\n` +
    `{"event_type":"call.status","timestamp":"2024-01-15T10:30:06.000Z","topic":"${topic}","data":${docText}}\n`);
});
