'use strict';
// The client side of one fault-matrix case, in its own process so that its memory can be
// measured alone. Started with fork() and one JSON argument:
//   { url, topic, options, ca? }
// It connects, subscribes to `topic`, and reports over IPC:
//   { kind: 'ready', rss }                      subscribed (the baseline is taken then)
//   { kind: 'event', seq }                      each event's data.seq
// and, when the parent sends 'report', one summary and exits:
//   { kind: 'report', baseline, peak, settled, maxLag, errors, closes, events, states }
// `errors` are the 'error' events as { code, count, message }; `closes` the 'close' events as
// { code, willReconnect, error: code or null }.

const { RealtimeClient } = require('../..');

const config = JSON.parse(process.argv[2]);
const options = { ...config.options, url: config.url };
if (config.ca) options.tls = { ca: config.ca };
const client = new RealtimeClient(options);

const errors = [];
const closes = [];
const events = [];
let baseline = 0;
let peak = 0;

client.on('error', (err) => errors.push({ code: err.code, count: err.count === undefined ? 1 : err.count, message: err.message }));
client.on('close', (c) => closes.push({ code: c.code, willReconnect: c.willReconnect, error: c.error ? c.error.code : null }));
client.on('event', (e) => {
  const seq = e.data.seq;
  events.push(seq);
  process.send({ kind: 'event', seq });
});

// The event loop's responsiveness: how late a 10 ms timer fires, at worst.
const TICK = 10;
let expected = performance.now() + TICK;
let maxLag = 0;
const timer = setInterval(() => {
  const now = performance.now();
  maxLag = Math.max(maxLag, now - expected);
  expected = now + TICK;
  peak = Math.max(peak, process.memoryUsage.rss());
}, TICK);

process.on('message', (msg) => {
  if (msg !== 'report') return;
  clearInterval(timer);
  // What stays after the case: collected garbage is not counted, kept native memory is.
  global.gc();
  setTimeout(() => {
    global.gc();
    const settled = process.memoryUsage.rss();
    if (process.env.FAULT_CHILD_DEBUG) console.error(process.memoryUsage());
    process.send({ kind: 'report', baseline, peak: Math.max(peak, settled), settled, maxLag, errors, closes, events },
      () => client.close().then(() => process.exit(0)));
  }, 100);
});

(async () => {
  await client.connect();
  await client.subscribe(config.topic);
  global.gc();
  baseline = process.memoryUsage.rss();
  peak = baseline;
  maxLag = 0;
  process.send({ kind: 'ready', rss: baseline });
})().catch((err) => {
  process.send({ kind: 'failed', code: err.code, message: err.message });
  process.exit(1);
});
