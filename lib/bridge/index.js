'use strict';

// The bridge's core: takes every event a RealtimeClient delivers, keeps it in order in a bounded
// buffer and hands it in batches to a sink (Redis Streams today; anything with the same
// `append(entries)` contract tomorrow). A batch leaves the buffer only after the sink resolved
// it, so a failing sink is retried with backoff and nothing read is lost. While the buffer is
// above its high-water mark the client is paused (when it can be), so the socket, not memory,
// absorbs a slow sink.

const crypto = require('node:crypto');
const { RealtimeError } = require('../errors.js');
const { dataText } = require('../events.js');

const DEFAULTS = Object.freeze({
  batchSize: 512,
  highWaterMark: 20000,
  retry: Object.freeze({ initialDelay: 100, maxDelay: 5000, factor: 2 }),
});

function invalid(name, what, value) {
  return new RealtimeError('INVALID_OPTION', `Expected ${what} for ${name} but received ${describe(value)}`);
}

function describe(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function positiveInteger(name, value, fallback) {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw invalid(name, 'a positive integer', value);
  return value;
}

/**
 * The identity of an event: equal for the same event however many bridges saw it, different for
 * any change of type, topic, time or payload. 20 bytes of SHA-1 in base64url (27 characters).
 * @param {{ event_type: string, topic: string, timestamp: string, data: string }} entry
 * @returns {string}
 */
function identity(entry) {
  return crypto.createHash('sha1')
    .update(entry.event_type).update('\0')
    .update(entry.topic).update('\0')
    .update(entry.timestamp).update('\0')
    .update(entry.data)
    .digest('base64url');
}

/**
 * Turns a client event into a sink entry, keeping the payload's JSON text as received and the
 * live dialect's server name (`server_event_type`) when the event has one. The identity leaves
 * that name out: it follows from the rest, and bridges of either version agree on it.
 * @param {object} event a RealtimeEvent
 * @returns {{ event_type: string, server_event_type?: string, topic: string, timestamp: string, data: string,
 *   id: string, at: number }}
 */
function toEntry(event) {
  const data = dataText(event) ?? JSON.stringify(event.data);
  const server = event.server_event_type;
  const entry = {
    event_type: event.event_type,
    server_event_type: typeof server === 'string' && server !== '' ? server : undefined,
    topic: event.topic,
    timestamp: event.timestamp,
    data,
    id: '',
    at: Date.now(),
  };
  entry.id = identity(entry);
  return entry;
}

/**
 * Moves events from a client to a sink. Created by the sink-specific `bridge()` functions.
 */
class Bridge {
  #client;
  #sink;
  #batchSize;
  #high;
  #low;
  #retry;
  #buffer = [];
  #head = 0;
  #busy = false;
  #timer = null;
  #attempt = 0;
  #paused = false;
  #closing = null;
  #onEvent;
  #onClose;
  #drainWaiters = [];
  #counts = { received: 0, appended: 0, duplicates: 0, retries: 0, pauses: 0 };
  #lastError = null;

  /**
   * @param {{ client: object, sink: { append(entries: object[]): Promise<{ appended: number, duplicates: number }>,
   *   close?(): Promise<void> }, batchSize?: number, highWaterMark?: number,
   *   retry?: { initialDelay?: number, maxDelay?: number, factor?: number },
   *   onError?: (err: Error) => void }} options
   */
  constructor(options) {
    const o = options ?? {};
    if (!o.client || typeof o.client.on !== 'function' || typeof o.client.removeListener !== 'function') {
      throw invalid('client', 'a RealtimeClient', o.client);
    }
    if (!o.sink || typeof o.sink.append !== 'function') throw invalid('sink', 'an object with append(entries)', o.sink);
    this.#client = o.client;
    this.#sink = o.sink;
    this.#batchSize = positiveInteger('batchSize', o.batchSize, DEFAULTS.batchSize);
    this.#high = positiveInteger('highWaterMark', o.highWaterMark, DEFAULTS.highWaterMark);
    this.#low = Math.floor(this.#high / 2);
    const r = o.retry ?? {};
    if (typeof r !== 'object') throw invalid('retry', 'an object', r);
    this.#retry = {
      initialDelay: positiveInteger('retry.initialDelay', r.initialDelay, DEFAULTS.retry.initialDelay),
      maxDelay: positiveInteger('retry.maxDelay', r.maxDelay, DEFAULTS.retry.maxDelay),
      factor: r.factor === undefined ? DEFAULTS.retry.factor : r.factor,
    };
    if (typeof this.#retry.factor !== 'number' || !(this.#retry.factor >= 1)) {
      throw invalid('retry.factor', 'a number of at least 1', r.factor);
    }
    if (o.onError !== undefined && typeof o.onError !== 'function') throw invalid('onError', 'a function', o.onError);
    this.onError = o.onError ?? null;
    this.#onEvent = (event) => this.#push(event);
    this.#onClose = ({ willReconnect }) => {
      if (!willReconnect) this.#resumeClient();
    };
  }

  /** Starts taking events from the client. */
  start() {
    if (this.#closing) return this;
    this.#client.on('event', this.#onEvent);
    this.#client.on('close', this.#onClose);
    return this;
  }

  /**
   * Counters: `received` events taken from the client, `appended` entries written, `duplicates`
   * entries another bridge had already written, `retries` failed sink calls retried, `pending`
   * events read but not yet written, `lag` ms the oldest pending event has waited, `paused`
   * whether the client is held back, `lastError` the sink failure being retried (null once a write succeeds).
   * @returns {{ received: number, appended: number, duplicates: number, retries: number, pauses: number,
   *   pending: number, lag: number, paused: boolean, lastError: Error | null }}
   */
  stats() {
    const pending = this.#buffer.length - this.#head;
    return {
      ...this.#counts,
      pending,
      lag: pending === 0 ? 0 : Date.now() - this.#buffer[this.#head].at,
      paused: this.#paused,
      lastError: this.#lastError,
    };
  }

  /**
   * Resolves once every event read so far is written (immediately when nothing is pending).
   * @returns {Promise<void>}
   */
  drained() {
    if (this.#buffer.length === this.#head && !this.#busy) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Stops taking events from the client, writes what was read (retrying as usual) and closes the
   * sink. The client is left open: it belongs to the caller. Idempotent.
   * @returns {Promise<void>}
   */
  close() {
    if (this.#closing) return this.#closing;
    this.#client.removeListener('event', this.#onEvent);
    this.#client.removeListener('close', this.#onClose);
    this.#resumeClient();
    this.#closing = this.drained().then(() => this.#sink.close?.());
    return this.#closing;
  }

  #push(event) {
    this.#counts.received++;
    this.#buffer.push(toEntry(event));
    if (!this.#paused && this.#buffer.length - this.#head >= this.#high) this.#pauseClient();
    if (!this.#busy && this.#timer === null) {
      this.#busy = true;
      // Let the rest of the native batch arrive first: one sink call then carries many events.
      setImmediate(() => this.#pump());
    }
  }

  async #pump() {
    while (this.#buffer.length > this.#head) {
      const end = Math.min(this.#buffer.length, this.#head + this.#batchSize);
      const batch = this.#buffer.slice(this.#head, end);
      let result;
      try {
        result = await this.#sink.append(batch);
      } catch (err) {
        this.#counts.retries++;
        this.#lastError = err;
        this.#report(err);
        const delay = Math.min(this.#retry.maxDelay,
          this.#retry.initialDelay * this.#retry.factor ** Math.min(this.#attempt, 30));
        this.#attempt++;
        this.#busy = false;
        this.#timer = setTimeout(() => {
          this.#timer = null;
          this.#busy = true;
          this.#pump();
        }, delay);
        return;
      }
      this.#attempt = 0;
      this.#lastError = null;
      this.#counts.appended += result.appended;
      this.#counts.duplicates += result.duplicates;
      this.#head = end;
      if (this.#head > 4096 && this.#head * 2 > this.#buffer.length) {
        this.#buffer = this.#buffer.slice(this.#head);
        this.#head = 0;
      }
      if (this.#paused && this.#buffer.length - this.#head <= this.#low) this.#resumeClient();
    }
    this.#buffer = [];
    this.#head = 0;
    this.#busy = false;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #pauseClient() {
    if (typeof this.#client.pause !== 'function') return;
    this.#paused = true;
    this.#counts.pauses++;
    this.#client.pause();
  }

  #resumeClient() {
    if (!this.#paused) return;
    this.#paused = false;
    this.#client.resume();
  }

  #report(err) {
    if (this.onError) {
      try {
        this.onError(err);
      } catch {
        // A failing error hook must not stop the retries.
      }
    }
  }
}

module.exports = { Bridge, identity, toEntry, invalid, positiveInteger, DEFAULTS };
