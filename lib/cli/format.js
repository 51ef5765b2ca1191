'use strict';

// One-line rendering of events for `tail` and the demo's plain log: a time, the event type and a
// short summary built from the fields that matter for that type, in either dialect.

const NIL = '00000000-0000-0000-0000-000000000000';

const CODES = {
  reset: '\x1b[0m', bold: '\x1b[1m', dim: '\x1b[2m', inverse: '\x1b[7m',
  red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', blue: '\x1b[34m', magenta: '\x1b[35m',
  cyan: '\x1b[36m', white: '\x1b[37m', gray: '\x1b[90m',
};

const RESOURCE_COLORS = {
  call: 'cyan', groupcall: 'cyan', message: 'magenta', queue: 'yellow', queuecall: 'yellow',
  agent: 'green', activeflow: 'blue', conference: 'white', recording: 'gray', transcription: 'gray',
  transcribe: 'gray', transcript: 'gray',
};

/**
 * Whether to colour a stream: only a TTY, and never when NO_COLOR is set to anything non-empty
 * (https://no-color.org).
 */
function colorEnabled(stream, env = process.env) {
  return Boolean(stream && stream.isTTY) && !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
}

function paint(on, color, text) {
  return on ? `${CODES[color]}${text}${CODES.reset}` : text;
}

// Server text (an SMS body, a name) must not be able to move the cursor or retitle the terminal.
function clean(value, max = 60) {
  const s = String(value ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function short(id) {
  return typeof id === 'string' && id !== NIL ? clean(id.slice(0, 8), 8) : '-';
}

function target(address) {
  return address && typeof address === 'object' ? clean(address.target, 24) : '?';
}

function resourceOf(eventType) {
  const m = /^[a-z0-9]+/.exec(String(eventType));
  return m ? m[0] : '';
}

function secs(value) {
  return typeof value === 'number' && Number.isFinite(value) ? `${Math.round(value)}s` : '?';
}

/** A short human summary of an event's payload. */
function summarize(event) {
  const d = event.data !== null && typeof event.data === 'object' ? event.data : {};
  // A live event under a documented name still carries the live resource: summarised as such.
  const type = String(event.server_event_type ?? event.event_type);
  switch (type) {
    case 'call.created':
      return `${clean(d.direction, 10)} ${target(d.source)} -> ${target(d.destination)} ${clean(d.status, 12)}`;
    case 'call.status':
      return `${clean(d.previous_status, 12)} -> ${clean(d.status, 12)}`;
    case 'call.ended':
      return `hangup by ${clean(d.hangup_by, 8) || '?'} (${clean(d.hangup_reason, 16) || '?'}) after ${secs(d.duration)}`;
    case 'call.assigned':
      return `to agent ${short(d.agent_id)} from ${target(d.source)} after ${secs(d.wait_time)} in queue`;
    case 'message.received':
    case 'message.sent':
      return `${target(d.source)} -> ${target(d.destination)} "${clean(d.text, 48)}"`;
    case 'message.delivery':
      return clean(d.status, 16);
    case 'activeflow.updated':
      return `${clean(d.current_action?.type, 20)} ${clean(d.current_action?.name, 24)}`;
    case 'activeflow.completed':
      return `${clean(d.status, 12)} ${clean(d.result, 12)}`;
    case 'conference.joined':
    case 'conference.left':
      return `call ${short(d.call_id)}, ${d.participant_count} in conference`;
    case 'conference.ended':
      return `after ${secs(d.duration)}`;
    case 'queue.joined':
      return `call ${short(d.call_id)} at position ${d.position}, about ${secs(d.estimated_wait)}`;
    case 'queue.connected':
      return `call ${short(d.call_id)} -> agent ${short(d.agent_id)} after ${secs(d.wait_time)}`;
    case 'queue.left':
      return `call ${short(d.call_id)} ${clean(d.reason, 12)} after ${secs(d.wait_time)}`;
    case 'agent.status':
      return `${clean(d.previous_status, 10)} -> ${clean(d.status, 10)}`;
    case 'recording.started':
      return `call ${short(d.call_id)} ${clean(d.format, 6)}`;
    case 'recording.completed':
      return `call ${short(d.call_id)} ${secs(d.duration)} ${clean(d.format, 6)}`;
    case 'transcription.completed':
      return `call ${short(d.call_id)} "${clean(d.text, 48)}"`;
    default:
      return summarizeLive(resourceOf(type), d);
  }
}

function summarizeLive(resource, d) {
  switch (resource) {
    case 'call':
    case 'groupcall':
      return `${clean(d.status, 12)} ${clean(d.direction, 10)} ${target(d.source)} -> ${target(d.destination)}`
        + (d.owner_id && d.owner_id !== NIL ? ` agent ${short(d.owner_id)}` : '');
    case 'message': {
      const t = Array.isArray(d.targets) && d.targets[0] ? d.targets[0] : {};
      return `${clean(d.direction, 10)} ${target(d.source)} -> ${target(t.destination)} ${clean(t.status, 12)} "${clean(d.text, 40)}"`;
    }
    case 'queuecall':
      return `${clean(d.status, 12)} call ${short(d.reference_id)}`
        + (d.service_agent_id && d.service_agent_id !== NIL ? ` agent ${short(d.service_agent_id)}` : '');
    case 'agent':
      return `${clean(d.name, 20)} ${clean(d.status, 12)}`;
    case 'activeflow':
      return `${clean(d.status, 10)} ${clean(d.current_action?.type, 20)}`;
    case 'transcript':
      return `${clean(d.direction, 4)} "${clean(d.message, 48)}"`;
    case 'conference':
      return `${clean(d.status, 12)} ${clean(d.name, 24)} ${Array.isArray(d.conferencecall_ids) ? d.conferencecall_ids.length : '?'} in conference`;
    default:
      if (d.status !== undefined) return `${clean(d.status, 16)}${d.reference_id ? ` ${clean(d.reference_type, 12)} ${short(d.reference_id)}` : ''}`;
      return clean(Object.keys(d).join(','), 48);
  }
}

function timeOf(timestamp) {
  const m = /T(\d\d:\d\d:\d\d(?:\.\d{1,3})?)/.exec(String(timestamp));
  return m ? m[1].padEnd(12, '0') : '--:--:--.---';
}

function resourceIdOf(event) {
  const parts = typeof event.topic === 'string' ? event.topic.split(':') : [];
  if (parts.length >= 4) return parts[parts.length - 1];
  return event.data?.id;
}

/**
 * One line for a terminal or a log: `HH:MM:SS.mmm  type  resource-id  summary`.
 * @param {{ event_type: string, timestamp: string, topic?: string, data: object }} event
 * @param {{ color?: boolean, width?: number }} [options]
 */
function formatLine(event, { color = false, width = Infinity } = {}) {
  const type = clean(event.event_type, 28);
  const hue = RESOURCE_COLORS[resourceOf(type)] ?? 'white';
  const plain = `${timeOf(event.timestamp)}  ${type.padEnd(24)} ${short(resourceIdOf(event))}  ${summarize(event)}`;
  const text = plain.length > width ? `${plain.slice(0, Math.max(0, width - 1))}…` : plain;
  if (!color) return text;
  const head = text.slice(0, 12);
  const mid = text.slice(12, 14 + 24);
  const rest = text.slice(14 + 24);
  return `${paint(true, 'dim', head)}${paint(true, hue, mid)}${rest}`;
}

module.exports = { CODES, colorEnabled, paint, clean, short, summarize, formatLine, timeOf, NIL };
