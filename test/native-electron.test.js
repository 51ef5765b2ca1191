'use strict';
// The Electron prebuild (private static OpenSSL) is loaded explicitly in Node and put through
// the wss suite, so that the variant no test would otherwise load cannot rot.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ensurePrebuilds } = require('./helpers/prebuilds');

test('test/client-tls.test.js passes with the Electron variant', () => {
  const { electron } = ensurePrebuilds();
  // Without NODE_TEST_CONTEXT the child runs its own suite and reports in TAP, not to this runner.
  const env = { ...process.env, VOIP_REALTIME_NATIVE: electron };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', path.join(__dirname, 'client-tls.test.js')], {
    cwd: path.join(__dirname, '..'),
    env,
    encoding: 'utf8',
    timeout: 300000,
  });
  const count = (name) => Number((r.stdout.match(new RegExp(`^# ${name} (\\d+)$`, 'm')) || [])[1]);
  assert.equal(r.status, 0, r.stdout.slice(-4000) + r.stderr);
  assert.equal(count('fail'), 0);
  assert.equal(count('skipped'), 0);
  assert.equal(count('cancelled'), 0);
  assert.ok(count('tests') >= 9, r.stdout.slice(-2000));
  assert.equal(count('pass'), count('tests'));
});

test('the variant the wss suite ran is the one loaded under the override', () => {
  const { electron } = ensurePrebuilds();
  const r = spawnSync(process.execPath, ['-e',
    "require('.'); console.log(require('./lib/native.js').loadedPath())"], {
    cwd: path.join(__dirname, '..'),
    env: { ...process.env, VOIP_REALTIME_NATIVE: electron },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), electron);
});
