'use strict';

// A processor on a Redis Streams consumer group: reads with XREADGROUP, runs the handler with at
// most `concurrency` events in flight, acknowledges an entry once its handler resolved, and
// reclaims (XAUTOCLAIM) entries another consumer read but has not acknowledged for
// `idleTimeout` ms, so a crashed processor's events are handled by the others. At-least-once: an
// event whose handler ran but whose ack was lost is handled again.

const os = require('node:os');
const { RealtimeError } = require('../errors.js');
const { createEvent } = require('../events.js');
const { invalid, positiveInteger } = require('../bridge/index.js');
const { redisClient, redisError, ready } = require('./connection.js');
const { DEFAULT_STREAM, streamName } = require('./sink.js');

const FIELDS = ['event_type', 'topic', 'timestamp', 'data'];
const STOPPED = Symbol('stopped');

// Reads a stream entry's flat [name, value, ...] list: the four fields every entry has, and
// server_event_type when the bridge stored one; null when one of the four is missing.
function entryEvent(fields) {
  const v = [undefined, undefined, undefined, undefined];
  let server;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const at = FIELDS.indexOf(fields[i]);
    if (at >= 0) v[at] = fields[i + 1];
    else if (fields[i] === 'server_event_type') server = fields[i + 1];
  }
  if (v.some((x) => x === undefined)) return null;
  const e = { event_type: v[0], topic: v[1], timestamp: v[2], data: v[3] };
  if (server) e.server_event_type = server;
  return e;
}

function toEvent(fields) {
  const e = entryEvent(fields);
  return e === null ? null : createEvent(e.event_type, e.timestamp, e.topic, e.data, e.server_event_type);
}

/**
 * A running consumer; see consume().
 */
class Consumer {
  #redis;
  #reader = null;
  #owned;
  #streams;
  #group;
  #name;
  #handler;
  #concurrency;
  #idleTimeout;
  #block;
  #onError;
  #running = 0;
  #slotWaiters = [];
  #acks = new Map();
  #cursors = new Map();
  #ackScheduled = false;
  #stopping = false;
  // What settles the commands in flight with STOPPED when close() is called (see #unlessStopped).
  #cancels = new Set();
  #loop = null;
  #counts = { read: 0, handled: 0, acked: 0, failed: 0, reclaimed: 0, malformed: 0 };

  constructor(options) {
    const o = options ?? {};
    const streams = o.stream === undefined ? [DEFAULT_STREAM] : (Array.isArray(o.stream) ? o.stream : [o.stream]);
    if (streams.length === 0) throw invalid('stream', 'a stream name or a non-empty array of them', o.stream);
    this.#streams = streams.map((s) => streamName('stream', s));
    if (typeof o.group !== 'string' || o.group === '') throw invalid('group', 'a consumer group name', o.group);
    this.#group = o.group;
    if (o.consumer !== undefined && (typeof o.consumer !== 'string' || o.consumer === '')) {
      throw invalid('consumer', 'a consumer name', o.consumer);
    }
    this.#name = o.consumer ?? `${os.hostname()}-${process.pid}`;
    if (typeof o.handler !== 'function') throw invalid('handler', 'a function', o.handler);
    this.#handler = o.handler;
    this.#concurrency = positiveInteger('concurrency', o.concurrency, 1);
    this.#idleTimeout = positiveInteger('idleTimeout', o.idleTimeout, 30000);
    this.#block = positiveInteger('block', o.block, 1000);
    if (o.onError !== undefined && typeof o.onError !== 'function') throw invalid('onError', 'a function', o.onError);
    this.#onError = o.onError ?? null;
    const { client, owned } = redisClient(o.redis);
    this.#redis = client;
    this.#owned = owned;
  }

  /** The consumer's name in the group. */
  get name() {
    return this.#name;
  }

  /**
   * Counters: `read` entries taken from the group (reclaimed ones included), `handled` handlers
   * resolved, `acked`, `failed` handlers that threw (left pending, so redelivered), `reclaimed`
   * entries taken over from idle consumers, `malformed` entries without the four fields (acked
   * and reported), `inFlight` handlers running now.
   */
  stats() {
    return { ...this.#counts, inFlight: this.#running };
  }

  /** Connects, creates the group (and stream) when missing, then runs until close(). */
  async start() {
    await ready(this.#redis, this.#owned);
    for (const stream of this.#streams) {
      try {
        await this.#redis.xgroup('CREATE', stream, this.#group, '0', 'MKSTREAM');
      } catch (err) {
        if (!/^BUSYGROUP/.test(err.message)) throw redisError(err, 'XGROUP CREATE');
      }
    }
    // Blocking reads get a connection of their own so acks are never stuck behind them.
    this.#reader = this.#redis.duplicate();
    this.#reader.on('error', () => {});
    await ready(this.#reader, true);
    this.#loop = this.#run();
    this.#loop.catch(() => {});
  }

  /**
   * Stops reading, waits for running handlers and their acks, and closes what it opened.
   * Entries read but not yet handled stay pending and are reclaimed by another consumer.
   * @returns {Promise<void>}
   */
  async close() {
    if (this.#stopping) return this.#loop;
    this.#stopping = true;
    for (const cancel of this.#cancels) cancel();
    this.#cancels.clear();
    for (const w of this.#slotWaiters.splice(0)) w();
    if (this.#reader) this.#reader.disconnect();
    try {
      await this.#loop;
    } catch {
      // Reported through onError already.
    }
    while (this.#running > 0) await new Promise((r) => this.#slotWaiters.push(r));
    await this.#flushAcks();
    if (this.#owned) {
      try {
        await this.#redis.quit();
      } catch {
        this.#redis.disconnect();
      }
    }
  }

  async #run() {
    let nextClaim = 0;
    let retryDelay = 50;
    while (!this.#stopping) {
      await this.#slot();
      if (this.#stopping) break;
      try {
        if (Date.now() >= nextClaim) {
          const claimed = await this.#reclaim();
          nextClaim = Date.now() + (claimed > 0 ? 0 : Math.max(100, Math.floor(this.#idleTimeout / 2)));
        }
        const free = this.#concurrency - this.#running;
        const block = Math.max(1, Math.min(this.#block, nextClaim - Date.now()));
        const res = await this.#unlessStopped(this.#reader.xreadgroup('GROUP', this.#group, this.#name, 'COUNT', free,
          'BLOCK', block, 'STREAMS', ...this.#streams, ...this.#streams.map(() => '>')));
        if (res === STOPPED) break;
        if (res) for (const [stream, entries] of res) this.#dispatch(stream, entries);
        retryDelay = 50;
      } catch (err) {
        if (this.#stopping) break;
        this.#report(redisError(err, 'read'), null);
        await new Promise((r) => setTimeout(r, retryDelay));
        retryDelay = Math.min(retryDelay * 2, 2000);
      }
    }
  }

  // Takes over entries idle for longer than idleTimeout, as many as there are free slots.
  async #reclaim() {
    let claimed = 0;
    for (const stream of this.#streams) {
      const free = this.#concurrency - this.#running;
      if (free <= 0) break;
      // The scan goes on where the previous one stopped, so entries in flight at the head of
      // the pending list do not hide older idle ones behind them; '0-0' means it went round.
      const res = await this.#unlessStopped(this.#redis.xautoclaim(stream, this.#group, this.#name,
        this.#idleTimeout, this.#cursors.get(stream) ?? '0-0', 'COUNT', free));
      if (res === STOPPED) break;
      const [cursor, entries] = res;
      this.#cursors.set(stream, cursor);
      // Deleted (trimmed) entries come back as null fields; XAUTOCLAIM already dropped them.
      const live = entries.filter((e) => e && e[1]);
      this.#counts.reclaimed += live.length;
      claimed += live.length;
      this.#dispatch(stream, live);
    }
    return claimed;
  }

  // A command on a connection that died may never settle (ioredis keeps it for a reconnect that
  // close() cancelled): close() must not wait for it. Entries it may still deliver stay pending.
  // Not Promise.race against one promise settled at close(): each race would leave a reaction
  // on it holding the command's reply, so every entry ever read would stay in memory.
  #unlessStopped(promise) {
    promise.catch(() => {});
    if (this.#stopping) return Promise.resolve(STOPPED);
    return new Promise((resolve, reject) => {
      const cancel = () => resolve(STOPPED);
      this.#cancels.add(cancel);
      promise.then((value) => {
        this.#cancels.delete(cancel);
        resolve(value);
      }, (err) => {
        this.#cancels.delete(cancel);
        reject(err);
      });
    });
  }

  #dispatch(stream, entries) {
    for (const [id, fields] of entries) {
      this.#counts.read++;
      const event = toEvent(fields);
      if (event === null) {
        this.#counts.malformed++;
        this.#report(new RealtimeError('MALFORMED_EVENT',
          `Stream entry ${stream} ${id} lacks one of the fields ${FIELDS.join(', ')}; acknowledged and skipped`), null);
        this.#ack(stream, id);
        continue;
      }
      this.#running++;
      this.#handle(stream, id, event);
    }
  }

  async #handle(stream, id, event) {
    try {
      await this.#handler(event, { stream, id });
      this.#counts.handled++;
      this.#ack(stream, id);
    } catch (err) {
      this.#counts.failed++;
      this.#report(err, event);
    } finally {
      this.#running--;
      const w = this.#slotWaiters.shift();
      if (w) w();
    }
  }

  #slot() {
    if (this.#running < this.#concurrency) return Promise.resolve();
    return new Promise((r) => this.#slotWaiters.push(r));
  }

  // Acks of one turn of the event loop go out as one XACK per stream.
  #ack(stream, id) {
    let list = this.#acks.get(stream);
    if (!list) {
      list = [];
      this.#acks.set(stream, list);
    }
    list.push(id);
    if (!this.#ackScheduled) {
      this.#ackScheduled = true;
      setImmediate(() => this.#flushAcks());
    }
  }

  async #flushAcks() {
    this.#ackScheduled = false;
    const acks = this.#acks;
    this.#acks = new Map();
    await Promise.all([...acks].map(async ([stream, ids]) => {
      try {
        const n = await this.#redis.xack(stream, this.#group, ...ids);
        this.#counts.acked += n;
      } catch (err) {
        // Unacknowledged entries stay pending and are reclaimed: handled twice, never lost.
        this.#report(redisError(err, 'XACK'), null);
      }
    }));
  }

  #report(err, event) {
    if (!this.#onError) return;
    try {
      this.#onError(err, event);
    } catch {
      // A failing error hook must not stop the consumer.
    }
  }
}

/**
 * Starts a consumer on a group of the stream(s); resolves once the group exists and reading
 * began. Rejects with AUTH_FAILED / CONNECT_FAILED / INVALID_OPTION.
 * @param {object} options see types/redis.d.ts
 * @returns {Promise<Consumer>}
 */
async function consume(options) {
  const consumer = new Consumer(options);
  try {
    await consumer.start();
  } catch (err) {
    await consumer.close().catch(() => {});
    throw err;
  }
  return consumer;
}

module.exports = { consume, Consumer, entryEvent };
