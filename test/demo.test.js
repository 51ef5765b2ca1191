'use strict';

// `voip-realtime demo`: the dashboard model and renderer, the full-screen dashboard driven in a
// pseudo-terminal (draws, quits on q / Ctrl-C / --duration, gives the terminal back), and the
// plain event log when the output is not a terminal.

const { test } = require('node:test');
const assert = require('node:assert/strict');

const { cli, cliInPty } = require('./helpers/pty');
const callcenter = require('../lib/scenarios/callcenter');
const { DashboardModel, render } = require('../lib/cli/dashboard');
const { formatLine } = require('../lib/cli/format');

const ENTER_ALT = '\x1b[?1049h';
const LEAVE_ALT = '\x1b[?1049l';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';
const ANSI_RE = /\x1b\[[0-9;?]*[A-Za-z]/g;

test('the dashboard model tracks exactly the open calls, the queue and agent states', () => {
  for (const dialect of ['documented', 'live']) {
    const options = { seed: 'model', dialect, count: 4000 };
    const roster = callcenter.roster(options);
    const events = callcenter.generate(options).filter((e) => dialect === 'live' || e.topic.startsWith('customer_id:'));
    const model = new DashboardModel({ agents: roster.agents });
    let wall = 0;
    for (const e of events) model.apply(e, wall += 10);

    // The same facts, worked out independently from the raw stream.
    const open = new Set();
    const waiting = new Set();
    const status = new Map();
    for (const { event_type: type, data: d } of events) {
      if (type === 'call.created' || type === 'call_created') open.add(d.id);
      if (type === 'call.ended' || type === 'call_hangup') open.delete(d.id);
      if (type === 'queue.joined') waiting.add(d.call_id);
      if (type === 'queue.connected' || type === 'queue.left') waiting.delete(d.call_id);
      if (type === 'queuecall_waiting') waiting.add(d.reference_id);
      if (['queuecall_connecting', 'queuecall_abandoned'].includes(type)) waiting.delete(d.reference_id);
      if (type === 'agent.status') status.set(d.agent_id, d.status);
      if (type === 'agent_status_updated') status.set(d.id, d.status);
    }
    assert.deepEqual(new Set(model.calls.keys()), open, dialect);
    assert.deepEqual(new Set(model.queue.keys()), waiting, dialect);
    assert.deepEqual(new Map([...model.agents].map(([id, a]) => [id, a.status])), status, dialect);
    assert.deepEqual([...model.agents.values()].map((a) => a.name), ['Alice', 'Bob', 'Carol', 'Dave', 'Erin']);
    assert.equal(model.total, events.length);
    assert.equal(model.messages.length, 6);
    // 4000 events, 10 ms apart: the last five seconds hold 500 of them.
    assert.equal(Math.round(model.rate(wall)), 100);
  }
});

test('the dashboard renders exactly the terminal size, with its sections', () => {
  const options = { seed: 'render', count: 3000 };
  const model = new DashboardModel({ agents: callcenter.roster(options).agents });
  let wall = 0;
  for (const e of callcenter.generate(options)) model.apply(e, wall += 20);
  for (const [width, height] of [[80, 24], [120, 40], [40, 12], [200, 60]]) {
    for (const color of [false, true]) {
      const lines = render(model, { width, height, color, title: 'ws://127.0.0.1:1/v1.0/ws', state: 'subscribed', wallNow: wall, uptimeMs: 61000 });
      assert.equal(lines.length, height);
      for (const line of lines) {
        const visible = line.replace(ANSI_RE, '');
        assert.ok(visible.length <= width, `${visible.length} > ${width}: ${JSON.stringify(visible)}`);
        assert.doesNotMatch(visible, /[\x00-\x1f]/);
      }
      const text = lines.map((l) => l.replace(ANSI_RE, '')).join('\n');
      assert.equal(color, lines.join('').includes('\x1b['));
      if (height >= 24) {
        for (const label of ['voip-realtime demo', 'events/s', `ACTIVE CALLS (${model.calls.size})`, 'QUEUE (', 'AGENTS', 'RECENT MESSAGES', 'q quit', 'up 01:01']) {
          assert.ok(text.includes(label), `${label} missing at ${width}x${height}:\n${text}`);
        }
        for (const a of model.agents.values()) assert.match(text, new RegExp(`${a.name} +${a.status}`));
      }
    }
  }
});

test('text from the server cannot inject terminal control sequences', () => {
  const evil = {
    event_type: 'message.received',
    timestamp: '2026-01-15T10:00:00.000000Z',
    topic: 'customer_id:5013bc52-da9a-11ee-844f-2fa34248de28:message:6f0c2b9e-1d7a-4c55-9a3e-0b1e2f3a4b5c',
    data: {
      id: '6f0c2b9e-1d7a-4c55-9a3e-0b1e2f3a4b5c', direction: 'inbound', text: 'hi\x1b[2J\x1b]0;pwned\x07\r\nthere',
      source: { type: 'tel', target: '+1555\x1b[31m' }, destination: { type: 'tel', target: '+15559876543' },
    },
  };
  const line = formatLine(evil);
  assert.doesNotMatch(line, /[\x00-\x1f\x7f]/);
  assert.match(line, /"hi \[2J ]0;pwned {3}there"/);
  const model = new DashboardModel();
  model.apply(evil, 0);
  model.apply({ event_type: 'agent_status_updated', data: { id: '98765432-4321-4321-4321-210987654321', name: 'Eve\x1b[2J', status: 'busy\x07' } }, 0);
  for (const line of render(model, { width: 120, height: 30, color: false, wallNow: 0 })) {
    assert.doesNotMatch(line, /[\x00-\x1f\x7f]/);
  }
  // Payloads that are not objects, or lack ids, are counted and otherwise ignored.
  for (const data of [null, 'x', 42, [], { id: 7 }]) {
    model.apply({ event_type: 'call.created', data }, 0);
    model.apply({ event_type: 'call_hangup', data }, 0);
  }
  assert.equal(model.calls.size, 0);
  assert.equal(model.total, 12);
});

function afterLast(text, marker) {
  return text.slice(text.lastIndexOf(marker) + marker.length);
}

test('on a terminal the demo draws the dashboard, quits on q and restores the screen', async () => {
  const demo = cliInPty(['demo', '--seed', 'pty', '--rate', '50'], { cols: 100, rows: 30, env: { NO_COLOR: undefined } });
  try {
    await demo.waitFor(ENTER_ALT, 15000);
    await demo.waitFor('ACTIVE CALLS', 5000);
    // Wait for a frame that shows events arriving through the client.
    await demo.waitFor(/total [1-9]\d*/, 15000);
    assert.ok(demo.stdout.indexOf(HIDE_CURSOR) > demo.stdout.indexOf(ENTER_ALT));
    assert.match(demo.stdout, /AGENTS/);
    assert.match(demo.stdout, /RECENT MESSAGES/);
    assert.match(demo.stdout, /Alice/);
    assert.equal(demo.stdout.includes(LEAVE_ALT), false);
    demo.write('q');
    assert.equal(await demo.exited(10000), 0, demo.stdout.slice(-500));
  } finally {
    demo.kill('SIGKILL');
  }
  const tail = afterLast(demo.stdout, 'q quit');
  assert.ok(tail.includes(SHOW_CURSOR), 'cursor shown again');
  assert.ok(tail.includes(LEAVE_ALT), 'alternate screen left');
  assert.ok(tail.indexOf(SHOW_CURSOR) < tail.indexOf(LEAVE_ALT));
  // After leaving the alternate screen, only the summary line is printed on the normal screen.
  assert.match(afterLast(demo.stdout, LEAVE_ALT), /^voip-realtime demo: \d+ events in \d+\.\d s \(seed pty\)\r\n$/);
});

test('on a terminal Ctrl-C quits cleanly and --duration stops by itself', async () => {
  const ctrlC = cliInPty(['demo', '--seed', 'ctrl-c', '--rate', '50'], { cols: 80, rows: 24 });
  try {
    await ctrlC.waitFor('ACTIVE CALLS', 15000);
    ctrlC.write('\x03');
    assert.equal(await ctrlC.exited(10000), 0);
  } finally {
    ctrlC.kill('SIGKILL');
  }
  assert.ok(afterLast(ctrlC.stdout, ENTER_ALT).includes(LEAVE_ALT));
  assert.match(afterLast(ctrlC.stdout, LEAVE_ALT), /^voip-realtime demo: \d+ events in/);

  const timed = cliInPty(['demo', '--duration', '2', '--seed', 'timed', '--rate', '50'], { cols: 80, rows: 24 });
  const started = Date.now();
  try {
    assert.equal(await timed.exited(20000), 0, timed.stdout.slice(-500));
  } finally {
    timed.kill('SIGKILL');
  }
  assert.ok(Date.now() - started >= 2000);
  assert.ok(timed.stdout.includes('ACTIVE CALLS'));
  const rest = afterLast(timed.stdout, ENTER_ALT);
  assert.ok(rest.includes(SHOW_CURSOR) && rest.includes(LEAVE_ALT));
  assert.match(afterLast(timed.stdout, LEAVE_ALT), /^voip-realtime demo: \d+ events in [2-9]\.\d s \(seed timed\)\r\n$/);
});

test('without a terminal the demo prints the plain event log and stops with --duration', async () => {
  const seed = 'plain';
  const demo = cli(['demo', '--duration', '2', '--seed', seed, '--rate', '50']);
  assert.equal(await demo.exited(20000), 0, demo.stderr);
  assert.equal(demo.stderr, '');
  assert.doesNotMatch(demo.stdout, /\x1b/);
  const lines = demo.stdout.trimEnd().split('\n');
  const roster = callcenter.roster({ seed });
  assert.match(lines[0], new RegExp(`^voip-realtime demo: emulator ws://127\\.0\\.0\\.1:\\d+/v1\\.0/ws, documented dialect, callcenter scenario, 50 events/s, 5 agents, seed ${seed}$`));
  const summary = /^voip-realtime demo: (\d+) events in (\d+\.\d) s \(seed plain\)$/.exec(lines.at(-1));
  assert.ok(summary, lines.at(-1));
  const count = Number(summary[1]);
  assert.ok(count > 0);
  const log = lines.slice(1, -1);
  assert.equal(log.length, count);
  // Subscribed before the scenario started, so the log is the seed's stream from its first event.
  const expected = callcenter.generate({ seed, rate: 50, customerId: roster.customerId, count: 4000 })
    .filter((e) => e.topic.startsWith('customer_id:'))
    .slice(0, count)
    .map((e) => formatLine(e));
  assert.deepEqual(log, expected);
});
