'use strict';

// Natterbox presence for the command line: one line per event (`tail --protocol natterbox`, the
// demo's plain log) and the demo's board of agents: who is ringing, on a call, available, and
// how many unread messages each has (messages socket).

const { clean, paint, timeOf } = require('./format');

const CALL = { RINGING: 'ringing', ANSWERED: 'on a call', BRIDGED: 'on a call (bridged)', '': 'idle' };
const CALL_COLORS = { RINGING: 'yellow', ANSWERED: 'green', BRIDGED: 'green', '': 'dim' };

const UNREAD = {
  userstatistics_created: 'unread',
  userstatistics_updated: 'unread',
  userstatistics_deleted: 'unread cleared',
};

function userOf(event) {
  const m = /^org:\d+:user:(\d+):(?:presence|messages)$/.exec(String(event.topic));
  return m ? m[1] : '?';
}

// The unread count an event carries: a number, 0 for a deleted record, null when absent.
function unreadOf(event) {
  if (event.event_type === 'userstatistics_deleted') return 0;
  const n = event.data?.userStatistics?.unreadMessages;
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/**
 * `HH:MM:SS.mmm  type  user  summary` for a Natterbox presence event.
 * @param {{ event_type: string, timestamp: string, topic: string, data: object }} event
 */
function presenceLine(event, { color = false } = {}) {
  const d = event.data !== null && typeof event.data === 'object' ? event.data : {};
  const parts = [];
  if (UNREAD[event.event_type]) {
    const n = unreadOf(event);
    parts.push(event.event_type === 'userstatistics_deleted' || n === null ? UNREAD[event.event_type] : `${n} unread`);
  }
  if (d.presence !== undefined) parts.push(CALL[d.presence] ?? clean(d.presence, 16));
  if (d.logicalDirection) parts.push(clean(d.logicalDirection, 10));
  if (d.availability !== undefined) parts.push(`| ${clean(d.availability, 24)}`);
  const type = clean(event.event_type, 24).padEnd(22);
  const line = `${timeOf(event.timestamp)}  ${type} user ${clean(userOf(event), 18).padEnd(8)} ${parts.join(' ')}`;
  return color ? `${paint(true, 'dim', line.slice(0, 12))}${line.slice(12)}` : line;
}

/** The board: the last known state of each agent, and counters. */
class PresenceBoard {
  agents = new Map();  // user id -> { presence, availability, direction, changes }
  total = 0;

  /** Applies one event (presence_updated carries the state; derived ones only count). */
  apply(event) {
    this.total++;
    const id = userOf(event);
    const d = event.data !== null && typeof event.data === 'object' ? event.data : {};
    const a = this.agents.get(id) ?? { presence: '', availability: '', direction: '', changes: 0, unread: null };
    if (UNREAD[event.event_type]) {
      const n = unreadOf(event);
      if (n !== null) a.unread = n;
    } else if (event.event_type === 'presence_updated') {
      if (typeof d.presence === 'string') a.presence = d.presence;
      if (typeof d.availability === 'string') a.availability = d.availability;
      if (typeof d.logicalDirection === 'string') a.direction = d.logicalDirection;
    } else {
      a.changes++;
    }
    this.agents.set(id, a);
  }

  /** How many agents are in each call state, and their unread messages together. */
  counts() {
    const c = { ringing: 0, onCall: 0, idle: 0, unread: 0 };
    for (const a of this.agents.values()) {
      c.unread += a.unread ?? 0;
      if (a.presence === 'RINGING') c.ringing++;
      else if (a.presence === 'ANSWERED' || a.presence === 'BRIDGED') c.onCall++;
      else c.idle++;
    }
    return c;
  }
}

/**
 * The board as text lines for a terminal of `width` x `height`.
 * @param {PresenceBoard} board
 * @param {{ width: number, height: number, color: boolean, title: string, state: string, notice?: string }} view
 */
function renderBoard(board, view) {
  const { width, height, color } = view;
  const c = board.counts();
  const lines = [
    paint(color, 'bold', clean(`voip-realtime demo: Natterbox presence  ${view.title}  [${view.state}]`, width)),
    `${c.ringing} ringing, ${c.onCall} on a call, ${c.idle} idle, ${c.unread} unread; ${board.total} events  (q to quit)`,
    '',
    paint(color, 'dim', `${'agent'.padEnd(10)}${'call'.padEnd(22)}${'direction'.padEnd(11)}${'availability'.padEnd(16)}` +
      `${'unread'.padEnd(8)}changes`),
  ];
  for (const [id, a] of [...board.agents].sort(([x], [y]) => Number(x) - Number(y))) {
    const call = (CALL[a.presence] ?? clean(a.presence, 20)).padEnd(22);
    const row = `${clean(id, 9).padEnd(10)}${paint(color, CALL_COLORS[a.presence] ?? 'white', call)}` +
      `${clean(a.direction, 10).padEnd(11)}${clean(a.availability, 15).padEnd(16)}` +
      `${String(a.unread ?? '-').padEnd(8)}${a.changes}`;
    lines.push(row);
  }
  if (view.notice) lines.push('', clean(view.notice, width));
  return lines.slice(0, Math.max(1, height)).map((l) => l.slice(0, width + 40));
}

module.exports = { PresenceBoard, renderBoard, presenceLine };
