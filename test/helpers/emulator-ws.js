'use strict';
// Drives the emulator with the npm `ws` client (code this project did not write), so that the
// emulator's wire behaviour is checked independently of our own client.

const WebSocket = require('ws');
const { Emulator } = require('../../lib/emulator.js');

/**
 * Starts an emulator that is stopped when the test ends.
 * @param {import('node:test').TestContext} t
 * @param {object} [options]
 */
async function startEmulator(t, options) {
  const emu = await Emulator.start(options);
  t.after(() => emu.stop());
  return emu;
}

/**
 * Opens a WebSocket. Resolves with a peer once open, or with `{ status, headers, body }` when the
 * server answers the upgrade with an HTTP response instead. Rejects after `ms`.
 */
function open(url, { headers, ms = 5000, autoPong = true } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, autoPong });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no upgrade answer within ${ms} ms`));
    }, ms);
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode, headers: res.headers, body });
      });
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('open', () => {
      clearTimeout(timer);
      resolve(new Peer(ws));
    });
  });
}

class Peer {
  constructor(ws) {
    this.ws = ws;
    /** Every message in arrival order: `{ text }` for text frames, `{ binary }` for binary ones. */
    this.frames = [];
    this.pings = 0;
    this.closeInfo = null;
    this.waiters = [];
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this.wake();
      });
    });
    ws.on('error', () => {});
    ws.on('ping', () => { this.pings++; });
    ws.on('message', (data, isBinary) => {
      this.frames.push(isBinary ? { binary: Buffer.from(data) } : { text: data.toString('utf8') });
      this.wake();
    });
  }

  wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  /** Parsed JSON of the text frames. */
  get json() {
    return this.frames.filter((f) => f.text !== undefined).map((f) => JSON.parse(f.text));
  }

  /** Resolves once at least `n` frames arrived; rejects after `ms`. */
  async waitFrames(n, ms = 3000) {
    const end = Date.now() + ms;
    while (this.frames.length < n) {
      if (this.closeInfo) throw new Error(`closed (${this.closeInfo.code}) after ${this.frames.length} of ${n} frames`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`got ${this.frames.length} of ${n} frames within ${ms} ms`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return this.frames;
  }

  /** Resolves with `{ code, reason }` when closed; rejects after `ms`. */
  async waitClose(ms = 3000) {
    let timer;
    const t = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`not closed within ${ms} ms`)), ms); });
    try {
      return await Promise.race([this.closed, t]);
    } finally {
      clearTimeout(timer);
    }
  }

  terminate() {
    this.ws.terminate();
  }
}

/** Opens a connection and ends it when the test ends. */
async function connect(t, url, options) {
  const peer = await open(url, options);
  if (!(peer instanceof Peer)) throw new Error(`upgrade refused with HTTP ${peer.status}: ${peer.body}`);
  t.after(() => peer.terminate());
  return peer;
}

/** Resolves with the next `name` event of `emitter` whose payload passes `filter`. */
function nextEvent(emitter, name, filter = () => true, ms = 3000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, on);
      reject(new Error(`no '${name}' within ${ms} ms`));
    }, ms);
    function on(payload) {
      if (!filter(payload)) return;
      clearTimeout(timer);
      emitter.off(name, on);
      resolve(payload);
    }
    emitter.on(name, on);
  });
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = { startEmulator, open, connect, nextEvent, Peer, delay };
