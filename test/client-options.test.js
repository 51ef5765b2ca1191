'use strict';
// Option validation in the constructor: INSECURE_URL, INVALID_OPTION messages, defaults, redaction.

const test = require('node:test');
const assert = require('node:assert/strict');
const { RealtimeClient, RealtimeError } = require('..');

function throwsCode(fn, code, messageRe) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught, 'expected a throw');
  assert.ok(caught instanceof RealtimeError, `expected a RealtimeError, got ${caught}`);
  assert.ok(caught instanceof Error);
  assert.equal(caught.code, code);
  if (messageRe) assert.match(caught.message, messageRe);
  return caught;
}

test('ws:// to a non-loopback host with any credential is INSECURE_URL unless allowInsecure', () => {
  for (const cred of [{ token: 'sekret-1' }, { accessKey: 'sekret-1' }, { getToken: async () => 'sekret-1' }]) {
    for (const url of ['ws://example.com/v1.0/ws', 'ws://10.0.0.5:8080/ws', 'ws://localhost.example.com/ws', 'ws://127.0.0.1.nip.io/ws', 'ws://[::2]/ws']) {
      const err = throwsCode(() => new RealtimeClient({ url, ...cred }), 'INSECURE_URL');
      assert.ok(!err.message.includes('sekret-1'), `credential in: ${err.message}`);
    }
    assert.doesNotThrow(() => new RealtimeClient({ url: 'ws://example.com/v1.0/ws', allowInsecure: true, ...cred }));
    for (const url of ['ws://localhost:9/ws', 'ws://127.0.0.1:9/ws', 'ws://127.45.6.7:9/ws', 'ws://[::1]:9/ws', 'wss://example.com/ws']) {
      assert.doesNotThrow(() => new RealtimeClient({ url, ...cred }), url);
    }
  }
  assert.doesNotThrow(() => new RealtimeClient({ url: 'ws://example.com/v1.0/ws' }));
});

test('invalid options throw INVALID_OPTION with "Expected <what> for <name> but received <value>"', () => {
  const cases = [
    [{ url: 'http://example.com/ws' }, 'url'],
    [{ url: 'not a url' }, 'url'],
    [{ url: 42 }, 'url'],
    [{ token: 42 }, 'token'],
    [{ token: '' }, 'token'],
    [{ accessKey: {} }, 'accessKey'],
    [{ getToken: 'abc' }, 'getToken'],
    [{ dialect: 'bogus' }, 'dialect'],
    [{ protocol: 'smtp' }, 'protocol'],
    [{ reconnect: 'yes' }, 'reconnect'],
    [{ reconnect: { initialDelay: -1 } }, 'reconnect.initialDelay'],
    [{ reconnect: { maxDelay: Number.NaN } }, 'reconnect.maxDelay'],
    [{ reconnect: { factor: 0.5 } }, 'reconnect.factor'],
    [{ reconnect: { jitter: 2 } }, 'reconnect.jitter'],
    [{ reconnect: { maxAttempts: -3 } }, 'reconnect.maxAttempts'],
    [{ heartbeat: { interval: 0 } }, 'heartbeat.interval'],
    [{ heartbeat: { timeout: 'x' } }, 'heartbeat.timeout'],
    [{ connectTimeout: -5 }, 'connectTimeout'],
    [{ ackTimeout: 'soon' }, 'ackTimeout'],
    [{ maxPayload: 0 }, 'maxPayload'],
    [{ maxQueue: 1.5 }, 'maxQueue'],
    [{ allowInsecure: 'true' }, 'allowInsecure'],
    [{ tls: 'on' }, 'tls'],
    [{ tls: { ca: 42 } }, 'tls.ca'],
    [{ tls: { rejectUnauthorized: 'no' } }, 'tls.rejectUnauthorized'],
    [{ logger: { info: 'x' } }, 'logger.info'],
    [{ logger: 42 }, 'logger'],
  ];
  for (const [opts, name] of cases) {
    const esc = name.replace(/\./g, '\\.');
    const err = throwsCode(() => new RealtimeClient({ url: 'ws://127.0.0.1:9/ws', ...opts }), 'INVALID_OPTION');
    assert.match(err.message, new RegExp(`^Expected .+ for (options\\.)?${esc} but received .+$`), `message for ${JSON.stringify(opts)}`);
  }
  throwsCode(() => new RealtimeClient('ws://127.0.0.1/ws'), 'INVALID_OPTION');
});

test('a credential in a bad option is not echoed back', () => {
  const err = throwsCode(() => new RealtimeClient({ url: 'ftp://127.0.0.1/ws?token=leaky-42', token: 'leaky-42' }), 'INVALID_OPTION');
  assert.ok(!err.message.includes('leaky-42'), err.message);
});

test('defaults: documented endpoint, disconnected, no topics, zero stats; url never shows the credential', () => {
  const c = new RealtimeClient({ token: 'tok-default-xyz' });
  assert.ok(c.url.startsWith('wss://api.voipbin.net/v1.0/ws'), c.url);
  assert.ok(!c.url.includes('tok-default-xyz'));
  assert.equal(c.state, 'disconnected');
  assert.deepEqual(c.topics, []);
  const s = c.stats();
  for (const k of ['received', 'filtered', 'delivered', 'dropped', 'bytesReceived', 'reconnects', 'queueDepth']) {
    assert.equal(s[k], 0, k);
  }
  assert.ok(!JSON.stringify(s).includes('tok-default-xyz'));
  const k = new RealtimeClient({ accessKey: 'ak-default-xyz', url: 'ws://127.0.0.1:9/v1.0/ws' });
  assert.ok(k.url.startsWith('ws://127.0.0.1:9/v1.0/ws'), k.url);
  assert.ok(!k.url.includes('ak-default-xyz'));
});

test('reconnect false and heartbeat false are accepted', () => {
  const c = new RealtimeClient({ url: 'ws://127.0.0.1:9/ws', reconnect: false, heartbeat: false });
  assert.equal(c.state, 'disconnected');
});

test('a RealtimeError is an Error with a string code and the documented fields', () => {
  const err = throwsCode(() => new RealtimeClient({ url: 'ws://example.com/ws', token: 't' }), 'INSECURE_URL');
  assert.equal(typeof err.code, 'string');
  assert.equal(typeof err.message, 'string');
  assert.ok(err.stack.length > 0);
});
