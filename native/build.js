#!/usr/bin/env node
'use strict';
// Builds the native addon (and, with --tests, the Catch2 binaries) with plain CMake.
// Every header comes from npm packages or Debian packages already on the machine, so the
// build works offline. Usage: node native/build.js [--tests] [--debug] [--sanitize=address,undefined]
//   [--static-openssl] [--build-dir=DIR] [--target=NAME]  (VR_BUILD_DIR also sets the folder)

const { spawnSync } = require('node:child_process');
const path = require('node:path');
const os = require('node:os');

const ROOT = path.resolve(__dirname, '..');

const TOOLS_HINT = 'Building voip-realtime from source needs cmake, a C++20 compiler and the Boost headers.\n' +
  'On Debian 12 / Ubuntu 24.04:\n' +
  '  apt-get install -y cmake g++ make libboost1.81-dev   (Ubuntu: libboost-dev)\n' +
  'plus libssl-dev for --static-openssl builds (the Electron variant).';

/** A build step that failed; `message` says what to do. */
class BuildError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status || 1;
  }
}

/**
 * Why this machine cannot build the addon, or null when it can. The build uses GNU ld flags
 * and Linux-only system calls, so other systems stop here rather than at a linker error.
 * @param {string} [platform]
 * @param {string} [arch]
 * @returns {string | null}
 */
function unsupportedPlatform(platform = process.platform, arch = process.arch) {
  if (platform === 'linux') return null;
  return `voip-realtime: building the native addon is supported on Linux only; this machine is ${platform}-${arch}.\n` +
    'Prebuilt binaries are shipped for linux-x64 (glibc). See the Install section of the README.';
}

function run(cmd, cmdArgs) {
  const res = spawnSync(cmd, cmdArgs, { cwd: ROOT, stdio: 'inherit' });
  if (res.error && res.error.code === 'ENOENT') {
    throw new BuildError(`voip-realtime: '${cmd}' was not found.\n${TOOLS_HINT}`);
  }
  if (res.error) throw new BuildError(`voip-realtime: '${cmd}' could not be started: ${res.error.message}`);
  if (res.status !== 0) {
    throw new BuildError(`voip-realtime: '${cmd} ${cmdArgs.join(' ')}' failed (exit ${res.status}).\n` +
      `If a tool or header is missing: ${TOOLS_HINT}`, res.status);
  }
}

/**
 * Configures and builds one CMake build folder.
 * @param {{ buildDir?: string, debug?: boolean, tests?: boolean, staticOpenssl?: boolean,
 *   sanitize?: string, target?: string }} [opts] `tests` left undefined keeps the folder's setting.
 * @returns {string} the built addon's path
 */
function build(opts = {}) {
  const refusal = unsupportedPlatform();
  if (refusal) throw new BuildError(refusal);
  const buildDir = path.resolve(ROOT, opts.buildDir || process.env.VR_BUILD_DIR || 'build');
  const config = [
    `-DCMAKE_BUILD_TYPE=${opts.debug ? 'Debug' : 'Release'}`,
    `-DVR_STATIC_OPENSSL=${opts.staticOpenssl ? 'ON' : 'OFF'}`,
    `-DVR_SANITIZE=${opts.sanitize || ''}`,
  ];
  if (opts.tests !== undefined) config.push(`-DVR_BUILD_TESTS=${opts.tests ? 'ON' : 'OFF'}`);
  run('cmake', ['-S', ROOT, '-B', buildDir, ...config]);
  const cores = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  const jobs = String(Math.max(1, Math.min(cores, 4)));
  run('cmake', ['--build', buildDir, '--parallel', jobs, ...(opts.target ? ['--target', opts.target] : [])]);
  return path.join(buildDir, 'Release', 'voip_realtime.node');
}

function main(args) {
  const flag = (name) => args.includes(`--${name}`);
  const value = (name) => {
    const hit = args.find((a) => a.startsWith(`--${name}=`));
    return hit ? hit.slice(name.length + 3) : undefined;
  };
  try {
    build({
      buildDir: value('build-dir'),
      debug: flag('debug'),
      tests: flag('tests'),
      staticOpenssl: flag('static-openssl'),
      sanitize: value('sanitize'),
      target: value('target'),
    });
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    console.error(err.message);
    process.exit(err.status);
  }
}

if (require.main === module) main(process.argv.slice(2));

module.exports = { build, unsupportedPlatform, BuildError, TOOLS_HINT, ROOT };
