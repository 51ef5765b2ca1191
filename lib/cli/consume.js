'use strict';

// `voip-realtime consume`: a processor in any language. Reads a stream through a consumer group
// and writes each event as one JSON line to a command's standard input (or to stdout without a
// command), acknowledging an entry once its line was handed to the pipe.

const { spawn } = require('node:child_process');
const { UsageError, parse, number } = require('./args');
const { redisUrl, stopOnSignal } = require('./redis-common');
const { dataText } = require('../events.js');

const USAGE = `Usage: voip-realtime consume --redis <url> --group <name> [options] [-- <command> [args...]]

Reads events from a Redis stream written by 'voip-realtime bridge', as a member of a consumer
group, and writes each one as a JSON line {"event_type","timestamp","topic","data"} (with
"server_event_type" after "event_type" when the entry has one) to the standard input of
<command> (started once), or prints it when no command is given. An event is acknowledged
once its line was written; entries a dead consumer left unacknowledged for --idle-timeout ms
are taken over. At-least-once: a line may be written twice, never dropped.

Options:
  --redis <url>          redis://[user:password@]host:port[/db] (default $REDIS_URL)
  --group <name>         consumer group (created, with the stream, when missing)
  --stream <name>        stream to read, repeatable (default voip-realtime:events)
  --consumer <name>      this consumer's name in the group (default <hostname>-<pid>)
  --concurrency <n>      lines written but not yet acknowledged at most (default 64)
  --idle-timeout <ms>    take over entries pending this long in another consumer (default 30000)
  --count <n>            exit after n events
  -h, --help             show this help

Exit codes: the command's exit code when it ends; 0 on Ctrl-C or after --count events; 1 when
Redis fails at start (AUTH_FAILED for a refused credential); 2 for bad arguments.`;

const OPTIONS = {
  redis: { type: 'string' },
  group: { type: 'string' },
  stream: { type: 'string', multiple: true },
  consumer: { type: 'string' },
  concurrency: { type: 'string' },
  'idle-timeout': { type: 'string' },
  count: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/** The event as one JSON line, its data text kept as stored unless it spans lines. */
function jsonLine(event) {
  let data = dataText(event);
  if (data === undefined || /[\r\n]/.test(data)) data = JSON.stringify(event.data);
  const server = event.server_event_type === undefined ? '' : `"server_event_type":${JSON.stringify(event.server_event_type)},`;
  return `{"event_type":${JSON.stringify(event.event_type)},${server}"timestamp":${JSON.stringify(event.timestamp)},` +
    `"topic":${JSON.stringify(event.topic)},"data":${data}}\n`;
}

function write(stream, text) {
  return new Promise((resolve, reject) => {
    stream.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Runs the command.
 * @param {string[]} argv arguments after `consume`
 * @returns {Promise<number>} the exit code
 */
async function run(argv, { stdout = process.stdout, stderr = process.stderr, env = process.env } = {}) {
  const split = argv.indexOf('--');
  const command = split < 0 ? [] : argv.slice(split + 1);
  const values = parse(split < 0 ? argv : argv.slice(0, split), OPTIONS);
  if (values.help) {
    stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (split >= 0 && command.length === 0) throw new UsageError('a command is required after --');
  const redis = redisUrl(values.redis, env);
  if (values.group === undefined || values.group === '') throw new UsageError('--group is required');
  const concurrency = values.concurrency === undefined ? 64 : number('concurrency', values.concurrency, { min: 1, integer: true });
  const idleTimeout = values['idle-timeout'] === undefined ? undefined : number('idle-timeout', values['idle-timeout'], { min: 1, integer: true });
  const limit = values.count === undefined ? Infinity : number('count', values.count, { min: 1, integer: true });
  const { consume } = require('../redis/index.js');

  let child = null;
  let out = stdout;
  let childExit = null;
  if (command.length > 0) {
    child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'inherit', 'inherit'] });
    childExit = new Promise((resolve) => {
      child.once('error', (err) => resolve({ error: err }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    child.stdin.on('error', () => {});   // EPIPE: the failing writes reject their handlers
    out = child.stdin;
  }

  let written = 0;
  let reachedLimit;
  const limitReached = new Promise((resolve) => { reachedLimit = resolve; });
  const stopped = stopOnSignal();
  let consumer;
  try {
    consumer = await consume({
      redis,
      group: values.group,
      stream: values.stream,
      consumer: values.consumer,
      concurrency: Number.isFinite(limit) ? Math.min(concurrency, limit) : concurrency,
      idleTimeout,
      onError: (err) => {
        if (err && err.code === 'MALFORMED_EVENT') stderr.write(`voip-realtime consume: ${err.message}\n`);
      },
      handler: async (event) => {
        if (written >= limit) throw new Error('count reached');   // left pending for another consumer
        written++;
        await write(out, jsonLine(event));
        if (written >= limit) reachedLimit('count');
      },
    });
  } catch (err) {
    stopped.dispose();
    if (child) {
      child.stdin.end();
      await childExit;
    }
    throw err;
  }
  const reason = await Promise.race([stopped.promise, limitReached, childExit ?? new Promise(() => {})]);
  stopped.dispose();
  await consumer.close();
  if (child && typeof reason !== 'object') {
    child.stdin.end();
    const r = await childExit;
    return r.error ? 1 : (r.code ?? 128);
  }
  if (reason && typeof reason === 'object') {
    if (reason.error) {
      stderr.write(`voip-realtime consume: cannot run ${JSON.stringify(command[0])}: ${reason.error.message}\n`);
      return 1;
    }
    return reason.code ?? 128;
  }
  return 0;
}

module.exports = { run, USAGE, jsonLine };
