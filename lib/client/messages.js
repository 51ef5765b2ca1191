'use strict';

// Natterbox messages sockets (docs/protocol-natterbox.md §3, §6.3): unread-count pushes carry no
// user id, so every held `org:O:user:U:messages` pattern gets a socket of its own, opened when the
// pattern is first held and closed when it is released. Each socket is a Connection (the same
// native client, tokens, reconnects and heartbeat as the CTI socket) running the native
// natterbox-messages protocol; its events and acks go through the client's dispatcher and ledger,
// its lifecycle stays here: only a socket's final failure reaches the patterns it carries.

const { RealtimeError, fromNative } = require('../errors.js');
const { Connection } = require('./connection.js');

const COUNTERS = ['received', 'filtered', 'delivered', 'dropped', 'duplicates', 'malformed', 'bytesReceived', 'queueDepth'];

/** One messages socket: the pattern it carries, its Connection and its age timer. */
class MessagesSocket {
  /** @type {Connection} */
  conn;
  pattern;
  released = false;
  retired = false;
  ageTimer = null;

  constructor(pattern) {
    this.pattern = pattern;
  }

  clearAge() {
    if (this.ageTimer) clearTimeout(this.ageTimer);
    this.ageTimer = null;
  }
}

/**
 * `opts` are the client's resolved options (`opts.messages` is the socket section of
 * lib/options.js); `hooks` are the facade's: `onBatch(text, meta, socket)`, `sent(topics)` (a
 * resubscribe went out), `lost(pattern)` (the socket dropped; it reconnects), `failed(pattern,
 * err)` (the socket ended for good), `log(level, message)`, `reportError(err)`.
 */
class MessagesSockets {
  #sockets = new Map();  // pattern -> MessagesSocket
  #draining = new Set();  // released sockets still closing: counted until retired
  #retired = Object.fromEntries(COUNTERS.map((k) => [k, 0]));
  #retiredReconnects = 0;
  #closing = [];
  #held = false;     // pause(): every socket stops reading once its queue is full
  #unrefed = false;  // unref(): no socket keeps the process alive
  #opts;
  #hooks;

  constructor(opts, hooks) {
    this.#opts = opts;
    this.#hooks = hooks;
  }

  /** Open messages sockets. */
  get size() {
    return this.#sockets.size;
  }

  /**
   * Opens the socket of a messages pattern and subscribes it. Returns an error instead of throwing
   * when the native client cannot start.
   * @param {string} pattern normalised `org:O:user:U:messages`
   * @returns {RealtimeError | null}
   */
  subscribe(pattern) {
    const existing = this.#sockets.get(pattern);
    if (existing && existing.conn.native) {
      existing.conn.native.subscribe([pattern]);
      return null;
    }
    const socket = new MessagesSocket(pattern);
    const m = this.#opts.messages;
    const log = (level, message) => this.#hooks.log(level, `${message} (messages socket of ${pattern})`);
    const conn = new Connection({ ...this.#opts, url: m.url, targetFor: m.targetFor, native: m.native }, {
      onBatch: (text, meta) => this.#hooks.onBatch(text, meta, socket),
      started: () => {},
      lost: () => {
        socket.clearAge();
        if (!socket.released) this.#hooks.lost(pattern);
      },
      ended: (error) => this.#ended(socket, error),
      emit: () => {},
      log,
      reportError: (err) => { if (!socket.released) this.#hooks.reportError(err); },
      // A final failure is handed to the pattern's subscribe() or to 'error' by ended().
      pendingCalls: () => 1,
    });
    socket.conn = conn;
    if (this.#held) conn.hold(true);
    if (this.#unrefed) conn.unref();
    const err = conn.start();
    if (err) return err;
    this.#sockets.set(pattern, socket);
    socket.conn.native.subscribe([pattern]);
    return null;
  }

  /**
   * The pattern is no longer held: its socket closes.
   * @param {string} pattern
   */
  release(pattern) {
    const socket = this.#sockets.get(pattern);
    if (!socket) return;
    socket.released = true;
    socket.clearAge();
    this.#sockets.delete(pattern);
    this.#draining.add(socket);
    const closed = socket.conn.close().then(() => this.#retire(socket));
    this.#closing.push(closed);
  }

  /** See RealtimeClient#pause and #resume: applies to every socket, later ones included. */
  hold(on) {
    this.#held = on;
    for (const socket of this.#sockets.values()) socket.conn.hold(on);
  }

  /** See RealtimeClient#ref and #unref: applies to every socket, later ones included. */
  setRef(on) {
    this.#unrefed = !on;
    for (const socket of this.#sockets.values()) {
      if (on) socket.conn.ref();
      else socket.conn.unref();
    }
  }

  /** Closes every socket; resolves when all are closed. */
  closeAll() {
    for (const pattern of [...this.#sockets.keys()]) this.release(pattern);
    const all = Promise.all(this.#closing);
    this.#closing = [];
    return all.then(() => {});
  }

  /** A control record of one socket's native client. */
  onControl(socket, rec) {
    const conn = socket.conn;
    switch (rec.type) {
      case 'state':
        if (rec.state === 'connecting' || rec.state === 'connected') conn.setState(rec.state);
        break;
      case 'open': {
        conn.onOpen();
        conn.setState('connected');
        this.#armAge(socket);
        const resent = Array.isArray(rec.resubscribed) ? rec.resubscribed.filter((t) => typeof t === 'string') : [];
        if (resent.length > 0 && !socket.released) this.#hooks.sent('subscribe', resent);
        break;
      }
      case 'sent':
        if (!socket.released && Array.isArray(rec.topics)) this.#hooks.sent(rec.action, rec.topics.filter((t) => typeof t === 'string'));
        break;
      case 'token_request':
        conn.onTokenRequest(rec.refused === true);
        break;
      case 'fault':
        if (!socket.released) {
          this.#hooks.reportError(fromNative(rec.error) || new RealtimeError('PROTOCOL_ERROR', 'unknown fault'));
        }
        break;
      case 'close':
        socket.clearAge();
        conn.onClose(rec);
        break;
      case 'warning':
        if (typeof rec.message === 'string') this.#hooks.log('warn', `voip-realtime: ${rec.message} (messages socket of ${socket.pattern})`);
        break;
      default:
        this.#hooks.log('debug', `voip-realtime: ignored control record ${JSON.stringify(rec.type)} (messages socket)`);
    }
  }

  /** The counters of every messages socket, closed ones included. */
  stats() {
    const out = { ...this.#retired, reconnects: this.#retiredReconnects, lastEventAt: 0 };
    for (const socket of [...this.#sockets.values(), ...this.#draining]) {
      const s = socket.conn.nativeStats();
      if (!s) continue;
      for (const k of COUNTERS) out[k] += s[k];
      out.lastEventAt = Math.max(out.lastEventAt, s.lastEventAt);
      out.reconnects += socket.conn.attempts;
    }
    return out;
  }

  // API Gateway ends a connection after 2 h: a planned reconnect goes first.
  #armAge(socket) {
    socket.clearAge();
    socket.ageTimer = setTimeout(() => {
      socket.ageTimer = null;
      if (socket.released || !socket.conn.native || socket.conn.final) return;
      this.#hooks.log('info', `voip-realtime: renewing the messages socket of ${socket.pattern} before its connection limit`);
      socket.conn.native.refresh();
    }, this.#opts.messages.maxAge);
    socket.ageTimer.unref();
  }

  #ended(socket, error) {
    socket.clearAge();
    if (socket.released) return;
    this.#sockets.delete(socket.pattern);
    this.#retire(socket);
    this.#hooks.failed(socket.pattern, error
      || new RealtimeError('CLOSED', `The messages socket of ${socket.pattern} ended`));
  }

  #retire(socket) {
    if (socket.retired) return;
    socket.retired = true;
    this.#draining.delete(socket);
    const s = socket.conn.nativeStats();
    if (s) for (const k of COUNTERS) if (k !== 'queueDepth') this.#retired[k] += s[k];
    this.#retiredReconnects += socket.conn.attempts;
  }
}

MessagesSockets.COUNTERS = COUNTERS;

module.exports = { MessagesSockets };
