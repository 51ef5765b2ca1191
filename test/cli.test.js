'use strict';

// The `voip-realtime` command line: argument errors (exit 2), connection and credential errors
// (exit 1 with the error code), and the emulator command feeding `tail`.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const { cli } = require('./helpers/pty');
const { freePort } = require('./helpers/util');
const callcenter = require('../lib/scenarios/callcenter');

const CUSTOMER = '5013bc52-da9a-11ee-844f-2fa34248de28';
const TOPIC = `customer_id:${CUSTOMER}:call:*`;

async function run(args, options) {
  const p = cli(args, options);
  const code = await p.exited(15000);
  return { code, stdout: p.stdout, stderr: p.stderr };
}

test('bad arguments exit 2 with the problem and a usage hint', async () => {
  const cases = [
    [['tail', '--tpoic', TOPIC, '--token', 't'], 'voip-realtime tail: unknown option --tpoic (did you mean --topic?)'],
    [['tail', '--token', 't'], 'voip-realtime tail: at least one --topic is required, for example --topic \'customer_id:<uuid>:call:*\''],
    [['tail', '--topic'], 'voip-realtime tail: option --topic needs a value'],
    [['tail', '--json=yes', '--topic', TOPIC], 'voip-realtime tail: option --json takes no value'],
    [['tail', '--topic', TOPIC], 'voip-realtime tail: a credential is required: --token or --access-key (or $VOIPBIN_TOKEN / $VOIPBIN_ACCESS_KEY)'],
    [['tail', '--topic', TOPIC, '--token', 't', '--count', '0'], 'voip-realtime tail: --count must be an integer of at least 1, got "0"'],
    [['tail', '--topic', TOPIC, '--token', 't', '--dialect', 'nope'], 'voip-realtime tail: --dialect must be one of documented, live, auto, got "nope"'],
    [['tail', '--topic', TOPIC, '--token', 't', '--ca', 'no-such-file.pem'], 'voip-realtime tail: --ca "no-such-file.pem": no such file'],
    [['tail', 'extra', '--topic', TOPIC], 'voip-realtime tail: unexpected argument "extra"'],
    [['emulator', '--port', '70000'], 'voip-realtime emulator: --port must be an integer from 0 to 65535, got "70000"'],
    [['emulator', '--rate', 'fast'], 'voip-realtime emulator: --rate must be a number greater than 0 and at most 1000000, got "fast"'],
    // A negative number is the option's value, checked against its range like any other.
    [['emulator', '--rate', '-5'], 'voip-realtime emulator: --rate must be a number greater than 0 and at most 1000000, got "-5"'],
    [['emulator', '--rate=-5'], 'voip-realtime emulator: --rate must be a number greater than 0 and at most 1000000, got "-5"'],
    [['emulator', '--port', '-1'], 'voip-realtime emulator: --port must be an integer from 0 to 65535, got "-1"'],
    [['demo', '--agents', '-3'], 'voip-realtime demo: --agents must be an integer from 1 to 200, got "-3"'],
    [['emulator', '--seed', '--json'], 'voip-realtime emulator: option --seed needs a value'],
    [['emulator', '--seed', '-abc'], 'voip-realtime emulator: option --seed needs a value (a value that starts with \'-\' is written --seed=-abc)'],
    [['emulator', '--prot', '0'], 'voip-realtime emulator: unknown option --prot (did you mean --port?)'],
    [['emulator', '--cust', CUSTOMER], 'voip-realtime emulator: unknown option --cust (did you mean --customer-id?)'],
    [['emulator', '--xyzzy'], 'voip-realtime emulator: unknown option --xyzzy'],
    [['tail', '--topic', TOPIC, '--token', 't', '--tpye', 'call.*'], 'voip-realtime tail: unknown option --tpye (did you mean --type?)'],
    [['emulator', '--dialect', 'natterbox'], 'voip-realtime emulator: --dialect must be one of documented, live, got "natterbox"'],
    [['emulator', '--customer-id', 'abc'], 'voip-realtime emulator: --customer-id must be a UUID, got "abc"'],
    [['emulator', '--tls-cert', 'cert.pem'], 'voip-realtime emulator: --tls-cert and --tls-key go together'],
    [['emulator', '--tls-cert', 'no-cert.pem', '--tls-key', 'no-key.pem'], 'voip-realtime emulator: --tls-cert "no-cert.pem": no such file'],
    [['emulator', '--tls-ca', 'ca.pem'], 'voip-realtime emulator: --tls-ca needs --tls-cert and --tls-key'],
    [['emulator', '--scenario', '../../etc'], 'voip-realtime emulator: --scenario must be one of callcenter, none, got "../../etc"'],
    [['emulator', '--scenario', 'blast'], 'voip-realtime emulator: --scenario must be one of callcenter, none, got "blast"'],
    [['demo', '--duration', '0'], 'voip-realtime demo: --duration must be a number greater than 0 and at most 10000000, got "0"'],
    [['demo', '--agents', '0'], 'voip-realtime demo: --agents must be an integer from 1 to 200, got "0"'],
  ];
  for (const [args, message] of cases) {
    const r = await run(args, { env: { VOIPBIN_TOKEN: undefined, VOIPBIN_ACCESS_KEY: undefined } });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    const command = args[0];
    assert.equal(r.stderr, `${message}\nRun 'voip-realtime ${command} --help' for usage.\n`, args.join(' '));
  }
  const topicError = await run(['tail', '--topic', 'customer_id:abc:call:*', '--token', 't']);
  assert.equal(topicError.code, 2);
  assert.match(topicError.stderr, /^voip-realtime tail: --topic "customer_id:abc:call:\*": .*scope_id "abc" is not a UUID/);

  const unknown = await run(['frob']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^voip-realtime: unknown command "frob"\n\nUsage: voip-realtime <command>/);
  for (const [typed, meant] of [['emulater', 'emulator'], ['tial', 'tail'], ['demp', 'demo'], ['emu', 'emulator']]) {
    const r = await run([typed, '--port', '0']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^voip-realtime: unknown command "${typed}" \\(did you mean ${meant}\\?\\)\n\nUsage: voip-realtime <command>`));
  }
  const none = await run([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^Usage: voip-realtime <command>/);
});

test('--help on every command prints its usage and exits 0', async () => {
  for (const command of ['emulator', 'tail', 'demo']) {
    const r = await run([command, '--help']);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, new RegExp(`^Usage: voip-realtime ${command} `));
    assert.match(r.stdout, /-h, --help/);
  }
  const top = await run(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /emulator +run a local VoIPBIN real-time server/);
});

test('an unreachable server is CONNECT_FAILED, exit 1, without retrying forever', async () => {
  const port = await freePort();
  const started = Date.now();
  const r = await run(['tail', '--url', `ws://127.0.0.1:${port}/v1.0/ws`, '--token', 't', '--topic', TOPIC]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^voip-realtime tail: CONNECT_FAILED: .+\n$/m);
  assert.ok(Date.now() - started < 10000);
});

test('a refused credential is AUTH_FAILED, exit 1', async () => {
  const { Emulator } = require('..');
  const emu = await Emulator.start();
  try {
    const r = await run(['tail', '--url', emu.url, '--token', 'not-a-jwt', '--topic', TOPIC]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^voip-realtime tail: AUTH_FAILED: .+$/m);
    assert.doesNotMatch(r.stderr, /not-a-jwt/, 'the credential must not be printed');
    // The token may also come from the environment.
    const env = await run(['tail', '--url', emu.url, '--topic', TOPIC], { env: { VOIPBIN_TOKEN: 'still-not-a-jwt' } });
    assert.equal(env.code, 1);
    assert.match(env.stderr, /^voip-realtime tail: AUTH_FAILED: /m);
  } finally {
    await emu.stop();
  }
});

test('a refused subscription is reported with the server\'s code, exit 1', async () => {
  const { Emulator } = require('..');
  const emu = await Emulator.start();
  try {
    const token = emu.issueToken({ customerId: CUSTOMER, permissions: ['admin'] });
    const other = 'customer_id:11111111-2222-4333-8444-555555555555:call:*';
    const r = await run(['tail', '--url', emu.url, '--token', token, '--topic', other]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^voip-realtime tail: PERMISSION_DENIED: .+$/m);
  } finally {
    await emu.stop();
  }
});

// Starts `voip-realtime emulator` and reads the connection details it prints.
async function startEmulatorCommand(args) {
  const emu = cli(['emulator', '--port', '0', ...args]);
  await emu.waitFor('Ctrl-C to stop.', 15000);
  const field = (name) => new RegExp(`^  ${name} +(\\S+)$`, 'm').exec(emu.stdout)?.[1];
  return { emu, url: field('URL'), token: field('token'), topic: field('topic'), customerId: field('customer id') };
}

test('the emulator command prints URL, token and a tail line, and tail --json receives its events', async () => {
  const seed = 'cli-test';
  const { emu, url, token, topic, customerId } = await startEmulatorCommand(['--seed', seed, '--rate', '200']);
  try {
    assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+\/v1\.0\/ws$/);
    assert.equal(url.endsWith(':0/v1.0/ws'), false);
    const roster = callcenter.roster({ seed });
    assert.equal(customerId, roster.customerId);
    assert.equal(topic, `customer_id:${customerId}:*:*`);
    assert.ok(token.length > 20);
    assert.match(emu.stdout, /^ {2}scenario +callcenter, 200 events\/s, 5 agents, seed cli-test$/m);
    for (const a of roster.agents) assert.match(emu.stdout, new RegExp(`^ {2}agent ${a.name} +${a.id}$`, 'm'));
    // The printed tail command is complete: same URL, token and topic, the token in the
    // environment rather than among the arguments.
    assert.ok(emu.stdout.includes(`\n  VOIPBIN_TOKEN=${token} npx voip-realtime tail --url ${url} --topic '${topic}'\n`), emu.stdout);
    assert.equal(emu.stdout.split(token).length - 1, 2, 'the token is printed once as itself and once in the tail line');

    const tail = cli(['tail', '--url', url, '--token', token, '--topic', topic, '--json', '--count', '30']);
    assert.equal(await tail.exited(20000), 0, tail.stderr);
    const lines = tail.stdout.trim().split('\n');
    assert.equal(lines.length, 30);
    const received = lines.map((line) => JSON.parse(line));
    // tail joined a running scenario: what it got is an unbroken stretch of the seed's
    // customer-scoped events, exactly as generated.
    const expected = callcenter.generate({ seed, rate: 200, customerId, count: 5000 })
      .filter((e) => e.topic.startsWith('customer_id:'));
    const start = expected.findIndex((e) => JSON.stringify(e) === JSON.stringify(received[0]));
    assert.ok(start >= 0, `first event not in the generated stream: ${lines[0]}`);
    assert.deepEqual(received, expected.slice(start, start + 30));
    // Progress on stderr, in order: before the connection is up, once it is, once subscribed.
    assert.deepEqual(tail.stderr.split('\n').slice(0, 3), [
      `connecting to ${url}?token=*** ...`,
      `connected to ${url}?token=***; subscribing ...`,
      `subscribed to ${topic}`,
    ]);

    // Human output: one line per event, no colour when not a terminal, filtered by --type.
    const human = cli(['tail', '--url', url, '--token', token, '--topic', topic, '--type', 'call.*', '--count', '5']);
    assert.equal(await human.exited(20000), 0, human.stderr);
    const rows = human.stdout.trim().split('\n');
    assert.equal(rows.length, 5);
    for (const row of rows) {
      assert.match(row, /^\d\d:\d\d:\d\d\.\d{3} {2}call\.(created|status|ended|assigned) +[0-9a-f]{8} {2}\S/);
      assert.doesNotMatch(row, /\x1b/);
    }
  } finally {
    emu.kill('SIGINT');
  }
  assert.equal(await emu.exited(10000), 0, emu.stderr);
  assert.match(emu.stderr, /^stopped after \d+ events$/m);
});

test('emulator --json prints one machine-readable line; a taken port is exit 1', async () => {
  const emu = cli(['emulator', '--port', '0', '--json', '--scenario', 'none', '--customer-id', CUSTOMER.toUpperCase()]);
  try {
    await emu.waitFor('\n', 15000);
    const info = JSON.parse(emu.stdout.split('\n')[0]);
    assert.equal(info.customerId, CUSTOMER);
    assert.equal(info.dialect, 'documented');
    assert.equal(info.scenario, 'none');
    assert.deepEqual(info.agents, []);
    assert.match(info.url, /^ws:\/\/127\.0\.0\.1:\d+\/v1\.0\/ws$/);

    const port = Number(/:(\d+)\//.exec(info.url)[1]);
    // A taken port: one message naming address and reason, and what to do; nothing else.
    const taken = await run(['emulator', '--port', String(port)]);
    assert.equal(taken.code, 1);
    assert.equal(taken.stdout, '');
    assert.equal(taken.stderr, `voip-realtime emulator: cannot listen on 127.0.0.1:${port}: Address already in use\n` +
      'Pick another port with --port <n>, or --port 0 to let the system choose a free one.\n');
  } finally {
    emu.kill('SIGTERM');
  }
  assert.equal(await emu.exited(10000), 0);
});

test('emulator --tls-cert serves wss://, and its printed tail command verifies it', async () => {
  const tls = (name) => path.join('test', 'fixtures', 'tls', name);
  const { emu, url, token, topic } = await startEmulatorCommand([
    '--seed', 'tls', '--rate', '200', '--tls-cert', tls('server.pem'), '--tls-key', tls('server-key.pem'), '--tls-ca', tls('ca.pem'),
  ]);
  try {
    assert.match(url, /^wss:\/\/127\.0\.0\.1:\d+\/v1\.0\/ws$/);
    assert.ok(emu.stdout.includes(`--topic '${topic}' --ca ${tls('ca.pem')}\n`), emu.stdout);
    const ok = cli(['tail', '--url', url, '--token', token, '--topic', topic, '--ca', tls('ca.pem'), '--json', '--count', '3']);
    assert.equal(await ok.exited(20000), 0, ok.stderr);
    assert.equal(ok.stdout.trim().split('\n').length, 3);
    // Without the CA the certificate is not trusted: TLS_ERROR, exit 1, no retry loop.
    const refused = cli(['tail', '--url', url, '--token', token, '--topic', topic]);
    assert.equal(await refused.exited(20000), 1);
    assert.match(refused.stderr, /^voip-realtime tail: TLS_ERROR: /m);
  } finally {
    emu.kill('SIGINT');
  }
  assert.equal(await emu.exited(10000), 0, emu.stderr);
});
