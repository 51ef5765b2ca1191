'use strict';

// A serverless-style job (a cron task, a queue worker, a function invocation): start, take one
// batch of call events, hand it on, write a checkpoint, close and exit. The next run resumes
// after the checkpoint: events at or before it are skipped, so a batch that is delivered again
// (a retried invocation, the live server's duplicate delivery) is never processed twice.
//
// Against VoIPBIN:
//   VOIPBIN_TOKEN=... VOIPBIN_CUSTOMER_ID=... node examples/oneshot-processor.js
// Without VOIPBIN_URL it starts a local emulator replaying a seeded contact centre, so two runs
// see the same stream and the second continues where the first stopped.
//
// BATCH_SIZE (default 20) events per run, BATCH_MS (default 10000) at most waiting for them,
// CHECKPOINT (default ./oneshot-checkpoint.json) the checkpoint file. Each processed event is
// printed as one JSON line (stand-in for the real sink: a queue, a database, an HTTP call).

const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { RealtimeClient, Emulator, topic } = require('voip-realtime');

const TYPES = ['call.created', 'call.status', 'call.ended'];

function readCheckpoint(file) {
  try {
    const cp = JSON.parse(fs.readFileSync(file, 'utf8'));
    return { timestamp: cp.timestamp, keys: new Set(cp.keys), processed: cp.processed };
  } catch (err) {
    if (err.code === 'ENOENT') return { timestamp: '', keys: new Set(), processed: 0 };
    throw err;
  }
}

// Written to a temporary file and renamed over the old one: a crash mid-write never leaves a
// half checkpoint behind.
function writeCheckpoint(file, cp) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ timestamp: cp.timestamp, keys: [...cp.keys], processed: cp.processed })}\n`);
  fs.renameSync(tmp, file);
}

// Events carry RFC 3339 timestamps of one format, so they order as strings. Several events can
// share a timestamp: the checkpoint keeps the keys of those already done at its timestamp.
function isDone(cp, e) {
  if (e.timestamp < cp.timestamp) return true;
  return e.timestamp === cp.timestamp && cp.keys.has(`${e.event_type}/${e.data.id}`);
}

function advance(cp, e) {
  if (e.timestamp !== cp.timestamp) {
    cp.timestamp = e.timestamp;
    cp.keys = new Set();
  }
  cp.keys.add(`${e.event_type}/${e.data.id}`);
  cp.processed++;
}

async function main() {
  const batchSize = Number(process.env.BATCH_SIZE ?? 20);
  const batchMs = Number(process.env.BATCH_MS ?? 10000);
  const file = path.resolve(process.env.CHECKPOINT ?? 'oneshot-checkpoint.json');
  let url = process.env.VOIPBIN_URL;
  let token = process.env.VOIPBIN_TOKEN;
  let customerId = process.env.VOIPBIN_CUSTOMER_ID;
  let emu = null;
  if (!url) {
    emu = await Emulator.start();
    url = emu.url;
    customerId = '12345678-1234-4234-8234-123456789012';
    token = emu.issueToken({ customerId, permissions: ['admin'] });
  }

  const cp = readCheckpoint(file);
  const client = new RealtimeClient({ url, token });
  await client.connect();
  await client.subscribe(topic.customer(customerId, 'call'));
  const events = client.events({ types: TYPES, signal: AbortSignal.timeout(batchMs) });
  // A fixed seed and a fixed start: every run replays the same day, from its first event.
  const scenario = emu
    ? emu.scenario('callcenter', { seed: 'oneshot-processor', rate: 1000, durationScale: 0.1, customerId })
    : null;

  let taken = 0;
  let skipped = 0;
  try {
    for await (const e of events) {
      if (isDone(cp, e)) {
        skipped++;
        continue;
      }
      console.log(JSON.stringify({ type: e.event_type, call: e.data.id, status: e.data.status, at: e.timestamp }));
      advance(cp, e);
      if (++taken === batchSize) break;
    }
  } catch (err) {
    // The time budget ran out: checkpoint what was done, as a function timing out would.
    if (err.name !== 'AbortError' && err.code !== 'ABORT_ERR') throw err;
  }
  writeCheckpoint(file, cp);
  if (scenario) scenario.stop();
  await client.close();
  if (emu) await emu.stop();
  // performance.now() counts from the process start: the whole invocation, Node's boot included.
  console.log(`batch: ${taken} processed, ${skipped} skipped, ${cp.processed} in total; ${Math.round(performance.now())} ms since start`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
