// voip-realtime/redis from ESM: resolved through package.json "exports" ("./redis", import).
// Every `@ts-expect-error` line must fail to compile.

import { RealtimeClient } from 'voip-realtime';
import type { CallStatusEvent } from 'voip-realtime';
import redisDefault, { bridge, consume, identity, DEFAULT_STREAM } from 'voip-realtime/redis';
import type { BridgeStats, Consumer, Sink, BridgeEntry } from 'voip-realtime/redis';

const client = new RealtimeClient({ token: 'jwt' });

const b = await bridge({ client, redis: 'redis://127.0.0.1:6379', stream: 'events', maxlen: 1000, streamBy: 'resource' });
const s: BridgeStats = b.stats();
expectType<number>(s.appended + s.duplicates + s.lag + s.retries);
expectType<boolean>(s.paused);
await b.drained();
await b.close();
expectType<Equal<typeof DEFAULT_STREAM, 'voip-realtime:events'>>(true);
expectType<string>(identity({ event_type: 'call.status', topic: 't', timestamp: '', data: '{}' }));
expectType<typeof bridge>(redisDefault.bridge);

const c: Consumer = await consume({
  redis: 'redis://127.0.0.1:6379',
  group: 'billing',
  concurrency: 8,
  idleTimeout: 5000,
  handler: async (e, entry) => {
    expectType<string>(entry.id);
    // The live dialect's own name, restored from the entry when the bridge stored one.
    expectType<string | undefined>(e.server_event_type);
    // @ts-expect-error it is a name, not a number
    expectType<number | undefined>(e.server_event_type);
    if (e.event_type === 'call.status' && e.server_event_type === undefined) {
      expectType<Equal<typeof e, CallStatusEvent>>(true);
      expectType<string>(e.data.previous_status);
    }
    if (e.event_type === 'message.received') expectType<string>(e.data.text);
    // @ts-expect-error call.status has no text
    if (e.event_type === 'call.status') e.data.text;
  },
});
expectType<number>(c.stats().reclaimed);
await c.close();

// A handler restricted to some event types sees only those.
await consume<'agent.status'>({
  redis: 'redis://127.0.0.1:6379',
  group: 'g',
  handler: (e) => expectType<Equal<typeof e.event_type, 'agent.status'>>(true),
});

// A sink for another engine has the same contract the Redis one has.
const sink: Sink = {
  async append(entries: BridgeEntry[]) {
    return { appended: entries.length, duplicates: 0 };
  },
};
void sink;
const liveEntry: BridgeEntry = { event_type: 'call.status', server_event_type: 'call_ringing', topic: 't', timestamp: '',
  data: '{}', id: 'x', at: 0 };
void liveEntry;
// @ts-expect-error server_event_type is the server's name (a string)
const badEntry: BridgeEntry = { event_type: 'call.status', server_event_type: 1, topic: 't', timestamp: '', data: '{}', id: 'x', at: 0 };
void badEntry;

// @ts-expect-error streamBy is 'none' or 'resource'
await bridge({ client, redis: 'redis://127.0.0.1:6379', streamBy: 'topic' });
// @ts-expect-error a group is required
await consume({ redis: 'redis://127.0.0.1:6379', handler: () => {} });
// @ts-expect-error redis is a URL or a client
await bridge({ client, redis: 6379 });
