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

const oneShotHash = typeof crypto.hash === 'function';

/**
 * The identity of an event: equal for the same event however many bridges saw it, different for
 * any change of type, topic, time or payload. 20 bytes of SHA-1 in base64url (27 characters).
 * @param {{ event_type: string, topic: string, timestamp: string, data: string }} entry
 * @returns {string}
 */
function identity(entry) {
  const text = `${entry.event_type}\0${entry.topic}\0${entry.timestamp}\0${entry.data}`;
  // crypto.hash (Node 20.12+) hashes in one call, about half the cost of a Hash object.
  return oneShotHash ? crypto.hash('sha1', text, 'base64url') : crypto.createHash('sha1').update(text).digest('base64url');
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
 *
 * A sink that keeps the order of overlapping calls (`sink.maxInFlight` > 1: a call made with
 * `{ chained: true }` is applied after the call made before it, and not at all unless that one
 * was) gets the next batch as soon as it is gathered instead of after the previous answer, so a
 * new event does not wait a round trip for the write before it.
 */
class Bridge {
  #client;
  #sink;
  #batchSize;
  #maxInFlight;
  #high;
  #low;
  #retry;
  // Entries from #head on are not confirmed yet; those before #sent were handed to the sink.
  #buffer = [];
  #head = 0;
  #sent = 0;
  // Sink calls in the order they were issued: { count, settled, result, error }.
  #calls = [];
  #failed = false;
  #gathering = false;
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
   * @param {{ client: object, sink: { append(entries: object[], context: { chained: boolean }):
   *   Promise<{ appended: number, duplicates: number }>,
   *   close?(): Promise<void>, maxInFlight?: number }, batchSize?: number, highWaterMark?: number,
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
    this.#maxInFlight = positiveInteger('sink.maxInFlight', o.sink.maxInFlight, 1);
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
   * entries another bridge had already written, `retries` times writing resumed after a failed
   * sink call (once for all the calls in flight with it), `pending`
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
    if (this.#idle()) return Promise.resolve();
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

  #idle() {
    return this.#buffer.length === this.#head && this.#calls.length === 0 && this.#timer === null;
  }

  #push(event) {
    this.#counts.received++;
    this.#buffer.push(toEntry(event));
    if (!this.#paused && this.#buffer.length - this.#head >= this.#high) this.#pauseClient();
    if (!this.#gathering && this.#calls.length < this.#maxInFlight && this.#timer === null && !this.#failed) {
      this.#gathering = true;
      // Let the rest of the native batch arrive first: one sink call then carries many events.
      setImmediate(() => {
        this.#gathering = false;
        this.#pump();
      });
    }
  }

  // Hands the sink what was gathered, as many calls as may be in flight.
  #pump() {
    while (this.#sent < this.#buffer.length && this.#calls.length < this.#maxInFlight && this.#timer === null && !this.#failed) {
      const start = this.#sent;
      const end = Math.min(this.#buffer.length, start + this.#batchSize);
      const call = { count: end - start, settled: false, result: null, error: null };
      // Chained: an earlier call is not confirmed yet (in flight, or answered but not looked at:
      // it may have failed), so the sink must not apply this one unless that one was applied.
      const context = { chained: this.#calls.length > 0 };
      this.#sent = end;
      this.#calls.push(call);
      let promise;
      try {
        promise = Promise.resolve(this.#sink.append(this.#buffer.slice(start, end), context));
      } catch (err) {
        promise = Promise.reject(err);
      }
      promise.then((result) => {
        call.settled = true;
        call.result = result;
        this.#settle();
      }, (err) => {
        call.settled = true;
        call.error = err ?? new Error('sink append failed');
        this.#failed = true;
        this.#settle();
      });
    }
  }

  // Confirms answered calls in the order they were issued. After a failure nothing more is
  // issued; once every call in flight settled, everything from the first unconfirmed entry on is
  // written again after a backoff (entries a later call did write are skipped by their identity).
  #settle() {
    const calls = this.#calls;
    while (calls.length > 0 && calls[0].settled && calls[0].error === null) {
      const { count, result } = calls.shift();
      this.#attempt = 0;
      this.#lastError = null;
      this.#counts.appended += result.appended;
      this.#counts.duplicates += result.duplicates;
      this.#head += count;
    }
    if (this.#head > 4096 && this.#head * 2 > this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#sent -= this.#head;
      this.#head = 0;
    }
    if (this.#paused && this.#buffer.length - this.#head <= this.#low) this.#resumeClient();
    if (this.#failed) {
      if (calls.some((c) => !c.settled)) return;
      this.#retryLater(calls.find((c) => c.error !== null).error);
    } else {
      this.#pump();
    }
    if (this.#idle()) this.#finishDrain();
  }

  #retryLater(err) {
    this.#calls = [];
    this.#failed = false;
    this.#sent = this.#head;
    this.#counts.retries++;
    this.#lastError = err;
    this.#report(err);
    const delay = Math.min(this.#retry.maxDelay,
      this.#retry.initialDelay * this.#retry.factor ** Math.min(this.#attempt, 30));
    this.#attempt++;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#pump();
    }, delay);
  }

  #finishDrain() {
    this.#buffer = [];
    this.#head = 0;
    this.#sent = 0;
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
