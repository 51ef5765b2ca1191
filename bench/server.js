'use strict';

// The benchmark's server, in its own process so that its CPU never competes with the client being
// measured inside one process. Driven by the parent over IPC:
//   { cmd: 'start', backend, dialect? } -> { type: 'started', url, token, backend }
//   { cmd: 'blast', id, count, size, pool, unfiltered } -> { type: 'blasted', id, events, cpuMs, wallMs, ioCpuMs? }
//   { cmd: 'pace', id, rate, count, pacer } -> { type: 'paced', id, events, cpuMs, wallMs, pacer }
//   { cmd: 'ticker', on }              -> { type: 'ticker', on }
//   { cmd: 'stop' }                    -> exits
// Backend 'emulator' is the project's own emulator (native blast: pre-serialized frames written as
// fast as the socket takes them), in the documented dialect unless `dialect` says 'live' (or
// 'natterbox': the Natterbox CTI socket, its blast users in one group). Backend
// 'ws' is a stand-in on the npm `ws` server that writes pre-built frames straight to the socket;
// it exists for machines where the addon is not built.
// `cpuMs` is this whole process's CPU (every thread) during the command; `ioCpuMs`, from the
// emulator's own blast report, is the part its native io threads spent writing frames.
// Pacers: 'blast' (emulator only) is the native blast with a rate: the io thread sends each
// event when it is due and stamps data.sent just before the write. 'publish' calls publish() for
// the events due at every 1 ms timer tick, stamping each before it leaves this JS thread.

const { CUSTOMER_ID, DIALECT_POOL, NATTERBOX, PrefixMatcher, blastId, nowMs } = require('./lib/common.js');

const STATUSES = ['dialing', 'ringing', 'progressing', 'terminating', 'hangup'];

function cpuMsSince(start) {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

// A call event's data in the shape the emulator's blast uses, padded to about `size` bytes of
// event JSON, with the send time (ms on the machine-wide clock, see nowMs) when `sent` is given.
function callData(i, size, sent) {
  const data = {
    id: blastId(i),
    customer_id: CUSTOMER_ID,
    owner_type: '',
    owner_id: '00000000-0000-0000-0000-000000000000',
    type: 'flow',
    status: STATUSES[i % STATUSES.length],
    direction: 'incoming',
    source: { type: 'tel', target: '+15551234567' },
    destination: { type: 'tel', target: '+15559876543' },
    tm_create: '2026-01-15T10:30:00.000000Z',
  };
  if (sent !== undefined) data.sent = sent;
  const base = JSON.stringify(data).length + 140;
  if (size > base) data.pad = 'x'.repeat(size - base);
  return data;
}

function callTopic(i) {
  return `customer_id:${CUSTOMER_ID}:call:${blastId(i)}`;
}

// ---- backend: the project's emulator -------------------------------------------------------

class EmulatorBackend {
  #emu = null;
  #token = '';
  #dialect;

  constructor(dialect = 'documented') {
    this.#dialect = dialect;
  }

  async start() {
    const { Emulator } = require('..');
    if (this.#dialect === 'natterbox') {
      this.#emu = await Emulator.start({ host: '127.0.0.1', port: 0, pingInterval: 0, protocol: 'natterbox',
        natterbox: { org: NATTERBOX.org } });
      this.#emu.group(NATTERBOX.group, Array.from({ length: DIALECT_POOL }, (_, i) => String(i + 1)));
      // A client learns a group's members from the snapshot answering its subscribe, which lists
      // the members that have a state.
      for (let user = 1; user <= DIALECT_POOL; user++) this.#emu.presence(user, { presence: '' });
      const token = this.#emu.issueToken({ orgId: NATTERBOX.org, userId: '1', expiresIn: 3600 });
      return { url: this.#emu.url, token, unfilteredBlast: false };
    }
    this.#emu = await Emulator.start({
      host: '127.0.0.1', port: 0, pingInterval: 0, customerId: CUSTOMER_ID, dialect: this.#dialect,
    });
    this.#token = this.#emu.issueToken({ customerId: CUSTOMER_ID, permissions: ['admin'], expiresIn: 3600 });
    // The probe needs an ack, which the live dialect never sends; its blast serves only the
    // dialect comparison, where every event matches.
    const unfilteredBlast = this.#dialect === 'documented' ? await this.#probeUnfiltered() : false;
    return { url: this.#emu.url, token: this.#token, unfilteredBlast };
  }

  // Whether a blast with `unfiltered: true` also sends events no pattern of the connection
  // matches (workload 3 needs that; a documented-dialect server otherwise filters them itself).
  async #probeUnfiltered() {
    const WebSocket = require('ws');
    const ws = new WebSocket(`${this.#emu.url}?token=${encodeURIComponent(this.#token)}`);
    const topics = new Set();
    let acked;
    const ack = new Promise((resolve) => { acked = resolve; });
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.type === 'ack') acked();
      else if (msg.topic) topics.add(msg.topic);
    });
    ws.on('error', () => {});
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'subscribe', topics: [callTopic(0)] }));
    await ack;
    await this.blast({ count: 4, size: 100, pool: 2, unfiltered: true });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await new Promise((resolve) => {
      ws.once('close', resolve);
      ws.close();
    });
    return topics.has(callTopic(1));
  }

  async blast({ count, size, pool, unfiltered }) {
    const report = await this.#emu.scenario('blast', {
      count, size, ids: pool, customerId: CUSTOMER_ID, resources: ['call'], unfiltered,
    });
    return {
      events: report && Number.isFinite(report.events) ? report.events : count,
      ioCpuMs: report && Number.isFinite(report.cpuMs) ? report.cpuMs : undefined,
    };
  }

  // Workload 4 in the emulator's native blast, paced: each event is stamped with its send time
  // on the io thread just before the write that sends it (data.sent, the clock of nowMs).
  async paceNative({ rate, count }) {
    const report = await this.#emu.scenario('blast', {
      count, size: 300, ids: 64, customerId: CUSTOMER_ID, resources: ['call'], rate,
    });
    return { events: report.events, pacer: 'blast' };
  }

  publish(i, sent) {
    this.#emu.publish({ event_type: 'call.status', topic: callTopic(i), data: callData(i, 300, sent) });
  }

  async stop() {
    if (this.#emu) await this.#emu.stop();
  }
}

// ---- backend: stand-in on `ws` -------------------------------------------------------------

function frame(text) {
  const payload = Buffer.from(text, 'utf8');
  let head;
  if (payload.length < 126) {
    head = Buffer.from([0x81, payload.length]);
  } else if (payload.length < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x81;
    head[1] = 126;
    head.writeUInt16BE(payload.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x81;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  return Buffer.concat([head, payload]);
}

class WsBackend {
  #server = null;
  #conns = new Set();

  async start() {
    const { WebSocketServer } = require('ws');
    this.#server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      this.#server.once('listening', resolve);
      this.#server.once('error', reject);
    });
    this.#server.on('connection', (ws) => {
      const conn = { ws, matcher: new PrefixMatcher() };
      this.#conns.add(conn);
      ws.on('close', () => this.#conns.delete(conn));
      ws.on('error', () => {});
      ws.on('message', (data) => this.#onMessage(conn, data));
    });
    return { url: `ws://127.0.0.1:${this.#server.address().port}/v1.0/ws`, token: 'bench', unfilteredBlast: true };
  }

  #onMessage(conn, data) {
    let msg;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return;
    }
    const topics = Array.isArray(msg.topics) ? msg.topics.map(String) : [];
    if (msg.type === 'subscribe') for (const t of topics) conn.matcher.add(t, true);
    conn.ws.send(JSON.stringify({ type: 'ack', action: String(msg.type), topics, status: 'success' }));
  }

  async blast({ count, size, pool, unfiltered }) {
    const stamp = new Date().toISOString().replace('Z', '000Z');
    const events = [];
    for (let i = 0; i < pool; i++) {
      const text = JSON.stringify({
        event_type: 'call.status', timestamp: stamp, topic: callTopic(i), data: callData(i, size),
      });
      events.push({ topic: callTopic(i), bytes: frame(text) });
    }
    let total = 0;
    await Promise.all([...this.#conns].map(async (conn) => {
      const frames = events.filter((e) => unfiltered || conn.matcher.match(e.topic) !== undefined)
        .map((e) => e.bytes);
      if (frames.length === 0) return;
      total += await writeFrames(conn.ws._socket, frames, count);
    }));
    return { events: total };
  }

  publish(i, sent) {
    const topic = callTopic(i);
    const text = JSON.stringify({
      event_type: 'call.status', timestamp: new Date().toISOString(), topic, data: callData(i, 300, sent),
    });
    for (const conn of this.#conns) if (conn.matcher.match(topic) !== undefined) conn.ws.send(text);
  }

  async stop() {
    for (const conn of this.#conns) conn.ws.terminate();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

// Writes `count` frames cycling over `frames`, in chunks, waiting for 'drain' when the socket
// buffer is full: the same TCP backpressure the emulator's blast obeys.
async function writeFrames(socket, frames, count) {
  const per = 64;
  const chunks = [];
  for (let c = 0; c < frames.length; c++) {
    const list = [];
    for (let k = 0; k < per; k++) list.push(frames[(c * per + k) % frames.length]);
    chunks.push(Buffer.concat(list));
  }
  let sent = 0;
  let c = 0;
  while (sent < count && !socket.destroyed) {
    const n = Math.min(per, count - sent);
    const chunk = n === per ? chunks[c] : Buffer.concat(Array.from({ length: n },
      (_, k) => frames[(c * per + k) % frames.length]));
    c = (c + 1) % chunks.length;
    sent += n;
    if (!socket.write(chunk)) {
      await new Promise((resolve) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
  return sent;
}

// ---- the command loop ----------------------------------------------------------------------

let backend = null;
let ticker = null;
let serial = 0;

async function pace({ rate, count, pacer }) {
  if (pacer === 'blast' && backend.paceNative) return backend.paceNative({ rate, count });
  const start = nowMs();
  let sent = 0;
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(count, Math.floor(((nowMs() - start) * rate) / 1000));
      while (sent < due) {
        backend.publish(sent % 64, nowMs());
        sent++;
      }
      if (sent >= count) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  return { events: sent, pacer: 'publish' };
}

async function handle(msg) {
  switch (msg.cmd) {
    case 'start': {
      backend = msg.backend === 'ws' ? new WsBackend() : new EmulatorBackend(msg.dialect);
      const info = await backend.start();
      return { type: 'started', backend: msg.backend, ...info };
    }
    case 'blast':
    case 'pace': {
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      const r = msg.cmd === 'blast' ? await backend.blast(msg) : await pace(msg);
      const reply = { type: msg.cmd === 'blast' ? 'blasted' : 'paced', id: msg.id, events: r.events,
        cpuMs: cpuMsSince(cpu), wallMs: performance.now() - t0 };
      if (r.ioCpuMs !== undefined) reply.ioCpuMs = r.ioCpuMs;
      if (r.pacer !== undefined) reply.pacer = r.pacer;
      return reply;
    }
    case 'ticker':
      clearInterval(ticker);
      ticker = null;
      if (msg.on) ticker = setInterval(() => backend.publish(serial++ % 64, nowMs()), 1);
      return { type: 'ticker', on: Boolean(msg.on) };
    case 'cpu':
      return { type: 'cpu', id: msg.id, cpu: process.cpuUsage() };
    case 'stop':
      clearInterval(ticker);
      if (backend) await backend.stop();
      process.exit(0);
      return null;
    default:
      throw new Error(`unknown command ${JSON.stringify(msg.cmd)}`);
  }
}

process.on('message', (msg) => {
  handle(msg).then((reply) => {
    if (reply) process.send(reply);
  }, (err) => {
    process.send({ type: 'failed', id: msg.id, cmd: msg.cmd, message: err && err.stack ? err.stack : String(err) });
  });
});
// The parent going away must never leave a server behind.
process.on('disconnect', () => process.exit(0));
