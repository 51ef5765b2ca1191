'use strict';
// Small, bounded waiting and recording helpers shared by the client tests.

const { spawn } = require('node:child_process');
const { setTimeout: delay } = require('node:timers/promises');

/** Options that keep reconnect schedules exact and short in tests. */
const FAST = Object.freeze({
  reconnect: { initialDelay: 50, jitter: 0 },
  heartbeat: false,
  connectTimeout: 2000,
  ackTimeout: 2000,
});

/**
 * Creates a RealtimeClient that is closed when the test ends.
 * @param {import('node:test').TestContext} t
 * @param {object} options merged over FAST
 */
function makeClient(t, options) {
  const { RealtimeClient } = require('../..');
  const client = new RealtimeClient({ ...FAST, ...options });
  // Bounded so a hanging close() fails its own lifecycle test instead of stalling this file.
  t.after(() => Promise.race([client.close(), delay(3000)]));
  return client;
}

/**
 * Starts a fixture server that is closed when the test ends.
 * @param {import('node:test').TestContext} t
 */
async function startServer(t, options) {
  const { FixtureServer } = require('./ws-server');
  const server = await FixtureServer.start(options);
  t.after(() => server.close());
  return server;
}

/**
 * Records every emission of `names` on `emitter` as `[name, ...args]`, in order.
 * @returns {Array<Array<any>>}
 */
function record(emitter, names) {
  const log = [];
  for (const name of names) emitter.on(name, (...args) => log.push([name, ...args]));
  return log;
}

/** Resolves with the first arguments of the next `name` emission; rejects after `ms`. */
function next(emitter, name, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, on);
      reject(new Error(`timed out after ${ms} ms waiting for '${name}'`));
    }, ms);
    function on(...args) {
      clearTimeout(timer);
      emitter.off(name, on);
      resolve(args);
    }
    emitter.on(name, on);
  });
}

/** Polls `predicate` every 5 ms until true; rejects after `ms` naming `what`. */
async function until(predicate, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(5);
  }
}

/** Resolves with the settled outcome of `promise` within `ms`: `{ value }` or `{ error }`. */
async function settle(promise, ms = 5000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`promise did not settle within ${ms} ms`)), ms);
  });
  try {
    return { value: await Promise.race([promise, timeout]) };
  } catch (error) {
    if (error && error.message === `promise did not settle within ${ms} ms`) throw error;
    return { error };
  } finally {
    clearTimeout(timer);
  }
}

/** The outcome of `promise` within `ms`, in Promise.allSettled's shape: `{ status, value | reason }`. */
async function outcome(promise, ms = 5000) {
  const r = await settle(promise, ms);
  return 'error' in r ? { status: 'rejected', reason: r.error } : { status: 'fulfilled', value: r.value };
}

/** A loopback port nothing listens on (it was free a moment ago). */
async function freePort() {
  const net = require('node:net');
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Runs `node <args>` and resolves with `{ code, signal, stdout, stderr, ms, timedOut }`.
 * The child is killed after `timeout` ms so a hang fails the test instead of stalling it.
 */
function runNode(args, { timeout = 10000, env = {}, onStdout } = {}) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      stdout += d;
      if (onStdout) onStdout(stdout, child);
    });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeout);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started, timedOut });
    });
  });
}

module.exports = { FAST, makeClient, startServer, record, next, until, settle, outcome, freePort, runNode, delay };
