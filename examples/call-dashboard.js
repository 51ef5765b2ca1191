'use strict';

// The docs' "real-time call dashboard": subscribe to every call of a customer and keep the list
// of active calls up to date (call.created adds, call.status updates, call.ended removes). The
// same code serves both dialects: production (live) events arrive under the documented names,
// carrying the live call resource (statuses such as progressing, directions incoming/outgoing,
// no previous_status or duration), so the fields that differ are read either way.
//
// Against VoIPBIN:  VOIPBIN_TOKEN=... VOIPBIN_CUSTOMER_ID=... node examples/call-dashboard.js
// Without a URL it starts a local emulator running the callcenter scenario, speaking the
// EXAMPLE_DIALECT given (documented by default, or live). EXAMPLE_SECONDS (default 5) bounds the run.

const { RealtimeClient, Emulator, topic } = require('voip-realtime');

const LABELS = { ringing: 'Incoming Call', dialing: 'Outgoing Call', answered: 'Active Call', progressing: 'Active Call' };
const OUTGOING = new Set(['outbound', 'outgoing']);

// Seconds between two RFC 3339 times, 0 when either is missing (a call never answered).
const secondsBetween = (from, to) => (from && to ? Math.round((Date.parse(to) - Date.parse(from)) / 1000) : 0);

async function main() {
  const seconds = Number(process.env.EXAMPLE_SECONDS ?? 5);
  let url = process.env.VOIPBIN_URL;
  let token = process.env.VOIPBIN_TOKEN;
  let customerId = process.env.VOIPBIN_CUSTOMER_ID;
  let emu = null;
  if (!url) {
    emu = await Emulator.start({ dialect: process.env.EXAMPLE_DIALECT || 'documented' });
    customerId = '12345678-1234-4234-8234-123456789012';
    token = emu.issueToken({ customerId, permissions: ['admin'] });
    url = emu.url;
  }

  const client = new RealtimeClient({ url, token });
  const active = new Map();
  let events = 0;
  let ended = 0;

  client.on('call.created', ({ data }) => {
    events++;
    active.set(data.id, { number: OUTGOING.has(data.direction) ? data.destination.target : data.source.target, status: data.status });
    console.log(`${(LABELS[data.status] ?? data.status).padEnd(14)}| ${data.source.target.padEnd(13)} | ${data.status}`);
  });
  client.on('call.status', ({ data }) => {
    events++;
    const call = active.get(data.id);
    if (!call) return;
    const was = data.previous_status ?? call.status;
    call.status = data.status;
    console.log(`${(LABELS[data.status] ?? 'Call').padEnd(14)}| ${call.number.padEnd(13)} | ${data.status} (was ${was})`);
  });
  client.on('call.ended', ({ data }) => {
    events++;
    const call = active.get(data.id);
    if (!call) return;
    active.delete(data.id);
    ended++;
    const duration = data.duration ?? secondsBetween(data.tm_progressing, data.tm_hangup);
    console.log(`${'Ended'.padEnd(14)}| ${call.number.padEnd(13)} | ${data.hangup_reason} after ${duration}s`);
  });
  client.on('error', (err) => console.error(`error ${err.code}: ${err.message}`));

  await client.connect();
  await client.subscribe(topic.customer(customerId, 'call'));
  // The scenario starts after the subscription is acknowledged, so no event is missed.
  // durationScale 0.1 fast-forwards the day: calls last seconds instead of minutes.
  const scenario = emu ? await emu.scenario('callcenter', { seed: 'call-dashboard', rate: 100, durationScale: 0.1, customerId }) : null;

  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  await client.close();
  if (scenario) scenario.stop();
  if (emu) await emu.stop();
  console.log(`summary: ${events} call events, ${ended} calls ended, ${active.size} still active`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
