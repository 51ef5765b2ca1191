'use strict';

// Keeping a CRM in step with the phone system, pull-style: `client.events()` yields the call
// endings, recordings and transcriptions one at a time (buffered, nothing dropped while the
// CRM call is in flight), and each becomes one CRM record.
//
// The same code serves both dialects: production (live) events arrive under the documented names
// carrying the live resources (the call is reference_id, times instead of durations, no download
// URL or text on the event), so the fields that differ are read either way.
//
// Against VoIPBIN:  VOIPBIN_TOKEN=... VOIPBIN_CUSTOMER_ID=... node examples/crm-sync.js
// Without a URL it starts a local emulator speaking the EXAMPLE_DIALECT given (documented by
// default, or live). EXAMPLE_SECONDS (default 5) bounds the run.

const { RealtimeClient, Emulator, topic } = require('voip-realtime');

const DIRECTIONS = { incoming: 'inbound', outgoing: 'outbound' };

// Seconds between two RFC 3339 times, 0 when either is missing.
const secondsBetween = (from, to) => (from && to ? Math.round((Date.parse(to) - Date.parse(from)) / 1000) : 0);

async function main() {
  const seconds = Number(process.env.EXAMPLE_SECONDS ?? 5);
  let url = process.env.VOIPBIN_URL;
  let token = process.env.VOIPBIN_TOKEN;
  let customerId = process.env.VOIPBIN_CUSTOMER_ID;
  let emu = null;
  if (!url) {
    emu = await Emulator.start({ dialect: process.env.EXAMPLE_DIALECT || 'documented' });
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
        const direction = DIRECTIONS[data.direction] ?? data.direction;
        const seconds = data.duration ?? secondsBetween(data.tm_progressing, data.tm_hangup);
        record('activity', data.id, { direction, reason: data.hangup_reason, seconds });
      } else if (type === 'recording.completed') {
        const callId = data.call_id ?? data.reference_id;
        const seconds = data.duration ?? secondsBetween(data.tm_start, data.tm_end);
        record('recording', callId, { url: data.reference_url, seconds, ended: ended.has(callId) });
      } else {
        const callId = data.call_id ?? data.reference_id;
        record('transcript', callId, { language: data.language, text: data.text, ended: ended.has(callId) });
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
