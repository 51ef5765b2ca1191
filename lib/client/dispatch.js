'use strict';

// Batches from the native thread: decoding the flat record layout, dispatching events to the
// emitter, to Subscriptions (through a pattern index) and to events() iterators, and handing
// control and server records to the facade.
//
// Backpressure: while records wait here (behind an ack that must settle first, or behind an
// events() iterator that is full) the native reader is held: once its queue fills it stops
// reading the socket, so what waits in JS is bounded by two native queues (native/BINDING.md).

const { RealtimeError, validateSignal } = require('../errors.js');
const {
  createEvent, createParsedEvent, dataTouched, withTopic, emitEvent, EventIterator, rethrowLater,
} = require('../events.js');
const { DELIVER, INTERESTED } = require('../subscription.js');
const { patternList } = require('./ledger.js');
const { META_STRIDE: STRIDE } = require('../native.js');

// A batch is one string plus a flat array of STRIDE numbers per record: kind, then offset pairs
// into the string (event: type, topic, timestamp, data, server_event_type, second topic;
// control/server: the JSON record). native/core/batch.h has the layout; lib/native.js
// refuses an addon with another stride.
const KIND_EVENT = 1;
const KIND_CONTROL = 2;
const KIND_SERVER = 3;
const DEFAULT_HIGH_WATER_MARK = 10000;
const NAME_CACHE = 16;
// Name spans of one call remembered by #spanName (native shares at most 8 names per segment).
const SPANS_KEPT = 16;
// Events of one name whose `data` was read during their dispatch this many times in a row are
// made with `data` parsed at once (createParsedEvent). While they are, every PROBE_EVERY-th one
// is made lazy again to see whether the listeners still read it: once one goes unread, the
// name's events are lazy again until the next run of reads.
const EAGER_AFTER = 64;
const PROBE_EVERY = 64;

// One kept event name (see Dispatcher#name) with what its events taught: `reads` in a row, and
// `eager` with `countdown` to the next probe while they are parsed at once.
class NameEntry {
  reads = 0;
  eager = false;
  countdown = 0;

  constructor(name) {
    this.name = name;
  }
}

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
  #blocked = new Set();  // events() iterators holding highWaterMark unread events
  #held = false;         // the native reader is told to stay stopped once its queue fills
  #heldSources = new Set(); // sockets of its own held the same way (lib/client/messages.js)
  #flow = {
    full: (it) => this.#blocked.add(it),
    space: (it) => {
      if (this.#blocked.delete(it) && this.#blocked.size === 0) this.#scheduleResume();
    },
  };
  #names = [];  // NameEntry of the event names seen lately, see #name
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
      if (!['topics', 'types', 'signal', 'highWaterMark', 'overflow'].includes(key)) {
        throw new RealtimeError('INVALID_OPTION',
          `Unknown option filter.${key} (known: topics, types, signal, highWaterMark, overflow)`);
      }
    }
    const overflow = f.overflow === undefined ? 'wait' : f.overflow;
    if (overflow !== 'wait' && overflow !== 'error') {
      throw new RealtimeError('INVALID_OPTION',
        `Expected 'wait' or 'error' for filter.overflow but received ${JSON.stringify(overflow)}`);
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
      flow: overflow === 'wait' ? this.#flow : null,
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
    if (this.#backlog.length > 0 || this.#stalled()) {
      this.#backlog.push([text, meta, 0, source]);
      if (source !== null) this.#holdSource(source);
      if (!this.#stalled()) this.#scheduleResume();
    } else {
      this.#process(text, meta, 0, source);
    }
    this.#syncHold();
  }

  // A full iterator holds the records back, but never the end of the client: once close() was
  // called no event is delivered any more, and the records that settle it must get through.
  #stalled() {
    return this.#blocked.size > 0 && !this.#conn.closing && !this.#conn.final;
  }

  // A socket of its own whose batch had to wait is held like the client's own reader, until
  // the backlog drains.
  #holdSource(source) {
    if (this.#heldSources.has(source)) return;
    this.#heldSources.add(source);
    source.conn.holdForDispatch(true);
  }

  // Tells the native side whether records wait here (runs before the binding decides, after
  // this batch, whether to resume its reader).
  #syncHold() {
    const want = this.#backlog.length > 0 || this.#stalled();
    if (want === this.#held) return;
    this.#held = want;
    this.#conn.holdForDispatch(want);
    if (!want) {
      for (const source of this.#heldSources) source.conn.holdForDispatch(false);
      this.#heldSources.clear();
    }
  }

  #scheduleResume() {
    if (this.#resumeScheduled) return;
    this.#resumeScheduled = true;
    setImmediate(() => this.#resume());
  }

  // Handles records from `pos` on. After a record that can settle a user's promise (an ack or
  // error answering subscribe(), an open answering connect()), the rest of the batch waits for
  // setImmediate: the code after `await client.subscribe()` runs first and can attach its
  // listeners before the events that followed the ack. Returns false when it paused.
  #process(text, meta, pos, source) {
    const n = meta.length;
    const conn = this.#conn;
    // The names of this call's text by span: [start, end, entry, ...] (see #spanName).
    const spans = [];
    for (let i = pos; i < n; i += STRIDE) {
      const kind = meta[i];
      if (kind === KIND_EVENT) {
        if (conn.closing || conn.final) {
          this.#droppedLate++;
          continue;
        }
        // Live dialect: the server's own name, and another topic the event matched under.
        const server = meta[i + 10] > meta[i + 9] ? this.#spanName(text, meta[i + 9], meta[i + 10], spans).name : undefined;
        const second = meta[i + 12] > meta[i + 11] ? text.slice(meta[i + 11], meta[i + 12]) : null;
        const entry = this.#spanName(text, meta[i + 1], meta[i + 2], spans);
        const timestamp = text.slice(meta[i + 5], meta[i + 6]);
        const topic = text.slice(meta[i + 3], meta[i + 4]);
        const raw = text.slice(meta[i + 7], meta[i + 8]);
        if (entry.eager && --entry.countdown > 0) {
          this.#dispatch(createParsedEvent(entry.name, timestamp, topic, raw, server), second);
        } else {
          const event = createEvent(entry.name, timestamp, topic, raw, server);
          this.#dispatch(event, second);
          this.#learn(entry, event);
        }
        // An iterator is full: the rest waits until it has read down (flow.space).
        if (i + STRIDE < n && this.#stalled()) {
          this.#backlog.unshift([text, meta, i + STRIDE, source]);
          if (source !== null) this.#holdSource(source);
          return false;
        }
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
        this.#scheduleResume();
        return false;
      }
    }
    return true;
  }

  // The kept entry of the event name at [start, end) of one call's text. Native mostly points
  // later events of a name at the copy an earlier event of the same call wrote
  // (native/core/batch.h), so a span seen before in this call is found by its two offsets,
  // without slicing: a name of 13 or more characters sliced from the batch is a sliced string,
  // which costs about three times as much to compare with a kept name as a short copy does.
  // `spans` holds [start, end, entry] triples of this call; a span not among them is looked up
  // by text.
  #spanName(text, start, end, spans) {
    for (let k = 0; k < spans.length; k += 3) {
      if (spans[k] === start && spans[k + 1] === end) return spans[k + 2];
    }
    const entry = this.#name(text, start, end);
    if (spans.length < SPANS_KEPT * 3) spans.push(start, end, entry);
    return entry;
  }

  // The kept entry of the event name at [start, end) of a batch's text. Names recur: the last
  // NAME_CACHE distinct ones are kept, and a slice equal to one of them is replaced by it. The
  // kept string has its hash and internalised form cached for emit() and the RESERVED check,
  // which a fresh slice pays for on every event: about 25% of the cost of an event nobody parses
  // when one name recurs, more in the live dialect, where the inferred names (call_ringing,
  // call.status, ...) change from one event to the next. (Looking for the kept names in place
  // with startsWith, without slicing, measured twice as slow.)
  #name(text, start, end) {
    const slice = text.slice(start, end);
    const names = this.#names;
    for (let k = 0; k < names.length; k++) if (names[k].name === slice) return names[k];
    // A property key is an internalised copy: it does not keep the batch's text alive, as a
    // slice of it would.
    const entry = new NameEntry(Object.keys({ [slice]: 0 })[0]);
    if (names.length === NAME_CACHE) names.pop();
    names.unshift(entry);
    return entry;
  }

  // After a lazy event of `entry`'s name was dispatched: was its `data` read?
  #learn(entry, event) {
    if (!dataTouched(event)) {
      entry.reads = 0;
      entry.eager = false;
    } else if (entry.eager) {
      entry.countdown = PROBE_EVERY;
    } else if (++entry.reads >= EAGER_AFTER) {
      entry.eager = true;
      entry.countdown = PROBE_EVERY;
    }
  }

  #resume() {
    this.#resumeScheduled = false;
    while (this.#backlog.length > 0 && !this.#stalled()) {
      const [text, meta, pos, source] = this.#backlog.shift();
      if (!this.#process(text, meta, pos, source)) break;
    }
    this.#syncHold();
  }

  // `second` is another topic the event matched a pattern under (live dialect, usually null): a
  // Subscription or iterator matching only that one receives the event under it. Each
  // Subscription, iterator and the emitter receive the event once.
  #dispatch(event, second) {
    emitEvent(this.#emitter, event);
    if (this.indexDirty) this.#rebuildIndex();
    let other = null;
    if (this.#subIndex.size > 0) {
      const subs = this.#subIndex.lookup(event.topic);
      for (let i = 0; i < subs.length; i++) subs[i][DELIVER](event);
      if (second !== null) {
        const more = this.#subIndex.lookup(second);
        for (let i = 0; i < more.length; i++) {
          if (subs.includes(more[i])) continue;
          if (other === null) other = withTopic(event, second);
          more[i][DELIVER](other);
        }
      }
    }
    if (this.#iterators.size > 0) {
      const server = event.server_event_type;
      for (const [it, f] of this.#iterators) {
        if (f.types !== null && !f.types.has(event.event_type) && (server === undefined || !f.types.has(server))) continue;
        if (f.patterns !== null && this.#grammar.dynamic && f.version !== this.#version) {
          f.index = this.#filterIndex(f.patterns);
          f.version = this.#version;
        }
        if (f.index === null || f.index.lookup(event.topic).length > 0) {
          it.push(event);
        } else if (second !== null && f.index.lookup(second).length > 0) {
          if (other === null) other = withTopic(event, second);
          it.push(other);
        }
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

module.exports = { Dispatcher, EAGER_AFTER, PROBE_EVERY };
