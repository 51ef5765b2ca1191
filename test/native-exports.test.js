'use strict';
// The built addon exports only the Node-API entry points: anything else (Asio statics, OpenSSL,
// simdjson) would leak into, and collide with, the host process.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ENTRY_POINTS = new Set(['napi_register_module_v1', 'node_api_module_get_api_version_v1']);

function addonPath() {
  return process.env.VOIP_REALTIME_NATIVE
    ? path.resolve(process.env.VOIP_REALTIME_NATIVE)
    : path.join(__dirname, '..', 'build', 'Release', 'voip_realtime.node');
}

test('nm -D --defined-only on the addon shows only the Node-API entry points', () => {
  // Loading the package first proves this is the binary the tests actually run.
  require('..');
  const file = addonPath();
  assert.ok(fs.existsSync(file), `no addon at ${file}`);
  const r = spawnSync('nm', ['-D', '--defined-only', file], { encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, r.stderr);
  const symbols = r.stdout.split('\n').filter(Boolean).map((line) => line.trim().split(/\s+/).pop());
  const extra = symbols.filter((s) => !ENTRY_POINTS.has(s));
  assert.deepEqual(extra, []);
  assert.ok(symbols.includes('napi_register_module_v1'), symbols.join(' '));
});
