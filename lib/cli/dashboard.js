'use strict';

// The demo's dashboard: a model fed with events (either dialect) and a renderer that turns it
// into screen lines of a given size. Both are pure so they can be checked without a terminal.

const { CODES, clean, short, NIL } = require('./format');

const MESSAGE_HISTORY = 6;
const RATE_WINDOW_MS = 5000;

function ms(value) {
  if (typeof value !== 'string') return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t;
}

function target(address) {
  return address && typeof address === 'object' && typeof address.target === 'string' ? address.target : '?';
}

const LIVE_CALL_STATUS = { progressing: 'answered', terminating: 'hanging up', canceling: 'canceling' };

/** Current contact-centre state, rebuilt from the event stream. */
class DashboardModel {
  calls = new Map();
  queue = new Map();
  agents = new Map();
  messages = [];
  total = 0;
  counts = new Map();
  #arrivals = [];
  #lastEventTime = null;
  #lastEventWall = 0;

  /**
   * @param {{ agents?: { id: string, name: string }[] }} [options] names for agent ids (the
   *   documented agent.status event carries only the id)
   */
  constructor({ agents = [] } = {}) {
    for (const a of agents) this.agents.set(a.id, { id: a.id, name: a.name, status: 'offline', since: null, call: null });
  }

  /**
   * Applies one event.
   * @param {{ event_type: string, timestamp?: string, data?: object }} event
   * @param {number} [wallNow] the local clock, for the events-per-second figure
   */
  apply(event, wallNow = Date.now()) {
    this.total++;
    this.counts.set(event.event_type, (this.counts.get(event.event_type) ?? 0) + 1);
    this.#arrivals.push(wallNow);
    while (this.#arrivals.length > 0 && this.#arrivals[0] <= wallNow - RATE_WINDOW_MS) this.#arrivals.shift();
    const at = ms(event.timestamp);
    if (at !== null) {
      this.#lastEventTime = at;
      this.#lastEventWall = wallNow;
    }
    const d = event.data !== null && typeof event.data === 'object' ? event.data : {};
    // A live event under a documented name still carries the live resource.
    const type = String(event.server_event_type ?? event.event_type);
    const time = at ?? wallNow;
    if (type.includes('.')) this.#documented(type, d, time);
    else this.#live(type, d, time);
  }

  /** The server's clock now, extrapolated from the last event (seeded scenarios run in the past). */
  now(wallNow = Date.now()) {
    return this.#lastEventTime === null ? wallNow : this.#lastEventTime + (wallNow - this.#lastEventWall);
  }

  /** Events per second over the last few seconds. */
  rate(wallNow = Date.now()) {
    const recent = this.#arrivals.filter((t) => t > wallNow - RATE_WINDOW_MS);
    if (recent.length === 0) return 0;
    const span = Math.min(RATE_WINDOW_MS, Math.max(1000, wallNow - recent[0]));
    return (recent.length * 1000) / span;
  }

  #agent(id) {
    if (typeof id !== 'string' || id === NIL) return null;
    let a = this.agents.get(id);
    if (!a) {
      a = { id, name: short(id), status: 'offline', since: null, call: null };
      this.agents.set(id, a);
    }
    return a;
  }

  #call(id, time) {
    let c = this.calls.get(id);
    if (!c) {
      c = { id, direction: '?', from: '?', to: '?', status: '?', created: time, answered: null, agent: null };
      this.calls.set(id, c);
    }
    return c;
  }

  #endCall(id) {
    const c = this.calls.get(id);
    if (c && c.agent) {
      const a = this.agents.get(c.agent);
      if (a && a.call === id) a.call = null;
    }
    this.calls.delete(id);
    this.queue.delete(id);
  }

  #message(id, direction, from, to, text, status, time) {
    const existing = this.messages.find((m) => m.id === id);
    if (existing) {
      existing.status = status;
      return;
    }
    this.messages.push({ id, direction, from, to, text: String(text ?? ''), status, time });
    if (this.messages.length > MESSAGE_HISTORY) this.messages.shift();
  }

  #documented(type, d, time) {
    switch (type) {
      case 'call.created': {
        if (typeof d.id !== 'string') return;
        const c = this.#call(d.id, ms(d.tm_create) ?? time);
        c.direction = d.direction === 'outbound' ? 'out' : 'in';
        c.from = target(d.source);
        c.to = target(d.destination);
        c.status = String(d.status ?? '?');
        return;
      }
      case 'call.status': {
        if (typeof d.id !== 'string') return;
        if (d.status === 'hangup') {
          this.#endCall(d.id);
          return;
        }
        const c = this.#call(d.id, time);
        c.status = String(d.status ?? '?');
        if (c.status === 'answered' && c.answered === null) c.answered = ms(d.tm_update) ?? time;
        return;
      }
      case 'call.ended':
        if (typeof d.id === 'string') this.#endCall(d.id);
        return;
      case 'call.assigned': {
        if (typeof d.id !== 'string') return;
        const c = this.#call(d.id, time);
        const a = this.#agent(d.agent_id);
        if (a) {
          c.agent = a.id;
          a.call = d.id;
        }
        if (c.from === '?') c.from = target(d.source);
        return;
      }
      case 'queue.joined':
        if (typeof d.call_id === 'string') this.queue.set(d.call_id, { callId: d.call_id, since: ms(d.tm_join) ?? time });
        return;
      case 'queue.connected': {
        this.queue.delete(d.call_id);
        const a = this.#agent(d.agent_id);
        if (a && typeof d.call_id === 'string') {
          a.call = d.call_id;
          const c = this.calls.get(d.call_id);
          if (c) c.agent = a.id;
        }
        return;
      }
      case 'queue.left':
        this.queue.delete(d.call_id);
        return;
      case 'agent.status': {
        const a = this.#agent(d.agent_id);
        if (!a) return;
        a.status = String(d.status ?? '?');
        a.since = ms(d.tm_update) ?? time;
        if (a.status === 'available' || a.status === 'away' || a.status === 'offline') a.call = null;
        return;
      }
      case 'message.received':
      case 'message.sent':
        this.#message(d.id, d.direction === 'outbound' ? 'out' : 'in', target(d.source), target(d.destination), d.text,
          type === 'message.sent' ? 'sent' : 'received', ms(d.tm_create) ?? time);
        return;
      case 'message.delivery': {
        const m = this.messages.find((x) => x.id === d.id);
        if (m) m.status = String(d.status ?? '?');
        return;
      }
      default:
    }
  }

  #live(type, d, time) {
    const resource = type.slice(0, Math.max(0, type.indexOf('_')));
    switch (resource) {
      case 'call': {
        if (typeof d.id !== 'string') return;
        if (d.status === 'hangup' || type === 'call_hangup' || type === 'call_deleted') {
          this.#endCall(d.id);
          return;
        }
        const c = this.#call(d.id, ms(d.tm_create) ?? time);
        c.direction = d.direction === 'outgoing' ? 'out' : 'in';
        c.from = target(d.source);
        c.to = target(d.destination);
        c.status = LIVE_CALL_STATUS[d.status] ?? String(d.status ?? '?');
        if (d.status === 'progressing' && c.answered === null) c.answered = ms(d.tm_progressing) ?? time;
        if (d.owner_type === 'agent') {
          const a = this.#agent(d.owner_id);
          if (a) {
            c.agent = a.id;
            a.call = d.id;
          }
        }
        return;
      }
      case 'queuecall': {
        const callId = d.reference_id;
        if (typeof callId !== 'string') return;
        if (d.status === 'waiting' || d.status === 'initiating') {
          if (!this.queue.has(callId)) this.queue.set(callId, { callId, since: ms(d.tm_create) ?? time });
        } else {
          this.queue.delete(callId);
        }
        if (d.status === 'connecting' || d.status === 'service') {
          const a = this.#agent(d.service_agent_id);
          const c = this.calls.get(callId);
          if (a) a.call = callId;
          if (a && c) c.agent = a.id;
        }
        return;
      }
      case 'agent': {
        const a = this.#agent(d.id);
        if (!a) return;
        if (typeof d.name === 'string' && d.name !== '') a.name = d.name;
        if (type === 'agent_deleted') {
          this.agents.delete(a.id);
          return;
        }
        if (typeof d.status === 'string' && d.status !== a.status) {
          a.status = d.status;
          a.since = ms(d.tm_update) ?? time;
        }
        if (a.status === 'available' || a.status === 'away' || a.status === 'offline') a.call = null;
        return;
      }
      case 'message': {
        if (typeof d.id !== 'string') return;
        const t = Array.isArray(d.targets) && d.targets[0] ? d.targets[0] : {};
        this.#message(d.id, d.direction === 'outbound' ? 'out' : 'in', target(d.source), target(t.destination), d.text,
          String(t.status ?? '?'), ms(d.tm_create) ?? time);
        return;
      }
      default:
    }
  }
}

// ---- rendering ----

const STATUS_COLORS = {
  ringing: 'yellow', dialing: 'cyan', answered: 'green', queued: 'magenta', 'hanging up': 'gray',
  canceling: 'gray', available: 'green', busy: 'red', away: 'gray', offline: 'dim',
  received: 'cyan', sent: 'cyan', delivered: 'green', failed: 'red',
};

function clock(msValue) {
  if (msValue === null || !Number.isFinite(msValue) || msValue < 0) return '--:--';
  const s = Math.floor(msValue / 1000);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

// Cells are padded on plain text first, then coloured, so escape codes never break alignment.
function cell(text, width, color, on) {
  const t = clean(text, width);
  const padded = t.padEnd(width);
  return on && color ? `${CODES[color]}${padded}${CODES.reset}` : padded;
}

/**
 * Renders the model into exactly `height` lines, none wider than `width` visible columns.
 * @param {DashboardModel} model
 * @param {{ width: number, height: number, color?: boolean, title?: string, state?: string,
 *   uptimeMs?: number, notice?: string, wallNow?: number }} view
 * @returns {string[]}
 */
function render(model, view) {
  const width = Math.max(40, view.width || 80);
  const height = Math.max(12, view.height || 24);
  const on = Boolean(view.color);
  const wallNow = view.wallNow ?? Date.now();
  const now = model.now(wallNow);
  const out = [];
  const push = (segments) => {
    // segments: [text, width?, color?]; visible length is the sum of plain widths.
    let line = '';
    let visible = 0;
    for (const [text, w, color] of segments) {
      const plainWidth = w ?? String(text).length;
      if (visible + plainWidth > width) {
        const room = width - visible;
        if (room > 0) line += cell(text, room, color, on);
        visible = width;
        break;
      }
      line += w === undefined && !color ? clean(text, plainWidth) : cell(text, plainWidth, color, on);
      visible += plainWidth;
    }
    out.push(line);
  };
  const heading = (text) => push([[text, text.length, 'bold']]);

  const title = ` voip-realtime demo  ${view.title ?? ''}  ${view.state ?? ''}`;
  push([[title.padEnd(width), width, on ? 'inverse' : undefined]]);
  const available = [...model.agents.values()].filter((a) => a.status === 'available').length;
  push([[` events/s ${model.rate(wallNow).toFixed(1).padStart(5)}  total ${model.total}  calls ${model.calls.size}  `
    + `queue ${model.queue.size}  agents ${available}/${model.agents.size} available  up ${clock(view.uptimeMs ?? 0)}`]]);
  push([[view.notice ? ` ${view.notice}` : '', undefined, view.notice ? 'red' : undefined]]);

  const agentRows = model.agents.size;
  const fixed = 3 + 2 + 1 + 2 + Math.max(2, agentRows) + 1 + 1 + 1;
  const messageRows = Math.min(MESSAGE_HISTORY, Math.max(1, height - fixed - 4));
  const callRows = Math.max(1, height - fixed - messageRows);

  // Newest first: that is where the ringing and answering happens.
  const calls = [...model.calls.values()].sort((a, b) => b.created - a.created);
  heading(`ACTIVE CALLS (${calls.length})`);
  push([['  Status      ', 14, 'dim'], ['Dir ', 4, 'dim'], ['From            ', 16, 'dim'], ['To              ', 16, 'dim'],
    ['Duration  ', 10, 'dim'], ['Agent', 12, 'dim']]);
  const shown = calls.length > callRows ? callRows - 1 : callRows;
  for (let i = 0; i < callRows; i++) {
    const c = calls[i];
    if (i === shown && calls.length > callRows) {
      push([[`  … and ${calls.length - shown} more`]]);
      break;
    }
    if (!c) {
      push([['']]);
      continue;
    }
    const status = model.queue.has(c.id) ? 'queued' : c.status;
    const agent = c.agent ? model.agents.get(c.agent)?.name ?? short(c.agent) : '';
    push([['  ', 2], [status, 12, STATUS_COLORS[status]], [c.direction, 4], [c.from, 16], [c.to, 16],
      [clock(now - (c.answered ?? c.created)), 10], [agent, 12]]);
  }
  push([['']]);

  // Queue and agents side by side.
  const half = Math.floor(width / 2);
  const waiting = [...model.queue.values()].sort((a, b) => a.since - b.since);
  const agents = [...model.agents.values()];
  push([[`QUEUE (${waiting.length} waiting)`, half, 'bold'], ['AGENTS', width - half, 'bold']]);
  const rows = Math.max(2, agentRows);
  for (let i = 0; i < rows; i++) {
    const segments = [];
    const q = waiting[i];
    if (i === rows - 1 && waiting.length > rows) segments.push([`  … and ${waiting.length - rows + 1} more`, half]);
    else if (q) {
      const call = model.calls.get(q.callId);
      segments.push(['  ', 2], [call ? call.from : short(q.callId), 16], [`waiting ${clock(now - q.since)}`, half - 18]);
    } else segments.push(['', half]);
    const a = agents[i];
    if (a) {
      const call = a.call ? model.calls.get(a.call) : null;
      segments.push([a.name, 10], [a.status, 10, STATUS_COLORS[a.status]],
        [a.since === null ? '' : clock(now - a.since), 7],
        [call ? (call.direction === 'out' ? call.to : call.from) : '', Math.min(16, Math.max(0, width - half - 27))]);
    }
    push(segments);
  }
  push([['']]);

  heading('RECENT MESSAGES');
  const recent = model.messages.slice(-messageRows);
  for (let i = 0; i < messageRows; i++) {
    const m = recent[i];
    if (!m) {
      push([['']]);
      continue;
    }
    const t = new Date(m.time).toISOString().slice(11, 19);
    push([['  ', 2], [t, 10], [m.direction, 4], [m.direction === 'in' ? m.from : m.to, 16],
      [m.status, 10, STATUS_COLORS[m.status]], [`"${m.text}"`, Math.max(0, width - 42)]]);
  }
  while (out.length < height - 1) push([['']]);
  out.length = height - 1;
  push([[' q quit', 7, 'dim']]);
  return out;
}

module.exports = { DashboardModel, render, clock };
