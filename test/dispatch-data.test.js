'use strict';

// `data` of the events the dispatcher makes (lib/client/dispatch.js, lib/events.js): lazy (an
// accessor that parses on first read) until the listeners of a name have read it EAGER_AFTER
// times in a row, then parsed at once into an ordinary property, with a lazy probe every
// PROBE_EVERY events. Either way an event looks the same to the user: same keys in the same
// order, same JSON, the same parsed object on every read, and the parser's own error for text
// it refuses.

const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
const { batch: batchOf, dispatcher } = require('./helpers/dispatch-batch.js');
const { EAGER_AFTER, PROBE_EVERY } = require('../lib/client/dispatch.js');
const { createEvent, createParsedEvent, withTopic, dataText } = require('../lib/events.js');

const TS = '2026-01-15T10:30:00.000000Z';
const TOPIC = 'customer_id:c:call:1';
const batch = (events) => batchOf(events, { topic: TOPIC, timestamp: TS });

// Spaced out, so that the text the server sent and the parsed value serialised again differ.
const rawOf = (seq) => `{ "seq": ${seq}, "status": "ringing" }`;
const kindOf = (e) => ('get' in Object.getOwnPropertyDescriptor(e, 'data') ? 'lazy' : 'parsed');

// Which of `count` events in a row, all read, are made lazy: the first EAGER_AFTER, then every
// PROBE_EVERY-th.
function expectedKinds(count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    out.push(i < EAGER_AFTER || (i - EAGER_AFTER + 1) % PROBE_EVERY === 0 ? 'lazy' : 'parsed');
  }
  return out;
}

test('thresholds', () => {
  assert.equal(EAGER_AFTER, 64);
  assert.equal(PROBE_EVERY, 64);
});

test('events whose data is read are parsed at once after a run of reads, and look the same either way', () => {
  const emitter = new EventEmitter();
  const seen = [];
  emitter.on('call.status', (e) => {
    const first = e.data;
    assert.equal(e.data, first, 'the same object on every read');
    seen.push(e);
  });
  const d = dispatcher(emitter);
  const count = 200;
  const sent = Array.from({ length: count }, (_, seq) => ({ type: 'call.status', data: rawOf(seq) }));
  d.onBatch(...batch(sent.slice(0, 70)));
  d.onBatch(...batch(sent.slice(70)));

  assert.equal(seen.length, count);
  assert.deepEqual(seen.map(kindOf), expectedKinds(count));
  assert.deepEqual(expectedKinds(count).flatMap((k, i) => (k === 'lazy' && i >= EAGER_AFTER ? [i] : [])), [127, 191]);
  seen.forEach((e, seq) => {
    const plain = { event_type: 'call.status', timestamp: TS, topic: TOPIC, data: { seq, status: 'ringing' } };
    assert.equal(Object.getPrototypeOf(e), Object.prototype);
    assert.deepEqual(Object.keys(e), ['event_type', 'timestamp', 'topic', 'data']);
    assert.deepEqual(Object.keys(e).map((k) => Object.getOwnPropertyDescriptor(e, k).enumerable), [true, true, true, true]);
    assert.equal(Object.getOwnPropertyDescriptor(e, 'data').configurable, true);
    assert.equal(JSON.stringify(e),
      `{"event_type":"call.status","timestamp":"${TS}","topic":"${TOPIC}","data":{"seq":${seq},"status":"ringing"}}`);
    assert.deepStrictEqual(e, plain);
    assert.deepStrictEqual({ ...e }, plain);
    assert.deepStrictEqual(structuredClone(e), plain);
    assert.equal(e.data, seen[seq].data);
    // Read already: the text is the value serialised again.
    assert.equal(dataText(e), `{"seq":${seq},"status":"ringing"}`);
  });
});

test('data is parsed once per event, lazy or at once', () => {
  const emitter = new EventEmitter();
  emitter.on('call.status', (e) => {
    for (let k = 0; k < 3; k++) assert.equal(e.data.seq >= 0, true);
  });
  const d = dispatcher(emitter);
  const parse = JSON.parse;
  let calls = 0;
  JSON.parse = (...args) => {
    calls++;
    return parse(...args);
  };
  try {
    d.onBatch(...batch(Array.from({ length: 150 }, (_, seq) => ({ type: 'call.status', data: rawOf(seq) }))));
  } finally {
    JSON.parse = parse;
  }
  assert.equal(calls, 150);
});

test('once listeners stop reading, the next probe finds out and data is left unparsed again', () => {
  const emitter = new EventEmitter();
  let read = true;
  const seen = [];
  emitter.on('call.status', (e) => {
    if (read) assert.equal(e.data.status, 'ringing');
    seen.push(e);
  });
  const d = dispatcher(emitter);
  const sent = (from, n) => Array.from({ length: n }, (_, k) => ({ type: 'call.status', data: rawOf(from + k) }));
  d.onBatch(...batch(sent(0, 100)));
  read = false;
  d.onBatch(...batch(sent(100, 100)));

  // Events 64..126 are parsed at once, 127 is the probe that nobody reads, from there on lazy.
  assert.deepEqual(seen.map(kindOf), [...expectedKinds(127), ...Array(73).fill('lazy')]);
  // Unread lazy events still hand over the text byte for byte.
  seen.slice(127).forEach((e, k) => assert.equal(dataText(e), rawOf(127 + k)));
  assert.equal(dataText(seen[126]), '{"seq":126,"status":"ringing"}');
  // Listeners reading again: another full run of reads before data is parsed at once.
  read = true;
  seen.length = 0;
  d.onBatch(...batch(sent(200, 100)));
  assert.deepEqual(seen.map(kindOf), expectedKinds(100));
});

test('each event name learns on its own', () => {
  const emitter = new EventEmitter();
  const seen = [];
  emitter.on('call.status', (e) => {
    assert.equal(typeof e.data, 'object');
    seen.push(e);
  });
  emitter.on('call.created', (e) => seen.push(e));
  const d = dispatcher(emitter);
  const sent = [];
  for (let i = 0; i < 100; i++) {
    sent.push({ type: 'call.status', data: rawOf(i) }, { type: 'call.created', data: rawOf(i) });
  }
  d.onBatch(...batch(sent));
  const status = seen.filter((e) => e.event_type === 'call.status');
  const created = seen.filter((e) => e.event_type === 'call.created');
  assert.deepEqual(status.map(kindOf), expectedKinds(100));
  assert.deepEqual(created.map(kindOf), Array(100).fill('lazy'));
  created.forEach((e, i) => assert.equal(dataText(e), rawOf(i)));
});

test('text JSON.parse refuses: every read throws the parser\'s error, lazy or once data is parsed at once', () => {
  const emitter = new EventEmitter();
  const errors = [];
  emitter.on('call.status', (e) => {
    for (let k = 0; k < 2; k++) {
      try {
        e.data;
      } catch (err) {
        errors.push(err);
      }
    }
  });
  const d = dispatcher(emitter);
  const sent = Array.from({ length: 100 }, (_, seq) => ({ type: 'call.status', data: rawOf(seq) }));
  sent.splice(10, 0, { type: 'call.status', data: '{"seq":' });
  sent.splice(90, 0, { type: 'call.status', data: 'nope' });
  d.onBatch(...batch(sent));
  const expected = [];
  for (const text of ['{"seq":', 'nope']) {
    try {
      JSON.parse(text);
    } catch (err) {
      expected.push(err.message, err.message);
    }
  }
  assert.equal(errors.length, 4);
  assert.ok(errors.every((err) => err instanceof SyntaxError));
  assert.deepEqual(errors.map((err) => err.message), expected);
});

test('an event parsed at once: assignment, its second topic, the live name, dataText', () => {
  const raw = '{ "id": "a", "status": "ringing" }';
  const e = createParsedEvent('call.status', TS, TOPIC, raw, 'call_ringing');
  assert.deepEqual(Object.keys(e), ['event_type', 'server_event_type', 'timestamp', 'topic', 'data']);
  assert.deepEqual(e, createEvent('call.status', TS, TOPIC, raw, 'call_ringing'));
  const other = withTopic(e, 'agent_id:a:call:1');
  assert.deepEqual(Object.keys(other), ['event_type', 'server_event_type', 'timestamp', 'topic', 'data']);
  assert.equal(other.topic, 'agent_id:a:call:1');
  assert.equal(other.data, e.data);
  assert.equal(dataText(other), '{"id":"a","status":"ringing"}');
  e.data = { replaced: true };
  assert.deepEqual(e.data, { replaced: true });
  assert.equal(dataText(e), '{"replaced":true}');
  assert.equal(JSON.stringify(e),
    `{"event_type":"call.status","server_event_type":"call_ringing","timestamp":"${TS}","topic":"${TOPIC}","data":{"replaced":true}}`);
  const documented = createParsedEvent('call.status', TS, TOPIC, raw);
  assert.equal('server_event_type' in documented, false);
  assert.deepEqual(Object.keys(withTopic(documented, 'x')), ['event_type', 'timestamp', 'topic', 'data']);
  // Lazy: the text as sent until read, and the same object on every read.
  const lazy = createEvent('call.status', TS, TOPIC, raw);
  assert.equal(dataText(lazy), raw);
  assert.equal(lazy.data, lazy.data);
  assert.equal(dataText(lazy), '{"id":"a","status":"ringing"}');
  assert.equal(dataText({ data: {} }), undefined);
});
