'use strict';

// Child processes for the command-line tests: plain pipes, or a pseudo-terminal made by
// util-linux `script` (always present on Debian: package bsdutils). Every wait is bounded.

const { spawn } = require('node:child_process');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'lib', 'cli.js');

function childEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  return env;
}

/**
 * A running child with its output collected, `waitFor(text|regex|fn, ms)` and `exited(ms)`.
 */
function track(child) {
  const state = { stdout: '', stderr: '', code: null, signal: null, done: false };
  const waiters = new Set();
  const check = () => {
    for (const w of waiters) w();
  };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => { state.stdout += d; check(); });
  child.stderr.on('data', (d) => { state.stderr += d; check(); });
  const exit = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      state.code = code;
      state.signal = signal;
      state.done = true;
      check();
      resolve();
    });
  });
  return {
    child,
    get stdout() { return state.stdout; },
    get stderr() { return state.stderr; },
    get code() { return state.code; },
    write(text) { child.stdin.write(text); },
    /** Resolves once `test(stdout, stderr)` holds; rejects after `ms` or if the child exits first. */
    waitFor(test, ms = 10000) {
      const ok = typeof test === 'function' ? test
        : test instanceof RegExp ? (out) => test.test(out) : (out) => out.includes(test);
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(poll);
        };
        const poll = () => {
          if (ok(state.stdout, state.stderr)) {
            done();
            resolve(state.stdout);
          } else if (state.done) {
            done();
            reject(new Error(`exited (${state.code}) before ${test}; stdout: ${state.stdout.slice(-2000)} stderr: ${state.stderr.slice(-2000)}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(poll);
          reject(new Error(`timed out waiting for ${test}; stdout: ${state.stdout.slice(-2000)} stderr: ${state.stderr.slice(-2000)}`));
        }, ms);
        waiters.add(poll);
        poll();
      });
    },
    /** Resolves with the exit code; kills the child and rejects after `ms`. */
    async exited(ms = 10000) {
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`did not exit within ${ms} ms; stdout: ${state.stdout.slice(-2000)} stderr: ${state.stderr.slice(-2000)}`));
        }, ms);
      });
      try {
        await Promise.race([exit, timeout]);
      } finally {
        clearTimeout(timer);
      }
      return state.code;
    },
    kill(signal = 'SIGTERM') {
      if (!state.done) child.kill(signal);
    },
  };
}

/** Runs `node lib/cli.js ...args` with pipes. */
function cli(args, { env } = {}) {
  return track(spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] }));
}

/** Runs a node script with pipes. */
function node(script, args = [], { env } = {}) {
  return track(spawn(process.execPath, [script, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] }));
}

function shellQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs `node lib/cli.js ...args` on a pseudo-terminal of the given size. What the program draws
 * arrives on stdout; what is written with `write()` is typed on the terminal.
 */
function cliInPty(args, { cols = 100, rows = 30, env } = {}) {
  const command = `stty cols ${cols} rows ${rows} && exec ${[process.execPath, CLI, ...args].map(shellQuote).join(' ')}`;
  return track(spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
    cwd: ROOT,
    env: childEnv({ TERM: 'xterm-256color', ...env }),
    stdio: ['pipe', 'pipe', 'pipe'],
  }));
}

module.exports = { ROOT, CLI, cli, node, cliInPty, track };
