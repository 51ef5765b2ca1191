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

// Edit distance counting an insertion, a deletion, a substitution or a swap of two neighbouring
// letters as one edit: '--prot' is one slip away from '--port'.
function distance(a, b) {
  let before = null;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (before && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2] + 1);
      row.push(d);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word` by edit distance, or null when none is close enough to be
 * what was meant (one edit per three letters, at least one and at most two), else the only
 * candidate that starts with `word`.
 * @param {string} word
 * @param {Iterable<string>} candidates
 * @returns {string | null}
 */
function closest(word, candidates) {
  let best = null;
  let bestDistance = Math.min(2, Math.max(1, Math.floor(word.length / 3))) + 1;
  for (const known of candidates) {
    const d = distance(word, known);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  if (best !== null || word.length < 2) return best;
  // A shortened name ('emu') means the one candidate it starts.
  const starting = [...candidates].filter((known) => known.startsWith(word));
  return starting.length === 1 ? starting[0] : null;
}

function suggest(flag, options) {
  const best = closest(flag.replace(/^-+/, '').split('=')[0], Object.keys(options));
  return best === null ? '' : ` (did you mean --${best}?)`;
}

const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity$)/;

// parseArgs refuses any value that starts with '-' ("ambiguous"). A negative number after an
// option that takes a value is that value (`--rate -5` then gets the option's own range
// message); anything else starting with '-' is reported as a missing value, with the '=' form
// for a value that really starts with a dash.
function joinDashValues(argv, options) {
  const shorts = new Map();
  for (const [name, o] of Object.entries(options)) if (o.short) shorts.set(o.short, name);
  const out = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    out.push(arg);
    if (arg === '--') {
      out.push(...argv.slice(i + 1));
      break;
    }
    let name = null;
    if (/^--[^=]+$/.test(arg)) name = arg.slice(2);
    else if (/^-[^-]$/.test(arg)) name = shorts.get(arg[1]) ?? null;
    if (name === null || options[name]?.type !== 'string') continue;
    const next = argv[i + 1];
    if (next === undefined || !next.startsWith('-') || next === '-') continue;
    if (NEGATIVE_NUMBER.test(next)) {
      out[out.length - 1] = `--${name}=${next}`;
      i++;
      continue;
    }
    const hint = /^--?[A-Za-z]/.test(next) && (options[next.replace(/^-+/, '').split('=')[0]] || shorts.has(next.slice(1)))
      ? '' : ` (a value that starts with '-' is written --${name}=${next})`;
    throw new UsageError(`option ${arg.startsWith('--') ? arg : `--${name}`} needs a value${hint}`);
  }
  return out;
}

/**
 * Parses argv strictly against `options` (parseArgs format).
 * @returns {object} the values
 * @throws {UsageError}
 */
function parse(argv, options) {
  try {
    return parseArgs({ args: joinDashValues(argv, options), options, strict: true, allowPositionals: false }).values;
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

module.exports = { UsageError, parse, number, oneOf, closest };
