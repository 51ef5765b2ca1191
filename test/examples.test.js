'use strict';

// Every example runs on its own (starting an emulator), exits cleanly within its bound, and
// prints exactly what the events it received imply: each example subscribes before its seeded
// scenario starts, so what it saw is a prefix of the seed's stream. Each runs unchanged against
// both emulator dialects (EXAMPLE_DIALECT picks the emulator's; the client decides by itself):
// live events reach the documented listeners through the table of docs/protocol-voipbin.md.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { node, ROOT } = require('./helpers/pty');
const callcenter = require('../lib/scenarios/callcenter');
const agentsScenario = require('../lib/scenarios/agents');
const { topic } = require('../lib/index');
const { counterparts } = require('../schema/events');

const CUSTOMER = '12345678-1234-4234-8234-123456789012';
const AGENT = '98765432-4321-4321-4321-210987654321';
const NIL = '00000000-0000-0000-0000-000000000000';
const DIALECTS = ['documented', 'live'];
const OWNED = new Set(['call', 'groupcall', 'recording']);
const ALIAS = { queuecall: 'queue', transcribe: 'transcription', transcript: 'transcription' };

async function runExample(name, dialect) {
  const env = { EXAMPLE_SECONDS: '4', EXAMPLE_DIALECT: dialect, VOIPBIN_URL: undefined, VOIPBIN_TOKEN: undefined };
  const p = node(path.join(ROOT, 'examples', `${name}.js`), [], { env });
  const started = Date.now();
  const code = await p.exited(30000);
  assert.equal(code, 0, `${name} exit code; stderr: ${p.stderr}`);
  assert.equal(p.stderr, '', `${name} stderr`);
  assert.ok(Date.now() - started >= 4000, `${name} ran its full bound`);
  const lines = p.stdout.trimEnd().split('\n');
  return { lines, summary: lines.at(-1), body: lines.slice(0, -1) };
}

// The seed's stream as the client reports it: the documented name in event_type, the topics the
// event is known under (a live event: its customer topic, then its owner's agent topic or its
// documented resource name).
function stream(seed, dialect, extra = {}) {
  const events = callcenter.generate({ seed, rate: 100, durationScale: 0.1, customerId: CUSTOMER, count: 20000, dialect, ...extra });
  if (dialect === 'documented') return events.map((e) => ({ ...e, topics: [e.topic] }));
  return events.map((e) => {
    const d = e.data;
    const resource = e.event_type.slice(0, e.event_type.indexOf('_'));
    const row = counterparts.find((c) => c.live === e.event_type &&
      Object.entries(c.when || {}).every(([k, v]) => d[k] === v));
    const topics = [`customer_id:${CUSTOMER}:${resource}:${d.id}`];
    if (OWNED.has(resource) && d.owner_type === 'agent' && d.owner_id !== NIL) topics.push(`agent_id:${d.owner_id}:${resource}:${d.id}`);
    else if (ALIAS[resource]) topics.push(`customer_id:${CUSTOMER}:${ALIAS[resource]}:${d.id}`);
    return { event_type: row ? row.documented : e.event_type, server_event_type: e.event_type, topics, data: d };
  });
}

function matchingAny(patterns) {
  return (e) => e.topics.some((t) => patterns.some((p) => topic.matches(p, t)));
}

const secondsBetween = (from, to) => (from && to ? Math.round((Date.parse(to) - Date.parse(from)) / 1000) : 0);

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

for (const dialect of DIALECTS) {
  test(`call-dashboard lists calls as they ring, answer and end (${dialect} emulator)`, async () => {
    const { body, summary } = await runExample('call-dashboard', dialect);
    const m = /^summary: (\d+) call events, (\d+) calls ended, (\d+) still active$/.exec(summary);
    assert.ok(m, summary);
    const count = Number(m[1]);
    assert.ok(count >= 20, `only ${count} call events`);
    const labels = { ringing: 'Incoming Call', dialing: 'Outgoing Call', answered: 'Active Call', progressing: 'Active Call' };
    const events = stream('call-dashboard', dialect)
      .filter(matchingAny([`customer_id:${CUSTOMER}:call:*`]))
      .filter((e) => ['call.created', 'call.status', 'call.ended'].includes(e.event_type))
      .slice(0, count);
    const active = new Map();
    const expected = [];
    const seen = { 'call.created': 0, 'call.status': 0, 'call.ended': 0 };
    let ended = 0;
    for (const { event_type: type, data: d } of events) {
      seen[type]++;
      if (type === 'call.created') {
        active.set(d.id, { number: ['outbound', 'outgoing'].includes(d.direction) ? d.destination.target : d.source.target, status: d.status });
        expected.push(`${(labels[d.status] ?? d.status).padEnd(14)}| ${d.source.target.padEnd(13)} | ${d.status}`);
      } else if (type === 'call.status') {
        const call = active.get(d.id);
        expected.push(`${(labels[d.status] ?? 'Call').padEnd(14)}| ${call.number.padEnd(13)} | ${d.status} (was ${d.previous_status ?? call.status})`);
        call.status = d.status;
      } else {
        const duration = d.duration ?? secondsBetween(d.tm_progressing, d.tm_hangup);
        expected.push(`${'Ended'.padEnd(14)}| ${active.get(d.id).number.padEnd(13)} | ${d.hangup_reason} after ${duration}s`);
        active.delete(d.id);
        ended++;
      }
    }
    assert.deepEqual(body, expected);
    assert.equal(Number(m[2]), ended);
    assert.equal(Number(m[3]), active.size);
    // Every handler fired, whatever the dialect.
    for (const [type, n] of Object.entries(seen)) assert.ok(n > 0, `no ${type} within the run`);
    if (dialect === 'live') assert.ok(body.some((l) => / \| progressing \(was ringing\)$/.test(l)), 'no answered call');
  });
}

for (const dialect of DIALECTS) {
  test(`agent-desktop shows queue alerts, its own connected calls and the chat (${dialect} emulator)`, async () => {
    const { body, summary } = await runExample('agent-desktop', dialect);
    const m = /^summary: (\d+) events delivered to agent (\S+)$/.exec(summary);
    assert.ok(m, summary);
    assert.equal(m[2], AGENT);
    const patterns = [`customer_id:${CUSTOMER}:queue:*`, `agent_id:${AGENT}:call:*`, `customer_id:${CUSTOMER}:message:*`];
    const events = stream('agent-desktop', dialect, { agentIds: [AGENT] }).filter(matchingAny(patterns)).slice(0, Number(m[1]));
    const expected = [];
    for (const { event_type: type, data: d } of events) {
      if (type === 'queue.joined') {
        expected.push(`[New Call Alert] caller waiting in queue${d.position === undefined ? '' : `, position ${d.position}, about ${d.estimated_wait}s`}`);
      }
      if (type === 'call.assigned') expected.push(`[Customer: ${d.source.target}] offered to you after ${d.wait_time}s in queue`);
      if (type === 'queue.connected' && (d.agent_id ?? d.service_agent_id) === AGENT) {
        expected.push(`[Connected] call ${(d.call_id ?? d.reference_id).slice(0, 8)} after ${d.wait_time ?? Math.round(d.duration_waiting / 1000)}s`);
      }
      if (type === 'call.ended') expected.push(`[Call ended] ${d.hangup_reason}, ${d.duration ?? secondsBetween(d.tm_progressing, d.tm_hangup)}s`);
      if (type === 'message.received') expected.push(`[Chat] ${d.source.target}: ${d.text}`);
    }
    assert.deepEqual(body, expected);
    // (an ended call of this agent's is too rare within the bound to require one)
    for (const prefix of ['[New Call Alert]', '[Connected]', '[Chat]']) {
      assert.ok(body.some((l) => l.startsWith(prefix)), `no ${prefix} line`);
    }
    // The live server has no counterpart of call.assigned (docs/protocol-voipbin.md).
    assert.equal(body.some((l) => l.startsWith('[Customer:')), dialect === 'documented');
  });
}

for (const dialect of DIALECTS) {
  test(`crm-sync turns call endings, recordings and transcripts into CRM records (${dialect} emulator)`, async () => {
    const { body, summary } = await runExample('crm-sync', dialect);
    const m = /^summary: (\d+) records for (\d+) calls$/.exec(summary);
    assert.ok(m, summary);
    const types = ['call.ended', 'recording.completed', 'transcription.completed'];
    const patterns = ['call', 'recording', 'transcription'].map((r) => `customer_id:${CUSTOMER}:${r}:*`);
    const events = stream('crm-sync', dialect)
      .filter((e) => types.includes(e.event_type))
      .filter(matchingAny(patterns))
      .slice(0, Number(m[1]));
    const ended = new Set();
    const directions = { incoming: 'inbound', outgoing: 'outbound' };
    const expected = events.map(({ event_type: type, data: d }) => {
      if (type === 'call.ended') {
        ended.add(d.id);
        const seconds = d.duration ?? secondsBetween(d.tm_progressing, d.tm_hangup);
        return `crm activity ${JSON.stringify({ call: d.id, direction: directions[d.direction] ?? d.direction, reason: d.hangup_reason, seconds })}`;
      }
      const call = d.call_id ?? d.reference_id;
      if (type === 'recording.completed') {
        const seconds = d.duration ?? secondsBetween(d.tm_start, d.tm_end);
        return `crm recording ${JSON.stringify({ call, url: d.reference_url, seconds, ended: ended.has(call) })}`;
      }
      return `crm transcript ${JSON.stringify({ call, language: d.language, text: d.text, ended: ended.has(call) })}`;
    });
    assert.deepEqual(body, expected);
    assert.equal(Number(m[2]), ended.size);
    for (const kind of ['activity', 'recording', 'transcript']) {
      assert.ok(body.some((l) => l.startsWith(`crm ${kind}`)), `no ${kind} within the run`);
    }
  });
}

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
