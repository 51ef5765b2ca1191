// The ESM entry and the CommonJS entry expose the same objects (no dual-package hazard).

import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

test('import and require give the same exports', async () => {
  const cjs = require('..');
  // Self-reference by name goes through package.json "exports" like a consumer's import does.
  const esm = await import('voip-realtime');
  const names = ['RealtimeClient', 'RealtimeError', 'topic', 'Emulator'];
  for (const name of names) {
    assert.ok(cjs[name], `CommonJS lacks ${name}`);
    assert.equal(esm[name], cjs[name], `${name} differs between import and require`);
  }
  const esmNames = Object.keys(esm).filter((k) => k !== 'default').sort();
  assert.deepEqual(esmNames, Object.keys(cjs).sort());
  assert.equal(typeof esm.RealtimeClient, 'function');
});

test('the ESM entry file itself re-exports the CommonJS objects', async () => {
  const cjs = require('..');
  const pkg = require('../package.json');
  const viaFile = await import(new URL(`../${pkg.exports['.'].import.default}`, import.meta.url));
  for (const name of ['RealtimeClient', 'RealtimeError', 'topic', 'Emulator']) {
    assert.equal(viaFile[name], cjs[name], name);
  }
  const { RealtimeClient, RealtimeError } = viaFile;
  let caught;
  try {
    new RealtimeClient({ url: 'ws://example.com/ws', token: 't' });
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof cjs.RealtimeError);
  assert.ok(caught instanceof RealtimeError);
  assert.equal(caught.code, 'INSECURE_URL');
});
