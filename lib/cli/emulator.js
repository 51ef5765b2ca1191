'use strict';

// `voip-realtime emulator`: a local VoIPBIN real-time server with a running scenario, printing
// everything needed to connect to it (URL, a token, a tail command to copy).

const crypto = require('node:crypto');
const fs = require('node:fs');
const { UsageError, parse, number, oneOf } = require('./args');
const { colorEnabled, paint } = require('./format');

const USAGE = `Usage: voip-realtime emulator [options]

Runs a local VoIPBIN real-time server that publishes a simulated contact centre, and prints
its URL, a token and a ready-to-use tail command. Runs until Ctrl-C.

Options:
  --port <n>            port to listen on, 0 picks a free one (default 8080)
  --host <addr>         address to bind (default 127.0.0.1)
  --dialect <d>         documented (default) or live: what the server speaks
  --protocol <p>        voipbin (default) or natterbox: serve Natterbox's CTI presence socket
                        and messages socket (/messages) instead, with a team of agents
                        (docs/protocol-natterbox.md)
  --scenario <name>     callcenter (default; agents with --protocol natterbox), or none for a
                        silent server
  --rate <n>            events per second the scenario aims for (default 20)
  --seed <s>            make the scenario repeatable: same seed, same events
  --agents <n>          agents in the contact centre (default 5)
  --customer-id <uuid>  customer the events belong to (default: from the seed, or random)
  --tls-cert <file>     PEM certificate: serve wss:// (with --tls-key)
  --tls-key <file>      PEM private key for --tls-cert
  --tls-ca <file>       CA that signed --tls-cert, for the printed tail command (default: the
                        certificate itself, right for a self-signed one)
  --json                print the connection details as one JSON line instead of text
  -h, --help            show this help`;

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  dialect: { type: 'string' },
  protocol: { type: 'string' },
  scenario: { type: 'string' },
  rate: { type: 'string' },
  seed: { type: 'string' },
  agents: { type: 'string' },
  'customer-id': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function readPem(flag, file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--${flag} ${JSON.stringify(file)}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
}

function shellQuote(s) {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Parses and checks the emulator options shared with `demo`.
 * @returns {object}
 */
function scenarioOptions(values) {
  const out = {
    rate: values.rate === undefined ? 20 : number('rate', values.rate, { min: 0, minExclusive: true, max: 1e6 }),
    agents: values.agents === undefined ? 5 : number('agents', values.agents, { min: 1, max: 200, integer: true }),
    dialect: values.dialect === undefined ? 'documented' : oneOf('dialect', values.dialect, ['documented', 'live']),
  };
  if (values.seed !== undefined) out.seed = values.seed;
  const customerId = values['customer-id'];
  if (customerId !== undefined && !UUID_RE.test(customerId)) {
    throw new UsageError(`--customer-id must be a UUID, got ${JSON.stringify(customerId)}`);
  }
  if (customerId !== undefined) out.customerId = customerId.toLowerCase();
  else if (out.seed !== undefined) out.customerId = require('../scenarios/callcenter').roster(out).customerId;
  else out.customerId = crypto.randomUUID();
  return out;
}

/**
 * Runs the command.
 * @param {string[]} argv arguments after `emulator`
 * @returns {Promise<number>} the exit code
 */
async function run(argv, { stdout = process.stdout, stderr = process.stderr, env = process.env } = {}) {
  const values = parse(argv, OPTIONS);
  if (values.help) {
    stdout.write(`${USAGE}\n`);
    return 0;
  }
  const port = values.port === undefined ? 8080 : number('port', values.port, { min: 0, max: 65535, integer: true });
  const host = values.host ?? '127.0.0.1';
  if (host === '' || /[\s/]/.test(host)) throw new UsageError(`--host must be an address to bind, got ${JSON.stringify(host)}`);
  // blast is a one-shot benchmark burst (its promise settles when the burst is out), not a
  // scenario that runs until Ctrl-C, so it is not offered here.
  const protocol = oneOf('protocol', values.protocol ?? 'voipbin', ['voipbin', 'natterbox']);
  if (protocol === 'natterbox') {
    if (values.dialect !== undefined) throw new UsageError('--dialect is VoIPBIN\'s; leave it out with --protocol natterbox');
    if (values['customer-id'] !== undefined) throw new UsageError('--customer-id is VoIPBIN\'s; leave it out with --protocol natterbox');
  }
  const scenario = protocol === 'natterbox' ? oneOf('scenario', values.scenario ?? 'agents', ['agents', 'none'])
    : oneOf('scenario', values.scenario ?? 'callcenter', ['callcenter', 'none']);
  const so = scenarioOptions(values);
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  const tls = values['tls-cert'] === undefined ? undefined
    : { cert: readPem('tls-cert', values['tls-cert']), key: readPem('tls-key', values['tls-key']) };
  if (values['tls-ca'] !== undefined) {
    if (!tls) throw new UsageError('--tls-ca needs --tls-cert and --tls-key');
    readPem('tls-ca', values['tls-ca']);
  }

  const { Emulator } = require('../index');
  if (protocol === 'natterbox') {
    return runNatterbox({ Emulator, host, port, tls, scenario, so, values, stdout, stderr, env });
  }
  let emu;
  try {
    const startOptions = { host, port, dialect: so.dialect };
    if (tls) startOptions.tls = tls;
    emu = await Emulator.start(startOptions);
  } catch (err) {
    if (err.code !== 'LISTEN_FAILED') throw err;
    // The message already names the address and the reason; the hint is what to do about it.
    stderr.write(`voip-realtime emulator: ${err.message}\n` +
      `Pick another port with --port <n>, or --port 0 to let the system choose a free one.\n`);
    return 1;
  }

  let handle = null;
  try {
    if (scenario !== 'none') {
      handle = await emu.scenario(scenario, { rate: so.rate, seed: so.seed, customerId: so.customerId, agents: so.agents, dialect: so.dialect });
    }
  } catch (err) {
    await emu.stop();
    throw err;
  }

  const token = emu.issueToken({ customerId: so.customerId, permissions: ['admin'] });
  const topic = `customer_id:${so.customerId}:*:*`;
  const agents = handle && handle.roster ? handle.roster.agents : [];
  // The token goes through the environment: a command line is visible to every local user.
  const tail = ['npx', 'voip-realtime', 'tail', '--url', emu.url, '--topic', topic];
  if (so.dialect === 'live') tail.push('--dialect', 'live');
  if (tls) tail.push('--ca', values['tls-ca'] ?? values['tls-cert']);
  const tailLine = `VOIPBIN_TOKEN=${shellQuote(token)} ${tail.map(shellQuote).join(' ')}`;

  if (values.json) {
    stdout.write(`${JSON.stringify({
      url: emu.url, token, customerId: so.customerId, dialect: so.dialect, scenario,
      seed: handle?.seed ?? so.seed ?? null, agents, tail: tailLine,
    })}\n`);
  } else {
    const c = colorEnabled(stdout, env);
    const label = (s) => paint(c, 'dim', s.padEnd(13));
    const lines = [
      `${paint(c, 'bold', 'voip-realtime emulator')} listening (${so.dialect} dialect)`,
      `  ${label('URL')}${emu.url}`,
      `  ${label('customer id')}${so.customerId}`,
      `  ${label('token')}${token}`,
      `  ${label('topic')}${topic}`,
    ];
    if (scenario !== 'none') {
      const seed = handle?.seed ?? so.seed;
      const cast = scenario === 'callcenter' ? `, ${so.agents} agents` : '';
      lines.push(`  ${label('scenario')}${scenario}, ${so.rate} events/s${cast}${seed !== undefined ? `, seed ${seed}` : ''}`);
    }
    for (const a of agents) lines.push(`  ${label(`agent ${a.name}`)}${a.id}`);
    lines.push('', 'Watch it from another terminal:', `  ${tailLine}`, '', 'Ctrl-C to stop.');
    stdout.write(`${lines.join('\n')}\n`);
  }

  return untilStopped(emu, handle, stderr);
}

// The Natterbox CTI emulator with the agents scenario: prints what tail needs.
async function runNatterbox({ Emulator, host, port, tls, scenario, so, values, stdout, stderr, env }) {
  let emu;
  try {
    emu = await Emulator.start({ host, port, protocol: 'natterbox', ...(tls ? { tls } : {}) });
  } catch (err) {
    stderr.write(`voip-realtime emulator: cannot listen on ${host}:${port}: ${err.code ? `${err.code}: ` : ''}${err.message}\n`);
    return 1;
  }
  const agents = require('../scenarios/agents');
  const { group, users } = agents.roster({ agents: so.agents });
  const rate = values.rate === undefined ? 4 : so.rate;  // presence changes per second
  let handle = null;
  try {
    if (scenario !== 'none') handle = await emu.scenario('agents', { agents: so.agents, rate, seed: so.seed });
    else emu.group(group, users);
  } catch (err) {
    await emu.stop();
    throw err;
  }
  const token = emu.issueToken({ userId: users[0] });
  const topic = `org:${emu.org}:group:${group}:presence`;
  const tail = ['npx', 'voip-realtime', 'tail', '--protocol', 'natterbox', '--url', emu.url, '--token', token, '--topic', topic];
  if (tls) tail.push('--ca', values['tls-ca'] ?? values['tls-cert']);
  const tailLine = tail.map(shellQuote).join(' ');
  if (values.json) {
    stdout.write(`${JSON.stringify({
      url: emu.url, messagesUrl: emu.messagesUrl, token, protocol: 'natterbox', org: emu.org, group, users, scenario,
      seed: so.seed ?? null, tail: tailLine,
    })}\n`);
  } else {
    const c = colorEnabled(stdout, env);
    const label = (s) => paint(c, 'dim', s.padEnd(13));
    const lines = [
      `${paint(c, 'bold', 'voip-realtime emulator')} listening (Natterbox CTI presence and messages)`,
      `  ${label('URL')}${emu.url}`,
      `  ${label('messages URL')}${emu.messagesUrl}`,
      `  ${label('organisation')}${emu.org}`,
      `  ${label('token')}${token}`,
      `  ${label('topic')}${topic}`,
      `  ${label('agents')}${users.join(', ')} (group ${group})`,
    ];
    if (scenario !== 'none') lines.push(`  ${label('scenario')}agents, ${rate} changes/s${so.seed !== undefined ? `, seed ${so.seed}` : ''}`);
    lines.push('', 'Watch it from another terminal:', `  ${tailLine}`, '', 'Ctrl-C to stop.');
    stdout.write(`${lines.join('\n')}\n`);
  }
  return untilStopped(emu, handle, stderr);
}

// Resolves with the exit code once Ctrl-C (or SIGTERM) stopped the emulator.
function untilStopped(emu, handle, stderr) {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      if (handle && typeof handle.stop === 'function') handle.stop();
      try {
        await emu.stop();
      } catch (err) {
        stderr.write(`voip-realtime emulator: stopping: ${err.message}\n`);
        resolve(1);
        return;
      }
      stderr.write(`stopped${handle && typeof handle.published === 'number' ? ` after ${handle.published} events` : ''}\n`);
      resolve(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    // A scenario that fails (its publish threw) leaves a silent server behind: say so.
    if (handle && handle.done && typeof handle.done.then === 'function') {
      handle.done.then(() => {
        if (!stopping && handle.error) stderr.write(`voip-realtime emulator: scenario stopped: ${handle.error.message}\n`);
      });
    }
  });
}

module.exports = { run, USAGE, scenarioOptions, shellQuote };
