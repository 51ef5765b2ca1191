'use strict';
// A documented-dialect VoIPBIN server built on the npm `ws` package, an implementation this
// project did not write, so that a misunderstanding shared by our client and our emulator cannot
// pass the interop tests. It binds 127.0.0.1 only, records everything it receives, and lets a
// test script every reply, refusal, frame and drop.

const { waitForChange } = require('./wait.js');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');
const { EventEmitter } = require('node:events');
const { WebSocketServer } = require('ws');

const TLS_DIR = path.join(__dirname, '..', 'fixtures', 'tls');

/** Reads a PEM from test/fixtures/tls. */
function pem(name) {
  return fs.readFileSync(path.join(TLS_DIR, name), 'utf8');
}

/** Certificate sets for `FixtureServer.start({ tls })`. */
const certs = {
  good: () => ({ cert: pem('server.pem'), key: pem('server-key.pem') }),
  wrongHost: () => ({ cert: pem('wronghost.pem'), key: pem('wronghost-key.pem') }),
  unknownCa: () => ({ cert: pem('unknown-server.pem'), key: pem('unknown-server-key.pem') }),
  ca: () => pem('ca.pem'),
};

class FixtureServer {
  #server;
  #wss;
  #changes = new EventEmitter();
  #sockets = new Set();
  #secure;

  /** Every JSON message received, in order: `{ conn, msg }` (`msg` is the parsed object). */
  messages = [];
  /** Frames that were not JSON objects: `{ conn, raw }`. */
  invalid = [];
  /** TCP connections accepted (for wss: before the TLS handshake). */
  tcpConnections = 0;
  /** HTTP upgrade requests seen: `{ url, headers, at }` (at = performance.now()). */
  requests = [];
  /** WebSocket connections established. */
  upgrades = 0;
  /** Closed WebSocket connections. */
  closes = 0;
  /** Answer pings (ws `autoPong`); applies to connections made after the change. */
  autoPong = true;
  /**
   * Refusals for the next upgrade requests, consumed in order:
   * `{ status, headers?, body? }`, or `{ destroy: true }` to cut the socket without an answer.
   */
  refusals = [];
  /** Topic substring -> error code: subscribe topics containing it are refused with that code. */
  deny = new Map();
  /** Called right after an ack is written, `(ws, action, topics)`: frames sent from it follow the ack back to back. */
  afterAck = null;

  /** Topic substrings whose subscribe gets no answer at all (for ACK_TIMEOUT). */
  silent = new Set();

  /**
   * @param {{ tls?: { cert: string, key: string }, maxPayload?: number }} [options]
   * @returns {Promise<FixtureServer>}
   */
  static async start(options = {}) {
    const server = new FixtureServer(options);
    await server.#listen();
    return server;
  }

  constructor(options) {
    this.#secure = Boolean(options.tls);
    this.#server = options.tls ? https.createServer(options.tls) : http.createServer();
    this.#server.on('request', (req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' });
      res.end('upgrade required');
    });
    this.#server.on('connection', (socket) => {
      this.tcpConnections += 1;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      this.#changed();
    });
    // TLS failures on the server side are expected in the negative tests.
    this.#server.on('tlsClientError', () => this.#changed());
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayload || 100 * 1024 * 1024,
      clientTracking: true,
    });
    this.#server.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
  }

  #listen() {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  #changed() {
    this.#changes.emit('change');
  }

  #onUpgrade(req, socket, head) {
    this.requests.push({ url: req.url, headers: req.headers, at: performance.now() });
    this.#changed();
    const refusal = this.refusals.shift();
    if (refusal) {
      if (refusal.destroy) {
        socket.destroy();
        return;
      }
      const body = refusal.body === undefined
        ? JSON.stringify({ error: { status: refusal.status, reason: http.STATUS_CODES[refusal.status] || '', message: 'refused by fixture', request_id: 'fixture' } })
        : refusal.body;
      const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close', ...refusal.headers };
      const lines = [`HTTP/1.1 ${refusal.status} ${http.STATUS_CODES[refusal.status] || 'Status'}`];
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
      return;
    }
    this.#wss.options.autoPong = this.autoPong;
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws));
  }

  #onConnection(ws) {
    this.upgrades += 1;
    const conn = this.upgrades;
    ws.on('message', (data, isBinary) => this.#onMessage(ws, conn, data, isBinary));
    ws.on('close', () => {
      this.closes += 1;
      this.#changed();
    });
    ws.on('error', () => {});
    this.#changed();
  }

  #onMessage(ws, conn, data, isBinary) {
    let msg;
    try {
      msg = isBinary ? undefined : JSON.parse(data.toString('utf8'));
    } catch {
      msg = undefined;
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) {
      this.invalid.push({ conn, raw: data.toString('utf8') });
      this.#changed();
      ws.send(JSON.stringify({ type: 'error', action: '', topics: [], code: 'INVALID_MESSAGE', message: 'Message structure is invalid' }));
      return;
    }
    this.messages.push({ conn, msg });
    this.#changed();
    if (msg.type !== 'subscribe' && msg.type !== 'unsubscribe') {
      ws.send(JSON.stringify({ type: 'error', action: String(msg.type), topics: [], code: 'INVALID_MESSAGE', message: 'Message structure is invalid' }));
      return;
    }
    const topics = Array.isArray(msg.topics) ? msg.topics : [];
    const refused = new Map();
    const accepted = [];
    for (const t of topics) {
      if (msg.type === 'subscribe' && [...this.silent].some((s) => t.includes(s))) continue;
      const hit = msg.type === 'subscribe' ? [...this.deny].find(([s]) => t.includes(s)) : undefined;
      if (hit) {
        if (!refused.has(hit[1])) refused.set(hit[1], []);
        refused.get(hit[1]).push(t);
      } else {
        accepted.push(t);
      }
    }
    for (const [code, list] of refused) {
      ws.send(JSON.stringify({ type: 'error', action: msg.type, topics: list, code, message: 'You do not have permission to subscribe to this topic' }));
    }
    if (accepted.length) {
      ws.send(JSON.stringify({ type: 'ack', action: msg.type, topics: accepted, status: 'success' }));
      if (this.afterAck) this.afterAck(ws, msg.type, accepted);
    }
  }

  /** The port the server listens on. */
  get port() {
    return this.#server.address().port;
  }

  /** Endpoint URL without credentials. */
  get url() {
    return `${this.#secure ? 'wss' : 'ws'}://127.0.0.1:${this.port}/v1.0/ws`;
  }

  /** Open WebSocket connections. */
  get clients() {
    return [...this.#wss.clients].filter((ws) => ws.readyState === 1);
  }

  /** Messages of one type (`'subscribe'` / `'unsubscribe'`), as `msg` objects. */
  sent(type) {
    return this.messages.filter((m) => m.msg.type === type).map((m) => m.msg);
  }

  /**
   * Sends objects, each as one JSON text frame, to every open connection.
   * @returns {Promise<void>} resolves once the frames are handed to the kernel
   */
  send(...objs) {
    return this.sendRaw(...objs.map((o) => JSON.stringify(o)));
  }

  /** Sends text frames to every open connection; resolves once written. */
  sendRaw(...texts) {
    return this.#write(texts, false);
  }

  /** Sends binary frames to every open connection; resolves once written. */
  sendBinary(...bufs) {
    return this.#write(bufs, true);
  }

  #write(frames, binary) {
    const done = [];
    for (const ws of this.clients) {
      for (const f of frames) {
        done.push(new Promise((resolve) => ws.send(f, { binary }, () => resolve())));
      }
    }
    return Promise.all(done).then(() => undefined);
  }

  /** Cuts every connection without a close frame (the client sees 1006). */
  terminateAll() {
    for (const ws of this.#wss.clients) ws.terminate();
  }

  /** Closes every connection with a close frame. */
  closeAll(code = 1001, reason = 'going away') {
    for (const ws of this.#wss.clients) ws.close(code, reason);
  }

  /**
   * Resolves when `predicate()` is true, re-checking on every recorded change.
   * @param {() => boolean} predicate
   * @param {string} what described in the timeout error
   * @param {number} [ms]
   */
  waitFor(predicate, what, ms = 5000) {
    return waitForChange(this.#changes, predicate, 'fixture server', what, ms);
  }


  /** Waits until `n` messages of `type` have been received; returns them. */
  async waitForSent(type, n, ms) {
    await this.waitFor(() => this.sent(type).length >= n, `${n} ${type} message(s)`, ms);
    return this.sent(type);
  }

  /** Waits for `n` established WebSocket connections in total. */
  waitForUpgrades(n, ms) {
    return this.waitFor(() => this.upgrades >= n, `${n} upgrade(s)`, ms);
  }

  /** Stops listening and cuts every connection. */
  close() {
    for (const ws of this.#wss.clients) ws.terminate();
    for (const socket of this.#sockets) socket.destroy();
    this.#wss.close();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

module.exports = { FixtureServer, certs };
