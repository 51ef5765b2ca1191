'use strict';

// Runs the reconnect-storm benchmark (bench/storm.js) in both shapes on a small fleet so that it
// cannot rot: every client comes back, nothing upgrades while the server is away, and the counts
// add up. Rates depend on the machine and are never asserted.

const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const STORM = path.join(__dirname, '..', 'bench', 'storm.js');

function storm(args) {
  const res = spawnSync(process.execPath, [STORM, '--clients', '10', '--stable', '1', ...args], {
    encoding: 'utf8', timeout: 60000,
  });
  assert.strictEqual(res.status, 0, `bench/storm.js ${args.join(' ')} failed (${res.status}, ${res.signal}):\n${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop());
}

function checkCounts(r, seconds) {
  assert.strictEqual(r.clients, 10);
  assert.strictEqual(r.connectedAtEnd, 10);
  assert.strictEqual(r.perSecond.length, seconds);
  assert.strictEqual(r.perSecond.reduce((a, b) => a + b, 0), r.total);
  assert.ok(r.peakPer100ms >= 1 && r.peakPer100ms <= r.total, `peak ${r.peakPer100ms} of ${r.total}`);
}

test('storm --shape down: refused while away, every client back after the server returns', { timeout: 90000 }, () => {
  // Jitter 0.5: the first attempt comes within 0.5-1 s, the second 1-2 s later, after the return.
  const r = storm(['--shape', 'down', '--down', '1', '--seconds', '6', '--jitter', '0.5']);
  assert.strictEqual(r.shape, 'down');
  assert.strictEqual(r.jitter, 0.5);
  assert.strictEqual(r.downSeconds, 1);
  assert.strictEqual(r.upgradesWhileDown, 0);
  // One upgrade per client: the first after the return succeeds and stays.
  assert.strictEqual(r.total, 10);
  assert.ok(Number.isFinite(r.allBackAfterMs) && r.allBackAfterMs >= 0, `allBackAfterMs ${r.allBackAfterMs}`);
  checkCounts(r, 6);
});

test('storm --shape drop: upgrades dropped while hostile, every client back afterwards', { timeout: 90000 }, () => {
  // The first attempt (within 1 s) meets the hostile server (2 s); every client is back by 6 s.
  const r = storm(['--hostile', '2', '--seconds', '10', '--reset-after', '0']);
  assert.strictEqual(r.shape, 'drop');
  assert.strictEqual(r.resetAfter, 0);
  assert.strictEqual(r.hostileSeconds, 2);
  // At least one dropped upgrade and one lasting upgrade per client.
  assert.ok(r.total >= 20, `total ${r.total}`);
  checkCounts(r, 10);
});
