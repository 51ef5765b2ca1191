'use strict';

// Option validation and defaults. Everything the native side receives is checked and filled in
// here, so native can copy one plain object into a struct without any checks of its own.

const util = require('node:util');
const { RealtimeError } = require('./errors.js');
const { natterboxOptions } = require('./client/natterbox.js');

const DEFAULT_URL = 'wss://api.voipbin.net/v1.0/ws';
// docs/protocol-natterbox.md: the host is known, the path is not ('/' by default).
const NATTERBOX_DEFAULT_URL = 'wss://cti.natterbox.net/';
const RECONNECT_DEFAULTS = Object.freeze({
  initialDelay: 1000, maxDelay: 30000, factor: 2, jitter: 0.5, maxAttempts: Infinity, resetAfter: 10000,
});
// The largest maxPayload (native/core/client.h kMaxPayload): a dense message costs the JSON parser
// about fifteen times its size while it is read.
const MAX_PAYLOAD = 64 * 1024 * 1024;
const HEARTBEAT_DEFAULTS = Object.freeze({ interval: 15000, timeout: 10000 });
// 'auto' (the default) starts documented on the wire and switches once the server shows which
// dialect it speaks (native/core/wire_dialect.h).
const DIALECTS = ['auto', 'documented', 'live'];
const PROTOCOLS = ['voipbin', 'natterbox'];
const NATTERBOX_ONLY = ['clientInfo', 'messagesUrl', 'messagesMaxAge', 'messagesTokenIn', 'pathStyle', 'snapshotWindow'];
// docs/protocol-natterbox.md §3: where the messages socket's upgrade carries the token.
const MESSAGES_TOKEN_IN = ['query', 'header'];
// docs/protocol-natterbox.md §3: one host per region; the path is not known ('/' by default).
const NATTERBOX_MESSAGES_URL = 'wss://omnichannelws-us.natterbox.net/';
// API Gateway ends a WebSocket after 2 h: the messages socket is replaced a little before.
const MESSAGES_MAX_AGE = 2 * 3600 * 1000 - 120000;
const MAX_TIMER_MS = 2147483647;
const CREDENTIAL_PARAMS = ['token', 'accesskey'];
const REDACTED = '***';

const KNOWN = new Set([
  'url', 'token', 'accessKey', 'getToken', 'protocol', 'dialect', 'reconnect', 'heartbeat',
  'connectTimeout', 'ackTimeout', 'tls', 'maxPayload', 'maxQueue', 'allowInsecure', 'logger',
  'seed', 'userAgent', 'settleTime', ...NATTERBOX_ONLY,
]);

let packageVersion = '0.0.0';
try {
  packageVersion = require('../package.json').version;
} catch {
  // a trimmed install without package.json still works; only the User-Agent loses its version
}

function fail(what, name, value) {
  return new RealtimeError('INVALID_OPTION', `Expected ${what} for ${name} but received ${show(value)}`);
}

function show(value) {
  if (typeof value === 'string') {
    if (value === '') return 'an empty string';
    const s = value.length > 80 ? `${value.slice(0, 77)}...` : value;
    return JSON.stringify(s);
  }
  if (typeof value === 'function') return 'a function';
  return util.inspect(value, { depth: 0, breakLength: Infinity, maxArrayLength: 5, maxStringLength: 40 });
}

// Credentials must never reach an error message, even when they sit in a malformed value: only
// the kind of value is shown.
function showSecret(value) {
  if (typeof value === 'string') return value === '' ? '' : 'a string';
  if (value === null) return null;
  const kind = Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  return { [util.inspect.custom]: () => kind };
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function checkKeys(obj, allowed, name) {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new RealtimeError('INVALID_OPTION',
        `Unknown option ${name ? `${name}.` : ''}${key} (known: ${allowed.join(', ')})`);
    }
  }
}

function number(value, name, { min = 0, max = Number.MAX_SAFE_INTEGER, integer = false, above = false, infinity = false } = {}) {
  const ok = typeof value === 'number' && !Number.isNaN(value) &&
    ((infinity && value === Infinity) ||
      (Number.isFinite(value) && (above ? value > min : value >= min) && value <= max &&
        (!integer || Number.isInteger(value))));
  if (!ok) {
    let what = integer ? 'an integer' : 'a number';
    what += above ? ` greater than ${min}` : ` >= ${min}`;
    if (max < Number.MAX_SAFE_INTEGER) what += ` and <= ${max}`;
    if (infinity) what += ' (or Infinity)';
    throw fail(what, name, value);
  }
  return value;
}

function boolean(value, name) {
  if (typeof value !== 'boolean') throw fail('a boolean', name, value);
  return value;
}

function nonEmptyString(value, name) {
  if (typeof value !== 'string' || value === '') throw fail('a non-empty string', name, value);
  return value;
}

function secret(value, name) {
  if (typeof value !== 'string' || value === '' || /[\u0000-\u001f\u007f]/.test(value)) {
    throw fail('a non-empty string without control characters', name, showSecret(value));
  }
  return value;
}

function isLoopback(host) {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

// A query parameter's name as the server reads it: percent-decoded (and `+` as a space).
function paramName(raw) {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

// Replaces the value of every credential parameter in a query string, whatever the spelling of
// its name (`to%6Ben` is `token` to the server).
function redactQuery(search) {
  if (!search) return search;
  return search.replace(/([?&])([^&#=]*)=?([^&#]*)/g, (m, sep, name, value) =>
    (CREDENTIAL_PARAMS.includes(paramName(name)) && (value !== '' || m.includes('='))
      ? `${sep}${name}=${REDACTED}` : m));
}

function parseUrl(value, name = 'url') {
  if (typeof value !== 'string' || value === '') {
    throw fail('a ws:// or wss:// URL', name, value);
  }
  let u;
  try {
    u = new URL(value);
  } catch {
    throw fail('a ws:// or wss:// URL', name, redactQuery(value));
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    throw fail('a ws:// or wss:// URL', name, `${u.protocol}//${u.host}${u.pathname}`);
  }
  if (u.username || u.password) {
    throw fail('a URL without user:password@', name, `${u.protocol}//***@${u.host}${u.pathname}`);
  }
  if (!u.hostname) throw fail('a URL with a host', name, value);
  const secure = u.protocol === 'wss:';
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port || (secure ? '443' : '80');
  const params = new URLSearchParams(u.search);
  const urlCredential = CREDENTIAL_PARAMS.some((k) => params.has(k));
  return { u, secure, host, port, urlCredential };
}

function mergeSection(value, defaults, name) {
  if (value === undefined || value === true) return { ...defaults };
  if (!isPlainObject(value)) throw fail(`an object or false`, name, value);
  checkKeys(value, Object.keys(defaults), name);
  const out = { ...defaults };
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out;
}

function pemList(value, name) {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw fail('a PEM string, a Buffer or a non-empty array of them', name, value);
  return list.map((item, i) => pem(item, Array.isArray(value) ? `${name}[${i}]` : name));
}

function pem(value, name) {
  let text;
  if (typeof value === 'string') text = value;
  else if (Buffer.isBuffer(value) || value instanceof Uint8Array) text = Buffer.from(value).toString('utf8');
  else throw fail('a PEM string or a Buffer', name, value);
  if (!text.includes('-----BEGIN ')) {
    throw new RealtimeError('INVALID_OPTION',
      `Expected PEM text (-----BEGIN ...) for ${name} but received ${text.length} bytes without a PEM header`);
  }
  return text;
}

function validateTls(value) {
  const defaults = { rejectUnauthorized: true, ca: undefined, cert: undefined, key: undefined, servername: undefined };
  const t = mergeSection(value, defaults, 'tls');
  const out = { rejectUnauthorized: boolean(t.rejectUnauthorized, 'tls.rejectUnauthorized'), ca: [], cert: '', key: '', servername: '' };
  if (t.ca !== undefined) out.ca = pemList(t.ca, 'tls.ca');
  if (t.cert !== undefined) out.cert = pem(t.cert, 'tls.cert');
  if (t.key !== undefined) out.key = pem(t.key, 'tls.key');
  if ((out.cert === '') !== (out.key === '')) {
    throw new RealtimeError('INVALID_OPTION', 'Expected tls.cert and tls.key together but received only one of them');
  }
  if (t.servername !== undefined) out.servername = nonEmptyString(t.servername, 'tls.servername');
  return out;
}

function validateLogger(value) {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' && typeof value !== 'function') {
    throw fail('an object with debug, info, warn and error functions', 'logger', value);
  }
  const out = {};
  let any = false;
  for (const level of ['debug', 'info', 'warn', 'error']) {
    const fn = value[level];
    if (fn === undefined) continue;
    if (typeof fn !== 'function') throw fail('a function', `logger.${level}`, fn);
    out[level] = fn.bind(value);
    any = true;
  }
  if (!any) throw fail('an object with debug, info, warn and error functions', 'logger', value);
  return out;
}

/**
 * The Natterbox messages socket's options (docs/protocol-natterbox.md §3): its URL, the upgrade
 * target (carrying the token as `?token=` unless `messagesTokenIn: 'header'` moves it to an
 * `Authorization: Bearer` header), how long a connection may live, and the native config of one
 * socket (a copy of the CTI socket's with the messages protocol).
 */
function messagesSection(o, cti, { token, getToken, allowInsecure }) {
  const { u, secure, host, port, urlCredential } =
    parseUrl(o.messagesUrl === undefined ? NATTERBOX_MESSAGES_URL : o.messagesUrl, 'messagesUrl');
  if (urlCredential) {
    throw new RealtimeError('INVALID_OPTION',
      'Expected messagesUrl without a token (the client adds ?token= itself) but received one');
  }
  if (!secure && !allowInsecure && !isLoopback(host)) {
    throw new RealtimeError('INSECURE_URL',
      `Refusing to send a credential over unencrypted ws:// to ${host}: use wss://, ` +
      'or set allowInsecure: true if the network path is trusted');
  }
  const maxAge = o.messagesMaxAge === undefined ? MESSAGES_MAX_AGE
    : number(o.messagesMaxAge, 'messagesMaxAge', { min: 1000, integer: true, max: MAX_TIMER_MS });
  const tokenIn = o.messagesTokenIn === undefined ? 'query' : o.messagesTokenIn;
  if (!MESSAGES_TOKEN_IN.includes(tokenIn)) throw fail("'query' or 'header'", 'messagesTokenIn', tokenIn);
  const header = tokenIn === 'header';
  const path = u.pathname || '/';
  const withToken = (t) => `${path}${u.search ? `${u.search}&` : '?'}token=${t}`;
  const targetFor = header ? () => `${path}${u.search}` : (t) => withToken(encodeURIComponent(t));
  return {
    url: `${u.protocol}//${u.host}${header ? `${path}${redactQuery(u.search)}` : withToken(REDACTED)}`,
    maxAge,
    targetFor,
    native: {
      ...cti,
      host,
      port,
      secure,
      target: token === undefined ? '' : targetFor(token),
      tokenPerAttempt: Boolean(getToken),
      protocol: 'natterbox-messages',
      // With the header choice the native protocol sends it as `Authorization: Bearer`.
      credential: header && token !== undefined ? token : '',
      credentialHeader: header,
    },
  };
}

/**
 * Validates user options and returns `{ native, url, targetFor, ackTimeout, dialect, settleTime, logger,
 * getToken }`:
 * `native` is the plain config object of native/BINDING.md.
 * @param {object} [options]
 */
function resolveOptions(options) {
  if (options === undefined || options === null) options = {};
  if (!isPlainObject(options)) throw fail('an options object', 'options', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new RealtimeError('INVALID_OPTION', `Unknown option ${key} (known: ${[...KNOWN].join(', ')})`);
    }
  }
  const o = options;

  const protocol = o.protocol === undefined ? 'voipbin' : o.protocol;
  if (!PROTOCOLS.includes(protocol)) {
    throw new RealtimeError('INVALID_OPTION',
      `Expected 'voipbin' or 'natterbox' for protocol but received ${show(protocol)}`);
  }
  const natterbox = protocol === 'natterbox';
  let natterboxConfig = null;
  if (natterbox) {
    natterboxConfig = natterboxOptions(o, packageVersion);
  } else {
    const extra = NATTERBOX_ONLY.find((k) => o[k] !== undefined);
    if (extra) {
      throw new RealtimeError('INVALID_OPTION', `Expected protocol: 'natterbox' with ${extra} but received protocol ${show(protocol)}`);
    }
  }

  const { u, secure, host, port, urlCredential } =
    parseUrl(o.url === undefined ? (natterbox ? NATTERBOX_DEFAULT_URL : DEFAULT_URL) : o.url);

  const token = o.token === undefined ? undefined : secret(o.token, 'token');
  const accessKey = o.accessKey === undefined ? undefined : secret(o.accessKey, 'accessKey');
  if (o.getToken !== undefined && typeof o.getToken !== 'function') {
    throw fail('an async function returning a token', 'getToken', o.getToken);
  }
  const getToken = o.getToken;
  if (token !== undefined && accessKey !== undefined) {
    throw new RealtimeError('INVALID_OPTION',
      'Expected either token or accessKey but received both (the server reads only one credential)');
  }
  if (urlCredential && (token !== undefined || accessKey !== undefined || getToken !== undefined)) {
    throw new RealtimeError('INVALID_OPTION',
      'Expected the credential either in url or in token/accessKey/getToken but received both');
  }
  const allowInsecure = o.allowInsecure === undefined ? false : boolean(o.allowInsecure, 'allowInsecure');
  const hasCredential = urlCredential || token !== undefined || accessKey !== undefined || getToken !== undefined;
  if (!secure && hasCredential && !allowInsecure && !isLoopback(host)) {
    throw new RealtimeError('INSECURE_URL',
      `Refusing to send a credential over unencrypted ws:// to ${host}: use wss://, ` +
      'or set allowInsecure: true if the network path is trusted');
  }

  const dialect = o.dialect === undefined ? 'auto' : o.dialect;
  if (!DIALECTS.includes(dialect)) {
    throw new RealtimeError('INVALID_OPTION',
      `Expected 'auto', 'documented' or 'live' for dialect but received ${show(dialect)}`);
  }

  let reconnect;
  if (o.reconnect === false) {
    reconnect = { enabled: false, ...RECONNECT_DEFAULTS, maxAttempts: 0 };
  } else {
    const r = mergeSection(o.reconnect, RECONNECT_DEFAULTS, 'reconnect');
    number(r.initialDelay, 'reconnect.initialDelay', { max: MAX_TIMER_MS });
    number(r.maxDelay, 'reconnect.maxDelay', { max: MAX_TIMER_MS });
    if (r.maxDelay < r.initialDelay) {
      throw fail(`a number >= reconnect.initialDelay (${r.initialDelay})`, 'reconnect.maxDelay', r.maxDelay);
    }
    number(r.factor, 'reconnect.factor', { min: 1, max: 1000 });
    number(r.jitter, 'reconnect.jitter', { max: 1 });
    number(r.maxAttempts, 'reconnect.maxAttempts', { integer: true, infinity: true, max: 0xffffffff });
    number(r.resetAfter, 'reconnect.resetAfter', { max: MAX_TIMER_MS });
    reconnect = {
      enabled: r.maxAttempts !== 0,
      initialDelay: r.initialDelay,
      maxDelay: r.maxDelay,
      factor: r.factor,
      jitter: r.jitter,
      maxAttempts: r.maxAttempts === Infinity ? 0 : r.maxAttempts,
      resetAfter: r.resetAfter,
    };
  }

  let heartbeatInterval = 0;
  let heartbeatTimeout = 0;
  if (o.heartbeat !== false) {
    const h = mergeSection(o.heartbeat, HEARTBEAT_DEFAULTS, 'heartbeat');
    heartbeatInterval = number(h.interval, 'heartbeat.interval', { min: 0, above: true, max: MAX_TIMER_MS });
    heartbeatTimeout = number(h.timeout, 'heartbeat.timeout', { min: 0, above: true, max: MAX_TIMER_MS });
  }

  const connectTimeout = o.connectTimeout === undefined ? 10000
    : number(o.connectTimeout, 'connectTimeout', { min: 0, above: true, max: MAX_TIMER_MS });
  const ackTimeout = o.ackTimeout === undefined ? 10000
    : number(o.ackTimeout, 'ackTimeout', { min: 0, above: true, max: MAX_TIMER_MS });
  const maxPayload = o.maxPayload === undefined ? 16 * 1024 * 1024
    : number(o.maxPayload, 'maxPayload', { min: 1, integer: true, max: MAX_PAYLOAD });
  const maxQueue = o.maxQueue === undefined ? 10000
    : number(o.maxQueue, 'maxQueue', { min: 1, integer: true, max: 0x7fffffff });
  const seed = o.seed === undefined ? 0 : number(o.seed, 'seed', { integer: true });
  const settleTime = o.settleTime === undefined ? 1000
    : number(o.settleTime, 'settleTime', { max: MAX_TIMER_MS });
  const userAgent = o.userAgent === undefined ? `voip-realtime/${packageVersion} node/${process.versions.node}`
    : nonEmptyString(o.userAgent, 'userAgent');
  // NUL, CR, LF and the other control characters cannot go into an HTTP header.
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(userAgent)) {
    throw fail('a string without control characters', 'userAgent', userAgent);
  }
  const tls = validateTls(o.tls);
  const logger = validateLogger(o.logger);

  const path = u.pathname || '/';
  const baseQuery = u.search;
  const withParam = (key, value) =>
    `${path}${baseQuery ? `${baseQuery}&` : '?'}${key}=${encodeURIComponent(value)}`;
  const targetFor = (t) => withParam('token', t);

  let target = `${path}${baseQuery}`;
  let shownQuery = redactQuery(baseQuery);
  if (natterbox) {
    // The credential travels in the first frame, not in the URL.
    const url = `${u.protocol}//${u.host}${path}${shownQuery}`;
    const base = target;
    const native = {
      host, port, target, secure, tls, connectTimeout, maxPayload, maxQueue, heartbeatInterval,
      heartbeatTimeout, reconnect, seed, tokenPerAttempt: Boolean(getToken), dialect: 'documented',
      settleTime, userAgent, protocol, credential: token === undefined ? '' : token, natterbox: natterboxConfig,
    };
    return {
      url,
      protocol,
      ackTimeout,
      dialect: null,
      settleTime,
      logger,
      getToken: getToken || null,
      targetFor: () => base,
      native,
      messages: messagesSection(o, native, { token, getToken, allowInsecure }),
    };
  }
  if (getToken) {
    target = '';
    shownQuery = `${baseQuery ? `${shownQuery}&` : '?'}token=${REDACTED}`;
  } else if (token !== undefined) {
    target = withParam('token', token);
    shownQuery = `${baseQuery ? `${shownQuery}&` : '?'}token=${REDACTED}`;
  } else if (accessKey !== undefined) {
    target = withParam('accesskey', accessKey);
    shownQuery = `${baseQuery ? `${shownQuery}&` : '?'}accesskey=${REDACTED}`;
  }
  const url = `${u.protocol}//${u.host}${path}${shownQuery}`;

  return {
    url,
    protocol,
    ackTimeout,
    dialect,
    settleTime,
    logger,
    getToken: getToken || null,
    targetFor,
    native: {
      host,
      port,
      target,
      secure,
      tls,
      connectTimeout,
      maxPayload,
      maxQueue,
      heartbeatInterval,
      heartbeatTimeout,
      reconnect,
      seed,
      tokenPerAttempt: Boolean(getToken),
      dialect,
      settleTime,
      userAgent,
    },
  };
}

module.exports = {
  resolveOptions, isLoopback, redactQuery, DEFAULT_URL, RECONNECT_DEFAULTS, HEARTBEAT_DEFAULTS, MAX_PAYLOAD,
};
