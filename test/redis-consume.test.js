'use strict';
// Processors on a consumer group against a real redis-server: end to end from the emulator
// through the bridge, a processor killed with SIGKILL and its events handled by another, a
// failing handler redelivered, and the `consume` command with and without a command.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Emulator, RealtimeError } = require('..');
const { bridge, consume } = require('../lib/redis/index.js');
const { startRedis, redisFor } = require('./helpers/redis-server');
const { makeClient, until, runNode, delay } = require('./helpers/util');

const T = { timeout: 30000 };
const CUST = '5013bc52-da9a-11ee-844f-2fa34248de28';
const ROOT = path.join(__dirname, '..');

function callEvent(k) {
  const id = `${String(k).padStart(8, '0')}-0000-4000-8000-000000000000`;
  return { event_type: 'call.status', timestamp: `2024-01-15T10:30:05.${String(k).padStart(6, '0')}Z`,
    data: { id, customer_id: CUST, status: 'answered', previous_status: 'ringing', seq: k } };
}

function asReceived(e) {
  return { event_type: e.event_type, timestamp: e.timestamp, topic: `customer_id:${CUST}:call:${e.data.id}`, data: e.data };
}

// Appends events 0..n-1 to `stream` through the emulator and a bridge.
async function feed(t, server, stream, n) {
  const emu = await Emulator.start({ customerId: CUST });
  t.after(() => emu.stop());
  const client = makeClient(t, { url: emu.url, token: emu.issueToken({}), dialect: 'documented' });
  await client.connect();
  await client.subscribe(`customer_id:${CUST}:call:*`);
  const b = await bridge({ client, redis: server.url, stream });
  t.after(() => b.close());
  for (let k = 0; k < n; k++) emu.publish(callEvent(k));
  await until(() => b.stats().appended === n, `${n} appended`, 20000);
}

async function pendingCount(r, stream, group) {
  const [count] = await r.xpending(stream, group);
  return count;
}

test('end to end: emulator -> bridge -> three processors, each event handled and acknowledged once', T, async (t) => {
  const server = await startRedis(t);
  const got = new Map();
  const consumers = [];
  for (const name of ['p1', 'p2', 'p3']) {
    consumers.push(await consume({
      redis: server.url, stream: 'e2e', group: 'workers', consumer: name, concurrency: 4,
      handler: async (e, entry) => {
        assert.equal(entry.stream, 'e2e');
        assert.match(entry.id, /^\d+-\d+$/);
        await delay(1);
        const list = got.get(name) ?? [];
        list.push({ ...e });
        got.set(name, list);
      },
    }));
  }
  t.after(() => Promise.all(consumers.map((c) => c.close())));
  await feed(t, server, 'e2e', 600);
  await until(() => consumers.reduce((n, c) => n + c.stats().acked, 0) === 600, 'all 600 acknowledged', 20000);
  const all = [...got.values()].flat().sort((a, b) => a.data.seq - b.data.seq);
  assert.deepEqual(all, Array.from({ length: 600 }, (_, k) => asReceived(callEvent(k))));
  assert.ok(got.size >= 2, `the load was shared: ${[...got.keys()]}`);
  // Within one processor events arrive in stream order.
  for (const list of got.values()) {
    const seqs = list.map((e) => e.data.seq);
    assert.equal(seqs.length, new Set(seqs).size);
  }
  const r = redisFor(t, server);
  assert.equal(await pendingCount(r, 'e2e', 'workers'), 0);
  const stats = consumers.map((c) => c.stats());
  assert.equal(stats.reduce((n, s) => n + s.handled, 0), 600);
  assert.ok(stats.every((s) => s.failed === 0 && s.reclaimed === 0 && s.malformed === 0 && s.inFlight === 0));
});

test('a processor killed with SIGKILL mid-stream: its unacknowledged events go to another', T, async (t) => {
  const server = await startRedis(t);
  await feed(t, server, 'crash', 200);
  const child = spawn(process.execPath, [path.join(__dirname, 'helpers', 'redis-consumer-child.js'),
    server.url, 'crash', 'g', 'doomed', '20'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => { out += d; });
  // 20 acknowledged, then 8 (its concurrency) held.
  await until(() => (out.match(/^held /gm) ?? []).length === 8, 'the doomed processor holds 8 events', 20000);
  const r = redisFor(t, server);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const acked = out.match(/^acked (\d+)$/gm).map((l) => Number(l.split(' ')[1]));
  const held = out.match(/^held (\d+)$/gm).map((l) => Number(l.split(' ')[1]));
  assert.deepEqual(acked, Array.from({ length: 20 }, (_, k) => k));
  assert.deepEqual(held, Array.from({ length: 8 }, (_, k) => 20 + k));
  assert.equal(await pendingCount(r, 'crash', 'g'), 8);

  const seen = [];
  const survivor = await consume({
    redis: server.url, stream: 'crash', group: 'g', consumer: 'survivor', concurrency: 16, idleTimeout: 300,
    handler: (e) => { seen.push(e.data.seq); },
  });
  t.after(() => survivor.close());
  await until(() => survivor.stats().acked === 180, 'the survivor acknowledged the other 180', 20000);
  await survivor.close();
  assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 180 }, (_, k) => 20 + k));
  assert.equal(survivor.stats().reclaimed, 8);
  assert.equal(await pendingCount(r, 'crash', 'g'), 0);
});

test('a handler that throws leaves its event pending; it is handled again after idleTimeout', T, async (t) => {
  const server = await startRedis(t);
  await feed(t, server, 'retry', 10);
  const attempts = new Map();
  const errors = [];
  const c = await consume({
    redis: server.url, stream: 'retry', group: 'g', concurrency: 10, idleTimeout: 200,
    onError: (err, event) => errors.push([err.message, event && event.data.seq]),
    handler: (e) => {
      const n = (attempts.get(e.data.seq) ?? 0) + 1;
      attempts.set(e.data.seq, n);
      if (e.data.seq === 3 && n < 3) throw new Error(`failed attempt ${n}`);
    },
  });
  t.after(() => c.close());
  await until(() => c.stats().acked === 10, 'all 10 acknowledged', 20000);
  assert.deepEqual([...attempts].sort((a, b) => a[0] - b[0]), [[0, 1], [1, 1], [2, 1], [3, 3], [4, 1], [5, 1], [6, 1], [7, 1], [8, 1], [9, 1]]);
  assert.deepEqual(errors, [['failed attempt 1', 3], ['failed attempt 2', 3]]);
  assert.equal(c.stats().failed, 2);
  assert.equal(c.stats().reclaimed, 2);
});

test('an entry without the bridge fields is acknowledged and reported as MALFORMED_EVENT', T, async (t) => {
  const server = await startRedis(t);
  const r = redisFor(t, server);
  await r.xadd('odd', '*', 'hello', 'world');
  await r.xadd('odd', '*', 'event_type', 'call.status', 'topic', 't', 'timestamp', '', 'data', '{"seq":1}');
  const errors = [];
  const handled = [];
  const c = await consume({ redis: server.url, stream: 'odd', group: 'g', onError: (err) => errors.push(err),
    handler: (e) => handled.push(e.data) });
  t.after(() => c.close());
  await until(() => c.stats().acked === 2, 'both acknowledged', 10000);
  assert.deepEqual(handled, [{ seq: 1 }]);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof RealtimeError);
  assert.equal(errors[0].code, 'MALFORMED_EVENT');
  assert.match(errors[0].message, /^Stream entry odd \d+-\d+ lacks one of the fields event_type, topic, timestamp, data; acknowledged and skipped$/);
});

test('consume options are checked; a refused credential is AUTH_FAILED', T, async (t) => {
  const server = await startRedis(t, { password: 'pw' });
  const bad = [
    [{ redis: server.url, handler() {} }, 'Expected a consumer group name for group but received undefined'],
    [{ redis: server.url, group: 'g' }, 'Expected a function for handler but received undefined'],
    [{ redis: server.url, group: 'g', handler() {}, concurrency: 0 }, 'Expected a positive integer for concurrency but received 0'],
    [{ redis: server.url, group: 'g', handler() {}, stream: [] }, 'Expected a stream name or a non-empty array of them for stream but received []'],
  ];
  for (const [options, message] of bad) {
    await assert.rejects(consume(options), (err) => err.code === 'INVALID_OPTION' && err.message === message);
  }
  await assert.rejects(consume({ redis: `redis://:nope@127.0.0.1:${server.port}`, group: 'g', handler() {} }),
    (err) => err.code === 'AUTH_FAILED' && /WRONGPASS/.test(err.message));
});

test('the consume command writes one JSON line per event to a command, or prints them', T, async (t) => {
  const server = await startRedis(t);
  await feed(t, server, 'cli', 50);
  const cli = path.join(ROOT, 'lib', 'cli.js');
  const expected = Array.from({ length: 50 }, (_, k) => asReceived(callEvent(k)));
  // A processor in "any language": counts lines and echoes them back, prefixed.
  const echo = 'let n=0;require("readline").createInterface({input:process.stdin}).on("line",(l)=>{n++;console.log("got "+l)}).on("close",()=>{console.log("lines "+n);process.exit(7)})';
  const r = await runNode([cli, 'consume', '--redis', server.url, '--group', 'a', '--stream', 'cli', '--count', '50',
    '--', process.execPath, '-e', echo], { timeout: 20000 });
  assert.equal(r.stderr, '');
  assert.equal(r.code, 7, 'the exit code of the command');
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.at(-1), 'lines 50');
  assert.deepEqual(lines.slice(0, -1).map((l) => JSON.parse(l.slice(4))), expected);
  assert.ok(lines.slice(0, -1).every((l) => l.startsWith('got {"event_type":"call.status","timestamp":')));

  // Another group gets every event again; without a command they are printed.
  const printed = await runNode([cli, 'consume', '--redis', server.url, '--group', 'b', '--stream', 'cli', '--count', '50'],
    { timeout: 20000 });
  assert.equal(printed.code, 0, printed.stderr);
  assert.deepEqual(printed.stdout.trimEnd().split('\n').map((l) => JSON.parse(l)), expected);
  const rr = redisFor(t, server);
  assert.equal(await pendingCount(rr, 'cli', 'a'), 0);
  assert.equal(await pendingCount(rr, 'cli', 'b'), 0);

  // A command that exits early: its exit code is the command's, and what it did not take stays pending.
  const early = await runNode([cli, 'consume', '--redis', server.url, '--group', 'c', '--stream', 'cli',
    '--', process.execPath, '-e', 'process.exit(3)'], { timeout: 20000 });
  assert.equal(early.code, 3, early.stderr);
});

test('a long-running consumer does not keep the entries it read', T, async (t) => {
  const server = await startRedis(t);
  const r = redisFor(t, server);
  // 20,000 entries of about 2 KB: 40 MB if every read reply were kept.
  const count = 20000;
  const pad = 'x'.repeat(2000);
  for (let k = 0; k < count; k += 1000) {
    const p = r.pipeline();
    for (let i = k; i < k + 1000; i++) {
      p.xadd('mem', '*', 'event_type', 'call.status', 'topic', `customer_id:c:call:${i}`, 'timestamp', `t${i}`,
        'data', JSON.stringify({ seq: i, pad }));
    }
    await p.exec();
  }
  const res = await runNode(['--expose-gc', path.join(__dirname, 'helpers', 'redis-consume-memory-child.js'), server.url, 'mem', String(count)],
    { timeout: 50000 });
  assert.equal(res.code, 0, res.stderr);
  const { handled, acked, grownBytes } = JSON.parse(res.stdout);
  assert.deepEqual([handled, acked], [count, count]);
  assert.ok(grownBytes < 12e6, `the heap grew by ${(grownBytes / 1e6).toFixed(1)} MB over 20,000 entries (40 MB read)`);
  assert.equal((await r.xpending('mem', 'g'))[0], 0);
});

