'use strict';
// wss against a `ws` server over Node's https: trust via tls.ca, and terminal verification failures.

const test = require('node:test');
const assert = require('node:assert/strict');
const { RealtimeError } = require('..');
const ev = require('./helpers/events');
const { certs } = require('./helpers/ws-server');
const { makeClient, startServer, settle, record, until, delay } = require('./helpers/util');

const T = { timeout: 15000 };

for (const [label, ca] of [
  ['a PEM string', () => certs.ca()],
  ['a Buffer', () => Buffer.from(certs.ca())],
  ['an array', () => [Buffer.from(certs.ca())]],
]) {
  test(`wss with the CA passed in tls.ca as ${label} connects and delivers`, T, async (t) => {
    const server = await startServer(t, { tls: certs.good() });
    assert.ok(server.url.startsWith('wss://127.0.0.1:'));
    const client = makeClient(t, { url: server.url, token: 'tok-tls', tls: { ca: ca() } });
    await client.connect();
    await client.subscribe(ev.topics.calls);
    const seen = [];
    client.on('event', (e) => seen.push(e));
    const e = ev.callCreated();
    await server.send(e);
    await until(() => seen.length === 1, 'the event over wss');
    assert.deepStrictEqual(seen, [e]);
  });
}

test('wss to localhost verifies the DNS name of the certificate', T, async (t) => {
  const server = await startServer(t, { tls: certs.good() });
  const client = makeClient(t, { url: `wss://localhost:${server.port}/v1.0/ws`, token: 'tok-tls', tls: { ca: certs.ca() } });
  await client.connect();
  assert.equal(client.state, 'connected');
});

test('tls.servername verifies a certificate issued for another name', T, async (t) => {
  const server = await startServer(t, { tls: certs.wrongHost() });
  const client = makeClient(t, { url: server.url, token: 'tok-tls', tls: { ca: certs.ca(), servername: 'other.example' } });
  await client.connect();
  assert.equal(client.state, 'connected');
});

for (const [label, tls, clientTls] of [
  ['a certificate for another hostname', () => certs.wrongHost(), () => ({ ca: certs.ca() })],
  ['a certificate from an unknown CA', () => certs.unknownCa(), () => ({ ca: certs.ca() })],
  ['a private CA without tls.ca', () => certs.good(), () => ({})],
]) {
  test(`wss with ${label}: TLS_ERROR, terminal, no reconnect loop`, T, async (t) => {
    const server = await startServer(t, { tls: tls() });
    const client = makeClient(t, { url: server.url, token: 'tok-tls-secret', tls: clientTls() });
    const log = record(client, ['state', 'reconnecting', 'close']);
    const r = await settle(client.connect());
    assert.ok(r.error instanceof RealtimeError, `connect() gave ${r.error}`);
    assert.equal(r.error.code, 'TLS_ERROR');
    assert.ok(!r.error.message.includes('tok-tls-secret'));
    await delay(400);
    assert.equal(server.tcpConnections, 1);
    assert.equal(server.upgrades, 0);
    assert.equal(client.state, 'closed');
    assert.deepEqual(log.filter((e) => e[0] === 'reconnecting'), []);
    assert.deepEqual(log.filter((e) => e[0] === 'state').map((e) => e[1]), ['connecting', 'closed']);
    assert.equal(log[log.length - 1][0], 'close');
    assert.equal(log[log.length - 1][1].willReconnect, false);
  });
}

test('tls.rejectUnauthorized false accepts an unknown CA', T, async (t) => {
  const server = await startServer(t, { tls: certs.unknownCa() });
  const client = makeClient(t, { url: server.url, token: 'tok-tls', tls: { rejectUnauthorized: false } });
  await client.connect();
  assert.equal(client.state, 'connected');
});
