'use strict';

// `voip-realtime tail`: subscribe and print every event, one line each (or one JSON object per
// line with --json). Fails fast: a first connection that does not come up ends the command with
// the error code instead of retrying forever; once connected, drops are retried like any client.

const { UsageError, parse, number } = require('./args');
const { CONNECT_OPTIONS, CONNECT_USAGE, connectOptions, createClient } = require('./connect-options');
const { colorEnabled, formatLine, paint } = require('./format');
const { presenceLine } = require('./presence-board');

const USAGE = `Usage: voip-realtime tail --topic <pattern> [--topic <pattern> ...] [options]

Prints VoIPBIN real-time events as they arrive, one line per event.

Options:
${CONNECT_USAGE}
  -t, --topic <pattern> topic pattern to subscribe to, repeatable, for example
                        customer_id:<uuid>:call:*
  --type <event_type>   only print these event types, repeatable; a trailing * matches a
                        prefix (--type 'call.*'); '.' and '_' are the same, so call.* also
                        matches the live dialect's call_ringing
  --json                one JSON object per line: {"event_type","timestamp","topic","data"}
                        (live dialect: "server_event_type" after "event_type")
  --count <n>           exit after printing n events
  --no-color            never colour the output (colour is used only on a terminal and
                        when NO_COLOR is unset)
  -h, --help            show this help

Exit codes: 0 on Ctrl-C or after --count events, 1 when the connection or a subscription
fails (the error code is printed), 2 for bad arguments.

Credentials on the command line are visible to other local users; prefer the environment
variables.`;

const OPTIONS = {
  ...CONNECT_OPTIONS,
  type: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  count: { type: 'string' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

// Documented names use '.', the live dialect's '_' (call.status, call_ringing): both spellings
// name the same thing, so the filter compares the event's own event_type with either separator.
function sameSeparators(name) {
  return name.replace(/_/g, '.');
}

function typeFilter(types) {
  if (!types || types.length === 0) return () => true;
  const exact = new Set();
  const prefixes = [];
  for (const t of types) {
    if (t === '' || /\s/.test(t)) throw new UsageError(`--type must be an event type such as call.status, got ${JSON.stringify(t)}`);
    if (t.endsWith('*')) prefixes.push(sameSeparators(t.slice(0, -1)));
    else exact.add(sameSeparators(t));
  }
  return (eventType) => {
    const type = sameSeparators(String(eventType));
    return exact.has(type) || prefixes.some((p) => type.startsWith(p));
  };
}

/**
 * Runs the command.
 * @param {string[]} argv arguments after `tail`
 * @returns {Promise<number>} the exit code
 */
async function run(argv, { stdout = process.stdout, stderr = process.stderr, env = process.env } = {}) {
  const values = parse(argv, OPTIONS);
  if (values.help) {
    stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { protocol, topics, options } = connectOptions(values, env);
  const natterbox = protocol === 'natterbox';
  const wanted = typeFilter(values.type);
  const limit = values.count === undefined ? Infinity : number('count', values.count, { min: 1, integer: true });
  const color = !values['no-color'] && colorEnabled(stdout, env);
  const errColor = !values['no-color'] && colorEnabled(stderr, env);
  const note = (text) => stderr.write(`${paint(errColor, 'dim', text)}\n`);

  const client = createClient(options);

  return new Promise((resolve) => {
    let printed = 0;
    let opened = false;
    let finished = false;

    const finish = (code, err) => {
      if (finished) return;
      finished = true;
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      if (err) stderr.write(`voip-realtime tail: ${err.code ?? 'ERROR'}: ${err.message}\n`);
      client.close().then(() => resolve(code), () => resolve(code));
    };
    const onSignal = () => finish(0);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    client.on('error', (err) => {
      if (opened) note(`error ${err.code}: ${err.message}`);
    });
    client.on('reconnecting', ({ attempt, delay, error }) => {
      // Before the first success there is nothing worth waiting for: report and stop.
      if (!opened) {
        finish(1, error ?? { code: 'CONNECT_FAILED', message: `could not connect to ${client.url}` });
        return;
      }
      note(`connection lost (${error ? `${error.code}: ${error.message}` : 'closed'}); retry ${attempt} in ${(delay / 1000).toFixed(1)}s`);
    });
    client.on('close', ({ willReconnect, error }) => {
      if (!willReconnect && opened) finish(1, error ?? { code: 'CLOSED', message: 'the connection was closed' });
    });
    client.on('event', (event) => {
      const server = event.server_event_type;
      if (finished || !(wanted(event.event_type) || (server !== undefined && wanted(server)))) return;
      if (values.json) {
        const line = server === undefined
          ? { event_type: event.event_type, timestamp: event.timestamp, topic: event.topic, data: event.data }
          : { event_type: event.event_type, server_event_type: server, timestamp: event.timestamp, topic: event.topic, data: event.data };
        stdout.write(`${JSON.stringify(line)}\n`);
      } else {
        const line = natterbox ? presenceLine(event, { color }) : formatLine(event, { color, width: stdout.isTTY ? stdout.columns || 120 : Infinity });
        stdout.write(`${line}\n`);
      }
      printed++;
      if (printed >= limit) finish(0);
    });

    note(`connecting to ${client.url} ...`);
    client.connect()
      .then(() => {
        opened = true;
        note(`connected to ${client.url}; subscribing ...`);
        return client.subscribe(topics);
      })
      .then(() => {
        if (!finished) note(`subscribed to ${topics.join(', ')}`);
      })
      .catch((err) => finish(1, err));
  });
}

module.exports = { run, USAGE, typeFilter };
