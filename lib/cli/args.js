'use strict';

// Argument parsing shared by the commands: node:util parseArgs in strict mode, with its errors
// rewritten into one short line and a hint, and value checks that name the flag.

const { parseArgs } = require('node:util');

/** A bad command line: printed with a usage hint, exit code 2. */
class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

function distance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}

function suggest(flag, options) {
  const name = flag.replace(/^-+/, '').split('=')[0];
  let best = null;
  let bestDistance = 3;
  for (const known of Object.keys(options)) {
    const d = distance(name, known);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return best === null ? '' : ` (did you mean --${best}?)`;
}

/**
 * Parses argv strictly against `options` (parseArgs format).
 * @returns {object} the values
 * @throws {UsageError}
 */
function parse(argv, options) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    if (typeof err.code !== 'string' || !err.code.startsWith('ERR_PARSE_ARGS')) throw err;
    const quoted = /'([^']*)'/.exec(err.message);
    const subject = quoted ? quoted[1] : '';
    switch (err.code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
        throw new UsageError(`unknown option ${subject}${suggest(subject, options)}`);
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
        throw new UsageError(`unexpected argument ${JSON.stringify(subject)}`);
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
        const flag = (/--[A-Za-z0-9-]+/.exec(subject) ?? [subject.split(' ')[0]])[0];
        if (/argument missing/.test(err.message)) throw new UsageError(`option ${flag} needs a value`);
        throw new UsageError(`option ${flag} takes no value`);
      }
      default:
        throw new UsageError(err.message);
    }
  }
}

function number(flag, value, { min = -Infinity, max = Infinity, integer = false, minExclusive = false } = {}) {
  const n = Number(value);
  const ok = value.trim() !== '' && Number.isFinite(n) && (!integer || Number.isInteger(n))
    && (minExclusive ? n > min : n >= min) && n <= max;
  if (!ok) {
    const kind = integer ? 'an integer' : 'a number';
    let range = '';
    if (minExclusive) range = ` greater than ${min}${max !== Infinity ? ` and at most ${max}` : ''}`;
    else if (min !== -Infinity && max !== Infinity) range = ` from ${min} to ${max}`;
    else if (min !== -Infinity) range = ` of at least ${min}`;
    throw new UsageError(`--${flag} must be ${kind}${range}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function oneOf(flag, value, allowed) {
  if (!allowed.includes(value)) {
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * RealtimeClient options from --url, --token, --access-key, --dialect and --insecure, with the
 * environment's VOIPBIN_URL / VOIPBIN_TOKEN / VOIPBIN_ACCESS_KEY as defaults.
 * @throws {UsageError} when no credential is given or --dialect is unknown
 */
function connectionOptions(values, env) {
  const token = values.token ?? env.VOIPBIN_TOKEN;
  const accessKey = values['access-key'] ?? env.VOIPBIN_ACCESS_KEY;
  if (!token && !accessKey) {
    throw new UsageError('a credential is required: --token or --access-key (or $VOIPBIN_TOKEN / $VOIPBIN_ACCESS_KEY)');
  }
  const options = { url: values.url ?? env.VOIPBIN_URL ?? 'wss://api.voipbin.net/v1.0/ws' };
  if (token) options.token = token;
  if (accessKey) options.accessKey = accessKey;
  if (values.dialect !== undefined) options.dialect = oneOf('dialect', values.dialect, ['documented', 'live', 'auto']);
  if (values.insecure) options.allowInsecure = true;
  return options;
}

module.exports = { UsageError, parse, number, oneOf, connectionOptions };
