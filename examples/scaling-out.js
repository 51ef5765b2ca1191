'use strict';

// Scaling out: one process holds the account's socket and bridges every event into a Redis
// stream; processors (here two in the same process; in production many, on any machine) share
// the events through a consumer group, each event handled by one of them.
//
// REDIS_URL=redis://127.0.0.1:6379 node examples/scaling-out.js
// Against VoIPBIN add VOIPBIN_TOKEN=... VOIPBIN_CUSTOMER_ID=...; without VOIPBIN_URL it starts a
// local emulator. EXAMPLE_SECONDS (default 5) bounds the run.

const { RealtimeClient, Emulator, topic } = require('voip-realtime');
const { bridge, consume } = require('voip-realtime/redis');

async function main() {
  const seconds = Number(process.env.EXAMPLE_SECONDS ?? 5);
  const redis = process.env.REDIS_URL;
  if (!redis) {
    console.error('Set REDIS_URL, for example REDIS_URL=redis://127.0.0.1:6379');
    return 2;
  }
  let url = process.env.VOIPBIN_URL;
  let token = process.env.VOIPBIN_TOKEN;
  let customerId = process.env.VOIPBIN_CUSTOMER_ID;
  let emu = null;
  if (!url) {
    emu = await Emulator.start();
    url = emu.url;
    customerId = '12345678-1234-4234-8234-123456789012';
    token = emu.issueToken({ customerId, permissions: ['admin'] });
  }
  const stream = `scaling-out:${process.pid}`;

  // The bridge: the only holder of the socket.
  const client = new RealtimeClient({ url, token });
  client.on('error', (err) => console.error(`error ${err.code}: ${err.message}`));
  await client.connect();
  await client.subscribe(topic.customer(customerId, '*'));
  const b = await bridge({ client, redis, stream });

  // The processors: the group hands each entry to one of them, acknowledged once handled.
  const handled = {};
  const processors = [];
  for (const name of ['processor-1', 'processor-2']) {
    handled[name] = 0;
    processors.push(await consume({
      redis, stream, group: 'example', consumer: name, concurrency: 4,
      handler: async (e) => {
        handled[name]++;
        const detail = e.event_type === 'call.status' ? ` ${e.data.previous_status} -> ${e.data.status}` : '';
        console.log(`${name} ${e.event_type} ${e.topic}${detail}`);
      },
    }));
  }

  const scenario = emu ? await emu.scenario('callcenter', { seed: 'scaling-out', rate: 50, durationScale: 0.1, customerId }) : null;
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  if (scenario) scenario.stop();
  await client.close();
  await b.close();                    // everything read is in Redis now
  const { appended } = b.stats();
  const total = () => handled['processor-1'] + handled['processor-2'];
  while (total() < appended) await new Promise((resolve) => setTimeout(resolve, 20));
  await Promise.all(processors.map((p) => p.close()));
  if (emu) await emu.stop();
  console.log(`summary: ${appended} events in ${stream}, ${handled['processor-1']} handled by processor-1, ` +
    `${handled['processor-2']} by processor-2`);
  return 0;
}

main().then((code) => { process.exitCode = code; }, (err) => {
  console.error(err);
  process.exitCode = 1;
});
