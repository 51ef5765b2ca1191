'use strict';

const { EventEmitter } = require('node:events');
const { RealtimeError, fromNative } = require('./errors.js');
const { resolveOptions } = require('./options.js');
const { rethrowLater } = require('./events.js');
const { Ledger, patternList, normaliseTopics } = require('./client/ledger.js');
const { grammarFor } = require('./client/grammar.js');
const { Connection } = require('./client/connection.js');
const { Dispatcher } = require('./client/dispatch.js');
const { WarnOnce } = require('./client/waits.js');
const { MessagesSockets } = require('./client/messages.js');

/**
 * A connection to VoIPBIN's real-time WebSocket API, or with `protocol: 'natterbox'` to
 * Natterbox's CTI presence socket and messages sockets (docs/protocol-natterbox.md). The socket,
 * reconnects and heartbeat live on a native thread; this object validates, keeps the subscription
 * book (lib/client/ledger.js) and dispatches events (lib/client/dispatch.js);
 * lib/client/connection.js owns the native handle and the client's state, and
 * lib/client/messages.js the Natterbox messages sockets (one per `:messages` pattern).
 */
class RealtimeClient extends EventEmitter {
  #conn;
  #ledger;
  #dispatch;
  #grammar;
  #messages = null;
  #warnings = new WarnOnce();

  /**
   * @param {object} [options] see the README; validated here (INVALID_OPTION, INSECURE_URL)
   */
  constructor(options) {
    const opts = resolveOptions(options);
    super();
    this.#grammar = grammarFor(opts.protocol);
    const emit = (name, ...args) => this.#emit(name, ...args);
    const log = (level, message) => this.#log(level, message);
    const reportError = (err) => this.#reportError(err);
    if (opts.messages) {
      this.#messages = new MessagesSockets(opts, {
        onBatch: (text, meta, socket) => this.#dispatch.onBatch(text, meta, socket),
        sent: (action, topics) => this.#ledger.onSent(action, topics),
        lost: (pattern) => this.#ledger.socketLost(pattern),
        failed: (pattern, err) => this.#ledger.socketFailed(pattern, err),
        log,
        reportError,
      });
    }
    this.#conn = new Connection(opts, {
      onBatch: (text, meta) => this.#dispatch.onBatch(text, meta),
      started: () => this.#ledger.flush(),
      lost: () => this.#ledger.connectionLost(),
      ended: (error) => {
        this.#ledger.finish(error);
        this.#dispatch.finish();
        if (this.#messages) this.#messages.closeAll();
      },
      emit,
      log,
      reportError,
      pendingCalls: () => this.#ledger.subscribing,
    });
    this.#ledger = new Ledger(this.#conn, {
      indexChanged: () => { this.#dispatch.indexDirty = true; },
      refreshState: () => this.#refreshState(),
      reportError,
    }, this.#grammar, this.#messages);
    this.#dispatch = new Dispatcher(this, this.#conn, this.#ledger, this.#grammar, {
      onControl: (rec, source) => (source ? this.#messages.onControl(source, rec) : this.#onControl(rec)),
      onServer: (rec) => this.#onServer(rec),
      reportError,
    });
  }

  /** `'disconnected' | 'connecting' | 'connected' | 'subscribed' | 'reconnecting' | 'closed'` */
  get state() {
    return this.#conn.state;
  }

  /** Active (acknowledged) patterns, normalised and sorted. */
  get topics() {
    return this.#ledger.activeTopics();
  }

  /**
   * The wire dialect in use: the configured one, or with `dialect: 'auto'` null until the server
   * gave itself away (see the `'dialect'` event).
   * @returns {'documented' | 'live' | null}
   */
  get dialect() {
    return this.#conn.dialect;
  }

  /** The endpoint, credentials redacted. */
  get url() {
    return this.#conn.opts.url;
  }

  /**
   * Starts connecting (once). Resolves when the WebSocket upgrade succeeded; rejects with the
   * terminal error itself (AUTH_FAILED, TLS_ERROR, ...), on a failed attempt with reconnect
   * disabled, or when closed first. `timeout` (ms) rejects with CONNECT_TIMEOUT and an aborted
   * `signal` with an AbortError (code ABORT_ERR, as events.once()); either then closes the client.
   * @param {{ signal?: AbortSignal, timeout?: number }} [options]
   * @returns {Promise<void>}
   */
  connect(options) {
    return this.#conn.connect(options);
  }

  /**
   * Subscribes to one or more patterns. Everything is validated before anything is sent; the
   * promise resolves once the server acknowledged every pattern, and is all or nothing.
   * Starts connecting when the client is still disconnected.
   * @param {string | string[]} patterns
   * @returns {Promise<Subscription>}
   */
  subscribe(patterns) {
    let list;
    try {
      list = patternList(patterns, 'patterns', this.#grammar.normalize);
    } catch (err) {
      return Promise.reject(err);
    }
    const conn = this.#conn;
    if (conn.closing || conn.final) return Promise.reject(conn.closedReason('subscribe()'));
    if (conn.state === 'disconnected') {
      const err = conn.start();
      if (err) return Promise.reject(err);
    }
    return this.#ledger.subscribe(list);
  }

  /**
   * Removes every hold on the given patterns (all Subscriptions holding them stop receiving
   * them) and sends `unsubscribe`. Resolves when the server acknowledged, at once when offline.
   * @param {string | string[]} patterns
   * @returns {Promise<void>}
   */
  unsubscribe(patterns) {
    let list;
    try {
      list = patternList(patterns, 'patterns', this.#grammar.normalize);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#conn.final) return Promise.resolve();
    return this.#ledger.unsubscribe(list);
  }

  /**
   * Pull-based stream of events, buffered from this call on.
   * @param {{ topics?: string | string[], types?: string | string[], signal?: AbortSignal, highWaterMark?: number }} [filter]
   * @returns {AsyncIterableIterator<object>}
   */
  events(filter) {
    return this.#dispatch.events(filter);
  }

  /**
   * Stops reconnecting, closes the socket and releases the process. Idempotent.
   * @returns {Promise<void>}
   */
  close() {
    const closed = this.#conn.close();
    return this.#messages ? Promise.all([closed, this.#messages.closeAll()]).then(() => {}) : closed;
  }

  /** Lets this client keep the process alive while it is connecting or connected (default). */
  ref() {
    this.#conn.ref();
    if (this.#messages) this.#messages.setRef(true);
    return this;
  }

  /** An unref()ed client does not keep the process alive. */
  unref() {
    this.#conn.unref();
    if (this.#messages) this.#messages.setRef(false);
    return this;
  }

  /**
   * Stops reading the socket once `maxQueue` events wait between the native thread and JS, so
   * TCP pushes back on the server, until resume(). Events already read are still delivered: for a
   * consumer that cannot keep up, such as the Redis bridge.
   * @returns {this}
   */
  pause() {
    this.#conn.hold(true);
    if (this.#messages) this.#messages.hold(true);
    return this;
  }

  /** Reads the socket again after pause(). */
  resume() {
    this.#conn.hold(false);
    if (this.#messages) this.#messages.hold(false);
    return this;
  }

  /**
   * Counters of the native pipeline plus the JS side's bookkeeping. `reconnects` counts attempts
   * (failed ones too); `dropped` counts events lost to an iterator's overflow or after close().
   * @returns {{ received: number, filtered: number, delivered: number, dropped: number, bytesReceived: number,
   *   reconnects: number, queueDepth: number, lastEventAt: number | null }}
   */
  stats() {
    const base = { ...(this.#conn.nativeStats() || {
      received: 0, filtered: 0, delivered: 0, dropped: 0, duplicates: 0, malformed: 0,
      bytesReceived: 0, reconnects: 0, queueDepth: 0, lastEventAt: 0,
    }) };
    let reconnects = this.#conn.attempts;
    if (this.#messages) {
      // Natterbox: the messages sockets' counters are the client's too.
      const m = this.#messages.stats();
      for (const k of MessagesSockets.COUNTERS) base[k] += m[k];
      base.lastEventAt = Math.max(base.lastEventAt, m.lastEventAt);
      reconnects += m.reconnects;
    }
    return {
      ...base,
      dropped: base.dropped + this.#dispatch.dropped,
      reconnects,
      lastEventAt: base.lastEventAt ? base.lastEventAt : null,
      patterns: this.#ledger.entries.size,
      pendingAcks: this.#ledger.pending,
      iterators: this.#dispatch.iterators,
      iteratorOverflow: this.#dispatch.overflowed,
      messagesSockets: this.#messages ? this.#messages.size : 0,
    };
  }

  // ---- records from the native thread -------------------------------------------------------

  #onControl(rec) {
    const conn = this.#conn;
    switch (rec.type) {
      case 'state':
        if (rec.state === 'connecting' || rec.state === 'connected') conn.setState(rec.state);
        break;
      case 'open': {
        conn.onOpen();
        const resent = normaliseTopics(rec.resubscribed, this.#ledger.entries);
        if (resent.length > 0) this.#ledger.onSent('subscribe', resent);
        break;
      }
      case 'sent':
        this.#ledger.onSent(rec.action, normaliseTopics(rec.topics, this.#ledger.entries), rec.request);
        break;
      case 'members':
        this.#ledger.setMembers(rec.pattern, rec.topics);
        break;
      case 'token_request':
        conn.onTokenRequest(rec.refused === true);
        break;
      case 'fault':
        this.#reportError(fromNative(rec.error) || new RealtimeError('PROTOCOL_ERROR', 'unknown fault'));
        break;
      case 'close':
        conn.onClose(rec);
        break;
      case 'dialect':
        conn.onDialect(rec);
        if (conn.dialect === 'live') this.#ledger.liveDecided();
        break;
      case 'warning':
        if (typeof rec.message === 'string') this.#log('warn', `voip-realtime: ${rec.message}`);
        break;
      default:
        this.#log('debug', `voip-realtime: ignored control record ${JSON.stringify(rec.type)}`);
    }
  }

  #onServer(rec) {
    if (!this.#ledger.onServer(rec)) {
      this.#log('debug', `voip-realtime: ignored server record ${JSON.stringify(rec.type)}`);
    }
  }

  // ---- emission -----------------------------------------------------------------------------

  #refreshState() {
    const conn = this.#conn;
    if (conn.state !== 'connected' && conn.state !== 'subscribed') return;
    conn.setState(this.#ledger.anyActive() ? 'subscribed' : 'connected');
  }

  #emit(name, ...args) {
    if (this.#conn.final) return;
    try {
      this.emit(name, ...args);
    } catch (err) {
      rethrowLater(err);
    }
  }

  // Nobody may wait unseen on a failure: without an 'error' listener it goes to the logger, and
  // without a logger to a process warning (once per distinct failure).
  #reportError(err) {
    if (this.#conn.final) return;
    if (this.listenerCount('error') > 0) this.#emit('error', err);
    else if (this.#conn.opts.logger && this.#conn.opts.logger.warn) this.#log('warn', `voip-realtime: ${err.code}: ${err.message}`);
    else this.#warnings.warn(err);
  }

  #log(level, message) {
    const logger = this.#conn.opts.logger;
    if (logger && logger[level]) {
      try {
        logger[level](message);
      } catch (err) {
        rethrowLater(err);
      }
    }
  }
}

module.exports = { RealtimeClient };
