'use strict';

// Workload 8: the Redis Streams bridge. A redis-server and an emulator of its own; each writer
// and reader in a fresh bench/bridge-client.js process.
//   throughput: an unpaced blast of distinct events (the bridge appends identical events once)
//     through the bridge, and through the `ws` peer + ioredis XADD pipeline, into Redis;
//   latency: a blast paced at 5,000 events/s (each event stamped with its send time by the
//     emulator's io thread) through each writer into Redis and out of a consumer group to a
//     processor's handler.
// Usable alone: node bench/bridge.js [--smoke]

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

  constructor(job) {
    this.#proc = fork(path.join(__dirname, 'bridge-client.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
      await flushStreams(server.url);
      const r = new Child({ ...base, role: readerRole, count: cfg.latencyEvents });
      const w = new Child({ ...base, role: writerRole, count: cfg.latencyEvents });
      try {
        await r.next('ready');
        await w.next('ready');
        // Distinct events here too: under load one write may carry more than the pool's 64 frames with
        // one send stamp, and the bridge would rightly append the identical ones once.
        await emu.scenario('blast', { count: cfg.latencyEvents, rate: cfg.rate, ids: cfg.latencyEvents });
        const res = await r.next('result');
        await w.next('result');
        results.latency.push({ client: label, rate: cfg.rate, events: res.events, p50Ms: res.p50Ms, p99Ms: res.p99Ms, maxMs: res.maxMs });
        log(`bench: bridge latency ${label}: p50 ${res.p50Ms.toFixed(3)} ms, p99 ${res.p99Ms.toFixed(3)} ms`);
      } finally {
        r.kill();
        w.kill();
      }
    }
  } finally {
    await emu.stop();
    await server.close();
  }
  return results;
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
  bridgeSection({ smoke, log: (...p) => console.error(...p) }).then((r) => {
    console.log(renderBridge(r, simpleTable));
  }, (err) => {
    console.error(err);
    process.exit(1);
  });
}

module.exports = { bridgeSection, renderBridge };
