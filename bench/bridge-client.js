'use strict';

// One process of the bridge workload (see bridge.js), driven over IPC:
//   parent -> { role, url, token, redis, stream, count[, group, stamps] }   child -> { type: 'ready' }
//   ... events flow ...                                      child -> { type: 'result', ... }
// Roles:
//   'bridge'        RealtimeClient + voip-realtime/redis bridge(): appends every event
//   'plain'         the `ws` peer + JSON + ioredis XADD MAXLEN ~ in one pipeline per turn
//   'processor'     voip-realtime/redis consume(): records server send -> handler latency
//   'plain-reader'  ioredis XREADGROUP BLOCK / XACK loop in plain JS, same measurement
// Writers report when `count` entries are in Redis: events/s from their first event to then.
// With `stamps: true` (the split latency runs of bridge.js) a writer also reports two segments of
// each event's path, from the emulator's send stamp: `arrival` (the event reached the writer's JS)
// and `committed` (Redis answered the write that carried it).

const { open } = require('./lib/clients.js');
const { WORKLOADS, nowMs, percentile } = require('./lib/common.js');
const { dataText } = require('../lib/events.js');

const PATTERNS = WORKLOADS['all-data'].patterns();

function send(msg) {
  return new Promise((resolve) => process.send(msg, resolve));
}

// The send stamp from an entry's JSON text without parsing it (the bridge never parses it either).
const SENT_RE = /"sent":\s*(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)/;
function sentOf(text) {
  const m = SENT_RE.exec(text);
  return m ? Number(m[1]) : NaN;
}

// Latencies of one segment, from the send stamp to when `record` is called.
class Segment {
  #lat;
  #n = 0;
  constructor(count) {
    this.#lat = new Float64Array(count);
  }
  record(sent, now = nowMs()) {
    if (this.#n < this.#lat.length) this.#lat[this.#n++] = now - sent;
  }
  summary() {
    const lat = this.#lat.subarray(0, this.#n).sort();
    return { events: this.#n, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), maxMs: lat[lat.length - 1] };
  }
}

function cpuMs(start) {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

async function bridgeWriter(job, segments) {
  const { RealtimeClient } = require('..');
  const { bridge } = require('../lib/redis');
  const client = new RealtimeClient({ url: job.url, token: job.token, reconnect: false, heartbeat: false });
  client.on('error', () => {});
  await client.connect();
  await client.subscribe(PATTERNS);
  let b;
  if (segments) {
    // The same pieces bridge() puts together, with the sink's answers stamped.
    const { Bridge } = require('../lib/bridge/index.js');
    const { RedisSink } = require('../lib/redis/sink.js');
    const sink = new RedisSink({ redis: job.redis, stream: job.stream, maxlen: 0 });
    await sink.ready();
    const stamped = {
      maxInFlight: sink.maxInFlight,
      append: async (entries, context) => {
        const res = await sink.append(entries, context);
        const now = nowMs();
        for (const e of entries) segments.committed.record(sentOf(e.data), now);
        return res;
      },
      close: () => sink.close(),
    };
    client.on('event', (e) => segments.arrival.record(sentOf(dataText(e))));
    b = new Bridge({ client, sink: stamped }).start();
  } else {
    b = await bridge({ client, redis: job.redis, stream: job.stream, maxlen: 0 });
  }
  let first = 0;
  client.once('event', () => { first = performance.now(); });
  return {
    appended: () => b.stats().appended,
    first: () => first,
    close: async () => {
      await b.close();
      await client.close();
    },
  };
}

async function plainWriter(job, segments) {
  const Redis = require('ioredis');
  const redis = new Redis(job.redis);
  const peer = await open('ws', { url: job.url, token: job.token, patterns: PATTERNS });
  let first = 0;
  let appended = 0;
  let batch = [];
  const flush = async () => {
    const list = batch;
    batch = [];
    const p = redis.pipeline();
    for (const e of list) {
      p.xadd(job.stream, '*', 'event_type', e.event_type, 'topic', e.topic, 'timestamp', e.timestamp,
        'data', JSON.stringify(e.data));
    }
    await p.exec();
    if (segments) {
      const now = nowMs();
      for (const e of list) segments.committed.record(e.data.sent, now);
    }
    appended += list.length;
  };
  peer.on('event', (e) => {
    if (first === 0) first = performance.now();
    if (segments) segments.arrival.record(e.data.sent);
    if (batch.push(e) === 1) setImmediate(flush);
  });
  return {
    appended: () => appended,
    first: () => first,
    close: async () => {
      await peer.close();
      await redis.quit();
    },
  };
}

async function writer(job) {
  const segments = job.stamps ? { arrival: new Segment(job.count), committed: new Segment(job.count) } : null;
  const w = job.role === 'bridge' ? await bridgeWriter(job, segments) : await plainWriter(job, segments);
  const cpu = process.cpuUsage();
  await send({ type: 'ready' });
  while (w.appended() < job.count) await new Promise((r) => setTimeout(r, 2));
  const wallMs = performance.now() - w.first();
  const cpuUsed = cpuMs(cpu);
  await w.close();
  const result = { type: 'result', events: job.count, wallMs, cpuMs: cpuUsed };
  if (segments) {
    result.arrival = segments.arrival.summary();
    result.committed = segments.committed.summary();
  }
  await send(result);
}

async function reader(job) {
  // Readers in groups of their own see the same entries (a reader A/B on one writer).
  const group = job.group ?? 'bench';
  const handled = new Segment(job.count);
  let n = 0;
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  const record = (sent) => {
    handled.record(sent);
    if (++n === job.count) done();
  };
  let close;
  if (job.role === 'processor') {
    const { consume } = require('../lib/redis');
    const c = await consume({
      redis: job.redis, stream: job.stream, group, consumer: 'p', concurrency: 256,
      handler: (e) => record(e.data.sent),
    });
    close = () => c.close();
  } else {
    const Redis = require('ioredis');
    const redis = new Redis(job.redis);
    const blocking = new Redis(job.redis);
    try {
      await redis.xgroup('CREATE', job.stream, group, '0', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test(err.message)) throw err;
    }
    let running = true;
    const loop = (async () => {
      while (running) {
        const res = await blocking.xreadgroup('GROUP', group, 'p', 'COUNT', 256, 'BLOCK', 200, 'STREAMS', job.stream, '>');
        if (!res) continue;
        const ids = [];
        for (const [, entries] of res) {
          for (const [id, fields] of entries) {
            record(JSON.parse(fields[fields.indexOf('data') + 1]).sent);
            ids.push(id);
          }
        }
        redis.xack(job.stream, group, ...ids);
      }
    })();
    close = async () => {
      running = false;
      await loop;
      await redis.quit();
      await blocking.quit();
    };
  }
  const cpu = process.cpuUsage();
  await send({ type: 'ready' });
  await finished;
  const cpuUsed = cpuMs(cpu);
  await close();
  await send({ type: 'result', ...handled.summary(), cpuMs: cpuUsed });
}

process.once('message', (job) => {
  const run = job.role === 'bridge' || job.role === 'plain' ? writer : reader;
  run(job).then(() => process.disconnect(), async (err) => {
    await send({ type: 'failed', message: err && err.stack ? err.stack : String(err) });
    process.exitCode = 1;
    process.disconnect();
  });
});
