// voip-realtime/redis: the bridge into Redis Streams and the processor helper. Written by hand
// (not generated); self-contained like index.d.ts: no @types/node or ioredis typings needed.

import type { EventType, RealtimeClient, RealtimeError, RealtimeEvent } from './index';

/**
 * An ioredis client (`new Redis(...)`), described by the members the bridge uses so that these
 * declarations need neither ioredis's nor Node's typings.
 */
export interface RedisClientLike {
  duplicate(...args: any[]): any;
  sendCommand(...args: any[]): any;
  quit(): Promise<unknown>;
}

/** A `redis://[user:password@]host:port[/db]` URL (a client is then opened and closed for you) or your client. */
export type RedisInput = string | RedisClientLike;

/** What the bridge hands a sink: one event, its data as the JSON text received. */
export interface BridgeEntry {
  event_type: string;
  /** The live dialect's own name of the event (e.g. 'call_ringing'), when the event has one. */
  server_event_type?: string | undefined;
  topic: string;
  timestamp: string;
  /** The event's `data` as JSON text, as the server sent it. */
  data: string;
  /** The event's identity: SHA-1 of event_type, topic, timestamp and data, base64url. */
  id: string;
  /** Date.now() when the bridge read it. */
  at: number;
}

/** Where a bridge writes: Redis Streams here; anything with this contract can be another. */
export interface Sink {
  /**
   * Writes the entries in order, each once; resolves how many were new and how many already
   * there. Rejects to be retried. `context.chained`: a call made before this one is not confirmed yet; a sink with
   * maxInFlight > 1 applies this one only after that one was applied, and not at all if it failed.
   */
  append(entries: BridgeEntry[], context: { chained: boolean }): Promise<{ appended: number; duplicates: number }>;
  close?(): Promise<void>;
  /** How many append() calls may overlap (default 1); more than 1 only for a sink that honours `chained`. */
  readonly maxInFlight?: number;
}

export interface RetryOptions {
  /** ms before the first retry (default 100). */
  initialDelay?: number;
  /** ms between retries at most (default 5000). */
  maxDelay?: number;
  /** growth per failed attempt (default 2). */
  factor?: number;
}

export interface BridgeOptions {
  client: RealtimeClient;
  redis: RedisInput;
  /** Stream name (default 'voip-realtime:events'). */
  stream?: string;
  /** Trim each stream to about this many entries (XADD MAXLEN ~; default 1000000; 0: never). */
  maxlen?: number;
  /** 'resource': one stream per resource, `<stream>:call`, `<stream>:message`, ... (default 'none'). */
  streamBy?: 'none' | 'resource';
  /** ms an event's identity is remembered, so a second bridge does not append it again (default 60000). */
  dedupeWindow?: number;
  /** Events per Redis call at most (default 512). */
  batchSize?: number;
  /** Events read but not written above which the client is paused (default 20000). */
  highWaterMark?: number;
  retry?: RetryOptions;
  /** Each failed write, before it is retried. */
  onError?: (err: RealtimeError) => void;
}

export interface BridgeStats {
  /** Events taken from the client. */
  received: number;
  /** Entries appended by this bridge. */
  appended: number;
  /** Entries skipped because another bridge had appended them. */
  duplicates: number;
  /** Failed writes retried. */
  retries: number;
  /** Times the client was paused. */
  pauses: number;
  /** Events read but not written yet. */
  pending: number;
  /** ms the oldest pending event has waited (0 when none). */
  lag: number;
  /** Whether the client is held back now. */
  paused: boolean;
  /** The failure being retried, null once a write succeeds. */
  lastError: Error | null;
}

export interface Bridge {
  stats(): BridgeStats;
  /** Resolves once every event read so far is written. */
  drained(): Promise<void>;
  /** Stops reading from the client, writes what was read, closes the Redis connection it opened. The client stays open. */
  close(): Promise<void>;
  onError: ((err: RealtimeError) => void) | null;
}

/** Where an entry came from. */
export interface StreamEntryInfo {
  stream: string;
  /** The stream entry ID, `<ms>-<seq>`. */
  id: string;
}

export interface ConsumeOptions<T extends EventType = EventType> {
  redis: RedisInput;
  /** Consumer group; created (with the stream, MKSTREAM) when missing. */
  group: string;
  /** Stream(s) to read (default 'voip-realtime:events'). */
  stream?: string | string[];
  /** This consumer's name in the group (default `<hostname>-<pid>`). */
  consumer?: string;
  /**
   * Runs once per event (at least once: an event may be handled again after a crash), with the
   * live dialect's `server_event_type` restored when the bridge stored one. The entry is
   * acknowledged when the returned promise resolves; a throw leaves it pending, and it is
   * handed out again after `idleTimeout`.
   */
  handler: (event: RealtimeEvent<T>, entry: StreamEntryInfo) => unknown;
  /** Handlers running at once at most (default 1). */
  concurrency?: number;
  /** ms an entry may stay unacknowledged in a consumer before another takes it over (default 30000). */
  idleTimeout?: number;
  /** ms one XREADGROUP blocks at most (default 1000). */
  block?: number;
  /** A handler that threw (with its event), a malformed entry or a Redis failure (event null). */
  onError?: (err: unknown, event: RealtimeEvent<T> | null) => void;
}

export interface ConsumerStats {
  read: number;
  handled: number;
  acked: number;
  failed: number;
  reclaimed: number;
  malformed: number;
  inFlight: number;
}

export interface Consumer {
  readonly name: string;
  stats(): ConsumerStats;
  /** Stops reading, waits for running handlers and their acks. Unhandled entries stay pending for others. */
  close(): Promise<void>;
}

/** Starts appending every event the client delivers to Redis; resolves once Redis answered. */
export function bridge(options: BridgeOptions): Promise<Bridge>;
/** Starts a consumer; resolves once the group exists and reading began. */
export function consume<T extends EventType = EventType>(options: ConsumeOptions<T>): Promise<Consumer>;
/** The identity the bridge deduplicates on. */
export function identity(entry: { event_type: string; topic: string; timestamp: string; data: string }): string;
export const DEFAULT_STREAM: 'voip-realtime:events';

declare const redis: {
  bridge: typeof bridge;
  consume: typeof consume;
  identity: typeof identity;
  DEFAULT_STREAM: typeof DEFAULT_STREAM;
};
export default redis;
