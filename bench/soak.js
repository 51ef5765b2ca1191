#!/usr/bin/env node
'use strict';
// Soak: one client against the emulator for N minutes under a steady event load, with the
// connection taken away over and over: even cycles drop every connection (disconnectAll), odd
// cycles restart the server on the same port. The emulator runs in a child process, so the
// numbers below are the client's own. Every few seconds it prints RSS, open fds, threads and the
// event counts; at the end a verdict, exiting non-zero when:
//   - an event was lost, duplicated or reordered (each cycle publishes only while the client is
//     subscribed, and waits until everything sent has arrived before the next drop, so every
//     event sent must arrive exactly once, in order);
//   - the client did not come back within 30 s of a drop;
//   - open fds or threads grew (lowest value of the last quarter of the run above the value at
//     the first reconnect);
//   - RSS grew by more than --rss-growth-mb (median of the last quarter against the highest
//     value in the first quarter, after warm-up).
// Usage: npm run soak -- [--minutes N] [--rate EVENTS_PER_S] [--cycle SECONDS] [--rss-growth-mb MB]

const { fork } = require('node:child_process');
const fs = require('node:fs');
const { once } = require('node:events');

const CUSTOMER = '5013bc52-da9a-11ee-844f-2fa34248de28';
const CALL = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
const SECRET = 'soak-secret-soak-secret-soak-secret';
const TICK_MS = 50;
const RECOVER_MS = 30000;
const SETTLE_MS = 10000;

function parseArgs(argv) {
  const opts = { minutes: 10, rate: 2000, cycle: 10, rssGrowthMb: 24, sampleSeconds: 5 };
  const names = { '--minutes': 'minutes', '--rate': 'rate', '--cycle': 'cycle', '--rss-growth-mb': 'rssGrowthMb' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const key = names[flag];
    if (!key) throw new Error(`Expected one of ${Object.keys(names).join(', ')} but received ${argv[i]}`);
    const raw = inline !== undefined ? inline : argv[++i];
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`Expected a positive number for ${flag} but received ${raw}`);
    opts[key] = value;
  }
  return opts;
}

// --- the server side (child process) ----------------------------------------------------

async function serve() {
  const { Emulator } = require('..');
  let emu = await Emulator.start({ secret: SECRET });
  const port = Number(new URL(emu.url).port);
  const publish = (from, count) => {
    for (let seq = from; seq < from + count; seq++) {
      emu.publish({ event_type: 'call_progressing', data: { id: CALL, customer_id: CUSTOMER, seq } });
    }
  };
  process.on('message', async (msg) => {
    try {
      if (msg.cmd === 'publish') publish(msg.from, msg.count);
      else if (msg.cmd === 'disconnect') emu.disconnectAll();
      else if (msg.cmd === 'restart') {
        await emu.stop({ grace: 200 });
        emu = await Emulator.start({ secret: SECRET, port });
      } else if (msg.cmd === 'stop') {
        await emu.stop({ grace: 200 });
        process.send({ done: msg.id }, () => process.disconnect());
        return;
      }
      process.send({ done: msg.id });
    } catch (err) {
      process.send({ done: msg.id, error: err.message });
    }
  });
  process.send({ url: emu.url, token: emu.issueToken({ customerId: CUSTOMER, permissions: ['admin'] }) });
}

// --- the client side ----------------------------------------------------------------------

function sample() {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  return {
    rss: process.memoryUsage().rss,
    fds: fs.readdirSync('/proc/self/fd').length,
    threads: Number(/^Threads:\s+(\d+)/m.exec(status)[1]),
  };
}

const mb = (bytes) => (bytes / 1048576).toFixed(1);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function until(predicate, ms) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

async function soak(opts) {
  const { RealtimeClient } = require('..');
  const server = fork(__filename, ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [hello] = await once(server, 'message');
  let nextId = 0;
  const command = async (cmd, extra = {}) => {
    const id = ++nextId;
    server.send({ cmd, id, ...extra });
    for (;;) {
      const [msg] = await once(server, 'message');
      if (msg.done !== id) continue;
      if (msg.error) throw new Error(`emulator ${cmd}: ${msg.error}`);
      return;
    }
  };

  const counts = { sent: 0, received: 0, duplicated: 0, reordered: 0, lost: 0, drops: 0, recoverFailures: 0 };
  const client = new RealtimeClient({
    url: hello.url, token: hello.token, dialect: 'documented',
    reconnect: { initialDelay: 100, maxDelay: 1000 },
  });
  const errors = new Map();
  client.on('error', (err) => errors.set(err.code, (errors.get(err.code) || 0) + 1));
  let expected = 0;
  client.on('event', (event) => {
    const seq = event.data.seq;
    counts.received++;
    if (seq < expected) counts.duplicated++;
    else if (seq > expected) counts.reordered++;
    expected = Math.max(expected, seq + 1);
  });
  await client.connect();
  await client.subscribe(`customer_id:${CUSTOMER}:call:*`);

  const started = Date.now();
  const end = started + opts.minutes * 60000;
  const samples = [];
  let baseline = null;  // fds and threads at the first recovered connection
  const record = () => {
    const s = { t: (Date.now() - started) / 1000, ...sample() };
    samples.push(s);
    const stats = client.stats();
    console.log(`${s.t.toFixed(0).padStart(5)} s  rss ${mb(s.rss).padStart(6)} MB  fds ${String(s.fds).padStart(3)}  ` +
      `threads ${String(s.threads).padStart(2)}  sent ${counts.sent}  received ${counts.received}  ` +
      `in flight ${counts.sent - counts.received}  lost ${counts.lost}  reconnects ${stats.reconnects}  ${client.state}`);
  };
  const sampler = setInterval(record, opts.sampleSeconds * 1000);
  console.log(`soak: ${opts.minutes} min, ${opts.rate} events/s, a drop every ${opts.cycle} s, server ${hello.url}`);
  record();

  const perTick = Math.max(1, Math.round((opts.rate * TICK_MS) / 1000));
  for (let cycle = 0; Date.now() < end; cycle++) {
    const cycleEnd = Math.min(end, Date.now() + opts.cycle * 1000);
    while (Date.now() < cycleEnd) {
      const tick = Date.now();
      const from = counts.sent;
      counts.sent += perTick;  // counted first: the events may arrive before the command returns
      await command('publish', { from, count: perTick });
      await sleep(Math.max(0, TICK_MS - (Date.now() - tick)));
    }
    // Everything sent on this connection arrives before it is taken away.
    if (!(await until(() => counts.received >= counts.sent, SETTLE_MS))) break;
    if (Date.now() >= end) break;
    await command(cycle % 2 === 0 ? 'disconnect' : 'restart');
    counts.drops++;
    // The drop is seen first, then the resubscribe is acknowledged.
    await until(() => client.state !== 'subscribed', 5000);
    if (!(await until(() => client.state === 'subscribed', RECOVER_MS))) {
      counts.recoverFailures++;
      break;
    }
    if (!baseline) baseline = sample();
  }
  await until(() => counts.received >= counts.sent, SETTLE_MS);
  clearInterval(sampler);
  record();
  counts.lost = counts.sent - counts.received;
  const stats = client.stats();
  await client.close();
  const exited = once(server, 'exit');
  await command('stop');
  const [exitCode] = await exited;
  if (exitCode !== 0) console.log(`soak: the emulator process exited with ${exitCode}`);

  return verdict(opts, counts, samples, baseline, stats, errors);
}

function verdict(opts, counts, samples, baseline, stats, errors) {
  const failures = [];
  if (counts.lost !== 0) failures.push(`${counts.lost} events lost`);
  if (counts.duplicated) failures.push(`${counts.duplicated} events duplicated`);
  if (counts.reordered) failures.push(`${counts.reordered} events out of order`);
  if (counts.recoverFailures) failures.push(`the client did not resubscribe within ${RECOVER_MS / 1000} s of a drop`);
  if (counts.drops < 2) failures.push(`only ${counts.drops} drops: run longer than two cycles`);
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const last = samples.slice(-quarter);
  if (baseline) {
    const fds = Math.min(...last.map((s) => s.fds));
    const threads = Math.min(...last.map((s) => s.threads));
    if (fds > baseline.fds) failures.push(`open fds grew from ${baseline.fds} to ${fds}`);
    if (threads > baseline.threads) failures.push(`threads grew from ${baseline.threads} to ${threads}`);
  }
  const early = samples.slice(1, 1 + quarter);
  const rssEarly = Math.max(...(early.length ? early : samples).map((s) => s.rss));
  const rssLate = median(last.map((s) => s.rss));
  const growth = (rssLate - rssEarly) / 1048576;
  if (growth > opts.rssGrowthMb) failures.push(`RSS grew by ${growth.toFixed(1)} MB (bound ${opts.rssGrowthMb} MB)`);

  console.log(`\nsent ${counts.sent}, received ${counts.received}, lost ${counts.lost}, duplicated ${counts.duplicated}, ` +
    `reordered ${counts.reordered}; ${counts.drops} drops, client reconnects ${stats.reconnects}`);
  console.log(`RSS ${mb(rssEarly)} MB early, ${mb(rssLate)} MB late (growth ${growth.toFixed(1)} MB, bound ${opts.rssGrowthMb} MB); ` +
    `fds ${baseline ? baseline.fds : '-'} -> ${Math.min(...last.map((s) => s.fds))}; ` +
    `threads ${baseline ? baseline.threads : '-'} -> ${Math.min(...last.map((s) => s.threads))}`);
  if (errors.size) console.log(`errors seen: ${[...errors].map(([code, n]) => `${code} x${n}`).join(', ')}`);
  console.log(failures.length ? `soak: FAIL: ${failures.join('; ')}` : 'soak: PASS');
  return failures.length ? 1 : 0;
}

if (process.argv[2] === '--serve') {
  serve().catch((err) => {
    console.error(`soak server: ${err.message}`);
    process.exit(1);
  });
} else {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`soak: ${err.message}`);
    process.exit(2);
  }
  // Anything that ends the run without a verdict is a failure.
  process.exitCode = 1;
  soak(opts).then((code) => {
    process.exitCode = code;
  }, (err) => {
    console.error(`soak: ${err.stack}`);
    process.exitCode = 1;
  });
}
