// voip-realtime/redis from CommonJS: resolved through package.json "exports" ("./redis", require).

import vr = require('voip-realtime');
import redis = require('voip-realtime/redis');

async function main(): Promise<void> {
  const client = new vr.RealtimeClient({ token: 'jwt' });
  const b = await redis.bridge({ client, redis: 'redis://127.0.0.1:6379' });
  expectType<number>(b.stats().pending);
  await redis.consume({
    redis: 'redis://127.0.0.1:6379',
    group: 'g',
    stream: ['a', 'b'],
    handler: (e) => {
      if (e.event_type === 'agent.status') expectType<vr.AgentStatusEvent>(e);
    },
  });
}
void main;
