'use strict';

// The faults an emulator can inject (see Emulator#fault), checked into the native arguments.

const { fail, isPlainObject, integer } = require('./options.js');

const FAULTS = ['noPong', 'stall', 'malformed', 'binary', 'oversized', 'drop', 'refuseUpgrades', 'expireToken'];
const TOGGLES = new Set(['noPong', 'stall', 'refuseUpgrades']);

/** Throws INVALID_OPTION unless `name` is a known fault. */
function checkFaultName(name) {
  if (!FAULTS.includes(name)) throw fail(`one of ${FAULTS.join(', ')}`, 'fault', name);
}

/**
 * The native arguments of fault `name` (not 'expireToken') from its options.
 * @param {string} name
 * @param {object|boolean} options
 * @returns {{ enabled: boolean, status?: number, retryAfter?: number, text?: string|Buffer, size?: number }}
 */
function faultArgs(name, options) {
  if (options === false || options === true) options = { enabled: options };
  if (!isPlainObject(options)) throw fail('an object or a boolean', 'fault options', options);
  const enabled = options.enabled === undefined ? true : options.enabled;
  if (typeof enabled !== 'boolean') throw fail('a boolean', 'enabled', enabled);
  if (!enabled && !TOGGLES.has(name)) throw fail('a fault that can be switched off', 'fault', name);
  const args = { enabled };
  if (name === 'refuseUpgrades' && enabled) {
    args.status = integer(options.status, 'status', 503, 200, 599);
    if (args.status === 101) throw fail('an HTTP status other than 101', 'status', args.status);
    args.retryAfter = integer(options.retryAfter, 'retryAfter', 0, 0, 86400);
  }
  if (name === 'malformed' && options.text !== undefined) {
    if (typeof options.text !== 'string') throw fail('a string', 'text', options.text);
    args.text = options.text;
  }
  if (name === 'binary' && options.data !== undefined) {
    if (!Buffer.isBuffer(options.data) || options.data.length === 0) throw fail('a non-empty Buffer', 'data', options.data);
    args.text = options.data;
  }
  if (name === 'oversized') args.size = integer(options.size, 'size', 17 * 1024 * 1024, 1, 1024 * 1024 * 1024);
  return args;
}

module.exports = { checkFaultName, faultArgs };
