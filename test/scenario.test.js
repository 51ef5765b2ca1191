'use strict';

// The callcenter scenario: deterministic under a seed, consistent ids and timelines, payloads
// shaped like the seeds (documented) and like the captured production frames (live).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const callcenter = require('../lib/scenarios/callcenter');
const { validate, validateEvent } = require('../schema/validate');

const NIL = '00000000-0000-0000-0000-000000000000';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const DOC_TIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const LIVE_TIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const fixtures = fs.readFileSync(path.join(__dirname, 'fixtures', 'live-frames.jsonl'), 'utf8')
  .split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));

test('the same seed gives the same events, a different seed different ones', () => {
  for (const dialect of ['documented', 'live']) {
    const a = callcenter.generate({ seed: 'alpha', count: 3000, dialect });
    const b = callcenter.generate({ seed: 'alpha', count: 3000, dialect });
    assert.equal(a.length, 3000);
    assert.deepEqual(a, b);
    const c = callcenter.generate({ seed: 'beta', count: 3000, dialect });
    assert.notDeepEqual(c, a);
  }
  // Numbers and their decimal text are the same seed (the CLI passes text).
  assert.deepEqual(callcenter.generate({ seed: 42, count: 200 }), callcenter.generate({ seed: '42', count: 200 }));
  // A prefix of a longer run is the shorter run.
  assert.deepEqual(callcenter.generate({ seed: 7, count: 5000 }).slice(0, 1000), callcenter.generate({ seed: 7, count: 1000 }));
});

test('a seeded run reads neither Math.random nor the wall clock', () => {
  const random = Math.random;
  const now = Date.now;
  Math.random = () => { throw new Error('Math.random called'); };
  Date.now = () => { throw new Error('Date.now called'); };
  try {
    const events = callcenter.generate({ seed: 1, count: 2000, dialect: 'live' });
    assert.equal(events.length, 2000);
    assert.equal(events[0].timestamp.slice(0, 10), '2026-01-15');
  } finally {
    Math.random = random;
    Date.now = now;
  }
});

test('an unseeded run starts at the current time with fresh ids', () => {
  const before = Date.now();
  const a = callcenter.generate({ count: 50 });
  const b = callcenter.generate({ count: 50 });
  const ids = (events) => new Set(JSON.stringify(events).match(/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}/g));
  const shared = [...ids(a)].filter((id) => ids(b).has(id));
  assert.deepEqual(shared, []);
  assert.ok(ids(a).size > 10);
  const first = Date.parse(a[0].timestamp);
  assert.ok(first >= before && first < before + 10000, `first event at ${a[0].timestamp}`);
});

test('startTime and customerId options are honoured', () => {
  const customerId = 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE';
  const events = callcenter.generate({ seed: 3, count: 300, customerId, startTime: Date.UTC(2030, 4, 1) });
  assert.ok(events[0].timestamp.startsWith('2030-05-01T00:00:0'), events[0].timestamp);
  for (const e of events) {
    if (e.topic.startsWith('customer_id:')) assert.equal(e.topic.split(':')[1], customerId.toLowerCase());
    if (e.data.customer_id !== undefined) assert.equal(e.data.customer_id, customerId.toLowerCase());
  }
  const r = callcenter.roster({ seed: 3, customerId });
  // Naming the seed's own customer id explicitly changes nothing; ids never collide.
  const own = callcenter.roster({ seed: 3 });
  assert.deepEqual(callcenter.roster({ seed: 3, customerId: own.customerId }), own);
  assert.ok(!own.agents.some((a) => a.id === own.customerId));
  assert.deepEqual(callcenter.generate({ seed: 3, count: 500, customerId: own.customerId }), callcenter.generate({ seed: 3, count: 500 }));
  const chosen = callcenter.roster({ seed: 3, agentIds: ['98765432-4321-4321-4321-210987654321'] });
  assert.equal(chosen.agents[0].id, '98765432-4321-4321-4321-210987654321');
  assert.deepEqual(chosen.agents.slice(1), own.agents.slice(1));
  assert.equal(r.customerId, customerId.toLowerCase());
  assert.equal(r.agents.length, 5);
  assert.deepEqual(r.agents.map((a) => a.name), ['Alice', 'Bob', 'Carol', 'Dave', 'Erin']);
});

test('every documented event conforms to the schema and to its topic', () => {
  const seen = new Set();
  const r = callcenter.roster({ seed: 11, agents: 4 });
  const agentIds = new Set(r.agents.map((a) => a.id));
  let last = '';
  for (const e of callcenter.generate({ seed: 11, agents: 4, count: 20000 })) {
    seen.add(e.event_type);
    assert.deepEqual(validateEvent(e, { dialect: 'documented', strict: true }), [], JSON.stringify(e));
    assert.match(e.timestamp, DOC_TIME_RE);
    assert.ok(e.timestamp >= last, `time went back at ${e.timestamp}`);
    last = e.timestamp;
    const [scope, scopeId, resource, resourceId] = e.topic.split(':');
    assert.equal(resource, e.event_type.split('.')[0] === 'transcription' ? 'transcription' : e.event_type.split('.')[0]);
    if (scope === 'customer_id') assert.equal(scopeId, r.customerId);
    else {
      assert.equal(scope, 'agent_id');
      assert.ok(agentIds.has(scopeId), `agent scope ${scopeId} is not an agent of the roster`);
    }
    const d = e.data;
    const expectedId = { queue: d.queue_id, conference: d.conference_id, agent: d.agent_id }[resource] ?? d.id;
    assert.equal(resourceId, expectedId, `${e.event_type} topic ${e.topic}`);
    assert.match(resourceId, UUID_RE);
  }
  assert.deepEqual([...seen].sort(), [
    'activeflow.completed', 'activeflow.updated', 'agent.status', 'call.assigned', 'call.created',
    'call.ended', 'call.status', 'conference.ended', 'conference.joined', 'conference.left',
    'message.delivery', 'message.received', 'message.sent', 'queue.connected', 'queue.joined',
    'queue.left', 'recording.completed', 'recording.started', 'transcription.completed',
  ]);
});

test('every live frame conforms to the schema and has the exact keys of the captured frames', () => {
  const shapes = new Map();
  for (const f of fixtures) if (f.wire === 'bare') shapes.set(f.event_type, f.frame);
  const matched = new Set();
  const seen = new Set();
  const keys = (o) => Object.keys(o);
  let last = '';
  for (const e of callcenter.generate({ seed: 12, count: 20000, dialect: 'live' })) {
    seen.add(e.event_type);
    assert.equal(e.topic, undefined);
    assert.deepEqual(validate(e.event_type, e.data, { dialect: 'live', strict: true }), [], JSON.stringify(e));
    assert.match(e.timestamp, LIVE_TIME_RE);
    assert.ok(e.timestamp >= last);
    last = e.timestamp;
    for (const [k, v] of Object.entries(e.data)) {
      if (k.startsWith('tm_') && v !== null) assert.match(v, LIVE_TIME_RE, `${e.event_type}.${k}`);
    }
    const fixture = shapes.get(e.event_type);
    if (!fixture) continue;
    matched.add(e.event_type);
    assert.deepEqual(keys(e.data), keys(fixture), `${e.event_type} keys`);
    for (const nested of ['action', 'current_action', 'source', 'destination']) {
      if (fixture[nested]) assert.deepEqual(keys(e.data[nested]), keys(fixture[nested]), `${e.event_type}.${nested}`);
    }
    if (fixture.targets) assert.deepEqual(keys(e.data.targets[0]), keys(fixture.targets[0]));
    if (fixture.addresses) assert.deepEqual(keys(e.data.addresses[0]), keys(fixture.addresses[0]));
  }
  assert.deepEqual([...matched].sort(), [...shapes.keys()].sort());
  assert.deepEqual([...seen].sort(), [
    'activeflow_created', 'activeflow_updated', 'agent_status_updated', 'call_canceling', 'call_created',
    'call_hangup', 'call_progressing', 'call_ringing', 'call_terminating', 'conference_created',
    'conference_deleted', 'conference_updated', 'message_created', 'message_updated',
    'queuecall_abandoned', 'queuecall_connecting', 'queuecall_created', 'queuecall_done',
    'queuecall_serviced', 'queuecall_waiting', 'recording_finished', 'recording_started',
    'transcribe_created', 'transcribe_done', 'transcript_created',
  ]);
});

// Walks a documented stream and fails on the first inconsistency; returns counters.
function checkDocumented(events, roster) {
  const agentStatus = new Map(roster.agents.map((a) => [a.id, 'offline']));
  const calls = new Map();
  const ended = new Set();
  const queued = new Map();
  const recordings = new Map();
  const flows = new Map();
  const sent = new Set();
  const conferences = new Map();
  const legal = {
    'ringing>answered': true, 'ringing>hangup': true, 'dialing>ringing': true, 'answered>hangup': true,
  };
  const n = { calls: 0, ended: 0, assigned: 0, abandoned: 0, transitions: 0 };
  const seenFrame = new Set();
  for (const e of events) {
    const d = e.data;
    // Agent-scoped copies repeat a customer-scoped event: check each occurrence once.
    const key = `${e.event_type}|${e.timestamp}|${JSON.stringify(d)}`;
    if (seenFrame.has(key)) continue;
    seenFrame.add(key);
    const where = `${e.event_type} at ${e.timestamp}`;
    switch (e.event_type) {
      case 'call.created':
        assert.ok(!calls.has(d.id) && !ended.has(d.id), `${where}: call ${d.id} created twice`);
        assert.equal(d.status, d.direction === 'inbound' ? 'ringing' : 'dialing');
        calls.set(d.id, { status: d.status, agent: null, created: e.timestamp });
        n.calls++;
        break;
      case 'call.status': {
        const c = calls.get(d.id);
        assert.ok(c, `${where}: status of unknown call ${d.id}`);
        assert.equal(d.previous_status, c.status, `${where}: previous_status`);
        assert.ok(legal[`${c.status}>${d.status}`], `${where}: ${c.status} -> ${d.status}`);
        c.status = d.status;
        n.transitions++;
        break;
      }
      case 'call.ended': {
        const c = calls.get(d.id);
        assert.ok(c, `${where}: end of unknown call ${d.id}`);
        assert.equal(c.status, 'hangup', `${where}: ended before a hangup status`);
        assert.equal(d.tm_create, c.created);
        calls.delete(d.id);
        ended.add(d.id);
        n.ended++;
        break;
      }
      case 'call.assigned': {
        const c = calls.get(d.id);
        assert.ok(c, `${where}: assignment of unknown call`);
        assert.equal(c.status, 'answered');
        assert.equal(agentStatus.get(d.agent_id), 'available', `${where}: agent not available`);
        assert.equal(queued.get(d.id), 'waiting');
        queued.set(d.id, 'offered');
        c.agent = d.agent_id;
        n.assigned++;
        break;
      }
      case 'agent.status':
        assert.ok(agentStatus.has(d.agent_id), `${where}: unknown agent ${d.agent_id}`);
        if (d.status === 'available' || d.status === 'away') {
          for (const [id, c] of calls) assert.notEqual(c.agent, d.agent_id, `${where}: agent ${d.status} during call ${id}`);
        }
        assert.equal(d.previous_status, agentStatus.get(d.agent_id), `${where}: previous_status`);
        assert.notEqual(d.status, d.previous_status);
        agentStatus.set(d.agent_id, d.status);
        break;
      case 'queue.joined':
        assert.equal(d.queue_id, roster.queueId);
        assert.equal(calls.get(d.call_id)?.status, 'answered', `${where}: queued call not answered`);
        assert.ok(!queued.has(d.call_id));
        queued.set(d.call_id, 'waiting');
        assert.equal(d.position, [...queued.values()].filter((s) => s === 'waiting').length);
        break;
      case 'queue.connected':
        assert.equal(queued.get(d.call_id), 'offered', `${where}`);
        assert.equal(calls.get(d.call_id).agent, d.agent_id);
        assert.equal(agentStatus.get(d.agent_id), 'ringing');
        queued.set(d.call_id, 'connected');
        break;
      case 'queue.left':
        assert.equal(queued.get(d.call_id), 'waiting', `${where}`);
        assert.equal(d.reason, 'abandoned');
        queued.set(d.call_id, 'left');
        n.abandoned++;
        break;
      case 'recording.started':
        assert.equal(calls.get(d.call_id)?.status, 'answered', `${where}`);
        recordings.set(d.id, d.call_id);
        break;
      case 'recording.completed':
        assert.equal(recordings.get(d.id), d.call_id, `${where}: completed without start`);
        recordings.delete(d.id);
        break;
      case 'transcription.completed':
        assert.ok(ended.has(d.call_id) || calls.get(d.call_id)?.status === 'hangup', `${where}`);
        break;
      case 'activeflow.updated':
        assert.ok(flows.get(d.id) !== 'completed');
        flows.set(d.id, 'running');
        break;
      case 'activeflow.completed':
        assert.equal(flows.get(d.id), 'running', `${where}: completed flow never ran`);
        flows.set(d.id, 'completed');
        break;
      case 'message.sent':
        sent.add(d.id);
        break;
      case 'message.delivery':
        assert.ok(sent.delete(d.id), `${where}: delivery of unsent message`);
        break;
      case 'conference.joined': {
        const count = (conferences.get(d.conference_id) ?? 0) + 1;
        assert.ok(conferences.get(d.conference_id) !== -1, 'joined an ended conference');
        assert.equal(d.participant_count, count);
        conferences.set(d.conference_id, count);
        break;
      }
      case 'conference.left':
        assert.equal(d.participant_count, conferences.get(d.conference_id) - 1);
        conferences.set(d.conference_id, d.participant_count);
        break;
      case 'conference.ended':
        assert.equal(conferences.get(d.conference_id), 0);
        conferences.set(d.conference_id, -1);
        break;
      case 'message.received':
        break;
      default:
        assert.fail(`unexpected event type ${e.event_type}`);
    }
  }
  return n;
}

test('documented timelines are consistent: created before ended, legal status order, known agents', () => {
  for (const seed of [1, 2, 3]) {
    const options = { seed, agents: 3 + seed, until: 1800000 };
    const n = checkDocumented(callcenter.generate(options), callcenter.roster(options));
    assert.ok(n.calls > 300, `calls ${n.calls}`);
    assert.ok(n.ended > 0.9 * n.calls, `ended ${n.ended} of ${n.calls}`);
    assert.ok(n.assigned > 50, `assigned ${n.assigned}`);
    assert.ok(n.abandoned < n.assigned / 4, `abandoned ${n.abandoned} vs assigned ${n.assigned}`);
  }
});

test('live timelines are consistent: call statuses only move forward, references resolve', () => {
  const options = { seed: 5, dialect: 'live', until: 1800000 };
  const roster = callcenter.roster(options);
  const agentIds = new Set(roster.agents.map((a) => a.id));
  const order = ['dialing', 'ringing', 'progressing', 'terminating', 'canceling', 'hangup'];
  const queueOrder = ['initiating', 'waiting', 'connecting', 'service', 'done'];
  const calls = new Map();
  const queuecalls = new Map();
  const flows = new Map();
  const recordings = new Map();
  const agents = new Map();
  let hangups = 0;
  for (const e of callcenter.generate(options)) {
    const d = e.data;
    assert.equal(d.customer_id, roster.customerId);
    const [resource, verb] = [e.event_type.slice(0, e.event_type.indexOf('_')), e.event_type.slice(e.event_type.indexOf('_') + 1)];
    if (resource === 'call') {
      const prev = calls.get(d.id);
      if (verb === 'created') assert.equal(prev, undefined, 'call created twice');
      else {
        assert.ok(prev, `${e.event_type} of unknown call`);
        assert.ok(order.indexOf(d.status) > order.indexOf(prev.status), `${prev.status} -> ${d.status}`);
        assert.equal(verb, d.status);
        assert.equal(d.tm_create, prev.tm_create);
      }
      assert.equal(d.owner_type === 'agent', d.owner_id !== NIL);
      if (d.owner_type === 'agent') assert.ok(agentIds.has(d.owner_id));
      assert.deepEqual(d.recording_ids, d.recording_id === NIL ? [] : [d.recording_id]);
      if (d.status === 'hangup') {
        assert.notEqual(d.tm_hangup, null);
        assert.ok(['remote', 'local'].includes(d.hangup_by));
        hangups++;
      }
      calls.set(d.id, d);
    } else if (resource === 'queuecall') {
      assert.equal(d.reference_type, 'call');
      assert.ok(calls.has(d.reference_id), 'queuecall of unknown call');
      const prev = queuecalls.get(d.id);
      if (prev && d.status !== 'abandoned') assert.ok(queueOrder.indexOf(d.status) > queueOrder.indexOf(prev.status));
      if (d.status === 'abandoned') assert.equal(prev.status, 'waiting');
      if (['connecting', 'service', 'done'].includes(d.status)) assert.ok(agentIds.has(d.service_agent_id));
      else assert.equal(d.service_agent_id, NIL);
      queuecalls.set(d.id, d);
    } else if (resource === 'activeflow') {
      assert.ok(calls.has(d.reference_id));
      assert.equal(calls.get(d.reference_id).activeflow_id, d.id);
      if (verb === 'created') assert.equal(flows.has(d.id), false);
      else assert.equal(flows.get(d.id)?.status, 'running', 'update of an ended or unknown flow');
      flows.set(d.id, d);
    } else if (resource === 'recording') {
      assert.ok(calls.has(d.reference_id));
      if (verb === 'started') assert.equal(recordings.has(d.id), false);
      else assert.equal(recordings.get(d.id)?.status, 'recording');
      recordings.set(d.id, d);
    } else if (resource === 'agent') {
      assert.ok(agentIds.has(d.id));
      assert.notEqual(agents.get(d.id), d.status, 'agent status event without a change');
      agents.set(d.id, d.status);
    }
  }
  assert.ok(hangups > 300, `hangups ${hangups}`);
  assert.equal(agents.size, roster.agents.length);
});

test('the requested rate is met on average', () => {
  for (const [rate, agents] of [[5, 5], [20, 5], [100, 5], [50, 20]]) {
    for (const dialect of ['documented', 'live']) {
      const events = callcenter.generate({ seed: 9, rate, agents, dialect, until: 1800000 });
      const perSecond = events.length / 1800;
      assert.ok(Math.abs(perSecond - rate) / rate < 0.15, `${dialect} rate ${rate}: ${perSecond.toFixed(2)}/s`);
    }
  }
});

test('bad options are INVALID_OPTION errors naming the option', () => {
  const cases = [
    [{ rate: 0 }, 'Expected a number of events per second in (0, 1e6] for rate but received 0'],
    [{ rate: '5' }, 'Expected a number of events per second in (0, 1e6] for rate but received "5"'],
    [{ dialect: 'natterbox' }, 'Expected \'documented\' or \'live\' for dialect but received "natterbox"'],
    [{ customerId: 'abc' }, 'Expected a UUID for customerId but received "abc"'],
    [{ agents: 0 }, 'Expected an integer from 1 to 200 for agents but received 0'],
    [{ agents: 2.5 }, 'Expected an integer from 1 to 200 for agents but received 2.5'],
    [{ durationScale: -1 }, 'Expected a positive number up to 1000 for durationScale but received -1'],
    [{ seed: {} }, 'Expected a string or finite number for seed but received {}'],
    [{ count: -1 }, 'Expected a non-negative integer for count but received -1'],
    [{ until: -5 }, 'Expected milliseconds from 0 to 604800000 for until but received -5'],
    [{ agents: 2, agentIds: ['98765432-4321-4321-4321-210987654321', 'x', 'y'] }, 'Expected at most 2 distinct UUIDs (agents) for agentIds but received ["98765432-4321-4321-4321-210987654321","x","y"]'],
    [{ agentIds: ['98765432-4321-4321-4321-210987654321', '98765432-4321-4321-4321-210987654321'] }, 'Expected at most 5 distinct UUIDs (agents) for agentIds but received ["98765432-4321-4321-4321-210987654321","98765432-4321-4321-4321-210987654321"]'],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => callcenter.generate(options), (err) => {
      assert.equal(err.name, 'RealtimeError');
      assert.equal(err.code, 'INVALID_OPTION');
      assert.equal(err.message, message);
      return true;
    });
  }
  assert.throws(() => callcenter.start({}, {}), { code: 'INVALID_OPTION', message: 'Expected an emulator with publish() for emu but received {}' });
  assert.throws(() => callcenter.start(null), { code: 'INVALID_OPTION' });
});

test('start() publishes the generated sequence in real time and stops', async () => {
  const published = [];
  const emu = { dialect: 'live', publish: (e) => published.push(e) };
  const started = Date.now();
  const handle = callcenter.start(emu, { seed: 'rt', rate: 400 });
  assert.equal(handle.roster.customerId, callcenter.roster({ seed: 'rt', dialect: 'live' }).customerId);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  handle.stop();
  await handle.done;
  const count = published.length;
  assert.equal(handle.published, count);
  // Events are due at their virtual offset from the start; a call's events spread over tens of
  // seconds, so the stream ramps up towards the rate instead of starting with a burst.
  assert.ok(count > 30 && count < 900, `published ${count}`);
  // The emulator's dialect is the default, and the sequence is exactly the generated one.
  assert.deepEqual(published, callcenter.generate({ seed: 'rt', rate: 400, dialect: 'live', count }));
  const offset = (e) => Date.parse(e.timestamp) - Date.parse('2026-01-15T10:00:00Z');
  const stoppedAfter = Date.now() - started;
  assert.ok(offset(published.at(-1)) <= stoppedAfter, `event at +${offset(published.at(-1))} ms published before ${stoppedAfter} ms`);
  // Nothing that was due long before stop() was held back.
  const next = callcenter.generate({ seed: 'rt', rate: 400, dialect: 'live', count: count + 1 }).at(-1);
  assert.ok(offset(next) > stoppedAfter - 300, `event at +${offset(next)} ms still unpublished at ${stoppedAfter} ms`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(published.length, count, 'published after stop()');
  handle.stop();
});

test('start() with count stops by itself, and a failing publish stops it with the error', async () => {
  const published = [];
  const handle = callcenter.start({ publish: (e) => published.push(e) }, { seed: 1, rate: 2000, count: 25 });
  await handle.done;
  assert.equal(published.length, 25);
  assert.equal(handle.published, 25);
  assert.equal(handle.error, null);
  assert.deepEqual(published, callcenter.generate({ seed: 1, rate: 2000, count: 25 }));

  let calls = 0;
  const boom = new Error('emulator stopped');
  const failing = callcenter.start({ publish: () => { calls++; throw boom; } }, { seed: 1, rate: 2000 });
  await failing.done;
  assert.equal(calls, 1);
  assert.equal(failing.error, boom);
  assert.equal(failing.published, 0);
});
