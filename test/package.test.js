'use strict';
// What users get: the prebuilt binaries (needing only the C/C++ runtime, the Electron one without
// any OpenSSL symbol from its host), what `npm pack` ships, and an install of that tarball on a
// PATH without compilers that loads the prebuild and carries an event through the emulator.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync, execFileSync } = require('node:child_process');
const { ensurePrebuilds, ROOT } = require('./helpers/prebuilds');

const RUNTIME_LIBS = ['libc.so.6', 'libm.so.6', 'libstdc++.so.6', 'libgcc_s.so.1', 'ld-linux-x86-64.so.2'];
const ENTRY_POINTS = ['napi_register_module_v1', 'node_api_module_get_api_version_v1'];
// Prefixes of the OpenSSL (libssl + libcrypto) API.
const OPENSSL = /^(SSL|SSL_CTX|TLS|DTLS|OPENSSL|CRYPTO|EVP|BIO|X509|ERR|PEM|RAND|ASN1|BN|EC|RSA|OBJ|d2i|i2d|OSSL)_/;

function needed(file) {
  const out = execFileSync('readelf', ['-d', file], { encoding: 'utf8' });
  return [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]).sort();
}

function dynamicSymbols(file, which) {
  const out = execFileSync('nm', ['-D', which, file], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((line) => line.trim().split(/\s+/).pop().replace(/@.*$/, ''));
}

function tempDir(t, prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// A PATH with node, npm and the shell npm runs scripts with; no cmake, no compiler, no make.
function bareBin(t) {
  const bin = tempDir(t, 'vr-bin-');
  const npm = execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync(fs.realpathSync(npm), path.join(bin, 'npm'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  return bin;
}

// The parent may be `npm test`: its npm_* settings must not leak into the inner npm.
function bareEnv(bin) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  delete env.VOIP_REALTIME_NATIVE;
  return { ...env, PATH: bin };
}

let packed = null;
function pack(t) {
  if (packed) return packed;
  ensurePrebuilds();
  const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'vr-pack-'));
  process.on('exit', () => fs.rmSync(dest, { recursive: true, force: true }));
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dest], {
    cwd: ROOT, encoding: 'utf8', env: bareEnv(process.env.PATH),
  });
  const [info] = JSON.parse(out);
  // The dependencies come from this checkout's node_modules, packed, so the install needs no network.
  const deps = {};
  for (const name of Object.keys(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).dependencies)) {
    const [dep] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest,
      path.join(ROOT, 'node_modules', name)], { cwd: dest, encoding: 'utf8', env: bareEnv(process.env.PATH) }));
    deps[name] = `file:${path.join(dest, dep.filename)}`;
  }
  packed = { ...info, deps, tarball: path.join(dest, info.filename), paths: info.files.map((f) => f.path).sort() };
  t.diagnostic(`npm pack: ${info.files.length} files, ${(info.size / 1e6).toFixed(2)} MB packed, ` +
    `${(info.unpackedSize / 1e6).toFixed(2)} MB unpacked`);
  return packed;
}

test('the prebuilt binaries need only the C/C++ runtime (readelf -d)', () => {
  const files = ensurePrebuilds();
  for (const file of Object.values(files)) {
    const libs = needed(file);
    assert.deepEqual(libs.filter((l) => !RUNTIME_LIBS.includes(l)), [], `${path.basename(file)} needs ${libs.join(', ')}`);
    assert.ok(libs.includes('libstdc++.so.6') && libs.includes('libc.so.6'), libs.join(', '));
  }
});

test('both binaries export only the Node-API entry points; only the node one takes OpenSSL from its host', () => {
  const files = ensurePrebuilds();
  for (const file of Object.values(files)) {
    assert.deepEqual(dynamicSymbols(file, '--defined-only').filter((s) => !ENTRY_POINTS.includes(s)), []);
  }
  const nodeSsl = dynamicSymbols(files.node, '--undefined-only').filter((s) => OPENSSL.test(s));
  assert.ok(nodeSsl.includes('SSL_CTX_new') && nodeSsl.includes('SSL_read'), 'the node variant binds Node\'s OpenSSL');
  assert.deepEqual(dynamicSymbols(files.electron, '--undefined-only').filter((s) => OPENSSL.test(s)), []);
});

test('npm pack ships the runtime, both prebuilds and the sources for a fallback build; no tests, bench or build output', (t) => {
  const { paths } = pack(t);
  for (const want of ['package.json', 'README.md', 'LICENSE', 'CMakeLists.txt', 'lib/index.js', 'lib/index.mjs',
    'lib/native.js', 'lib/emulator.js', 'types/index.d.ts', 'native/install.js', 'native/build.js',
    'native/exports.map', 'native/core/client.cpp', 'native/emulator/server.cpp', 'native/addon/module.cpp',
    'prebuilds/linux-x64/voip-realtime.node.napi.glibc.node',
    'prebuilds/linux-x64/voip-realtime.electron.napi.glibc.node']) {
    assert.ok(paths.includes(want), `${want} is not in the package`);
  }
  const unwanted = paths.filter((p) => /^(test|bench|build|build-[^/]*|\.ci|node_modules)\//.test(p) ||
    /\.(o|a|tmp|log)$/.test(p) || p.includes('fixtures'));
  assert.deepEqual(unwanted, []);
  assert.deepEqual(paths.filter((p) => p.startsWith('prebuilds/')), [
    'prebuilds/linux-x64/voip-realtime.electron.napi.glibc.node',
    'prebuilds/linux-x64/voip-realtime.node.napi.glibc.node',
  ]);
});

test('the tarball installs without cmake or a compiler, uses the prebuild and round-trips an event', async (t) => {
  const { tarball, deps } = pack(t);
  const bin = bareBin(t);
  const env = bareEnv(bin);
  const probe = spawnSync('/bin/sh', ['-c', 'command -v cmake || command -v g++ || command -v cc || command -v c++ || command -v make'], { env, encoding: 'utf8' });
  assert.equal(probe.stdout, '', 'the PATH for the install must hold no build tool');

  const project = tempDir(t, 'vr-app-');
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: deps }));
  const started = process.hrtime.bigint();
  const install = spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--foreground-scripts', tarball],
    { cwd: project, env, encoding: 'utf8', timeout: 300000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  t.diagnostic(`npm install of the tarball from its prebuild: ${seconds.toFixed(1)} s`);
  console.log(`install from prebuild: ${seconds.toFixed(1)} s`);
  assert.equal(install.status, 0, install.stdout + install.stderr);
  const pkg = path.join(project, 'node_modules', 'voip-realtime');
  assert.match(install.stdout, /voip-realtime: using the prebuilt prebuilds\/linux-x64\/voip-realtime\.node\.napi\.glibc\.node; nothing to compile\./);
  assert.equal(fs.existsSync(path.join(pkg, 'build')), false, 'the install compiled something');

  const CUST = '5013bc52-da9a-11ee-844f-2fa34248de28';
  const CALL = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
  const script = `
    const path = require('node:path');
    const { RealtimeClient, Emulator } = require('voip-realtime');
    const native = require(path.join(path.dirname(require.resolve('voip-realtime/package.json')), 'lib', 'native.js'));
    (async () => {
      const emu = await Emulator.start({ customerId: '${CUST}' });
      const applied = new Promise((resolve) => emu.once('subscribe', resolve));
      const client = new RealtimeClient({ url: emu.url, token: emu.issueToken({}), dialect: 'documented' });
      await client.subscribe('customer_id:${CUST}:call:*');
      await applied;
      const got = new Promise((resolve) => client.once('event', (e) => resolve({ ...e })));
      emu.publish({ event_type: 'call.status', timestamp: '2024-01-15T10:30:05.123456Z',
        data: { id: '${CALL}', customer_id: '${CUST}', status: 'ringing' } });
      const event = await got;
      await client.close();
      await emu.stop();
      console.log(JSON.stringify({ loaded: path.relative(path.dirname(require.resolve('voip-realtime/package.json')), native.loadedPath()), event }));
    })().catch((err) => { console.error(err); process.exit(1); });`;
  const run = spawnSync(process.execPath, ['-e', script], { cwd: project, env, encoding: 'utf8', timeout: 30000 });
  assert.equal(run.status, 0, run.stderr);
  assert.deepStrictEqual(JSON.parse(run.stdout.trim()), {
    loaded: 'prebuilds/linux-x64/voip-realtime.node.napi.glibc.node',
    event: {
      event_type: 'call.status',
      timestamp: '2024-01-15T10:30:05.123456Z',
      topic: `customer_id:${CUST}:call:${CALL}`,
      data: { id: CALL, customer_id: CUST, status: 'ringing' },
    },
  });
});

test('with no fitting prebuild and no cmake the install stops with the tools to install', (t) => {
  const { tarball } = pack(t);
  const dir = tempDir(t, 'vr-src-');
  execFileSync('tar', ['xzf', tarball, '-C', dir]);
  const pkg = path.join(dir, 'package');
  fs.rmSync(path.join(pkg, 'prebuilds'), { recursive: true });
  const r = spawnSync(process.execPath, [path.join(pkg, 'native', 'install.js')],
    { cwd: pkg, env: bareEnv(bareBin(t)), encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, `voip-realtime: compiling from source (no prebuilds/ folder for ${process.platform}-${process.arch}).\n`);
  assert.equal(r.stderr, "voip-realtime: 'cmake' was not found.\n" +
    'Building voip-realtime from source needs cmake, a C++20 compiler and the Boost headers.\n' +
    'On Debian 12 / Ubuntu 24.04:\n' +
    '  apt-get install -y cmake g++ make libboost1.81-dev   (Ubuntu: libboost-dev)\n' +
    'plus libssl-dev for --static-openssl builds (the Electron variant).\n');
});

test('macOS and Windows stop with a message before any compiler or linker runs', (t) => {
  for (const platform of ['darwin', 'win32']) {
    const r = spawnSync(process.execPath, ['-e',
      `Object.defineProperty(process, 'platform', { value: '${platform}' }); require('./native/build.js').build()`],
    { cwd: ROOT, encoding: 'utf8', timeout: 30000, env: bareEnv(bareBin(t)) });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`building the native addon is supported on Linux only; this machine is ${platform}-${process.arch}`));
  }
  const dir = tempDir(t, 'vr-cmake-');
  const r = spawnSync('cmake', ['-S', ROOT, '-B', dir, '-DCMAKE_SYSTEM_NAME=Darwin'], { encoding: 'utf8', timeout: 120000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr.replace(/\s+/g, ' '), /voip-realtime builds on Linux only \(glibc or musl, x64 or arm64\); Darwin is not supported yet/);
});

test('.ci/run runs exactly the lines of the README\'s first sh block, and fails when one fails', (t) => {
  const dir = tempDir(t, 'vr-ci-');
  fs.mkdirSync(path.join(dir, '.ci'));
  fs.copyFileSync(path.join(ROOT, '.ci', 'run'), path.join(dir, '.ci', 'run'));
  // The checks beyond the README (.ci/checks) run after the block, and only when it passed.
  fs.writeFileSync(path.join(dir, '.ci', 'checks'), 'echo checks-ran\n');
  const readme = (first) => fs.writeFileSync(path.join(dir, 'README.md'),
    `# x\n\n\`\`\`js\nnot shell\n\`\`\`\n\n\`\`\`sh\n${first}\n\`\`\`\n\n\`\`\`sh\necho second-block\n\`\`\`\n`);
  readme('echo one   # a comment\necho two && echo three');
  const ok = spawnSync('bash', [path.join(dir, '.ci', 'run')], { encoding: 'utf8', cwd: os.tmpdir() });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout.split('\n').filter((l) => !l.startsWith('ci: ') && !l.startsWith('echo')).join('\n'),
    'one\ntwo\nthree\nchecks-ran\n');
  readme('echo before\nfalse\necho after');
  const bad = spawnSync('bash', [path.join(dir, '.ci', 'run')], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /\nbefore\n$/);
});

test('the README\'s first sh block calls scripts package.json defines, and the demo ends by itself', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = readme.match(/^```sh\n([\s\S]*?)^```/m)[1];
  const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts;
  const called = [...block.matchAll(/npm (?:run ([\w:-]+)|(test))/g)].map((m) => m[1] || m[2]);
  assert.deepEqual(called, ['setup', 'demo', 'test']);
  for (const name of called) assert.equal(typeof scripts[name], 'string', `no "${name}" script`);
  assert.match(block, /npm run demo -- --duration \d+/);
});
