'use strict';

// What `bridge` and `consume` share: the Redis URL and stopping on SIGINT / SIGTERM.

const { UsageError } = require('./args');
const { redactUrl } = require('../redis/connection.js');

/** The --redis URL (or $REDIS_URL), checked. */
function redisUrl(value, env) {
  const url = value ?? (env.REDIS_URL || undefined);
  if (url === undefined) throw new UsageError('--redis is required (or $REDIS_URL), for example --redis redis://127.0.0.1:6379');
  let ok = /^rediss?:\/\/[^/]/.test(url);
  try {
    new URL(url);
  } catch {
    ok = false;
  }
  if (!ok) throw new UsageError(`--redis must be a redis:// URL, got ${JSON.stringify(redactUrl(url))}`);
  return url;
}

/** A promise that resolves with 'signal' on SIGINT or SIGTERM; dispose() removes the handlers. */
function stopOnSignal() {
  let on;
  const promise = new Promise((resolve) => {
    on = () => resolve('signal');
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
  return {
    promise,
    dispose() {
      process.removeListener('SIGINT', on);
      process.removeListener('SIGTERM', on);
    },
  };
}

module.exports = { redisUrl, stopOnSignal };
