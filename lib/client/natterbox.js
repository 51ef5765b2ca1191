'use strict';

// What a client speaking Natterbox's CTI socket needs on the JS side (docs/protocol-natterbox.md):
// the topic grammar, routing of member topics to group patterns, and the options that differ
// from VoIPBIN. The socket work itself is native (native/core/natterbox_cti.h).

const { RealtimeError } = require('../errors.js');

const PATTERN_RE = /^org:([0-9]{1,18}):(user|group):([0-9]{1,18}):(presence|messages)$/;
const DEFAULT_CLIENT_NAME = 'CTI 2.0';
const PATH_STYLES = ['organisation', 'org'];

function invalid(message, input) {
  return new RealtimeError('INVALID_TOPIC', message, { topics: [input] });
}

function decimal(s) {
  return s.replace(/^0+(?=[0-9])/, '');
}

/**
 * Validates a Natterbox pattern and returns its normalised spelling (ids without leading zeros).
 * `org:O:user:U:presence`, `org:O:group:G:presence` and `org:O:user:U:messages`; wildcards do not
 * exist on this server.
 * @param {string} pattern
 * @returns {string}
 */
function normalize(pattern) {
  if (typeof pattern !== 'string') {
    throw new RealtimeError('INVALID_TOPIC', `Expected a string for topic but received ${String(pattern)}`,
      { topics: [] });
  }
  if (pattern.includes('*')) {
    throw invalid(`topic ${JSON.stringify(pattern)}: Natterbox has no wildcards; subscribe to users or groups by id`,
      pattern);
  }
  const m = PATTERN_RE.exec(pattern);
  if (!m) {
    throw invalid(`topic ${JSON.stringify(pattern)} must be org:<org>:user:<user>:presence, ` +
      'org:<org>:group:<group>:presence or org:<org>:user:<user>:messages (decimal ids)', pattern);
  }
  if (m[4] === 'messages' && m[2] === 'group') {
    throw invalid(`topic ${JSON.stringify(pattern)}: unread counts are per user (org:<org>:user:<user>:messages)`,
      pattern);
  }
  return `org:${decimal(m[1])}:${m[2]}:${decimal(m[3])}:${m[4]}`;
}

/**
 * The parts of a normalised pattern.
 * @param {string} pattern
 * @returns {{ org: string, kind: 'user' | 'group', id: string, resource: 'presence' | 'messages' }}
 */
function parse(pattern) {
  const m = PATTERN_RE.exec(pattern);
  if (!m) throw invalid(`topic ${JSON.stringify(pattern)} is not a normalised Natterbox pattern`, pattern);
  return { org: m[1], kind: m[2], id: m[3], resource: m[4] };
}

/**
 * The resource of a Natterbox topic (`presence` or `messages`), null for a topic that is not one.
 * @param {string} topic
 * @returns {'presence' | 'messages' | null}
 */
function resourceOf(topic) {
  const m = PATTERN_RE.exec(topic);
  return m === null ? null : m[4];
}

function isGroup(pattern) {
  return parse(pattern).kind === 'group';
}

/**
 * The socket a normalised pattern lives on: 'messages' (one messages socket per pattern) or
 * 'main' (the CTI socket).
 * @param {string} pattern
 * @returns {'main' | 'messages'}
 */
function socketOf(pattern) {
  return parse(pattern).resource === 'messages' ? 'messages' : 'main';
}

/**
 * Routing for Natterbox topics: a user pattern is its own key, a group pattern's keys are its
 * members' user topics (learnt from the group's snapshot). lookup() returns each value once.
 */
class KeyIndex {
  #map = new Map();

  get size() {
    return this.#map.size;
  }

  add(key, value) {
    let list = this.#map.get(key);
    if (!list) {
      list = [];
      this.#map.set(key, list);
    }
    if (!list.includes(value)) list.push(value);
  }

  clear() {
    this.#map.clear();
  }

  lookup(topic) {
    return this.#map.get(topic) ?? NONE;
  }
}

const NONE = Object.freeze([]);

/**
 * The keys a pattern routes under.
 * @param {string} pattern normalised
 * @param {Map<string, string[]>} members group pattern -> member topics
 * @returns {string[]}
 */
function keysOf(pattern, members) {
  if (!isGroup(pattern)) return [pattern];
  return members.get(pattern) ?? NONE;
}

/** The grammar and routing a RealtimeClient uses for the Natterbox protocol. */
const grammar = Object.freeze({
  normalize,
  createIndex: () => new KeyIndex(),
  keysOf,
  socketOf,
  dynamic: true,
});

function fail(what, name, value) {
  return new RealtimeError('INVALID_OPTION', `Expected ${what} for ${name} but received ${JSON.stringify(value)}`);
}

/**
 * Validates the Natterbox-only options; returns the `natterbox` section of the native config.
 * @param {object} o user options
 * @param {string} version this package's version
 */
function natterboxOptions(o, version) {
  if (o.accessKey !== undefined) {
    throw new RealtimeError('INVALID_OPTION', 'Expected token or getToken for a natterbox client but received accessKey');
  }
  if (o.dialect !== undefined) {
    throw new RealtimeError('INVALID_OPTION', 'Expected no dialect for a natterbox client (dialects are VoIPBIN\'s)');
  }
  const info = o.clientInfo === undefined ? {} : o.clientInfo;
  if (info === null || typeof info !== 'object' || Array.isArray(info)) {
    throw fail('an object { name, version }', 'clientInfo', info);
  }
  for (const key of Object.keys(info)) {
    if (key !== 'name' && key !== 'version') {
      throw new RealtimeError('INVALID_OPTION', `Unknown option clientInfo.${key} (known: name, version)`);
    }
  }
  const name = info.name === undefined ? DEFAULT_CLIENT_NAME : info.name;
  const ver = info.version === undefined ? version : info.version;
  if (typeof name !== 'string' || name === '') throw fail('a non-empty string', 'clientInfo.name', name);
  if (typeof ver !== 'string' || ver === '') throw fail('a non-empty string', 'clientInfo.version', ver);
  const style = o.pathStyle === undefined ? 'organisation' : o.pathStyle;
  if (!PATH_STYLES.includes(style)) throw fail("'organisation' or 'org'", 'pathStyle', style);
  const windowMs = o.snapshotWindow === undefined ? 2000 : o.snapshotWindow;
  if (typeof windowMs !== 'number' || !Number.isInteger(windowMs) || windowMs < 1 || windowMs > 60000) {
    throw fail('an integer from 1 to 60000 (ms)', 'snapshotWindow', windowMs);
  }
  return { clientName: name, clientVersion: ver, seedPaths: style === 'org', snapshotWindow: windowMs };
}

/**
 * The `exp` claim of a JWT in ms since the epoch, or null (the token is not verified: this only
 * schedules the refresh before the server would end the connection).
 * @param {string} token
 * @returns {number | null}
 */
function tokenExpiry(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

module.exports = {
  grammar, normalize, resourceOf, natterboxOptions, tokenExpiry, KeyIndex, DEFAULT_CLIENT_NAME,
};
