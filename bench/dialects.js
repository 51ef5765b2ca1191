'use strict';

// The dialect comparison (`--sections=dialects`): workloads 1 and 2 through voip-realtime against
// the emulator in each VoIPBIN wire dialect and in the Natterbox protocol, each in a server
// process of its own, runs alternating between them. The documented row carries {event_type, timestamp, topic,
// data} envelopes; the live row the bare call resources production sends, which the client has
// to recognise, name (inferring the event from the status) and de-duplicate. Both blasts send
// the same call data (the live frames `eventSize` bytes, the documented ones larger by the
// envelope); the table gives each row's CPU per event against the documented row's.

const { CUSTOMER_ID, DIALECT_WORKLOADS, blastId, jsCpuSecPer1M, median } = require('./lib/common.js');
const { Proc } = require('./lib/proc.js');

// 'natterbox' is the other protocol beside them: Natterbox CTI presence `response` frames of the
// live frames' size, one presence element of a group member each (bench/lib/common.js NATTERBOX),
// the listener on presence_updated reading the element's presence.
const DIALECTS = ['documented', 'live', 'natterbox'];

// The documented envelope around a blast event's data, in bytes: a documented frame this much
// larger than the live one carries the very same data (native/emulator/README.md, blast).
const ENVELOPE = JSON.stringify({
  event_type: 'call.status', timestamp: '2026-01-15T10:30:00.000000Z',
  topic: `customer_id:${CUSTOMER_ID}:call:${blastId(0)}`, data: {},
}).length - 2;

/**
 * @param {{ config: { runs: number, events: number, prime: number, eventSize: number },
 *   log: (...parts: unknown[]) => void, workloads?: string[],
 *   execArgv?: (name: string) => string[],
 *   perf?: (pid: number, name: string) => (null | Promise<null | (() => Promise<void>)>) }} opts
 */
async function dialectSection({ config, log, workloads = Object.keys(DIALECT_WORKLOADS), execArgv = () => [],
  perf = () => null }) {
  const servers = new Map();
  let nextId = 1;
  const rows = [];
  try {
    for (const dialect of DIALECTS) {
      const proc = new Proc('server.js');
      servers.set(dialect, { proc, info: await proc.request({ cmd: 'start', backend: 'emulator', dialect }, 'started') });
    }
    const blast = (srv, count, wl, dialect) => srv.proc.request({
      cmd: 'blast', id: nextId++, count, pool: wl.pool, unfiltered: false,
      size: config.eventSize + (dialect === 'documented' ? ENVELOPE : 0),
    }, 'blasted');

    const one = async (name, dialect) => {
      const wl = DIALECT_WORKLOADS[name];
      const srv = servers.get(dialect);
      // Whole pools, so that no event of the measured blast is still in the de-duplication window.
      const prime = Math.ceil(config.prime / wl.pool) * wl.pool;
      const label = `dialect-${dialect}-${name}`;
      const child = new Proc('client.js', [], ['--expose-gc', ...execArgv(label)]);
      let stopPerf = null;
      try {
        child.send({
          cmd: 'job', kind: 'throughput', client: 'voip-realtime', workload: name, dialect,
          url: srv.info.url, token: srv.info.token, prime, count: config.events,
        });
        await child.next('ready');
        await blast(srv, prime, wl, dialect);
        await child.next('primed');
        stopPerf = await perf(child.pid, label);
        await child.request({ cmd: 'go' }, 'started');
        const blasted = blast(srv, config.events, wl, dialect);
        const r = await child.next('result');
        if (stopPerf) await stopPerf();
        stopPerf = null;
        const report = await blasted;
        await child.stop();
        // received/filtered count VoIPBIN frames; a Natterbox frame could hold several elements.
        const counted = dialect === 'natterbox' || (r.received === config.events && r.filtered === 0);
        if (r.delivered !== config.events || !counted) {
          throw new Error(`${dialect} ${name}: delivered ${r.delivered}, received ${r.received}, filtered ` +
            `${r.filtered} of ${config.events} events (every event should arrive once and match)`);
        }
        return {
          eventsPerSec: (r.events / r.wallMs) * 1000,
          cpuSecPer1M: (r.cpuMs / 1000) * (1e6 / r.events),
          jsCpuSecPer1M: jsCpuSecPer1M(r),
          threads: r.threads,
          wallMs: r.wallMs,
          serverCpuPercent: (report.cpuMs / r.wallMs) * 100,
          bytesPerEvent: r.bytes / r.events,
        };
      } finally {
        if (stopPerf) await stopPerf();
        child.kill();
      }
    };

    for (const name of workloads.filter((w) => DIALECT_WORKLOADS[w])) {
      const runs = new Map(DIALECTS.map((d) => [d, []]));
      for (let r = 0; r < config.runs; r++) {
        for (const dialect of r % 2 === 0 ? DIALECTS : [...DIALECTS].reverse()) {
          const res = await one(name, dialect);
          log(`  dialects ${DIALECT_WORKLOADS[name].title.padEnd(26)} ${dialect.padEnd(10)} run ${r + 1}: ` +
            `${Math.round(res.eventsPerSec)} ev/s, ${res.cpuSecPer1M.toFixed(2)} CPU-s/1M` +
            (res.jsCpuSecPer1M === undefined ? '' : ` (JS thread ${res.jsCpuSecPer1M.toFixed(2)})`));
          runs.get(dialect).push(res);
        }
      }
      const group = DIALECTS.map((dialect) => {
        const list = runs.get(dialect);
        return {
          workload: name,
          title: DIALECT_WORKLOADS[name].title,
          dialect,
          pool: DIALECT_WORKLOADS[name].pool,
          eventsPerSec: median(list.map((x) => x.eventsPerSec)),
          cpuSecPer1M: median(list.map((x) => x.cpuSecPer1M)),
          jsCpuSecPer1M: median(list.map((x) => x.jsCpuSecPer1M)),
          serverCpuPercent: median(list.map((x) => x.serverCpuPercent)),
          bytesPerEvent: median(list.map((x) => x.bytesPerEvent)),
          runs: list,
        };
      });
      const documented = group.find((g) => g.dialect === 'documented');
      for (const g of group) g.cpuRatioToDocumented = g.cpuSecPer1M / documented.cpuSecPer1M;
      rows.push(...group);
    }
  } finally {
    for (const { proc } of servers.values()) {
      proc.send({ cmd: 'stop' });
      await proc.stop();
    }
  }
  return rows;
}

/** The section's table (`table(headers, rows)` is run.js's). */
function renderDialects(rows, table, fmt) {
  const pool = rows.length > 0 ? rows[0].pool : 0;
  return [
    `Dialects: voip-realtime against the emulator in each wire dialect, listener on 'event', ${fmt(pool)} ` +
      'distinct call events; natterbox: presence elements of as many users, listener on presence_updated ' +
      '(x documented: CPU per event against the documented row; JS thread: its share of CPU-s/1M)',
    table(['workload', 'dialect', 'events/s', 'CPU-s/1M', 'x documented', 'JS thread', 'server CPU', 'B/event'],
      rows.map((r) => [r.title, r.dialect, fmt(r.eventsPerSec), fmt(r.cpuSecPer1M, 2), fmt(r.cpuRatioToDocumented, 2),
        fmt(r.jsCpuSecPer1M, 2), `${fmt(r.serverCpuPercent)}%`, fmt(r.bytesPerEvent)])),
  ].join('\n');
}

module.exports = { dialectSection, renderDialects, ENVELOPE };
