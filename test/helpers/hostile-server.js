'use strict';
// A WebSocket server that writes raw bytes: it answers the upgrade by hand and then lets a test
// (or a benchmark) send anything at all, well-formed or not, flood, stop reading, or drop the
// connection. Plain TCP or TLS; binds 127.0.0.1 only. It reads the client's masked frames so that
// a documented-dialect subscribe can be acknowledged and events can follow.

const crypto = require('node:crypto');
const net = require('node:net');
const tls = require('node:tls');
const { performance } = require('node:perf_hooks');

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * One WebSocket frame as a server writes it.
 * @param {number} op opcode
 * @param {Buffer|string} [payload]
 * @param {{ fin?: boolean, rsv?: number, mask?: boolean, length?: bigint|number }} [options]
 *   `length` overrides the header's payload length (the payload bytes are still the given ones).
 */
function frame(op, payload = Buffer.alloc(0), { fin = true, rsv = 0, mask = false, length } = {}) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const n = length === undefined ? BigInt(body.length) : BigInt(length);
  let header;
  if (n < 126n) {
    header = Buffer.from([0, Number(n)]);
  } else if (n <= 0xffffn) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(Number(n), 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(n, 2);
  }
  header[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (op & 0x0f);
  if (!mask) return Buffer.concat([header, body]);
  header[1] |= 0x80;
  const key = crypto.randomBytes(4);
  const masked = Buffer.from(body);
  for (let i = 0; i < masked.length; i++) masked[i] ^= key[i & 3];
  return Buffer.concat([header, key, masked]);
}

/** A documented-dialect event frame. */
function eventFrame(topic, data, eventType = 'call.status') {
  return frame(1, JSON.stringify({ event_type: eventType, timestamp: '2026-01-01T00:00:00Z', topic, data }));
}

class HostileConnection {
  #buffer = Buffer.alloc(0);
  #server;
  /** Text messages received from the client, parsed. */
  messages = [];
  /** Opcodes of the control frames received (9 ping, 10 pong, 8 close). */
  controls = [];
  closed = false;

  constructor(server, socket) {
    this.#server = server;
    this.socket = socket;
    socket.on('close', () => { this.closed = true; });
  }

  /** Writes raw bytes; resolves when the kernel took them (false once the socket is gone). */
  write(bytes) {
    if (this.socket.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = this.socket.write(bytes, () => resolve(true));
      if (!done) this.socket.once('drain', () => {});
    });
  }

  /** Writes as fast as the socket drains, `count` times `bytes` (or until the socket is gone). */
  async flood(bytes, count, { batch = 256 } = {}) {
    const chunk = Buffer.concat(new Array(batch).fill(bytes));
    for (let sent = 0; sent < count && !this.socket.destroyed; sent += batch) {
      const n = Math.min(batch, count - sent);
      if (!this.socket.write(n === batch ? chunk : chunk.subarray(0, n * bytes.length))) {
        await new Promise((resolve) => {
          this.socket.once('drain', resolve);
          this.socket.once('close', resolve);
        });
      }
    }
  }

  /** Stops reading what the client sends (its writes then back up). */
  stopReading() {
    this.socket.pause();
    this.socket.removeAllListeners('data');
  }

  /** Cuts the TCP connection without a close frame. */
  drop() {
    this.socket.destroy();
  }

  onData(chunk) {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return;
      const op = b[0] & 0x0f;
      let n = b[1] & 0x7f;
      let at = 2;
      if (n === 126) {
        if (b.length < 4) return;
        n = b.readUInt16BE(2);
        at = 4;
      } else if (n === 127) {
        if (b.length < 10) return;
        n = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      const masked = (b[1] & 0x80) !== 0;
      const end = at + (masked ? 4 : 0) + n;
      if (b.length < end) return;
      const payload = Buffer.from(b.subarray(end - n, end));
      if (masked) {
        const key = b.subarray(at, at + 4);
        for (let i = 0; i < n; i++) payload[i] ^= key[i & 3];
      }
      this.#buffer = b.subarray(end);
      if (op === 1) {
        let msg = null;
        try {
          msg = JSON.parse(payload.toString('utf8'));
        } catch {
          // a client never sends other text; ignored here
        }
        this.messages.push(msg);
        this.#server.onMessage(this, msg);
      } else if (op >= 8) {
        this.controls.push(op);
        if (op === 9 && this.#server.autoPong) this.write(frame(10, payload));
        if (op === 8) this.write(frame(8, payload.subarray(0, 2))).then(() => this.socket.end());
      }
    }
  }
}

class HostileServer {
  #server;
  #sockets = new Set();
  #port = 0;
  /** Upgrades answered, in order: performance.now() of each. */
  upgrades = [];
  /** Answer pings from the client. */
  autoPong = true;
  /** Acknowledge documented-dialect subscribes. */
  autoAck = true;
  /** Called with each new connection right after the 101 went out. */
  onConnection = null;
  /** Called after the ack of a subscribe was written: `(conn, topics)`. */
  onSubscribed = null;
  /** The connections made, in order. */
  connections = [];

  /**
   * @param {{ tls?: { cert: string, key: string } }} [options]
   * @returns {Promise<HostileServer>}
   */
  static async start(options = {}) {
    const s = new HostileServer(options);
    await new Promise((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  constructor(options) {
    this.secure = Boolean(options.tls);
    const onSocket = (socket) => this.#accept(socket);
    this.#server = options.tls
      ? tls.createServer({ ...options.tls }, onSocket)
      : net.createServer(onSocket);
  }

  get port() {
    const address = this.#server.address();
    return address ? address.port : this.#port;
  }

  get url() {
    return `${this.secure ? 'wss' : 'ws'}://127.0.0.1:${this.port}/ws`;
  }

  #accept(socket) {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
    let head = Buffer.alloc(0);
    const onHead = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHead);
      const text = head.subarray(0, end).toString('latin1');
      const key = /^sec-websocket-key:\s*(\S+)/im.exec(text);
      if (!key) return socket.destroy();
      const accept = crypto.createHash('sha1').update(key[1] + GUID).digest('base64');
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`);
      this.upgrades.push(performance.now());
      const conn = new HostileConnection(this, socket);
      this.connections.push(conn);
      socket.on('data', (c) => conn.onData(c));
      const rest = head.subarray(end + 4);
      if (rest.length) conn.onData(rest);
      if (this.onConnection) this.onConnection(conn);
    };
    socket.on('data', onHead);
  }

  onMessage(conn, msg) {
    if (!this.autoAck || !msg || msg.type !== 'subscribe' && msg.type !== 'unsubscribe') return;
    conn.write(frame(1, JSON.stringify({ type: 'ack', action: msg.type, topics: msg.topics, status: 'success' })));
    if (msg.type === 'subscribe' && this.onSubscribed) this.onSubscribed(conn, msg.topics);
  }

  /** Drops every connection; the listening socket stays open. */
  dropAll() {
    for (const s of this.#sockets) s.destroy();
  }

  /** Drops every connection and stops listening: new connections are refused until listenAgain(). */
  async stopListening() {
    this.#port = this.port;
    this.dropAll();
    await new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** Listens again on the port it had before stopListening(). */
  async listenAgain() {
    await new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  async close() {
    this.dropAll();
    await new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

module.exports = { HostileServer, frame, eventFrame };
