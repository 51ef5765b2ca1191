// A .ts file in a package without "type": "module" is CommonJS under node16: ES import syntax
// compiled to require(), resolved through the "require" condition.

import { RealtimeClient, type EventMap, type LiveEventType, type DocumentedEventType } from 'voip-realtime';

const client = new RealtimeClient({ token: 't' });
client.on('message.received', (e) => expectType<Equal<typeof e.data.text, string>>(true));

// The event map covers both dialects and nothing else.
expectType<Equal<keyof EventMap, LiveEventType | DocumentedEventType>>(true);
expectType<Equal<Extract<LiveEventType, DocumentedEventType>, never>>(true);

// @ts-expect-error 'call.created' carries no previous_status
client.on('call.created', (e) => e.data.previous_status);
