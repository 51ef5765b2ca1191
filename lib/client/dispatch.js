'use strict';

// Batches from the native thread: decoding the flat record layout, dispatching events to the
// emitter, to Subscriptions (through a pattern index) and to events() iterators, and handing
// control and server records to the facade.

const { RealtimeError, validateSignal } = require('../errors.js');
const {
  createEvent, emitEvent, EventIterator, rethrowLater,
} = require('../events.js');
const { DELIVER, INTERESTED } = require('../subscription.js');
const { patternList } = require('./ledger.js');

// A batch is one string plus a flat array of STRIDE numbers per record: kind, then offset pairs
// into the string (event: type, topic, data, raw; control/server: the JSON record).
const STRIDE = 9;
const KIND_EVENT = 1;
const KIND_CONTROL = 2;
const KIND_SERVER = 3;
const DEFAULT_HIGH_WATER_MARK = 10000;

/**
 * `emitter` is the RealtimeClient (events are emitted on it); `conn` the Connection (read:
 * `closing`, `final`); `ledger` the Ledger (read: `entries`, `members`); `grammar` the
 * protocol's (lib/client/grammar.js); `hooks` the facade's: `onControl(rec, source)`, `onServer(rec)`,
 * `reportError(err)`.
 */
class Dispatcher {
  /** Set when holds or listener interest changed; the index is rebuilt before the next event. */
  indexDirty = false;
  #subIndex;
  #version = 0;  // bumped by every index rebuild; filters with dynamic keys follow it
  #iterators = new Map();
  #overflowed = 0;
  #droppedLate = 0;
  #backlog = [];  // [text, meta, position] of batches waiting behind a paused one
  #resumeScheduled = false;
  #lastType = '';
  #emitter;
  #conn;
  #ledger;
  #grammar;
  #hooks;

  constructor(emitter, conn, ledger, grammar, hooks) {
    this.#emitter = emitter;
    this.#conn = conn;
    this.#ledger = ledger;
    this.#grammar = grammar;
    this.#hooks = hooks;
    this.#subIndex = grammar.createIndex();
  }

  /** Open events() iterators. */
  get iterators() {
    return this.#iterators.size;
  }

  /** Events iterators dropped because they were full. */
  get overflowed() {
    return this.#overflowed;
  }

  /** Events lost here: discarded by a full iterator, or arriving after close(). */
  get dropped() {
    return this.#overflowed + this.#droppedLate;
  }

  /** See RealtimeClient#events. */
  events(filter) {
    const f = filter === undefined || filter === null ? {} : filter;
    if (typeof f !== 'object' || Array.isArray(f)) {
      throw new RealtimeError('INVALID_OPTION', `Expected an object for filter but received ${String(f)}`);
    }
    for (const key of Object.keys(f)) {
      if (!['topics', 'types', 'signal', 'highWaterMark'].includes(key)) {
        throw new RealtimeError('INVALID_OPTION',
          `Unknown option filter.${key} (known: topics, types, signal, highWaterMark)`);
      }
    }
    let index = null;
    let patterns = null;
    if (f.topics !== undefined) {
      patterns = patternList(f.topics, 'filter.topics', this.#grammar.normalize);
      index = this.#filterIndex(patterns);
    }
    let types = null;
    if (f.types !== undefined) {
      const list = typeof f.types === 'string' ? [f.types] : f.types;
      if (!Array.isArray(list) || list.length === 0 || list.some((t) => typeof t !== 'string' || t === '')) {
        throw new RealtimeError('INVALID_OPTION',
          `Expected an event type or a non-empty array of them for filter.types but received ${JSON.stringify(f.types)}`);
      }
      types = new Set(list);
    }
    const signal = validateSignal(f.signal, 'filter.signal');
    const hwm = f.highWaterMark === undefined ? DEFAULT_HIGH_WATER_MARK : f.highWaterMark;
    if (typeof hwm !== 'number' || !(hwm >= 1) || (!Number.isInteger(hwm) && hwm !== Infinity)) {
      throw new RealtimeError('INVALID_OPTION',
        `Expected a positive integer for filter.highWaterMark but received ${String(hwm)}`);
    }
    const it = new EventIterator({
      highWaterMark: hwm,
      signal,
      onEnd: (iter, overflowed) => {
        this.#iterators.delete(iter);
        this.#overflowed += overflowed;
      },
    });
    if (this.#conn.final || this.#conn.closing) {
      it.end();
      return it;
    }
    if (!it.done) this.#iterators.set(it, { index, types, patterns, version: this.#version });
    return it;
  }

  #filterIndex(patterns) {
    const index = this.#grammar.createIndex();
    for (const p of patterns) for (const k of this.#grammar.keysOf(p, this.#ledger.members)) index.add(k, true);
    return index;
  }

  /** The client ended: routing is dropped and every iterator ends. */
  finish() {
    this.#subIndex.clear();
    for (const it of [...this.#iterators.keys()]) it.end();
  }

  /**
   * A batch of one native client: the client's own (`source` null) or a socket of its own
   * (lib/client/messages.js), whose control records go back to it.
   */
  onBatch(text, meta, source = null) {
    if (this.#backlog.length > 0) {
      this.#backlog.push([text, meta, 0, source]);
      return;
    }
    this.#process(text, meta, 0, source);
  }

  // Handles records from `pos` on. After a record that can settle a user's promise (an ack or
  // error answering subscribe(), an open answering connect()), the rest of the batch waits for
  // setImmediate: the code after `await client.subscribe()` runs first and can attach its
  // listeners before the events that followed the ack. Returns false when it paused.
  #process(text, meta, pos, source) {
    const n = meta.length;
    const conn = this.#conn;
    for (let i = pos; i < n; i += STRIDE) {
      const kind = meta[i];
      if (kind === KIND_EVENT) {
        if (conn.closing || conn.final) {
          this.#droppedLate++;
          continue;
        }
        // Consecutive events mostly share their type. Passing on the previous, equal string
        // lets emit() and the RESERVED check reuse its cached hash and internalised form
        // instead of hashing a fresh copy: about 25% of the cost of an event nobody parses.
        let type = text.slice(meta[i + 1], meta[i + 2]);
        if (type === this.#lastType) type = this.#lastType;
        else this.#lastType = type;
        this.#dispatch(createEvent(
          type,
          text.slice(meta[i + 5], meta[i + 6]),
          text.slice(meta[i + 3], meta[i + 4]),
          text.slice(meta[i + 7], meta[i + 8]),
        ));
        continue;
      }
      if (kind !== KIND_CONTROL && kind !== KIND_SERVER) continue;
      let rec;
      try {
        rec = JSON.parse(text.slice(meta[i + 1], meta[i + 2]));
      } catch (err) {
        this.#hooks.reportError(new RealtimeError('PROTOCOL_ERROR',
          `The native layer handed over an unreadable record: ${err.message}`));
        continue;
      }
      try {
        if (kind === KIND_CONTROL) this.#hooks.onControl(rec, source);
        else this.#hooks.onServer(rec);
      } catch (err) {
        rethrowLater(err);
      }
      if ((kind === KIND_SERVER || rec.type === 'open') && i + STRIDE < n) {
        this.#backlog.unshift([text, meta, i + STRIDE, source]);
        if (!this.#resumeScheduled) {
          this.#resumeScheduled = true;
          setImmediate(() => this.#resume());
        }
        return false;
      }
    }
    return true;
  }

  #resume() {
    this.#resumeScheduled = false;
    while (this.#backlog.length > 0) {
      const [text, meta, pos, source] = this.#backlog.shift();
      if (!this.#process(text, meta, pos, source)) return;
    }
  }

  #dispatch(event) {
    emitEvent(this.#emitter, event);
    if (this.indexDirty) this.#rebuildIndex();
    if (this.#subIndex.size > 0) {
      const subs = this.#subIndex.lookup(event.topic);
      for (let i = 0; i < subs.length; i++) subs[i][DELIVER](event);
    }
    if (this.#iterators.size > 0) {
      for (const [it, f] of this.#iterators) {
        if (f.types !== null && !f.types.has(event.event_type)) continue;
        if (f.patterns !== null && this.#grammar.dynamic && f.version !== this.#version) {
          f.index = this.#filterIndex(f.patterns);
          f.version = this.#version;
        }
        if (f.index !== null && f.index.lookup(event.topic).length === 0) continue;
        it.push(event);
      }
    }
  }

  // Only subscriptions somebody listens to take part in routing.
  #rebuildIndex() {
    this.indexDirty = false;
    this.#version++;
    this.#subIndex.clear();
    const { keysOf } = this.#grammar;
    const members = this.#ledger.members;
    for (const [p, e] of this.#ledger.entries) {
      for (const sub of e.holders()) {
        if (!sub[INTERESTED]()) continue;
        for (const k of keysOf(p, members)) this.#subIndex.add(k, sub);
      }
    }
  }
}

module.exports = { Dispatcher };
