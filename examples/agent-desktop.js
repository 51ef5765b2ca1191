'use strict';

// The docs' "agent desktop": one agent's view. Calls offered to this agent arrive on the agent's
// own topic, the queue panel follows the customer's queue, customer messages feed a chat panel.
// The same code serves both dialects: production (live) events arrive under the documented names
// carrying the live resources (a queue call names its call in reference_id and its agent in
// service_agent_id, waits in ms), so the fields that differ are read either way. The live server
// never routes queue events to agent topics, hence the customer's queue topic.
//
// Against VoIPBIN:
//   VOIPBIN_TOKEN=... VOIPBIN_CUSTOMER_ID=... VOIPBIN_AGENT_ID=... node examples/agent-desktop.js
// Without a URL it starts a local emulator whose contact centre includes this agent, speaking
// the EXAMPLE_DIALECT given (documented by default, or live). EXAMPLE_SECONDS (default 5) bounds
// the run.

const { RealtimeClient, Emulator, topic } = require('voip-realtime');

async function main() {
  const seconds = Number(process.env.EXAMPLE_SECONDS ?? 5);
  let url = process.env.VOIPBIN_URL;
  let token = process.env.VOIPBIN_TOKEN;
  let customerId = process.env.VOIPBIN_CUSTOMER_ID;
  let agentId = process.env.VOIPBIN_AGENT_ID;
  let emu = null;
  if (!url) {
    emu = await Emulator.start({ dialect: process.env.EXAMPLE_DIALECT || 'documented' });
    url = emu.url;
    customerId = '12345678-1234-4234-8234-123456789012';
    agentId = '98765432-4321-4321-4321-210987654321';
    // The agent's own topics need the agent's token; the chat panel needs the customer's messages.
    token = emu.issueToken({ customerId, agentId, permissions: ['agent', 'manager'] });
  }

  const client = new RealtimeClient({ url, token });
  client.on('queue.joined', ({ data }) => {
    const where = data.position === undefined ? '' : `, position ${data.position}, about ${data.estimated_wait}s`;
    console.log(`[New Call Alert] caller waiting in queue${where}`);
  });
  client.on('call.assigned', ({ data }) => {
    console.log(`[Customer: ${data.source.target}] offered to you after ${data.wait_time}s in queue`);
  });
  client.on('queue.connected', ({ data }) => {
    if ((data.agent_id ?? data.service_agent_id) !== agentId) return;
    const waited = data.wait_time ?? Math.round(data.duration_waiting / 1000);
    console.log(`[Connected] call ${(data.call_id ?? data.reference_id).slice(0, 8)} after ${waited}s`);
  });
  client.on('call.ended', ({ data }) => {
    const answered = data.tm_progressing ? Math.round((Date.parse(data.tm_hangup) - Date.parse(data.tm_progressing)) / 1000) : 0;
    console.log(`[Call ended] ${data.hangup_reason}, ${data.duration ?? answered}s`);
  });
  client.on('message.received', ({ data }) => {
    console.log(`[Chat] ${data.source.target}: ${data.text}`);
  });
  client.on('error', (err) => console.error(`error ${err.code}: ${err.message}`));

  await client.connect();
  await client.subscribe([
    topic.customer(customerId, 'queue'),
    topic.agent(agentId, 'call'),
    topic.customer(customerId, 'message'),
  ]);
  // Events flow only once the desk is subscribed; this agent is the centre's first agent.
  // durationScale 0.1 fast-forwards the day: calls last seconds instead of minutes.
  const scenario = emu
    ? await emu.scenario('callcenter', { seed: 'agent-desktop', rate: 100, durationScale: 0.1, customerId, agentIds: [agentId] })
    : null;

  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  await client.close();
  if (scenario) scenario.stop();
  if (emu) await emu.stop();
  console.log(`summary: ${client.stats().delivered} events delivered to agent ${agentId}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
