'use strict';

// Pieces every benchmark process shares: the workload shapes, the peers' topic matcher and small
// statistics helpers. Nothing here depends on voip-realtime itself.

const CUSTOMER_ID = '5e4a0b1c-1f2d-4c3b-9a8e-7d6c5b4a3f21';
const OWNER_ID = '9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';

// The emulator's blast names its pool ids b1a57000-0000-4000-8000-<12 hex digits of the index>.
function blastId(i) {
  return `b1a57000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

// A deterministic UUID that no blast ever uses, for the patterns that must match nothing.
function otherId(i) {
  return `0ddba11d-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

/**
 * Workload shapes. `pool` is the number of distinct events the server cycles through,
 * `matchPerPool` how many of them the client's patterns select (so the expected number of
 * matches of a blast of `count` events is count / pool * matchPerPool, count a multiple of pool).
 */
const WORKLOADS = {
  'all-data': {
    title: '1. all match, read data',
    pool: 64,
    matchPerPool: 64,
    unfiltered: false,
    read: 'data',
    patterns: () => [`customer_id:${CUSTOMER_ID}:call:*`],
  },
  'type-topic': {
    title: '2. read event_type+topic',
    pool: 64,
    matchPerPool: 64,
    unfiltered: false,
    read: 'envelope',
    patterns: () => [`customer_id:${CUSTOMER_ID}:call:*`],
  },
  'filter-90': {
    title: '3. 1k patterns, 10% match',
    pool: 100,
    matchPerPool: 10,
    unfiltered: true,
    read: 'data',
    // The matching ids are the last ten of the pool, so the blast's final event is a match and
    // the client knows the run is over when it has seen all matches.
    patterns: () => {
      const out = [];
      for (let i = 90; i < 100; i++) out.push(`customer_id:${CUSTOMER_ID}:call:${blastId(i)}`);
      for (let i = 0; out.length < 1000; i++) out.push(`customer_id:${CUSTOMER_ID}:call:${otherId(i)}`);
      return out;
    },
  },
  'filter-99': {
    title: '3b. 1 pattern, 1% match',
    pool: 100,
    matchPerPool: 1,
    unfiltered: true,
    read: 'data',
    // The pool's last event, so that the run ends on a match as in workload 3.
    patterns: () => [`customer_id:${CUSTOMER_ID}:call:${blastId(99)}`],
  },
};

// The dialect comparison's pool: more distinct events than the live dialect's de-duplication
// window holds (4,096 keys, native/core/live_codec.h), so an event comes round again only after
// it left the window and every frame is a new event, as in production; a run then also pays
// for each key's insertion and eviction. Priming blasts are whole multiples of it
// (bench/dialects.js), so no event of a run is still in the window from the priming.
const DIALECT_POOL = 6400;

/**
 * Workloads 1 and 2 as the dialect comparison runs them (bench/dialects.js): the same listener
 * code, registered on 'event', because a live frame names no event and the client infers it
 * from the call's status (call.created, call.status, call.ended all occur).
 */
const DIALECT_WORKLOADS = {
  'all-data': { ...WORKLOADS['all-data'], pool: DIALECT_POOL, matchPerPool: DIALECT_POOL, on: 'event' },
  'type-topic': { ...WORKLOADS['type-topic'], pool: DIALECT_POOL, matchPerPool: DIALECT_POOL, on: 'event' },
};

// The Natterbox row of the dialect comparison: its users 1..DIALECT_POOL are the members of
// one group, which the client subscribes to; each event is one user's presence element.
const NATTERBOX = { org: '1', group: '100', pattern: 'org:1:group:100:presence', event: 'presence_updated', field: 'presence' };

/** Patterns for the bytes-per-subscription measurement: `n` distinct exact topics. */
function manyPatterns(n) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = `customer_id:${CUSTOMER_ID}:call:${otherId(i)}`;
  return out;
}

/**
 * The topic matcher a careful JS client writes on top of `ws`: exact topics in one Map,
 * trailing-wildcard patterns (`...:call:*`, `...:*:*`) as prefixes in another.
 */
class PrefixMatcher {
  #exact = new Map();
  #prefixes = new Map();

  add(pattern, value) {
    let map = this.#exact;
    let key = pattern;
    if (pattern.endsWith(':*:*')) {
      map = this.#prefixes;
      key = pattern.slice(0, -3);
    } else if (pattern.endsWith(':*')) {
      map = this.#prefixes;
      key = pattern.slice(0, -1);
    }
    const list = map.get(key);
    if (list) list.push(value);
    else map.set(key, [value]);
  }

  get size() {
    return this.#exact.size + this.#prefixes.size;
  }

  /** First value whose pattern matches `topic`, or undefined. */
  match(topic) {
    const exact = this.#exact.get(topic);
    if (exact !== undefined) return exact[0];
    if (this.#prefixes.size === 0) return undefined;
    const last = topic.lastIndexOf(':');
    const byResource = this.#prefixes.get(topic.slice(0, last + 1));
    if (byResource !== undefined) return byResource[0];
    const mid = topic.lastIndexOf(':', last - 1);
    const byScope = this.#prefixes.get(topic.slice(0, mid + 1));
    return byScope === undefined ? undefined : byScope[0];
  }
}

/**
 * CPU-s per 1M events of a client's JS thread (the thread marked `main` in a result's per-thread
 * CPU list from bench/client.js), or undefined when the list is missing.
 */
function jsCpuSecPer1M(result) {
  const main = result.threads ? result.threads.find((t) => t.main) : undefined;
  return main ? (main.cpuMs / 1000) * (1e6 / result.events) : undefined;
}

function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Percentile (0..100) of a sorted typed array, nearest-rank. */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/**
 * Milliseconds on CLOCK_MONOTONIC, the one clock every process on this machine reads alike.
 * performance.timeOrigin + performance.now() is not: each process pins its own timeOrigin from
 * the wall clock at start-up, and fresh processes measured up to 13 us apart, a bias that lands
 * on whichever client process drew it.
 */
function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

module.exports = {
  CUSTOMER_ID,
  OWNER_ID,
  WORKLOADS,
  DIALECT_WORKLOADS,
  DIALECT_POOL,
  NATTERBOX,
  PrefixMatcher,
  blastId,
  otherId,
  manyPatterns,
  jsCpuSecPer1M,
  median,
  percentile,
  nowMs,
};
