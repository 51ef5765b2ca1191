'use strict';

// The local emulator of VoIPBIN's real-time endpoint. The server itself is native (its own io
// threads, see native/emulator/README.md); this wrapper validates options, signs tokens, turns
// the native notifications into events, and runs JS scenarios from lib/scenarios/.

const crypto = require('node:crypto');
const { EventEmitter } = require('node:events');
const { loadBinding } = require('./native.js');
const { RealtimeError } = require('./errors.js');
const topicHelpers = require('./topic.js');
const { NatterboxWorld } = require('./emulator/natterbox.js');
const { fail, isPlainObject, integer, uuid, resolveStartOptions } = require('./emulator/options.js');
const { signToken } = require('./emulator/tokens.js');
const { blastOptions, blastReport } = require('./emulator/blast.js');
const { checkFaultName, faultArgs } = require('./emulator/faults.js');
const { scenarioFile } = require('./emulator/scenarios.js');

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
    return signToken(this.#config.secret, this.#config.customerId, claims);
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
    const file = scenarioFile(name);
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
    const opts = blastOptions(options, this.#config.customerId);
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
    checkFaultName(name);
    if (name === 'expireToken') {
      // Natterbox: what the server does when a connection's token expires.
      this.#natterbox("fault('expireToken')");
      native.fault('malformed', { enabled: true, text: '{"type":"error","message":"token expired"}' });
      native.disconnectAll(false, 4001);
      return;
    }
    native.fault(name, faultArgs(name, options));
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

module.exports = { Emulator };
