'use strict';

// Every emulator failure is a RealtimeError with a code: a port that is taken is LISTEN_FAILED
// (not CONNECT_FAILED, which is the client's retryable code), bad TLS material is
// INVALID_OPTION before anything listens, a scenario that cannot start says which.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const { Emulator, RealtimeError } = require('..');
const { ERROR_CODES } = require('../lib/errors');

const TLS = path.join(__dirname, 'fixtures', 'tls');
const pem = (name) => fs.readFileSync(path.join(TLS, name), 'utf8');

test('a taken port rejects with LISTEN_FAILED naming the address and the reason', async () => {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  try {
    await assert.rejects(Emulator.start({ port }), (err) => {
      assert.ok(err instanceof RealtimeError);
      assert.equal(err.code, 'LISTEN_FAILED');
      assert.equal(err.message, `cannot listen on 127.0.0.1:${port}: Address already in use`);
      assert.ok(err.cause instanceof Error);
      return true;
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  assert.ok(ERROR_CODES.includes('LISTEN_FAILED'));
  assert.ok(ERROR_CODES.includes('NATIVE_LOAD_FAILED'));
});

test('TLS material that does not parse or does not pair is INVALID_OPTION, before listening', async () => {
  const broken = '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n';
  await assert.rejects(Emulator.start({ tls: { cert: broken, key: pem('server-key.pem') } }), {
    name: 'RealtimeError', code: 'INVALID_OPTION', message: /^Expected a PEM certificate for tls\.cert but it does not parse: /,
  });
  const brokenKey = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n';
  await assert.rejects(Emulator.start({ tls: { cert: pem('server.pem'), key: brokenKey } }), {
    code: 'INVALID_OPTION', message: /^Expected a PEM private key for tls\.key but it does not parse: /,
  });
  await assert.rejects(Emulator.start({ tls: { cert: pem('server.pem'), key: pem('wronghost-key.pem') } }), {
    code: 'INVALID_OPTION', message: 'Expected tls.key to be the private key of tls.cert but it belongs to another certificate',
  });
  // The matching pair still serves.
  const emu = await Emulator.start({ tls: { cert: pem('server.pem'), key: pem('server-key.pem') } });
  assert.match(emu.url, /^wss:\/\/127\.0\.0\.1:\d+\/v1\.0\/ws$/);
  await emu.stop();
});

test('a scenario that fails to start throws a coded error (its handle is returned synchronously); a stopped emulator is CLOSED', async () => {
  const emu = await Emulator.start();
  try {
    assert.throws(() => emu.scenario('callcenter', { rate: -1 }), { name: 'RealtimeError', code: 'INVALID_OPTION', message: /for rate/ });
    assert.throws(() => emu.scenario('nope'), { code: 'INVALID_OPTION', message: /^Expected one of blast, agents, callcenter/ });
  } finally {
    await emu.stop();
  }
  assert.throws(() => emu.scenario('callcenter'), { name: 'RealtimeError', code: 'CLOSED' });
  assert.throws(() => emu.publish({ event_type: 'x', data: {} }), { name: 'RealtimeError', code: 'CLOSED' });
});
