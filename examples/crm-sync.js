'use strict';

// Keeping a CRM in step with the phone system, pull-style: `client.events()` yields the call
// endings, recordings and transcriptions one at a time (buffered, nothing dropped while the
// CRM call is in flight), and each becomes one CRM record.
//
// Against VoIPBIN:  VOIPBIN_TOKEN=... VOIPBIN_CUSTOMER_ID=... node examples/crm-sync.js
// Without a URL it starts a local emulator. EXAMPLE_SECONDS (default 5) bounds the run.

const { RealtimeClient, Emulator, topic } = require('voip-realtime');

async function main() {
  const seconds = Number(process.env.EXAMPLE_SECONDS ?? 5);
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

  const client = new RealtimeClient({ url, token });
  client.on('error', (err) => console.error(`error ${err.code}: ${err.message}`));
  await client.connect();
  await client.subscribe(['call', 'recording', 'transcription'].map((r) => topic.customer(customerId, r)));
  // Subscribed first, so no event is missed; durationScale 0.1 makes calls last seconds.
  const scenario = emu ? await emu.scenario('callcenter', { seed: 'crm-sync', rate: 100, durationScale: 0.1, customerId }) : null;

  const stop = new AbortController();
  setTimeout(() => stop.abort(), seconds * 1000);
  // What the CRM is told, per call: the activity when the call ends, then its attachments.
  const ended = new Set();
  let records = 0;
  const record = (kind, callId, fields) => {
    records++;
    console.log(`crm ${kind} ${JSON.stringify({ call: callId, ...fields })}`);
  };

  const types = ['call.ended', 'recording.completed', 'transcription.completed'];
  try {
    for await (const { event_type: type, data } of client.events({ types, signal: stop.signal })) {
      if (type === 'call.ended') {
        ended.add(data.id);
        record('activity', data.id, { direction: data.direction, reason: data.hangup_reason, seconds: data.duration });
      } else if (type === 'recording.completed') {
        record('recording', data.call_id, { url: data.reference_url, seconds: data.duration, ended: ended.has(data.call_id) });
      } else {
        record('transcript', data.call_id, { language: data.language, text: data.text, ended: ended.has(data.call_id) });
      }
    }
  } catch (err) {
    if (err.name !== 'AbortError') throw err;
  }
  await client.close();
  if (scenario) scenario.stop();
  if (emu) await emu.stop();
  console.log(`summary: ${records} records for ${ended.size} calls`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
