'use strict';

// Natterbox scenario: a team of agents in one group taking calls (RINGING -> ANSWERED ->
// BRIDGED -> idle) and changing availability, on an emulator started with protocol 'natterbox';
// after every other presence change one agent's unread message count changes (messages socket).
// Repeatable with a seed. Options: { agents = 5, group = 100, firstUser = 1001, rate = 4
// (presence changes per second), seed, startAfter = 0 (ms before the first change; the initial
// state is set at once) }.

const AVAILABILITY = [
  { availability: 'Available', availabilityStateId: 1 },
  { availability: 'On Call', availabilityStateId: 3 },
  { availability: 'Break', availabilityStateId: 4 },
  { availability: 'Wrap Up', availabilityStateId: 5 },
];
const NEXT = { '': 'RINGING', RINGING: 'ANSWERED', ANSWERED: 'BRIDGED', BRIDGED: '' };

// A small deterministic generator (mulberry32) so a seed repeats the same run.
function random(seed) {
  let a = 0;
  for (const ch of String(seed)) a = (Math.imul(a, 31) + ch.charCodeAt(0)) | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uuid(rand) {
  const hex = () => Math.floor(rand() * 16).toString(16);
  const part = (n) => Array.from({ length: n }, hex).join('');
  return `${part(8)}-${part(4)}-4${part(3)}-a${part(3)}-${part(12)}`;
}

function check(value, name, def, min, max) {
  if (value === undefined) return def;
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`agents scenario: ${name} must be a number from ${min} to ${max}`);
  }
  return value;
}

/**
 * The roster a scenario with these options uses (user ids, group id).
 * @param {object} [options]
 */
function roster(options = {}) {
  const agents = Math.floor(check(options.agents, 'agents', 5, 1, 200));
  const firstUser = Math.floor(check(options.firstUser, 'firstUser', 1001, 1, 1e12));
  const group = Math.floor(check(options.group, 'group', 100, 1, 1e12));
  return { group, users: Array.from({ length: agents }, (_, i) => firstUser + i) };
}

const INITIAL = Object.freeze({
  presence: '', logicalDirection: '', callChannelUUID: '', ...AVAILABILITY[0], availabilityProfileId: 1,
});

/**
 * The scenario's updates, in order: `{ user, fields }` (fields as Emulator#presence takes them).
 * The same options (seed included) always give the same sequence; it never ends.
 * @param {object} [options]
 */
function* updates(options = {}) {
  const { users } = roster(options);
  const rand = random(options.seed === undefined ? Date.now() : options.seed);
  const state = new Map(users.map((u) => [u, { ...INITIAL }]));
  for (;;) {
    const user = users[Math.floor(rand() * users.length)];
    const now = state.get(user);
    let fields;
    if (now.presence === '' && rand() < 0.25) {
      // Between calls an agent sometimes changes availability instead of taking a call.
      const away = AVAILABILITY.filter((a) => a.availabilityStateId !== 3);  // not 'On Call'
      fields = { ...away[Math.floor(rand() * away.length)] };
    } else {
      const next = NEXT[now.presence] ?? '';
      fields = { presence: next };
      if (next === 'RINGING') {
        fields.logicalDirection = rand() < 0.7 ? 'Inbound' : 'Outbound';
        fields.callChannelUUID = uuid(rand);
      }
      if (next === 'ANSWERED') Object.assign(fields, AVAILABILITY[1]);
      if (next === '') Object.assign(fields, { logicalDirection: '', callChannelUUID: '' }, AVAILABILITY[0]);
    }
    Object.assign(now, fields);
    yield { user, fields };
  }
}

/**
 * The scenario's unread-count changes, in order: `{ user, count }` (count null clears it; see
 * Emulator#unread). Its own random stream, so the presence updates stay as they are.
 * @param {object} [options]
 */
function* unreadUpdates(options = {}) {
  const { users } = roster(options);
  const rand = random(`${options.seed === undefined ? Date.now() : options.seed}:unread`);
  const counts = new Map();
  for (;;) {
    const user = users[Math.floor(rand() * users.length)];
    const now = counts.get(user);
    // A count that exists is cleared now and then (the agent read everything).
    const count = now !== undefined && rand() < 0.2 ? null : Math.floor(rand() * 10);
    if (count === null) counts.delete(user);
    else counts.set(user, count);
    yield { user, count };
  }
}

/**
 * Starts the scenario.
 * @param {import('../emulator').Emulator} emulator
 * @param {object} [options]
 * @returns {{ stop(): void, done: Promise<void>, users: number[], group: number, readonly published: number }}
 */
function start(emulator, options = {}) {
  if (emulator.protocol !== 'natterbox') {
    throw new RangeError("agents scenario: needs an emulator started with protocol: 'natterbox'");
  }
  const { group, users } = roster(options);
  const rate = check(options.rate, 'rate', 4, 0.01, 1000);
  const startAfter = check(options.startAfter, 'startAfter', 0, 0, 3600000);
  emulator.group(group, users);
  for (const u of users) emulator.presence(u, INITIAL);
  const plan = updates(options);
  const unreadPlan = unreadUpdates(options);
  let stopped = false;
  let published = 0;
  let timer = null;
  let finish;
  const done = new Promise((resolve) => { finish = resolve; });
  const step = () => {
    if (stopped || !emulator.running) return;
    const { user, fields } = plan.next().value;
    emulator.presence(user, fields);
    published++;
    if (published % 2 === 0) {
      const change = unreadPlan.next().value;
      emulator.unread(change.user, change.count);
    }
  };
  const begin = setTimeout(() => {
    timer = setInterval(step, Math.max(1, Math.round(1000 / rate)));
    timer.unref();
  }, startAfter);
  begin.unref();
  return {
    users,
    group,
    done,
    error: null,
    get published() { return published; },
    stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(begin);
      if (timer) clearInterval(timer);
      finish();
    },
  };
}

module.exports = {
  start, roster, updates, unreadUpdates,
};
