#!/usr/bin/env node
'use strict';
// npm's install script. Uses the prebuilt binary that fits this machine and compiles nothing;
// compiles from source when none fits (or the one that fits does not load here), when asked to
// (`npm install --build-from-source`), and in a git checkout, where the sources are being edited.

const fs = require('node:fs');
const path = require('node:path');
const { build, BuildError, ROOT } = require('./build.js');
const { findPrebuild } = require('../lib/native.js');

const NAME = require('../package.json').name;

/**
 * True when the user asked for a compile: `--build-from-source` (npm passes it on as
 * npm_config_build_from_source=true) or that variable naming this package.
 * @param {NodeJS.ProcessEnv} env
 */
function buildFromSourceRequested(env) {
  const v = env.npm_config_build_from_source;
  if (v === undefined || v === '' || v === 'false') return false;
  return v === 'true' || v.split(',').map((s) => s.trim()).includes(NAME);
}

/**
 * Decides what the install does.
 * @param {{ env?: NodeJS.ProcessEnv, root?: string, prebuilds?: string }} [opts]
 * @returns {{ action: 'prebuild', file: string } | { action: 'build', reason: string }}
 */
function plan(opts = {}) {
  const env = opts.env || process.env;
  const root = opts.root || ROOT;
  if (buildFromSourceRequested(env)) return { action: 'build', reason: 'a build from source was requested' };
  if (fs.existsSync(path.join(root, '.git'))) return { action: 'build', reason: 'this is a git checkout' };
  const runtime = env.npm_config_runtime === 'electron' ? 'electron' : 'node';
  const found = findPrebuild({ runtime, dir: opts.prebuilds || path.join(root, 'prebuilds') });
  if (!found.file) return { action: 'build', reason: found.reason };
  return { action: 'prebuild', file: found.file };
}

function main() {
  const step = plan();
  if (step.action === 'prebuild') {
    try {
      require(step.file);
      console.log(`voip-realtime: using the prebuilt ${path.relative(ROOT, step.file)}; nothing to compile.`);
      return;
    } catch (err) {
      console.log(`voip-realtime: the prebuilt ${path.relative(ROOT, step.file)} does not load here ` +
        `(${err.message.split('\n')[0]}); compiling from source.`);
    }
  } else {
    console.log(`voip-realtime: compiling from source (${step.reason}).`);
  }
  try {
    build();
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    console.error(err.message);
    process.exit(err.status);
  }
}

if (require.main === module) main();

module.exports = { plan, buildFromSourceRequested };
