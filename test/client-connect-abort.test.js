'use strict';

// connect({ signal, timeout }) and events({ signal }) follow Node's conventions: an abort is an
// AbortError (code ABORT_ERR, the signal's reason as cause), as events.once() and events.on() do.

const { test } = require('node:test');
const assert = require('node:assert/strict');

const { Emulator, RealtimeError } = require('..');
const { makeClient, outcome: settle, until, delay, freePort } = require('./helpers/util');

const T = { timeout: 30000 };
const RETRY_FAST = { reconnect: { initialDelay: 20, maxDelay: 20, jitter: 0 } };

async function closedPortUrl() {
  return `ws://127.0.0.1:${await freePort()}/v1.0/ws`;
}

async function startEmulator(t) {
  const emu = await Emulator.start();
  t.after(() => emu.stop());
  return emu;
}

// A client subscribed to the emulator's calls.
async function subscribedClient(t) {
  const emu = await startEmulator(t);
  const client = makeClient(t, { url: emu.url, token: emu.issueToken() });
  await client.subscribe(`customer_id:${emu.customerId}:call:*`);
  return { emu, client };
}

function assertAbortError(err, reason) {
  assert.equal(err.name, 'AbortError');
  assert.equal(err.code, 'ABORT_ERR');
  assert.equal(err.message, 'The operation was aborted');
  assert.ok(err instanceof Error);
  assert.equal(err instanceof RealtimeError, false);
  assert.equal(err.cause, reason);
}

test('connect({ signal }): an abort while retrying rejects with an AbortError and closes the client', T, async (t) => {
  const client = makeClient(t, { url: await closedPortUrl(), token: 't', ...RETRY_FAST });
  const attempts = [];
  client.on('reconnecting', (r) => attempts.push(r.attempt));
  const ac = new AbortController();
  const connecting = client.connect({ signal: ac.signal });
  const subscribing = client.subscribe('customer_id:5013bc52-da9a-11ee-844f-2fa34248de28:call:*');
  await until(() => attempts.length >= 2, 'two failed attempts');
  const reason = new Error('user gave up');
  ac.abort(reason);
  const r = await settle(connecting);
  assert.equal(r.status, 'rejected');
  assertAbortError(r.reason, reason);
  const s = await settle(subscribing);
  assert.equal(s.status, 'rejected');
  assert.equal(s.reason.code, 'CLOSED');
  assert.equal(client.state, 'closed');
  // Nothing retries behind the caller's back.
  const seen = attempts.length;
  await delay(100);
  assert.equal(attempts.length, seen);
});

test('connect({ signal }) with an aborted signal rejects at once and starts nothing', T, async (t) => {
  const emu = await startEmulator(t);
  const client = makeClient(t, { url: emu.url, token: emu.issueToken() });
  const ac = new AbortController();
  ac.abort();
  const r = await settle(client.connect({ signal: ac.signal }));
  assert.equal(r.status, 'rejected');
  assertAbortError(r.reason, ac.signal.reason);
  assert.equal(r.reason.cause.name, 'AbortError');
  assert.equal(client.state, 'disconnected');
  // The client is still usable.
  await client.connect();
  assert.equal(client.state, 'connected');
  // Aborting after the connection is up changes nothing.
  const late = new AbortController();
  await client.connect({ signal: late.signal, timeout: 50 });
  late.abort();
  await delay(100);
  assert.equal(client.state, 'connected');
});

test('connect({ timeout }) that succeeds in time leaves no timer behind', T, async (t) => {
  const emu = await startEmulator(t);
  const client = makeClient(t, { url: emu.url, token: emu.issueToken() });
  await client.connect({ timeout: 100 });
  await delay(200);
  assert.equal(client.state, 'connected');
});

test('connect({ timeout }) while retrying rejects with CONNECT_TIMEOUT caused by the last failure', T, async (t) => {
  const emu = await startEmulator(t);
  emu.fault('refuseUpgrades', { status: 503 });
  const client = makeClient(t, { url: emu.url, token: emu.issueToken(), ...RETRY_FAST });
  const closes = [];
  client.on('close', (c) => closes.push(c));
  const subscribing = client.subscribe(`customer_id:${emu.customerId}:call:*`);
  // Two failed attempts first, so that the timeout has a last error to name.
  const attempts = [];
  client.on('reconnecting', (a) => attempts.push(a));
  client.connect().catch(() => {});
  await until(() => attempts.length >= 2, 'two failed attempts');
  const r = await settle(client.connect({ timeout: 300 }));
  assert.equal(r.status, 'rejected');
  assert.ok(r.reason instanceof RealtimeError);
  assert.equal(r.reason.code, 'CONNECT_TIMEOUT');
  assert.equal(r.reason.cause.code, 'CONNECT_FAILED');
  assert.equal(r.reason.cause.status, 503);
  assert.equal(r.reason.message, `connect() did not succeed within 300 ms; the last attempt failed with CONNECT_FAILED: ${r.reason.cause.message}`);
  assert.equal(client.state, 'closed');
  const last = closes[closes.length - 1];
  assert.equal(last.willReconnect, false);
  assert.equal(last.error, r.reason);
  // The subscribe() that waited for the same connection learns the same reason.
  const s = await settle(subscribing);
  assert.equal(s.reason, r.reason);
});

test('connect() options are validated', T, async (t) => {
  const client = makeClient(t, { url: 'ws://127.0.0.1:9/v1.0/ws', token: 't' });
  const cases = [
    [{ timeout: -1 }, 'Expected a positive integer of milliseconds for timeout but received -1'],
    [{ timeout: 1.5 }, 'Expected a positive integer of milliseconds for timeout but received 1.5'],
    [{ timeout: '100' }, 'Expected a positive integer of milliseconds for timeout but received 100'],
    [{ signal: {} }, 'Expected an AbortSignal for signal but received [object Object]'],
    [{ singal: new AbortController().signal }, 'Unknown option singal for connect() (known: signal, timeout)'],
    [5, 'Expected an object for connect(options) but received 5'],
  ];
  for (const [options, message] of cases) {
    const r = await settle(client.connect(options));
    assert.equal(r.status, 'rejected');
    assert.equal(r.reason.code, 'INVALID_OPTION');
    assert.equal(r.reason.message, message);
  }
  assert.equal(client.state, 'disconnected');
});

test('events({ signal }): a waiting read rejects with an AbortError, then the iterator is done', T, async (t) => {
  const { client } = await subscribedClient(t);
  const ac = new AbortController();
  const it = client.events({ signal: ac.signal });
  const waiting = it.next();
  const reason = new Error('stop');
  ac.abort(reason);
  const r = await settle(waiting);
  assert.equal(r.status, 'rejected');
  assertAbortError(r.reason, reason);
  assert.deepEqual(await it.next(), { value: undefined, done: true });
  assert.equal(client.stats().iterators, 0);
  assert.throws(() => client.events({ signal: { aborted: false } }), {
    code: 'INVALID_OPTION', message: 'Expected an AbortSignal for filter.signal but received [object Object]',
  });
});

test('events({ signal }): buffered events are read first, then the AbortError, as events.on() does', T, async (t) => {
  const { emu, client } = await subscribedClient(t);
  const ac = new AbortController();
  const it = client.events({ signal: ac.signal });
  let seen = 0;
  client.on('event', () => { seen++; });
  for (let i = 0; i < 3; i++) {
    emu.publish({ event_type: 'call.status', data: { id: `call-${i}`, customer_id: emu.customerId, seq: i } });
  }
  await until(() => seen === 3, 'three events');
  ac.abort();
  // An event after the abort is not buffered any more.
  emu.publish({ event_type: 'call.status', data: { id: 'call-late', customer_id: emu.customerId, seq: 3 } });
  await until(() => seen === 4, 'the late event');
  const seqs = [];
  for (let i = 0; i < 3; i++) seqs.push((await it.next()).value.data.seq);
  assert.deepEqual(seqs, [0, 1, 2]);
  const r = await settle(it.next());
  assert.equal(r.status, 'rejected');
  assertAbortError(r.reason, ac.signal.reason);
  assert.deepEqual(await it.next(), { value: undefined, done: true });

  // The same in a for await loop: the loop throws the AbortError.
  const ac2 = new AbortController();
  ac2.abort();
  await assert.rejects(async () => {
    for await (const e of client.events({ signal: ac2.signal })) assert.fail(`unexpected ${e.event_type}`);
  }, { name: 'AbortError', code: 'ABORT_ERR' });
});
