// A natterbox client: the protocol narrows options, patterns, event names and payloads.
// Every `@ts-expect-error` line must fail to compile.

import { RealtimeClient, RealtimeError, Emulator } from 'voip-realtime';
import type {
  NatterboxEvent,
  NatterboxEventType,
  NatterboxMessagesTopic,
  NatterboxPattern,
  NatterboxUserTopic,
  PresenceRingingEvent,
  PresenceUpdatedEvent,
  Subscription,
  UserPresenceData,
  UserStatisticsData,
  UserstatisticsUpdatedEvent,
} from 'voip-realtime';

const client = new RealtimeClient({
  protocol: 'natterbox',
  url: 'ws://127.0.0.1:9000/',
  getToken: async () => 'jwt',
  clientInfo: { name: 'FreedomWeb', version: '3.0.0' },
  pathStyle: 'org',
  snapshotWindow: 1500,
  messagesUrl: 'ws://127.0.0.1:9000/messages',
  messagesMaxAge: 3600000,
  messagesTokenIn: 'header',
  settleTime: 500,
});
expectType<RealtimeClient<'natterbox'>>(client);

client.on('presence_updated', (e) => {
  expectType<PresenceUpdatedEvent>(e);
  expectType<NatterboxUserTopic>(e.topic);
  expectType<number>(e.data.userId);
  expectType<'RINGING' | 'ANSWERED' | 'BRIDGED' | '' | undefined>(e.data.presence);
});
client.on('presence_ringing', (e) => {
  const p: 'RINGING' = e.data.presence;
  expectType<PresenceRingingEvent>(e);
  void p;
});
client.on('availability_changed', (e) => expectType<string | undefined>(e.data.availability));
client.on('event', (e) => expectType<NatterboxEvent>(e));
// @ts-expect-error VoIPBIN event names do not exist on a natterbox client
client.on('call.status', () => {});
// @ts-expect-error no such field
client.on('presence_idle', (e) => e.data.status);
// @ts-expect-error natterbox clients have no 'dialect' event
client.on('dialect', () => {});

const sub: Subscription<'natterbox'> = await client.subscribe(['org:1:group:100:presence', 'org:1:user:1001:presence']);
sub.on('presence_bridged', (e) => expectType<UserPresenceData & { presence: 'BRIDGED' }>(e.data));
// @ts-expect-error a VoIPBIN pattern is not a natterbox pattern
await client.subscribe('customer_id:5013bc52-da9a-11ee-844f-2fa34248de28:call:*');
// @ts-expect-error wildcards do not exist on Natterbox
await client.subscribe('org:1:user:*:presence');

for await (const e of client.events({ types: ['presence_ringing', 'presence_answered'], topics: 'org:1:group:100:presence' })) {
  expectType<'presence_ringing' | 'presence_answered'>(e.event_type);
}
// @ts-expect-error not a natterbox event type
client.events({ types: ['call.created'] });

// Unread counts: one messages socket per user pattern.
const messages = await client.subscribe('org:1:user:1001:messages');
messages.on('userstatistics_updated', (e) => {
  expectType<UserstatisticsUpdatedEvent>(e);
  expectType<NatterboxMessagesTopic>(e.topic);
  expectType<UserStatisticsData>(e.data);
  expectType<number | undefined>(e.data.userStatistics.unreadMessages);
});
client.on('userstatistics_deleted', (e) => expectType<NatterboxMessagesTopic>(e.topic));
// @ts-expect-error unread counts are per user, not per group
await client.subscribe('org:1:group:100:messages');
// @ts-expect-error a messages event carries no presence
client.on('userstatistics_created', (e) => e.data.presence);

try {
  await client.subscribe('org:2:user:5:presence');
} catch (err) {
  if (err instanceof RealtimeError && err.code === 'PERMISSION_DENIED' && err.frame) {
    expectType<'error'>(err.frame.type);
    expectType<string | undefined>(err.frame.path);
  }
}

const t: NatterboxEventType = 'availability_changed';
const pattern: NatterboxPattern = 'org:12:group:3:presence';
void t;
void pattern;

// @ts-expect-error dialects are VoIPBIN's
new RealtimeClient({ protocol: 'natterbox', token: 'x', dialect: 'live' });
// @ts-expect-error access keys are VoIPBIN's
new RealtimeClient({ protocol: 'natterbox', accessKey: 'x' });

// A VoIPBIN client keeps its own types.
const voipbin = new RealtimeClient({ token: 'x' });
expectType<RealtimeClient>(voipbin);
voipbin.on('call.status', (e) => expectType<string>(e.data.status));
// @ts-expect-error natterbox events do not exist on a VoIPBIN client
voipbin.on('presence_updated', () => {});

const emu = await Emulator.start({ protocol: 'natterbox', natterbox: { org: 1, tokens: ['good'] } });
emu.group(100, [1001, 1002]);
const state = emu.presence(1001, { presence: 'RINGING', availabilityStateId: 3 });
expectType<number>(state.userId);
// @ts-expect-error not a presence value
emu.presence(1001, { presence: 'BUSY' });
const token: string = emu.issueToken({ userId: 1001 });
const op: 'INSERT' | 'MODIFY' | 'REMOVE' | null = emu.unread(1001, 3);
const murl: string | null = emu.messagesUrl;
emu.on('connection', (info) => expectType<'query' | 'header' | null>(info.tokenIn));
// @ts-expect-error a count is a number or null
emu.unread(1001, '3');
void op;
void murl;
void token;
