'use strict';

// What the ledger (lib/client/ledger.js) reads from its callers and from native: pattern
// arguments, the topics of records, the server's error frame, and the errors it words.

const { RealtimeError } = require('../errors.js');
const topicHelpers = require('../topic.js');

// A refused topic's message names the topics, unless the server's text already does. Other
// refusals (RATE_LIMITED) are about the message, not about its topics.
function namingTopics(code, message, topics) {
  if (code !== 'PERMISSION_DENIED' && code !== 'INVALID_TOPIC') return message;
  if (topics.length === 0 || topics.every((t) => message.includes(t))) return message;
  return `${message}: ${topics.join(', ')}`;
}

// The server's own error frame, when native kept it (`raw`): a JSON object, else undefined.
function serverFrame(raw) {
  if (typeof raw !== 'string') return undefined;
  try {
    const frame = JSON.parse(raw);
    return frame !== null && typeof frame === 'object' && !Array.isArray(frame) ? frame : undefined;
  } catch {
    return undefined;
  }
}

function closedError(message, cause) {
  return new RealtimeError('CLOSED', message, cause ? { cause } : undefined);
}

/**
 * The strings of `list`, normalised. A topic `known` has (a Map or Set of normalised patterns)
 * is taken as it is: the records of a bulk subscribe name 100,000 patterns the ledger holds,
 * and normalising each again made several short-lived strings and objects per pattern.
 */
function normaliseTopics(list, known = null) {
  if (!Array.isArray(list)) return [];
  const out = [];
  for (const t of list) {
    if (typeof t !== 'string') continue;
    if (known !== null && known.has(t)) {
      out.push(t);
      continue;
    }
    try {
      out.push(topicHelpers.normalize(t));
    } catch {
      out.push(t);
    }
  }
  return out;
}

// Validates a pattern argument: every pattern is checked before anything is sent, duplicates
// (also in different spellings of the same UUID) count once, order is kept. `normalize` is the
// protocol's grammar (lib/client/grammar.js).
function patternList(patterns, name, normalize = topicHelpers.normalize) {
  let list;
  if (typeof patterns === 'string') list = [patterns];
  else if (Array.isArray(patterns)) list = patterns;
  else {
    throw new RealtimeError('INVALID_OPTION',
      `Expected a topic pattern or an array of them for ${name} but received ${typeof patterns === 'object' ? JSON.stringify(patterns) : String(patterns)}`);
  }
  if (list.length === 0) {
    throw new RealtimeError('INVALID_OPTION', `Expected at least one topic pattern for ${name} but received []`);
  }
  const seen = new Set();
  const bad = [];
  let first = null;
  for (const p of list) {
    try {
      seen.add(normalize(p));
    } catch (err) {
      if (!first) first = err;
      bad.push(p);
    }
  }
  if (first) throw new RealtimeError('INVALID_TOPIC', first.message, { topics: bad });
  return [...seen];
}

module.exports = {
  namingTopics, serverFrame, closedError, normaliseTopics, patternList,
};
