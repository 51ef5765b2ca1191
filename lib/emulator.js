'use strict';

// The local emulator of VoIPBIN's real-time endpoint. The server itself is native (its own io
// threads, see native/emulator/README.md); this wrapper validates options, signs tokens, turns
// the native notifications into events, and runs JS scenarios from lib/scenarios/.

const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const util = require('node:util');
const { EventEmitter } = require('node:events');
const { loadBinding } = require('./native.js');
const { RealtimeError } = require('./errors.js');
const topicHelpers = require('./topic.js');
const { resolveNatterboxStart, NatterboxWorld } = require('./emulator/natterbox.js');

const DIALECTS = ['documented', 'live'];
const PERMISSIONS = ['admin', 'manager', 'agent'];
const FAULTS = ['noPong', 'stall', 'malformed', 'binary', 'oversized', 'drop', 'refuseUpgrades', 'expireToken'];
const TOGGLES = new Set(['noPong', 'stall', 'refuseUpgrades']);
const DEFAULT_TOKEN_LIFETIME_S = 7 * 24 * 3600;
const SCENARIO_NAME_RE = /^[a-z][a-z0-9-]*$/;
const MAX_U32 = 4294967295;
const KNOWN = new Set([
  'host', 'port', 'dialect', 'secret', 'tls', 'pingInterval', 'readTimeout', 'rateLimit',
  'upgradeRateLimit', 'retryAfter', 'bufferSize', 'liveWrapper', 'maxMessage', 'threads',
  'customerId', 'frozen', 'protocol', 'natterbox',
]);

function show(value) {
  if (typeof value === 'string') return value === '' ? 'an empty string' : JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'function') return 'a function';
  return util.inspect(value, { depth: 0, breakLength: Infinity, maxArrayLength: 5, maxStringLength: 40 });
}

function fail(what, name, value) {
  return new RealtimeError('INVALID_OPTION', `Expected ${what} for ${name} but received ${show(value)}`);
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
}

// `value` when it is a number in [min, max] (an integer unless `fractions`), `def` when undefined.
function ranged(value, name, def, min, max, fractions = false) {
  if (value === undefined) return def;
  const ok = typeof value === 'number' && (fractions ? Number.isFinite(value) : Number.isInteger(value));
  if (!ok || value < min || value > max) {
    throw fail(`${fractions ? 'a number' : 'an integer'} from ${min} to ${max}`, name, value);
  }
  return value;
}

function integer(value, name, def, min, max) {
  return ranged(value, name, def, min, max);
}

function uuid(value, name) {
  if (typeof value !== 'string' || !topicHelpers.isUuid(value)) throw fail('a UUID', name, value);
  return value.toLowerCase();
}

function pemText(value, name) {
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value !== 'string' || !value.includes('-----BEGIN')) throw fail('a PEM string or Buffer', name, value);
  return value;
}

// Checked here so that a start() failure past validation can only be the listening socket.
function checkKeyPair(cert, key) {
  let certificate;
  let privateKey;
  try {
    certificate = new crypto.X509Certificate(cert);
  } catch (err) {
    throw new RealtimeError('INVALID_OPTION', `Expected a PEM certificate for tls.cert but it does not parse: ${err.message}`);
  }
  try {
    privateKey = crypto.createPrivateKey(key);
  } catch (err) {
    throw new RealtimeError('INVALID_OPTION', `Expected a PEM private key for tls.key but it does not parse: ${err.message}`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new RealtimeError('INVALID_OPTION', 'Expected tls.key to be the private key of tls.cert but it belongs to another certificate');
  }
}

function base64url(input) {
  return Buffer.from(input).toString('base64url');
}

function resolveStartOptions(options) {
  if (options === undefined) options = {};
  if (!isPlainObject(options)) throw fail('an options object', 'options', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw fail(`one of ${[...KNOWN].join(', ')}`, 'option name', key);
  }
  const host = options.host === undefined ? '127.0.0.1' : options.host;
  if (typeof host !== 'string' || net.isIP(host) === 0) throw fail('an IP address string', 'host', host);
  const protocol = options.protocol === undefined ? 'voipbin' : options.protocol;
  if (protocol !== 'voipbin' && protocol !== 'natterbox') throw fail("'voipbin' or 'natterbox'", 'protocol', protocol);
  if (protocol === 'natterbox' && options.dialect !== undefined) throw fail('no dialect with protocol natterbox', 'dialect', options.dialect);
  if (protocol !== 'natterbox' && options.natterbox !== undefined) {
    throw new RealtimeError('INVALID_OPTION', "Expected protocol: 'natterbox' with the natterbox option");
  }
  const dialect = options.dialect === undefined ? 'documented' : options.dialect;
  if (!DIALECTS.includes(dialect)) throw fail("'documented' or 'live'", 'dialect', dialect);
  let secret = options.secret;
  if (secret === undefined) secret = crypto.randomBytes(32);
  else if (typeof secret === 'string' && secret !== '') secret = Buffer.from(secret, 'utf8');
  else if (!Buffer.isBuffer(secret) || secret.length === 0) throw fail('a non-empty string or Buffer', 'secret', '(hidden)');
  let tlsCert = '';
  let tlsKey = '';
  if (options.tls !== undefined) {
    if (!isPlainObject(options.tls)) throw fail('an object with cert and key', 'tls', options.tls);
    tlsCert = pemText(options.tls.cert, 'tls.cert');
    tlsKey = pemText(options.tls.key, 'tls.key');
    checkKeyPair(tlsCert, tlsKey);
  }
  const frozen = options.frozen === undefined ? [] : options.frozen;
  if (!Array.isArray(frozen)) throw fail('an array of customer UUIDs', 'frozen', frozen);
  if (options.liveWrapper !== undefined && typeof options.liveWrapper !== 'boolean') {
    throw fail('a boolean', 'liveWrapper', options.liveWrapper);
  }
  return {
    host,
    port: integer(options.port, 'port', 0, 0, 65535),
    protocol,
    natterbox: protocol === 'natterbox' ? resolveNatterboxStart(options.natterbox) : null,
    dialect: protocol === 'natterbox' ? 'natterbox' : dialect,
    secret,
    tlsCert,
    tlsKey,
    pingInterval: integer(options.pingInterval, 'pingInterval', 10000, 0, MAX_U32),
    readTimeout: integer(options.readTimeout, 'readTimeout', 60000, 0, MAX_U32),
    rateLimit: integer(options.rateLimit, 'rateLimit', 20, 0, MAX_U32),
    upgradeRateLimit: integer(options.upgradeRateLimit, 'upgradeRateLimit', 0, 0, MAX_U32),
    retryAfter: integer(options.retryAfter, 'retryAfter', 1, 0, 86400),
    bufferSize: integer(options.bufferSize, 'bufferSize', 2000, 1, MAX_U32),
    liveWrapper: options.liveWrapper === true,
    maxMessage: integer(options.maxMessage, 'maxMessage', 64 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER),
    threads: integer(options.threads, 'threads', 1, 1, 16),
    customerId: options.customerId === undefined ? crypto.randomUUID() : uuid(options.customerId, 'customerId'),
    frozen: frozen.map((id, i) => uuid(id, `frozen[${i}]`)),
  };
}

/**
 * A local stand-in for the VoIPBIN real-time endpoint. Create it with `Emulator.start()`.
 * Events: 'connection' ({ connection, customerId, agentId, accessKey, tokenIn: where a Natterbox
 * messages socket's token was, 'query' or 'header', else null }), 'subscribe' and
 * 'unsubscribe' ({ connection, topics }; Natterbox messages sockets add `clientRequestId`),
 * 'disconnect' ({ connection, reason }),
 * 'blast' (the report of a finished blast).
 */
class Emulator extends EventEmitter {
  #native = null;
  #config;
  #port = 0;
  #stopPromise = null;
  #stoppedResolve = null;
  #running = false;
  #blasts = new Map();
  #scenarios = new Set();
  #world = null;  // NatterboxWorld with protocol 'natterbox'

  /**
   * Starts an emulator. Resolves once it listens.
   * @param {object} [options] host, port, dialect, secret, tls: { cert, key }, pingInterval,
   *   readTimeout, rateLimit, upgradeRateLimit, retryAfter, bufferSize, liveWrapper, maxMessage,
   *   threads, customerId, frozen (see native/emulator/README.md)
   * @returns {Promise<Emulator>}
   */
  static async start(options) {
    const emu = new Emulator(options);
    emu.#listen();
    return emu;
  }

  /** @param {object} [options] validated like `Emulator.start`; call `start()` through the static method. */
  constructor(options) {
    super();
    this.#config = resolveStartOptions(options);
  }

  #listen() {
    const binding = loadBinding();
    if (typeof binding.Emulator !== 'function') {
      throw new RealtimeError('NATIVE_LOAD_FAILED',
        'The native addon does not export Emulator: it is older than this package; rebuild it (npm rebuild voip-realtime)');
    }
    const c = this.#config;
    const native = new binding.Emulator({
      host: c.host, port: c.port, dialect: c.dialect, secret: c.secret, tlsCert: c.tlsCert, tlsKey: c.tlsKey,
      pingInterval: c.pingInterval, readTimeout: c.readTimeout, rateLimit: c.rateLimit,
      upgradeRateLimit: c.upgradeRateLimit, retryAfter: c.retryAfter, bufferSize: c.bufferSize,
      liveWrapper: c.liveWrapper, maxMessage: c.maxMessage, threads: c.threads,
      natterbox: c.natterbox ?? undefined,
    }, (record) => this.#onNotify(record));
    try {
      this.#port = native.start();
    } catch (err) {
      native.join();
      // Options, TLS material included, were checked above: what is left is the socket.
      throw new RealtimeError('LISTEN_FAILED', err.message, { cause: err });
    }
    for (const id of c.frozen) native.setFrozen(id, true);
    if (c.natterbox) this.#world = new NatterboxWorld(native, c.natterbox.org);
    this.#native = native;
    this.#running = true;
  }

  #onNotify(text) {
    let rec;
    try {
      rec = JSON.parse(text);
    } catch {
      return;
    }
    switch (rec.type) {
      case 'connection':
        this.emit('connection', {
          connection: rec.connection, customerId: rec.customerId, agentId: rec.agentId, accessKey: rec.accessKey,
          tokenIn: rec.tokenIn,
        });
        break;
      case 'auth':
        this.emit('auth', { connection: rec.connection, client: rec.client });
        break;
      case 'subscribe':
      case 'unsubscribe':
        // Natterbox messages sockets name their subscribe's clientRequestId.
        this.emit(rec.type, typeof rec.clientRequestId === 'string'
          ? { connection: rec.connection, topics: rec.topics, clientRequestId: rec.clientRequestId }
          : { connection: rec.connection, topics: rec.topics });
        break;
      case 'close':
        this.emit('disconnect', { connection: rec.connection, reason: rec.reason });
        break;
      case 'blast': {
        const report = blastReport(rec);
        const pending = this.#blasts.get(rec.id);
        this.#blasts.delete(rec.id);
        if (pending) pending.resolve(report);
        this.emit('blast', report);
        break;
      }
      case 'stopped':
        if (this.#stoppedResolve) this.#stoppedResolve();
        break;
      default:
        break;
    }
  }

  #live() {
    if (!this.#running) throw new RealtimeError('CLOSED', 'the emulator is stopped');
    return this.#native;
  }

  /** @returns {string} `ws://host:port/v1.0/ws` (or `wss://` with tls); Natterbox: `ws://host:port/` */
  get url() {
    const host = this.#config.host.includes(':') ? `[${this.#config.host}]` : this.#config.host;
    const path = this.#world ? '/' : '/v1.0/ws';
    return `${this.secure ? 'wss' : 'ws'}://${host}:${this.#port}${path}`;
  }

  /** `'voipbin'` or `'natterbox'`. */
  get protocol() { return this.#config.protocol; }

  #natterbox(what) {
    this.#live();
    if (!this.#world) throw new RealtimeError('INVALID_OPTION', `${what} needs an emulator started with protocol: 'natterbox'`);
    return this.#world;
  }

  /** Natterbox: the organisation tokens and paths belong to. */
  get org() { return this.#world ? this.#world.org : null; }

  /**
   * Natterbox: merges presence fields into a user's state and pushes them to every connection
   * subscribed to the user or to one of the user's groups. Returns the user's whole state.
   * @param {number|string} userId
   * @param {{ presence?: 'RINGING'|'ANSWERED'|'BRIDGED'|'', logicalDirection?: string, callChannelUUID?: string,
   *   availability?: string, availabilityStateId?: number, availabilityProfileId?: number }} fields
   * @returns {object}
   */
  presence(userId, fields) { return this.#natterbox('presence()').presence(userId, fields); }

  /**
   * Natterbox: the messages socket's URL (`ws://host:port/messages`; clients add `?token=`).
   * Null for a VoIPBIN emulator.
   */
  get messagesUrl() {
    if (!this.#world) return null;
    const host = this.#config.host.includes(':') ? `[${this.#config.host}]` : this.#config.host;
    return `${this.secure ? 'wss' : 'ws'}://${host}:${this.#port}/messages`;
  }

  /**
   * Natterbox: sets a user's unread message count (null clears it) and pushes it to the messages
   * sockets subscribed to the user: INSERT the first time, MODIFY after, REMOVE on clear.
   * @param {number|string} userId
   * @param {number | null} count
   * @returns {'INSERT' | 'MODIFY' | 'REMOVE' | null} the operation pushed (null: nothing to clear)
   */
  unread(userId, count) { return this.#natterbox('unread()').unread(userId, count); }

  /** Natterbox: a user's unread message count, or null. */
  unreadCount(userId) { return this.#natterbox('unreadCount()').unreadCount(userId); }

  /** Natterbox: a user's current presence state, or null. */
  user(userId) { return this.#natterbox('user()').user(userId); }

  /**
   * Natterbox: sets a group's members.
   * @param {number|string} groupId
   * @param {(number|string)[]} userIds
   */
  group(groupId, userIds) { this.#natterbox('group()').group(groupId, userIds); }

  /** Natterbox: a group's members, or null. */
  members(groupId) { return this.#natterbox('members()').members(groupId); }

  get host() { return this.#config.host; }
  get port() { return this.#port; }
  get dialect() { return this.#config.dialect; }
  get secure() { return this.#config.tlsCert !== ''; }
  /** The customer that tokens, access keys and blasts default to. */
  get customerId() { return this.#config.customerId; }
  get running() { return this.#running; }

  /**
   * An HS256 JWT this emulator accepts.
   * @param {{ customerId?: string, agentId?: string, permissions?: ('admin'|'manager'|'agent')[],
   *   expiresIn?: number, delegate?: boolean }} [claims] expiresIn in seconds (default 7 days;
   *   negative gives an already expired token); permissions default to ['agent'] with an agentId,
   *   ['admin'] without
   * @returns {string}
   */
  issueToken(claims = {}) {
    if (!isPlainObject(claims)) throw fail('an object', 'issueToken(claims)', claims);
    // Natterbox: { userId, orgId, expiresIn, scope } as an unsigned JWT with namespaced claims.
    if (this.#world) return this.#world.token(claims);
    const customerId = claims.customerId === undefined ? this.#config.customerId : uuid(claims.customerId, 'customerId');
    const agentId = claims.agentId === undefined || claims.agentId === null ? null : uuid(claims.agentId, 'agentId');
    const permissions = claims.permissions === undefined ? [agentId ? 'agent' : 'admin'] : claims.permissions;
    if (!Array.isArray(permissions) || permissions.some((p) => !PERMISSIONS.includes(p))) {
      throw fail("an array of 'admin', 'manager' or 'agent'", 'permissions', permissions);
    }
    const expiresIn = claims.expiresIn === undefined ? DEFAULT_TOKEN_LIFETIME_S : claims.expiresIn;
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn)) throw fail('a number of seconds', 'expiresIn', expiresIn);
    if (claims.delegate !== undefined && typeof claims.delegate !== 'boolean') throw fail('a boolean', 'delegate', claims.delegate);
    const now = Math.floor(Date.now() / 1000);
    const payload = { customer_id: customerId, permissions, iat: now, exp: now + expiresIn };
    if (agentId) payload.agent_id = agentId;
    if (claims.delegate) payload.delegate = true;
    const head = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}`;
    const sig = crypto.createHmac('sha256', this.#config.secret).update(head).digest('base64url');
    return `${head}.${sig}`;
  }

  /**
   * A new access key for a customer (accepted as `?accesskey=`, and as `?token=` in the
   * documented dialect). Access keys count as admin and have no agent.
   * @param {{ customerId?: string }} [options]
   * @returns {string}
   */
  issueAccessKey(options = {}) {
    if (!isPlainObject(options)) throw fail('an object', 'issueAccessKey(options)', options);
    const customerId = options.customerId === undefined ? this.#config.customerId : uuid(options.customerId, 'customerId');
    const key = `ak_${crypto.randomBytes(20).toString('hex')}`;
    this.#live().addAccessKey(key, customerId);
    return key;
  }

  /**
   * Freezes (or unfreezes) a customer's account: its upgrades get HTTP 403.
   * @param {string} [customerId]
   * @param {boolean} [frozen]
   */
  freeze(customerId = this.#config.customerId, frozen = true) {
    this.#live().setFrozen(uuid(customerId, 'customerId'), frozen === true);
  }

  /**
   * Delivers an event to every connection whose subscriptions match it.
   * @param {{ event_type: string, data: object, topic?: string, timestamp?: string }} event
   */
  publish(event) {
    const native = this.#live();
    if (!isPlainObject(event)) throw fail('an event object', 'event', event);
    const { event_type: eventType, data, topic, timestamp } = event;
    if (typeof eventType !== 'string' || eventType === '') throw fail('a non-empty string', 'event_type', eventType);
    if (!isPlainObject(data)) throw fail('an object', 'data', data);
    if (timestamp !== undefined && typeof timestamp !== 'string') throw fail('a string', 'timestamp', timestamp);
    let wireTopic = '';
    if (topic !== undefined) {
      wireTopic = topicHelpers.normalize(topic);
      if (wireTopic.includes('*')) throw fail('a concrete topic (no *)', 'topic', topic);
    }
    const str = (v) => (typeof v === 'string' ? v : '');
    const customerId = str(data.customer_id);
    const id = str(data.id);
    if (!wireTopic && (!topicHelpers.isUuid(customerId) || id === '')) {
      throw fail('data.customer_id (a UUID) and data.id, or a topic', 'event', event);
    }
    try {
      native.publish({
        eventType, timestamp: timestamp || '', topic: wireTopic, data: JSON.stringify(data),
        customerId, id, ownerType: str(data.owner_type), ownerId: str(data.owner_id),
      });
    } catch (err) {
      throw new RealtimeError('INVALID_OPTION', `emulator: ${err.message}`, { cause: err });
    }
  }

  /**
   * Runs a scenario. `blast` is native: it streams pre-serialized events to every subscribed
   * connection as fast as each socket takes them and returns a Promise of its report. Any other
   * name loads lib/scenarios/<name>.js, called as `scenario(emulator, options)`, and returns its
   * handle at once (`stop()`, `done`, `published`, `error`); `stop()` of the emulator stops it too.
   * A bad name or option throws (blast: rejects) `INVALID_OPTION`.
   * @param {string} name
   * @param {object} [options] blast: { count = 100000, size = 300 (bytes per frame), customerId,
   *   ownerId, resources = ['call'], ids = 64, unfiltered = false, rate = 0 (events/s per
   *   connection, 0 = as fast as the socket takes them; paced events carry data.sent) }
   * @returns {Promise<object>|{ stop(): void, done: Promise<void>, published: number, error: Error|null }}
   */
  scenario(name, options = {}) {
    if (name === 'blast') {
      try {
        return this.#blast(options);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (typeof name !== 'string' || !SCENARIO_NAME_RE.test(name)) throw fail("'blast' or a scenario name", 'name', name);
    const file = path.join(__dirname, 'scenarios', `${name}.js`);
    if (!fs.existsSync(file)) {
      const known = ['blast', ...listScenarios()];
      throw fail(`one of ${known.join(', ')}`, 'scenario', name);
    }
    this.#live();
    const mod = require(file);
    const run = typeof mod === 'function' ? mod : mod.start;
    if (typeof run !== 'function') throw fail('a scenario module exporting a function', 'scenario', name);
    let handle;
    try {
      handle = run(this, options);
    } catch (err) {
      if (err instanceof RealtimeError) throw err;
      throw new RealtimeError('INVALID_OPTION', `scenario ${name} could not start: ${err && err.message}`, { cause: err });
    }
    // The contract is a handle returned synchronously: a caller can stop what it started at once.
    if (handle === null || typeof handle !== 'object' || typeof handle.stop !== 'function' || typeof handle.then === 'function') {
      throw new RealtimeError('INVALID_OPTION', `scenario ${name} did not return a handle with stop()`);
    }
    this.#scenarios.add(handle);
    if (handle.done && typeof handle.done.then === 'function') {
      handle.done.then(() => this.#scenarios.delete(handle), () => this.#scenarios.delete(handle));
    }
    return handle;
  }

  #blast(options) {
    const native = this.#live();
    if (!isPlainObject(options)) throw fail('an object', 'blast options', options);
    const resources = options.resources === undefined ? ['call'] : options.resources;
    if (!Array.isArray(resources) || resources.length === 0 || resources.some((r) => typeof r !== 'string' || !/^[a-z][a-z0-9_]*$/.test(r))) {
      throw fail('a non-empty array of resource names', 'resources', resources);
    }
    if (options.unfiltered !== undefined && typeof options.unfiltered !== 'boolean') {
      throw fail('a boolean', 'unfiltered', options.unfiltered);
    }
    const opts = {
      count: integer(options.count, 'count', 100000, 0, Number.MAX_SAFE_INTEGER),
      size: integer(options.size, 'size', 300, 0, 16 * 1024 * 1024),
      ids: integer(options.ids, 'ids', 64, 1, 100000),
      customerId: options.customerId === undefined ? this.#config.customerId : uuid(options.customerId, 'customerId'),
      ownerId: options.ownerId === undefined ? '' : uuid(options.ownerId, 'ownerId'),
      resources,
      unfiltered: options.unfiltered === true,
      rate: ranged(options.rate, 'rate', 0, 0, 1e9, true),
    };
    return new Promise((resolve, reject) => {
      let id;
      try {
        id = native.blast(opts);
      } catch (err) {
        reject(new RealtimeError('INVALID_OPTION', `emulator: ${err.message}`, { cause: err }));
        return;
      }
      // The report may already have arrived (no subscribed connection): it is queued behind us.
      this.#blasts.set(id, { resolve, reject });
    });
  }

  /**
   * Switches a fault on (or off) for every connection, current and new.
   * Toggles: 'noPong', 'stall', 'refuseUpgrades' ({ status, retryAfter } seconds); pass `false`
   * (or { enabled: false }) to switch one off. One shots on current connections: 'malformed'
   * ({ text }), 'binary' ({ data }), 'oversized' ({ size }), 'drop'; Natterbox: 'expireToken'
   * (an error frame, then close 4001, on every connection).
   * @param {string} name
   * @param {object|boolean} [options]
   */
  fault(name, options = {}) {
    const native = this.#live();
    if (!FAULTS.includes(name)) throw fail(`one of ${FAULTS.join(', ')}`, 'fault', name);
    if (name === 'expireToken') {
      // Natterbox: what the server does when a connection's token expires.
      this.#natterbox("fault('expireToken')");
      native.fault('malformed', { enabled: true, text: '{"type":"error","message":"token expired"}' });
      native.disconnectAll(false, 4001);
      return;
    }
    if (options === false || options === true) options = { enabled: options };
    if (!isPlainObject(options)) throw fail('an object or a boolean', 'fault options', options);
    const enabled = options.enabled === undefined ? true : options.enabled;
    if (typeof enabled !== 'boolean') throw fail('a boolean', 'enabled', enabled);
    if (!enabled && !TOGGLES.has(name)) throw fail('a fault that can be switched off', 'fault', name);
    const args = { enabled };
    if (name === 'refuseUpgrades' && enabled) {
      args.status = integer(options.status, 'status', 503, 200, 599);
      if (args.status === 101) throw fail('an HTTP status other than 101', 'status', args.status);
      args.retryAfter = integer(options.retryAfter, 'retryAfter', 0, 0, 86400);
    }
    if (name === 'malformed' && options.text !== undefined) {
      if (typeof options.text !== 'string') throw fail('a string', 'text', options.text);
      args.text = options.text;
    }
    if (name === 'binary' && options.data !== undefined) {
      if (!Buffer.isBuffer(options.data) || options.data.length === 0) throw fail('a non-empty Buffer', 'data', options.data);
      args.text = options.data;
    }
    if (name === 'oversized') args.size = integer(options.size, 'size', 17 * 1024 * 1024, 1, 1024 * 1024 * 1024);
    native.fault(name, args);
  }

  /** Switches every toggle fault off. */
  clearFaults() {
    this.#live().clearFaults();
  }

  /**
   * Closes every connection: with a close frame (`code`, default 1001) in the documented
   * dialect, or `abrupt` (no close frame; always so in the live dialect).
   * @param {{ abrupt?: boolean, code?: number }} [options]
   */
  disconnectAll(options = {}) {
    const native = this.#live();
    if (!isPlainObject(options)) throw fail('an object', 'disconnectAll(options)', options);
    const code = integer(options.code, 'code', 1001, 1000, 4999);
    native.disconnectAll(options.abrupt === true, code);
  }

  /** @returns {object} counters (see native/emulator/README.md) */
  stats() {
    if (!this.#native) throw new RealtimeError('CLOSED', 'the emulator never started');
    const s = this.#native.stats();
    s.blast = blastReport(s.blast);
    return s;
  }

  /**
   * Stops accepting, closes every connection (documented: close frame 1001, bounded by
   * `grace` ms), stops scenarios and joins the native threads. Idempotent.
   * @param {{ grace?: number }} [options]
   * @returns {Promise<void>}
   */
  stop(options = {}) {
    if (this.#stopPromise) return this.#stopPromise;
    const grace = integer(isPlainObject(options) ? options.grace : undefined, 'grace', 1000, 0, 60000);
    this.#running = false;
    for (const handle of this.#scenarios) {
      try {
        handle.stop();
      } catch {
        // a scenario failing to stop must not keep the server up
      }
    }
    this.#scenarios.clear();
    const native = this.#native;
    this.#stopPromise = new Promise((resolve) => {
      if (!native) return resolve();
      let timer = null;
      const finish = () => {
        if (timer) clearTimeout(timer);
        this.#stoppedResolve = null;
        native.join();
        for (const { reject } of this.#blasts.values()) reject(new RealtimeError('CLOSED', 'the emulator stopped during the blast'));
        this.#blasts.clear();
        resolve();
      };
      this.#stoppedResolve = finish;
      // Backstop: the native side reports 'stopped' after `grace` at most; never wait forever.
      timer = setTimeout(finish, grace + 2000);
      native.shutdown(grace);
    });
    return this.#stopPromise;
  }

  /** Keeps the process alive while running (the default). */
  ref() {
    if (this.#running) this.#native.ref();
    return this;
  }

  /** Lets the process exit while the emulator is still running. */
  unref() {
    if (this.#running) this.#native.unref();
    return this;
  }
}

function blastReport(r) {
  const out = {
    connections: r.connections, events: r.events, bytes: r.bytes, wallMs: r.wallMs, cpuMs: r.cpuMs,
    eventsPerSecond: r.wallMs > 0 ? Math.round((r.events * 1000) / r.wallMs) : 0,
    megabytesPerSecond: r.wallMs > 0 ? (r.bytes / 1e6) / (r.wallMs / 1000) : 0,
    cpuPercent: r.wallMs > 0 ? (100 * r.cpuMs) / r.wallMs : 0,
  };
  if (r.running !== undefined) out.running = r.running;
  return out;
}

function listScenarios() {
  try {
    return fs.readdirSync(path.join(__dirname, 'scenarios'))
      .filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3));
  } catch {
    return [];
  }
}

module.exports = { Emulator };
