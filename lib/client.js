'use strict';

const { EventEmitter } = require('node:events');
const { RealtimeError, fromNative } = require('./errors.js');
const { resolveOptions } = require('./options.js');
const { loadBinding } = require('./native.js');
const topicHelpers = require('./topic.js');
const {
  createEvent, emitEvent, PatternIndex, EventIterator, rethrowLater,
} = require('./events.js');
const {
  Subscription, CREATE, DELIVER, RELEASE, END, INTERESTED, HOLDS,
} = require('./subscription.js');

const STRIDE = 9;
const KIND_EVENT = 1;
const KIND_CONTROL = 2;
const KIND_SERVER = 3;
const DEFAULT_HIGH_WATER_MARK = 10000;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

const NONE = Object.freeze([]);

/**
 * A subscribed pattern's bookkeeping: the Subscriptions holding it, the subscribe() calls
 * waiting for its acknowledgement, and its state on the wire. Nearly every pattern has one
 * holder and, once acknowledged, no waiting call, so neither gets a Set until a second one
 * comes: a Set costs about 150 bytes of heap even when empty, and at 100,000 patterns the two
 * per pattern were more than half of the client's heap.
 */
class Entry {
  given = false;
  wire = 'idle';  // 'idle' | 'sent' | 'active'
  everAcked = false;
  #calls = null;  // Set<call> | null
  #holder = null;  // Subscription | Set<Subscription> | null

  // A Set of holders always has two or more: it is made with two and turned back into the one
  // left when a release brings it down to one.
  get held() {
    return this.#holder !== null;
  }

  hold(sub) {
    const h = this.#holder;
    if (h === null) this.#holder = sub;
    else if (h instanceof Set) h.add(sub);
    else if (h !== sub) this.#holder = new Set([h, sub]);
  }

  unhold(sub) {
    const h = this.#holder;
    if (h === sub) {
      this.#holder = null;
    } else if (h instanceof Set && h.delete(sub) && h.size === 1) {
      this.#holder = h.values().next().value;
    }
  }

  /** The holders, as an iterable that later hold/unhold calls do not change. */
  holders() {
    const h = this.#holder;
    return h === null ? NONE : h instanceof Set ? [...h] : [h];
  }

  /** The holders, which the entry no longer has. */
  takeHolders() {
    const list = this.holders();
    this.#holder = null;
    return list;
  }

  /** The subscribe() calls waiting for this pattern's acknowledgement; iterate, do not keep. */
  calls() {
    return this.#calls ?? NONE;
  }

  addCall(call) {
    if (this.#calls === null) this.#calls = new Set();
    this.#calls.add(call);
  }

  deleteCall(call) {
    if (this.#calls !== null && this.#calls.delete(call) && this.#calls.size === 0) this.#calls = null;
  }

  /** The waiting calls, which the entry no longer has. */
  takeCalls() {
    const c = this.#calls;
    this.#calls = null;
    return c === null ? NONE : [...c];
  }
}

function closedError(message, cause) {
  return new RealtimeError('CLOSED', message, cause ? { cause } : undefined);
}

function normaliseTopics(list) {
  if (!Array.isArray(list)) return [];
  const out = [];
  for (const t of list) {
    if (typeof t !== 'string') continue;
    try {
      out.push(topicHelpers.normalize(t));
    } catch {
      out.push(t);
    }
  }
  return out;
}

// Validates a pattern argument: every pattern is checked before anything is sent, duplicates
// (also in different spellings of the same UUID) count once, order is kept.
function patternList(patterns, name) {
  let list;
  if (typeof patterns === 'string') list = [patterns];
  else if (Array.isArray(patterns)) list = patterns;
  else {
    throw new RealtimeError('INVALID_OPTION',
      `Expected a topic pattern or an array of them for ${name} but received ${typeof patterns === 'object' ? JSON.stringify(patterns) : String(patterns)}`);
  }
  if (list.length === 0) {
    throw new RealtimeError('INVALID_OPTION', `Expected at least one topic pattern for ${name} but received []`);
  }
  const seen = new Set();
  const bad = [];
  let first = null;
  for (const p of list) {
    try {
      seen.add(topicHelpers.normalize(p));
    } catch (err) {
      if (!first) first = err;
      bad.push(p);
    }
  }
  if (first) throw new RealtimeError('INVALID_TOPIC', first.message, { topics: bad });
  return [...seen];
}

/**
 * A connection to VoIPBIN's real-time WebSocket API. The socket, reconnects and heartbeat live
 * on a native thread; this object validates, keeps the subscription book and dispatches events.
 */
class RealtimeClient extends EventEmitter {
  #opts;
  #native = null;
  #state = 'disconnected';
  #final = false;
  #closing = false;
  #closePromise = null;
  #closeResolve = null;
  #connectWaiters = [];
  #wantRef = true;

  // pattern -> Entry
  #entries = new Map();
  #toFlush = new Set();
  #flushScheduled = false;
  #calls = new Set();
  #unsubCalls = new Set();
  #outstanding = [];

  #subIndex = new PatternIndex();
  #indexDirty = false;
  #iterators = new Map();

  #tokenError = null;
  #lastToken = null;
  #overflowed = 0;
  #backlog = [];  // [text, meta, position] of batches waiting behind a paused one
  #resumeScheduled = false;
  #lastType = '';
  #lastStats = null;
  #owner;
  #dialect = null;       // 'documented' | 'live' once known; null while 'auto' has not decided
  #flushGroups = [];     // new patterns per subscribe() call, for one message per call (live)

  /**
   * @param {object} [options] see the README; validated here (INVALID_OPTION, INSECURE_URL)
   */
  constructor(options) {
    const opts = resolveOptions(options);
    super();
    this.#opts = opts;
    this.#dialect = opts.dialect === 'auto' ? null : opts.dialect;
    this.#owner = {
      interestChanged: () => { this.#indexDirty = true; },
      release: (sub) => this.#release(sub),
    };
  }

  /** `'disconnected' | 'connecting' | 'connected' | 'subscribed' | 'reconnecting' | 'closed'` */
  get state() {
    return this.#state;
  }

  /** Active (acknowledged) patterns, normalised and sorted. */
  get topics() {
    const out = [];
    for (const [p, e] of this.#entries) if (e.everAcked && e.held) out.push(p);
    return out.sort();
  }

  /**
   * The wire dialect in use: the configured one, or with `dialect: 'auto'` null until the server
   * gave itself away (see the `'dialect'` event).
   * @returns {'documented' | 'live' | null}
   */
  get dialect() {
    return this.#dialect;
  }

  /** The endpoint, credentials redacted. */
  get url() {
    return this.#opts.url;
  }

  /**
   * Starts connecting (once). Resolves when the WebSocket upgrade succeeded; rejects on a terminal
   * failure, on a failed attempt with reconnect disabled, or when closed first.
   * @returns {Promise<void>}
   */
  connect() {
    if (this.#closing || this.#final) {
      return Promise.reject(closedError('connect() was called on a closed client'));
    }
    if (this.#state === 'connected' || this.#state === 'subscribed') return Promise.resolve();
    const err = this.#start();
    if (err) return Promise.reject(err);
    return new Promise((resolve, reject) => this.#connectWaiters.push({ resolve, reject }));
  }

  /**
   * Subscribes to one or more patterns. Everything is validated before anything is sent; the
   * promise resolves once the server acknowledged every pattern, and is all or nothing.
   * Starts connecting when the client is still disconnected.
   * @param {string | string[]} patterns
   * @returns {Promise<Subscription>}
   */
  subscribe(patterns) {
    let list;
    try {
      list = patternList(patterns, 'patterns');
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#closing || this.#final) {
      return Promise.reject(closedError('subscribe() was called on a closed client'));
    }
    if (this.#state === 'disconnected') {
      const err = this.#start();
      if (err) return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      const sub = new Subscription(CREATE, this.#owner, list);
      const call = { sub, patterns: list, waiting: new Set(), resolve, reject, timer: null };
      let inFlight = false;
      const fresh = [];
      for (const p of list) {
        let e = this.#entries.get(p);
        if (!e) {
          e = new Entry();
          this.#entries.set(p, e);
          this.#toFlush.add(p);
          fresh.push(p);
        }
        e.hold(sub);
        if (e.wire !== 'active') {
          e.addCall(call);
          call.waiting.add(p);
          if (e.wire === 'sent') inFlight = true;
        }
      }
      if (fresh.length > 0) this.#flushGroups.push(fresh);
      this.#indexDirty = true;
      if (call.waiting.size === 0) {
        resolve(sub);
        return;
      }
      this.#calls.add(call);
      if (inFlight) this.#startAckTimer(call);
      this.#scheduleFlush();
    });
  }

  /**
   * Removes every hold on the given patterns (all Subscriptions holding them stop receiving
   * them) and sends `unsubscribe`. Resolves when the server acknowledged, at once when offline.
   * @param {string | string[]} patterns
   * @returns {Promise<void>}
   */
  unsubscribe(patterns) {
    let list;
    try {
      list = patternList(patterns, 'patterns');
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#final) return Promise.resolve();
    const send = [];
    const interrupted = new Map();
    for (const p of list) {
      const e = this.#entries.get(p);
      if (!e) continue;
      for (const call of e.calls()) interrupted.set(call, p);
      for (const sub of e.takeHolders()) sub[RELEASE](p);
      if (this.#forget(p, e)) send.push(p);
    }
    for (const [call, p] of interrupted) {
      this.#failCall(call, closedError(`unsubscribe() removed ${p} before the server acknowledged it`), []);
    }
    this.#indexDirty = true;
    this.#refreshState();
    return this.#sendUnsubscribe(send);
  }

  /**
   * Pull-based stream of events, buffered from this call on.
   * @param {{ topics?: string | string[], types?: string | string[], signal?: AbortSignal, highWaterMark?: number }} [filter]
   * @returns {AsyncIterableIterator<object>}
   */
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
    if (f.topics !== undefined) {
      index = new PatternIndex();
      for (const p of patternList(f.topics, 'filter.topics')) index.add(p, true);
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
    const signal = f.signal;
    if (signal !== undefined && (signal === null || typeof signal !== 'object' ||
        typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function')) {
      throw new RealtimeError('INVALID_OPTION',
        `Expected an AbortSignal for filter.signal but received ${String(signal)}`);
    }
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
    if (this.#final || this.#closing) {
      it.end();
      return it;
    }
    if (!it.done) this.#iterators.set(it, { index, types });
    return it;
  }

  /**
   * Stops reconnecting, closes the socket and releases the process. Idempotent.
   * @returns {Promise<void>}
   */
  close() {
    if (this.#closePromise) return this.#closePromise;
    this.#closing = true;
    this.#closePromise = new Promise((resolve) => { this.#closeResolve = resolve; });
    if (this.#final) {
      this.#closeResolve();
    } else if (this.#native) {
      this.#native.close();
    } else {
      this.#finish(null, { code: 1000, reason: '', wasOpen: false });
    }
    return this.#closePromise;
  }

  /** Lets this client keep the process alive while it is connecting or connected (default). */
  ref() {
    this.#wantRef = true;
    if (this.#native) this.#native.ref();
    return this;
  }

  /** An unref()ed client does not keep the process alive. */
  unref() {
    this.#wantRef = false;
    if (this.#native) this.#native.unref();
    return this;
  }

  /**
   * Counters of the native pipeline plus the JS side's bookkeeping.
   * @returns {{ received: number, filtered: number, delivered: number, dropped: number, bytesReceived: number,
   *   reconnects: number, queueDepth: number, lastEventAt: number | null }}
   */
  stats() {
    let s = this.#lastStats;
    if (this.#native && !this.#final) s = this.#native.stats();
    const base = s || {
      received: 0, filtered: 0, delivered: 0, dropped: 0, duplicates: 0, malformed: 0,
      bytesReceived: 0, reconnects: 0, queueDepth: 0, lastEventAt: 0,
    };
    return {
      ...base,
      lastEventAt: base.lastEventAt ? base.lastEventAt : null,
      patterns: this.#entries.size,
      pendingAcks: this.#calls.size + this.#unsubCalls.size,
      iterators: this.#iterators.size,
      iteratorOverflow: this.#overflowed,
    };
  }

  // ---- connection ---------------------------------------------------------------------------

  // Creates the native client and starts it; returns an error instead of throwing.
  #start() {
    if (this.#native) return null;
    let binding;
    try {
      binding = loadBinding();
    } catch (err) {
      return new RealtimeError('CONNECT_FAILED', err.message, { cause: err });
    }
    try {
      this.#native = new binding.Client(this.#opts.native, (text, meta) => this.#onBatch(text, meta));
    } catch (err) {
      return new RealtimeError('CONNECT_FAILED', `The native client refused its configuration: ${err.message}`,
        { cause: err });
    }
    if (!this.#wantRef) this.#native.unref();
    this.#flush();
    this.#setState('connecting');
    this.#native.connect();
    return null;
  }

  #scheduleFlush() {
    if (this.#flushScheduled || !this.#native) return;
    this.#flushScheduled = true;
    process.nextTick(() => this.#flush());
  }

  // Sends every pattern subscribed in this tick in one native call (one wire message). The live
  // server answers a refused topic by closing the connection, so there each subscribe() call is
  // a native call of its own: native sends them one at a time and blames a close on exactly one.
  #flush() {
    this.#flushScheduled = false;
    const groups = this.#flushGroups;
    this.#flushGroups = [];
    if (!this.#native || this.#final || this.#toFlush.size === 0) return;
    const batches = [];
    if (this.#dialect === 'live') {
      for (const group of groups) {
        const list = group.filter((p) => this.#toFlush.delete(p));
        if (list.length > 0) batches.push(list);
      }
    }
    if (this.#toFlush.size > 0) batches.push([...this.#toFlush]);
    this.#toFlush.clear();
    for (const list of batches) {
      for (const p of list) this.#entries.get(p).given = true;
      this.#native.subscribe(list);
    }
  }

  // ---- batches from the native thread -------------------------------------------------------

  #onBatch(text, meta) {
    if (this.#backlog.length > 0) {
      this.#backlog.push([text, meta, 0]);
      return;
    }
    this.#process(text, meta, 0);
  }

  // Handles records from `pos` on. After a record that can settle a user's promise (an ack or
  // error answering subscribe(), an open answering connect()), the rest of the batch waits for
  // setImmediate: the code after `await client.subscribe()` runs first and can attach its
  // listeners before the events that followed the ack. Returns false when it paused.
  #process(text, meta, pos) {
    const n = meta.length;
    for (let i = pos; i < n; i += STRIDE) {
      const kind = meta[i];
      if (kind === KIND_EVENT) {
        if (this.#closing || this.#final) continue;
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
        this.#reportError(new RealtimeError('PROTOCOL_ERROR',
          `The native layer handed over an unreadable record: ${err.message}`));
        continue;
      }
      try {
        if (kind === KIND_CONTROL) this.#onControl(rec);
        else this.#onServer(rec);
      } catch (err) {
        rethrowLater(err);
      }
      if ((kind === KIND_SERVER || rec.type === 'open') && i + STRIDE < n) {
        this.#backlog.unshift([text, meta, i + STRIDE]);
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
      const [text, meta, pos] = this.#backlog.shift();
      if (!this.#process(text, meta, pos)) return;
    }
  }

  #dispatch(event) {
    emitEvent(this, event);
    if (this.#indexDirty) this.#rebuildIndex();
    if (this.#subIndex.size > 0) {
      const subs = this.#subIndex.lookup(event.topic);
      for (let i = 0; i < subs.length; i++) subs[i][DELIVER](event);
    }
    if (this.#iterators.size > 0) {
      for (const [it, f] of this.#iterators) {
        if (f.types !== null && !f.types.has(event.event_type)) continue;
        if (f.index !== null && f.index.lookup(event.topic).length === 0) continue;
        it.push(event);
      }
    }
  }

  // Only subscriptions somebody listens to take part in routing.
  #rebuildIndex() {
    this.#indexDirty = false;
    this.#subIndex.clear();
    for (const [p, e] of this.#entries) {
      for (const sub of e.holders()) if (sub[INTERESTED]()) this.#subIndex.add(p, sub);
    }
  }

  #onControl(rec) {
    switch (rec.type) {
      case 'state':
        if (rec.state === 'connecting' || rec.state === 'connected') this.#setState(rec.state);
        break;
      case 'open':
        this.#onOpen(rec);
        break;
      case 'sent':
        this.#onSent(rec.action, normaliseTopics(rec.topics));
        break;
      case 'token_request':
        this.#onTokenRequest(rec.refused === true);
        break;
      case 'fault':
        this.#reportError(fromNative(rec.error) || new RealtimeError('PROTOCOL_ERROR', 'unknown fault'));
        break;
      case 'close':
        this.#onClose(rec);
        break;
      case 'dialect':
        this.#onDialect(rec);
        break;
      case 'warning':
        if (typeof rec.message === 'string') this.#log('warn', `voip-realtime: ${rec.message}`);
        break;
      default:
        this.#log('debug', `voip-realtime: ignored control record ${JSON.stringify(rec.type)}`);
    }
  }

  #onDialect(rec) {
    if (rec.dialect !== 'documented' && rec.dialect !== 'live') return;
    const reason = typeof rec.reason === 'string' ? rec.reason : '';
    this.#dialect = rec.dialect;
    this.#log('info', `voip-realtime: dialect ${rec.dialect}${reason ? ` (${reason})` : ''}`);
    this.#emit('dialect', rec.dialect, reason);
  }

  #onOpen(rec) {
    this.#tokenError = null;
    const waiters = this.#connectWaiters;
    this.#connectWaiters = [];
    for (const w of waiters) w.resolve();
    this.#log('info', `voip-realtime: connected to ${this.#opts.url}`);
    this.#emit('open');
    const resent = normaliseTopics(rec.resubscribed);
    if (resent.length > 0) this.#onSent('subscribe', resent);
  }

  #onSent(action, topics) {
    if (topics.length === 0) return;
    this.#outstanding.push({ action, topics: new Set(topics) });
    if (action !== 'subscribe') return;
    for (const p of topics) {
      const e = this.#entries.get(p);
      if (!e || e.wire === 'active') continue;
      e.wire = 'sent';
      for (const call of e.calls()) this.#startAckTimer(call);
    }
  }

  // In the live dialect the answer is the settle time itself, so the wait starts after it.
  #startAckTimer(call) {
    if (call.timer) return;
    const ms = this.#opts.ackTimeout + (this.#dialect === 'live' ? this.#opts.settleTime : 0);
    call.timer = setTimeout(() => {
      call.timer = null;
      const topics = [...call.waiting];
      this.#failCall(call, new RealtimeError('ACK_TIMEOUT',
        `The server did not acknowledge the subscription to ${topics.join(', ')} within ${ms} ms`,
        { topics, action: 'subscribe' }), []);
      this.#refreshState();
    }, ms);
    call.timer.unref();
  }

  // Finds the wire message an ack or error answers: by its topics, else the oldest of its action.
  #takeOutstanding(action, topics) {
    const list = this.#outstanding;
    let idx = -1;
    if (topics.length > 0) {
      idx = list.findIndex((m) => (!action || m.action === action) && topics.some((t) => m.topics.has(t)));
    } else {
      idx = list.findIndex((m) => !action || m.action === action);
    }
    if (idx < 0) return null;
    return list[idx];
  }

  #onServer(rec) {
    const action = typeof rec.action === 'string' ? rec.action : '';
    const topics = normaliseTopics(rec.topics);
    const msg = this.#takeOutstanding(action, topics);
    if (rec.type === 'ack') {
      const acked = topics.length > 0 ? topics : (msg ? [...msg.topics] : []);
      if (msg) {
        for (const t of acked) msg.topics.delete(t);
        if (msg.topics.size === 0) this.#outstanding.splice(this.#outstanding.indexOf(msg), 1);
      }
      if ((msg ? msg.action : action) === 'unsubscribe') this.#ackUnsubscribe(acked);
      else this.#ackSubscribe(acked);
      return;
    }
    if (rec.type !== 'error') {
      this.#log('debug', `voip-realtime: ignored server record ${JSON.stringify(rec.type)}`);
      return;
    }
    const code = typeof rec.code === 'string' && rec.code ? rec.code : 'INVALID_MESSAGE';
    const message = typeof rec.message === 'string' && rec.message ? rec.message : code;
    const refused = topics.length > 0 ? topics : (msg ? [...msg.topics] : []);
    const effective = msg ? msg.action : action;
    // An error answers its whole message: topics it does not name are taken as accepted.
    const accepted = msg ? [...msg.topics].filter((t) => !refused.includes(t)) : [];
    if (msg) this.#outstanding.splice(this.#outstanding.indexOf(msg), 1);
    if (effective === 'unsubscribe') {
      this.#failUnsubscribe(code, message, refused);
      return;
    }
    if (!msg && !refused.some((t) => this.#entries.has(t))) {
      this.#reportError(new RealtimeError(code, message, { topics: refused, action: effective || undefined }));
      return;
    }
    this.#refuse(code, message, refused, effective || 'subscribe');
    if (accepted.length > 0) this.#ackSubscribe(accepted);
  }

  #ackSubscribe(topics) {
    for (const p of topics) {
      const e = this.#entries.get(p);
      if (!e || e.wire === 'active') continue;
      e.wire = 'active';
      e.everAcked = true;
      for (const call of e.takeCalls()) {
        call.waiting.delete(p);
        if (call.waiting.size === 0) this.#resolveCall(call);
      }
    }
    this.#refreshState();
  }

  #refuse(code, message, refused, action) {
    const orphaned = [];
    const failing = new Map();
    for (const p of refused) {
      const e = this.#entries.get(p);
      if (!e) continue;
      for (const call of e.calls()) {
        if (!failing.has(call)) failing.set(call, []);
        failing.get(call).push(p);
      }
    }
    for (const [call, mine] of failing) {
      this.#failCall(call, new RealtimeError(code, message, { topics: mine, action }), mine);
    }
    // Patterns held by subscriptions that had already resolved (a resubscribe after a reconnect
    // was refused): those subscriptions lose them, and the error goes to 'error'.
    for (const p of refused) {
      const e = this.#entries.get(p);
      if (!e) continue;
      for (const sub of e.takeHolders()) sub[RELEASE](p);
      orphaned.push(p);
      this.#forget(p, e, true);
    }
    this.#indexDirty = true;
    if (orphaned.length > 0) {
      this.#reportError(new RealtimeError(code, message, { topics: orphaned, action }));
    }
    this.#refreshState();
  }

  // Rejects a pending subscribe and releases everything it held (all or nothing). `refused`
  // patterns were never subscribed on the server and are only dropped locally.
  #failCall(call, err, refused) {
    if (!this.#calls.delete(call)) return;
    if (call.timer) clearTimeout(call.timer);
    call.timer = null;
    const send = [];
    for (const p of call.patterns) {
      const e = this.#entries.get(p);
      if (!e) continue;
      e.deleteCall(call);
      e.unhold(call.sub);
      if (!e.held) {
        if (this.#forget(p, e, refused.includes(p))) send.push(p);
      }
    }
    call.sub[END]();
    this.#indexDirty = true;
    if (send.length > 0 && this.#native && !this.#final) this.#native.unsubscribe(send);
    call.reject(err);
  }

  #resolveCall(call) {
    if (!this.#calls.delete(call)) return;
    if (call.timer) clearTimeout(call.timer);
    call.timer = null;
    call.resolve(call.sub);
  }

  // Forgets a pattern nobody holds. Returns true when the server must be told (unsubscribe);
  // refused patterns and patterns never handed to native need no message.
  #forget(p, e, refused = false) {
    this.#entries.delete(p);
    if (this.#toFlush.delete(p)) return false;
    if (!e.given) return false;
    if (refused) {
      if (this.#native && !this.#final) this.#native.drop([p]);
      return false;
    }
    return true;
  }

  #release(sub) {
    const send = [];
    for (const p of [...sub[HOLDS]]) {
      const e = this.#entries.get(p);
      sub[RELEASE](p);
      if (!e) continue;
      e.unhold(sub);
      if (!e.held && this.#forget(p, e)) send.push(p);
    }
    sub[END]();
    this.#indexDirty = true;
    this.#refreshState();
    return this.#sendUnsubscribe(send);
  }

  #sendUnsubscribe(list) {
    if (list.length === 0 || !this.#native || this.#final) return Promise.resolve();
    this.#native.unsubscribe(list);
    if (this.#state !== 'connected' && this.#state !== 'subscribed') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const call = { waiting: new Set(list), resolve, reject, timer: null };
      const ms = this.#opts.ackTimeout;
      call.timer = setTimeout(() => {
        this.#unsubCalls.delete(call);
        reject(new RealtimeError('ACK_TIMEOUT',
          `The server did not acknowledge the unsubscribe from ${list.join(', ')} within ${ms} ms`,
          { topics: [...call.waiting], action: 'unsubscribe' }));
      }, ms);
      call.timer.unref();
      this.#unsubCalls.add(call);
    });
  }

  #ackUnsubscribe(topics) {
    for (const call of [...this.#unsubCalls]) {
      for (const t of topics) call.waiting.delete(t);
      if (call.waiting.size === 0) {
        clearTimeout(call.timer);
        this.#unsubCalls.delete(call);
        call.resolve();
      }
    }
  }

  #failUnsubscribe(code, message, topics) {
    let tied = false;
    for (const call of [...this.#unsubCalls]) {
      const mine = topics.filter((t) => call.waiting.has(t));
      if (mine.length === 0 && topics.length > 0) continue;
      tied = true;
      clearTimeout(call.timer);
      this.#unsubCalls.delete(call);
      call.reject(new RealtimeError(code, message, { topics: mine.length ? mine : [...call.waiting], action: 'unsubscribe' }));
      if (topics.length === 0) break;
    }
    if (!tied) this.#reportError(new RealtimeError(code, message, { topics, action: 'unsubscribe' }));
  }

  #settleUnsubscribes() {
    for (const call of this.#unsubCalls) {
      clearTimeout(call.timer);
      call.resolve();
    }
    this.#unsubCalls.clear();
  }

  // Every connection starts without subscriptions on the server: native resends the active set
  // with the next 'open', so acks are awaited again.
  #connectionLost() {
    this.#outstanding = [];
    for (const e of this.#entries.values()) if (e.wire !== 'idle') e.wire = 'idle';
    for (const call of this.#calls) {
      if (call.timer) clearTimeout(call.timer);
      call.timer = null;
    }
    this.#settleUnsubscribes();
  }

  #onTokenRequest(refused) {
    const getToken = this.#opts.getToken;
    const native = this.#native;
    if (!getToken || !native) {
      if (native) native.tokenFailed('', '');
      return;
    }
    let pending;
    try {
      pending = Promise.resolve(getToken());
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then((token) => {
      if (this.#final || this.#closing) return;
      if (typeof token !== 'string' || token === '' || CONTROL_CHARS.test(token)) {
        const what = typeof token === 'string' ? 'an empty or multi-line string' : typeof token;
        native.tokenFailed('AUTH_FAILED', `getToken() returned ${what} instead of a token`);
        return;
      }
      if (refused && token === this.#lastToken) {
        native.tokenFailed('', '');
        return;
      }
      this.#lastToken = token;
      this.#tokenError = null;
      native.setTarget(this.#opts.targetFor(token));
    }, (err) => {
      if (this.#final || this.#closing) return;
      if (refused) {
        native.tokenFailed('', '');
        return;
      }
      this.#tokenError = err;
      const why = err && typeof err.message === 'string' ? err.message : String(err);
      native.tokenFailed('CONNECT_FAILED', `getToken() failed: ${why}`);
    });
  }

  #onClose(rec) {
    const cause = this.#tokenError !== null && rec.error && typeof rec.error.message === 'string' &&
      rec.error.message.startsWith('getToken() failed') ? this.#tokenError : undefined;
    const error = fromNative(rec.error, cause);
    const info = {
      code: typeof rec.code === 'number' ? rec.code : 1006,
      reason: typeof rec.reason === 'string' ? rec.reason : '',
      wasOpen: rec.wasOpen === true,
    };
    this.#connectionLost();
    if (rec.willReconnect === true && !this.#closing) {
      if (error) this.#reportError(error);
      this.#emit('close', { ...info, willReconnect: true, error });
      this.#setState('reconnecting');
      this.#emit('reconnecting', {
        attempt: typeof rec.attempt === 'number' ? rec.attempt : 1,
        delay: typeof rec.delay === 'number' ? rec.delay : 0,
        error,
      });
      return;
    }
    if (rec.willReconnect === true) return;
    this.#finish(error, info);
  }

  // The terminal end: 'error' (unless a promise carries it), 'state' closed, then 'close' last.
  #finish(error, info) {
    if (this.#final) return;
    if (this.#native) {
      try {
        this.#lastStats = this.#native.stats();
      } catch {
        this.#lastStats = null;
      }
    }
    const waiters = this.#connectWaiters;
    this.#connectWaiters = [];
    for (const w of waiters) w.reject(error || closedError('The client was closed before it connected'));
    if (error && waiters.length === 0) this.#reportError(error);
    this.#connectionLost();
    const calls = [...this.#calls];
    this.#calls.clear();
    for (const call of calls) {
      if (call.timer) clearTimeout(call.timer);
      call.sub[END]();
      call.reject(closedError('The client closed before the subscription was acknowledged', error || undefined));
    }
    for (const e of this.#entries.values()) for (const sub of e.holders()) sub[END]();
    this.#entries.clear();
    this.#toFlush.clear();
    this.#subIndex.clear();
    for (const it of [...this.#iterators.keys()]) it.end();
    this.#setState('closed');
    this.#emit('close', { ...info, willReconnect: false, error });
    this.#final = true;
    this.#native = null;
    if (this.#closeResolve) this.#closeResolve();
    else this.#closePromise = Promise.resolve();
  }

  // ---- emission -----------------------------------------------------------------------------

  #setState(next) {
    if (this.#final || next === this.#state) return;
    const prev = this.#state;
    this.#state = next;
    this.#log('debug', `voip-realtime: state ${prev} -> ${next}`);
    this.#emit('state', next, prev);
  }

  #refreshState() {
    if (this.#state !== 'connected' && this.#state !== 'subscribed') return;
    let any = false;
    for (const e of this.#entries.values()) {
      if (e.wire === 'active' && e.held) {
        any = true;
        break;
      }
    }
    this.#setState(any ? 'subscribed' : 'connected');
  }

  #emit(name, ...args) {
    if (this.#final) return;
    try {
      this.emit(name, ...args);
    } catch (err) {
      rethrowLater(err);
    }
  }

  #reportError(err) {
    if (this.#final) return;
    if (this.listenerCount('error') > 0) this.#emit('error', err);
    else this.#log('warn', `voip-realtime: ${err.code}: ${err.message}`);
  }

  #log(level, message) {
    const logger = this.#opts.logger;
    if (logger && logger[level]) {
      try {
        logger[level](message);
      } catch (err) {
        rethrowLater(err);
      }
    }
  }
}

module.exports = { RealtimeClient };
