'use strict';

// `voip-realtime bridge`: hold the real-time connection and append every event to a Redis
// stream (see lib/redis/). Fails fast on a first connection, a subscription or a Redis
// credential that does not work; once running, drops on either side are retried.

const { UsageError, parse, number, oneOf } = require('./args');
const { CONNECT_OPTIONS, CONNECT_USAGE, connectOptions, createClient } = require('./connect-options');
const { redisUrl, stopOnSignal } = require('./redis-common');

const DRAIN_MS = 10000;

const USAGE = `Usage: voip-realtime bridge --topic <pattern> [--topic ...] --redis <url> [options]

Appends every event received (VoIPBIN, or Natterbox with --protocol natterbox) to a Redis
stream, one entry per event with the fields event_type, topic, timestamp and data (the event's
JSON text as received), plus server_event_type when a live-dialect event has one. Two
bridges may run at once for failover: each event is appended once.

Options:
${CONNECT_USAGE}
  -t, --topic <pattern> topic pattern to subscribe to, repeatable, for example
                        customer_id:<uuid>:* or org:<org>:group:<group>:presence
  --redis <url>         redis://[user:password@]host:port[/db] (default $REDIS_URL)
  --stream <name>       stream name (default voip-realtime:events)
  --maxlen <n>          trim each stream to about n entries (default 1000000; 0: never trim)
  --stream-by <how>     none (one stream) or resource: one stream per resource of the topic
                        (<stream>:call, <stream>:message, ...; Natterbox <stream>:presence,
                        <stream>:messages)
  --dedupe-window <ms>  how long an event's identity is remembered against a second bridge
                        (default 60000)
  --metrics <ms>        print a metrics line to stderr every <ms>
  -h, --help            show this help

Exit codes: 0 on Ctrl-C after writing what was read (1 when Redis does not take it within
10 s), 1 when the connection, a subscription or Redis fails at start (the error code is printed,
AUTH_FAILED for a refused credential), 2 for bad arguments.`;

const OPTIONS = {
  ...CONNECT_OPTIONS,
  redis: { type: 'string' },
  stream: { type: 'string' },
  maxlen: { type: 'string' },
  'stream-by': { type: 'string' },
  'dedupe-window': { type: 'string' },
  metrics: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/** One metrics line: counters since start plus the rate over the last interval. */
function metricsLine(s, previous, ms) {
  const rate = Math.round(((s.appended + s.duplicates) - (previous.appended + previous.duplicates)) * 1000 / ms);
  return `bridge: in=${s.received} appended=${s.appended} duplicates=${s.duplicates} pending=${s.pending} ` +
    `lag=${s.lag}ms retries=${s.retries} paused=${s.paused} rate=${rate}/s` +
    (s.lastError ? ` last_error=${s.lastError.code ?? 'ERROR'}` : '');
}

/**
 * Runs the command.
 * @param {string[]} argv arguments after `bridge`
 * @returns {Promise<number>} the exit code
 */
async function run(argv, { stdout = process.stdout, stderr = process.stderr, env = process.env } = {}) {
  const values = parse(argv, OPTIONS);
  if (values.help) {
    stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { topics, options: connect } = connectOptions(values, env);
  const redis = redisUrl(values.redis, env);
  const options = {
    redis,
    stream: values.stream,
    maxlen: values.maxlen === undefined ? undefined : number('maxlen', values.maxlen, { min: 0, integer: true }),
    streamBy: values['stream-by'] === undefined ? undefined : oneOf('stream-by', values['stream-by'], ['none', 'resource']),
    dedupeWindow: values['dedupe-window'] === undefined ? undefined : number('dedupe-window', values['dedupe-window'], { min: 1, integer: true }),
  };
  if (options.stream !== undefined && (options.stream === '' || /\s/.test(options.stream))) {
    throw new UsageError(`--stream must be a stream name without spaces, got ${JSON.stringify(options.stream)}`);
  }
  const metricsMs = values.metrics === undefined ? 0 : number('metrics', values.metrics, { min: 10, integer: true });
  const { bridge } = require('../redis/index.js');
  const client = createClient(connect);

  let b = null;
  let timer = null;
  const note = (text) => stderr.write(`${text}\n`);
  const stopped = stopOnSignal();
  try {
    b = await bridge({ ...options, client, onError: () => {} });
    note(`redis ready, appending to ${options.stream ?? 'voip-realtime:events'}${options.streamBy === 'resource' ? ':<resource>' : ''}`);
    await client.connect();
    note(`connected to ${client.url}`);
    await client.subscribe(topics);
    note(`subscribed to ${topics.join(', ')}`);
  } catch (err) {
    stopped.dispose();
    if (b) await b.close().catch(() => {});
    await client.close();
    throw err;
  }
  if (metricsMs > 0) {
    let previous = b.stats();
    timer = setInterval(() => {
      const s = b.stats();
      note(metricsLine(s, previous, metricsMs));
      previous = s;
    }, metricsMs);
  }
  let lastNote = 0;
  client.on('error', (err) => note(`error ${err.code}: ${err.message}`));
  client.on('reconnecting', ({ attempt, delay, error }) => {
    note(`connection lost (${error ? `${error.code}: ${error.message}` : 'closed'}); retry ${attempt} in ${(delay / 1000).toFixed(1)}s`);
  });
  b.onError = (err) => {
    // At most one line per 5 s while Redis is away, not one per retry.
    const now = Date.now();
    if (now - lastNote < 5000) return;
    lastNote = now;
    note(`redis: ${err.code ?? 'ERROR'}: ${err.message}; retrying with backoff`);
  };
  const finalClose = new Promise((resolve) => {
    client.on('close', ({ willReconnect, error }) => {
      if (!willReconnect) resolve(error ?? { code: 'CLOSED', message: 'the connection was closed' });
    });
  });
  const reason = await Promise.race([stopped.promise, finalClose]);
  if (timer) clearInterval(timer);
  stopped.dispose();
  await client.close();
  // What was read is written first; a Redis that stays away must not hold the exit forever.
  let waiting;
  const gaveUp = await Promise.race([
    b.close().then(() => false),
    new Promise((resolve) => { waiting = setTimeout(resolve, DRAIN_MS, true); }),
  ]);
  clearTimeout(waiting);
  const s = b.stats();
  note(`bridge: in=${s.received} appended=${s.appended} duplicates=${s.duplicates}`);
  if (gaveUp) {
    note(`voip-realtime bridge: ${s.pending} events read but not written: Redis did not take them within ${DRAIN_MS / 1000} s`);
    return 1;
  }
  if (reason === 'signal') return 0;
  note(`voip-realtime bridge: ${reason.code ?? 'ERROR'}: ${reason.message}`);
  return 1;
}

module.exports = { run, USAGE, metricsLine };
