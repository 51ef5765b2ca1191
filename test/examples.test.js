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

const http = require('node:http');
const os = require('node:os');

const { node, ROOT } = require('./helpers/pty');
const { DEFAULT_PATH } = require('../lib/native');
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

const ENV = { EXAMPLE_SECONDS: '4', VOIPBIN_URL: undefined, VOIPBIN_TOKEN: undefined };

async function runExample(name, dialect) {
  const env = { ...ENV, EXAMPLE_DIALECT: dialect };
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
function stream(seed, dialect = 'documented', extra = {}) {
  if (typeof dialect === 'object') return stream(seed, 'documented', dialect);
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
  return (e) => (e.topics ?? [e.topic]).some((t) => patterns.some((p) => topic.matches(p, t)));
}

const secondsBetween = (from, to) => (from && to ? Math.round((Date.parse(to) - Date.parse(from)) / 1000) : 0);

test('every example is exercised by this file and uses only the public entry point', () => {
  const examples = fs.readdirSync(path.join(ROOT, 'examples')).sort();
  assert.deepEqual(examples, ['README.md', 'agent-desktop.js', 'backend-service.js', 'call-dashboard.js', 'crm-sync.js',
    'electron-agent', 'oneshot-processor.js', 'presence-panel.js', 'scaling-out.js']);
  const sources = [
    ...examples.filter((f) => f.endsWith('.js')).map((f) => path.join('examples', f)),
    ...fs.readdirSync(path.join(ROOT, 'examples', 'electron-agent')).filter((f) => f.endsWith('.js')).map((f) => path.join('examples', 'electron-agent', f)),
  ];
  for (const file of sources) {
    const source = fs.readFileSync(path.join(ROOT, file), 'utf8');
    const requires = [...source.matchAll(/require\(([^)]*)\)/g)].map((m) => m[1].slice(1, -1));
    // Node's own modules, the package by its public names, Electron, and the app's own files.
    // (scaling-out.js runs in test/redis-example.test.js: it needs a redis-server.)
    const foreign = requires.filter((r) => !r.startsWith('node:') && !/^voip-realtime(\/redis)?$/.test(r) && r !== 'electron' && !r.startsWith('./'));
    assert.deepEqual(foreign, [], file);
  }
  assert.ok(sources.filter((f) => fs.readFileSync(path.join(ROOT, f), 'utf8').includes("require('voip-realtime')")).length >= 6);
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

// The agent's own queue and call topics, and the customer's messages (electron-agent).
function agentPatterns() {
  return [`agent_id:${AGENT}:queue:*`, `agent_id:${AGENT}:call:*`, `customer_id:${CUSTOMER}:message:*`];
}

// What an agent's screen shows for these events (electron-agent).
function agentLines(events) {
  const expected = [];
  for (const { event_type: type, data: d } of events) {
    if (type === 'queue.joined') expected.push(`[New Call Alert] caller waiting in queue, position ${d.position}, about ${d.estimated_wait}s`);
    if (type === 'call.assigned') expected.push(`[Customer: ${d.source.target}] offered to you after ${d.wait_time}s in queue`);
    if (type === 'queue.connected') expected.push(`[Connected] call ${d.call_id.slice(0, 8)} after ${d.wait_time}s`);
    if (type === 'call.ended') expected.push(`[Call ended] ${d.hangup_reason}, ${d.duration}s`);
    if (type === 'message.received') expected.push(`[Chat] ${d.source.target}: ${d.text}`);
  }
  return expected;
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

function getJson(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body: JSON.parse(body) }));
    }).on('error', reject);
  });
}

// Calls still active after these call events.
function activeCalls(events) {
  const active = new Set();
  for (const { event_type: type, data } of events) {
    if (type === 'call.created') active.add(data.id);
    if (type === 'call.ended') active.delete(data.id);
  }
  return active.size;
}

test('backend-service: /health reports stats() and the calls it tracks; SIGTERM shuts it down with exit 0', async (t) => {
  const p = node(path.join(ROOT, 'examples', 'backend-service.js'), [], { env: ENV });
  t.after(() => p.kill('SIGKILL'));
  const out = await p.waitFor(/health: (http:\/\/127\.0\.0\.1:\d+\/health)\n/, 15000);
  const healthUrl = /health: (\S+)\n/.exec(out)[1];
  const calls = stream('backend-service').filter(matchingAny([`customer_id:${CUSTOMER}:call:*`]));

  let health;
  for (let i = 0; i < 100; i++) {
    health = await getJson(healthUrl);
    if (health.body.handled >= 30) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(health.status, 200);
  assert.equal(health.type, 'application/json');
  const { state, handled, activeCalls: active, stats } = health.body;
  assert.equal(state, 'subscribed');
  assert.ok(handled >= 30, `only ${handled} events within 10 s`);
  // The body is one synchronous snapshot: every delivered event was handled, none twice.
  assert.equal(stats.delivered, handled);
  assert.ok(stats.received >= stats.delivered);
  assert.equal(stats.reconnects, 0);
  assert.equal(stats.malformed, 0);
  assert.equal(active, activeCalls(calls.slice(0, handled)));
  assert.equal((await new Promise((resolve) => http.get(healthUrl.replace('/health', '/nope'), resolve))).statusCode, 404);

  p.kill('SIGTERM');
  assert.equal(await p.exited(10000), 0, `stderr: ${p.stderr}`);
  assert.equal(p.stderr, '');
  const lines = p.stdout.trimEnd().split('\n');
  assert.equal(lines.at(-2), 'SIGTERM: shutting down');
  const m = /^stopped after (\d+) events, (\d+) calls active$/.exec(lines.at(-1));
  assert.ok(m, lines.at(-1));
  assert.ok(Number(m[1]) >= handled);
  assert.equal(Number(m[2]), activeCalls(calls.slice(0, Number(m[1]))));
});

// The Electron build of the addon when a prebuild exists (npm run prebuild), else the binary this
// run uses (VOIP_REALTIME_NATIVE when set, else the normal build).
function electronBinary() {
  const dir = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
  const prebuilt = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.includes('electron') && f.endsWith('.node')).sort() : [];
  if (prebuilt.length > 0) return path.join(dir, prebuilt[0]);
  return process.env.VOIP_REALTIME_NATIVE ? path.resolve(process.env.VOIP_REALTIME_NATIVE) : DEFAULT_PATH;
}

test('electron-agent: the main process holds the client, the renderer gets the agent\'s events and stats over IPC', async (t) => {
  const binary = fs.realpathSync(electronBinary());
  const p = node(path.join(ROOT, 'examples', 'electron-agent', 'main.js'), [], { env: { ...ENV, VOIP_REALTIME_NATIVE: binary } });
  t.after(() => p.kill('SIGKILL'));
  await p.waitFor(/\n/, 15000);
  // The main process runs the binary it was pointed at.
  const maps = fs.readFileSync(`/proc/${p.child.pid}/maps`, 'utf8');
  const loaded = [...new Set([...maps.matchAll(/ (\/\S+\.node)$/gm)].map((m) => m[1]))];
  assert.deepEqual(loaded, [binary]);

  assert.equal(await p.exited(30000), 0, `stderr: ${p.stderr}`);
  assert.equal(p.stderr, '');
  const lines = p.stdout.trimEnd().split('\n');
  const m = /^summary: (\d+) lines from (\d+) events over IPC; stats over IPC: (\d+) delivered$/.exec(lines.at(-1));
  assert.ok(m, lines.at(-1));
  const body = lines.slice(0, -1);
  const received = Number(m[2]);
  assert.equal(Number(m[1]), body.length);
  // Every event crossed IPC once, in order, as a structured clone the renderer could read.
  const events = stream('electron-agent', { agentIds: [AGENT] }).filter(matchingAny(agentPatterns())).slice(0, received);
  assert.deepEqual(body, agentLines(events));
  assert.ok(Number(m[3]) > 0 && Number(m[3]) <= received, `stats.delivered ${m[3]} of ${received}`);
  assert.ok(body.some((l) => l.startsWith('[New Call Alert]')), 'no queue alert');
  assert.ok(body.some((l) => l.startsWith('[Chat]')), 'no chat message');
});

test('oneshot-processor: takes a batch, checkpoints it, exits; the next run continues after the checkpoint', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vr-oneshot-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const checkpoint = path.join(dir, 'checkpoint.json');
  const types = ['call.created', 'call.status', 'call.ended'];
  const expected = callcenter.generate({ seed: 'oneshot-processor', rate: 1000, durationScale: 0.1, customerId: CUSTOMER, count: 2000 })
    .filter(matchingAny([`customer_id:${CUSTOMER}:call:*`]))
    .filter((e) => types.includes(e.event_type))
    .map((e) => JSON.stringify({ type: e.event_type, call: e.data.id, status: e.data.status, at: e.timestamp }));

  const run = async () => {
    const p = node(path.join(ROOT, 'examples', 'oneshot-processor.js'), [], { env: { ...ENV, CHECKPOINT: checkpoint, BATCH_SIZE: '25' } });
    assert.equal(await p.exited(30000), 0, `stderr: ${p.stderr}`);
    assert.equal(p.stderr, '');
    const lines = p.stdout.trimEnd().split('\n');
    const m = /^batch: (\d+) processed, (\d+) skipped, (\d+) in total; (\d+) ms since start$/.exec(lines.at(-1));
    assert.ok(m, lines.at(-1));
    return { body: lines.slice(0, -1), processed: Number(m[1]), skipped: Number(m[2]), total: Number(m[3]) };
  };

  const first = await run();
  assert.deepEqual(first.body, expected.slice(0, 25));
  assert.deepEqual([first.processed, first.skipped, first.total], [25, 0, 25]);
  const saved = JSON.parse(fs.readFileSync(checkpoint, 'utf8'));
  assert.equal(saved.processed, 25);
  assert.equal(saved.timestamp, JSON.parse(expected[24]).at);

  const second = await run();
  assert.deepEqual(second.body, expected.slice(25, 50));
  assert.deepEqual([second.processed, second.skipped, second.total], [25, 25, 50]);
  assert.deepEqual(fs.readdirSync(dir), ['checkpoint.json'], 'no temporary file left behind');
});

test('presence-panel shows the team, then each presence, availability and unread change of the seeded agents', async () => {
  const { body: lines, summary } = await runExample('presence-panel');
  const m = /^summary: (\d+) agents, (\d+) changes, (\d+) on a call, (\d+) unread$/.exec(summary);
  assert.ok(m, summary);
  const options = { agents: 4, group: 100, seed: 'presence-panel' };
  const { users } = agentsScenario.roster(options);
  // Unread counts arrive on one socket per member: in order per member.
  const body = lines.filter((l) => !l.startsWith('unread '));
  const unread = lines.filter((l) => l.startsWith('unread '));
  const perUser = new Map(users.map((u) => [u, []]));
  for (const l of unread) {
    const u = /^unread agent (\d+): (\d+)$/.exec(l);
    assert.ok(u && perUser.has(Number(u[1])), l);
    perUser.get(Number(u[1])).push(Number(u[2]));
  }
  const expectedUnread = new Map(users.map((u) => [u, []]));
  const unreadPlan = agentsScenario.unreadUpdates(options);
  // A few more than arrived: the run may end between two members' sockets.
  for (let i = 0; i < unread.length + 4; i++) {
    const { user, count } = unreadPlan.next().value;
    expectedUnread.get(user).push(count ?? 0);
  }
  const last = new Map();
  for (const u of users) {
    const got = perUser.get(u);
    assert.deepEqual(got, expectedUnread.get(u).slice(0, got.length), `unread counts of ${u}`);
    if (got.length > 0) last.set(u, got[got.length - 1]);
  }
  assert.ok(unread.length >= 4, `only ${unread.length} unread changes`);
  assert.equal(Number(m[4]), [...last.values()].reduce((a, b) => a + b, 0));
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
