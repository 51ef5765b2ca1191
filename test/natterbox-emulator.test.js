'use strict';
// The Natterbox emulator's CTI socket, driven by the npm `ws` client (not our own client):
// auth rules, both path styles, snapshots, pushes to user and group subscribers, refusals.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startEmulator, connect } = require('./helpers/emulator-ws.js');

async function cti(t, natterbox = {}) {
  const emu = await startEmulator(t, { protocol: 'natterbox', pingInterval: 0, natterbox });
  emu.group(100, [7, 8]);
  emu.presence(7, { presence: '', availability: 'Available', availabilityStateId: 1 });
  emu.presence(8, { presence: 'RINGING' });
  return emu;
}

async function authed(t, emu, token = 'jwt', name = 'CTI 2.0') {
  const peer = await connect(t, emu.url);
  peer.send({ type: 'auth', accessToken: token, client: { name, version: '1' } });
  await peer.waitFrames(1);
  return peer;
}

test('auth first, then tick welcome; snapshots answer subscribes in either path style', async (t) => {
  const emu = await cti(t);
  assert.equal(emu.url, `ws://127.0.0.1:${emu.port}/`);
  const peer = await authed(t, emu);
  assert.deepEqual(peer.json[0], { type: 'tick', message: 'welcome' });
  peer.send({ type: 'subscribe', path: '/org/1/user/7/presence' });
  await peer.waitFrames(2);
  assert.deepEqual(peer.json[1], {
    type: 'response', data: [{ userId: 7, presence: '', availability: 'Available', availabilityStateId: 1 }],
  });
  peer.send({ type: 'subscribe', path: '/organisation/1/user-group/100' });
  await peer.waitFrames(3);
  assert.deepEqual(peer.json[2].data.map((e) => e.userId), [7, 8]);
  // A change of user 7 reaches this connection once, though it holds 7 twice.
  emu.presence(7, { presence: 'RINGING' });
  emu.presence(8, { presence: 'ANSWERED' });
  await peer.waitFrames(5);
  assert.deepEqual(peer.json.slice(3), [
    { type: 'response', data: [{ userId: 7, presence: 'RINGING' }] },
    { type: 'response', data: [{ userId: 8, presence: 'ANSWERED' }] },
  ]);
  assert.deepEqual(emu.user(7), { userId: 7, presence: 'RINGING', availability: 'Available', availabilityStateId: 1 });
  assert.equal(emu.stats().subscriptions, 2);
});

test('a frame before auth, a bad token, an expired JWT and (strict) an unknown client get error then 4001', async (t) => {
  const emu = await cti(t, { tokens: ['good'], strict: true });
  const early = await connect(t, emu.url);
  early.send({ type: 'subscribe', path: '/organisation/1/user/7' });
  assert.deepEqual((await early.waitClose()).code, 4001);
  assert.deepEqual(early.json, [{ type: 'error', message: 'authenticate first: the first frame must be auth' }]);
  for (const [token, name, message] of [
    ['bad', 'CTI 2.0', 'invalid token'],
    ['good', 'Other', 'unknown client'],
  ]) {
    const peer = await authed(t, emu, token, name);
    assert.equal((await peer.waitClose()).code, 4001);
    assert.deepEqual(peer.json, [{ type: 'error', message }]);
  }
  const open = await cti(t);
  const expired = await authed(t, open, open.issueToken({ userId: 7, expiresIn: -10 }));
  assert.equal((await expired.waitClose()).code, 4001);
  assert.deepEqual(expired.json, [{ type: 'error', message: 'token expired' }]);
  const fine = await authed(t, open, open.issueToken({ userId: 7 }));
  assert.deepEqual(fine.json, [{ type: 'tick', message: 'welcome' }]);
});

test('another organisation or a bad path gets error{message,path}; the socket stays open', async (t) => {
  const emu = await cti(t, { perMemberSnapshot: true });
  const peer = await authed(t, emu);
  peer.send({ type: 'subscribe', path: '/organisation/2/user/7' });
  peer.send({ type: 'subscribe', path: '/nowhere' });
  peer.send({ type: 'subscribe', path: '/organisation/1/user-group/100' });
  await peer.waitFrames(5);
  assert.deepEqual(peer.json.slice(1), [
    { type: 'error', message: 'not allowed: another organisation', path: '/organisation/2/user/7' },
    { type: 'error', message: 'no such path', path: '/nowhere' },
    { type: 'response', data: [{ userId: 7, presence: '', availability: 'Available', availabilityStateId: 1 }] },
    { type: 'response', data: [{ userId: 8, presence: 'RINGING' }] },
  ]);
  assert.equal(peer.closeInfo, null);
});

test('natterbox options are validated', async () => {
  const { Emulator } = require('../lib/emulator.js');
  await assert.rejects(Emulator.start({ protocol: 'natterbox', dialect: 'live' }),
    { code: 'INVALID_OPTION', message: 'Expected no dialect with protocol natterbox for dialect but received "live"' });
  await assert.rejects(Emulator.start({ natterbox: {} }),
    { code: 'INVALID_OPTION', message: "Expected protocol: 'natterbox' with the natterbox option" });
  await assert.rejects(Emulator.start({ protocol: 'natterbox', natterbox: { org: 'x' } }),
    { code: 'INVALID_OPTION', message: 'Expected a decimal id (number or string) for natterbox.org but received "x"' });
});

test('a connection that sends no auth within 10 s is closed with 4001', async (t) => {
  const emu = await cti(t);
  const peer = await connect(t, emu.url);
  const started = Date.now();
  assert.equal((await peer.waitClose(15000)).code, 4001);
  assert.ok(Date.now() - started >= 9000, `closed after ${Date.now() - started} ms`);
  assert.deepEqual(peer.json, []);
});

test('blast: presence elements of users 1..ids, padded to size, one copy per subscriber of the user or a group', async (t) => {
  const emu = await cti(t);  // group 100 holds users 7 and 8
  const byGroup = await authed(t, emu);
  byGroup.send({ type: 'subscribe', path: '/organisation/1/user-group/100' });
  await byGroup.waitFrames(2);  // the snapshot
  const byUser = await authed(t, emu);
  byUser.send({ type: 'subscribe', path: '/organisation/1/user/8' });
  byUser.send({ type: 'subscribe', path: '/organisation/1/user-group/100' });
  await byUser.waitFrames(3);
  const report = await emu.scenario('blast', { count: 10, ids: 8, size: 300 });
  assert.equal(report.connections, 2);
  assert.equal(report.events, 20);
  await byGroup.waitFrames(12);
  await byUser.waitFrames(13);
  // Of the pool's users 1..8 the group holds 7 and 8: the blast cycles over those two.
  for (const peer of [byGroup, byUser]) {
    const frames = peer.frames.slice(-10);
    assert.deepEqual(new Set(frames.map((f) => Buffer.byteLength(f.text))), new Set([296]));
    const elements = peer.json.slice(-10).map((f) => {
      assert.equal(f.type, 'response');
      assert.equal(f.data.length, 1);
      return f.data[0];
    });
    assert.deepEqual(elements.map((e) => e.userId), [7, 8, 7, 8, 7, 8, 7, 8, 7, 8]);
    assert.deepEqual(Object.keys(elements[0]), ['userId', 'presence', 'logicalDirection', 'callChannelUUID',
      'availability', 'availabilityStateId', 'availabilityProfileId', 'pad']);
    assert.deepEqual(elements.slice(0, 2).map((e) => [e.presence, e.callChannelUUID]), [
      ['BRIDGED', 'b1a57000-0000-4000-8000-000000000006'],
      ['', 'b1a57000-0000-4000-8000-000000000007'],
    ]);
  }
});
