'use strict';

// schema/events.js is the one description of every event; schema/validate.js checks payloads
// against it. The seeds' examples and the recorded live frames must pass, and bad payloads must
// fail with exact, readable problems.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const schema = require('../schema/events.js');
const { validate, validateEvent, eventTypes } = require('../schema/validate.js');

const frames = fs.readFileSync(path.join(__dirname, 'fixtures', 'live-frames.jsonl'), 'utf8')
  .split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
const payloadOf = (f) => (f.wire === 'wrapped' ? f.frame.data : f.frame);
const frame = (type) => structuredClone(payloadOf(frames.find((f) => f.event_type === type)));
const example = (type) => structuredClone(schema.events[type].examples[0]);

test('the documented dialect has exactly the event types the docs name', () => {
  assert.deepEqual(eventTypes('documented'), [
    'call.created', 'call.status', 'call.ended', 'call.assigned',
    'message.received', 'message.sent', 'message.delivery',
    'activeflow.updated', 'activeflow.completed',
    'conference.joined', 'conference.left', 'conference.ended',
    'queue.joined', 'queue.connected', 'queue.left',
    'agent.status', 'recording.started', 'recording.completed', 'transcription.completed',
  ]);
});

test('the live dialect has every event name of the protocol notes, each with its resource', () => {
  const expected = {
    call: ['created', 'updated', 'dialing', 'ringing', 'progressing', 'terminating', 'canceling', 'hangup', 'deleted'],
    groupcall: ['created', 'progressing', 'hangup', 'deleted'],
    recording: ['started', 'finished'],
    message: ['created', 'updated', 'deleted'],
    activeflow: ['created', 'updated', 'deleted'],
    queuecall: ['created', 'waiting', 'connecting', 'serviced', 'done', 'abandoned', 'deleted'],
    agent: ['created', 'updated', 'deleted', 'status_updated'],
    conference: ['created', 'updated', 'deleted'],
    transcribe: ['created', 'progressing', 'done', 'deleted', 'speech_started', 'speech_interim', 'speech_ended'],
    transcript: ['created', 'deleted'],
  };
  const names = Object.entries(expected).flatMap(([r, verbs]) => verbs.map((v) => `${r}_${v}`));
  assert.equal(names.length, 44);
  assert.deepEqual(eventTypes('live'), names);
  assert.deepEqual(Object.keys(schema.resources), Object.keys(expected));
  for (const name of names) {
    const entry = schema.events[name];
    assert.equal(entry.resource, name.slice(0, name.indexOf('_')), name);
    const payload = name.startsWith('transcribe_speech_') ? 'LiveSpeech' : schema.resources[entry.resource];
    assert.equal(entry.data.ref, payload, name);
  }
  assert.deepEqual(eventTypes(), [...eventTypes('documented'), ...eventTypes('live')]);
});

test('every reference resolves and every status narrowing is one of the resource statuses', () => {
  const refs = [];
  const walk = (node) => {
    if (node.ref) refs.push(node);
    if (node.items) walk(node.items);
    if (node.properties) Object.values(node.properties).forEach(walk);
  };
  Object.values(schema.definitions).forEach(walk);
  Object.values(schema.events).forEach((e) => walk(e.data));
  assert.ok(refs.length > 40);
  for (const node of refs) {
    const def = schema.definitions[node.ref];
    assert.ok(def, node.ref);
    for (const s of node.status || []) assert.ok(def.properties.status.enum.includes(s), `${node.ref} ${s}`);
  }
});

test('every documented event has one example, the seeds\' where they give one, and it validates strictly', () => {
  let fromSeeds = 0;
  for (const name of eventTypes('documented')) {
    const entry = schema.events[name];
    assert.equal(entry.examples.length, 1, name);
    assert.ok(['example', 'derived'].includes(entry.source), name);
    if (entry.source === 'example') fromSeeds++;
    else assert.match(entry.note, /without an example/, name);
    assert.deepEqual(validateEvent(entry.examples[0], { strict: true, dialect: 'documented' }), [], name);
  }
  assert.equal(fromSeeds, 12);
  // Spot-check that the seeds' examples are kept verbatim.
  assert.deepEqual(example('call.status'), {
    event_type: 'call.status',
    timestamp: '2024-01-15T10:30:05.000000Z',
    topic: 'customer_id:abc123:call:xyz789',
    data: { id: 'xyz789', status: 'answered', previous_status: 'ringing', tm_update: '2024-01-15T10:30:05.000000Z' },
  });
  assert.equal(example('agent.status').topic, 'agent_id:agent123:agent:agent123');
  assert.equal(example('recording.completed').data.size, 2400000);
});

test('every recorded live frame validates against its event type, strictly', () => {
  assert.equal(frames.length, 14);
  for (const f of frames) {
    assert.deepEqual(validate(f.event_type, payloadOf(f), { strict: true, dialect: 'live' }), [], f.note);
  }
});

test('bad documented payloads are rejected with exact problems, in field order', () => {
  assert.deepEqual(validate('call.status', { id: 7, status: 'bogus', tm_update: 'yesterday', extra: true }), [
    'Expected string for data.id but received 7',
    'Expected one of "dialing", "ringing", "answered", "hangup" for data.status but received "bogus"',
    'Missing required field data.previous_status',
    'Expected RFC 3339 date-time for data.tm_update but received "yesterday"',
    'Unexpected field data.extra',
  ]);

  const created = example('call.created').data;
  created.source = { type: 'tel' };
  created.destination = 'tel:+15559876543';
  created.tm_create = null;
  assert.deepEqual(validate('call.created', created), [
    'Missing required field data.source.target',
    'Expected an object for data.destination but received "tel:+15559876543"',
    'Expected RFC 3339 date-time for data.tm_create but received null',
  ]);

  const joined = example('queue.joined').data;
  joined.position = 2.5;
  joined.estimated_wait = '120';
  assert.deepEqual(validate('queue.joined', joined), [
    'Expected integer for data.position but received 2.5',
    'Expected integer for data.estimated_wait but received "120"',
  ]);

  const rec = example('recording.completed').data;
  rec.reference_url = 'not a url';
  assert.deepEqual(validate('recording.completed', rec), [
    'Expected URI for data.reference_url but received "not a url"',
  ]);

  assert.deepEqual(validate('activeflow.completed', { ...example('activeflow.completed').data, status: 'executing' }), [
    'Expected one of "completed" for data.status but received "executing"',
  ]);
});

test('bad live payloads are rejected with exact problems', () => {
  const ringing = frame('call_ringing');
  ringing.status = 'hangup';
  ringing.id = ringing.id.toUpperCase();
  ringing.chained_call_ids = ['not-a-uuid'];
  ringing.tm_hangup = 5;
  ringing.action.option = [];
  delete ringing.direction;
  assert.deepEqual(validate('call_ringing', ringing), [
    'Expected UUID (lower case) for data.id but received "A1B2C3D4-E5F6-7890-ABCD-EF1234567890"',
    'Expected UUID (lower case) for data.chained_call_ids[0] but received "not-a-uuid"',
    'Expected one of "ringing" for data.status but received "hangup"',
    'Expected an object for data.action.option but received an array',
    'Missing required field data.direction',
    'Expected RFC 3339 date-time or null for data.tm_hangup but received 5',
  ]);

  const sms = frame('message_created');
  sms.targets[0].parts = '1';
  sms.targets.push(null);
  assert.deepEqual(validate('message_created', sms), [
    'Expected integer for data.targets[0].parts but received "1"',
    'Expected an object for data.targets[1] but received null',
  ]);

  // Live resources may grow fields: accepted by default, reported in strict mode.
  const agent = frame('agent_status_updated');
  agent.new_field = 1;
  assert.deepEqual(validate('agent_status_updated', agent), []);
  assert.deepEqual(validate('agent_status_updated', agent, { strict: true }), ['Unexpected field data.new_field']);
  assert.deepEqual(validate('agent_updated', { ...agent, status: 'lunch' }), [
    'Expected one of "available", "away", "busy", "offline", "ringing" for data.status but received "lunch"',
  ]);
});

test('unknown types, wrong dialects and non-objects are problems, never exceptions', () => {
  assert.deepEqual(validate('call.finished', {}), ['Unknown event type "call.finished"']);
  assert.deepEqual(validate('toString', {}), ['Unknown event type "toString"']);
  assert.deepEqual(validate(42, {}), ['Expected an event type string for event_type but received 42']);
  assert.deepEqual(validate('call.status', null), ['Expected an object for data but received null']);
  assert.deepEqual(validate('call_hangup', [frame('call_hangup')]), ['Expected an object for data but received an array']);
  assert.deepEqual(validate('call.status', example('call.status').data, { dialect: 'live' }), [
    'Event type "call.status" belongs to the documented dialect, not live',
  ]);
  assert.deepEqual(validate('call_hangup', frame('call_hangup'), { dialect: 'documented' }), [
    'Event type "call_hangup" belongs to the live dialect, not documented',
  ]);
});

test('validateEvent checks the envelope as well as the payload', () => {
  assert.deepEqual(validateEvent('call.status'), ['Expected an object for event but received "call.status"']);
  assert.deepEqual(validateEvent({ event_type: 'call.status', data: example('call.status').data }), [
    'Missing required field timestamp',
    'Missing required field topic',
  ]);
  const ev = example('message.delivery');
  assert.deepEqual(validateEvent({ ...ev, timestamp: '2024-01-15 10:30:02', topic: 'customer_id:abc123:message', extra: 1 }, { strict: true }), [
    'Expected RFC 3339 date-time for timestamp but received "2024-01-15 10:30:02"',
    'Expected a topic <scope>:<scope_id>:<resource>:<resource_id> for topic but received "customer_id:abc123:message"',
    'Unexpected field extra',
  ]);
  assert.deepEqual(validateEvent({ ...ev, data: { ...ev.data, status: 'lost' } }), [
    'Expected one of "sent", "delivered", "failed" for data.status but received "lost"',
  ]);
  const live = { event_type: 'transcript_created', timestamp: '2026-10-07T10:30:20.300Z', topic: 'customer_id:5013bc52-da9a-11ee-844f-2fa34248de28:transcript:9b0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e', data: frame('transcript_created') };
  assert.deepEqual(validateEvent(live, { strict: true, dialect: 'live' }), []);
});

test('the callcenter scenario emits only schema-conforming events in both dialects', () => {
  const { generate } = require('../lib/scenarios/callcenter.js');
  for (const dialect of ['documented', 'live']) {
    const events = generate({ seed: 'schema-test', count: 3000, dialect });
    assert.equal(events.length, 3000);
    const seen = new Set();
    for (const e of events) {
      seen.add(e.event_type);
      const problems = validate(e.event_type, e.data, { strict: true, dialect });
      assert.deepEqual(problems, [], `${e.event_type} ${JSON.stringify(e.data)}`);
    }
    assert.ok(seen.size >= 15, `${dialect}: only ${[...seen].join(', ')}`);
  }
});
