'use strict';

const { EventEmitter } = require('node:events');
const { EventIterator, emitEvent } = require('./events.js');

// Internals shared with the client (lib/client/ledger.js, lib/client/dispatch.js) only.
const CREATE = Symbol('create');
const DELIVER = Symbol('deliver');
const RELEASE = Symbol('release');
const END = Symbol('end');
const INTERESTED = Symbol('interested');
const HOLDS = Symbol('holds');

const META = new Set(['newListener', 'removeListener', 'error']);
const DEFAULT_HIGH_WATER_MARK = 10000;

/**
 * The result of one `client.subscribe()` call: its patterns, the events matching them, and a
 * handle to release them. Created by RealtimeClient only.
 */
class Subscription extends EventEmitter {
  #owner;
  // The patterns still held: the (duplicate-free) list given at creation until the first
  // release, then a Set. Most subscriptions are never released pattern by pattern, and for
  // 100,000 patterns a Set costs about 26 bytes each where the list costs 8.
  #holds;
  #iterators = new Set();
  #ended = false;

  /** @private */
  constructor(key, owner, patterns) {
    if (key !== CREATE) {
      throw new TypeError('Subscription objects are created by RealtimeClient.subscribe()');
    }
    super();
    this.#owner = owner;
    this.#holds = patterns;
    const changed = () => owner.interestChanged();
    this.on('newListener', changed);
    this.on('removeListener', changed);
  }

  /** The patterns this subscription still holds, normalised and sorted. */
  get topics() {
    return [...this.#holds].sort();
  }

  /**
   * Releases this subscription's own holds; patterns nobody else holds are unsubscribed.
   * @returns {Promise<void>}
   */
  unsubscribe() {
    return this.#owner.release(this);
  }

  /**
   * Events matching this subscription's patterns, buffered from this call on.
   * @param {{ highWaterMark?: number }} [options]
   * @returns {AsyncIterableIterator<object>}
   */
  [Symbol.asyncIterator](options) {
    const highWaterMark = options && options.highWaterMark !== undefined
      ? options.highWaterMark : DEFAULT_HIGH_WATER_MARK;
    const it = new EventIterator({
      highWaterMark,
      onEnd: (iter) => {
        this.#iterators.delete(iter);
        this.#owner.interestChanged();
      },
    });
    if (this.#ended) {
      it.end();
      return it;
    }
    this.#iterators.add(it);
    this.#owner.interestChanged();
    return it;
  }

  get [HOLDS]() {
    return this.#holds;
  }

  [INTERESTED]() {
    if (this.#ended) return false;
    if (this.#iterators.size > 0) return true;
    for (const name of this.eventNames()) if (!META.has(name)) return true;
    return false;
  }

  [DELIVER](event) {
    emitEvent(this, event);
    if (this.#iterators.size > 0) for (const it of this.#iterators) it.push(event);
  }

  /** Drops one pattern; returns true when the subscription holds nothing any more. */
  [RELEASE](pattern) {
    if (Array.isArray(this.#holds)) this.#holds = new Set(this.#holds);
    this.#holds.delete(pattern);
    if (this.#holds.size === 0) this[END]();
    return this.#holds.size === 0;
  }

  [END]() {
    if (this.#ended) return;
    this.#ended = true;
    this.#holds = [];
    for (const it of [...this.#iterators]) it.end();
  }
}

module.exports = { Subscription, CREATE, DELIVER, RELEASE, END, INTERESTED, HOLDS };
