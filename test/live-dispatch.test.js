'use strict';

// The JS side of live events known under two topics: the pattern index answers topics that end
// in the same resource id correctly whatever the order of lookups (its cache is keyed by the
// tail), and an event re-addressed to its second topic shares its payload.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { PatternIndex, createEvent, withTopic, emitEvent } = require('../lib/events.js');
const { EventEmitter } = require('node:events');

const C = '12345678-1234-4234-8234-123456789012';
const A = '98765432-4321-4321-4321-210987654321';
const ID = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';

test('lookups of topics sharing a resource id stay exact in any order', () => {
  const index = new PatternIndex();
  index.add(`customer_id:${C}:call:*`, 'customer');
  index.add(`agent_id:${A}:call:*`, 'agent');
  index.add(`customer_id:${C}:queue:*`, 'queue');
  const topics = {
    [`customer_id:${C}:call:${ID}`]: ['customer'],
    [`agent_id:${A}:call:${ID}`]: ['agent'],
    [`customer_id:${C}:queuecall:${ID}`]: [],
    [`customer_id:${C}:queue:${ID}`]: ['queue'],
    [`agent_id:${C}:call:${ID}`]: [],
  };
  const order = Object.keys(topics);
  for (let round = 0; round < 4; round++) {
    for (const t of round % 2 ? [...order].reverse() : order) assert.deepEqual(index.lookup(t), topics[t], `${round} ${t}`);
    for (const t of order) {
      assert.deepEqual(index.lookup(t), topics[t]);
      assert.deepEqual(index.lookup(t), topics[t]);
    }
  }
  // A change of patterns is seen at once.
  index.add(`agent_id:${C}:call:${ID}`, 'exact');
  assert.deepEqual(index.lookup(`agent_id:${C}:call:${ID}`), ['exact']);
  assert.deepEqual(index.lookup(`agent_id:${A}:call:${ID}`), ['agent']);
});

test('an event under its second topic keeps its names and shares its payload', () => {
  const event = createEvent('call.status', '2026-10-07T10:30:01.120Z', `customer_id:${C}:call:${ID}`,
    `{"id":"${ID}","status":"ringing"}`, 'call_ringing');
  const before = withTopic(event, `agent_id:${A}:call:${ID}`);
  assert.deepEqual(Object.keys(before), ['event_type', 'server_event_type', 'timestamp', 'topic', 'data']);
  assert.deepEqual({ ...before }, {
    event_type: 'call.status', server_event_type: 'call_ringing', timestamp: '2026-10-07T10:30:01.120Z',
    topic: `agent_id:${A}:call:${ID}`, data: { id: ID, status: 'ringing' },
  });
  // parsed once, then shared by copies made afterwards
  const parsed = event.data;
  const after = withTopic(event, `agent_id:${A}:call:${ID}`);
  assert.equal(after.data, parsed);
  const documented = createEvent('call.status', 't', `customer_id:${C}:call:${ID}`, '{}');
  assert.deepEqual(Object.keys(withTopic(documented, 'x')), ['event_type', 'timestamp', 'topic', 'data']);
  assert.equal('server_event_type' in documented, false);
});

test('emitEvent emits the documented name, then the live name when it differs, then event', () => {
  const emitter = new EventEmitter();
  const heard = [];
  for (const name of ['call.status', 'call_ringing', 'call_updated', 'event']) emitter.on(name, () => heard.push(name));
  emitEvent(emitter, createEvent('call.status', 't', 'x:y:call:z', '{}', 'call_ringing'));
  emitEvent(emitter, createEvent('call_updated', 't', 'x:y:call:z', '{}', 'call_updated'));
  assert.deepEqual(heard, ['call.status', 'call_ringing', 'event', 'call_updated', 'event']);
});
