'use strict';
// A live-dialect VoIPBIN server (docs/protocol-voipbin.md section 2) built on the npm `ws` package, so
// that the client's live support is checked against an implementation this project did not
// write. Like production it never answers a subscribe: it applies plain string prefixes, and a
// refused topic cuts the TCP connection without a close frame. Frames are whatever the test
// sends (the shapes of test/fixtures/live-frames.jsonl). Binds 127.0.0.1 only.

const { waitForChange } = require('./wait.js');
const http = require('node:http');
const { EventEmitter } = require('node:events');
const { WebSocketServer } = require('ws');

class LiveServer {
  #server;
  #wss;
  #changes = new EventEmitter();
  #sockets = new Set();
  #pingTimer = null;

  /** Every JSON message received: `{ conn, msg, at }` (at = performance.now()). */
  messages = [];
  /** HTTP upgrade requests: `{ url, at }`. */
  requests = [];
  /** WebSocket connections established. */
  upgrades = 0;
  /** Connections cut because of a refused topic. */
  cuts = 0;
  /** Refusals for the next upgrade requests, consumed in order: `{ status, headers? }`. */
  refusals = [];
  /** Topic substrings whose subscribe (or unsubscribe) cuts the connection, as production does. */
  deny = new Set();
  /** Per connection number: the set of prefixes currently applied. */
  prefixes = new Map();
  /** Pings sent to clients. */
  pings = 0;

  /**
   * @param {{ pingInterval?: number }} [options] a ping to every client each pingInterval ms (0 = none)
   * @returns {Promise<LiveServer>}
   */
  static async start(options = {}) {
    const server = new LiveServer(options);
    await new Promise((resolve, reject) => {
      server.#server.once('error', reject);
      server.#server.listen(0, '127.0.0.1', () => {
        server.#server.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  constructor(options) {
    this.#server = http.createServer((req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' });
      res.end('upgrade required');
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    this.#wss = new WebSocketServer({ noServer: true, clientTracking: true });
    this.#server.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
    if (options.pingInterval) {
      this.#pingTimer = setInterval(() => {
        for (const ws of this.clients) {
          this.pings += 1;
          ws.ping();
        }
      }, options.pingInterval);
      this.#pingTimer.unref();
    }
  }

  #changed() {
    this.#changes.emit('change');
  }

  #onUpgrade(req, socket, head) {
    this.requests.push({ url: req.url, at: performance.now() });
    this.#changed();
    const refusal = this.refusals.shift();
    if (refusal) {
      const body = refusal.status === 200 ? '{}'
        : JSON.stringify({ error: { status: refusal.status, reason: http.STATUS_CODES[refusal.status], message: 'refused by fixture', request_id: 'live-fixture' } });
      const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close', ...refusal.headers };
      const lines = [`HTTP/1.1 ${refusal.status} ${http.STATUS_CODES[refusal.status]}`];
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.upgrades += 1;
      const conn = this.upgrades;
      this.prefixes.set(conn, new Set());
      ws.on('message', (data, isBinary) => this.#onMessage(ws, conn, data, isBinary));
      ws.on('close', () => this.#changed());
      ws.on('error', () => {});
      this.#changed();
    });
  }

  #onMessage(ws, conn, data, isBinary) {
    if (isBinary) {
      ws.terminate();
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object' || !Array.isArray(msg.topics)) return;
    this.messages.push({ conn, msg, at: performance.now() });
    const topics = msg.topics.filter((t) => typeof t === 'string');
    if (topics.some((t) => [...this.deny].some((d) => t.includes(d)))) {
      this.cuts += 1;
      ws.terminate();
      this.#changed();
      return;
    }
    const set = this.prefixes.get(conn);
    for (const t of topics) {
      if (msg.type === 'subscribe') set.add(t);
      else if (msg.type === 'unsubscribe') set.delete(t);
    }
    this.#changed();
  }

  get url() {
    return `ws://127.0.0.1:${this.#server.address().port}/v1.0/ws`;
  }

  /** Open WebSocket connections. */
  get clients() {
    return [...this.#wss.clients].filter((ws) => ws.readyState === 1);
  }

  /** The messages received on connection `conn` (all when omitted), as `msg` objects. */
  sent(conn) {
    return this.messages.filter((m) => conn === undefined || m.conn === conn).map((m) => m.msg);
  }

  /** Sends each value as one text frame (objects are JSON-encoded) to every open connection. */
  send(...frames) {
    const done = [];
    for (const ws of this.clients) {
      for (const f of frames) {
        const text = typeof f === 'string' ? f : JSON.stringify(f);
        done.push(new Promise((resolve) => ws.send(text, () => resolve())));
      }
    }
    return Promise.all(done).then(() => undefined);
  }

  /** Cuts every connection without a close frame. */
  terminateAll() {
    for (const ws of this.#wss.clients) ws.terminate();
  }

  /** Resolves when `predicate()` holds, re-checked on every change; rejects after `ms`. */
  waitFor(predicate, what, ms = 5000) {
    return waitForChange(this.#changes, predicate, 'live fixture', what, ms);
  }


  close() {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    for (const ws of this.#wss.clients) ws.terminate();
    for (const socket of this.#sockets) socket.destroy();
    this.#wss.close();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/**
 * Starts a live fixture server that is closed when the test ends.
 * @param {import('node:test').TestContext} t
 */
async function startLiveServer(t, options) {
  const server = await LiveServer.start(options);
  t.after(() => server.close());
  return server;
}

/** An unsigned JWT-shaped token carrying `claims` (the fixture checks no signature). */
function fakeJwt(claims) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}

module.exports = { LiveServer, startLiveServer, fakeJwt };
