#!/usr/bin/env node
'use strict';

// `npm run bench`: the same workloads through voip-realtime and its peers, a table on stdout and
// bench/results.json. The server (bench/server.js) and every measured client (bench/client.js,
// bench/cold.js) run in processes of their own.
//
// Usage: node bench/run.js [--smoke] [--runs=N] [--events=N] [--server=emulator|ws] [--pacer=blast|publish]
//          [--clients=voip-realtime,ws,undici,ceiling] [--sections=throughput,dialects,latency,cold,memory,matcher,bridge]
//          [--workloads=all-data,type-topic,filter-90,filter-99] [--out=FILE] [--quiet] [--profile=DIR [--perf]]
// --profile writes a V8 CPU profile of each voip-realtime throughput client to DIR (summarise them
// with bench/profile-summary.js); --perf also records the whole process, io thread included, with
// `perf record` during the measured phase.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { WORKLOADS, CUSTOMER_ID, jsCpuSecPer1M, median } = require('./lib/common.js');
const { Proc } = require('./lib/proc.js');

const ROOT = path.resolve(__dirname, '..');

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    runs: { type: 'string' },
    events: { type: 'string' },
    server: { type: 'string', default: 'emulator' },
    pacer: { type: 'string', default: 'blast' },
    clients: { type: 'string' },
    sections: { type: 'string' },
    workloads: { type: 'string' },
    rates: { type: 'string' },
    'latency-runs': { type: 'string' },
    out: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    profile: { type: 'string' },
    perf: { type: 'boolean', default: false },
    readme: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log(`Usage: node bench/run.js [--smoke] [--runs=N] [--events=N] [--server=emulator|ws] [--pacer=blast|publish]
  [--clients=voip-realtime,ws,undici,ceiling] [--sections=throughput,dialects,latency,cold,memory,matcher,bridge]
  [--workloads=all-data,type-topic,filter-90,filter-99] [--rates=20000,100000] [--latency-runs=N]
  [--out=FILE] [--quiet] [--profile=DIR [--perf]] [--readme]

--rates sets the latency section's event rates; --latency-runs its runs per client and rate
(default: 9, or --runs when that is more).
--readme also writes the rendered tables into README.md between the bench markers.
See bench/README.md for the workloads.`);
  process.exit(0);
}

const SMOKE = args.smoke;
// Event counts are multiples of 1,600 so that every workload's pool (64 or 100 events) divides them.
const RUNS = Number(args.runs || (SMOKE ? 1 : 3));
const CONFIG = {
  runs: RUNS,
  events: Number(args.events || (SMOKE ? 3200 : 1000000)),
  prime: SMOKE ? 1600 : 64000,
  eventSize: 300,
  // The first rate is workload 4; the second loads the machine (the server alone then needs more
  // than one of the two cores) to show how each client behaves when CPUs are scarce.
  latencyRates: args.rates ? args.rates.split(',').map(Number) : [20000, 100000],
  latencyEvents: SMOKE ? 1000 : 100000,
  // p99 moves by a factor of two or three from one run to the next for every client (bench/
  // PROFILE.md, workload 4), so the latency rows take their medians over more runs than the
  // throughput rows need.
  latencyRuns: Number(args['latency-runs'] || (SMOKE ? 1 : Math.max(9, RUNS))),
  coldRuns: SMOKE ? 1 : 5,
  subscriptionPatterns: SMOKE ? 20000 : 100000,
  matcherMinTime: SMOKE ? 0.01 : 0.3,
  // Each size is measured this many times, the repetitions of the sizes in random order, so the
  // ratio between sizes compares numbers taken side by side, not one size's quiet second with
  // another's busy one.
  matcherRepetitions: SMOKE ? 2 : 9,
  server: args.server,
  pacer: args.pacer,
};
if (!Number.isInteger(CONFIG.runs) || CONFIG.runs < 1) fail(`--runs must be a positive integer, got ${args.runs}`);
if (!Number.isInteger(CONFIG.latencyRuns) || CONFIG.latencyRuns < 1) {
  fail(`--latency-runs must be a positive integer, got ${args['latency-runs']}`);
}
if (!Number.isInteger(CONFIG.events) || CONFIG.events <= 0 || CONFIG.events % 1600 !== 0) {
  fail(`--events must be a positive multiple of 1600, got ${args.events}`);
}
if (!CONFIG.latencyRates.every((r) => Number.isInteger(r) && r > 0)) fail(`--rates must be positive integers, got ${args.rates}`);
if (!['emulator', 'ws'].includes(CONFIG.server)) fail(`--server must be emulator or ws, got ${args.server}`);
if (!['blast', 'publish'].includes(CONFIG.pacer)) fail(`--pacer must be blast or publish, got ${args.pacer}`);

const ALL_CLIENTS = ['voip-realtime', 'ws', 'undici', 'ceiling'];
const CLIENTS = args.clients ? args.clients.split(',') : ALL_CLIENTS;
for (const c of CLIENTS) if (!ALL_CLIENTS.includes(c)) fail(`unknown client ${c}`);
const NETWORK_CLIENTS = CLIENTS.filter((c) => c !== 'ceiling');
const ALL_SECTIONS = ['throughput', 'dialects', 'latency', 'cold', 'memory', 'matcher', 'bridge'];
const SECTIONS = args.sections ? args.sections.split(',') : ALL_SECTIONS;
for (const s of SECTIONS) if (!ALL_SECTIONS.includes(s)) fail(`unknown section ${s}`);
const WORKLOAD_NAMES = args.workloads ? args.workloads.split(',') : Object.keys(WORKLOADS);
for (const w of WORKLOAD_NAMES) if (!WORKLOADS[w]) fail(`unknown workload ${w} (known: ${Object.keys(WORKLOADS).join(', ')})`);
const OUT = path.resolve(args.out || path.join(__dirname, 'results.json'));

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(2);
}

function log(...parts) {
  if (!args.quiet) console.error(...parts);
}

// ---- sections ------------------------------------------------------------------------------

let server = null;
let serverInfo = null;
// A stand-in server for workloads the main server cannot serve (see serverFor).
let fallback = null;
let nextId = 1;
const notes = [];

function rotate(list, by) {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

// Workload 3 needs a server that sends events no pattern matches. When the emulator's blast has
// no such mode the workload runs against the `ws` stand-in instead, and the row says so.
async function serverFor(wl) {
  if (!wl.unfiltered || serverInfo.unfilteredBlast) return { proc: server, info: serverInfo, name: CONFIG.server };
  if (!fallback) {
    const proc = new Proc('server.js');
    const info = await proc.request({ cmd: 'start', backend: 'ws' }, 'started');
    fallback = { proc, info, name: 'ws' };
    notes.push(`The ${CONFIG.server} server's blast cannot send events that match no pattern, so workload 3 ` +
      'ran against the ws stand-in server (bench/server.js --backend ws).');
    log(`bench: workload 3 uses the ws stand-in server (pid ${proc.pid})`);
  }
  return fallback;
}

async function blast(srv, count, wl) {
  return srv.proc.request({
    cmd: 'blast', id: nextId++, count, size: CONFIG.eventSize, pool: wl.pool, unfiltered: wl.unfiltered,
  }, 'blasted');
}

function profileArgs(client, name) {
  if (!args.profile || client !== 'voip-realtime') return [];
  fs.mkdirSync(args.profile, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args.profile)}`, `--cpu-prof-name=${name}.cpuprofile`,
    '--perf-basic-prof-only-functions'];
}

// `perf record` of one process; resolves, once perf is recording, to the function that stops it.
async function startPerf(pid, name) {
  const { spawn } = require('node:child_process');
  const file = path.join(path.resolve(args.profile), `${name}.perf.data`);
  fs.rmSync(file, { force: true });
  const perf = spawn('perf', ['record', '-F', '999', '-g', '-o', file, '-p', String(pid)], { stdio: 'ignore' });
  let exited = false;
  const exit = new Promise((resolve) => perf.once('exit', () => {
    exited = true;
    resolve();
  }));
  perf.on('error', () => {});
  // A SIGINT that arrives while perf is still attaching to the threads ends it before it has
  // recorded anything (the file then says "data size 0"): wait for its header, then a little.
  for (let i = 0; i < 200 && !exited && !fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500));
  // SIGINT makes perf write its header and collect build ids before it exits, which on a busy
  // machine takes longer than a few seconds; killed before that, the file is as good as empty.
  return () => {
    const timer = setTimeout(() => perf.kill('SIGKILL'), 120000);
    perf.kill('SIGINT');
    return exit.then(() => clearTimeout(timer));
  };
}

async function throughputRun(client, name) {
  const wl = WORKLOADS[name];
  const srv = await serverFor(wl);
  const child = new Proc('client.js', [], ['--expose-gc', ...profileArgs(client, name)]);
  let stopPerf = null;
  try {
    child.send({
      cmd: 'job', kind: 'throughput', client, workload: name, url: srv.info.url, token: srv.info.token,
      prime: CONFIG.prime, count: CONFIG.events,
    });
    await child.next('ready');
    await blast(srv, CONFIG.prime, wl);
    await child.next('primed');
    if (args.perf && args.profile && client === 'voip-realtime') stopPerf = await startPerf(child.pid, name);
    await child.request({ cmd: 'go' }, 'started');
    const blasted = client === 'ceiling' ? null : blast(srv, CONFIG.events, wl);
    const result = await child.next('result');
    if (stopPerf) await stopPerf();
    stopPerf = null;
    const report = blasted ? await blasted : null;
    await child.stop();
    return { ...check(client, name, result, report), server: srv.name };
  } finally {
    if (stopPerf) await stopPerf();
    child.kill();
  }
}

// Refuses numbers that would not mean what the table says.
function check(client, name, r, report) {
  const wl = WORKLOADS[name];
  const expected = (CONFIG.events / wl.pool) * wl.matchPerPool;
  if (r.delivered !== expected) throw new Error(`${client} ${name}: ${r.delivered} events delivered, expected ${expected}`);
  if (client === 'ceiling') {
    if (r.poolTexts !== wl.pool) {
      throw new Error(`ceiling ${name}: captured ${r.poolTexts} distinct events, the pool has ${wl.pool}` +
        (wl.unfiltered ? ' (does the server send events no pattern matches?)' : ''));
    }
  } else if (r.received !== CONFIG.events || r.filtered !== CONFIG.events - expected) {
    throw new Error(`${client} ${name}: received ${r.received} and filtered ${r.filtered} of ${CONFIG.events}` +
      ` events, expected ${CONFIG.events} and ${CONFIG.events - expected}` +
      (wl.unfiltered ? ' (this workload needs a server that sends events no pattern matches)' : ''));
  }
  const out = {
    eventsPerSec: (r.events / r.wallMs) * 1000,
    cpuSecPer1M: (r.cpuMs / 1000) * (1e6 / r.events),
    jsCpuSecPer1M: jsCpuSecPer1M(r),
    threads: r.threads,
    wallMs: r.wallMs,
    rssMb: r.memory.rss / 1048576,
    heapUsedMb: r.memory.heapUsed / 1048576,
  };
  // The io thread's own capacity: wire frames per CPU-second of that thread alone.
  if (Number.isFinite(r.ioCpuMs) && r.ioCpuMs > 0) out.ioFramesPerCpuSec = r.received / (r.ioCpuMs / 1000);
  if (report) {
    out.serverCpuPercent = (report.cpuMs / r.wallMs) * 100;
    out.bytesPerEvent = r.bytes / r.events;
  }
  return out;
}

async function throughputSection() {
  const rows = [];
  for (const name of WORKLOAD_NAMES) {
    const runs = new Map(CLIENTS.map((c) => [c, []]));
    for (let r = 0; r < CONFIG.runs; r++) {
      for (const client of rotate(CLIENTS, r)) {
        const res = await throughputRun(client, name);
        log(`  ${WORKLOADS[name].title.padEnd(28)} ${client.padEnd(14)} run ${r + 1}: ` +
          `${Math.round(res.eventsPerSec)} ev/s, ${res.cpuSecPer1M.toFixed(2)} CPU-s/1M` +
          (res.jsCpuSecPer1M === undefined ? '' : ` (JS thread ${res.jsCpuSecPer1M.toFixed(2)})`));
        runs.get(client).push(res);
      }
    }
    const group = CLIENTS.map((client) => {
      const list = runs.get(client);
      const row = {
        workload: name,
        title: WORKLOADS[name].title,
        client,
        eventsPerSec: median(list.map((x) => x.eventsPerSec)),
        cpuSecPer1M: median(list.map((x) => x.cpuSecPer1M)),
        jsCpuSecPer1M: median(list.map((x) => x.jsCpuSecPer1M)),
        server: list[0].server,
        rssMb: median(list.map((x) => x.rssMb)),
        heapUsedMb: median(list.map((x) => x.heapUsedMb)),
        runs: list,
      };
      if (list.every((x) => x.ioFramesPerCpuSec !== undefined)) {
        row.ioFramesPerCpuSec = median(list.map((x) => x.ioFramesPerCpuSec));
      }
      if (client !== 'ceiling') {
        row.serverCpuPercent = median(list.map((x) => x.serverCpuPercent));
        row.bytesPerEvent = median(list.map((x) => x.bytesPerEvent));
      }
      return row;
    });
    const ws = group.find((g) => g.client === 'ws');
    const ceiling = group.find((g) => g.client === 'ceiling');
    for (const g of group) {
      if (ws) g.ratioToWs = g.eventsPerSec / ws.eventsPerSec;
      if (ceiling) g.ratioToCeiling = g.eventsPerSec / ceiling.eventsPerSec;
    }
    rows.push(...group);
  }
  return rows;
}

// One latency run of one client at `rate`, in a fresh child process.
async function latencyRun(rate, client, r) {
  const child = new Proc('client.js', [], ['--expose-gc']);
  try {
    child.send({
      cmd: 'job', kind: 'latency', client, url: serverInfo.url, token: serverInfo.token,
      prime: CONFIG.prime, count: CONFIG.latencyEvents,
    });
    await child.next('ready');
    await blast({ proc: server }, CONFIG.prime, WORKLOADS['all-data']);
    await child.next('primed');
    await child.request({ cmd: 'go' }, 'started');
    const paced = server.request({ cmd: 'pace', id: nextId++, rate, count: CONFIG.latencyEvents, pacer: CONFIG.pacer }, 'paced');
    const res = await child.next('result');
    const report = await paced;
    await child.stop();
    res.serverCpuPercent = (report.cpuMs / res.wallMs) * 100;
    res.pacer = report.pacer;
    log(`  4. latency at ${rate}/s ${client.padEnd(14)} run ${r + 1}: p50 ${res.p50Ms.toFixed(3)} ms, ` +
      `p99 ${res.p99Ms.toFixed(3)} ms, max ${res.maxMs.toFixed(3)} ms`);
    return res;
  } finally {
    child.kill();
  }
}

async function latencySection() {
  const rows = [];
  for (const rate of CONFIG.latencyRates) {
    const runs = new Map(NETWORK_CLIENTS.map((c) => [c, []]));
    for (let r = 0; r < CONFIG.latencyRuns; r++) {
      for (const client of rotate(NETWORK_CLIENTS, r)) runs.get(client).push(await latencyRun(rate, client, r));
    }
    for (const client of NETWORK_CLIENTS) {
      const list = runs.get(client);
      rows.push({
        client,
        rate,
        events: CONFIG.latencyEvents,
        p50Ms: median(list.map((x) => x.p50Ms)),
        p99Ms: median(list.map((x) => x.p99Ms)),
        maxMs: median(list.map((x) => x.maxMs)),
        cpuSecPer1M: median(list.map((x) => (x.cpuMs / 1000) * (1e6 / x.events))),
        serverCpuPercent: median(list.map((x) => x.serverCpuPercent)),
        pacer: list[0].pacer,
        runs: list,
      });
    }
  }
  return rows;
}

async function coldSection() {
  const rows = [];
  const runs = new Map(NETWORK_CLIENTS.map((c) => [c, []]));
  await server.request({ cmd: 'ticker', on: true }, 'ticker');
  try {
    for (let r = 0; r < CONFIG.coldRuns; r++) {
      for (const client of rotate(NETWORK_CLIENTS, r)) {
        const job = { client, url: serverInfo.url, token: serverInfo.token, pattern: `customer_id:${CUSTOMER_ID}:call:*` };
        const child = new Proc('cold.js', [JSON.stringify(job)]);
        try {
          const res = await child.next('result', 60000);
          await child.stop();
          runs.get(client).push(res);
        } finally {
          child.kill();
        }
      }
    }
  } finally {
    await server.request({ cmd: 'ticker', on: false }, 'ticker');
  }
  for (const client of NETWORK_CLIENTS) {
    const list = runs.get(client);
    const row = { client, runs: list };
    for (const k of ['bootMs', 'requireMs', 'connectMs', 'subscribeMs', 'firstEventMs', 'totalMs']) {
      row[k] = median(list.map((x) => x[k]));
    }
    rows.push(row);
    log(`  5. cold start ${client.padEnd(14)} first event at ${row.totalMs.toFixed(1)} ms`);
  }
  return rows;
}

async function memorySection(throughputRows) {
  const rows = [];
  for (const client of NETWORK_CLIENTS) {
    const child = new Proc('client.js', [], ['--expose-gc']);
    let res;
    try {
      child.send({ cmd: 'job', kind: 'subs', client, url: serverInfo.url, token: serverInfo.token, patterns: CONFIG.subscriptionPatterns });
      res = await child.next('result');
      await child.stop();
    } finally {
      child.kill();
    }
    const after = throughputRows.find((t) => t.client === client && t.workload === 'all-data');
    const row = {
      client,
      patterns: res.patterns,
      rssBytesPerSubscription: res.rssBytesPerSubscription,
      heapBytesPerSubscription: res.heapBytesPerSubscription,
    };
    if (after) {
      row.afterEvents = CONFIG.events;
      row.rssMb = after.rssMb;
      row.heapUsedMb = after.heapUsedMb;
    }
    rows.push(row);
    log(`  6. memory ${client.padEnd(14)} ${row.rssBytesPerSubscription.toFixed(0)} B RSS, ` +
      `${row.heapBytesPerSubscription.toFixed(0)} B heap per subscription`);
  }
  return rows;
}

function matcherSection() {
  const buildDir = path.resolve(ROOT, process.env.VR_BENCH_BUILD_DIR || 'build-bench');
  const exe = path.join(buildDir, 'vr_matcher_bench');
  const quiet = args.quiet ? 'pipe' : ['ignore', 'ignore', 'inherit'];
  const steps = [
    ['cmake', ['-S', ROOT, '-B', buildDir, '-DVR_BENCH=ON', '-DCMAKE_BUILD_TYPE=Release']],
    ['cmake', ['--build', buildDir, '--target', 'vr_matcher_bench', '--parallel', '2']],
  ];
  for (const [cmd, cmdArgs] of steps) {
    const res = spawnSync(cmd, cmdArgs, { cwd: ROOT, stdio: quiet, timeout: 600000 });
    if (res.status !== 0) {
      throw new Error(`'${cmd} ${cmdArgs.join(' ')}' failed (exit ${res.status}); the matcher benchmark needs ` +
        'Google Benchmark (Debian: apt-get install libbenchmark-dev)');
    }
  }
  const res = spawnSync(exe, [
    `--benchmark_min_time=${CONFIG.matcherMinTime}`, `--benchmark_repetitions=${CONFIG.matcherRepetitions}`,
    '--benchmark_enable_random_interleaving=true', '--benchmark_format=json',
  ], { cwd: ROOT, encoding: 'utf8', timeout: 600000, maxBuffer: 16 * 1024 * 1024 });
  if (res.status !== 0) throw new Error(`${exe} failed (exit ${res.status}): ${res.stderr}`);
  return matcherRows(JSON.parse(res.stdout).benchmarks);
}

// One row per set size from Google Benchmark's per-repetition entries (its own aggregates are
// left out): the median CPU and wall time, the fastest and slowest repetition, and the median
// against the smallest set's.
function matcherRows(entries) {
  const bySize = new Map();
  for (const b of entries) {
    if (b.run_type === 'aggregate') continue;
    const patterns = Number(b.run_name.split('/')[1]);
    if (!bySize.has(patterns)) bySize.set(patterns, []);
    bySize.get(patterns).push(b);
  }
  const rows = [...bySize.entries()].sort((a, b) => a[0] - b[0]).map(([patterns, reps]) => {
    const cpu = reps.map((b) => b.cpu_time);
    return {
      patterns,
      nsPerMatch: median(cpu),
      minNsPerMatch: Math.min(...cpu),
      maxNsPerMatch: Math.max(...cpu),
      wallNsPerMatch: median(reps.map((b) => b.real_time)),
      repetitions: reps.length,
      iterations: reps.reduce((sum, b) => sum + b.iterations, 0),
    };
  });
  for (const row of rows) row.ratioToSmallest = row.nsPerMatch / rows[0].nsPerMatch;
  return rows;
}

// ---- output --------------------------------------------------------------------------------

function fmt(n, digits = 0) {
  if (n === undefined || n === null || !Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 || i === 1 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function render(results) {
  const out = [];
  const m = results.machine;
  out.push(`voip-realtime benchmarks: ${m.cores} cores (${m.cpu}), Node ${m.node}, server: ${results.config.server} ` +
    `in its own process; medians of ${results.config.runs} run(s)`);
  if (results.throughput) {
    out.push('', `Throughput, ${fmt(results.config.events)} events per run`);
    out.push(table(['workload', 'client', 'events/s', 'CPU-s/1M', 'x ws', 'x ceiling', 'server CPU', 'B/event',
      'io frames/CPU-s'],
    results.throughput.map((r) => [r.title, r.client, fmt(r.eventsPerSec), fmt(r.cpuSecPer1M, 2),
      fmt(r.ratioToWs, 2), fmt(r.ratioToCeiling, 2),
      r.serverCpuPercent === undefined ? '-' : `${fmt(r.serverCpuPercent)}%`, fmt(r.bytesPerEvent),
      fmt(r.ioFramesPerCpuSec)])));
    out.push('io frames/CPU-s: frames the client\'s io thread read per second of its own CPU time ' +
      '(/proc/<pid>/task/<tid>/schedstat), what it could take with a core to itself.');
  }
  if (results.dialects) out.push('', require('./dialects.js').renderDialects(results.dialects, table, fmt));
  if (results.latency) {
    const how = results.latency[0].pacer === 'blast'
      ? 'paced by the emulator\'s io thread, stamped just before each write'
      : 'published on a 1 ms timer, stamped before each publish';
    out.push('', `4. Latency, server send to listener, ${fmt(CONFIG.latencyEvents)} events at each rate, ${how} ` +
      `(workload 4 is ${fmt(CONFIG.latencyRates[0])}/s; the higher rate loads the machine)`);
    out.push(table(['client', 'events/s', 'p50 ms', 'p99 ms', 'max ms', 'CPU-s/1M', 'server CPU'],
      results.latency.map((r) => [r.client, fmt(r.rate), fmt(r.p50Ms, 3), fmt(r.p99Ms, 3), fmt(r.maxMs, 3), fmt(r.cpuSecPer1M, 2), `${fmt(r.serverCpuPercent)}%`])));
    for (const c of latencyAgainstWs(results.latency)) {
      out.push(`p99 against ws at ${fmt(c.rate)}/s: ${fmt(c.ratioOfMedians, 2)}x (medians of ${c.runs} run(s)); run by run ` +
        `${fmt(c.minRatio, 2)}-${fmt(c.maxRatio, 2)}x, median ${fmt(c.medianRatio, 2)}x, ours lower in ${c.lower} of ${c.runs}`);
    }
  }
  if (results.coldStart) {
    out.push('', '5. Cold start, fresh process (ms since process start)');
    out.push(table(['client', '', 'node boot', 'require', 'connect', 'subscribe', 'first event', 'total'],
      results.coldStart.map((r) => [r.client, '', fmt(r.bootMs, 1), fmt(r.requireMs, 1), fmt(r.connectMs, 1),
        fmt(r.subscribeMs, 1), fmt(r.firstEventMs, 1), fmt(r.totalMs, 1)])));
  }
  if (results.memory) {
    out.push('', `6. Memory: after ${fmt(results.config.events)} events (workload 1), and per subscription at ${fmt(results.config.subscriptionPatterns)} patterns`);
    out.push(table(['client', '', 'RSS MB', 'heap MB', 'B/sub RSS', 'B/sub heap'],
      results.memory.map((r) => [r.client, '', fmt(r.rssMb, 1), fmt(r.heapUsedMb, 1), fmt(r.rssBytesPerSubscription),
        fmt(r.heapBytesPerSubscription)])));
  }
  if (results.matcher) {
    const reps = results.matcher[0].repetitions;
    out.push('', `7. Native matcher alone (vr::topic_matcher::matches, half hits, CPU time; medians of ${reps} ` +
      'repetitions per size, the sizes interleaved in random order)');
    out.push(table(['patterns', '', 'ns/match', 'range', 'wall ns/match', 'x 10 patterns'],
      results.matcher.map((r) => [fmt(r.patterns), '', fmt(r.nsPerMatch, 1),
        `${fmt(r.minNsPerMatch, 1)}-${fmt(r.maxNsPerMatch, 1)}`, fmt(r.wallNsPerMatch, 1), fmt(r.ratioToSmallest, 2)])));
  }
  if (results.bridge) out.push('', require('./bridge.js').renderBridge(results.bridge, table));
  for (const note of results.notes) out.push('', `Note: ${note}`);
  return out.join('\n');
}

// voip-realtime's p99 against ws's per rate: the ratio of the medians the table shows, and the
// ratios of the runs taken side by side (run i of both clients came from the same round).
function latencyAgainstWs(rows) {
  const out = [];
  for (const ours of rows.filter((r) => r.client === 'voip-realtime')) {
    const ws = rows.find((r) => r.client === 'ws' && r.rate === ours.rate);
    if (!ws) continue;  // --clients without ws
    const ratios = ours.runs.map((x, i) => x.p99Ms / ws.runs[i].p99Ms);
    out.push({
      rate: ours.rate,
      runs: ratios.length,
      ratioOfMedians: ours.p99Ms / ws.p99Ms,
      medianRatio: median(ratios),
      minRatio: Math.min(...ratios),
      maxRatio: Math.max(...ratios),
      lower: ratios.filter((x) => x < 1).length,
    });
  }
  return out;
}

// Replaces the block between the bench markers of README.md with the tables of this run.
function writeReadme(rendered, date) {
  const file = path.join(__dirname, '..', 'README.md');
  const text = fs.readFileSync(file, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error('README.md has no bench markers');
  const block = `${start}\nMeasured by \`npm run bench\` on ${date.slice(0, 10)} (\`bench/results.json\`); ` +
    'compare the ratios, which come from one run on one machine, not the absolute numbers.\n\n' +
    `\`\`\`text\n${rendered}\n\`\`\`\n`;
  fs.writeFileSync(file, text.slice(0, a) + block + text.slice(b));
}

// ---- main ----------------------------------------------------------------------------------

async function main() {
  const results = {
    version: 1,
    date: new Date().toISOString(),
    smoke: SMOKE,
    machine: {
      cores: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
      cpu: os.cpus()[0] ? os.cpus()[0].model : 'unknown',
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
      loadAverage: os.loadavg(),
    },
    config: { ...CONFIG, clients: CLIENTS },
  };
  const needServer = SECTIONS.some((s) => !['matcher', 'bridge', 'dialects'].includes(s));
  if (needServer) {
    server = new Proc('server.js');
    serverInfo = await server.request({ cmd: 'start', backend: CONFIG.server }, 'started');
    log(`bench: server (${CONFIG.server}) pid ${server.pid} at ${serverInfo.url}`);
  }
  // A failing section is reported and the others still run, so one problem never throws away
  // a long run's numbers; the exit code says that something failed.
  const errors = [];
  const attempt = async (section, fn) => {
    if (!SECTIONS.includes(section)) return undefined;
    try {
      return await fn();
    } catch (err) {
      errors.push(`${section}: ${err && err.message ? err.message : err}`);
      log(`bench: section ${section} failed: ${err && err.stack ? err.stack : err}`);
      return undefined;
    }
  };
  try {
    results.throughput = await attempt('throughput', throughputSection);
    results.dialects = await attempt('dialects', () => require('./dialects.js').dialectSection({
      config: CONFIG, log, workloads: WORKLOAD_NAMES, execArgv: (name) => profileArgs('voip-realtime', name),
      perf: (pid, name) => (args.perf && args.profile ? startPerf(pid, name) : null),
    }));
    results.latency = await attempt('latency', latencySection);
    results.coldStart = await attempt('cold', coldSection);
    results.memory = await attempt('memory', () => memorySection(results.throughput || []));
  } finally {
    for (const p of [server, fallback && fallback.proc]) {
      if (!p) continue;
      p.send({ cmd: 'stop' });
      await p.stop();
    }
  }
  results.matcher = await attempt('matcher', matcherSection);
  results.bridge = await attempt('bridge', () => require('./bridge.js').bridgeSection({ smoke: SMOKE, log }));
  results.notes = notes;
  results.errors = errors;
  const tmp = `${OUT}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(results, null, 2)}\n`);
  fs.renameSync(tmp, OUT);
  const rendered = render(results);
  console.log(rendered);
  console.log(`\nwrote ${path.relative(process.cwd(), OUT) || OUT}`);
  if (args.readme && !SMOKE) writeReadme(rendered, results.date);
  if (errors.length > 0) {
    console.error(`bench: ${errors.length} section(s) failed:\n  ${errors.join('\n  ')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(`bench: ${err && err.stack ? err.stack : err}`);
  if (server) server.kill();
  if (fallback) fallback.proc.kill();
  process.exit(1);
});
