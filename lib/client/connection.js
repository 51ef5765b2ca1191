'use strict';

// The connection side of a client: the native handle, the client's state, connect() and close()
// promises (bounded by connect()'s signal and timeout), token requests from native, and the
// close/reconnect records that end a connection or the whole client.

const { RealtimeError, fromNative, abortError } = require('../errors.js');
const { loadBinding } = require('../native.js');
const { closedError } = require('./ledger.js');
const { tokenExpiry } = require('./natterbox.js');
const { connectOptions, ConnectWaiter } = require('./waits.js');

// A token is replaced this long before its `exp` (docs/protocol-natterbox.md).
const REFRESH_BEFORE_MS = 60000;

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/**
 * `hooks` are the facade's: `onBatch(text, meta)` (records from the native thread), `started()`
 * (the handle exists: flush what was booked before), `lost()` (a connection ended), `ended(error)`
 * (the client ends: settle everything else), `emit(name, ...args)`, `log(level, message)`,
 * `reportError(err)`, `pendingCalls()` (subscribe() calls still waiting).
 */
class Connection {
  /** Resolved options (lib/options.js). */
  opts;
  /** The native client, null before the first connect and after the end. */
  native = null;
  /** `'disconnected' | 'connecting' | 'connected' | 'subscribed' | 'reconnecting' | 'closed'` */
  state = 'disconnected';
  /** True once the client ended; nothing is emitted after. */
  final = false;
  /** True once close() was called. */
  closing = false;
  /** 'documented' | 'live' once known; null while 'auto' has not decided. */
  dialect = null;
  /** The error the client ended with (AUTH_FAILED, ...), for calls made after the end; null after close(). */
  terminal = null;
  /** Reconnect attempts, failed ones included (one per 'reconnecting'). */
  attempts = 0;
  #lastError = null;    // why the last connection or attempt ended, for CONNECT_TIMEOUT's cause
  #giveUpError = null;  // a connect() timeout that closes the client: its pending calls get it too
  #closePromise = null;
  #closeResolve = null;
  #connectWaiters = [];
  #wantRef = true;
  #held = false;
  #dispatchHeld = false;
  #tokenError = null;
  #lastToken = null;
  #lastStats = null;
  #refreshTimer = null;
  #hooks;

  constructor(opts, hooks) {
    this.opts = opts;
    this.dialect = opts.dialect === 'auto' ? null : opts.dialect;
    this.#hooks = hooks;
  }

  /** See RealtimeClient#connect. */
  connect(options) {
    let bounds;
    try {
      bounds = connectOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    // As events.once(): an aborted signal rejects before anything starts.
    if (bounds.signal && bounds.signal.aborted) return Promise.reject(abortError(bounds.signal));
    if (this.closing || this.final) return Promise.reject(this.closedReason('connect()'));
    if (this.state === 'connected' || this.state === 'subscribed') return Promise.resolve();
    const err = this.start();
    if (err) return Promise.reject(err);
    return new Promise((resolve, reject) => {
      this.#connectWaiters.push(new ConnectWaiter({
        resolve,
        reject,
        signal: bounds.signal,
        timeout: bounds.timeout,
        lastError: () => this.#lastError,
        onGiveUp: (waiter, why) => this.#giveUp(waiter, why),
      }));
    });
  }

  /** What a call on an ended client rejects with: the error it ended with, else CLOSED. */
  closedReason(call) {
    return this.terminal || closedError(`${call} was called on a closed client`);
  }

  // A connect() whose timeout passed or whose signal aborted: the client is closed with it, as ws
  // closes after its handshake timeout, so nothing goes on retrying unseen. A timeout is also
  // what the other pending calls reject with; an abort leaves them CLOSED.
  #giveUp(waiter, why) {
    const i = this.#connectWaiters.indexOf(waiter);
    if (i < 0) return;
    this.#connectWaiters.splice(i, 1);
    if (this.closing || this.final) {
      waiter.reject(why);
      return;
    }
    if (why instanceof RealtimeError) this.#giveUpError = why;
    // Rejected once closed: whoever catches it finds nothing left running.
    this.close().then(() => waiter.reject(why));
  }

  /** See RealtimeClient#close. */
  close() {
    if (this.#closePromise) return this.#closePromise;
    this.closing = true;
    this.#closePromise = new Promise((resolve) => { this.#closeResolve = resolve; });
    if (this.final) {
      this.#closeResolve();
    } else if (this.native) {
      this.native.close();
    } else {
      this.finish(null, { code: 1000, reason: '', wasOpen: false });
    }
    return this.#closePromise;
  }

  ref() {
    this.#wantRef = true;
    if (this.native) this.native.ref();
  }

  unref() {
    this.#wantRef = false;
    if (this.native) this.native.unref();
  }

  /** pause()/resume(): the user holds the native reader. */
  hold(on) {
    this.#held = on;
    this.#applyHold();
  }

  /** The dispatcher holds the native reader while records wait in JS (lib/client/dispatch.js). */
  holdForDispatch(on) {
    this.#dispatchHeld = on;
    this.#applyHold();
  }

  #applyHold() {
    if (this.native) this.native.hold(this.#held || this.#dispatchHeld);
  }

  /** The native pipeline's counters, or the last ones read before the end; null before start. */
  nativeStats() {
    if (this.native && !this.final) return this.native.stats();
    return this.#lastStats;
  }

  // Creates the native client and starts it; returns an error instead of throwing.
  start() {
    if (this.native) return null;
    let binding;
    try {
      binding = loadBinding();
    } catch (err) {
      // NATIVE_LOAD_FAILED as the loader raised it (index.js already raised it at require time).
      return err instanceof RealtimeError ? err : new RealtimeError('CONNECT_FAILED', err.message, { cause: err });
    }
    try {
      this.native = new binding.Client(this.opts.native, (text, meta) => this.#hooks.onBatch(text, meta));
    } catch (err) {
      return new RealtimeError('CONNECT_FAILED', `The native client refused its configuration: ${err.message}`,
        { cause: err });
    }
    if (!this.#wantRef) this.native.unref();
    if (this.#held || this.#dispatchHeld) this.native.hold(true);
    this.#hooks.started();
    this.setState('connecting');
    this.native.connect();
    return null;
  }

  setState(next) {
    if (this.final || next === this.state) return;
    const prev = this.state;
    this.state = next;
    this.#hooks.log('debug', `voip-realtime: state ${prev} -> ${next}`);
    this.#hooks.emit('state', next, prev);
  }

  /** The 'open' control record: the upgrade succeeded. */
  onOpen() {
    this.#tokenError = null;
    this.#lastError = null;
    const waiters = this.#connectWaiters;
    this.#connectWaiters = [];
    for (const w of waiters) w.resolve();
    this.#hooks.log('info', `voip-realtime: connected to ${this.opts.url}`);
    this.#hooks.emit('open');
  }

  onDialect(rec) {
    if (rec.dialect !== 'documented' && rec.dialect !== 'live') return;
    const reason = typeof rec.reason === 'string' ? rec.reason : '';
    this.dialect = rec.dialect;
    this.#hooks.log('info', `voip-realtime: dialect ${rec.dialect}${reason ? ` (${reason})` : ''}`);
    this.#hooks.emit('dialect', rec.dialect, reason);
  }

  onTokenRequest(refused) {
    const getToken = this.opts.getToken;
    const native = this.native;
    if (!getToken || !native) {
      if (native) native.tokenFailed('', '');
      return;
    }
    let pending;
    try {
      pending = Promise.resolve(getToken());
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then((token) => {
      if (this.final || this.closing) return;
      if (typeof token !== 'string' || token === '' || CONTROL_CHARS.test(token)) {
        const what = typeof token === 'string' ? 'an empty or multi-line string' : typeof token;
        native.tokenFailed('AUTH_FAILED', `getToken() returned ${what} instead of a token`);
        return;
      }
      if (refused && token === this.#lastToken) {
        native.tokenFailed('', '');
        return;
      }
      this.#lastToken = token;
      this.#tokenError = null;
      native.setTarget(this.opts.targetFor(token), token);
      this.#scheduleRefresh(token);
    }, (err) => {
      if (this.final || this.closing) return;
      if (refused) {
        native.tokenFailed('', '');
        return;
      }
      this.#tokenError = err;
      const why = err && typeof err.message === 'string' ? err.message : String(err);
      // marked `cause: 'token'` by native: onClose attaches err as the cause
      native.tokenFailed('CONNECT_FAILED', `getToken() failed: ${why}`);
    });
  }

  // Natterbox with getToken: a planned reconnect with a fresh token before this one expires (a
  // token that lives less than two minutes is replaced halfway).
  #scheduleRefresh(token) {
    if (this.opts.protocol !== 'natterbox' || !this.opts.native.reconnect.enabled) return;
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
    const exp = tokenExpiry(token);
    if (exp === null) return;
    const left = exp - Date.now();
    const wait = Math.max(1000, left > 2 * REFRESH_BEFORE_MS ? left - REFRESH_BEFORE_MS : left / 2);
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = null;
      if (this.native && !this.final && !this.closing) {
        this.#hooks.log('info', 'voip-realtime: reconnecting with a fresh token before the current one expires');
        this.native.refresh();
      }
    }, Math.min(wait, 2147483647));
    this.#refreshTimer.unref();
  }

  onClose(rec) {
    const cause = this.#tokenError !== null && rec.error && rec.error.cause === 'token' ? this.#tokenError : undefined;
    const error = fromNative(rec.error, cause);
    // The live server refuses a subscribe by dropping the connection: that subscribe's promise
    // has reported it (PERMISSION_DENIED), so the loss is not reported again as an 'error'.
    const reported = rec.error !== null && typeof rec.error === 'object' && rec.error.reported === true;
    const info = {
      code: typeof rec.code === 'number' ? rec.code : 1006,
      reason: typeof rec.reason === 'string' ? rec.reason : '',
      wasOpen: rec.wasOpen === true,
    };
    this.#hooks.lost();
    if (error) this.#lastError = error;
    if (rec.willReconnect === true && !this.closing) {
      if (error && !reported) this.#hooks.reportError(error);
      this.attempts++;
      this.#hooks.emit('close', { ...info, willReconnect: true, error });
      this.setState('reconnecting');
      this.#hooks.emit('reconnecting', {
        attempt: typeof rec.attempt === 'number' ? rec.attempt : 1,
        delay: typeof rec.delay === 'number' ? rec.delay : 0,
        error,
      });
      return;
    }
    if (rec.final !== true) return;
    this.finish(error, info, reported);
  }

  // The terminal end: 'error' (unless a promise carries it), 'state' closed, then 'close' last.
  finish(error, info, reported = false) {
    if (this.final) return;
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
    if (!error && this.#giveUpError) error = this.#giveUpError;
    // A connect() timeout was already handed to its caller; a terminal failure is kept for later calls.
    const handedOver = error !== null && error === this.#giveUpError;
    if (error && !handedOver) this.terminal = error;
    if (this.native) {
      try {
        this.#lastStats = this.native.stats();
      } catch {
        this.#lastStats = null;
      }
    }
    const waiters = this.#connectWaiters;
    this.#connectWaiters = [];
    // A failure that rejects a promise (connect() or a pending subscribe()) is not emitted as well.
    if (error && !handedOver && !reported && waiters.length === 0 && this.#hooks.pendingCalls() === 0) {
      this.#hooks.reportError(error);
    }
    for (const w of waiters) w.reject(error || closedError('The client was closed before it connected'));
    this.#hooks.ended(error);
    this.setState('closed');
    this.#hooks.emit('close', { ...info, willReconnect: false, error });
    this.final = true;
    this.native = null;
    if (this.#closeResolve) this.#closeResolve();
    else this.#closePromise = Promise.resolve();
  }
}

module.exports = { Connection };
