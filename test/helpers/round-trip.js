'use strict';

// One emulator round trip through the public entry point: start, connect, subscribe, publish,
// receive the event intact, close, stop; then the process must end by itself. Prints one line,
// naming the addon file that was loaded.

const assert = require('node:assert/strict');
const path = require('node:path');
const { Emulator, RealtimeClient, topic } = require('voip-realtime');
const { loadedPath } = require('../../lib/native');

async function main() {
  const emu = await Emulator.start();
  const client = new RealtimeClient({ url: emu.url, token: emu.issueToken({ permissions: ['admin'] }) });
  await client.connect();
  await client.subscribe(topic.customer(emu.customerId, 'call'));
  const events = client.events({ types: ['call.status'] });
  const data = { id: '6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b7c9a10', customer_id: emu.customerId, status: 'ringing' };
  emu.publish({ event_type: 'call.status', timestamp: '2026-01-15T10:00:00.000000Z', data });
  const { value } = await events[Symbol.asyncIterator]().next();
  assert.deepEqual({ ...value }, {
    event_type: 'call.status', timestamp: '2026-01-15T10:00:00.000000Z', topic: `customer_id:${emu.customerId}:call:${data.id}`, data,
  });
  await client.close();
  await emu.stop();
  console.log(`round trip on Node ${process.version} with ${path.relative(path.resolve(__dirname, '..', '..'), loadedPath())}: ok`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
