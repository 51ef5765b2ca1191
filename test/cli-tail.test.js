'use strict';

// `voip-realtime tail` fed by `voip-realtime emulator`: the printed tail command runs as printed
// (token from the environment), and --type matches an event's own name in either spelling.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');

const { cli } = require('./helpers/pty');
const { typeFilter } = require('../lib/cli/tail');

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'lib', 'cli.js');

async function startEmulatorCommand(args) {
  const emu = cli(['emulator', '--port', '0', ...args]);
  await emu.waitFor('Ctrl-C to stop.', 15000);
  const field = (name) => new RegExp(`^  ${name} +(\\S+)$`, 'm').exec(emu.stdout)?.[1];
  const tailLine = /^ {2}(VOIPBIN_TOKEN=.*)$/m.exec(emu.stdout)?.[1];
  return { emu, url: field('URL'), token: field('token'), topic: field('topic'), tailLine };
}

async function stopEmulatorCommand(emu) {
  emu.kill('SIGINT');
  assert.equal(await emu.exited(10000), 0, emu.stderr);
}

// Runs a shell command line with output collected; resolves with { code, stdout, stderr }.
function shell(line, env) {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', line], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out: ${stderr}`));
    }, 20000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('--type compares the event\'s own event_type, with . and _ the same separator', () => {
  const callStar = typeFilter(['call.*']);
  for (const name of ['call.created', 'call.status', 'call_ringing', 'call_hangup']) assert.equal(callStar(name), true, name);
  for (const name of ['message.received', 'queuecall_created', 'callx']) assert.equal(callStar(name), false, name);
  const underscoreStar = typeFilter(['call_*']);
  assert.equal(underscoreStar('call.status'), true);
  assert.equal(underscoreStar('call_ringing'), true);
  const exact = typeFilter(['call_created', 'message.received']);
  assert.deepEqual(
    ['call.created', 'call_created', 'message_received', 'message.received', 'call.status', 'call_created_x'].map(exact),
    [true, true, true, true, false, false],
  );
  assert.equal(typeFilter(undefined)('anything'), true);
});

test('the printed tail line runs as printed: the token comes from VOIPBIN_TOKEN, not argv', async () => {
  const { emu, token, tailLine } = await startEmulatorCommand(['--seed', 'tail-line', '--rate', '200']);
  try {
    assert.ok(tailLine, emu.stdout);
    assert.doesNotMatch(tailLine, /--token/);
    assert.ok(tailLine.startsWith(`VOIPBIN_TOKEN=${token} npx voip-realtime tail `), tailLine);
    // `npx voip-realtime` is this package's bin; run the same line against the checkout.
    const line = `${tailLine.replace('npx voip-realtime', `'${process.execPath}' '${CLI}'`)} --json --count 4`;
    const env = { ...process.env };
    delete env.VOIPBIN_TOKEN;
    delete env.VOIPBIN_ACCESS_KEY;
    const r = await shell(line, env);
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(events.length, 4);
    for (const e of events) assert.deepEqual(Object.keys(e), ['event_type', 'timestamp', 'topic', 'data']);
  } finally {
    await stopEmulatorCommand(emu);
  }
});

test('tail --type call.* prints the live dialect\'s call_* events', async () => {
  const { emu, url, token, topic } = await startEmulatorCommand(['--seed', 'live-type', '--rate', '200', '--dialect', 'live']);
  try {
    const tail = cli(['tail', '--url', url, '--topic', topic, '--dialect', 'live', '--type', 'call.*', '--json', '--count', '6'],
      { env: { VOIPBIN_TOKEN: token } });
    assert.equal(await tail.exited(20000), 0, tail.stderr);
    const types = tail.stdout.trim().split('\n').map((l) => JSON.parse(l).event_type);
    assert.equal(types.length, 6);
    for (const t of types) assert.match(t, /^call[._][a-z_]+$/);
  } finally {
    await stopEmulatorCommand(emu);
  }
});
