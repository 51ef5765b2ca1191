'use strict';
// `npm run prebuild` for the tests that check the shipped binaries. CMake rebuilds only what
// changed, so the second caller in a run pays a few seconds.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const FOLDER = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
const FILES = {
  node: path.join(FOLDER, 'voip-realtime.node.napi.glibc.node'),
  electron: path.join(FOLDER, 'voip-realtime.electron.napi.glibc.node'),
};

let built = false;

/** Builds both prebuilt variants (once per process) and returns their paths. */
function ensurePrebuilds() {
  if (!built) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'native', 'prebuild.js')], {
      cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (r.status !== 0) throw new Error(`npm run prebuild failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
    for (const file of Object.values(FILES)) {
      if (!fs.existsSync(file)) throw new Error(`npm run prebuild did not write ${file}:\n${r.stdout}`);
    }
    built = true;
  }
  return FILES;
}

module.exports = { ensurePrebuilds, FILES, FOLDER, ROOT };
