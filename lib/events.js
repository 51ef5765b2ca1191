'use strict';

// Hot-path helpers shared by RealtimeClient and Subscription: the event object, the pattern
// index used to route events, and the pull-based iterator behind events().

const { RealtimeError, abortError } = require('./errors.js');

// Where an event's `data` is: not parsed yet (the raw JSON waits in the slot), or in the event's
// own data property (an event made by createParsedEvent). Never visible outside this module.
const UNPARSED = Symbol('unparsed');
const IN_PROPERTY = Symbol('in property');

// Stamps two private slots (the raw JSON and the parsed value) onto the object passed in: a base
// constructor that returns another object makes the derived class install its private fields on
// that object. The event stays a plain object (prototype Object.prototype) while the slots stay
// invisible to Object.keys, spread, JSON.stringify, structuredClone and deep equality, and they
// cost a map transition instead of a defineProperty call.
class Stamp {
  constructor(target) {
    return target;
  }
}

class EventSlots extends Stamp {
  #raw;
  #value;

  constructor(target, raw, value) {
    super(target);
    this.#raw = raw;
    this.#value = value;
  }

  static read(event) {
    let value = event.#value;
    if (value === UNPARSED) {
      value = JSON.parse(event.#raw);
      event.#value = value;
      event.#raw = null;
    }
    return value;
  }

  static write(event, value) {
    event.#value = value;
    event.#raw = null;
  }

  // Whether anybody read (or assigned) `data` of an event made by createEvent.
  static touched(event) {
    return event.#value !== UNPARSED;
  }

  static inProperty(event) {
    return event.#value === IN_PROPERTY;
  }

  // Gives `to` the payload of `from` as it stands: the raw text, or the value once parsed (then
  // shared, as one event delivered under two topics is one happening).
  static share(from, to) {
    to.#raw = from.#raw;
    to.#value = from.#value;
  }

  static text(event) {
    if (!(#raw in event)) return undefined;
    const value = event.#value;
    if (value === UNPARSED) return event.#raw;
    return JSON.stringify(value === IN_PROPERTY ? event.data : value);
  }
}

// One accessor pair shared by every event. `data` stays this accessor for the event's whole
// life: turning it into a data property on first read (as an earlier version did) changed the
// hidden class per event and made an event whose `data` is read about 1.5 times as costly. The private slots are
// stamped before the accessor is defined, which keeps every event in fast mode on one map.
const DATA = Object.freeze({
  enumerable: true,
  configurable: true,
  get() {
    return EventSlots.read(this);
  },
  set(value) {
    EventSlots.write(this, value);
  },
});

/**
 * A RealtimeEvent `{ event_type, timestamp, topic, data }`, plus `server_event_type` (after
 * event_type) when the event came from the live dialect: the server's own name, while
 * event_type holds the documented counterpart where the docs name one (docs/protocol-voipbin.md).
 * `data` is an own enumerable accessor that parses its JSON on first read and caches the result,
 * so a listener that only looks at event_type or topic never pays for JSON.parse, while spread,
 * JSON.stringify, structuredClone and deep equality still see a plain `data` property.
 */
function createEvent(eventType, timestamp, topic, raw, serverEventType) {
  const fields = serverEventType
    ? { event_type: eventType, server_event_type: serverEventType, timestamp, topic }
    : { event_type: eventType, timestamp, topic };
  const event = new EventSlots(fields, raw, UNPARSED);
  Object.defineProperty(event, 'data', DATA);
  return event;
}

/**
 * The same event with `data` parsed at once into an ordinary data property: for events whose
 * listeners read `data` anyway (lib/client/dispatch.js decides, per event name). It has the
 * same keys in the same order, the same JSON, spread, structuredClone and deep equality as one
 * from createEvent, and costs about a third less to make and read: defining the accessor and
 * reading through it cost more than the parse. Text JSON.parse refuses gets the accessor
 * instead, so that reading `data` throws the parser's error, as it always did.
 */
function createParsedEvent(eventType, timestamp, topic, raw, serverEventType) {
  let value;
  try {
    value = JSON.parse(raw);
  } catch {
    return createEvent(eventType, timestamp, topic, raw, serverEventType);
  }
  const fields = serverEventType
    ? { event_type: eventType, server_event_type: serverEventType, timestamp, topic, data: value }
    : { event_type: eventType, timestamp, topic, data: value };
  return new EventSlots(fields, null, IN_PROPERTY);
}

/** Whether `data` of an event from createEvent was read or assigned. */
function dataTouched(event) {
  return EventSlots.touched(event);
}

/**
 * The same event under another topic it matched (the live server's second topic for it, e.g. the
 * agent_id:... route of a call, or queue:... for a queuecall): `data` is shared, not reparsed.
 */
function withTopic(event, topic) {
  const server = event.server_event_type;
  const fields = server === undefined
    ? { event_type: event.event_type, timestamp: event.timestamp, topic }
    : { event_type: event.event_type, server_event_type: server, timestamp: event.timestamp, topic };
  if (EventSlots.inProperty(event)) {
    fields.data = event.data;
    return new EventSlots(fields, null, IN_PROPERTY);
  }
  const copy = new EventSlots(fields, null, UNPARSED);
  EventSlots.share(event, copy);
  Object.defineProperty(copy, 'data', DATA);
  return copy;
}

/**
 * The JSON text of an event's `data`: byte for byte what the server sent while nobody has read
 * `data` yet, else the parsed (or assigned) value serialised again (always so for an event from
 * createParsedEvent, whose value may have been read and changed by any listener). Undefined for
 * an object that is not an event made here.
 * @param {object} event
 * @returns {string | undefined}
 */
function dataText(event) {
  return EventSlots.text(event);
}

// Splits a concrete topic into the (up to) four patterns that can match it. Returns null when the
// topic does not have four segments. UUIDs are lower-cased the way patterns are normalised.
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function topicKeys(topic) {
  const i1 = topic.indexOf(':');
  if (i1 < 0) return null;
  const i2 = topic.indexOf(':', i1 + 1);
  if (i2 < 0) return null;
  const i3 = topic.indexOf(':', i2 + 1);
  if (i3 < 0 || topic.indexOf(':', i3 + 1) >= 0) return null;
  const head = `${topic.slice(0, i1)}:${topic.slice(i1 + 1, i2).toLowerCase()}:`;
  const resource = topic.slice(i2 + 1, i3);
  let rid = topic.slice(i3 + 1);
  if (rid.length === 36 && UUID_RE.test(rid)) rid = rid.toLowerCase();
  return { head, resource, rid };
}

// Bits of a pattern's wildcard shape: 1 = resource_id is '*', 2 = resource is '*'.
function shapeOf(pattern) {
  const i3 = pattern.lastIndexOf(':');
  const i2 = pattern.lastIndexOf(':', i3 - 1);
  return (pattern.slice(i3 + 1) === '*' ? 1 : 0) | (pattern.slice(i2 + 1, i3) === '*' ? 2 : 0);
}

/**
 * Maps normalised patterns to values; lookup(topic) returns the distinct values of all matching
 * patterns with at most four hash probes, whatever the number of patterns.
 */
class PatternIndex {
  #map = new Map();
  #shapes = [0, 0, 0, 0];
  #cache = new Map();

  static CACHE_LIMIT = 1024;

  get size() {
    return this.#map.size;
  }

  /** Adds `value` under `pattern` (normalised). */
  add(pattern, value) {
    let list = this.#map.get(pattern);
    if (!list) {
      list = [];
      this.#map.set(pattern, list);
      this.#shapes[shapeOf(pattern)]++;
    }
    if (!list.includes(value)) list.push(value);
    this.#cache.clear();
  }

  clear() {
    this.#map.clear();
    this.#shapes = [0, 0, 0, 0];
    this.#cache.clear();
  }

  /**
   * Values whose patterns match the concrete topic, each once, in insertion order of the
   * patterns probed. The returned array is shared: do not modify it.
   */
  lookup(topic) {
    if (this.#map.size === 0) return EMPTY;
    // The cache is keyed by the topic's last characters (the end of its resource id) and checks
    // the whole topic on a hit: V8 hashes a string one character at a time, and hashing a fresh
    // ~90-character topic cost more than everything else in routing an event.
    // An entry holds two topics: a live event is looked up under its customer topic and under its
    // second topic (agent route, queue/transcription alias), which end in the same resource id.
    const tail = topic.length > TAIL ? topic.slice(topic.length - TAIL) : topic;
    const hit = this.#cache.get(tail);
    if (hit !== undefined) {
      if (hit.topic === topic) return hit.result;
      if (hit.topic2 === topic) return hit.result2;
    }
    let result = EMPTY;
    const k = topicKeys(topic);
    if (k !== null) {
      const s = this.#shapes;
      if (s[0] > 0) result = merge(result, this.#map.get(`${k.head}${k.resource}:${k.rid}`));
      if (s[1] > 0) result = merge(result, this.#map.get(`${k.head}${k.resource}:*`));
      if (s[2] > 0) result = merge(result, this.#map.get(`${k.head}*:${k.rid}`));
      if (s[3] > 0) result = merge(result, this.#map.get(`${k.head}*:*`));
    }
    if (hit !== undefined) {
      hit.topic2 = topic;
      hit.result2 = result;
      return result;
    }
    if (this.#cache.size >= PatternIndex.CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(tail, { topic, result, topic2: null, result2: EMPTY });
    return result;
  }
}

const EMPTY = Object.freeze([]);
const TAIL = 12;

function merge(acc, list) {
  if (list === undefined) return acc;
  if (acc === EMPTY) return list;
  const out = acc.slice();
  for (const v of list) if (!out.includes(v)) out.push(v);
  return out;
}

/**
 * The async iterator behind client.events() and Subscription[Symbol.asyncIterator]().
 * It buffers from creation. With `flow` (backpressure) it reports when `highWaterMark` events wait
 * unread (`flow.full`) and when it has read down to half of that (`flow.space`): the client then
 * stops and resumes the socket, as for a slow listener. Without `flow`, more than
 * `highWaterMark` unread events make the next read throw QUEUE_OVERFLOW (and end the iterator)
 * instead of dropping anything silently.
 */
class EventIterator {
  #buffer = [];
  #head = 0;
  #waiter = null;
  #done = false;
  #ending = false;
  #error = null;
  #highWaterMark;
  #onEnd;
  #signal;
  #onAbort = null;
  #flow;
  #full = false;

  /**
   * @param {{ highWaterMark: number, signal?: AbortSignal, onEnd: (it: EventIterator, overflowed: number) => void,
   *   flow?: { full: (it: EventIterator) => void, space: (it: EventIterator) => void } }} opts
   */
  constructor({ highWaterMark, signal, onEnd, flow = null }) {
    this.#highWaterMark = highWaterMark;
    this.#onEnd = onEnd;
    this.#flow = flow;
    if (signal) {
      this.#signal = signal;
      if (signal.aborted) {
        this.#error = abortError(signal);
        this.#ending = true;
      } else {
        this.#onAbort = () => this.#abort();
        signal.addEventListener('abort', this.#onAbort, { once: true });
      }
    }
  }

  get done() {
    return this.#done || this.#ending;
  }

  // As Node's events.on(): events already buffered are still read, then the next read rejects
  // with an AbortError (a read already waiting rejects at once), then the iterator is done.
  #abort() {
    if (this.#done || this.#error) return;
    const err = abortError(this.#signal);
    this.#detach(0);
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      this.#done = true;
      this.#ending = false;
      w.reject(err);
      return;
    }
    this.#error = err;
  }

  /** Called by the dispatcher for every matching event. */
  push(event) {
    if (this.#done || this.#ending || this.#error) return;
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      w.resolve({ value: event, done: false });
      return;
    }
    this.#buffer.push(event);
    if (this.#flow !== null) {
      if (!this.#full && this.#buffer.length - this.#head >= this.#highWaterMark) {
        this.#full = true;
        this.#flow.full(this);
      }
      return;
    }
    if (this.#buffer.length - this.#head > this.#highWaterMark) {
      const lost = this.#buffer.length - this.#head;
      this.#error = new RealtimeError('QUEUE_OVERFLOW',
        `More than ${this.#highWaterMark} events waited unread in an events() iterator ` +
        `(${lost} discarded); read faster or raise highWaterMark`);
      this.#buffer = [];
      this.#head = 0;
      this.#detach(lost);
    }
  }

  /** The source ends (client closed, subscription released): buffered events are still read. */
  end() {
    if (this.#done || this.#ending) return;
    this.#ending = true;
    if (this.#buffer.length - this.#head === 0 && !this.#error) this.#finish(false);
  }

  next() {
    if (this.#head < this.#buffer.length) {
      const value = this.#buffer[this.#head];
      this.#buffer[this.#head++] = undefined;
      if (this.#full && (this.#buffer.length - this.#head) * 2 <= this.#highWaterMark) this.#unblock();
      if (this.#head === this.#buffer.length) {
        this.#buffer = [];
        this.#head = 0;
        if (this.#ending) this.#finish(false);
      } else if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
        this.#buffer = this.#buffer.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#error) {
      const err = this.#error;
      this.#error = null;
      this.#done = true;
      return Promise.reject(err);
    }
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter !== null) {
      // A second concurrent next(): chain it after the first so the order stays intact.
      const prev = this.#waiter.promise;
      return prev.then(() => this.next(), () => this.next());
    }
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#waiter = { promise, resolve, reject };
    return promise;
  }

  return(value) {
    this.#finish(true);
    return Promise.resolve({ value, done: true });
  }

  throw(err) {
    this.#finish(true);
    return Promise.reject(err);
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  #finish(discard) {
    if (this.#done) return;
    this.#done = true;
    this.#ending = false;
    if (discard) {
      this.#buffer = [];
      this.#head = 0;
    }
    this.#detach(0);
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      w.resolve({ value: undefined, done: true });
    }
  }

  #unblock() {
    if (!this.#full) return;
    this.#full = false;
    this.#flow.space(this);
  }

  #detach(overflowed) {
    this.#unblock();
    if (this.#onAbort) {
      this.#signal.removeEventListener('abort', this.#onAbort);
      this.#onAbort = null;
    }
    const onEnd = this.#onEnd;
    this.#onEnd = null;
    if (onEnd) onEnd(this, overflowed);
  }
}

// Names an event_type from the wire must never be emitted under: every event RealtimeClient and
// Subscription emit of their own (README "Events"), and EventEmitter's own ('error' without a
// listener would even throw). A server event of such a type still arrives as 'event'.
const RESERVED = new Set(['error', 'state', 'open', 'close', 'reconnecting', 'dialect', 'event', 'newListener',
  'removeListener']);

function throwIt(err) {
  throw err;
}

/** Surfaces a listener's exception as an uncaughtException with its own stack, after the batch. */
function rethrowLater(err) {
  process.nextTick(throwIt, err);
}

/**
 * Emits `event` under its own type (unless the type collides with a lifecycle event), under the
 * live server's name when that differs (so `on('call_ringing')` and `on('call.status')` both
 * hear a ringing call), and as 'event'. A throwing listener never stops the others: its error
 * resurfaces on the next tick.
 */
function emitEvent(emitter, event) {
  const type = event.event_type;
  if (!RESERVED.has(type)) {
    try {
      emitter.emit(type, event);
    } catch (err) {
      rethrowLater(err);
    }
  }
  const server = event.server_event_type;
  if (server !== undefined && server !== type && !RESERVED.has(server)) {
    try {
      emitter.emit(server, event);
    } catch (err) {
      rethrowLater(err);
    }
  }
  try {
    emitter.emit('event', event);
  } catch (err) {
    rethrowLater(err);
  }
}

module.exports = {
  createEvent, createParsedEvent, dataTouched, withTopic, dataText, emitEvent, PatternIndex, EventIterator, topicKeys, rethrowLater, RESERVED,
};
