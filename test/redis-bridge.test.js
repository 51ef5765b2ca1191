'use strict';
// The bridge into Redis Streams against a real redis-server and the emulator: entries and their
// fields, one stream per resource, two bridges appending each event once, a Redis restart
// mid-stream, and the subpath not loading ioredis until used.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Emulator, RealtimeError } = require('..');
const { bridge, identity } = require('../lib/redis/index.js');
const { startRedis, redisFor } = require('./helpers/redis-server');
const { makeClient, until, runNode, delay } = require('./helpers/util');

const T = { timeout: 60000 };
const CUST = '5013bc52-da9a-11ee-844f-2fa34248de28';
const ROOT = path.join(__dirname, '..');

async function emulator(t, options) {
  const emu = await Emulator.start({ customerId: CUST, ...options });
  t.after(() => emu.stop());
  return emu;
}

// Event k: a call event for calls, a message event for messages; every one distinct.
function eventAt(k, resource = 'call') {
  const id = `${String(k).padStart(8, '0')}-0000-4000-8000-000000000000`;
  if (resource === 'message') {
    return { event_type: 'message.received', timestamp: `2024-01-15T10:30:05.${String(k).padStart(6, '0')}Z`,
      data: { id, customer_id: CUST, direction: 'inbound', text: `hello ${k}: "quoted" \u00e9\u{1f600}` } };
  }
  return { event_type: 'call.status', timestamp: `2024-01-15T10:30:05.${String(k).padStart(6, '0')}Z`,
    data: { id, customer_id: CUST, status: 'ringing', previous_status: 'dialing', seq: k } };
}

function expectedEntry(e, resource = 'call') {
  return ['event_type', e.event_type, 'topic', `customer_id:${CUST}:${resource}:${e.data.id}`,
    'timestamp', e.timestamp, 'data', JSON.stringify(e.data)];
}

async function connected(t, emu, topics = [`customer_id:${CUST}:*:*`]) {
  const client = makeClient(t, { url: emu.url, token: emu.issueToken({}), dialect: 'documented' });
  await client.connect();
  await client.subscribe(topics);
  return client;
}

// The command line in a child process, killed after the test; stderr collected.
function spawnCli(t, args) {
  const { spawn } = require('node:child_process');
  const child = spawn(process.execPath, [path.join(ROOT, 'lib', 'cli.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => child.kill('SIGKILL'));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

async function entries(r, stream) {
  return (await r.xrange(stream, '-', '+')).map(([, fields]) => fields);
}

test('requiring voip-realtime (or voip-realtime/redis) loads no Redis client', async () => {
  const r = await runNode(['-e', `
    require(${JSON.stringify(ROOT)});
    const loaded = () => Object.keys(require.cache).filter((k) => k.includes('/node_modules/ioredis/')).length;
    const a = loaded();
    require(${JSON.stringify(path.join(ROOT, 'lib', 'redis', 'index.js'))});
    const b = loaded();
    console.log(a, b);`]);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, '0 0\n');
});

test('every event becomes one entry with its fields and its data text verbatim', T, async (t) => {
  const server = await startRedis(t);
  const emu = await emulator(t);
  const client = await connected(t, emu);
  const b = await bridge({ client, redis: server.url, stream: 'ev', maxlen: 10000 });
  t.after(() => b.close());
  const sent = [];
  for (let k = 0; k < 300; k++) {
    const e = eventAt(k, k % 3 === 0 ? 'message' : 'call');
    sent.push(e);
    emu.publish(e);
  }
  const r = redisFor(t, server);
  await until(() => b.stats().appended === 300, 'all 300 appended', 20000);
  await b.drained();
  assert.deepEqual(await entries(r, 'ev'),
    sent.map((e, k) => expectedEntry(e, k % 3 === 0 ? 'message' : 'call')));
  const s = b.stats();
  assert.deepEqual({ received: s.received, appended: s.appended, duplicates: s.duplicates, pending: s.pending, lag: s.lag },
    { received: 300, appended: 300, duplicates: 0, pending: 0, lag: 0 });
  // The identity key of each event is remembered for the window.
  const first = sent[0];
  const id = identity({ event_type: first.event_type, topic: `customer_id:${CUST}:message:${first.data.id}`,
    timestamp: first.timestamp, data: JSON.stringify(first.data) });
  const ttl = await r.pttl(`ev:seen:${id}`);
  assert.ok(ttl > 50000 && ttl <= 60000, `ttl ${ttl}`);
});

test('live dialect: the bare frame is the data text, byte for byte, and the derived fields are kept', T, async (t) => {
  const fs = require('node:fs');
  const frames = fs.readFileSync(path.join(__dirname, 'fixtures', 'live-frames.jsonl'), 'utf8')
    .split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const sample = (type) => frames.find((l) => l.event_type === type && l.wire === 'bare').frame;
  const server = await startRedis(t);
  const emu = await emulator(t, { dialect: 'live' });
  const client = makeClient(t, { url: emu.url, token: emu.issueToken({}), dialect: 'live', settleTime: 150 });
  await client.subscribe(`customer_id:${CUST}:*:*`);
  const b = await bridge({ client, redis: server.url, stream: 'live' });
  t.after(() => b.close());
  const sent = ['call_ringing', 'message_created', 'call_hangup'].map((type) => [type, sample(type)]);
  for (const [type, data] of sent) emu.publish({ event_type: type, data });
  await until(() => b.stats().appended === 3, 'three appended', 20000);
  const r = redisFor(t, server);
  // event_type is the documented counterpart of the live event (docs/protocol-voipbin.md), and
  // server_event_type keeps the live name
  const documented = { call_ringing: 'call.status', message_created: 'message.received', call_hangup: 'call.ended' };
  assert.deepEqual(await entries(r, 'live'), sent.map(([type, data]) => ['event_type', documented[type],
    'server_event_type', type, 'topic', `customer_id:${CUST}:${type.split('_')[0]}:${data.id}`, 'timestamp', data.tm_update ?? data.tm_create,
    'data', JSON.stringify(data)]));
});

test('voip-realtime/redis from ESM', async () => {
  const r = await runNode(['--input-type=module', '-e', `
    import redis, { bridge, consume, identity, DEFAULT_STREAM } from 'voip-realtime/redis';
    console.log(typeof bridge, typeof consume, typeof identity, DEFAULT_STREAM, redis.bridge === bridge);`]);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'function function function voip-realtime:events true\n');
});

test('maxlen trims approximately; --stream-by resource writes one stream per resource', T, async (t) => {
  const server = await startRedis(t);
  const emu = await emulator(t);
  const client = await connected(t, emu);
  const b = await bridge({ client, redis: server.url, stream: 'ev', maxlen: 100, streamBy: 'resource', batchSize: 50 });
  t.after(() => b.close());
  const sent = { call: [], message: [] };
  for (let k = 0; k < 1000; k++) {
    const resource = k % 2 === 0 ? 'call' : 'message';
    const e = eventAt(k, resource);
    sent[resource].push(e);
    emu.publish(e);
  }
  await until(() => b.stats().appended === 1000, 'all 1000 appended', 20000);
  const r = redisFor(t, server);
  assert.equal(await r.exists('ev'), 0);
  for (const resource of ['call', 'message']) {
    const got = await entries(r, `ev:${resource}`);
    // Approximate trimming removes whole macro nodes: at least maxlen stay, far fewer than 500.
    assert.ok(got.length >= 100 && got.length < 500, `${resource}: ${got.length} entries`);
    assert.deepEqual(got, sent[resource].slice(-got.length).map((e) => expectedEntry(e, resource)));
  }
});

test('two bridges on one account append each event once; killing one loses nothing', T, async (t) => {
  const server = await startRedis(t);
  const emu = await emulator(t);
  const token = emu.issueToken({});
  const spawnBridge = () => spawnCli(t, ['bridge', '--url', emu.url, '--token', token,
    '--topic', `customer_id:${CUST}:*:*`, '--dialect', 'documented', '--redis', server.url, '--stream', 'ha']);
  const a = spawnBridge();
  const b = spawnBridge();
  await until(() => a.stderr().includes('subscribed to') && b.stderr().includes('subscribed to'), 'both bridges subscribed', 20000);
  const r = redisFor(t, server);
  const sent = [];
  for (let k = 0; k < 2000; k++) {
    const e = eventAt(k);
    sent.push(e);
    emu.publish(e);
    if (k === 999) {
      await delay(20);
      a.child.kill('SIGKILL');
      assert.deepEqual(await a.exited, { code: null, signal: 'SIGKILL' });
    }
    if (k % 100 === 99) await delay(5);
  }
  let length = 0;
  await until(() => {
    r.xlen('ha').then((n) => { length = n; });
    return length === 2000;
  }, '2000 entries', 20000);
  await delay(200);   // a straggling duplicate would show up now
  assert.deepEqual(await entries(r, 'ha'), sent.map((e) => expectedEntry(e)));
  b.child.kill('SIGTERM');
  const end = await b.exited;
  assert.equal(end.code, 0, b.stderr());
  const m = /bridge: in=(\d+) appended=(\d+) duplicates=(\d+)\n$/.exec(b.stderr());
  assert.ok(m, b.stderr());
  assert.equal(Number(m[1]), 2000);
  // Which bridge won each of the first 1000 events is a race; together they appended each once.
  assert.equal(Number(m[2]) + Number(m[3]), 2000);
});

test('Redis restarted mid-stream: the bridge retries and nothing is lost', T, async (t) => {
  const server = await startRedis(t, { appendonly: true });
  const emu = await emulator(t);
  const client = await connected(t, emu);
  const errors = [];
  const b = await bridge({ client, redis: server.url, stream: 'rs', retry: { initialDelay: 20, maxDelay: 200 },
    onError: (err) => errors.push(err) });
  t.after(() => b.close());
  const sent = [];
  const publish = (from, to) => {
    for (let k = from; k < to; k++) {
      const e = eventAt(k);
      sent.push(e);
      emu.publish(e);
    }
  };
  publish(0, 500);
  await until(() => b.stats().appended === 500, 'first 500 appended', 20000);
  await server.stop();
  publish(500, 1000);
  await until(() => b.stats().received === 1000 && b.stats().retries >= 2, 'events read while Redis is away', 20000);
  const away = b.stats();
  assert.equal(away.appended, 500);
  assert.equal(away.pending, 500);
  assert.ok(away.lag > 0);
  assert.ok(away.lastError instanceof RealtimeError);
  assert.equal(away.lastError.code, 'CONNECT_FAILED');
  assert.ok(errors.length >= 2 && errors.every((e) => e.code === 'CONNECT_FAILED'));
  await server.restart();
  publish(1000, 1500);
  await until(() => b.stats().appended === 1500, 'all 1500 appended after the restart', 20000);
  const r = redisFor(t, server);
  assert.deepEqual(await entries(r, 'rs'), sent.map((e) => expectedEntry(e)));
  assert.equal(b.stats().lastError, null);
  assert.equal(b.stats().duplicates, 0);
});

test('Redis away: the bridge pauses the client, the socket pushes back, and every event arrives later', T, async (t) => {
  const server = await startRedis(t);
  const emu = await emulator(t);
  const client = makeClient(t, { url: emu.url, token: emu.issueToken({}), dialect: 'documented', maxQueue: 500 });
  await client.connect();
  await client.subscribe(`customer_id:${CUST}:call:*`);
  const b = await bridge({ client, redis: server.url, stream: 'bp', maxlen: 0, highWaterMark: 1000,
    retry: { initialDelay: 20, maxDelay: 100 } });
  t.after(() => b.close());
  await server.stop();
  const total = 20000;
  const blast = emu.scenario('blast', { count: total, ids: total });
  await until(() => b.stats().paused && b.stats().retries >= 3, 'the bridge paused', 20000);
  await delay(300);
  const held = b.stats();
  // Read: at most the high-water mark plus what the native queue held when the pause came.
  assert.ok(held.received < total, `received ${held.received} of ${total} while Redis was away`);
  assert.ok(held.pending <= 1000 + 2 * 500, `pending ${held.pending}`);
  assert.equal(held.appended, 0);
  assert.equal(held.pauses, 1);
  await delay(300);
  assert.equal(b.stats().received, held.received, 'nothing more is read while paused');
  await server.restart();
  await blast;
  await until(() => b.stats().appended === total, 'every event appended after Redis came back', 30000);
  const r = redisFor(t, server);
  const got = await r.xrange('bp', '-', '+');
  assert.equal(got.length, total);
  assert.equal(new Set(got.map(([, f]) => f[7])).size, total, 'each event once');
  assert.equal(b.stats().paused, false);
});

test('bad options are INVALID_OPTION; a refused Redis credential is AUTH_FAILED', T, async (t) => {
  const server = await startRedis(t, { password: 's3cret' });
  const emu = await emulator(t);
  const client = makeClient(t, { url: emu.url, token: emu.issueToken({}) });
  const cases = [
    [{ client, redis: 'http://x' }, 'Expected a redis:// URL or an ioredis client for redis but received "http://x"'],
    [{ client, redis: server.url, maxlen: -1 }, 'Expected a positive integer (or 0 for no trimming) for maxlen but received -1'],
    [{ client, redis: server.url, streamBy: 'topic' }, 'Expected one of none, resource for streamBy but received "topic"'],
    [{ client: {}, redis: server.url }, 'Expected a RealtimeClient for client but received {}'],
    [{ client, redis: server.url, stream: 'a b' }, 'Expected a stream name without spaces for stream but received "a b"'],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(bridge(options), (err) => err instanceof RealtimeError && err.code === 'INVALID_OPTION' && err.message === message);
  }
  const url = `redis://:wrong@127.0.0.1:${server.port}`;
  await assert.rejects(bridge({ client, redis: url }), (err) => {
    assert.equal(err.code, 'AUTH_FAILED');
    assert.match(err.message, /^Redis refused the credential \(connection\): WRONGPASS/);
    return true;
  });
  const r = await runNode([path.join(ROOT, 'lib', 'cli.js'), 'bridge', '--url', emu.url, '--token', emu.issueToken({}),
    '--topic', `customer_id:${CUST}:*:*`, '--redis', url]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^voip-realtime bridge: AUTH_FAILED: Redis refused the credential \(connection\): WRONGPASS/m);
  assert.ok(!r.stderr.includes('wrong'), 'the password is not printed');
  const noAuth = await runNode([path.join(ROOT, 'lib', 'cli.js'), 'bridge', '--url', emu.url, '--token', emu.issueToken({}),
    '--topic', `customer_id:${CUST}:*:*`, '--redis', server.url]);
  assert.equal(noAuth.code, 1);
  assert.match(noAuth.stderr, /^voip-realtime bridge: AUTH_FAILED: Redis refused the credential \(connection\): NOAUTH/m);
});

test('the bridge command: usage errors exit 2, a refused token exits 1, --metrics prints lines', T, async (t) => {
  const cli = path.join(ROOT, 'lib', 'cli.js');
  const usage = [
    [['bridge', '--topic', `customer_id:${CUST}:*:*`, '--token', 't'], '--redis is required (or $REDIS_URL), for example --redis redis://127.0.0.1:6379'],
    [['bridge', '--redis', 'redis://127.0.0.1:1', '--token', 't'], 'at least one --topic is required, for example --topic \'customer_id:<uuid>:call:*\''],
    [['bridge', '--redis', 'redis://127.0.0.1:1', '--token', 't', '--topic', `customer_id:${CUST}:*:*`, '--maxlen', 'x'],
      '--maxlen must be an integer of at least 0, got "x"'],
    [['bridge', '--redis', 'redis://127.0.0.1:1', '--token', 't', '--topic', `customer_id:${CUST}:*:*`, '--stream-by', 'x'],
      '--stream-by must be one of none, resource, got "x"'],
    [['bridge', '--redis', 'tcp://x', '--token', 't', '--topic', `customer_id:${CUST}:*:*`], '--redis must be a redis:// URL, got "tcp://x"'],
    [['consume', '--redis', 'redis://127.0.0.1:1'], '--group is required'],
    [['consume', '--redis', 'redis://127.0.0.1:1', '--group', 'g', '--'], 'a command is required after --'],
  ];
  for (const [args, message] of usage) {
    const r = await runNode([cli, ...args], { env: { VOIPBIN_TOKEN: '', REDIS_URL: '' } });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.split('\n')[0], `voip-realtime ${args[0]}: ${message}`);
  }
  const server = await startRedis(t);
  const emu = await emulator(t);
  const refused = await runNode([cli, 'bridge', '--url', emu.url, '--token', 'not-a-token', '--topic', `customer_id:${CUST}:*:*`,
    '--redis', server.url]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^voip-realtime bridge: AUTH_FAILED: /m);

  const running = spawnCli(t, ['bridge', '--url', emu.url, '--token', emu.issueToken({}), '--topic', `customer_id:${CUST}:*:*`,
    '--redis', server.url, '--metrics', '50', '--dialect', 'documented']);
  await until(() => running.stderr().includes('subscribed to'), 'subscribed', 20000);
  for (let k = 0; k < 100; k++) emu.publish(eventAt(k));
  await until(() => / appended=100 /.test(running.stderr()), 'a metrics line with all 100 appended', 20000);
  running.child.kill('SIGTERM');
  assert.deepEqual(await running.exited, { code: 0, signal: null });
  const metrics = running.stderr().split('\n').filter((l) => l.startsWith('bridge: in='));
  assert.ok(metrics.length >= 2, running.stderr());
  for (const line of metrics.slice(0, -1)) {
    assert.match(line, /^bridge: in=\d+ appended=\d+ duplicates=0 pending=\d+ lag=\d+ms retries=0 paused=false rate=\d+\/s$/);
  }
  assert.equal(metrics.at(-1), 'bridge: in=100 appended=100 duplicates=0');
});
