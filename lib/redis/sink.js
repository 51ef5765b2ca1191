'use strict';

// The Redis Streams sink of the bridge: one XADD per event, made idempotent by an identity key
// that lives for a bounded window. A batch is one Lua script call, so the check, the append and
// the remembering are atomic: two bridges racing on the same event append it once.

const { invalid, positiveInteger } = require('../bridge/index.js');
const { redisClient, redisError, ready } = require('./connection.js');
const { resourceOf: natterboxResource } = require('../client/natterbox.js');

// KEYS: for entry i (1-based), KEYS[2i-1] its identity key and KEYS[2i] its stream.
// ARGV: window ms, maxlen ('0' for no trim), then event_type, server_event_type ('' when the
// event has none: the field is left out), topic, timestamp, data per entry.
// The identity key is set after the XADD: an XADD that fails leaves nothing behind, and the
// retried entry is appended then.
const APPEND_LUA = `
local window = ARGV[1]
local maxlen = ARGV[2]
local appended = 0
for i = 1, #KEYS / 2 do
  local seen = KEYS[2 * i - 1]
  if redis.call('EXISTS', seen) == 0 then
    local a = 2 + (i - 1) * 5
    local cmd = { 'XADD', KEYS[2 * i] }
    if maxlen ~= '0' then
      cmd[#cmd + 1] = 'MAXLEN'
      cmd[#cmd + 1] = '~'
      cmd[#cmd + 1] = maxlen
    end
    cmd[#cmd + 1] = '*'
    cmd[#cmd + 1] = 'event_type'
    cmd[#cmd + 1] = ARGV[a + 1]
    if ARGV[a + 2] ~= '' then
      cmd[#cmd + 1] = 'server_event_type'
      cmd[#cmd + 1] = ARGV[a + 2]
    end
    cmd[#cmd + 1] = 'topic'
    cmd[#cmd + 1] = ARGV[a + 3]
    cmd[#cmd + 1] = 'timestamp'
    cmd[#cmd + 1] = ARGV[a + 4]
    cmd[#cmd + 1] = 'data'
    cmd[#cmd + 1] = ARGV[a + 5]
    redis.call(unpack(cmd))
    redis.call('SET', seen, '1', 'PX', window)
    appended = appended + 1
  end
end
return appended
`;

const DEFAULT_STREAM = 'voip-realtime:events';
const STREAM_BY = ['none', 'resource'];

/**
 * The resource a concrete topic names, by the grammar it belongs to: VoIPBIN's
 * `<scope>:<scope_id>:<resource>:<resource_id>` (`call`, `message`, ...) or Natterbox's
 * `org:<org>:user:<user>:<resource>` (`presence`, `messages`); `other` for neither.
 */
function resourceOf(topic) {
  const natterbox = natterboxResource(topic);
  if (natterbox !== null) return natterbox;
  const i1 = topic.indexOf(':');
  const i2 = i1 < 0 ? -1 : topic.indexOf(':', i1 + 1);
  const i3 = i2 < 0 ? -1 : topic.indexOf(':', i2 + 1);
  if (i3 < 0 || i3 === i2 + 1 || topic.indexOf(':', i3 + 1) >= 0) return 'other';
  return topic.slice(i2 + 1, i3);
}

function streamName(name, value, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '' || /\s/.test(value)) throw invalid(name, 'a stream name without spaces', value);
  return value;
}

/**
 * Appends bridge entries to Redis Streams.
 */
class RedisSink {
  #redis;
  #owned;
  #stream;
  #maxlen;
  #byResource;
  #window;
  #seenPrefix;

  /**
   * @param {{ redis: string | object, stream?: string, maxlen?: number, streamBy?: 'none' | 'resource',
   *   dedupeWindow?: number }} options
   */
  constructor(options) {
    const o = options ?? {};
    this.#stream = streamName('stream', o.stream, DEFAULT_STREAM);
    if (o.maxlen !== undefined && !(o.maxlen === 0 || (Number.isInteger(o.maxlen) && o.maxlen > 0))) {
      throw invalid('maxlen', 'a positive integer (or 0 for no trimming)', o.maxlen);
    }
    this.#maxlen = String(o.maxlen ?? 1000000);
    if (o.streamBy !== undefined && !STREAM_BY.includes(o.streamBy)) throw invalid('streamBy', `one of ${STREAM_BY.join(', ')}`, o.streamBy);
    this.#byResource = o.streamBy === 'resource';
    this.#window = String(positiveInteger('dedupeWindow', o.dedupeWindow, 60000));
    this.#seenPrefix = `${this.#stream}:seen:`;
    const { client, owned } = redisClient(o.redis);
    this.#redis = client;
    this.#owned = owned;
    if (typeof client.vrBridgeAppend !== 'function') client.defineCommand('vrBridgeAppend', { lua: APPEND_LUA });
  }

  /** The ioredis client in use. */
  get redis() {
    return this.#redis;
  }

  /** The stream an entry goes to. */
  streamOf(entry) {
    return this.#byResource ? `${this.#stream}:${resourceOf(entry.topic)}` : this.#stream;
  }

  /** Connects and proves the credential (AUTH_FAILED / CONNECT_FAILED). */
  ready() {
    return ready(this.#redis, this.#owned);
  }

  /**
   * Appends each entry once: one already remembered under its identity is skipped.
   * @param {{ event_type: string, server_event_type?: string, topic: string, timestamp: string, data: string,
   *   id: string }[]} entries
   * @returns {Promise<{ appended: number, duplicates: number }>}
   */
  async append(entries) {
    const n = entries.length;
    const args = new Array(1 + 2 * n + 2 + 5 * n);
    args[0] = 2 * n;
    let k = 1;
    for (const e of entries) {
      args[k++] = this.#seenPrefix + e.id;
      args[k++] = this.streamOf(e);
    }
    args[k++] = this.#window;
    args[k++] = this.#maxlen;
    for (const e of entries) {
      args[k++] = e.event_type;
      args[k++] = e.server_event_type ?? '';
      args[k++] = e.topic;
      args[k++] = e.timestamp;
      args[k++] = e.data;
    }
    let appended;
    try {
      appended = await this.#redis.vrBridgeAppend(...args);
    } catch (err) {
      throw redisError(err, 'append');
    }
    return { appended, duplicates: n - appended };
  }

  /** Closes the Redis connection when this sink opened it. */
  async close() {
    if (!this.#owned) return;
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }
}

module.exports = { RedisSink, resourceOf, DEFAULT_STREAM, STREAM_BY, streamName };
