#!/usr/bin/env node
'use strict';
// `npm run prebuild`: writes the binaries that `npm pack` ships, named by the prebuildify /
// node-gyp-build tag conventions, into prebuilds/<platform>-<arch>/:
//   voip-realtime.node.napi.<libc>.node      Node: binds the OpenSSL that the node binary exports
//   voip-realtime.electron.napi.<libc>.node  Electron: a private static OpenSSL, since Electron's
//                                            runtime carries BoringSSL and exports no OpenSSL
// Usage: node native/prebuild.js [--only=node|electron]

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { build, BuildError, ROOT } = require('./build.js');

const NAME = require('../package.json').name.replace(/\//g, '+');

// The node variant shares the development build folder: the addon target is the same whether
// or not the Catch2 tests are configured there, so `npm test` followed by this rebuilds nothing.
const VARIANTS = {
  node: { buildDir: 'build', staticOpenssl: false },
  electron: { buildDir: 'build-electron', staticOpenssl: true },
};

function libcTag() {
  if (process.env.LIBC) return process.env.LIBC;
  return fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
}

/**
 * Builds one variant and writes it (without its symbol table) under prebuilds/.
 * @param {'node' | 'electron'} runtime
 * @returns {string} the written file
 */
function prebuild(runtime) {
  const variant = VARIANTS[runtime];
  const built = build({ buildDir: variant.buildDir, staticOpenssl: variant.staticOpenssl, target: 'voip_realtime' });
  const folder = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
  fs.mkdirSync(folder, { recursive: true });
  const dest = path.join(folder, `${NAME}.${runtime}.napi.${libcTag()}.node`);
  const tmp = `${dest}.tmp`;
  // Only the dynamic symbols matter to the loader; the rest is a third of the file.
  const strip = spawnSync('strip', ['--strip-unneeded', '-o', tmp, built], { stdio: 'inherit' });
  if (strip.error || strip.status !== 0) fs.copyFileSync(built, tmp);
  fs.renameSync(tmp, dest);
  return dest;
}

function main(args) {
  const only = (args.find((a) => a.startsWith('--only=')) || '').slice('--only='.length);
  if (only && !VARIANTS[only]) {
    console.error(`Expected node or electron for --only but received ${JSON.stringify(only)}`);
    process.exit(2);
  }
  try {
    for (const runtime of only ? [only] : Object.keys(VARIANTS)) {
      const file = prebuild(runtime);
      console.log(`voip-realtime: wrote ${path.relative(ROOT, file)} (${fs.statSync(file).size} bytes)`);
    }
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    console.error(err.message);
    process.exit(err.status);
  }
}

if (require.main === module) main(process.argv.slice(2));

module.exports = { prebuild, VARIANTS };
