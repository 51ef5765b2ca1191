'use strict';

// One measured client, in a fresh process so that its CPU time (user + sys of every thread,
// including voip-realtime's io thread) and memory are its own. Driven by bench/run.js over IPC:
//   parent -> { cmd: 'job', ... }    child -> { type: 'ready' }
//   child counts the priming blast   child -> { type: 'primed' }
//   parent -> { cmd: 'go' }           child -> { type: 'started' }, later { type: 'result', ... }
// Kinds: 'throughput' (workloads 1-3; client 'ceiling' replays the primed texts in memory; with
// `dialect`, voip-realtime in that dialect on the dialect comparison's workloads),
// 'latency' (workload 4) and 'subs' (bytes per subscription).

const fs = require('node:fs');
const { open, WsPeer } = require('./lib/clients.js');
const { WORKLOADS, DIALECT_WORKLOADS, DIALECT_POOL, NATTERBOX, manyPatterns, nowMs, percentile } = require('./lib/common.js');

const WAIT_MS = 180000;

function send(msg) {
  return new Promise((resolve) => process.send(msg, resolve));
}

function nextCommand(cmd) {
  return new Promise((resolve) => {
    const on = (msg) => {
      if (msg && msg.cmd === cmd) {
        process.off('message', on);
        resolve(msg);
      }
    };
    process.on('message', on);
  });
}

// A counter that resolves `reached` when `target` listener calls have happened.
class Counter {
  count = 0;
  target = Infinity;
  #resolve = null;

  arm(target) {
    this.count = 0;
    this.target = target;
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      const timer = setTimeout(() => reject(new Error(`only ${this.count} of ${target} events within ${WAIT_MS} ms`)), WAIT_MS);
      timer.unref();
    });
  }

  hit() {
    if (++this.count === this.target) this.#resolve();
  }
}

function memory() {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
}

// CPU time of each thread of this process, ms by thread id (Linux: the scheduler's own count in
// /proc/self/task/<tid>/schedstat, in ns); null where there is no /proc.
function threadCpu() {
  try {
    const out = new Map();
    for (const tid of fs.readdirSync('/proc/self/task')) {
      const ns = Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      const name = fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      out.set(tid, { name, ms: ns / 1e6 });
    }
    return out;
  } catch {
    return null;
  }
}

// The threads that ran between two threadCpu() readings, busiest first; `main` marks the JS thread.
function threadsSince(before, after) {
  if (before === null || after === null) return undefined;
  const out = [];
  for (const [tid, t] of after) {
    const ms = t.ms - (before.has(tid) ? before.get(tid).ms : 0);
    if (ms > 0) out.push({ name: t.name, main: Number(tid) === process.pid, cpuMs: ms });
  }
  return out.sort((a, b) => b.cpuMs - a.cpuMs);
}

function cpuMsSince(start) {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

async function throughput(job) {
  const natterbox = job.dialect === 'natterbox';
  const wl = natterbox
    ? { ...DIALECT_WORKLOADS[job.workload], on: NATTERBOX.event, patterns: () => [NATTERBOX.pattern] }
    : (job.dialect ? DIALECT_WORKLOADS : WORKLOADS)[job.workload];
  const field = natterbox ? NATTERBOX.field : 'status';
  const counter = new Counter();
  let sink = 0;
  const listener = wl.read === 'data'
    ? (ev) => {
      sink += ev.data[field].length;
      counter.hit();
    }
    : (ev) => {
      sink += ev.event_type.length + ev.topic.length;
      counter.hit();
    };
  const ceiling = job.client === 'ceiling';
  const texts = [];
  const c = ceiling ? new WsPeer() : null;
  if (ceiling) {
    // The ceiling keeps the first pool's worth of event texts the server sent.
    c.tap = (text) => {
      if (texts.length < wl.pool && text.startsWith('{"event_type"')) texts.push(text);
    };
  }
  const client = ceiling
    ? await c.open({ url: job.url, token: job.token, patterns: wl.patterns() })
    : await open(job.client, { url: job.url, token: job.token, patterns: wl.patterns(), dialect: job.dialect });
  client.on(wl.on || 'call.status', listener);

  // A Natterbox group subscribe is answered by a snapshot: one presence_updated per member.
  const snapshot = natterbox ? DIALECT_POOL : 0;
  const primed = counter.arm((job.prime / wl.pool) * wl.matchPerPool + snapshot);
  send({ type: 'ready' });
  await primed;
  if (ceiling) {
    c.tap = null;
    await client.close();
  }
  send({ type: 'primed' });

  await nextCommand('go');
  const expected = (job.count / wl.pool) * wl.matchPerPool;
  const done = counter.arm(expected);
  const before = ceiling ? null : client.stats();
  const threads0 = threadCpu();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  send({ type: 'started' });
  if (ceiling) {
    const n = texts.length;
    for (let i = 0; i < job.count; i++) c.handle(texts[i % n]);
  }
  await done;
  const wallMs = performance.now() - t0;
  const cpuMs = cpuMsSince(cpu);
  const threads = threadsSince(threads0, threadCpu());
  const mem = memory();
  const after = ceiling ? null : client.stats();
  const result = {
    type: 'result', events: job.count, delivered: counter.count, wallMs, cpuMs, threads, memory: mem, sink,
    poolTexts: ceiling ? texts.length : undefined,
  };
  if (!ceiling) {
    result.received = after.received - before.received;
    result.filtered = after.filtered - before.filtered;
    result.bytes = after.bytesReceived - before.bytesReceived;
    // The io thread is named vr-io (the sum, should there be more than one).
    const io = threads?.filter((t) => t.name === 'vr-io');
    if (io && io.length > 0) result.ioCpuMs = io.reduce((sum, t) => sum + t.cpuMs, 0);
    await client.close();
  }
  await send(result);
}

async function latency(job) {
  const wl = WORKLOADS['all-data'];
  const counter = new Counter();
  const lat = new Float64Array(job.count);
  let measuring = false;
  const client = await open(job.client, { url: job.url, token: job.token, patterns: wl.patterns() });
  client.on('call.status', (ev) => {
    if (measuring) {
      const sent = ev.data.sent;
      if (counter.count < lat.length) lat[counter.count] = nowMs() - sent;
    }
    counter.hit();
  });
  const primed = counter.arm((job.prime / wl.pool) * wl.matchPerPool);
  send({ type: 'ready' });
  await primed;
  send({ type: 'primed' });
  await nextCommand('go');
  measuring = true;
  const done = counter.arm(job.count);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  send({ type: 'started' });
  await done;
  const wallMs = performance.now() - t0;
  const cpuMs = cpuMsSince(cpu);
  await client.close();
  lat.sort();
  await send({
    type: 'result', events: job.count, wallMs, cpuMs,
    p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), maxMs: lat[lat.length - 1],
  });
}

async function subs(job) {
  // A server may take long to acknowledge a very large subscribe; memory is what is measured here.
  // The dialect is the documented one the peers speak: left to 'auto', an ack slower than the
  // settle time (the emulator answering 100,000 patterns on a busy machine) decides 'live', and
  // the row would measure the live dialect's bookkeeping instead.
  const client = await open(job.client, {
    url: job.url, token: job.token, patterns: [], ackTimeout: 150000, dialect: 'documented',
  });
  send({ type: 'ready' });
  global.gc();
  global.gc();
  const m0 = memory();
  let patterns = manyPatterns(job.patterns);
  await client.subscribe(patterns);
  patterns = null;
  global.gc();
  global.gc();
  const m1 = memory();
  await client.close();
  await send({
    type: 'result', patterns: job.patterns,
    rssBytesPerSubscription: (m1.rss - m0.rss) / job.patterns,
    heapBytesPerSubscription: (m1.heapUsed + m1.external - m0.heapUsed - m0.external) / job.patterns,
  });
}

nextCommand('job').then((job) => {
  const run = { throughput, latency, subs }[job.kind];
  return run(job);
}).then(() => {
  process.disconnect();
}, async (err) => {
  await send({ type: 'failed', message: err && err.stack ? err.stack : String(err) });
  process.exitCode = 1;
  process.disconnect();
});
