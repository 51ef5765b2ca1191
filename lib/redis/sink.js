'use strict';

// The Redis Streams sink of the bridge: one XADD per event, made idempotent by an identity key
// that lives for a bounded window. A batch is one Lua script call, so the check, the append and
// the remembering are atomic: two bridges racing on the same event append it once.
//
// Several calls may be in flight on the connection (the bridge does not wait a round trip per
// batch). Their order is kept by a chain: a call the bridge marks `chained` (an earlier one is not
// confirmed yet) names the call made before it (`prev`), and the script writes nothing unless
// that was the last call of this sink to complete. After a failure the later calls fail too; the
// bridge writes again from the first unconfirmed entry, unchained, once every call settled. So
// whatever the connection, ioredis's resends or a restarted Redis do, the stream holds a sink's
// entries in their order.

const crypto = require('node:crypto');
const { invalid, positiveInteger } = require('../bridge/index.js');
const { redisClient, redisError, ready } = require('./connection.js');
const { resourceOf: natterboxResource } = require('../client/natterbox.js');

// KEYS[1] this sink's chain key; for entry i (1-based), KEYS[2i] its identity key and KEYS[2i+1]
// its stream.
// ARGV: window ms, maxlen ('0' for no trim), prev (the call this one must follow, '' for none),
// this call's number, then event_type, server_event_type ('' when the event has none: the field
// is left out), topic, timestamp, data per entry.
// The identity is taken with SET NX (one command for check and remember); an XADD that fails
// gives it back, so the retried entry is appended then.
const APPEND_LUA = `
local window = ARGV[1]
local maxlen = ARGV[2]
local chain = KEYS[1]
if ARGV[3] ~= '' and redis.call('GET', chain) ~= ARGV[3] then
  return redis.error_reply('VRCHAIN an earlier write of this bridge did not complete; written again from there')
end
-- One XADD call per shape (trimmed or not, with server_event_type or not): no argument table to
-- build per entry.
local function add(stream, a)
  local server = ARGV[a + 2]
  if maxlen == '0' then
    if server == '' then
      return redis.pcall('XADD', stream, '*', 'event_type', ARGV[a + 1],
        'topic', ARGV[a + 3], 'timestamp', ARGV[a + 4], 'data', ARGV[a + 5])
    end
    return redis.pcall('XADD', stream, '*', 'event_type', ARGV[a + 1], 'server_event_type', server,
      'topic', ARGV[a + 3], 'timestamp', ARGV[a + 4], 'data', ARGV[a + 5])
  end
  if server == '' then
    return redis.pcall('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'event_type', ARGV[a + 1],
      'topic', ARGV[a + 3], 'timestamp', ARGV[a + 4], 'data', ARGV[a + 5])
  end
  return redis.pcall('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'event_type', ARGV[a + 1], 'server_event_type', server,
    'topic', ARGV[a + 3], 'timestamp', ARGV[a + 4], 'data', ARGV[a + 5])
end
local appended = 0
for i = 1, (#KEYS - 1) / 2 do
  local seen = KEYS[2 * i]
  if redis.call('SET', seen, '1', 'PX', window, 'NX') then
    local res = add(KEYS[2 * i + 1], 4 + (i - 1) * 5)
    if type(res) == 'table' and res.err then
      redis.call('DEL', seen)
      return res
    end
    appended = appended + 1
  end
end
redis.call('SET', chain, ARGV[4], 'PX', window)
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
  #chainKey;
  #maxInFlight;
  #calls = 0;
  #inFlight = 0;

  /**
   * @param {{ redis: string | object, stream?: string, maxlen?: number, streamBy?: 'none' | 'resource',
   *   dedupeWindow?: number, maxInFlight?: number }} options
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
    this.#chainKey = `${this.#stream}:chain:${crypto.randomUUID()}`;
    this.#maxInFlight = positiveInteger('maxInFlight', o.maxInFlight, 4);
    const { client, owned } = redisClient(o.redis);
    this.#redis = client;
    this.#owned = owned;
    if (typeof client.vrBridgeAppend !== 'function') client.defineCommand('vrBridgeAppend', { lua: APPEND_LUA });
  }

  /** The ioredis client in use. */
  get redis() {
    return this.#redis;
  }

  /** How many append() calls may overlap: their order is kept (see the chain above). */
  get maxInFlight() {
    return this.#maxInFlight;
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
   * @param {{ chained?: boolean }} [context] chained: the call made before this one is not
   *   confirmed, so this one is written only after it was (the default: while one is in flight)
   * @returns {Promise<{ appended: number, duplicates: number }>}
   */
  async append(entries, context) {
    const n = entries.length;
    const chained = context?.chained ?? this.#inFlight > 0;
    const prev = chained && this.#calls > 0 ? String(this.#calls) : '';
    const call = String(++this.#calls);
    const args = new Array(1 + 1 + 2 * n + 4 + 5 * n);
    args[0] = 1 + 2 * n;
    args[1] = this.#chainKey;
    let k = 2;
    for (const e of entries) {
      args[k++] = this.#seenPrefix + e.id;
      args[k++] = this.streamOf(e);
    }
    args[k++] = this.#window;
    args[k++] = this.#maxlen;
    args[k++] = prev;
    args[k++] = call;
    for (const e of entries) {
      args[k++] = e.event_type;
      args[k++] = e.server_event_type ?? '';
      args[k++] = e.topic;
      args[k++] = e.timestamp;
      args[k++] = e.data;
    }
    this.#inFlight++;
    let appended;
    try {
      appended = await this.#redis.vrBridgeAppend(args);
    } catch (err) {
      throw redisError(err, 'append');
    } finally {
      this.#inFlight--;
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
