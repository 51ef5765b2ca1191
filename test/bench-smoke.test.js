'use strict';

// Runs the benchmark harness once on a tiny workload so that it cannot rot. Only the shape of the
// result is checked: timings depend on the machine and are never asserted.

const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const RUN = path.join(__dirname, '..', 'bench', 'run.js');
const { ENVELOPE } = require('../bench/dialects.js');
const WORKLOADS = ['all-data', 'type-topic', 'filter-90', 'filter-99'];
const CLIENTS = ['voip-realtime', 'ws', 'undici', 'ceiling'];
const NETWORK_CLIENTS = ['voip-realtime', 'ws', 'undici'];
const DIALECTS = ['documented', 'live', 'natterbox'];

function positive(row, keys, where) {
  for (const k of keys) {
    assert.ok(Number.isFinite(row[k]) && row[k] > 0, `${where}: ${k} should be a finite number > 0, got ${row[k]}`);
  }
}

test('bench/run.js --smoke produces every row with finite, positive numbers', { timeout: 300000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vr-bench-'));
  const out = path.join(dir, 'results.json');
  try {
    const res = spawnSync(process.execPath, [RUN, '--smoke', '--quiet', `--out=${out}`], {
      encoding: 'utf8', timeout: 280000,
    });
    assert.strictEqual(res.status, 0, `bench/run.js --smoke failed (${res.status}, ${res.signal}):\n${res.stderr}`);
    const r = JSON.parse(fs.readFileSync(out, 'utf8'));

    assert.strictEqual(r.smoke, true);
    assert.ok(Number.isInteger(r.machine.cores) && r.machine.cores > 0);
    assert.match(res.stdout, new RegExp(`${r.machine.cores} cores`));
    assert.strictEqual(r.config.server, 'emulator');
    assert.strictEqual(r.config.pacer, 'blast');
    assert.ok(Number.isInteger(r.config.runs) && r.config.runs >= 1);

    assert.strictEqual(r.throughput.length, WORKLOADS.length * CLIENTS.length);
    for (const w of WORKLOADS) {
      for (const c of CLIENTS) {
        const rows = r.throughput.filter((x) => x.workload === w && x.client === c);
        assert.strictEqual(rows.length, 1, `one throughput row for ${w} / ${c}`);
        const row = rows[0];
        const where = `throughput ${w} / ${c}`;
        positive(row, ['eventsPerSec', 'cpuSecPer1M', 'ratioToWs', 'ratioToCeiling', 'rssMb', 'heapUsedMb'], where);
        if (c !== 'ceiling') positive(row, ['serverCpuPercent', 'bytesPerEvent'], where);
        // The io thread's own capacity is voip-realtime's alone (its vr-io thread's CPU time).
        if (c === 'voip-realtime') positive(row, ['ioFramesPerCpuSec'], where);
        else assert.strictEqual(row.ioFramesPerCpuSec, undefined, `${where}: no io thread`);
        assert.strictEqual(row.runs.length, r.config.runs, `${where}: one entry per run`);
        for (const run of row.runs) positive(run, ['eventsPerSec', 'cpuSecPer1M', 'wallMs'], `${where} run`);
      }
      assert.strictEqual(r.throughput.find((x) => x.workload === w && x.client === 'ws').ratioToWs, 1);
      assert.strictEqual(r.throughput.find((x) => x.workload === w && x.client === 'ceiling').ratioToCeiling, 1);
    }

    // Workload 4's rate first, then the rate that loads the machine; one row per client at each.
    assert.deepStrictEqual(r.latency.map((x) => `${x.rate} ${x.client}`),
      [20000, 100000].flatMap((rate) => NETWORK_CLIENTS.map((c) => `${rate} ${c}`)));
    for (const row of r.latency) {
      assert.strictEqual(row.events, 1000, `latency ${row.client}: the smoke run paces 1,000 events`);
      assert.strictEqual(row.pacer, 'blast', `latency ${row.client}: the emulator's native blast paces by default`);
      assert.strictEqual(r.config.latencyRuns, 1, 'a smoke run makes one latency run per client and rate');
      assert.deepStrictEqual(row.runs.map((x) => x.pacer), Array(r.config.latencyRuns).fill('blast'));
      assert.strictEqual(row.runs.length, r.config.latencyRuns, `latency ${row.client}: one entry per run`);
      positive(row, ['p50Ms', 'p99Ms', 'maxMs', 'cpuSecPer1M', 'serverCpuPercent', 'rate', 'events'], `latency ${row.client}`);
      assert.ok(row.p50Ms <= row.p99Ms && row.p99Ms <= row.maxMs, `latency ${row.client}: p50 <= p99 <= max`);
    }

    assert.deepStrictEqual(r.coldStart.map((x) => x.client).sort(), [...NETWORK_CLIENTS].sort());
    for (const row of r.coldStart) {
      positive(row, ['bootMs', 'requireMs', 'connectMs', 'subscribeMs', 'firstEventMs', 'totalMs'], `cold start ${row.client}`);
      assert.ok(row.totalMs > row.bootMs, `cold start ${row.client}: total includes boot`);
    }

    assert.deepStrictEqual(r.memory.map((x) => x.client).sort(), [...NETWORK_CLIENTS].sort());
    for (const row of r.memory) {
      positive(row, ['rssMb', 'heapUsedMb', 'rssBytesPerSubscription', 'heapBytesPerSubscription'], `memory ${row.client}`);
      assert.strictEqual(row.patterns, r.config.subscriptionPatterns);
      assert.strictEqual(row.afterEvents, r.config.events);
    }

    // The dialect comparison: workloads 1 and 2 through the emulator in each VoIPBIN dialect.
    assert.deepStrictEqual(r.dialects.map((x) => `${x.workload} ${x.dialect}`),
      ['all-data', 'type-topic'].flatMap((w) => DIALECTS.map((d) => `${w} ${d}`)));
    for (const row of r.dialects) {
      const where = `dialects ${row.workload} / ${row.dialect}`;
      positive(row, ['eventsPerSec', 'cpuSecPer1M', 'cpuRatioToDocumented', 'serverCpuPercent', 'bytesPerEvent'], where);
      assert.strictEqual(row.pool, 6400, `${where}: more distinct events than the de-duplication window holds`);
      assert.strictEqual(row.runs.length, r.config.runs, `${where}: one entry per run`);
      if (row.dialect === 'documented') assert.strictEqual(row.cpuRatioToDocumented, 1);
    }
    // The same data in both: the documented frames are larger by exactly the envelope.
    for (const w of ['all-data', 'type-topic']) {
      const [doc, live, natterbox] = DIALECTS.map((d) => r.dialects.find((x) => x.workload === w && x.dialect === d));
      assert.strictEqual(natterbox.bytesPerEvent, 296, `${w}: 300-byte Natterbox frames`);
      assert.strictEqual(live.bytesPerEvent, 296, `${w}: 300-byte live frames, 296 bytes of payload`);
      assert.strictEqual(doc.bytesPerEvent - live.bytesPerEvent, ENVELOPE, `${w}: documented frames carry the envelope`);
    }
    assert.match(res.stdout, /^Dialects: voip-realtime against the emulator in each wire dialect/m);

    // Under the latency table, each rate's p99 against ws: the ratio of the two medians above.
    for (const rate of [20000, 100000]) {
      const [ours, ws] = ['voip-realtime', 'ws'].map((c) => r.latency.find((x) => x.rate === rate && x.client === c));
      const shown = (ours.p99Ms / ws.p99Ms).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      const line = new RegExp(`^p99 against ws at ${rate.toLocaleString('en-US')}/s: ${shown}x \\(medians of 1 run\\(s\\)\\); ` +
        `run by run ${shown}-${shown}x, median ${shown}x, ours lower in ${ours.p99Ms < ws.p99Ms ? 1 : 0} of 1$`, 'm');
      assert.match(res.stdout, line);
    }

    assert.deepStrictEqual(r.matcher.map((x) => x.patterns), [10, 10000, 1000000]);
    for (const row of r.matcher) {
      positive(row, ['nsPerMatch', 'minNsPerMatch', 'maxNsPerMatch', 'wallNsPerMatch', 'iterations'], `matcher ${row.patterns}`);
      // Two interleaved repetitions per size in a smoke run; the median lies between them.
      assert.strictEqual(row.repetitions, 2, `matcher ${row.patterns} repetitions`);
      assert.ok(row.minNsPerMatch <= row.nsPerMatch && row.nsPerMatch <= row.maxNsPerMatch, `matcher ${row.patterns} range`);
      assert.strictEqual(row.ratioToSmallest, row.nsPerMatch / r.matcher[0].nsPerMatch, `matcher ${row.patterns} ratio`);
    }
    assert.strictEqual(r.matcher[0].ratioToSmallest, 1);
    assert.match(res.stdout, /^7\. Native matcher alone .*medians of 2 repetitions per size/m);

    // Workload 8: the Redis bridge beside the plain ws + ioredis path.
    const paths = ['voip-realtime bridge', 'ws + ioredis'];
    assert.deepStrictEqual(r.bridge.throughput.map((x) => x.client), paths);
    for (const row of r.bridge.throughput) positive(row, ['eventsPerSecond', 'cpuSecondsPer1M'], `bridge throughput ${row.client}`);
    assert.deepStrictEqual(r.bridge.latency.map((x) => x.client), paths);
    for (const row of r.bridge.latency) {
      assert.strictEqual(row.events, r.bridge.config.latencyEvents);
      assert.strictEqual(row.rate, 5000);
      positive(row, ['p50Ms', 'p99Ms', 'maxMs'], `bridge latency ${row.client}`);
      assert.ok(row.p50Ms <= row.p99Ms && row.p99Ms <= row.maxMs, `bridge latency ${row.client}: p50 <= p99 <= max`);
    }
    assert.match(res.stdout, /^8\. Redis Streams bridge: /m);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
