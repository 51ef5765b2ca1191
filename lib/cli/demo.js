'use strict';

// `voip-realtime demo`: an emulator running the callcenter scenario, watched through the public
// client. On a terminal it draws a live dashboard on the alternate screen; otherwise it prints a
// plain event log. The terminal is restored on every way out (q, Ctrl-C, signals, errors).

const crypto = require('node:crypto');
const fs = require('node:fs');
const { UsageError, parse, number, oneOf } = require('./args');
const { PresenceBoard, renderBoard, presenceLine } = require('./presence-board');
const { colorEnabled, formatLine } = require('./format');
const { DashboardModel, render } = require('./dashboard');
const { scenarioOptions } = require('./emulator');
const callcenter = require('../scenarios/callcenter');

const USAGE = `Usage: voip-realtime demo [options]

Starts a local emulator with a simulated contact centre and shows it live through the client:
active calls, the queue, agents, recent messages and events per second. Press q (or Ctrl-C) to
quit. When the output is not a terminal it prints a plain event log instead.

Options:
  --duration <s>    stop by itself after this many seconds (exit code 0)
  --rate <n>        events per second the scenario aims for (default 20)
  --seed <s>        repeat a run: same seed, same events (the seed in use is shown)
  --agents <n>      agents in the contact centre (default 5)
  --dialect <d>     documented (default) or live
  --protocol <p>    voipbin (default) or natterbox: a team of agents on Natterbox's CTI
                    presence socket, shown as a presence board
  -h, --help        show this help`;

const OPTIONS = {
  duration: { type: 'string' },
  rate: { type: 'string' },
  seed: { type: 'string' },
  agents: { type: 'string' },
  dialect: { type: 'string' },
  protocol: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const ENTER = '\x1b[?1049h\x1b[?25l\x1b[2J';
const LEAVE = '\x1b[?25h\x1b[?1049l';
const REDRAW_MS = 200;

/** Owns the terminal while the dashboard is up; `close()` (idempotent) gives it back. */
class Screen {
  #stdout;
  #stdin;
  #draw;
  #onKey;
  #timer = null;
  #open = false;
  #raw = false;
  #onResize = () => this.redraw();
  #onExit = () => this.#restoreSync();

  constructor(stdout, stdin, draw, onKey) {
    this.#stdout = stdout;
    this.#stdin = stdin;
    this.#draw = draw;
    this.#onKey = (chunk) => {
      for (const ch of String(chunk)) onKey(ch);
    };
  }

  open() {
    this.#open = true;
    process.on('exit', this.#onExit);
    this.#stdout.write(ENTER);
    if (this.#stdin && this.#stdin.isTTY && typeof this.#stdin.setRawMode === 'function') {
      this.#stdin.setRawMode(true);
      this.#raw = true;
    }
    if (this.#stdin) {
      this.#stdin.setEncoding('utf8');
      this.#stdin.on('data', this.#onKey);
      this.#stdin.resume();
    }
    this.#stdout.on('resize', this.#onResize);
    this.#timer = setInterval(() => this.redraw(), REDRAW_MS);
    this.redraw();
  }

  redraw() {
    if (!this.#open) return;
    const lines = this.#draw(this.#stdout.columns || 80, this.#stdout.rows || 24);
    let frame = '';
    for (let i = 0; i < lines.length; i++) frame += `\x1b[${i + 1};1H${lines[i]}\x1b[K`;
    this.#stdout.write(`${frame}\x1b[J`);
  }

  close() {
    if (!this.#open) return;
    this.#open = false;
    clearInterval(this.#timer);
    this.#stdout.removeListener('resize', this.#onResize);
    if (this.#stdin) {
      this.#stdin.removeListener('data', this.#onKey);
      if (this.#raw) this.#stdin.setRawMode(false);
      this.#stdin.pause();
    }
    this.#stdout.write(LEAVE);
    process.removeListener('exit', this.#onExit);
  }

  // Last resort when the process exits without close(): only synchronous calls work here.
  #restoreSync() {
    if (!this.#open) return;
    this.#open = false;
    try {
      if (this.#raw) this.#stdin.setRawMode(false);
      fs.writeSync(this.#stdout.fd ?? 1, LEAVE);
    } catch {
      // The terminal is gone; nothing left to restore.
    }
  }
}

/**
 * Runs the command.
 * @param {string[]} argv arguments after `demo`
 * @returns {Promise<number>} the exit code
 */
async function run(argv, { stdout = process.stdout, stderr = process.stderr, stdin = process.stdin, env = process.env } = {}) {
  const values = parse(argv, OPTIONS);
  if (values.help) {
    stdout.write(`${USAGE}\n`);
    return 0;
  }
  const duration = values.duration === undefined ? undefined
    : number('duration', values.duration, { min: 0, minExclusive: true, max: 1e7 });
  if (oneOf('protocol', values.protocol ?? 'voipbin', ['voipbin', 'natterbox']) === 'natterbox') {
    return runNatterbox(values, duration, { stdout, stderr, stdin, env });
  }
  // Always seeded, so any run can be replayed; a fresh seed runs on today's clock.
  const replay = values.seed !== undefined;
  const so = scenarioOptions({ ...values, seed: values.seed ?? crypto.randomBytes(4).toString('hex') });
  if (!replay) so.startTime = Date.now();
  const roster = callcenter.roster(so);

  const { Emulator, RealtimeClient } = require('../index');
  const tty = Boolean(stdout.isTTY);
  const model = new DashboardModel({ agents: roster.agents });
  const started = Date.now();
  let emu = null;
  let client = null;
  let handle = null;
  let screen = null;
  let notice = '';
  let finish;
  const done = new Promise((resolve) => { finish = resolve; });
  let exitCode = null;
  const quit = (code, message) => {
    if (exitCode !== null) return;
    exitCode = code;
    if (message) notice = message;
    finish();
  };
  const onSignal = () => quit(0);
  const onCrash = (err) => {
    if (screen) screen.close();
    stderr.write(`voip-realtime demo: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);

  try {
    emu = await Emulator.start({ host: '127.0.0.1', port: 0, dialect: so.dialect });
    const token = emu.issueToken({ customerId: so.customerId, permissions: ['admin'] });
    try {
      client = new RealtimeClient({ url: emu.url, token, dialect: so.dialect });
    } catch (err) {
      if (err.code === 'INVALID_OPTION') throw new UsageError(`${err.code}: ${err.message}`);
      throw err;
    }
    client.on('error', (err) => { notice = `${err.code}: ${err.message}`; });
    client.on('close', ({ willReconnect, error }) => {
      if (!willReconnect) quit(1, error ? `${error.code}: ${error.message}` : 'connection closed');
    });

    const header = `emulator ${emu.url}, ${so.dialect} dialect, callcenter scenario, ${so.rate} events/s, `
      + `${so.agents} agents, seed ${so.seed}`;
    if (tty) {
      screen = new Screen(stdout, stdin, (width, height) => render(model, {
        width, height, color: colorEnabled(stdout, env), title: emu.url, state: client.state,
        uptimeMs: Date.now() - started, notice,
      }), (key) => {
        if (key === 'q' || key === 'Q' || key === '\x03' || key === '\x04') quit(0);
      });
      client.on('event', (event) => model.apply(event));
      screen.open();
    } else {
      stdout.write(`voip-realtime demo: ${header}\n`);
      client.on('event', (event) => {
        model.apply(event);
        stdout.write(`${formatLine(event)}\n`);
      });
    }

    await client.connect();
    await client.subscribe([`customer_id:${so.customerId}:*:*`]);
    handle = await emu.scenario('callcenter', so);
    if (duration !== undefined) setTimeout(() => quit(0), duration * 1000).unref();
    if (handle && handle.done && typeof handle.done.then === 'function') {
      handle.done.then(() => {
        if (handle.error) quit(1, `scenario stopped: ${handle.error.message}`);
      });
    }
    await done;
  } catch (err) {
    if (screen) screen.close();
    await shutdown();
    if (err instanceof UsageError) throw err;
    stderr.write(`voip-realtime demo: ${err.code ? `${err.code}: ` : ''}${err.message}\n`);
    return 1;
  }

  if (screen) screen.close();
  await shutdown();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const summary = `voip-realtime demo: ${model.total} events in ${seconds} s (seed ${so.seed})`;
  if (exitCode === 0) stdout.write(`${summary}\n`);
  else stderr.write(`${summary}; stopped: ${notice}\n`);
  return exitCode;

  async function shutdown() {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGHUP', onSignal);
    process.removeListener('uncaughtException', onCrash);
    process.removeListener('unhandledRejection', onCrash);
    if (handle && typeof handle.stop === 'function') handle.stop();
    if (client) await client.close().catch(() => {});
    if (emu) await emu.stop().catch(() => {});
  }
}

// The Natterbox demo: the agents scenario on a Natterbox emulator, watched through a natterbox
// client subscribed to the team's group and each agent's unread counts; a presence board on a
// terminal, a plain log otherwise.
async function runNatterbox(values, duration, { stdout, stderr, stdin, env }) {
  if (values.dialect !== undefined) throw new UsageError('--dialect is VoIPBIN\'s; leave it out with --protocol natterbox');
  const agents = values.agents === undefined ? 5 : number('agents', values.agents, { min: 1, max: 200, integer: true });
  const rate = values.rate === undefined ? 4 : number('rate', values.rate, { min: 0, minExclusive: true, max: 1000 });
  const seed = values.seed ?? crypto.randomBytes(4).toString('hex');
  const { Emulator, RealtimeClient } = require('../index');
  const tty = Boolean(stdout.isTTY);
  const board = new PresenceBoard();
  const started = Date.now();
  let emu = null;
  let client = null;
  let handle = null;
  let screen = null;
  // The first way out wins: its code and message are what the run ends with.
  const exit = { code: null, notice: '' };
  const done = new Promise((resolve) => {
    exit.quit = (code, message) => {
      if (exit.code !== null) return;
      exit.code = code;
      if (message) exit.notice = message;
      resolve();
    };
  });
  const quit = exit.quit;
  const onSignal = () => quit(0);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const shutdown = async () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGHUP', onSignal);
    if (screen) screen.close();
    if (handle) handle.stop();
    if (client) await client.close().catch(() => {});
    if (emu) await emu.stop().catch(() => {});
  };
  try {
    emu = await Emulator.start({ protocol: 'natterbox' });
    // The changes start once the board has its snapshot.
    handle = await emu.scenario('agents', { agents, rate, seed, startAfter: 1000 });
    client = new RealtimeClient({
      protocol: 'natterbox', url: emu.url, messagesUrl: emu.messagesUrl, token: emu.issueToken({ userId: handle.users[0] }),
    });
    client.on('error', (err) => { exit.notice = `${err.code}: ${err.message}`; });
    client.on('close', ({ willReconnect, error }) => {
      if (!willReconnect) quit(1, error ? `${error.code}: ${error.message}` : 'connection closed');
    });
    if (tty) {
      screen = new Screen(stdout, stdin, (width, height) => renderBoard(board, {
        width, height, color: colorEnabled(stdout, env), title: emu.url, state: client.state, notice: exit.notice,
      }), (key) => {
        if (key === 'q' || key === 'Q' || key === '\x03' || key === '\x04') quit(0);
      });
      client.on('event', (event) => board.apply(event));
      screen.open();
    } else {
      stdout.write(`voip-realtime demo: emulator ${emu.url}, Natterbox presence, agents scenario, ${rate} changes/s, ${agents} agents, seed ${seed}\n`);
      client.on('event', (event) => {
        board.apply(event);
        stdout.write(`${presenceLine(event)}\n`);
      });
    }
    await client.subscribe(`org:${emu.org}:group:${handle.group}:presence`);
    // Unread counts: one messages socket per agent.
    await client.subscribe(handle.users.map((u) => `org:${emu.org}:user:${u}:messages`));
    if (duration !== undefined) setTimeout(() => quit(0), duration * 1000).unref();
    await done;
  } catch (err) {
    await shutdown();
    stderr.write(`voip-realtime demo: ${err.code ? `${err.code}: ` : ''}${err.message}\n`);
    return 1;
  }
  await shutdown();
  const c = board.counts();
  const summary = `voip-realtime demo: ${board.total} events in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
    `(${board.agents.size} agents: ${c.ringing} ringing, ${c.onCall} on a call, ${c.idle} idle, ${c.unread} unread; seed ${seed})`;
  if (exit.code === 0) stdout.write(`${summary}\n`);
  else stderr.write(`${summary}; stopped: ${exit.notice}\n`);
  return exit.code;
}

module.exports = { run, USAGE, Screen, ENTER, LEAVE };
