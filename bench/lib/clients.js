'use strict';

// The clients under test, behind one small interface:
//   const c = await open(kind, { url, token, patterns });  // connected, subscribed, acked
//   c.on(eventType, listener); c.stats(); await c.close();
// The peers do the protocol work voip-realtime does: send subscribe, wait for the ack, parse
// every frame, match its topic against the subscribed patterns, dispatch to listeners.

const { EventEmitter } = require('node:events');
const path = require('node:path');
const { PrefixMatcher } = require('./common.js');

const ROOT = path.resolve(__dirname, '..', '..');
const ACK_TIMEOUT_MS = 30000;

class PeerClient extends EventEmitter {
  #matcher = new PrefixMatcher();
  #pending = [];
  received = 0;
  filtered = 0;
  bytes = 0;
  // Set by the ceiling to keep the texts it will replay.
  tap = null;
  ackTimeout = ACK_TIMEOUT_MS;

  /** Handles one text frame: the whole per-event cost of a JS client. */
  handle(text) {
    if (this.tap !== null) this.tap(text);
    const msg = JSON.parse(text);
    const type = msg.event_type;
    if (type !== undefined) {
      this.received++;
      if (this.#matcher.match(msg.topic) === undefined) {
        this.filtered++;
        return;
      }
      this.emit(type, msg);
      this.emit('event', msg);
      return;
    }
    if (msg.type === 'ack' || msg.type === 'error') {
      const waiter = this.#pending.shift();
      if (waiter) waiter(msg);
    }
  }

  subscribeMessage(patterns) {
    for (const p of patterns) this.#matcher.add(p, true);
    return JSON.stringify({ type: 'subscribe', topics: patterns });
  }

  waitAck() {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ack within ${this.ackTimeout} ms`)), this.ackTimeout);
      this.#pending.push((msg) => {
        clearTimeout(timer);
        if (msg.type === 'ack') resolve();
        else reject(new Error(`subscribe refused: ${msg.code} ${msg.message}`));
      });
    });
  }

  stats() {
    return { received: this.received, filtered: this.filtered, bytesReceived: this.bytes };
  }
}

class WsPeer extends PeerClient {
  #ws = null;

  async open({ url, token, patterns, ackTimeout = ACK_TIMEOUT_MS }) {
    this.ackTimeout = ackTimeout;
    const WebSocket = require('ws');
    const ws = new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
    this.#ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      this.bytes += data.length;
      this.handle(data.toString());
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    if (patterns.length > 0) await this.subscribe(patterns);
    return this;
  }

  async subscribe(patterns) {
    const ack = this.waitAck();
    this.#ws.send(this.subscribeMessage(patterns));
    await ack;
  }

  close() {
    return new Promise((resolve) => {
      if (this.#ws.readyState === 3) return resolve();
      this.#ws.once('close', resolve);
      this.#ws.close();
    });
  }
}

class UndiciPeer extends PeerClient {
  #ws = null;

  async open({ url, token, patterns, ackTimeout = ACK_TIMEOUT_MS }) {
    this.ackTimeout = ackTimeout;
    const { WebSocket } = require('undici');
    const ws = new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
    this.#ws = ws;
    ws.addEventListener('message', (e) => {
      if (typeof e.data !== 'string') return;
      this.bytes += e.data.length;
      this.handle(e.data);
    });
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve, { once: true });
      ws.addEventListener('error', (e) => reject(e.error || new Error('undici WebSocket failed')), { once: true });
    });
    if (patterns.length > 0) await this.subscribe(patterns);
    return this;
  }

  async subscribe(patterns) {
    const ack = this.waitAck();
    this.#ws.send(this.subscribeMessage(patterns));
    await ack;
  }

  close() {
    return new Promise((resolve) => {
      if (this.#ws.readyState === 3) return resolve();
      this.#ws.addEventListener('close', resolve, { once: true });
      this.#ws.close();
    });
  }
}

class VoipRealtime {
  #client = null;

  async open({ url, token, patterns, ackTimeout = ACK_TIMEOUT_MS, dialect }) {
    const { RealtimeClient } = require(ROOT);
    this.#client = new RealtimeClient({ url, token, reconnect: false, heartbeat: false, ackTimeout, dialect });
    this.#client.on('error', () => {});
    await this.#client.connect();
    if (patterns.length > 0) await this.subscribe(patterns);
    return this;
  }

  subscribe(patterns) {
    return this.#client.subscribe(patterns);
  }

  on(type, listener) {
    this.#client.on(type, listener);
    return this;
  }

  stats() {
    const s = this.#client.stats();
    return { received: s.received, filtered: s.filtered, bytesReceived: s.bytesReceived };
  }

  close() {
    return this.#client.close();
  }
}

const KINDS = {
  'voip-realtime': () => new VoipRealtime(),
  ws: () => new WsPeer(),
  undici: () => new UndiciPeer(),
};

/** Opens a client of `kind`, connected and subscribed to `patterns`. */
function open(kind, options) {
  const make = KINDS[kind];
  if (!make) throw new Error(`unknown client ${JSON.stringify(kind)}`);
  return make().open(options);
}

module.exports = { open, PeerClient, WsPeer, KINDS };
