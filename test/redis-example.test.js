'use strict';
// examples/scaling-out.js against its own emulator and a real redis-server: every event the
// bridge appended is handled exactly once by one of the two processors, and nothing is left
// pending.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startRedis } = require('./helpers/redis-server');
const { runNode } = require('./helpers/util');

const ROOT = path.join(__dirname, '..');

test('scaling-out: the processors share the stream, each event handled once', { timeout: 60000 }, async (t) => {
  const server = await startRedis(t);
  const r = await runNode([path.join(ROOT, 'examples', 'scaling-out.js')], {
    timeout: 40000,
    env: { REDIS_URL: server.url, EXAMPLE_SECONDS: '3', VOIPBIN_URL: '', VOIPBIN_TOKEN: '' },
  });
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  const lines = r.stdout.trimEnd().split('\n');
  const m = /^summary: (\d+) events in (scaling-out:\d+), (\d+) handled by processor-1, (\d+) by processor-2$/.exec(lines.at(-1));
  assert.ok(m, lines.at(-1));
  const [appended, stream, p1, p2] = [Number(m[1]), m[2], Number(m[3]), Number(m[4])];
  assert.ok(appended >= 20, `only ${appended} events`);
  assert.equal(p1 + p2, appended);
  const body = lines.slice(0, -1);
  assert.equal(body.filter((l) => l.startsWith('processor-1 ')).length, p1);
  assert.equal(body.filter((l) => l.startsWith('processor-2 ')).length, p2);

  const Redis = require('ioredis');
  const redis = new Redis(server.url);
  t.after(() => redis.disconnect());
  const entries = await redis.xrange(stream, '-', '+');
  assert.equal(entries.length, appended);
  const fromStream = entries.map(([, f]) => {
    const data = JSON.parse(f[7]);
    const detail = f[1] === 'call.status' ? ` ${data.previous_status} -> ${data.status}` : '';
    return `${f[1]} ${f[3]}${detail}`;
  }).sort();
  assert.deepEqual(body.map((l) => l.replace(/^processor-\d /, '')).sort(), fromStream);
  const [pending] = await redis.xpending(stream, 'example');
  assert.equal(pending, 0);
});
