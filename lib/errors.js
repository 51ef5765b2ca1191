'use strict';

/**
 * Every code a RealtimeError can carry. The first four come from the server's error frames,
 * the next ones are raised by the client itself, the last two by loading the addon and by the
 * emulator.
 */
const ERROR_CODES = Object.freeze([
  'PERMISSION_DENIED',
  'INVALID_TOPIC',
  'INVALID_MESSAGE',
  'RATE_LIMITED',
  'AUTH_FAILED',
  'CONNECT_FAILED',
  'CONNECT_TIMEOUT',
  'ACK_TIMEOUT',
  'HEARTBEAT_TIMEOUT',
  'TLS_ERROR',
  'PROTOCOL_ERROR',
  'MALFORMED_EVENT',
  'PAYLOAD_TOO_LARGE',
  'INSECURE_URL',
  'INVALID_OPTION',
  'QUEUE_OVERFLOW',
  'CLOSED',
  'NATIVE_LOAD_FAILED',
  'LISTEN_FAILED',
]);

/** The one error type of the library: `code` says what happened, the rest says where. */
class RealtimeError extends Error {
  /**
   * @param {string} code one of ERROR_CODES (a server may send codes outside the list; they are kept)
   * @param {string} message
   * @param {{ topics?: string[], action?: string, status?: number, retryAfter?: number, cause?: unknown,
   *   frame?: object }} [details] `frame`: the server's error frame as received (Natterbox CTI)
   */
  constructor(code, message, details) {
    super(message, details && details.cause !== undefined ? { cause: details.cause } : undefined);
    this.code = code;
    if (details) {
      if (details.topics !== undefined) this.topics = details.topics;
      if (details.action !== undefined) this.action = details.action;
      if (details.status !== undefined) this.status = details.status;
      if (details.retryAfter !== undefined) this.retryAfter = details.retryAfter;
      if (details.frame !== undefined) this.frame = details.frame;
    }
  }
}

Object.defineProperty(RealtimeError.prototype, 'name', {
  value: 'RealtimeError',
  writable: true,
  configurable: true,
  enumerable: false,
});

/**
 * Wraps the `{ code, message, status?, retryAfter? }` objects the native side ships.
 * @param {{ code?: string, message?: string, status?: number, retryAfter?: number } | null | undefined} e
 * @param {unknown} [cause]
 * @returns {RealtimeError | null}
 */
function fromNative(e, cause) {
  if (!e || typeof e !== 'object') return null;
  const code = typeof e.code === 'string' && e.code ? e.code : 'CONNECT_FAILED';
  const message = typeof e.message === 'string' && e.message ? e.message : code;
  const details = {};
  if (typeof e.status === 'number' && e.status > 0) details.status = e.status;
  if (typeof e.retryAfter === 'number' && e.retryAfter >= 0) details.retryAfter = e.retryAfter;
  if (cause !== undefined) details.cause = cause;
  return new RealtimeError(code, message, details);
}

/**
 * What an aborted operation rejects with, shaped like Node's own (`events.once`, `events.on`):
 * name 'AbortError', code 'ABORT_ERR', the signal's reason as `cause`.
 */
class AbortError extends Error {
  /**
   * @param {string} [message]
   * @param {{ cause?: unknown }} [options]
   */
  constructor(message = 'The operation was aborted', options = undefined) {
    super(message, options);
    this.code = 'ABORT_ERR';
  }
}

Object.defineProperty(AbortError.prototype, 'name', {
  value: 'AbortError',
  writable: true,
  configurable: true,
  enumerable: false,
});

/**
 * The AbortError for an aborted signal.
 * @param {AbortSignal} signal
 * @returns {AbortError}
 */
function abortError(signal) {
  return new AbortError(undefined, { cause: signal.reason });
}

/**
 * Checks an optional `signal` option the way Node's APIs do.
 * @param {unknown} signal
 * @param {string} name how the caller spells the option, for the message
 * @returns {AbortSignal | undefined}
 */
function validateSignal(signal, name) {
  if (signal === undefined) return undefined;
  if (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean' ||
      typeof signal.addEventListener !== 'function' || typeof signal.removeEventListener !== 'function') {
    throw new RealtimeError('INVALID_OPTION', `Expected an AbortSignal for ${name} but received ${String(signal)}`);
  }
  return signal;
}

module.exports = { RealtimeError, ERROR_CODES, fromNative, AbortError, abortError, validateSignal };
