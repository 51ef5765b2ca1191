'use strict';

// The parts of the client that make sure nobody waits unseen on a connection that is not
// coming: connect()'s `signal` and `timeout`, and the process warning printed when a failure
// has nowhere else to go (no 'error' listener, no logger).

const { RealtimeError, abortError, validateSignal } = require('../errors.js');

// A failing retry loop repeats the same few failures forever; the set only has to tell them apart.
const MAX_WARNED = 64;

/**
 * Validates connect()'s options.
 * @param {unknown} options
 * @returns {{ signal: AbortSignal | undefined, timeout: number | undefined }}
 */
function connectOptions(options) {
  if (options === undefined || options === null) return { signal: undefined, timeout: undefined };
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new RealtimeError('INVALID_OPTION', `Expected an object for connect(options) but received ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'signal' && key !== 'timeout') {
      throw new RealtimeError('INVALID_OPTION', `Unknown option ${key} for connect() (known: signal, timeout)`);
    }
  }
  const signal = validateSignal(options.signal, 'signal');
  const { timeout } = options;
  if (timeout !== undefined && (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout <= 0 ||
      (!Number.isInteger(timeout) && timeout !== Infinity))) {
    throw new RealtimeError('INVALID_OPTION',
      `Expected a positive integer of milliseconds for timeout but received ${String(timeout)}`);
  }
  return { signal, timeout: timeout === Infinity ? undefined : timeout };
}

/**
 * One pending connect(): settles once, and gives up on its own when its signal aborts or its
 * timeout passes, handing the reason to `onGiveUp(waiter, err)`. The timer does not keep the
 * process alive: a connecting client does that itself unless it was unref()ed.
 */
class ConnectWaiter {
  #resolve;
  #reject;
  #signal;
  #timer = null;
  #onAbort = null;
  #settled = false;

  /**
   * @param {{ resolve: () => void, reject: (err: Error) => void, signal?: AbortSignal, timeout?: number,
   *   lastError: () => RealtimeError | null, onGiveUp: (waiter: ConnectWaiter, err: Error) => void }} opts
   */
  constructor({ resolve, reject, signal, timeout, lastError, onGiveUp }) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#signal = signal;
    if (timeout !== undefined) {
      this.#timer = setTimeout(() => onGiveUp(this, timeoutError(timeout, lastError())), timeout);
      this.#timer.unref();
    }
    if (signal) {
      this.#onAbort = () => onGiveUp(this, abortError(signal));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  resolve() {
    if (this.#settle()) this.#resolve();
  }

  reject(err) {
    if (this.#settle()) this.#reject(err);
  }

  #settle() {
    if (this.#settled) return false;
    this.#settled = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#onAbort) this.#signal.removeEventListener('abort', this.#onAbort);
    return true;
  }
}

function timeoutError(timeout, last) {
  const why = last ? `; the last attempt failed with ${last.code}: ${last.message}` : '';
  return new RealtimeError('CONNECT_TIMEOUT', `connect() did not succeed within ${timeout} ms${why}`,
    last ? { cause: last } : undefined);
}

/**
 * Tells the operator about a failure nobody else hears of, through process.emitWarning (shown on
 * stderr by default, `--no-warnings` silences it), once per distinct code and message.
 */
class WarnOnce {
  #seen = new Set();

  /** @param {RealtimeError} err */
  warn(err) {
    const key = `${err.code}\u0000${err.message}`;
    if (this.#seen.has(key) || this.#seen.size >= MAX_WARNED) return;
    this.#seen.add(key);
    process.emitWarning(`${err.code}: ${err.message}`, {
      type: 'RealtimeWarning',
      code: `VOIP_REALTIME_${err.code}`,
      detail: 'Attach an \'error\' listener or pass a logger to handle it yourself; each distinct failure is warned about once.',
    });
  }
}

module.exports = { connectOptions, ConnectWaiter, WarnOnce };
