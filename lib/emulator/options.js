'use strict';

// The emulator's start options and the argument checks its methods share: every bad value is
// an INVALID_OPTION saying what was expected and what was received.

const crypto = require('node:crypto');
const net = require('node:net');
const util = require('node:util');
const { RealtimeError } = require('../errors.js');
const topicHelpers = require('../topic.js');
const { resolveNatterboxStart } = require('./natterbox.js');

const DIALECTS = ['documented', 'live'];
const MAX_U32 = 4294967295;
const KNOWN = new Set([
  'host', 'port', 'dialect', 'secret', 'tls', 'pingInterval', 'readTimeout', 'rateLimit',
  'upgradeRateLimit', 'retryAfter', 'bufferSize', 'liveWrapper', 'maxMessage', 'threads',
  'customerId', 'frozen', 'protocol', 'natterbox',
]);

function show(value) {
  if (typeof value === 'string') return value === '' ? 'an empty string' : JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'function') return 'a function';
  return util.inspect(value, { depth: 0, breakLength: Infinity, maxArrayLength: 5, maxStringLength: 40 });
}

function fail(what, name, value) {
  return new RealtimeError('INVALID_OPTION', `Expected ${what} for ${name} but received ${show(value)}`);
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
}

// `value` when it is a number in [min, max] (an integer unless `fractions`), `def` when undefined.
function ranged(value, name, def, min, max, fractions = false) {
  if (value === undefined) return def;
  const ok = typeof value === 'number' && (fractions ? Number.isFinite(value) : Number.isInteger(value));
  if (!ok || value < min || value > max) {
    throw fail(`${fractions ? 'a number' : 'an integer'} from ${min} to ${max}`, name, value);
  }
  return value;
}

function integer(value, name, def, min, max) {
  return ranged(value, name, def, min, max);
}

function uuid(value, name) {
  if (typeof value !== 'string' || !topicHelpers.isUuid(value)) throw fail('a UUID', name, value);
  return value.toLowerCase();
}

function pemText(value, name) {
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value !== 'string' || !value.includes('-----BEGIN')) throw fail('a PEM string or Buffer', name, value);
  return value;
}

// Checked here so that a start() failure past validation can only be the listening socket.
function checkKeyPair(cert, key) {
  let certificate;
  let privateKey;
  try {
    certificate = new crypto.X509Certificate(cert);
  } catch (err) {
    throw new RealtimeError('INVALID_OPTION', `Expected a PEM certificate for tls.cert but it does not parse: ${err.message}`);
  }
  try {
    privateKey = crypto.createPrivateKey(key);
  } catch (err) {
    throw new RealtimeError('INVALID_OPTION', `Expected a PEM private key for tls.key but it does not parse: ${err.message}`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new RealtimeError('INVALID_OPTION', 'Expected tls.key to be the private key of tls.cert but it belongs to another certificate');
  }
}

function resolveStartOptions(options) {
  if (options === undefined) options = {};
  if (!isPlainObject(options)) throw fail('an options object', 'options', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw fail(`one of ${[...KNOWN].join(', ')}`, 'option name', key);
  }
  const host = options.host === undefined ? '127.0.0.1' : options.host;
  if (typeof host !== 'string' || net.isIP(host) === 0) throw fail('an IP address string', 'host', host);
  const protocol = options.protocol === undefined ? 'voipbin' : options.protocol;
  if (protocol !== 'voipbin' && protocol !== 'natterbox') throw fail("'voipbin' or 'natterbox'", 'protocol', protocol);
  if (protocol === 'natterbox' && options.dialect !== undefined) throw fail('no dialect with protocol natterbox', 'dialect', options.dialect);
  if (protocol !== 'natterbox' && options.natterbox !== undefined) {
    throw new RealtimeError('INVALID_OPTION', "Expected protocol: 'natterbox' with the natterbox option");
  }
  const dialect = options.dialect === undefined ? 'documented' : options.dialect;
  if (!DIALECTS.includes(dialect)) throw fail("'documented' or 'live'", 'dialect', dialect);
  let secret = options.secret;
  if (secret === undefined) secret = crypto.randomBytes(32);
  else if (typeof secret === 'string' && secret !== '') secret = Buffer.from(secret, 'utf8');
  else if (!Buffer.isBuffer(secret) || secret.length === 0) throw fail('a non-empty string or Buffer', 'secret', '(hidden)');
  let tlsCert = '';
  let tlsKey = '';
  if (options.tls !== undefined) {
    if (!isPlainObject(options.tls)) throw fail('an object with cert and key', 'tls', options.tls);
    tlsCert = pemText(options.tls.cert, 'tls.cert');
    tlsKey = pemText(options.tls.key, 'tls.key');
    checkKeyPair(tlsCert, tlsKey);
  }
  const frozen = options.frozen === undefined ? [] : options.frozen;
  if (!Array.isArray(frozen)) throw fail('an array of customer UUIDs', 'frozen', frozen);
  if (options.liveWrapper !== undefined && typeof options.liveWrapper !== 'boolean') {
    throw fail('a boolean', 'liveWrapper', options.liveWrapper);
  }
  return {
    host,
    port: integer(options.port, 'port', 0, 0, 65535),
    protocol,
    natterbox: protocol === 'natterbox' ? resolveNatterboxStart(options.natterbox) : null,
    dialect: protocol === 'natterbox' ? 'natterbox' : dialect,
    secret,
    tlsCert,
    tlsKey,
    pingInterval: integer(options.pingInterval, 'pingInterval', 10000, 0, MAX_U32),
    readTimeout: integer(options.readTimeout, 'readTimeout', 60000, 0, MAX_U32),
    rateLimit: integer(options.rateLimit, 'rateLimit', 20, 0, MAX_U32),
    upgradeRateLimit: integer(options.upgradeRateLimit, 'upgradeRateLimit', 0, 0, MAX_U32),
    retryAfter: integer(options.retryAfter, 'retryAfter', 1, 0, 86400),
    bufferSize: integer(options.bufferSize, 'bufferSize', 2000, 1, MAX_U32),
    liveWrapper: options.liveWrapper === true,
    maxMessage: integer(options.maxMessage, 'maxMessage', 64 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER),
    threads: integer(options.threads, 'threads', 1, 1, 16),
    customerId: options.customerId === undefined ? crypto.randomUUID() : uuid(options.customerId, 'customerId'),
    frozen: frozen.map((id, i) => uuid(id, `frozen[${i}]`)),
  };
}

module.exports = { fail, isPlainObject, ranged, integer, uuid, resolveStartOptions };
