'use strict';

// The Natterbox side of the emulator (docs/protocol-natterbox.md): its start options, the
// world of users and groups (kept here, whole, so a partial update can be merged and the native
// server always answers a subscribe with the full current state), and the tokens it hands out.

const util = require('node:util');
const { RealtimeError } = require('../errors.js');

const KNOWN = ['org', 'tokens', 'strict', 'perMemberSnapshot', 'silentMessages'];
const ID_RE = /^[0-9]{1,18}$/;
const PRESENCE = ['RINGING', 'ANSWERED', 'BRIDGED', ''];
const FIELDS = ['presence', 'logicalDirection', 'callChannelUUID', 'availability', 'availabilityStateId',
  'availabilityProfileId'];
const CLAIM = 'https://natterbox.com/claim/';
const DEFAULT_TOKEN_LIFETIME_S = 7 * 24 * 3600;

function fail(what, name, value) {
  const shown = typeof value === 'string' ? JSON.stringify(value) : util.inspect(value, { depth: 0 });
  return new RealtimeError('INVALID_OPTION', `Expected ${what} for ${name} but received ${shown}`);
}

function id(value, name) {
  const s = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
  if (typeof s !== 'string' || !ID_RE.test(s)) throw fail('a decimal id (number or string)', name, value);
  return s.replace(/^0+(?=[0-9])/, '');
}

/**
 * Validates `natterbox` start options: { org = '1', tokens (accepted list; default any),
 * strict (known client.name required), perMemberSnapshot, silentMessages (the messages socket
 * does not answer subscribes: clients wait their settle time) }.
 */
function resolveNatterboxStart(value) {
  const o = value === undefined ? {} : value;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw fail('an object', 'natterbox', o);
  for (const key of Object.keys(o)) {
    if (!KNOWN.includes(key)) throw fail(`one of ${KNOWN.join(', ')}`, 'natterbox option name', key);
  }
  const tokens = o.tokens === undefined ? [] : o.tokens;
  if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string' || t === '')) {
    throw fail('an array of non-empty strings', 'natterbox.tokens', tokens);
  }
  for (const key of ['strict', 'perMemberSnapshot', 'silentMessages']) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') throw fail('a boolean', `natterbox.${key}`, o[key]);
  }
  return {
    org: o.org === undefined ? '1' : id(o.org, 'natterbox.org'),
    tokens: [...tokens],
    strict: o.strict === true,
    perMemberSnapshot: o.perMemberSnapshot === true,
    silentMessages: o.silentMessages === true,
  };
}

/** The users and groups of one emulated organisation. */
class NatterboxWorld {
  #native;
  #org;
  #users = new Map();   // user id -> element (whole state)
  #groups = new Map();  // group id -> user ids
  #unread = new Map();  // user id -> unread messages (a record exists)

  constructor(native, org) {
    this.#native = native;
    this.#org = org;
  }

  get org() {
    return this.#org;
  }

  /**
   * Merges `fields` into a user's presence and pushes them (the changed fields plus userId) to
   * every connection subscribed to the user or to one of the user's groups.
   */
  presence(userId, fields) {
    const user = id(userId, 'userId');
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) throw fail('an object', 'fields', fields);
    for (const [key, v] of Object.entries(fields)) {
      if (!FIELDS.includes(key)) throw fail(`one of ${FIELDS.join(', ')}`, 'presence field', key);
      if (key === 'presence' && !PRESENCE.includes(v)) throw fail("'RINGING', 'ANSWERED', 'BRIDGED' or ''", 'presence', v);
      const integer = key === 'availabilityStateId' || key === 'availabilityProfileId';
      if (integer ? !Number.isSafeInteger(v) : typeof v !== 'string') {
        throw fail(integer ? 'an integer' : 'a string', key, v);
      }
    }
    const state = { ...(this.#users.get(user) ?? { userId: Number(user) }), ...fields };
    this.#users.set(user, state);
    this.#native.natterboxPresence(this.#org, user, JSON.stringify(state),
      JSON.stringify({ userId: Number(user), ...fields }));
    return { ...state };
  }

  /**
   * Sets a user's unread message count and pushes it to the messages sockets subscribed to the
   * user: `INSERT` when the user had no count, `MODIFY` after, `REMOVE` (count null) clears it.
   * Returns the operation pushed, or null when null cleared nothing.
   * @param {number|string} userId
   * @param {number | null} count
   * @returns {'INSERT' | 'MODIFY' | 'REMOVE' | null}
   */
  unread(userId, count) {
    const user = id(userId, 'userId');
    if (count !== null && !(Number.isSafeInteger(count) && count >= 0)) {
      throw fail('a non-negative integer or null', 'count', count);
    }
    let operation;
    if (count === null) {
      if (!this.#unread.has(user)) return null;
      this.#unread.delete(user);
      operation = 'REMOVE';
    } else {
      operation = this.#unread.has(user) ? 'MODIFY' : 'INSERT';
      this.#unread.set(user, count);
    }
    const data = { userStatistics: count === null ? {} : { unreadMessages: count } };
    this.#native.natterboxMessages(this.#org, user, JSON.stringify({ operation, data }));
    return operation;
  }

  /** A user's unread message count, or null when the user has none recorded. */
  unreadCount(userId) {
    return this.#unread.get(id(userId, 'userId')) ?? null;
  }

  /** A user's current state, or null. */
  user(userId) {
    const s = this.#users.get(id(userId, 'userId'));
    return s ? { ...s } : null;
  }

  /** Sets a group's members (the next snapshots of the group list them). */
  group(groupId, userIds) {
    const group = id(groupId, 'groupId');
    if (!Array.isArray(userIds)) throw fail('an array of user ids', 'userIds', userIds);
    const users = userIds.map((u, i) => id(u, `userIds[${i}]`));
    this.#groups.set(group, users);
    this.#native.natterboxGroup(this.#org, group, users);
  }

  /** A group's members, or null. */
  members(groupId) {
    const g = this.#groups.get(id(groupId, 'groupId'));
    return g ? [...g] : null;
  }

  /**
   * An unsigned JWT carrying Natterbox's namespaced claims (the emulator does not check
   * signatures; it refuses an expired `exp`).
   * @param {{ userId?: number|string, orgId?: number|string, expiresIn?: number, scope?: string }} claims
   */
  token(claims = {}) {
    if (claims === null || typeof claims !== 'object') throw fail('an object', 'claims', claims);
    const expiresIn = claims.expiresIn === undefined ? DEFAULT_TOKEN_LIFETIME_S : claims.expiresIn;
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn)) throw fail('a number of seconds', 'expiresIn', expiresIn);
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      [`${CLAIM}orgId`]: Number(claims.orgId === undefined ? this.#org : id(claims.orgId, 'orgId')),
      [`${CLAIM}userId`]: Number(claims.userId === undefined ? 1 : id(claims.userId, 'userId')),
      scope: claims.scope === undefined ? 'enduser:basic' : String(claims.scope),
      iat: now,
      exp: now + expiresIn,
    };
    const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
    return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
  }
}

module.exports = { resolveNatterboxStart, NatterboxWorld };
