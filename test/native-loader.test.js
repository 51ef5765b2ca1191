'use strict';
// lib/native.js and native/install.js: which binary is chosen (prebuildify / node-gyp-build tags),
// in which order, and what a process gets when none loads. Children run against copies of lib/
// in temporary folders, so the real build/ and prebuilds/ are never touched.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { parseTags, findPrebuild } = require('../lib/native.js');
const { plan, buildFromSourceRequested } = require('../native/install.js');
const { ensurePrebuilds } = require('./helpers/prebuilds');

const ROOT = path.resolve(__dirname, '..');
const TUPLE = `${process.platform}-${process.arch}`;

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vr-loader-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// A package folder with lib/ and package.json only: no build, no prebuilds.
function packageCopy(t) {
  const dir = tempDir(t);
  fs.cpSync(path.join(ROOT, 'lib'), path.join(dir, 'lib'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  return dir;
}

function touch(file, text = '') {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

// Runs `code` in a child with `dir` as the package; prints one JSON line.
function child(dir, code, env = {}) {
  const full = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete full[k];
  const r = spawnSync(process.execPath, ['-e', code], { cwd: dir, env: full, encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const REQUIRE_RESULT = `
  const native = require('./lib/native.js');
  try {
    require('./lib/index.js');
    console.log(JSON.stringify({ loaded: native.loadedPath() }));
  } catch (err) {
    console.log(JSON.stringify({ name: err.name, code: err.code, message: err.message }));
  }`;

test('tags are read the way node-gyp-build reads them', () => {
  assert.deepEqual(parseTags('voip-realtime.node.napi.glibc.node'),
    { file: 'voip-realtime.node.napi.glibc.node', specificity: 3, runtime: 'node', napi: true, libc: 'glibc' });
  assert.deepEqual(parseTags('voip-realtime.electron.napi.glibc.node'),
    { file: 'voip-realtime.electron.napi.glibc.node', specificity: 3, runtime: 'electron', napi: true, libc: 'glibc' });
  assert.deepEqual(parseTags('node.abi115.uv1.armv7.musl.node'),
    { file: 'node.abi115.uv1.armv7.musl.node', specificity: 5, runtime: 'node', abi: '115', uv: '1', armv: '7', libc: 'musl' });
  assert.equal(parseTags('voip-realtime.node.napi.glibc.node.tmp'), null);
});

test('findPrebuild: runtime, libc, ABI and folder rules', (t) => {
  const dir = tempDir(t);
  const folder = path.join(dir, TUPLE);
  for (const name of ['x.node.napi.glibc.node', 'x.electron.napi.glibc.node', 'x.node.napi.musl.node',
    `x.node.abi${Number(process.versions.modules) + 1}.glibc.node`, 'README.md']) touch(path.join(folder, name));
  touch(path.join(dir, `${process.platform}-${process.arch}+other`, 'x.node.abi0.node'));
  touch(path.join(dir, 'plan9-mips', 'x.node.napi.node'));

  assert.deepEqual(findPrebuild({ dir, runtime: 'node' }).file, path.join(folder, 'x.node.napi.glibc.node'));
  assert.deepEqual(findPrebuild({ dir, runtime: 'electron' }).file, path.join(folder, 'x.electron.napi.glibc.node'));
  // An ABI-specific build for this very ABI beats Node-API.
  touch(path.join(folder, `x.node.abi${process.versions.modules}.glibc.node`));
  assert.equal(findPrebuild({ dir, runtime: 'node' }).file, path.join(folder, `x.node.abi${process.versions.modules}.glibc.node`));

  // Under Electron a node build is never taken: it binds OpenSSL from its host.
  fs.rmSync(path.join(folder, 'x.electron.napi.glibc.node'));
  const none = findPrebuild({ dir, runtime: 'electron' });
  assert.equal(none.file, null);
  assert.equal(none.reason, `nothing in ${folder} fits (${TUPLE}, electron, Node-API, glibc)`);

  const empty = tempDir(t);
  assert.deepEqual(findPrebuild({ dir: empty, runtime: 'node' }),
    { file: null, reason: `no prebuilds/ folder for ${TUPLE}` });
});

test('install plan: prebuild when one fits, compile when asked, in a checkout, or when none fits', (t) => {
  const root = tempDir(t);
  const prebuilds = path.join(root, 'prebuilds');
  touch(path.join(prebuilds, TUPLE, 'voip-realtime.node.napi.glibc.node'));
  touch(path.join(prebuilds, TUPLE, 'voip-realtime.electron.napi.glibc.node'));
  assert.deepEqual(plan({ env: {}, root }),
    { action: 'prebuild', file: path.join(prebuilds, TUPLE, 'voip-realtime.node.napi.glibc.node') });
  assert.deepEqual(plan({ env: { npm_config_runtime: 'electron' }, root }),
    { action: 'prebuild', file: path.join(prebuilds, TUPLE, 'voip-realtime.electron.napi.glibc.node') });
  assert.deepEqual(plan({ env: { npm_config_build_from_source: 'true' }, root }),
    { action: 'build', reason: 'a build from source was requested' });
  assert.equal(buildFromSourceRequested({ npm_config_build_from_source: 'sharp,voip-realtime' }), true);
  assert.equal(buildFromSourceRequested({ npm_config_build_from_source: 'sharp' }), false);
  assert.equal(buildFromSourceRequested({ npm_config_build_from_source: 'false' }), false);
  assert.equal(buildFromSourceRequested({ npm_config_build_from_source: '' }), false);

  fs.rmSync(path.join(prebuilds, TUPLE, 'voip-realtime.node.napi.glibc.node'));
  assert.deepEqual(plan({ env: {}, root }),
    { action: 'build', reason: `nothing in ${path.join(prebuilds, TUPLE)} fits (${TUPLE}, node, Node-API, glibc)` });
  touch(path.join(root, '.git'), 'gitdir: elsewhere\n');
  assert.deepEqual(plan({ env: {}, root }), { action: 'build', reason: 'this is a git checkout' });
});

test('no binary anywhere: require() throws NATIVE_LOAD_FAILED listing every place tried', (t) => {
  const dir = packageCopy(t);
  const r = child(dir, REQUIRE_RESULT, { VOIP_REALTIME_NATIVE: undefined });
  assert.equal(r.name, 'RealtimeError');
  assert.equal(r.code, 'NATIVE_LOAD_FAILED');
  const tried = r.message.split('\n').filter((l) => l.startsWith('  - '));
  assert.deepEqual(tried, [
    `  - ${path.join(fs.realpathSync(dir), 'build', 'Release', 'voip_realtime.node')}: not found`,
    `  - no prebuilds/ folder for ${TUPLE}`,
  ]);
  assert.match(r.message, /npm install --build-from-source/);
  assert.match(r.message, /apt-get install -y cmake g\+\+ make libboost1\.81-dev/);
});

test('a broken binary and a missing override both fail at require time with the reason', (t) => {
  const dir = packageCopy(t);
  const bogus = path.join(dir, 'bogus.node');
  fs.writeFileSync(bogus, 'not an ELF file\n'.repeat(16));
  const broken = child(dir, REQUIRE_RESULT, { VOIP_REALTIME_NATIVE: bogus });
  assert.equal(broken.code, 'NATIVE_LOAD_FAILED');
  const tried = broken.message.split('\n').filter((l) => l.startsWith('  - '));
  assert.equal(tried.length, 2);
  assert.match(tried[0], new RegExp(`^  - ${bogus.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ERR_DLOPEN_FAILED: .*invalid ELF header`));
  assert.equal(tried[1], '  - (VOIP_REALTIME_NATIVE is set, so nothing else was tried; unset it to use the packaged binary)');

  const missing = child(dir, REQUIRE_RESULT, { VOIP_REALTIME_NATIVE: path.join(dir, 'nope.node') });
  assert.equal(missing.code, 'NATIVE_LOAD_FAILED');
  assert.match(missing.message, new RegExp(`  - ${path.join(dir, 'nope.node').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not found\n`));
});

test('a binary from another version of the package is refused with what it has and what is needed', (t) => {
  const dir = packageCopy(t);
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const cases = [
    ['old.js', 'module.exports = { Client() {}, Emulator() {} };', 'it has no interface version'],
    ['stride.js', 'module.exports = { Client() {}, Emulator() {}, interfaceVersion: 1, metaStride: 9 };',
      'it has interface 1 with 9 slots per record'],
    ['newer.js', 'module.exports = { Client() {}, Emulator() {}, interfaceVersion: 2, metaStride: 13 };',
      'it has interface 2 with 13 slots per record'],
  ];
  for (const [name, text, has] of cases) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    const r = child(dir, REQUIRE_RESULT, { VOIP_REALTIME_NATIVE: file });
    assert.equal(r.code, 'NATIVE_LOAD_FAILED', name);
    const tried = r.message.split('\n').filter((l) => l.startsWith('  - '));
    assert.deepEqual(tried, [
      `  - ${file}: loaded, but ${has} and this package needs interface 1 with 13 ` +
        '(a build left from another version: rebuild it)',
      '  - (VOIP_REALTIME_NATIVE is set, so nothing else was tried; unset it to use the packaged binary)',
    ], name);
    assert.match(r.message, new RegExp(escape('`npm run build:release`')));
  }
});

test('the addon built from this checkout carries the interface this JS layer reads', () => {
  const native = require('../lib/native.js');
  const b = native.loadBinding();
  assert.equal(b.interfaceVersion, native.INTERFACE_VERSION);
  assert.equal(b.metaStride, native.META_STRIDE);
  assert.equal(native.interfaceMismatch(b), null);
});

test('order: override, then a local build, then the prebuild; Electron takes its own variant', (t) => {
  const files = ensurePrebuilds();
  const dir = packageCopy(t);
  const folder = path.join(dir, 'prebuilds', TUPLE);
  fs.mkdirSync(folder, { recursive: true });
  fs.copyFileSync(files.node, path.join(folder, path.basename(files.node)));
  fs.copyFileSync(files.electron, path.join(folder, path.basename(files.electron)));
  const real = fs.realpathSync(dir);
  const env = { VOIP_REALTIME_NATIVE: undefined };
  const asElectron = `Object.defineProperty(process.versions, 'electron', { value: '30.0.0' });${REQUIRE_RESULT}`;

  assert.deepEqual(child(dir, REQUIRE_RESULT, env), { loaded: path.join(real, 'prebuilds', TUPLE, path.basename(files.node)) });
  assert.deepEqual(child(dir, asElectron, env), { loaded: path.join(real, 'prebuilds', TUPLE, path.basename(files.electron)) });

  // A build made in the folder wins (a source install or a checkout's own build)...
  const local = path.join(dir, 'build', 'Release', 'voip_realtime.node');
  fs.mkdirSync(path.dirname(local), { recursive: true });
  fs.copyFileSync(files.node, local);
  fs.writeFileSync(path.join(dir, 'build', 'CMakeCache.txt'), 'VR_STATIC_OPENSSL:BOOL=OFF\n');
  assert.deepEqual(child(dir, REQUIRE_RESULT, env), { loaded: path.join(real, 'build', 'Release', 'voip_realtime.node') });
  // ...except under Electron when it binds Node's OpenSSL.
  assert.deepEqual(child(dir, asElectron, env), { loaded: path.join(real, 'prebuilds', TUPLE, path.basename(files.electron)) });
  fs.writeFileSync(path.join(dir, 'build', 'CMakeCache.txt'), 'VR_STATIC_OPENSSL:BOOL=ON\n');
  assert.deepEqual(child(dir, asElectron, env), { loaded: path.join(real, 'build', 'Release', 'voip_realtime.node') });

  // The override beats both.
  assert.deepEqual(child(dir, REQUIRE_RESULT, { VOIP_REALTIME_NATIVE: files.electron }), { loaded: files.electron });
});

test('node-gyp-build itself picks the same prebuilt files', () => {
  const files = ensurePrebuilds();
  const resolve = `console.log(JSON.stringify(require('node-gyp-build').path(${JSON.stringify(ROOT)})))`;
  assert.equal(child(ROOT, resolve, { PREBUILDS_ONLY: '1', ELECTRON_RUN_AS_NODE: undefined }), files.node);
  assert.equal(child(ROOT, resolve, { PREBUILDS_ONLY: '1', ELECTRON_RUN_AS_NODE: '1' }), files.electron);
});

test('requiring the package starts no thread and loads no emulator code until the emulator is used', (t) => {
  const threads = 'fs.readdirSync("/proc/self/task").length';
  const r = child(ROOT, `
    const fs = require('node:fs');
    const before = ${threads};
    const api = require('.');
    const afterRequire = ${threads};
    const lib = require('node:path').join(process.cwd(), 'lib');
    const loaded = () => Object.keys(require.cache).filter((f) => f.startsWith(lib))
      .map((f) => f.slice(lib.length + 1)).filter((f) => /^(emulator|scenarios)/.test(f)).sort();
    const emulatorModules = loaded();
    const Emulator = api.Emulator;
    const afterTouch = ${threads};
    Emulator.start({}).then(async (emu) => {
      const running = ${threads};
      await emu.stop();
      console.log(JSON.stringify({ before, afterRequire, emulatorModules, afterTouch, running, afterTouchModules: loaded() }));
    });`, { VOIP_REALTIME_NATIVE: undefined });
  assert.equal(r.afterRequire, r.before);
  assert.deepEqual(r.emulatorModules, []);
  assert.equal(r.afterTouch, r.before);
  // The emulator's JS layer, but no scenario until one runs.
  assert.ok(r.afterTouchModules.includes('emulator.js'), r.afterTouchModules.join(' '));
  assert.deepEqual(r.afterTouchModules.filter((f) => f.startsWith('scenarios')), []);
  assert.ok(r.running > r.before, `the emulator runs its own threads (${r.before} -> ${r.running})`);
});
