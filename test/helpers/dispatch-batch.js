'use strict';

// Batches as the native queue hands them to JS (native/core/batch.h, native/BINDING.md),
// and a Dispatcher wired to stand-ins, for tests that drive lib/client/dispatch.js without a
// connection.

const assert = require('node:assert/strict');
const { Dispatcher } = require('../../lib/client/dispatch.js');
const { PatternIndex } = require('../../lib/events.js');

const STRIDE = 13;

// The text and meta of one batch: per event kind 1, then the offset pairs of event_type, topic,
// timestamp, data, server_event_type and second topic. Fields an event leaves out come from
// `defaults`, then from fixed values. With `share`, each distinct name (event_type or server
// name) is written once and later events point at that copy, as native does within a segment
// (native/core/batch.h; this helper keeps every name, native the last eight).
function batch(events, defaults = {}, { share = false } = {}) {
  let text = '';
  const meta = [];
  const written = new Map();
  for (const event of events) {
    const e = { topic: 'customer_id:c:call:1', timestamp: '2026-01-15T10:30:00.000000Z', data: '{"n":1}', ...defaults, ...event };
    meta.push(1);
    [e.type, e.topic, e.timestamp, e.data, e.server || '', ''].forEach((field, f) => {
      const name = f === 0 || f === 4;
      if (share && name && field !== '' && written.has(field)) {
        meta.push(...written.get(field));
        return;
      }
      meta.push(text.length);
      text += field;
      meta.push(text.length);
      if (share && name && field !== '') written.set(field, meta.slice(-2));
    });
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
