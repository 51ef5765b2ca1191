#!/usr/bin/env node
'use strict';
// Builds the native addon (and, with --tests, the Catch2 binaries) with plain CMake.
// Every header comes from npm packages or Debian packages already on the machine, so the
// build works offline. Usage: node native/build.js [--tests] [--debug] [--sanitize=address,undefined]
//   [--static-openssl] [--build-dir=DIR]  (VR_BUILD_DIR also sets the folder)

const { spawnSync } = require('node:child_process');
const path = require('node:path');
const os = require('node:os');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const value = (name) => {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : undefined;
};

const buildDir = path.resolve(root, value('build-dir') || process.env.VR_BUILD_DIR || 'build');
const config = [
  `-DCMAKE_BUILD_TYPE=${flag('debug') ? 'Debug' : 'Release'}`,
  `-DVR_BUILD_TESTS=${flag('tests') ? 'ON' : 'OFF'}`,
  `-DVR_STATIC_OPENSSL=${flag('static-openssl') ? 'ON' : 'OFF'}`,
  `-DVR_SANITIZE=${value('sanitize') || ''}`,
];

function run(cmd, cmdArgs) {
  const res = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (res.error && res.error.code === 'ENOENT') {
    console.error(`voip-realtime: '${cmd}' was not found. On Debian 12 install the build tools with:\n` +
      '  apt-get install -y cmake g++ libboost1.81-dev libsimdjson-dev catch2 libssl-dev');
    process.exit(1);
  }
  if (res.status !== 0) {
    console.error(`voip-realtime: '${cmd} ${cmdArgs.join(' ')}' failed (exit ${res.status}).`);
    process.exit(res.status || 1);
  }
}

run('cmake', ['-S', root, '-B', buildDir, ...config]);
const jobs = String(Math.max(1, Math.min(os.availableParallelism ? os.availableParallelism() : os.cpus().length, 4)));
run('cmake', ['--build', buildDir, '--parallel', jobs]);
