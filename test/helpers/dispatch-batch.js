'use strict';

// Batches as the native queue hands them to JS (native/core/event_queue.h, native/BINDING.md),
// and a Dispatcher wired to stand-ins, for tests that drive lib/client/dispatch.js without a
// connection.

const assert = require('node:assert/strict');
const { Dispatcher } = require('../../lib/client/dispatch.js');
const { PatternIndex } = require('../../lib/events.js');

const STRIDE = 13;

// The text and meta of one batch: per event kind 1, then the offset pairs of event_type, topic,
// timestamp, data, server_event_type and second topic. Fields an event leaves out come from
// `defaults`, then from fixed values.
function batch(events, defaults = {}) {
  let text = '';
  const meta = [];
  for (const event of events) {
    const e = { topic: 'customer_id:c:call:1', timestamp: '2026-01-15T10:30:00.000000Z', data: '{"n":1}', ...defaults, ...event };
    meta.push(1);
    for (const field of [e.type, e.topic, e.timestamp, e.data, e.server || '', '']) {
      meta.push(text.length);
      text += field;
      meta.push(text.length);
    }
  }
  assert.equal(meta.length, events.length * STRIDE);
  return [text, Int32Array.from(meta)];
}

function dispatcher(emitter) {
  return new Dispatcher(emitter, { closing: false, final: false, holdForDispatch() {} },
    { entries: new Map(), members: new Map() },
    { createIndex: () => new PatternIndex(), keysOf: () => [], normalize: (p) => p, dynamic: false },
    { onControl() {}, onServer() {}, reportError(err) { throw err; } });
}

module.exports = { STRIDE, batch, dispatcher };
