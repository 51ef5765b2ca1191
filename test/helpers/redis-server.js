'use strict';

// A real redis-server for tests, on a free loopback port (redis has no `--port 0`: a port is
// taken by binding 127.0.0.1:0 first), in a temporary directory, stopped and removed after.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

class RedisServer {
  #proc = null;
  #exited = null;
  #args;

  constructor(port, dir, args) {
    this.port = port;
    this.dir = dir;
    this.#args = args;
    this.url = `redis://127.0.0.1:${port}`;
  }

  /**
   * @param {{ appendonly?: boolean, password?: string }} [options]
   */
  static async start({ appendonly = false, password } = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vr-redis-'));
    const args = ['--bind', '127.0.0.1', '--save', '', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning',
      '--appendonly', appendonly ? 'yes' : 'no'];
    if (appendonly) args.push('--appendfsync', 'always');
    if (password) args.push('--requirepass', password);
    for (let attempt = 0; ; attempt++) {
      const server = new RedisServer(await freePort(), dir, args);
      try {
        await server.#spawn();
        return server;
      } catch (err) {
        if (attempt >= 3) throw err;   // another process took the port in between: try another
      }
    }
  }

  #spawn() {
    const proc = spawn('redis-server', ['--port', String(this.port), ...this.#args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    this.#exited = new Promise((resolve) => proc.once('exit', resolve));
    let output = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`redis-server did not come up: ${output}`)), 10000);
      const done = (err) => {
        clearTimeout(timer);
        clearInterval(poll);
        if (err) {
          proc.kill('SIGKILL');
          reject(err);
        } else {
          resolve();
        }
      };
      proc.stdout.on('data', (d) => { output += d; });
      proc.stderr.on('data', (d) => { output += d; });
      const early = (code) => done(new Error(`redis-server exited with ${code}: ${output}`));
      proc.once('exit', early);
      // Ready when it accepts a connection (log lines are quiet at --loglevel warning).
      const poll = setInterval(() => {
        const s = net.connect(this.port, '127.0.0.1');
        s.once('connect', () => {
          s.end();
          proc.removeListener('exit', early);
          done(null);
        });
        s.once('error', () => s.destroy());
      }, 20);
    });
  }

  /** SIGTERM (redis flushes its append-only file on the way out) and waits for the exit. */
  async stop() {
    if (!this.#proc) return;
    const proc = this.#proc;
    this.#proc = null;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await this.#exited;
  }

  /** Starts again on the same port and directory (the data survives with appendonly). */
  async restart() {
    await this.stop();
    await this.#spawn();
  }

  /** Stops and removes the directory. */
  async close() {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Starts a redis-server that is closed when the test ends.
 * @param {import('node:test').TestContext} t
 */
async function startRedis(t, options) {
  const server = await RedisServer.start(options);
  t.after(() => server.close());
  return server;
}

/** An ioredis client of the test's own on `server`, disconnected after the test. */
function redisFor(t, server) {
  const Redis = require('ioredis');
  const r = new Redis(server.url, { maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  t.after(() => r.disconnect());
  return r;
}

module.exports = { RedisServer, startRedis, redisFor, freePort };
