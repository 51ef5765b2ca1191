// ESM consumer: resolves 'voip-realtime' through package.json "exports" (import condition).
// Every `@ts-expect-error` line must fail to compile; tsc reports an unused one as an error.

import { RealtimeClient, RealtimeError, Subscription, topic, Emulator } from 'voip-realtime';
import voipRealtime, { ERROR_CODES } from 'voip-realtime';
import type {
  CallEndedEvent,
  CallStatusEvent,
  ClientState,
  ClientStats,
  CloseInfo,
  EventData,
  EventType,
  LiveCallHangupEvent,
  LiveEvent,
  DocumentedEvent,
  RealtimeErrorCode,
  RealtimeEvent,
  ReconnectingInfo,
  ScenarioHandle,
  TopicParts,
} from 'voip-realtime';

const customerId = '5013bc52-da9a-11ee-844f-2fa34248de28';

const client = new RealtimeClient({
  url: 'ws://127.0.0.1:8080/v1.0/ws',
  token: 'jwt',
  dialect: 'auto',
  reconnect: { maxDelay: 5000 },
  heartbeat: false,
  tls: { ca: [new Uint8Array(4), '-----BEGIN CERTIFICATE-----'], rejectUnauthorized: true },
  logger: console,
  getToken: async () => 'fresh',
});
new RealtimeClient();
new RealtimeClient({ accessKey: 'key', reconnect: false, heartbeat: { interval: 1000 } });

// @ts-expect-error connectTimeout is a number of ms
new RealtimeClient({ connectTimeout: '10s' });
// @ts-expect-error no such dialect
new RealtimeClient({ dialect: 'legacy' });
// @ts-expect-error reconnect takes options or false
new RealtimeClient({ reconnect: true });
// @ts-expect-error misspelt option
new RealtimeClient({ tokn: 'x' });
// @ts-expect-error getToken returns a string
new RealtimeClient({ getToken: async () => 42 });

expectType<Equal<typeof client.state, ClientState>>(true);
expectType<Equal<typeof client.topics, string[]>>(true);

// Per-type listeners are narrowed to their event.
client.on('call.status', (e) => {
  expectType<Equal<typeof e, CallStatusEvent>>(true);
  expectType<Equal<typeof e.event_type, 'call.status'>>(true);
  expectType<Equal<typeof e.data.previous_status, 'dialing' | 'ringing' | 'answered' | 'hangup'>>(true);
});
client.once('queue.joined', (e) => {
  expectType<Equal<typeof e.data.position, number>>(true);
});
client.prependListener('call_hangup', (e) => {
  expectType<Equal<typeof e, LiveCallHangupEvent>>(true);
  expectType<Equal<typeof e.data.status, 'hangup'>>(true);
  expectType<Equal<typeof e.data.tm_hangup, string | null>>(true);
});
client.addListener('transcribe_speech_interim', (e) => {
  expectType<Equal<typeof e.data.message, string | undefined>>(true);
});

// The generic listener gets the union, narrowed by event_type.
client.on('event', (e) => {
  expectType<Equal<typeof e, RealtimeEvent>>(true);
  if (e.event_type === 'call.ended') {
    expectType<Equal<typeof e, CallEndedEvent>>(true);
  }
  if (e.event_type === 'queuecall_serviced') {
    expectType<Equal<typeof e.data.status, 'service'>>(true);
  }
  switch (e.event_type) {
    case 'agent.status':
      expectType<Equal<typeof e.data.agent_id, string>>(true);
      break;
    case 'message_created':
      expectType<Equal<typeof e.data.direction, 'outbound' | 'inbound'>>(true);
      break;
    default:
      break;
  }
});

client.on('state', (state, previous) => {
  expectType<Equal<typeof state, ClientState>>(true);
  expectType<Equal<typeof previous, ClientState>>(true);
});
client.on('open', () => {});
client.on('close', (info) => {
  expectType<Equal<typeof info, CloseInfo>>(true);
  expectType<Equal<typeof info.willReconnect, boolean>>(true);
  expectType<Equal<typeof info.wasOpen, boolean>>(true);
  expectType<Equal<typeof info.error, RealtimeError | null>>(true);
});
client.on('reconnecting', ({ attempt, delay, error }) => {
  expectType<Equal<typeof attempt | typeof delay, number>>(true);
  expectType<Equal<typeof error, RealtimeError | null>>(true);
});
client.on('error', (err) => {
  expectType<Equal<typeof err.code, RealtimeErrorCode>>(true);
});

// @ts-expect-error unknown event name
client.on('call.statuss', () => {});
// @ts-expect-error call.status has no hangup_reason
client.on('call.status', (e) => e.data.hangup_reason);
// @ts-expect-error a state listener receives ClientState strings
client.on('state', (state: number) => state);
// @ts-expect-error 'open' has no arguments to type as an event
client.on('open', (e: RealtimeEvent) => e);

const onStatus = (e: CallStatusEvent): void => void e;
client.off('call.status', onStatus);
client.removeListener('call.status', onStatus);
client.removeAllListeners('call.status');
client.removeAllListeners();
expectType<number>(client.listenerCount('event'));
expectType<Array<(e: CallStatusEvent) => void>>(client.listeners('call.status'));
expectType<RealtimeClient>(client.setMaxListeners(20).unref().ref());

// A RealtimeClient fits where a plain Node.js-style EventEmitter is expected.
interface NodeStyleEmitter {
  on(eventName: string | symbol, listener: (...args: any[]) => void): this;
  once(eventName: string | symbol, listener: (...args: any[]) => void): this;
  off(eventName: string | symbol, listener: (...args: any[]) => void): this;
  emit(eventName: string | symbol, ...args: any[]): boolean;
  removeAllListeners(eventName?: string | symbol): this;
  listenerCount(eventName: string | symbol): number;
}
const asEmitter: NodeStyleEmitter = client;
void asEmitter;

async function flows(): Promise<void> {
  await client.connect();
  const sub = await client.subscribe([topic.customer(customerId, 'call'), `customer_id:${customerId}:queue:*`]);
  expectType<Subscription>(sub);
  expectType<Equal<typeof sub.topics, string[]>>(true);
  sub.on('call.ended', (e) => {
    expectType<Equal<typeof e.data.tm_hangup, string>>(true);
  });
  sub.on('event', (e) => expectType<Equal<typeof e, RealtimeEvent>>(true));
  // @ts-expect-error a Subscription emits no 'state'
  sub.on('state', () => {});
  // @ts-expect-error unknown event name on a Subscription
  sub.on('call.finished', () => {});
  for await (const e of sub) expectType<Equal<typeof e, RealtimeEvent>>(true);
  for await (const e of sub[Symbol.asyncIterator]({ highWaterMark: 10 })) expectType<RealtimeEvent>(e);
  await sub.unsubscribe();

  for await (const e of client.events({ types: ['call.status', 'call.ended'], topics: topic.customer(customerId, 'call') })) {
    expectType<Equal<typeof e, CallStatusEvent | CallEndedEvent>>(true);
  }
  for await (const e of client.events({ types: 'call_hangup', highWaterMark: 100 })) {
    expectType<Equal<typeof e.data.hangup_by, string>>(true);
  }
  for await (const e of client.events({ signal: new AbortController().signal })) {
    expectType<Equal<typeof e, RealtimeEvent>>(true);
  }
  // @ts-expect-error unknown event type in a filter
  client.events({ types: ['call.statuss'] });
  // @ts-expect-error highWaterMark is a number
  client.events({ highWaterMark: 'lots' });

  await client.unsubscribe('customer_id:' + customerId + ':call:*');
  const stats: ClientStats = client.stats();
  expectType<Equal<typeof stats.lastEventAt, number | null>>(true);
  expectType<number>(stats.received + stats.filtered + stats.delivered + stats.dropped + stats.queueDepth);
  expectType<number>(stats.duplicates + stats.malformed + stats.patterns + stats.pendingAcks);
  await client.close();
}
void flows;

// Errors
const err = new RealtimeError('PERMISSION_DENIED', 'denied', { topics: ['x'], action: 'subscribe' });
expectType<Error>(err);
if (err.code === 'ACK_TIMEOUT' || err.code === 'RATE_LIMITED') expectType<number | undefined>(err.retryAfter);
// @ts-expect-error not one of the RealtimeError codes
if (err.code === 'ACK_TIMEDOUT') void err;
// @ts-expect-error not one of the RealtimeError codes
new RealtimeError('NOPE', 'x');
// @ts-expect-error Subscriptions come from subscribe()
new Subscription();

// The default export is the CommonJS module object.
expectType<typeof RealtimeClient>(voipRealtime.RealtimeClient);
expectType<readonly RealtimeErrorCode[]>(ERROR_CODES);
// @ts-expect-error ERROR_CODES is read-only
ERROR_CODES.push('CLOSED');

// Topics
const parts: TopicParts = topic.parse(`customer_id:${customerId}:call:*`);
expectType<Equal<typeof parts.scope, 'customer_id' | 'agent_id'>>(true);
expectType<string>(topic.format(parts));
expectType<string>(topic.format({ scope: 'agent_id', scopeId: customerId, resource: 'call' }));
expectType<string>(topic.normalize(`customer_id:${customerId.toUpperCase()}:call:*`));
expectType<string>(topic.agent(customerId, 'call', '*'));
expectType<boolean>(topic.matches('customer_id:x:call:*', 'customer_id:x:call:y'));
// @ts-expect-error scope is a known literal
topic.format({ scope: 'user_id', scopeId: customerId, resource: 'call', resourceId: '*' });

// Event type helpers
expectType<Equal<EventData<'conference.left'>['reason'], string>>(true);
expectType<Equal<Extract<DocumentedEvent, LiveEvent>, never>>(true);
expectType<Equal<RealtimeEvent['event_type'], EventType>>(true);

// Emulator
async function emulator(): Promise<void> {
  const emu = await Emulator.start({ dialect: 'live', port: 0, secret: 'shh', pingInterval: 0 });
  expectType<string>(emu.url);
  expectType<string>(emu.issueToken({ customerId, permissions: ['admin'], expiresIn: 3600 }));
  emu.publish({
    event_type: 'call.status',
    data: { id: 'c1', status: 'answered', previous_status: 'ringing', tm_update: '2024-01-15T10:30:05.000000Z' },
  });
  emu.publish({ event_type: 'vendor.custom', data: { anything: true } });
  emu.disconnectAll();
  const es = emu.stats();
  expectType<number>(es.connections + es.eventsSent + es.eventsDropped);
  expectType<boolean>(es.blast.running);
  expectType<Equal<typeof emu.customerId, string>>(true);
  expectType<number>(emu.port);
  expectType<Equal<typeof emu.dialect, 'documented' | 'live'>>(true);
  expectType<boolean>(emu.running && emu.secure);
  expectType<string>(emu.issueAccessKey());
  emu.on('subscribe', ({ connection, topics }) => expectType<number>(connection + topics.length));
  emu.fault('refuseUpgrades', { status: 503, retryAfter: 2 });
  emu.fault('noPong', false);
  // A named scenario's handle comes back synchronously; only 'blast' is a Promise.
  const run = emu.scenario('callcenter', { rate: 50, seed: 1, durationScale: 0.1, agentIds: [customerId] });
  expectType<Equal<typeof run, ScenarioHandle>>(true);
  run.stop();
  await run.done;
  expectType<Error | null>(run.error);
  // @ts-expect-error the handle is not a Promise
  void run.then;
  // @ts-expect-error no such fault
  emu.fault('explode');
  const report = await emu.scenario('blast', { count: 1000, rate: 20000, unfiltered: false });
  expectType<number>(report.events + report.cpuPercent);
  await emu.stop();
  // @ts-expect-error the emulator speaks documented or live, not auto
  await Emulator.start({ dialect: 'auto' });
  // @ts-expect-error no such permission
  emu.issueToken({ permissions: ['root'] });
  // @ts-expect-error the Emulator is created by Emulator.start()
  new Emulator();
}
void emulator;

// connect() takes an AbortSignal and a timeout; the codes of the loader and the emulator are codes.
async function boundedConnect(): Promise<void> {
  await client.connect({ signal: AbortSignal.timeout(5000), timeout: 2000 });
  await client.connect({});
  // @ts-expect-error the timeout is a number of milliseconds
  await client.connect({ timeout: '2s' });
  // @ts-expect-error connect() takes signal and timeout only
  await client.connect({ retries: 3 });
  const listen: RealtimeErrorCode = 'LISTEN_FAILED';
  const load: RealtimeErrorCode = 'NATIVE_LOAD_FAILED';
  void [listen, load];
}
void boundedConnect;
