'use strict';

// Workload 8: the Redis Streams bridge. A redis-server and an emulator of its own; each writer
// and reader in a fresh bench/bridge-client.js process.
//   throughput: an unpaced blast of distinct events (the bridge appends identical events once)
//     through the bridge, and through the `ws` peer + ioredis XADD pipeline, into Redis;
//   latency: a blast paced at 5,000 events/s (each event stamped with its send time by the
//     emulator's io thread) through each writer into Redis and out of a consumer group to a
//     processor's handler.
// Split latency (alone only: node bench/bridge.js --split[=ROUNDS]): every writer with every reader
// (bridge or plain writer, consume() or plain reader) at 5,000 events/s, ROUNDS times in an
// order that alternates, each run reporting three segments from the send stamp: arrival in the
// writer's JS, Redis's answer to the write carrying the event, the reader's handler; plus CPU
// per event of writer, reader and redis-server. Medians over the rounds.
// With --together, two paths run at a time against the same blast (see splitSection).
// Usable alone: node bench/bridge.js [--smoke] [--split[=ROUNDS] [--together]]

const { fork } = require('node:child_process');
const path = require('node:path');
const { CUSTOMER_ID, median } = require('./lib/common.js');

const STEP_TIMEOUT_MS = 180000;
const WRITERS = [['voip-realtime bridge', 'bridge', 'processor'], ['ws + ioredis', 'plain', 'plain-reader']];

function config(smoke) {
  return {
    events: smoke ? 3200 : 100000,   // the blast's pool holds at most 100,000 distinct events
    runs: smoke ? 1 : 3,
    rate: 5000,
    latencyEvents: smoke ? 500 : 25000,
  };
}

class Child {
  #proc;
  #messages = [];
  #waiters = [];

  constructor(job, script = path.join(__dirname, 'bridge-client.js')) {
    this.#proc = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#proc.on('message', (m) => {
      const w = this.#waiters.shift();
      if (w) w(m);
      else this.#messages.push(m);
    });
    this.#proc.send(job);
  }

  next(type) {
    const m = this.#messages.shift();
    const got = m ? Promise.resolve(m) : new Promise((resolve) => this.#waiters.push(resolve));
    return Promise.race([
      got.then((msg) => {
        if (msg.type === 'failed') throw new Error(msg.message);
        if (msg.type !== type) throw new Error(`expected ${type}, got ${msg.type}`);
        return msg;
      }),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no ${type} within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS).unref()),
    ]);
  }

  kill() {
    this.#proc.kill('SIGKILL');
  }
}

async function flushStreams(redisUrl) {
  const Redis = require('ioredis');
  const r = new Redis(redisUrl);
  await r.flushall();
  await r.quit();
}

/**
 * Runs the workload; resolves with `{ throughput: [...], latency: [...], config }`.
 * @param {{ smoke?: boolean, log?: (...parts: string[]) => void }} [options]
 */
async function bridgeSection({ smoke = false, log = () => {} } = {}) {
  const { Emulator } = require('..');
  const { RedisServer } = require('../test/helpers/redis-server.js');
  const cfg = config(smoke);
  const server = await RedisServer.start();
  const emu = await Emulator.start({ customerId: CUSTOMER_ID });
  const token = emu.issueToken({});
  const base = { url: emu.url, token, redis: server.url, stream: 'bench' };
  const results = { config: cfg, throughput: [], latency: [] };
  try {
    for (const [label, writerRole] of WRITERS) {
      const runs = [];
      for (let i = 0; i < cfg.runs; i++) {
        await flushStreams(server.url);
        const w = new Child({ ...base, role: writerRole, count: cfg.events });
        try {
          await w.next('ready');
          await emu.scenario('blast', { count: cfg.events, ids: cfg.events });
          runs.push(await w.next('result'));
        } finally {
          w.kill();
        }
      }
      const row = {
        client: label,
        eventsPerSecond: median(runs.map((r) => (r.events * 1000) / r.wallMs)),
        cpuSecondsPer1M: median(runs.map((r) => (r.cpuMs / 1000) * (1e6 / r.events))),
      };
      results.throughput.push(row);
      log(`bench: bridge throughput ${label}: ${Math.round(row.eventsPerSecond)} events/s`);
    }
    for (const [label, writerRole, readerRole] of WRITERS) {
      const [{ reader: res }] = await latencyRun(emu, base, cfg, [{ writerRole, readerRole }], false);
      results.latency.push({ client: label, rate: cfg.rate, events: res.events, p50Ms: res.p50Ms, p99Ms: res.p99Ms, maxMs: res.maxMs });
      log(`bench: bridge latency ${label}: p50 ${res.p50Ms.toFixed(3)} ms, p99 ${res.p99Ms.toFixed(3)} ms`);
    }
  } finally {
    await emu.stop();
    await server.close();
  }
  return results;
}

const READERS = [['consume()', 'processor'], ['plain reader', 'plain-reader']];

// CPU seconds redis-server used so far (INFO cpu: user + system).
async function redisCpuSeconds(redisUrl) {
  const Redis = require('ioredis');
  const r = new Redis(redisUrl);
  const info = await r.info('cpu');
  await r.quit();
  const field = (name) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)[1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}

// One paced latency run of writer -> reader paths at the same time, each on a stream of its own
// (`{ writerRole, readerRole, stream?, script? }`); resolves with `[{ writer, reader }]` per path,
// and, with `stamps` and one path, redis-server's CPU during it.
async function latencyRun(emu, base, cfg, paths, stamps) {
  await flushStreams(base.redis);
  const children = [];
  try {
    const pairs = paths.map((p, i) => {
      const job = { ...base, stream: p.stream ?? (paths.length === 1 ? base.stream : `${base.stream}:${i}`), count: cfg.latencyEvents };
      const r = new Child({ ...job, role: p.readerRole }, p.script);
      const w = new Child({ ...job, role: p.writerRole, stamps }, p.script);
      children.push(r, w);
      return { r, w };
    });
    for (const { r, w } of pairs) {
      await r.next('ready');
      await w.next('ready');
    }
    const redisBefore = stamps && paths.length === 1 ? await redisCpuSeconds(base.redis) : NaN;
    // Distinct events here too: under load one write may carry more than the pool's 64 frames with
    // one send stamp, and the bridge would rightly append the identical ones once. Every
    // subscribed connection gets the whole blast at the rate.
    await emu.scenario('blast', { count: cfg.latencyEvents, rate: cfg.rate, ids: cfg.latencyEvents });
    const results = [];
    for (const { r, w } of pairs) results.push({ reader: await r.next('result'), writer: await w.next('result') });
    const redisCpuMs = Number.isNaN(redisBefore) ? NaN : (await redisCpuSeconds(base.redis) - redisBefore) * 1000;
    for (const res of results) res.redisCpuMs = redisCpuMs;
    return results;
  } finally {
    for (const c of children) c.kill();
  }
}

function splitRun({ writer, reader, redisCpuMs }) {
  return {
    arrivalP50: writer.arrival.p50Ms, arrivalP99: writer.arrival.p99Ms,
    committedP50: writer.committed.p50Ms, committedP99: writer.committed.p99Ms,
    handlerP50: reader.p50Ms, handlerP99: reader.p99Ms, handlerMax: reader.maxMs,
    writerCpuUsPerEvent: (writer.cpuMs * 1000) / writer.events,
    readerCpuUsPerEvent: (reader.cpuMs * 1000) / reader.events,
    redisCpuUsPerEvent: (redisCpuMs * 1000) / reader.events,
  };
}

/**
 * The split latency runs; resolves with `{ config, rows: [{ writer, reader, runs, median }] }`.
 * `together`: two paths at a time (bridge -> consume() beside ws + ioredis -> plain reader, then
 * bridge -> plain reader beside ws + ioredis -> consume()), so the paths of a pair share whatever
 * else loads the machine; redis-server's CPU is then not attributed.
 * @param {{ rounds?: number, together?: boolean, smoke?: boolean, log?: (...parts: string[]) => void }} [options]
 */
async function splitSection({ rounds = 6, together = false, smoke = false, log = () => {} } = {}) {
  const { Emulator } = require('..');
  const { RedisServer } = require('../test/helpers/redis-server.js');
  const os = require('node:os');
  const cfg = config(smoke);
  const combos = [];
  for (const [wLabel, writerRole] of WRITERS) for (const [rLabel, readerRole] of READERS) combos.push({ wLabel, writerRole, rLabel, readerRole, runs: [] });
  // Runs of one or two combos: [bridge->consume, plain->plain] and [bridge->plain, plain->consume].
  const groups = together ? [[combos[0], combos[3]], [combos[1], combos[2]]] : combos.map((c) => [c]);
  const server = await RedisServer.start();
  const emu = await Emulator.start({ customerId: CUSTOMER_ID });
  const base = { url: emu.url, token: emu.issueToken({}), redis: server.url, stream: 'bench' };
  const loadBefore = os.loadavg();
  try {
    for (let round = 0; round < rounds; round++) {
      // Alternate the order, so no path always runs first (or right after a given other one).
      const order = round % 2 === 0 ? groups : groups.map((g) => [...g].reverse()).reverse();
      for (const group of order) {
        const results = await latencyRun(emu, base, cfg, group, true);
        group.forEach((c, i) => {
          const run = splitRun(results[i]);
          c.runs.push(run);
          log(`bench: split ${c.wLabel} -> ${c.rLabel} round ${round + 1}: handler p50 ${run.handlerP50.toFixed(3)} p99 ${run.handlerP99.toFixed(3)} ms`);
        });
      }
    }
  } finally {
    await emu.stop();
    await server.close();
  }
  const rows = combos.map((c) => {
    const med = {};
    for (const k of Object.keys(c.runs[0])) med[k] = median(c.runs.map((r) => r[k]));
    return { writer: c.wLabel, reader: c.rLabel, runs: c.runs, median: med };
  });
  return { config: { ...cfg, rounds, together }, loadavg: { before: loadBefore, after: os.loadavg() }, rows };
}

/** The split runs' table as text. */
function renderSplit(r, table) {
  const load = (l) => l.map((x) => x.toFixed(2)).join(' ');
  const how = r.config.together ? 'two paths at a time' : 'one path at a time';
  const out = [`8s. Redis Streams bridge, split: server send -> writer JS (arrival) -> Redis answered the write (committed) -> handler, at ${fmt(r.config.rate)} events/s, ${fmt(r.config.latencyEvents)} events, ${how}, medians of ${r.config.rounds} runs (load ${load(r.loadavg.before)} -> ${load(r.loadavg.after)})`];
  out.push(table(['writer', 'reader', 'arrival p50', 'p99', 'committed p50', 'p99', 'handler p50', 'p99', 'writer CPU us/ev', 'reader CPU us/ev', 'redis CPU us/ev'],
    r.rows.map(({ writer, reader, median: m }) => [writer, reader, fmt(m.arrivalP50, 3), fmt(m.arrivalP99, 3),
      fmt(m.committedP50, 3), fmt(m.committedP99, 3), fmt(m.handlerP50, 3), fmt(m.handlerP99, 3),
      fmt(m.writerCpuUsPerEvent, 1), fmt(m.readerCpuUsPerEvent, 1), fmt(m.redisCpuUsPerEvent, 1)])));
  out.push('', 'handler p99 per run:');
  for (const row of r.rows) out.push(`  ${row.writer} -> ${row.reader}: ${row.runs.map((x) => x.handlerP99.toFixed(2)).join(' ')}`);
  return out.join('\n');
}

function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
}

/** The workload's tables as text. */
function renderBridge(r, table) {
  const out = [`8. Redis Streams bridge: ${fmt(r.config.events)} distinct events into Redis, and server send -> processor handler at ${fmt(r.config.rate)} events/s (${fmt(r.config.latencyEvents)} events)`];
  out.push(table(['writer', 'events/s', 'CPU-s/1M'],
    r.throughput.map((t) => [t.client, fmt(t.eventsPerSecond), fmt(t.cpuSecondsPer1M, 2)])));
  out.push('');
  out.push(table(['path', 'events/s', 'p50 ms', 'p99 ms', 'max ms'],
    r.latency.map((l) => [l.client, fmt(l.rate), fmt(l.p50Ms, 3), fmt(l.p99Ms, 3), fmt(l.maxMs, 3)])));
  return out.join('\n');
}

// A plain fixed-width table when run alone.
function simpleTable(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

if (require.main === module) {
  const smoke = process.argv.includes('--smoke');
  const split = process.argv.find((a) => a === '--split' || a.startsWith('--split='));
  const log = (...p) => console.error(...p);
  const rounds = split && split.includes('=') ? Number(split.slice('--split='.length)) : 6;
  if (split && !(Number.isInteger(rounds) && rounds > 0)) {
    console.error(`Expected a positive integer for --split but received ${JSON.stringify(split.slice('--split='.length))}`);
    process.exit(2);
  }
  const together = process.argv.includes('--together');
  const job = split
    ? splitSection({ rounds, together, smoke, log }).then((r) => renderSplit(r, simpleTable))
    : bridgeSection({ smoke, log }).then((r) => renderBridge(r, simpleTable));
  job.then((text) => {
    console.log(text);
  }, (err) => {
    console.error(err);
    process.exit(1);
  });
}

module.exports = { bridgeSection, renderBridge, splitSection, renderSplit, latencyRun, config };
