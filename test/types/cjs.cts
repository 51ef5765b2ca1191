// CommonJS consumer, `import x = require()` form: resolves 'voip-realtime' through package.json
// "exports" (require condition).

import vr = require('voip-realtime');

const client = new vr.RealtimeClient({ accessKey: 'key', dialect: 'live', maxQueue: 500 });

client.on('agent.status', (e) => {
  expectType<Equal<typeof e, vr.AgentStatusEvent | vr.LiveAgentStatusUpdatedEvent>>(true);
  expectType<Equal<typeof e.data.status, 'available' | 'away' | 'busy' | 'offline' | 'ringing'>>(true);
});
client.on('agent_status_updated', (e) => {
  expectType<Equal<typeof e.event_type, 'agent.status'>>(true);
  expectType<Equal<typeof e.data, vr.LiveAgent & { previous_status?: undefined }>>(true);
  expectType<Equal<typeof e.data.permission, number>>(true);
});
client.on('event', (e: vr.RealtimeEvent) => {
  if (e.event_type === 'recording.completed' && e.server_event_type === undefined) {
    expectType<Equal<typeof e.data.size, number>>(true);
  }
});
// @ts-expect-error agent.status has no text
client.on('agent.status', (e) => e.data.text);

const err = new vr.RealtimeError('CLOSED', 'closed');
expectType<Equal<typeof err.code, vr.RealtimeErrorCode>>(true);
// @ts-expect-error not one of the RealtimeError codes
const bad: vr.RealtimeErrorCode = 'TIMEOUT';
void bad;

expectType<string>(vr.topic.customer('5013bc52-da9a-11ee-844f-2fa34248de28', 'message'));
expectType<Promise<vr.Emulator>>(vr.Emulator.start());

// @ts-expect-error maxQueue is a number
new vr.RealtimeClient({ maxQueue: '500' });
