// Self-contained on purpose: no @types/node needed. Buffers are accepted as Uint8Array (which
// Buffer extends) and AbortSignal structurally, so the declarations work with and without Node's
// typings and in either module system.

import type { EventMap, EventType, RealtimeEvent } from './events';
import type { NatterboxEventMap, NatterboxEventType, NatterboxEvent, NatterboxPattern, UserPresenceData } from './natterbox';

export * from './events';
export * from './natterbox';

// ---------------------------------------------------------------------------------------------
// Typed EventEmitter surface

/** Listener argument lists by event name. */
export type EventArgs = { [name: string]: unknown[] };

/** A listener's argument list (E[K] of an event map; resolved per protocol). */
export type ListenerArgs<T> = T extends unknown[] ? T : never;

/**
 * The EventEmitter methods, typed for the events an emitter actually emits. The instance is a
 * real Node.js EventEmitter, so it can be passed wherever one is expected.
 */
export interface TypedEventEmitter<E> {
  on<K extends keyof E>(eventName: K, listener: (...args: ListenerArgs<E[K]>) => void): this;
  once<K extends keyof E>(eventName: K, listener: (...args: ListenerArgs<E[K]>) => void): this;
  off<K extends keyof E>(eventName: K, listener: (...args: ListenerArgs<E[K]>) => void): this;
  addListener<K extends keyof E>(eventName: K, listener: (...args: ListenerArgs<E[K]>) => void): this;
  removeListener<K extends keyof E>(eventName: K, listener: (...args: ListenerArgs<E[K]>) => void): this;
  prependListener<K extends keyof E>(eventName: K, listener: (...args: ListenerArgs<E[K]>) => void): this;
  prependOnceListener<K extends keyof E>(eventName: K, listener: (...args: ListenerArgs<E[K]>) => void): this;
  removeAllListeners(eventName?: keyof E): this;
  emit<K extends keyof E>(eventName: K, ...args: ListenerArgs<E[K]>): boolean;
  listeners<K extends keyof E>(eventName: K): Array<(...args: ListenerArgs<E[K]>) => void>;
  rawListeners<K extends keyof E>(eventName: K): Array<(...args: ListenerArgs<E[K]>) => void>;
  listenerCount<K extends keyof E>(eventName: K, listener?: (...args: ListenerArgs<E[K]>) => void): number;
  eventNames(): Array<string | symbol>;
  setMaxListeners(n: number): this;
  getMaxListeners(): number;
}

/** One listener signature per event type: `'call.status'` gets a CallStatusEvent, and so on. */
export type EventTypeListeners = { [K in EventType]: [event: EventMap[K]] };

// ---------------------------------------------------------------------------------------------
// Options

export type ClientState = 'disconnected' | 'connecting' | 'connected' | 'subscribed' | 'reconnecting' | 'closed';
export type Dialect = 'documented' | 'live' | 'auto';
/** The dialect a client speaks once known (see RealtimeClient#dialect). */
export type WireDialect = 'documented' | 'live';
export type Protocol = 'voipbin' | 'natterbox';
/** PEM text or its bytes (a Buffer is a Uint8Array). */
export type PemInput = string | Uint8Array;

export interface ReconnectOptions {
  /** ms before the first attempt after a drop; default 1000 */
  initialDelay?: number;
  /** ms cap of the backoff; default 30000 */
  maxDelay?: number;
  /** growth per attempt; default 2 */
  factor?: number;
  /** 0..1, share of the delay taken off at random; default 0.5 */
  jitter?: number;
  /** attempts per lost connection; default Infinity */
  maxAttempts?: number;
  /** ms a connection must stay open before the attempt count starts over; default 10000 */
  resetAfter?: number;
}

export interface HeartbeatOptions {
  /** ms between pings; default 15000 */
  interval?: number;
  /** ms to wait for a pong or a message; default 10000 */
  timeout?: number;
}

export interface TlsOptions {
  /** default true */
  rejectUnauthorized?: boolean;
  ca?: PemInput | PemInput[];
  cert?: PemInput;
  key?: PemInput;
  servername?: string;
}

/** Any subset of a console-like logger; credentials never reach it. */
export interface Logger {
  debug?(message: string, ...args: unknown[]): void;
  info?(message: string, ...args: unknown[]): void;
  warn?(message: string, ...args: unknown[]): void;
  error?(message: string, ...args: unknown[]): void;
}

export interface RealtimeClientOptions {
  /** ws:// or wss:// endpoint; default 'wss://api.voipbin.net/v1.0/ws' */
  url?: string;
  /** JWT sent as ?token= */
  token?: string;
  /** access key sent as ?accesskey= */
  accessKey?: string;
  /** called before every connect attempt, one call at a time; wins over token */
  getToken?: () => string | Promise<string>;
  /** default 'voipbin' */
  protocol?: Protocol;
  /** wire dialect; default 'auto': documented until the server shows it speaks the live dialect */
  dialect?: Dialect;
  /** backoff settings, or false for no reconnecting */
  reconnect?: ReconnectOptions | false;
  /** ping settings, or false */
  heartbeat?: HeartbeatOptions | false;
  /** ms for TCP + TLS + upgrade; default 10000 */
  connectTimeout?: number;
  /** ms subscribe() waits for an ack; default 10000 */
  ackTimeout?: number;
  tls?: TlsOptions;
  /** bytes per message after reassembly; default 16 MiB, at most 64 MiB */
  maxPayload?: number;
  /** records (events, acks, errors, fault reports) buffered between the native thread and JS; default 10000 */
  maxQueue?: number;
  /** allow a credential over ws:// to a host other than loopback; default false */
  allowInsecure?: boolean;
  logger?: Logger;
  /** User-Agent header of the upgrade request */
  userAgent?: string;
  /** live dialect: ms a subscribe must survive without a close to count as accepted; default 1000 */
  settleTime?: number;
  /** fixes the reconnect jitter's random sequence (tests); 0 = random */
  seed?: number;
}

/** A Natterbox CTI `error` frame: `message`, `code` and `path` when the server sends them. */
export interface NatterboxErrorFrame {
  type: 'error';
  message?: string;
  code?: string | number;
  path?: string;
  [key: string]: unknown;
}

/** Options of a client speaking Natterbox's CTI presence socket (docs/protocol-natterbox.md). */
export interface NatterboxClientOptions
  extends Omit<RealtimeClientOptions, 'protocol' | 'dialect' | 'accessKey' | 'settleTime' | 'url'> {
  protocol: 'natterbox';
  /** the CTI socket; default 'wss://cti.natterbox.net/' (the path is not published) */
  url?: string;
  /** `client` of the auth frame; default { name: 'CTI 2.0', version: <this package's> } */
  clientInfo?: { name?: string; version?: string };
  /** 'organisation' (default): /organisation/O/user/U; 'org': /org/O/user/U/presence */
  pathStyle?: 'organisation' | 'org';
  /** longest wait in ms for a subscribe's snapshot; default 2000 */
  snapshotWindow?: number;
  /** the messages socket (unread counts), opened per `org:O:user:U:messages` pattern;
   * default 'wss://omnichannelws-us.natterbox.net/' */
  messagesUrl?: string;
  /** where the messages socket's upgrade carries the token: 'query' (`?token=<JWT>`) or 'header'
   * (`Authorization: Bearer <JWT>`); default 'query' */
  messagesTokenIn?: 'query' | 'header';
  /** ms a messages connection lives before a planned reconnect (API Gateway ends them at 2 h);
   * default 7080000 */
  messagesMaxAge?: number;
  /** messages socket: ms after which an unanswered subscribe counts as accepted; default 1000 */
  settleTime?: number;
}

/** The options a client of protocol P takes. */
export type ClientOptionsOf<P extends Protocol> = P extends 'natterbox' ? NatterboxClientOptions : RealtimeClientOptions;
/** Event name -> event type for a client of protocol P. */
export type EventMapOf<P extends Protocol> = P extends 'natterbox' ? NatterboxEventMap : EventMap;
/** The patterns subscribe() takes for protocol P. */
export type PatternOf<P extends Protocol> = P extends 'natterbox' ? NatterboxPattern : string;

// ---------------------------------------------------------------------------------------------
// Errors

/** Codes the server sends in error frames. */
export type ServerErrorCode = 'PERMISSION_DENIED' | 'INVALID_TOPIC' | 'INVALID_MESSAGE' | 'RATE_LIMITED';
/** Codes the client raises itself. */
export type ClientErrorCode =
  | 'AUTH_FAILED'
  | 'CONNECT_FAILED'
  | 'CONNECT_TIMEOUT'
  | 'ACK_TIMEOUT'
  | 'HEARTBEAT_TIMEOUT'
  | 'TLS_ERROR'
  | 'PROTOCOL_ERROR'
  | 'MALFORMED_EVENT'
  | 'PAYLOAD_TOO_LARGE'
  | 'INSECURE_URL'
  | 'INVALID_OPTION'
  | 'QUEUE_OVERFLOW'
  | 'CLOSED';
/** Codes of loading the native addon and of the emulator. */
export type PackageErrorCode = 'NATIVE_LOAD_FAILED' | 'LISTEN_FAILED';
export type RealtimeErrorCode = ServerErrorCode | ClientErrorCode | PackageErrorCode;

/** Every RealtimeErrorCode, in the order of the README's error table. */
export declare const ERROR_CODES: readonly RealtimeErrorCode[];

export interface RealtimeErrorDetails {
  topics?: string[];
  action?: string;
  status?: number;
  retryAfter?: number;
  count?: number;
  cause?: unknown;
  frame?: NatterboxErrorFrame;
}

/** The one error type of the library. */
export declare class RealtimeError extends Error {
  constructor(code: RealtimeErrorCode, message: string, details?: RealtimeErrorDetails);
  code: RealtimeErrorCode;
  /** the topics a server error or an INVALID_TOPIC refers to */
  topics?: string[];
  /** 'subscribe' or 'unsubscribe' for server errors */
  action?: string;
  /** Natterbox CTI: the server's `error` frame as received (PERMISSION_DENIED) */
  frame?: NatterboxErrorFrame;
  /** HTTP status of a failed handshake */
  status?: number;
  /** ms to wait, from a 429's Retry-After */
  retryAfter?: number;
  /** how many times the same fault happened back to back (reported once, with the first message) */
  count?: number;
  cause?: unknown;
}

// ---------------------------------------------------------------------------------------------
// Client

export interface CloseInfo {
  /** WebSocket close code (1006 when the TCP connection just ended) */
  code: number;
  reason: string;
  /** whether the connection had completed the upgrade */
  wasOpen: boolean;
  willReconnect: boolean;
  /** why the connection ended; null after close() */
  error: RealtimeError | null;
}

export interface ReconnectingInfo {
  /** 1 for the first attempt after each lost connection */
  attempt: number;
  /** ms actually waited (after jitter) */
  delay: number;
  /** why the previous connection or attempt ended */
  error: RealtimeError | null;
}

export interface ClientStats {
  /** events read from the socket */
  received: number;
  /** events matching no pattern */
  filtered: number;
  /** events handed to JS */
  delivered: number;
  /** events lost to an overflow policy (normally 0) */
  dropped: number;
  /** live-dialect events dropped as duplicates */
  duplicates: number;
  /** malformed frames skipped */
  malformed: number;
  bytesReceived: number;
  reconnects: number;
  /** events waiting between the native thread and JS */
  queueDepth: number;
  /** epoch ms of the last event, or null before the first */
  lastEventAt: number | null;
  /** active patterns */
  patterns: number;
  /** subscribe/unsubscribe calls waiting for the server */
  pendingAcks: number;
  /** open events() iterators */
  iterators: number;
  /** events discarded by events() iterators that overflowed */
  iteratorOverflow: number;
  /** Natterbox: open messages sockets (one per held `:messages` pattern; the counters above
   * include theirs); 0 for VoIPBIN */
  messagesSockets: number;
}

/** The parts of an AbortSignal events() uses (a real AbortSignal fits). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  /** becomes the `cause` of the AbortError */
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface ConnectOptions {
  /** aborting rejects with an AbortError (name 'AbortError', code 'ABORT_ERR') and closes the client */
  signal?: AbortSignalLike;
  /** ms to wait for the connection; then rejects with CONNECT_TIMEOUT and closes the client */
  timeout?: number;
}

export interface EventsFilter<T extends string = EventType, Pattern extends string = string> {
  /** patterns (same grammar as subscribe) the events must match */
  topics?: Pattern | readonly Pattern[];
  /** event types to keep; narrows the iterator's element type */
  types?: T | readonly T[];
  /** when aborted, the read after the buffered events rejects with an AbortError, then the iterator is done */
  signal?: AbortSignalLike;
  /** unread events before the iterator slows the socket down (or, with overflow 'error', throws QUEUE_OVERFLOW); default 10000 */
  highWaterMark?: number;
  /** 'wait' (default): a full iterator slows the socket down; 'error': it throws QUEUE_OVERFLOW */
  overflow?: 'wait' | 'error';
}

export interface RealtimeClientEvents extends EventTypeListeners {
  /** every delivered event */
  event: [event: RealtimeEvent];
  state: [state: ClientState, previous: ClientState];
  open: [];
  close: [info: CloseInfo];
  reconnecting: [info: ReconnectingInfo];
  error: [error: RealtimeError];
  /** dialect 'auto' decided, once per client; reason says what gave the server away */
  dialect: [dialect: WireDialect, reason: string];
}

export interface SubscriptionEvents extends EventTypeListeners {
  /** every event matching this subscription's patterns */
  event: [event: RealtimeEvent];
}

/** One listener signature per Natterbox event type. */
export type NatterboxTypeListeners = { [K in NatterboxEventType]: [event: NatterboxEventMap[K]] };

export interface NatterboxClientEvents extends NatterboxTypeListeners {
  /** every delivered event */
  event: [event: NatterboxEvent];
  state: [state: ClientState, previous: ClientState];
  open: [];
  close: [info: CloseInfo];
  reconnecting: [info: ReconnectingInfo];
  error: [error: RealtimeError];
}

export interface NatterboxSubscriptionEvents extends NatterboxTypeListeners {
  /** every event of this subscription's users and groups, once each */
  event: [event: NatterboxEvent];
}

/** The client's listener map for protocol P. */
export type ClientEventsOf<P extends Protocol> = P extends 'natterbox' ? NatterboxClientEvents : RealtimeClientEvents;
/** A subscription's listener map for protocol P. */
export type SubscriptionEventsOf<P extends Protocol> =
  P extends 'natterbox' ? NatterboxSubscriptionEvents : SubscriptionEvents;

export interface RealtimeClient<P extends Protocol = 'voipbin'> extends TypedEventEmitter<ClientEventsOf<P>> {}

/**
 * A connection to VoIPBIN's real-time API, or with `protocol: 'natterbox'` to Natterbox's CTI
 * presence socket (an EventEmitter). The protocol narrows events, patterns and payloads.
 */
export declare class RealtimeClient<P extends Protocol = 'voipbin'> {
  constructor(options?: ClientOptionsOf<P> & { protocol?: P });
  /** current connection state */
  readonly state: ClientState;
  /** active patterns, sorted */
  readonly topics: string[];
  /** the endpoint with credentials redacted */
  readonly url: string;
  /** the configured dialect, or with 'auto' null until decided (see the 'dialect' event) */
  readonly dialect: WireDialect | null;
  /** Resolves once connected; rejects with a RealtimeError on a terminal failure, CONNECT_TIMEOUT or an AbortError. */
  connect(options?: ConnectOptions): Promise<void>;
  /** Resolves when the server acknowledges every pattern. */
  subscribe(patterns: PatternOf<P> | readonly PatternOf<P>[]): Promise<Subscription<P>>;
  /** Drops every hold on the patterns and tells the server. */
  unsubscribe(patterns: PatternOf<P> | readonly PatternOf<P>[]): Promise<void>;
  /** Pull-based delivery; ends when the client closes; an aborted signal makes the read after the buffered events reject with an AbortError. */
  events<T extends keyof EventMapOf<P> & string = keyof EventMapOf<P> & string>(
    filter?: EventsFilter<T, PatternOf<P>>): AsyncIterableIterator<EventMapOf<P>[T]>;
  /** Idempotent; stops reconnecting and closes the socket. */
  close(): Promise<void>;
  ref(): this;
  unref(): this;
  /** Stop reading the socket once `maxQueue` events wait (TCP pushes back on the server); queued events are still delivered. */
  pause(): this;
  /** Read the socket again after pause(). */
  resume(): this;
  stats(): ClientStats;
}

export interface Subscription<P extends Protocol = 'voipbin'> extends TypedEventEmitter<SubscriptionEventsOf<P>> {}

/** The events of some patterns, released with unsubscribe(). Made by RealtimeClient#subscribe. */
export declare class Subscription<P extends Protocol = 'voipbin'> {
  private constructor();
  /** this subscription's patterns */
  readonly topics: string[];
  /** Releases only this subscription's holds. */
  unsubscribe(): Promise<void>;
  /** Buffers from this call on; throws QUEUE_OVERFLOW past highWaterMark (default 10000) unread events. */
  [Symbol.asyncIterator](options?: { highWaterMark?: number }): AsyncIterableIterator<EventMapOf<P>[keyof EventMapOf<P>]>;
}

// ---------------------------------------------------------------------------------------------
// Topics

export type TopicScope = 'customer_id' | 'agent_id';

export interface TopicParts {
  scope: TopicScope;
  /** UUID, lower case */
  scopeId: string;
  /** lower-case identifier or '*' */
  resource: string;
  /** UUID, opaque id or '*' */
  resourceId: string;
}

/** Topic helpers; every function throws RealtimeError INVALID_TOPIC on bad input. */
export declare namespace topic {
  function parse(s: string): TopicParts;
  /** resourceId defaults to '*' */
  function format(parts: Omit<TopicParts, 'resourceId'> & { resourceId?: string }): string;
  function customer(customerId: string, resource: string, resourceId?: string): string;
  function agent(agentId: string, resource: string, resourceId?: string): string;
  function matches(pattern: string, concreteTopic: string): boolean;
  /** Validates a pattern and returns it with UUIDs lower-cased. */
  function normalize(pattern: string): string;
  /** Same as normalize. */
  function normalise(pattern: string): string;
  /** Whether s is a UUID (either case). */
  function isUuid(s: string): boolean;
}

// ---------------------------------------------------------------------------------------------
// Emulator

export interface EmulatorOptions {
  /** default '127.0.0.1' */
  host?: string;
  /** default 0 (any free port) */
  port?: number;
  /** default 'voipbin'; 'natterbox' serves the CTI presence socket (no dialect) */
  protocol?: Protocol;
  /** protocol 'natterbox': the organisation (default '1'), accepted tokens (default any; an
   * expired JWT is refused; the messages socket checks them at the upgrade, HTTP 401), strict
   * client names, group snapshots one frame per member, a messages socket that never answers
   * subscribes (clients wait their settleTime) */
  natterbox?: {
    org?: number | string; tokens?: string[]; strict?: boolean; perMemberSnapshot?: boolean; silentMessages?: boolean;
  };
  /** default 'documented' */
  dialect?: 'documented' | 'live';
  /** HS256 key for the JWTs it accepts; default random */
  secret?: string | Uint8Array;
  /** serve wss:// */
  tls?: { cert: PemInput; key: PemInput };
  /** ms between server pings; default 10000 (0: none) */
  pingInterval?: number;
  /** ms without a frame from the peer before it is dropped; default 60000 */
  readTimeout?: number;
  /** subscribe/unsubscribe messages per second per connection; default 20 */
  rateLimit?: number;
  /** upgrades per second before HTTP 429; default 0 (no limit) */
  upgradeRateLimit?: number;
  /** Retry-After seconds on a 429; default 1 */
  retryAfter?: number;
  /** live dialect: outgoing events buffered per connection; default 2000 */
  bufferSize?: number;
  /** live dialect: send the old `{ type, data }` wrapper instead of the bare resource */
  liveWrapper?: boolean;
  /** largest message accepted from a peer, bytes */
  maxMessage?: number;
  /** io threads; default 1 */
  threads?: number;
  /** the customer tokens, access keys and blasts default to; default random */
  customerId?: string;
  /** customers whose upgrades get HTTP 403 */
  frozen?: string[];
}

export type Permission = 'admin' | 'manager' | 'agent';

export interface IssueTokenOptions {
  customerId?: string;
  agentId?: string;
  permissions?: Permission[];
  /** lifetime in seconds; default 7 days, negative for an expired token */
  expiresIn?: number;
  /** a delegate token: the live dialect answers HTTP 200 without an upgrade */
  delegate?: boolean;
  /** Natterbox emulator: the user and organisation claims */
  userId?: number | string;
  orgId?: number | string;
}

/** A Natterbox user's presence fields, as the emulator's presence() takes them. */
export type PresenceFields = Partial<Omit<UserPresenceData, 'userId'>>;

/** An event to publish; topic defaults to customer_id:<data.customer_id>:<resource>:<data.id>. */
export interface PublishInput<T extends EventType = EventType> {
  event_type: T;
  data: EventMap[T]['data'];
  topic?: string;
  /** RFC 3339; default now */
  timestamp?: string;
}

/** An event type the schema does not know (for testing a client's handling of it). */
export interface CustomPublishInput {
  event_type: string;
  data: Record<string, unknown>;
  topic?: string;
  timestamp?: string;
}

export interface EmulatorStats {
  /** open WebSocket connections now */
  connections: number;
  connectionsTotal: number;
  upgradesRefused: number;
  /** active patterns summed over connections */
  subscriptions: number;
  messagesReceived: number;
  bytesReceived: number;
  eventsPublished: number;
  eventsSent: number;
  /** events lost to a full per-connection buffer */
  eventsDropped: number;
  bytesSent: number;
  pingsSent: number;
  pongsReceived: number;
  /** connections dropped by the read deadline */
  timeouts: number;
  errorsSent: number;
  acksSent: number;
  /** CPU time of the emulator's io threads */
  cpuMs: number;
  blast: { running: boolean; connections: number; events: number; bytes: number; wallMs: number; cpuMs: number };
}

/** Options of `scenario('blast', ...)`; see native/emulator/README.md. */
export interface BlastOptions {
  /** frames per receiving connection (default 100000) */
  count?: number;
  /** bytes of each frame on the wire, header included (default 300) */
  size?: number;
  /** distinct events in the pre-serialized pool (default 64) */
  ids?: number;
  /** resource names cycled over the pool (default ['call']) */
  resources?: string[];
  customerId?: string;
  ownerId?: string;
  /** every open connection gets the whole pool, whatever it subscribed */
  unfiltered?: boolean;
  /** events per second per connection; 0 (default) = as fast as the socket takes them. Paced
   * events carry `data.sent`: the send time in ms on process.hrtime's clock. */
  rate?: number;
}

/** What a blast reports when every connection has its frames (or is gone). */
export interface BlastReport {
  connections: number;
  events: number;
  bytes: number;
  wallMs: number;
  /** CPU time of the emulator's io threads during the blast */
  cpuMs: number;
  eventsPerSecond: number;
  megabytesPerSecond: number;
  cpuPercent: number;
}

/** A running scenario, returned synchronously by `Emulator#scenario()` for every name but 'blast'. */
export interface ScenarioHandle {
  /** stops publishing; idempotent. `Emulator#stop()` stops every running scenario too */
  stop(): void;
  /** resolves when the scenario ends (its `count` reached, an error, or stopped) */
  readonly done: Promise<void>;
  /** events published so far */
  readonly published: number;
  /** what ended the scenario early (for example the emulator stopped under it), else null */
  readonly error: Error | null;
  /** the seed the run uses (callcenter) */
  readonly seed?: string | number;
  /** the simulated cast (callcenter) */
  readonly roster?: ScenarioRoster;
}

export interface ScenarioRoster {
  customerId: string;
  queueId: string;
  agents: Array<{ id: string; name: string; username: string; extension: string }>;
}

/** Options of `scenario('callcenter', ...)`. */
export interface CallcenterOptions {
  /** events per second, default 20 */
  rate?: number;
  /** fixes every id, payload and timestamp */
  seed?: string | number;
  dialect?: 'documented' | 'live';
  /** default: the emulator's customer */
  customerId?: string;
  /** number of agents, default 5 */
  agents?: number;
  /** ids for the first agents */
  agentIds?: string[];
  /** scales call and break durations, default 1 */
  durationScale?: number;
  /** virtual clock origin: a Date or epoch milliseconds */
  startTime?: number | Date;
  /** stop after that many events */
  count?: number;
}

export interface EmulatorConnectionInfo {
  connection: number;
  customerId: string;
  agentId: string | null;
  accessKey: boolean;
  /** Natterbox messages socket: where its accepted token was; null for other connections */
  tokenIn: 'query' | 'header' | null;
}

export interface EmulatorEvents {
  connection: [info: EmulatorConnectionInfo];
  subscribe: [info: { connection: number; topics: string[] }];
  unsubscribe: [info: { connection: number; topics: string[] }];
  disconnect: [info: { connection: number; reason: string }];
  blast: [report: BlastReport];
}

export type FaultName = 'noPong' | 'stall' | 'malformed' | 'binary' | 'oversized' | 'drop' | 'refuseUpgrades';

export interface FaultOptions {
  enabled?: boolean;
  /** refuseUpgrades: HTTP status, default 503 */
  status?: number;
  /** refuseUpgrades: Retry-After seconds */
  retryAfter?: number;
  /** malformed: the text frame to send */
  text?: string;
  /** binary: the payload */
  data?: Uint8Array;
  /** oversized: bytes */
  size?: number;
}

export interface Emulator extends TypedEventEmitter<EmulatorEvents> {}

/** A local server speaking the VoIPBIN real-time protocol, for tests and demos. */
export declare class Emulator {
  /** Starts an emulator; resolves once it listens. */
  static start(options?: EmulatorOptions): Promise<Emulator>;
  private constructor(options?: EmulatorOptions);
  /** ws:// (or wss://) URL to connect to */
  readonly url: string;
  readonly host: string;
  /** the port it listens on (the chosen one when started with port 0) */
  readonly port: number;
  readonly dialect: 'documented' | 'live';
  /** true when serving wss:// */
  readonly secure: boolean;
  /** the customer that tokens, access keys and blasts default to */
  readonly customerId: string;
  /** false once stop() was called */
  readonly running: boolean;
  issueToken(options?: IssueTokenOptions): string;
  issueAccessKey(options?: { customerId?: string }): string;
  freeze(customerId?: string, frozen?: boolean): void;
  publish<T extends EventType>(event: PublishInput<T>): void;
  publish(event: CustomPublishInput): void;
  scenario(name: 'blast', options?: BlastOptions): Promise<BlastReport>;
  scenario(name: 'callcenter', options?: CallcenterOptions): ScenarioHandle;
  scenario(name: string, options?: Record<string, unknown>): ScenarioHandle;
  fault(name: FaultName, options?: FaultOptions | boolean): void;
  clearFaults(): void;
  disconnectAll(options?: { abrupt?: boolean; code?: number }): void;
  /** 'voipbin' or 'natterbox' */
  readonly protocol: Protocol;
  /** Natterbox: the organisation; null otherwise */
  readonly org: string | null;
  /** Natterbox: merges fields into a user's state and pushes them to subscribers */
  presence(userId: number | string, fields: PresenceFields): PresenceFields & { userId: number };
  /** Natterbox: the messages socket's URL (ws://host:port/messages); null otherwise */
  readonly messagesUrl: string | null;
  /** Natterbox: sets a user's unread count (null clears it) and pushes INSERT, MODIFY or REMOVE */
  unread(userId: number | string, count: number | null): 'INSERT' | 'MODIFY' | 'REMOVE' | null;
  /** Natterbox: a user's unread count, or null */
  unreadCount(userId: number | string): number | null;
  /** Natterbox: a user's state, or null */
  user(userId: number | string): (PresenceFields & { userId: number }) | null;
  /** Natterbox: sets a group's members */
  group(groupId: number | string, userIds: Array<number | string>): void;
  /** Natterbox: a group's members, or null */
  members(groupId: number | string): string[] | null;
  stats(): EmulatorStats;
  /** Closes every connection (bounded by `grace` ms), stops scenarios; idempotent. */
  stop(options?: { grace?: number }): Promise<void>;
  ref(): this;
  unref(): this;
}
