'use strict';

// Loads the compiled addon on first use, so that require('voip-realtime') works (topic helpers,
// option validation, errors) on a machine where the addon has not been built.

const fs = require('node:fs');
const path = require('node:path');

const ENV = 'VOIP_REALTIME_NATIVE';
const ROOT = path.resolve(__dirname, '..');
const DEFAULT_PATH = path.join(ROOT, 'build', 'Release', 'voip_realtime.node');

let binding = null;

function describe(err) {
  const msg = err && err.message ? err.message.split('\n')[0] : String(err);
  return err && err.code ? `${err.code}: ${msg}` : msg;
}

/**
 * Returns the addon's exports, loading them on the first call.
 * @returns {{ Client: Function, Emulator: Function }}
 */
function loadBinding() {
  if (binding) return binding;
  const override = process.env[ENV];
  if (override !== undefined && override !== '') {
    const file = path.resolve(override);
    let stat = null;
    try {
      stat = fs.statSync(file);
    } catch {
      stat = null;
    }
    if (!stat || !stat.isFile()) {
      throw new Error(`voip-realtime: ${ENV} is set to ${JSON.stringify(override)}, which is not an ` +
        `existing file. Point it at a built voip_realtime.node or unset it to use ${DEFAULT_PATH}.`);
    }
    binding = attempt([file]);
    return binding;
  }
  binding = attempt([DEFAULT_PATH]);
  return binding;
}

function attempt(candidates) {
  const failures = [];
  for (const file of candidates) {
    try {
      const b = require(file);
      if (typeof b.Client !== 'function') {
        failures.push(`${file}: loaded, but it does not export Client (stale or foreign build)`);
        continue;
      }
      return b;
    } catch (err) {
      failures.push(`${file}: ${describe(err)}`);
    }
  }
  throw new Error('voip-realtime: the native addon could not be loaded.\n' +
    `Tried:\n${failures.map((f) => `  - ${f}`).join('\n')}\n` +
    'To fix it, build the addon: `npm rebuild voip-realtime` (or `npm run build` in a checkout).\n' +
    'The build needs cmake, g++ and, on Debian/Ubuntu:\n' +
    '  apt-get install -y cmake g++ libboost1.81-dev libsimdjson-dev libssl-dev\n' +
    `Or set ${ENV} to the path of a built voip_realtime.node.`);
}

module.exports = { loadBinding, DEFAULT_PATH };
