'use strict';

// Every example runs on its own (starting an emulator), exits cleanly within its bound, and
// prints exactly what the events it received imply: each example subscribes before its seeded
// scenario starts, so what it saw is a prefix of the seed's stream.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { node, ROOT } = require('./helpers/pty');
const callcenter = require('../lib/scenarios/callcenter');
const agentsScenario = require('../lib/scenarios/agents');
const { topic } = require('../lib/index');

const CUSTOMER = '12345678-1234-4234-8234-123456789012';
const AGENT = '98765432-4321-4321-4321-210987654321';
const ENV = { EXAMPLE_SECONDS: '4', VOIPBIN_URL: undefined, VOIPBIN_TOKEN: undefined };

async function runExample(name) {
  const p = node(path.join(ROOT, 'examples', `${name}.js`), [], { env: ENV });
  const started = Date.now();
  const code = await p.exited(30000);
  assert.equal(code, 0, `${name} exit code; stderr: ${p.stderr}`);
  assert.equal(p.stderr, '', `${name} stderr`);
  assert.ok(Date.now() - started >= 4000, `${name} ran its full bound`);
  const lines = p.stdout.trimEnd().split('\n');
  return { lines, summary: lines.at(-1), body: lines.slice(0, -1) };
}

function stream(seed, extra = {}) {
  return callcenter.generate({ seed, rate: 100, durationScale: 0.1, customerId: CUSTOMER, count: 20000, ...extra });
}

function matchingAny(patterns) {
  return (e) => patterns.some((p) => topic.matches(p, e.topic));
}

test('every example is exercised by this file and uses only the public entry point', () => {
  const examples = fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.js')).sort();
  assert.deepEqual(examples, ['agent-desktop.js', 'call-dashboard.js', 'crm-sync.js', 'presence-panel.js', 'scaling-out.js']);
  for (const file of examples) {
    const source = fs.readFileSync(path.join(ROOT, 'examples', file), 'utf8');
    const requires = [...source.matchAll(/require\(([^)]*)\)/g)].map((m) => m[1]);
    // scaling-out.js runs in test/redis-example.test.js (it needs a redis-server).
    const expected = file === 'scaling-out.js' ? ['\'voip-realtime\'', '\'voip-realtime/redis\''] : ['\'voip-realtime\''];
    assert.deepEqual(requires, expected, file);
  }
});

test('call-dashboard lists calls as they ring, answer and end', async () => {
  const { body, summary } = await runExample('call-dashboard');
  const m = /^summary: (\d+) call events, (\d+) calls ended, (\d+) still active$/.exec(summary);
  assert.ok(m, summary);
  const count = Number(m[1]);
  assert.ok(count >= 20, `only ${count} call events`);
  const labels = { ringing: 'Incoming Call', dialing: 'Outgoing Call', answered: 'Active Call' };
  const events = stream('call-dashboard')
    .filter(matchingAny([`customer_id:${CUSTOMER}:call:*`]))
    .filter((e) => ['call.created', 'call.status', 'call.ended'].includes(e.event_type))
    .slice(0, count);
  const active = new Map();
  const expected = [];
  let ended = 0;
  for (const { event_type: type, data: d } of events) {
    if (type === 'call.created') {
      active.set(d.id, d.direction === 'outbound' ? d.destination.target : d.source.target);
      expected.push(`${(labels[d.status] ?? d.status).padEnd(14)}| ${d.source.target.padEnd(13)} | ${d.status}`);
    } else if (type === 'call.status') {
      expected.push(`${(labels[d.status] ?? 'Call').padEnd(14)}| ${active.get(d.id).padEnd(13)} | ${d.status} (was ${d.previous_status})`);
    } else {
      expected.push(`${'Ended'.padEnd(14)}| ${active.get(d.id).padEnd(13)} | ${d.hangup_reason} after ${d.duration}s`);
      active.delete(d.id);
      ended++;
    }
  }
  assert.deepEqual(body, expected);
  assert.equal(Number(m[2]), ended);
  assert.equal(Number(m[3]), active.size);
  assert.ok(ended > 0, 'no call ended within the run');
});

test('agent-desktop shows queue alerts and offers for its own agent, and the chat', async () => {
  const { body, summary } = await runExample('agent-desktop');
  const m = /^summary: (\d+) events delivered to agent (\S+)$/.exec(summary);
  assert.ok(m, summary);
  assert.equal(m[2], AGENT);
  const patterns = [`agent_id:${AGENT}:queue:*`, `agent_id:${AGENT}:call:*`, `customer_id:${CUSTOMER}:message:*`];
  const events = stream('agent-desktop', { agentIds: [AGENT] }).filter(matchingAny(patterns)).slice(0, Number(m[1]));
  const expected = [];
  for (const { event_type: type, data: d } of events) {
    if (type === 'queue.joined') expected.push(`[New Call Alert] caller waiting in queue, position ${d.position}, about ${d.estimated_wait}s`);
    if (type === 'call.assigned') expected.push(`[Customer: ${d.source.target}] offered to you after ${d.wait_time}s in queue`);
    if (type === 'queue.connected') expected.push(`[Connected] call ${d.call_id.slice(0, 8)} after ${d.wait_time}s`);
    if (type === 'call.ended') expected.push(`[Call ended] ${d.hangup_reason}, ${d.duration}s`);
    if (type === 'message.received') expected.push(`[Chat] ${d.source.target}: ${d.text}`);
  }
  assert.deepEqual(body, expected);
  assert.ok(body.some((l) => l.startsWith('[New Call Alert]')), 'no queue alert');
  assert.ok(body.some((l) => l.startsWith('[Chat]')), 'no chat message');
});

test('crm-sync turns call endings, recordings and transcripts into CRM records', async () => {
  const { body, summary } = await runExample('crm-sync');
  const m = /^summary: (\d+) records for (\d+) calls$/.exec(summary);
  assert.ok(m, summary);
  const types = ['call.ended', 'recording.completed', 'transcription.completed'];
  const events = stream('crm-sync')
    .filter((e) => e.topic.startsWith(`customer_id:${CUSTOMER}:`) && types.includes(e.event_type))
    .slice(0, Number(m[1]));
  const ended = new Set();
  const expected = events.map(({ event_type: type, data: d }) => {
    if (type === 'call.ended') {
      ended.add(d.id);
      return `crm activity ${JSON.stringify({ call: d.id, direction: d.direction, reason: d.hangup_reason, seconds: d.duration })}`;
    }
    if (type === 'recording.completed') {
      return `crm recording ${JSON.stringify({ call: d.call_id, url: d.reference_url, seconds: d.duration, ended: ended.has(d.call_id) })}`;
    }
    return `crm transcript ${JSON.stringify({ call: d.call_id, language: d.language, text: d.text, ended: ended.has(d.call_id) })}`;
  });
  assert.deepEqual(body, expected);
  assert.equal(Number(m[2]), ended.size);
  assert.ok(body.some((l) => l.startsWith('crm recording')), 'no recording within the run');
});

test('presence-panel shows the team, then each presence and availability change of the seeded agents', async () => {
  const { body, summary } = await runExample('presence-panel');
  const m = /^summary: (\d+) agents, (\d+) changes, (\d+) on a call$/.exec(summary);
  assert.ok(m, summary);
  const options = { agents: 4, group: 100, seed: 'presence-panel' };
  const { users } = agentsScenario.roster(options);
  assert.equal(body[0], `team: ${users.join(', ')}`);
  assert.equal(Number(m[1]), users.length);
  // Replays the scenario: every update derives a line per change, showing the board after it.
  const labels = { RINGING: 'ringing', ANSWERED: 'on a call', BRIDGED: 'on a call', '': 'idle' };
  const state = new Map(users.map((u) => [u, { presence: '', availability: 'Available', availabilityStateId: 1 }]));
  const expected = [];
  const onCallAfter = [];
  const plan = agentsScenario.updates(options);
  while (expected.length < body.length) {
    const { user, fields } = plan.next().value;
    const s = state.get(user);
    const presenceChanged = fields.presence !== undefined && fields.presence !== s.presence;
    const availabilityChanged = (fields.availabilityStateId !== undefined && fields.availabilityStateId !== s.availabilityStateId) ||
      (fields.availability !== undefined && fields.availability !== s.availability);
    Object.assign(s, fields);
    const line = `agent ${user}: ${labels[s.presence]} | ${s.availability}`;
    const onCall = [...state.values()].filter((x) => x.presence === 'ANSWERED' || x.presence === 'BRIDGED').length;
    for (const changed of [presenceChanged, availabilityChanged]) {
      if (!changed) continue;
      expected.push(line);
      onCallAfter.push(onCall);
    }
  }
  const changes = Number(m[2]);
  assert.equal(changes, body.length - 1);
  assert.ok(changes >= 10, `only ${changes} changes`);
  assert.deepEqual(body.slice(1), expected.slice(0, changes));
  assert.equal(Number(m[3]), onCallAfter[changes - 1]);
});
