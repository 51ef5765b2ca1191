'use strict';

// Loads the optional peer dependency (ioredis) on first use only, turns a `redis` option (a URL or
// a client the caller made) into a client, and maps Redis's refusals to RealtimeError codes.

const { RealtimeError } = require('../errors.js');
const { invalid } = require('../bridge/index.js');

let Redis = null;

/** The ioredis constructor; a clear error when the package is not installed. */
function loadRedis() {
  if (Redis !== null) return Redis;
  try {
    Redis = require('ioredis');
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND') throw err;
    throw new RealtimeError('INVALID_OPTION',
      'voip-realtime/redis needs the ioredis package: npm install ioredis', { cause: err });
  }
  return Redis;
}

function isClient(value) {
  return value !== null && typeof value === 'object' && typeof value.duplicate === 'function'
    && typeof value.sendCommand === 'function';
}

/**
 * A Redis client for the `redis` option, and whether the caller owns it. A URL gets a client of
 * ours, which fails a command at once while disconnected (the caller retries with backoff) and
 * reconnects in the background.
 * @param {string | object} redis `redis://[user:password@]host:port[/db]` or an ioredis client
 * @returns {{ client: object, owned: boolean }}
 */
function redisClient(redis, name = 'redis') {
  if (isClient(redis)) return { client: redis, owned: false };
  if (typeof redis !== 'string' || !/^rediss?:\/\/[^/]/.test(redis)) {
    throw invalid(name, 'a redis:// URL or an ioredis client', redis === undefined ? undefined : redactUrl(redis));
  }
  try {
    new URL(redis);
  } catch {
    throw invalid(name, 'a redis:// URL or an ioredis client', redactUrl(redis));
  }
  const Ctor = loadRedis();
  const client = new Ctor(redis, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), 2000),
  });
  // Connection errors are reported through the failing commands; an 'error' with no listener
  // would otherwise crash the process.
  client.on('error', () => {});
  return { client, owned: true };
}

function redactUrl(value) {
  return typeof value === 'string' ? value.replace(/\/\/[^@/]*@/, '//***@') : value;
}

/**
 * Rewrites an ioredis failure as a RealtimeError: a refused credential is AUTH_FAILED, anything
 * else CONNECT_FAILED.
 */
function redisError(err, what) {
  if (err instanceof RealtimeError) return err;
  const message = String(err && err.message);
  if (/^(WRONGPASS|NOAUTH|NOPERM)\b/.test(message) || /invalid password|invalid username-password/i.test(message)) {
    return new RealtimeError('AUTH_FAILED', `Redis refused the credential (${what}): ${message}`, { cause: err });
  }
  return new RealtimeError('CONNECT_FAILED', `Redis ${what} failed: ${message}`, { cause: err });
}

/**
 * Connects an owned client (or checks a caller's one) and proves the credential with a PING.
 * @returns {Promise<void>} rejects with AUTH_FAILED or CONNECT_FAILED
 */
async function ready(client, owned) {
  // ioredis reports a refused AUTH as an 'error' event and then fails the connect with a bare
  // "Connection is closed": the event carries the reason worth reporting.
  let reason = null;
  const onError = (err) => { reason = err; };
  client.on('error', onError);
  try {
    if (owned && client.status === 'wait') await client.connect();
    await client.ping();
  } catch (err) {
    const refused = reason !== null && redisError(reason, 'connection').code === 'AUTH_FAILED';
    throw redisError(refused ? reason : err, 'connection');
  } finally {
    client.removeListener('error', onError);
  }
}

module.exports = { loadRedis, redisClient, redisError, ready, redactUrl };
