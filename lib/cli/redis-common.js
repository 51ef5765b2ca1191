'use strict';

// What `bridge` and `consume` share: the Redis URL, the client's connection options,
// and stopping on SIGINT / SIGTERM.

const { UsageError, oneOf } = require('./args');
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

/** RealtimeClient options (see connectionOptions), checked by constructing a client. */
function clientOptions(values, env) {
  const options = connectionOptions(values, env);
  // Checked here so a bad URL is a usage error (exit 2), not a runtime one.
  const { RealtimeClient } = require('../index');
  try {
    new RealtimeClient(options);
  } catch (err) {
    throw new UsageError(`${err.code}: ${err.message}${err.code === 'INSECURE_URL' ? ' (use wss://, or --insecure)' : ''}`);
  }
  return options;
}

/**
 * RealtimeClient options from --url, --token, --access-key, --dialect and --insecure, with the
 * environment's VOIPBIN_URL / VOIPBIN_TOKEN / VOIPBIN_ACCESS_KEY as defaults.
 * @throws {UsageError} when no credential is given or --dialect is unknown
 */
function connectionOptions(values, env) {
  const token = values.token ?? env.VOIPBIN_TOKEN;
  const accessKey = values['access-key'] ?? env.VOIPBIN_ACCESS_KEY;
  if (!token && !accessKey) {
    throw new UsageError('a credential is required: --token or --access-key (or $VOIPBIN_TOKEN / $VOIPBIN_ACCESS_KEY)');
  }
  const options = { url: values.url ?? env.VOIPBIN_URL ?? 'wss://api.voipbin.net/v1.0/ws' };
  if (token) options.token = token;
  if (accessKey) options.accessKey = accessKey;
  if (values.dialect !== undefined) options.dialect = oneOf('dialect', values.dialect, ['documented', 'live', 'auto']);
  if (values.insecure) options.allowInsecure = true;
  return options;
}

/**
 * The --topic list, each pattern checked against the grammar.
 * @throws {UsageError} when there is none or one is malformed
 */
function topicList(list) {
  const { topic } = require('../index');
  const topics = list ?? [];
  if (topics.length === 0) throw new UsageError('at least one --topic is required, for example --topic \'customer_id:<uuid>:call:*\'');
  for (const t of topics) {
    try {
      topic.parse(t);
    } catch (err) {
      throw new UsageError(`--topic ${JSON.stringify(t)}: ${err.message}`);
    }
  }
  return topics;
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

module.exports = { redisUrl, topicList, clientOptions, stopOnSignal };
