'use strict';

// A benchmark child process (bench/server.js, bench/client.js, ...) driven over IPC: messages
// are queued by type, so a step waits for the reply it needs whatever else arrives first.

const { fork } = require('node:child_process');
const path = require('node:path');

const STEP_TIMEOUT_MS = 180000;

class Proc {
  #child;
  #queue = [];
  #waiters = [];
  #exit = null;

  constructor(script, argv = [], execArgv = []) {
    this.#child = fork(path.join(__dirname, '..', script), argv, {
      execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (msg) => {
      this.#queue.push(msg);
      this.#pump();
    });
    this.#child.on('exit', (code, signal) => {
      this.#exit = { code, signal };
      this.#pump();
    });
  }

  get pid() {
    return this.#child.pid;
  }

  send(msg) {
    this.#child.send(msg);
  }

  #pump() {
    while (this.#waiters.length > 0) {
      const w = this.#waiters[0];
      const i = this.#queue.findIndex((m) => m.type === w.type || m.type === 'failed');
      if (i >= 0) {
        const [msg] = this.#queue.splice(i, 1);
        this.#waiters.shift();
        clearTimeout(w.timer);
        if (msg.type === 'failed') w.reject(new Error(msg.message));
        else w.resolve(msg);
        continue;
      }
      if (this.#exit) {
        this.#waiters.shift();
        clearTimeout(w.timer);
        w.reject(new Error(`process exited (${this.#exit.code ?? this.#exit.signal}) while waiting for '${w.type}'`));
        continue;
      }
      break;
    }
  }

  /** Resolves with the next message of `type`; rejects on 'failed', exit or timeout. */
  next(type, ms = STEP_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for '${type}'`)), ms);
      this.#waiters.push({ type, resolve, reject, timer });
      this.#pump();
    });
  }

  request(msg, type) {
    const reply = this.next(type);
    this.send(msg);
    return reply;
  }

  async stop() {
    if (this.#exit) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  kill() {
    if (!this.#exit) this.#child.kill('SIGKILL');
  }
}

module.exports = { Proc, STEP_TIMEOUT_MS };
