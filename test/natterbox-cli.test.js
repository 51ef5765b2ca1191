'use strict';
// The command line against Natterbox: `emulator --protocol natterbox` prints what `tail` needs,
// `tail --protocol natterbox` receives the team's presence, `demo --protocol natterbox` shows the
// presence board (plain log without a terminal, the board on one).

const { test } = require('node:test');
const assert = require('node:assert/strict');

const { cli, cliInPty } = require('./helpers/pty');
const agents = require('../lib/scenarios/agents');
const { presenceLine } = require('../lib/cli/presence-board');

test('emulator --protocol natterbox prints URL, token, topic and a tail line; tail follows the seeded team', async () => {
  const seed = 'cli-natterbox';
  const emu = cli(['emulator', '--port', '0', '--protocol', 'natterbox', '--seed', seed, '--rate', '50']);
  try {
    await emu.waitFor('Ctrl-C to stop.', 15000);
    const field = (name) => new RegExp(`^  ${name} +(\\S+)`, 'm').exec(emu.stdout)?.[1];
    const url = field('URL');
    const token = field('token');
    const topic = field('topic');
    assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(topic, 'org:1:group:100:presence');
    assert.match(emu.stdout, /^ {2}agents +1001, 1002, 1003, 1004, 1005 \(group 100\)$/m);
    assert.match(emu.stdout, /^ {2}scenario +agents, 50 changes\/s, seed cli-natterbox$/m);
    assert.ok(emu.stdout.includes(`npx voip-realtime tail --protocol natterbox --url ${url} --token ${token} --topic ${topic}`), emu.stdout);

    const tail = cli(['tail', '--protocol', 'natterbox', '--url', url, '--token', token, '--topic', topic, '--json', '--count', '40']);
    assert.equal(await tail.exited(20000), 0, tail.stderr);
    const events = tail.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(events.length, 40);
    // The group's snapshot first: every member once, in id order.
    assert.deepEqual(events.slice(0, 5).map((e) => `${e.event_type} ${e.topic}`),
      [1001, 1002, 1003, 1004, 1005].map((u) => `presence_updated org:1:user:${u}:presence`));
    // Then an unbroken stretch of the seed's updates, each pushed as the changed fields.
    const pushed = events.slice(5).filter((e) => e.event_type === 'presence_updated').map((e) => e.data);
    const plan = agents.updates({ agents: 5, seed });
    const expected = [];
    for (let i = 0; i < 5000; i++) {
      const { user, fields } = plan.next().value;
      expected.push({ userId: user, ...fields });
    }
    // The same change can occur more than once in the seed's plan: the stretch starts at the
    // occurrence from which every pushed change follows in order.
    const text = JSON.stringify(pushed);
    const start = expected.findIndex((u, i) => JSON.stringify(expected.slice(i, i + pushed.length)) === text);
    assert.ok(start >= 0, `the pushed changes are not an unbroken stretch of the seed's updates: ${text}`);
    for (const e of events.slice(5)) {
      if (e.event_type === 'presence_updated') continue;
      assert.match(e.event_type, /^(presence_(ringing|answered|bridged|idle)|availability_changed)$/);
    }
  } finally {
    emu.kill('SIGINT');
  }
  assert.equal(await emu.exited(10000), 0, emu.stderr);
  assert.match(emu.stderr, /^stopped after \d+ events$/m);
});

test('tail --protocol natterbox refuses VoIPBIN topics and wildcards (exit 2)', async () => {
  for (const [topic, why] of [
    ['customer_id:5013bc52-da9a-11ee-844f-2fa34248de28:call:5013bc52-da9a-11ee-844f-2fa34248de29', /must be org:<org>:user:<user>:presence/],
    ['org:1:user:*:presence', /Natterbox has no wildcards/],
  ]) {
    const p = cli(['tail', '--protocol', 'natterbox', '--url', 'ws://127.0.0.1:9/', '--token', 't', '--topic', topic]);
    assert.equal(await p.exited(10000), 2);
    assert.match(p.stderr, why);
  }
});

test('demo --protocol natterbox without a terminal prints presence lines and a summary', async () => {
  const demo = cli(['demo', '--protocol', 'natterbox', '--duration', '2', '--seed', 'plain', '--rate', '20', '--agents', '3']);
  assert.equal(await demo.exited(20000), 0, demo.stderr);
  assert.equal(demo.stderr, '');
  const lines = demo.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^voip-realtime demo: emulator ws:\/\/127\.0\.0\.1:\d+\/, Natterbox presence, agents scenario, 20 changes\/s, 3 agents, seed plain$/);
  const summary = /^voip-realtime demo: (\d+) events in \d+\.\d s \(3 agents: (\d+) ringing, (\d+) on a call, (\d+) idle, (\d+) unread; seed plain\)$/.exec(lines.at(-1));
  assert.ok(summary, lines.at(-1));
  const log = lines.slice(1, -1);
  assert.equal(log.length, Number(summary[1]));
  assert.equal(Number(summary[2]) + Number(summary[3]) + Number(summary[4]), 3);
  // The snapshot, then the seed's changes from the first one (the scenario starts after it).
  assert.deepEqual(log.slice(0, 3).map((l) => l.replace(/^\S+/, 'T')), [1001, 1002, 1003].map((u) => presenceLine({
    event_type: 'presence_updated', timestamp: 'x', topic: `org:1:user:${u}:presence`,
    data: { userId: u, presence: '', logicalDirection: '', callChannelUUID: '', availability: 'Available' },
  }).replace(/^\S+/, 'T')));
  const plan = agents.updates({ agents: 3, seed: 'plain' });
  const first = plan.next().value;
  assert.match(log[3], new RegExp(` presence_updated +user ${first.user} `));
  // Unread counts: the seed's changes in order, each agent's last one in the summary.
  const unread = log.filter((l) => / userstatistics_/.test(l));
  assert.ok(unread.length >= 2, `only ${unread.length} unread lines`);
  const changes = agents.unreadUpdates({ agents: 3, seed: 'plain' });
  const last = new Map();
  for (const line of unread) {
    const { user, count } = changes.next().value;
    const shown = count === null ? 'unread cleared' : `${count} unread`;
    assert.match(line, new RegExp(` userstatistics_(created|updated|deleted) +user ${user} +${shown}$`));
    last.set(user, count ?? 0);
  }
  assert.equal(Number(summary[5]), [...last.values()].reduce((a, b) => a + b, 0));
});

test('tail --protocol natterbox with a :messages topic prints one user\'s unread counts', async () => {
  const seed = 'cli-messages';
  const emu = cli(['emulator', '--port', '0', '--protocol', 'natterbox', '--seed', seed, '--rate', '100', '--json']);
  try {
    await emu.waitFor('"messagesUrl"', 15000);
    const info = JSON.parse(emu.stdout.trim().split('\n')[0]);
    assert.match(info.messagesUrl, /^ws:\/\/127\.0\.0\.1:\d+\/messages$/);
    const topic = 'org:1:user:1002:messages';
    const tail = cli(['tail', '--protocol', 'natterbox', '--url', info.url, '--messages-url', info.messagesUrl,
      '--token', info.token, '--topic', topic, '--json', '--count', '4']);
    assert.equal(await tail.exited(20000), 0, tail.stderr);
    const events = tail.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(events.length, 4);
    // An unbroken stretch of the seed's changes for that user.
    const expected = [];
    const changes = agents.unreadUpdates({ agents: 5, seed });
    while (expected.length < 2000) {
      const { user, count } = changes.next().value;
      if (user === 1002) expected.push(count === null ? {} : { unreadMessages: count });
    }
    const got = events.map((e) => e.data.userStatistics);
    for (const e of events) {
      assert.equal(e.topic, topic);
      assert.match(e.event_type, /^userstatistics_(created|updated|deleted)$/);
    }
    const start = expected.findIndex((_, i) => JSON.stringify(expected.slice(i, i + 4)) === JSON.stringify(got));
    assert.ok(start >= 0, `not a stretch of the seed's changes: ${JSON.stringify(got)}`);
  } finally {
    emu.kill('SIGINT');
  }
  assert.equal(await emu.exited(10000), 0, emu.stderr);
});

test('demo --protocol natterbox on a terminal draws the presence board and quits on q', async () => {
  const demo = cliInPty(['demo', '--protocol', 'natterbox', '--seed', 'pty', '--rate', '20'], { cols: 100, rows: 30 });
  try {
    await demo.waitFor('Natterbox presence', 15000);
    await demo.waitFor(/1005 /, 10000);
    assert.match(demo.stdout, /agent {5}call/);
    demo.write('q');
    assert.equal(await demo.exited(10000), 0, demo.stdout.slice(-500));
  } finally {
    demo.kill('SIGKILL');
  }
  assert.match(demo.stdout, /voip-realtime demo: \d+ events in \d+\.\d s \(5 agents: /);
});
