'use strict';

// A simulated contact centre for the emulator: calls ring, are answered by an IVR flow, queue,
// reach agents and hang up; SMS come in and are answered; recordings and transcriptions finish;
// agents go on breaks. Every resource has one id for its whole life and every event follows from
// the state before it, so dashboards built on the stream stay consistent.
//
// The model is a discrete-event simulation on a virtual clock. A seed fixes the random draws and
// the clock's origin, so the event list (ids, payloads, timestamps) is the same on every run;
// `start()` only decides when each event is handed to `emu.publish`, never what it contains.

const { performance } = require('node:perf_hooks');
const crypto = require('node:crypto');
const { RealtimeError } = require('../errors');

const NIL = '00000000-0000-0000-0000-000000000000';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DIALECTS = ['documented', 'live'];
// Origin of the virtual clock when a seed is given (a fixed instant keeps timestamps identical).
const SEEDED_EPOCH = Date.UTC(2026, 0, 15, 10, 0, 0);
// Frames published per contact on average, measured over long seeded runs; they turn the
// requested rate into arrival rates. Documented agent-bound calls also fan `queue.joined` out to
// every agent's own topic, hence the per-agent term.
const FRAMES = {
  documented: { agentBase: 22, agentPerAgent: 1, conference: 8, background: 6.4 },
  live: { agentBase: 20, agentPerAgent: 0, conference: 8, background: 6.4 },
};
// Mean agent time per agent-bound call (offer + talk + wrap-up) and mean conference stay, seconds.
const AGENT_HANDLE_S = 34;
const CONFERENCE_STAY_S = 37.5;

const AGENT_NAMES = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace', 'Heidi', 'Ivan',
  'Judy', 'Mallory', 'Niaj', 'Olivia', 'Peggy', 'Rupert', 'Sybil', 'Trent', 'Victor', 'Walter',
  'Yolanda'];
const INBOUND_TEXTS = ['Hello, I need help with my order', 'What are your hours?',
  'Can I change my delivery address?', 'Has my refund been processed?',
  'My parcel arrived damaged', 'Please call me back', 'Is the store open on Sunday?',
  'I want to cancel my subscription', 'Thanks, that solved it!', 'Where is my invoice?'];
const REPLY_TEXTS = ['Thanks for reaching out! An agent will call you shortly.',
  'We are open Mon-Fri 9-5.', 'Done: your address has been updated.',
  'Your refund was issued yesterday; allow 3-5 days.', 'Sorry about that. A replacement is on its way.',
  'Glad we could help!'];
const TRANSCRIPT_LINES = [['in', 'Hi, I would like to check my order status.'],
  ['out', 'Sure, can you give me the order number?'], ['in', 'It is 4 5 7 1 2.'],
  ['out', 'Thanks. It shipped this morning and arrives tomorrow.'], ['in', 'Great, thank you.'],
  ['out', 'Anything else I can help with?'], ['in', 'No, that is all.']];

/**
 * A small seeded PRNG (mulberry32) with helpers; deterministic for a given seed string.
 */
class Random {
  #state;

  constructor(seed) {
    // FNV-1a over the seed's text, so numeric and string seeds both work.
    let h = 0x811c9dc5;
    const s = String(seed);
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    this.#state = h;
  }

  uint32() {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  float() {
    return this.uint32() / 4294967296;
  }

  int(min, max) {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  between(min, max) {
    return min + this.float() * (max - min);
  }

  chance(p) {
    return this.float() < p;
  }

  pick(list) {
    return list[Math.floor(this.float() * list.length)];
  }

  exponential(mean) {
    return -Math.log(1 - this.float()) * mean;
  }

  uuid() {
    const b = Buffer.alloc(16);
    for (let i = 0; i < 16; i += 4) b.writeUInt32BE(this.uint32(), i);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  phone() {
    return `+1555${String(this.int(0, 9999999)).padStart(7, '0')}`;
  }
}

/** Binary min-heap of timed actions ordered by (time, insertion order). */
class Agenda {
  #items = [];
  #seq = 0;

  get size() {
    return this.#items.length;
  }

  push(time, fn) {
    const items = this.#items;
    items.push({ time, seq: this.#seq++, fn });
    let i = items.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!Agenda.#before(items[i], items[p])) break;
      [items[i], items[p]] = [items[p], items[i]];
      i = p;
    }
  }

  pop() {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && Agenda.#before(items[l], items[m])) m = l;
        if (r < items.length && Agenda.#before(items[r], items[m])) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m], items[i]];
        i = m;
      }
    }
    return top;
  }

  static #before(a, b) {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }
}

function invalid(message) {
  return new RealtimeError('INVALID_OPTION', message);
}

function describe(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function normalise(options) {
  if (options === null || typeof options !== 'object') {
    throw invalid(`Expected an object for options but received ${describe(options)}`);
  }
  const {
    rate = 20, seed, dialect = 'documented', customerId, agents = 5, durationScale = 1,
    startTime, count, agentIds = [],
  } = options;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0 || rate > 1e6) {
    throw invalid(`Expected a number of events per second in (0, 1e6] for rate but received ${describe(rate)}`);
  }
  if (seed !== undefined && typeof seed !== 'string' && !(typeof seed === 'number' && Number.isFinite(seed))) {
    throw invalid(`Expected a string or finite number for seed but received ${describe(seed)}`);
  }
  if (!DIALECTS.includes(dialect)) {
    throw invalid(`Expected 'documented' or 'live' for dialect but received ${describe(dialect)}`);
  }
  if (customerId !== undefined && (typeof customerId !== 'string' || !UUID_RE.test(customerId))) {
    throw invalid(`Expected a UUID for customerId but received ${describe(customerId)}`);
  }
  if (!Number.isInteger(agents) || agents < 1 || agents > 200) {
    throw invalid(`Expected an integer from 1 to 200 for agents but received ${describe(agents)}`);
  }
  if (!Array.isArray(agentIds) || agentIds.length > agents || !agentIds.every((id) => typeof id === 'string' && UUID_RE.test(id))
    || new Set(agentIds.map((id) => id.toLowerCase())).size !== agentIds.length) {
    throw invalid(`Expected at most ${agents} distinct UUIDs (agents) for agentIds but received ${describe(agentIds)}`);
  }
  if (typeof durationScale !== 'number' || !Number.isFinite(durationScale) || durationScale <= 0 || durationScale > 1000) {
    throw invalid(`Expected a positive number up to 1000 for durationScale but received ${describe(durationScale)}`);
  }
  if (startTime !== undefined && !(typeof startTime === 'number' && Number.isFinite(startTime)) && !(startTime instanceof Date && !Number.isNaN(startTime.getTime()))) {
    throw invalid(`Expected a Date or epoch milliseconds for startTime but received ${describe(startTime)}`);
  }
  if (count !== undefined && (!Number.isInteger(count) || count < 0)) {
    throw invalid(`Expected a non-negative integer for count but received ${describe(count)}`);
  }
  const seeded = seed !== undefined;
  const effectiveSeed = seeded ? seed : crypto.randomBytes(8).toString('hex');
  let epoch;
  if (startTime !== undefined) epoch = startTime instanceof Date ? startTime.getTime() : startTime;
  else epoch = seeded ? SEEDED_EPOCH : Date.now();
  return {
    rate, seed: effectiveSeed, seeded, dialect, agents, durationScale, count,
    agentIds: agentIds.map((id) => id.toLowerCase()),
    customerId: customerId?.toLowerCase(), epoch: Math.floor(epoch),
  };
}

/**
 * The simulation proper. `next()` returns the next event (in timestamp order) as
 * `{ event_type, timestamp, topic?, data, time }` where `time` is virtual epoch milliseconds.
 */
class Simulation {
  #rng;
  #agenda = new Agenda();
  #ready = [];
  #now;
  #o;
  #live;
  #calls = new Map();
  #waiting = [];
  #conference = null;
  roster;

  constructor(options) {
    this.#o = options;
    this.#live = options.dialect === 'live';
    this.#rng = new Random(options.seed);
    this.#now = options.epoch;
    const rng = this.#rng;
    // Drawn even when given, so passing the seed's own customer id changes nothing else.
    const drawnCustomer = rng.uuid();
    const customerId = options.customerId ?? drawnCustomer;
    const agents = [];
    for (let i = 0; i < options.agents; i++) {
      const name = i < AGENT_NAMES.length ? AGENT_NAMES[i] : `Agent ${i + 1}`;
      // The id is drawn even when the caller chose it, so the rest of the run stays the same.
      const drawn = rng.uuid();
      agents.push({
        id: options.agentIds[i] ?? drawn,
        name,
        username: `${name.toLowerCase().replace(/\s+/g, '.')}@example.com`,
        extension: String(2001 + i),
        status: 'offline',
        freeSince: 0,
        onBreak: false,
        created: options.epoch - 86400000 * (30 + i),
      });
    }
    this.roster = {
      customerId,
      queueId: rng.uuid(),
      queueName: 'Support',
      ivrFlowId: rng.uuid(),
      outboundFlowId: rng.uuid(),
      conferenceFlowId: rng.uuid(),
      companyNumber: '+15559876543',
      agents,
    };
    this.#at(0, () => this.#openShift());
    this.#planArrivals();
  }

  get now() {
    return this.#now;
  }

  /** Virtual time of the next event. */
  peekTime() {
    this.#fill();
    return this.#ready[0].time;
  }

  /** The next event, removed from the stream. */
  next() {
    this.#fill();
    return this.#ready.shift();
  }

  #fill() {
    // The arrival process reschedules itself, so the agenda never runs dry.
    while (this.#ready.length === 0) {
      const item = this.#agenda.pop();
      this.#now = item.time;
      item.fn();
    }
  }

  #at(delay, fn) {
    this.#agenda.push(this.#now + Math.max(0, Math.round(delay)), fn);
  }

  // Durations in the model are in seconds of a realistic call, scaled down for a lively demo.
  #dur(minS, maxS) {
    return this.#rng.between(minS, maxS) * 1000 * this.#o.durationScale;
  }

  #stamp(ms = this.#now) {
    const iso = new Date(ms).toISOString();
    return this.#live ? iso : `${iso.slice(0, 23)}000Z`;
  }

  #topic(scope, scopeId, resource, id) {
    return `${scope}:${scopeId}:${resource}:${id}`;
  }

  #emit(eventType, data, topics) {
    const timestamp = this.#stamp();
    if (this.#live) {
      this.#ready.push({ event_type: eventType, timestamp, data, time: this.#now });
      return;
    }
    for (const topic of topics) {
      this.#ready.push({ event_type: eventType, timestamp, topic, data, time: this.#now });
    }
  }

  #customerTopic(resource, id) {
    return this.#topic('customer_id', this.roster.customerId, resource, id);
  }

  // ---- agents ----

  #openShift() {
    for (const agent of this.roster.agents) {
      this.#at(this.#dur(0.2, 2.5), () => {
        this.#setAgent(agent, 'available');
        this.#scheduleBreak(agent);
        this.#dispatch();
      });
    }
  }

  #scheduleBreak(agent) {
    this.#at(this.#dur(60, 180), () => {
      if (agent.status !== 'available') {
        this.#scheduleBreak(agent);
        return;
      }
      agent.onBreak = true;
      this.#setAgent(agent, 'away');
      this.#at(this.#dur(10, 30), () => {
        agent.onBreak = false;
        this.#setAgent(agent, 'available');
        this.#scheduleBreak(agent);
        this.#dispatch();
      });
    });
  }

  #setAgent(agent, status) {
    const previous = agent.status;
    if (previous === status) return;
    agent.status = status;
    agent.updated = this.#now;
    if (status === 'available') agent.freeSince = this.#now;
    if (this.#live) {
      this.#emit('agent_status_updated', this.#liveAgent(agent));
      return;
    }
    this.#emit('agent.status', {
      agent_id: agent.id,
      status,
      previous_status: previous,
      tm_update: this.#stamp(),
    }, [
      this.#topic('agent_id', agent.id, 'agent', agent.id),
      this.#customerTopic('agent', agent.id),
    ]);
  }

  #liveAgent(agent) {
    return {
      id: agent.id,
      customer_id: this.roster.customerId,
      username: agent.username,
      name: agent.name,
      detail: '',
      ring_method: 'ringall',
      status: agent.status,
      permission: 32,
      tag_ids: [],
      addresses: [{ type: 'extension', target: agent.extension }],
      tm_create: this.#stampOf(agent.created),
      tm_update: this.#stamp(agent.updated ?? agent.created),
      tm_delete: null,
    };
  }

  #stampOf(ms) {
    return ms === null || ms === undefined ? null : this.#stamp(ms);
  }

  #freeAgent() {
    let best = null;
    for (const agent of this.roster.agents) {
      if (agent.status !== 'available') continue;
      if (best === null || agent.freeSince < best.freeSince) best = agent;
    }
    return best;
  }

  // ---- arrivals ----

  // Three independent Poisson processes. Agent-bound work is sized to keep the agents about 85%
  // occupied (a queue that neither empties nor explodes); the conference line holds a handful of
  // people; IVR self-service calls and SMS fill the rest of the requested rate.
  #planArrivals() {
    const o = this.#o;
    const f = FRAMES[o.dialect];
    const agents = this.roster.agents.length;
    const agentFrames = f.agentBase + (this.#live ? 0 : f.agentPerAgent * agents);
    const agentRate = Math.min((0.85 * agents) / (AGENT_HANDLE_S * o.durationScale), (0.45 * o.rate) / agentFrames);
    const conferenceRate = Math.min(4 / (CONFERENCE_STAY_S * o.durationScale), (0.1 * o.rate) / f.conference);
    const rest = Math.max(0, o.rate - agentRate * agentFrames - conferenceRate * f.conference);
    const backgroundRate = Math.max(rest / f.background, o.rate * 0.05 / f.background);
    this.#process(1000 / agentRate, () => this.#agentWork());
    this.#process(1000 / conferenceRate, () => this.#conferenceCall());
    this.#process(1000 / backgroundRate, () => {
      if (this.#rng.chance(0.55)) this.#inboundCall('self');
      else this.#inboundSms();
    });
  }

  #process(meanGap, fn) {
    const step = () => {
      fn();
      this.#at(this.#rng.exponential(meanGap), step);
    };
    this.#at(500 * this.#o.durationScale + this.#rng.exponential(meanGap), step);
  }

  #agentWork() {
    const agent = this.#freeAgent();
    if (agent && this.#waiting.length === 0 && this.#rng.chance(0.25)) this.#outboundCall(agent);
    else this.#inboundCall('agent');
  }

  // ---- calls ----

  #newCall(direction, flowId, source, destination) {
    const call = {
      id: this.#rng.uuid(),
      direction,
      flowId,
      activeflowId: this.#rng.uuid(),
      source,
      destination,
      status: null,
      agent: null,
      action: null,
      executed: [],
      recording: null,
      transcribe: null,
      queuecall: null,
      hangupBy: '',
      hangupReason: '',
      created: this.#now,
      ringing: null,
      progressing: null,
      hangup: null,
      updated: this.#now,
    };
    this.#calls.set(call.id, call);
    return call;
  }

  #callTopics(call) {
    const topics = [this.#customerTopic('call', call.id)];
    if (call.agent) topics.push(this.#topic('agent_id', call.agent.id, 'call', call.id));
    return topics;
  }

  #liveCall(call) {
    return {
      id: call.id,
      customer_id: this.roster.customerId,
      owner_type: call.agent ? 'agent' : '',
      owner_id: call.agent ? call.agent.id : NIL,
      flow_id: call.flowId,
      activeflow_id: call.activeflowId,
      type: 'flow',
      master_call_id: NIL,
      chained_call_ids: [],
      recording_id: call.recording ? call.recording.id : NIL,
      recording_ids: call.recording ? [call.recording.id] : [],
      groupcall_id: NIL,
      source: { type: 'tel', target: call.source },
      destination: { type: 'tel', target: call.destination },
      status: call.status,
      action: call.action ?? this.#nilAction(),
      metadata: {},
      direction: call.direction === 'inbound' ? 'incoming' : 'outgoing',
      mute_direction: '',
      hangup_by: call.hangupBy,
      hangup_reason: call.hangupReason,
      tm_progressing: this.#stampOf(call.progressing),
      tm_ringing: this.#stampOf(call.ringing),
      tm_hangup: this.#stampOf(call.hangup),
      tm_create: this.#stamp(call.created),
      tm_update: this.#stamp(call.updated),
      tm_delete: null,
    };
  }

  #nilAction() {
    return { id: NIL, next_id: NIL, type: '', option: {}, tm_execute: null };
  }

  // Documented and live status vocabularies differ; the model keeps the live one internally.
  static #documentedStatus = {
    dialing: 'dialing', ringing: 'ringing', progressing: 'answered', terminating: 'terminating',
    canceling: 'canceling', hangup: 'hangup',
  };

  #callCreated(call, status) {
    call.status = status;
    if (status === 'ringing') call.ringing = this.#now;
    if (this.#live) {
      this.#emit('call_created', this.#liveCall(call));
      return;
    }
    this.#emit('call.created', {
      id: call.id,
      customer_id: this.roster.customerId,
      direction: call.direction,
      source: { type: 'tel', target: call.source },
      destination: { type: 'tel', target: call.destination },
      status: Simulation.#documentedStatus[status],
      tm_create: this.#stamp(call.created),
    }, this.#callTopics(call));
  }

  #callStatus(call, status) {
    const previous = call.status;
    call.status = status;
    call.updated = this.#now;
    if (status === 'ringing') call.ringing = this.#now;
    if (status === 'progressing') call.progressing = this.#now;
    if (status === 'hangup') call.hangup = this.#now;
    if (this.#live) {
      this.#emit(`call_${status}`, this.#liveCall(call));
      return;
    }
    this.#emit('call.status', {
      id: call.id,
      status: Simulation.#documentedStatus[status],
      previous_status: Simulation.#documentedStatus[previous],
      tm_update: this.#stamp(),
    }, this.#callTopics(call));
  }

  #callEnded(call, by, reason) {
    if (call.status === 'hangup') return;
    call.hangupBy = by;
    call.hangupReason = reason;
    if (this.#live && by === 'local' && call.status === 'progressing') {
      this.#callStatus(call, 'terminating');
    }
    this.#callStatus(call, 'hangup');
    if (!this.#live) {
      const answered = call.progressing !== null;
      this.#emit('call.ended', {
        id: call.id,
        customer_id: this.roster.customerId,
        direction: call.direction,
        source: { type: 'tel', target: call.source },
        destination: { type: 'tel', target: call.destination },
        status: 'hangup',
        hangup_by: by,
        hangup_reason: reason,
        duration: answered ? Math.round((this.#now - call.progressing) / 1000) : 0,
        tm_create: this.#stamp(call.created),
        tm_hangup: this.#stamp(),
      }, this.#callTopics(call));
    }
    this.#finishMedia(call);
    this.#flowEnded(call, reason === 'normal' ? 'success' : 'failed');
    this.#calls.delete(call.id);
  }

  // ---- activeflows ----

  #flowAction(call, type, name, option = {}) {
    const action = {
      id: this.#rng.uuid(), next_id: NIL, type, option, tm_execute: this.#stamp(),
    };
    const first = call.action === null;
    if (call.action) call.executed.push(call.action);
    call.action = action;
    call.actionName = name;
    if (this.#live) {
      this.#emit(first ? 'activeflow_created' : 'activeflow_updated', this.#liveFlow(call, 'running'));
      return;
    }
    this.#emit('activeflow.updated', {
      id: call.activeflowId,
      flow_id: call.flowId,
      status: 'executing',
      current_action: { id: action.id, type, name },
      tm_update: this.#stamp(),
    }, [this.#customerTopic('activeflow', call.activeflowId)]);
  }

  #liveFlow(call, status) {
    return {
      id: call.activeflowId,
      customer_id: this.roster.customerId,
      flow_id: call.flowId,
      status,
      reference_type: 'call',
      reference_id: call.id,
      reference_activeflow_id: NIL,
      on_complete_flow_id: NIL,
      current_action: call.action ?? this.#nilAction(),
      forward_action_id: NIL,
      executed_actions: call.executed.slice(),
      tm_create: this.#stamp(call.created),
      tm_update: this.#stamp(),
      tm_delete: null,
    };
  }

  #flowEnded(call, result) {
    if (call.action === null) return;
    if (this.#live) {
      this.#emit('activeflow_updated', this.#liveFlow(call, 'ended'));
      return;
    }
    this.#emit('activeflow.completed', {
      id: call.activeflowId,
      flow_id: call.flowId,
      status: 'completed',
      result,
      tm_end: this.#stamp(),
    }, [this.#customerTopic('activeflow', call.activeflowId)]);
  }

  // ---- recordings and transcriptions ----

  #startRecording(call) {
    call.recording = { id: this.#rng.uuid(), started: this.#now, created: this.#now, status: 'recording' };
    if (this.#live) {
      this.#emit('recording_started', this.#liveRecording(call));
    } else {
      this.#emit('recording.started', {
        id: call.recording.id,
        call_id: call.id,
        format: 'wav',
        tm_start: this.#stamp(),
      }, this.#recordingTopics(call));
    }
    if (this.#rng.chance(0.6)) {
      call.transcribe = { id: this.#rng.uuid(), created: this.#now, line: 0, lines: [] };
      if (this.#live) this.#emit('transcribe_created', this.#liveTranscribe(call, 'progressing'));
      this.#scheduleTranscript(call);
    }
  }

  #recordingTopics(call) {
    const topics = [this.#customerTopic('recording', call.recording.id)];
    if (call.agent) topics.push(this.#topic('agent_id', call.agent.id, 'recording', call.recording.id));
    return topics;
  }

  #liveRecording(call) {
    const rec = call.recording;
    return {
      id: rec.id,
      customer_id: this.roster.customerId,
      owner_type: call.agent ? 'agent' : '',
      owner_id: call.agent ? call.agent.id : NIL,
      activeflow_id: call.activeflowId,
      reference_type: 'call',
      reference_id: call.id,
      status: rec.status,
      format: 'wav',
      on_end_flow_id: NIL,
      tm_start: this.#stamp(rec.started),
      tm_end: this.#stampOf(rec.ended),
      tm_create: this.#stamp(rec.created),
      tm_update: this.#stamp(),
      tm_delete: null,
    };
  }

  #liveTranscribe(call, status) {
    return {
      id: call.transcribe.id,
      customer_id: this.roster.customerId,
      activeflow_id: call.activeflowId,
      on_end_flow_id: NIL,
      reference_type: 'call',
      reference_id: call.id,
      status,
      language: 'en-US',
      direction: 'both',
      provider: 'gcp',
      tm_create: this.#stamp(call.transcribe.created),
      tm_update: this.#stamp(),
      tm_delete: null,
    };
  }

  #scheduleTranscript(call) {
    const tr = call.transcribe;
    this.#at(this.#dur(3, 8), () => {
      if (call.status === 'hangup' || tr.line >= TRANSCRIPT_LINES.length) return;
      const [direction, message] = TRANSCRIPT_LINES[tr.line++];
      tr.lines.push(message);
      if (this.#live) {
        this.#emit('transcript_created', {
          id: this.#rng.uuid(),
          customer_id: this.roster.customerId,
          transcribe_id: tr.id,
          direction,
          message,
          tm_transcript: this.#stamp(this.#now - 300),
          tm_create: this.#stamp(),
        });
      }
      this.#scheduleTranscript(call);
    });
  }

  #finishMedia(call) {
    const rec = call.recording;
    if (rec && rec.status === 'recording') {
      rec.status = 'ended';
      rec.ended = this.#now;
      const seconds = Math.max(1, Math.round((this.#now - rec.started) / 1000));
      if (this.#live) {
        this.#emit('recording_finished', this.#liveRecording(call));
      } else {
        this.#emit('recording.completed', {
          id: rec.id,
          call_id: call.id,
          duration: seconds,
          format: 'wav',
          size: seconds * 16000 + 44,
          reference_url: `https://storage.voipbin.net/recordings/${rec.id}.wav`,
          tm_complete: this.#stamp(),
        }, this.#recordingTopics(call));
      }
    }
    const tr = call.transcribe;
    if (tr) {
      if (this.#live) {
        this.#emit('transcribe_done', this.#liveTranscribe(call, 'done'));
      } else {
        this.#emit('transcription.completed', {
          id: tr.id,
          call_id: call.id,
          recording_id: rec ? rec.id : null,
          language: 'en-US',
          text: tr.lines.join(' '),
          tm_complete: this.#stamp(),
        }, [this.#customerTopic('transcription', tr.id)]);
      }
    }
  }

  // ---- inbound calls through the IVR ----

  #inboundCall(intent) {
    const call = this.#newCall('inbound', this.roster.ivrFlowId, this.#rng.phone(), this.roster.companyNumber);
    this.#callCreated(call, 'ringing');
    this.#at(this.#dur(1, 4), () => {
      if (this.#rng.chance(0.05)) {
        this.#callEnded(call, 'remote', 'canceled');
        return;
      }
      this.#callStatus(call, 'progressing');
      this.#flowAction(call, 'answer', 'answer');
      this.#at(300 * this.#o.durationScale, () => {
        this.#flowAction(call, 'talk', 'welcome_message', { text: 'Welcome to Example Corp.' });
        if (this.#rng.chance(0.6)) this.#startRecording(call);
        this.#at(this.#dur(2, 5), () => this.#ivrMenu(call, intent));
      });
    });
  }

  #ivrMenu(call, intent) {
    this.#flowAction(call, 'digits_receive', 'main_menu', { duration: 5000, length: 1 });
    this.#at(this.#dur(1, 4), () => {
      if (intent === 'agent') this.#joinQueue(call);
      else this.#selfService(call);
    });
  }

  #selfService(call) {
    this.#flowAction(call, 'talk', 'order_status', { text: 'Your order has shipped.' });
    this.#at(this.#dur(4, 12), () => this.#callEnded(call, 'remote', 'normal'));
  }

  #joinQueue(call) {
    const limit = this.roster.agents.length * 2 + 2;
    if (this.#waiting.length >= limit) {
      this.#flowAction(call, 'talk', 'queue_full', { text: 'All agents are busy. Please call back later.' });
      this.#at(this.#dur(2, 4), () => this.#callEnded(call, 'local', 'busy'));
      return;
    }
    this.#flowAction(call, 'queue_join', 'support_queue', { queue_id: this.roster.queueId });
    call.queuecall = { id: this.#rng.uuid(), created: this.#now, service: null, status: 'waiting', agent: null };
    call.queued = this.#now;
    this.#waiting.push(call);
    if (this.#live) {
      this.#emit('queuecall_created', this.#liveQueuecall(call, 'initiating'));
      this.#emit('queuecall_waiting', this.#liveQueuecall(call, 'waiting'));
    } else {
      const data = {
        queue_id: this.roster.queueId,
        call_id: call.id,
        position: this.#waiting.length,
        estimated_wait: this.#estimatedWait(),
        tm_join: this.#stamp(),
      };
      const topics = [this.#customerTopic('queue', this.roster.queueId)];
      for (const agent of this.roster.agents) {
        if (agent.status !== 'offline') topics.push(this.#topic('agent_id', agent.id, 'queue', this.roster.queueId));
      }
      this.#emit('queue.joined', data, topics);
    }
    const patience = this.#dur(20, 60);
    this.#at(patience, () => {
      if (call.queuecall.status !== 'waiting') return;
      this.#leaveQueue(call);
      if (this.#live) {
        this.#emit('queuecall_abandoned', this.#liveQueuecall(call, 'abandoned'));
      } else {
        this.#emit('queue.left', {
          queue_id: this.roster.queueId,
          call_id: call.id,
          reason: 'abandoned',
          wait_time: Math.round((this.#now - call.queued) / 1000),
          tm_leave: this.#stamp(),
        }, [this.#customerTopic('queue', this.roster.queueId)]);
      }
      this.#callEnded(call, 'remote', 'abandoned');
    });
    this.#dispatch();
  }

  #estimatedWait() {
    const agents = Math.max(1, this.roster.agents.filter((a) => a.status !== 'offline').length);
    return Math.round((this.#waiting.length * 25 * this.#o.durationScale) / agents);
  }

  #leaveQueue(call) {
    const i = this.#waiting.indexOf(call);
    if (i >= 0) this.#waiting.splice(i, 1);
    call.queuecall.status = 'left';
  }

  #liveQueuecall(call, status) {
    const qc = call.queuecall;
    const waited = (qc.service ?? this.#now) - qc.created;
    return {
      id: qc.id,
      customer_id: this.roster.customerId,
      reference_type: 'call',
      reference_id: call.id,
      status,
      service_agent_id: qc.agent ? qc.agent.id : NIL,
      duration_waiting: Math.round(waited),
      duration_service: qc.service === null ? 0 : Math.round(this.#now - qc.service),
      tm_create: this.#stamp(qc.created),
      tm_service: this.#stampOf(qc.service),
      tm_update: this.#stamp(),
      tm_delete: null,
    };
  }

  // Offer waiting calls (oldest first) to the agents idle the longest.
  #dispatch() {
    while (this.#waiting.length > 0) {
      const agent = this.#freeAgent();
      if (!agent) return;
      const call = this.#waiting.shift();
      call.queuecall.status = 'connecting';
      call.queuecall.agent = agent;
      call.agent = agent;
      if (this.#live) {
        this.#emit('queuecall_connecting', this.#liveQueuecall(call, 'connecting'));
      } else {
        this.#emit('call.assigned', {
          id: call.id,
          customer_id: this.roster.customerId,
          agent_id: agent.id,
          queue_id: this.roster.queueId,
          direction: call.direction,
          source: { type: 'tel', target: call.source },
          destination: { type: 'tel', target: call.destination },
          wait_time: Math.round((this.#now - call.queued) / 1000),
          tm_assign: this.#stamp(),
        }, this.#callTopics(call));
      }
      this.#setAgent(agent, 'ringing');
      this.#at(this.#dur(1, 3), () => this.#connect(call, agent));
    }
  }

  #connect(call, agent) {
    if (call.status === 'hangup') return;
    call.queuecall.status = 'service';
    call.queuecall.service = this.#now;
    if (this.#live) {
      this.#emit('queuecall_serviced', this.#liveQueuecall(call, 'service'));
    } else {
      this.#emit('queue.connected', {
        queue_id: this.roster.queueId,
        call_id: call.id,
        agent_id: agent.id,
        wait_time: Math.round((this.#now - call.queued) / 1000),
        tm_connect: this.#stamp(),
      }, [this.#customerTopic('queue', this.roster.queueId), this.#topic('agent_id', agent.id, 'queue', this.roster.queueId)]);
    }
    this.#setAgent(agent, 'busy');
    this.#flowAction(call, 'connect', 'agent_connect', { agent_id: agent.id });
    this.#at(this.#dur(10, 45), () => {
      const by = this.#rng.chance(0.5) ? 'remote' : 'local';
      this.#callEnded(call, by, 'normal');
      if (this.#live) this.#emit('queuecall_done', this.#liveQueuecall(call, 'done'));
      this.#wrapUp(agent);
    });
  }

  #wrapUp(agent) {
    this.#at(this.#dur(2, 6), () => {
      this.#setAgent(agent, 'available');
      this.#dispatch();
    });
  }

  // ---- outbound callbacks placed by an agent ----

  #outboundCall(agent) {
    this.#setAgent(agent, 'busy');
    const call = this.#newCall('outbound', this.roster.outboundFlowId, this.roster.companyNumber, this.#rng.phone());
    call.agent = agent;
    this.#callCreated(call, 'dialing');
    this.#at(this.#dur(0.5, 1.5), () => {
      this.#callStatus(call, 'ringing');
      if (this.#rng.chance(0.3)) {
        this.#at(this.#dur(8, 15), () => {
          if (this.#live) this.#callStatus(call, 'canceling');
          this.#callEnded(call, 'local', 'noanswer');
          this.#wrapUp(agent);
        });
        return;
      }
      this.#at(this.#dur(2, 6), () => {
        this.#callStatus(call, 'progressing');
        this.#flowAction(call, 'connect', 'agent_callback', { agent_id: agent.id });
        if (this.#rng.chance(0.5)) this.#startRecording(call);
        this.#at(this.#dur(10, 30), () => {
          this.#callEnded(call, this.#rng.chance(0.5) ? 'remote' : 'local', 'normal');
          this.#wrapUp(agent);
        });
      });
    });
  }

  // ---- the conference line ----

  #conferenceCall() {
    const call = this.#newCall('inbound', this.roster.conferenceFlowId, this.#rng.phone(), '+15559870000');
    this.#callCreated(call, 'ringing');
    this.#at(this.#dur(1, 2), () => {
      this.#callStatus(call, 'progressing');
      this.#flowAction(call, 'conference_join', 'daily_standup', {});
      this.#joinConference(call);
      this.#at(this.#dur(15, 60), () => {
        this.#leaveConference(call);
        this.#callEnded(call, 'remote', 'normal');
      });
    });
  }

  #joinConference(call) {
    let conf = this.#conference;
    const first = conf === null;
    if (first) {
      conf = { id: this.#rng.uuid(), created: this.#now, members: [], status: 'progressing', ended: null };
      this.#conference = conf;
    }
    conf.members.push(call.id);
    if (this.#live) {
      this.#emit(first ? 'conference_created' : 'conference_updated', this.#liveConference(conf));
      return;
    }
    this.#emit('conference.joined', {
      conference_id: conf.id,
      call_id: call.id,
      participant_count: conf.members.length,
      tm_join: this.#stamp(),
    }, [this.#customerTopic('conference', conf.id)]);
  }

  #leaveConference(call) {
    const conf = this.#conference;
    conf.members.splice(conf.members.indexOf(call.id), 1);
    const last = conf.members.length === 0;
    if (this.#live) {
      if (!last) {
        this.#emit('conference_updated', this.#liveConference(conf));
      } else {
        conf.status = 'terminating';
        this.#emit('conference_updated', this.#liveConference(conf));
        conf.status = 'terminated';
        conf.ended = this.#now;
        this.#emit('conference_deleted', this.#liveConference(conf, true));
      }
    } else {
      this.#emit('conference.left', {
        conference_id: conf.id,
        call_id: call.id,
        participant_count: conf.members.length,
        reason: 'hangup',
        tm_leave: this.#stamp(),
      }, [this.#customerTopic('conference', conf.id)]);
      if (last) {
        this.#emit('conference.ended', {
          conference_id: conf.id,
          participant_count: 0,
          duration: Math.round((this.#now - conf.created) / 1000),
          tm_end: this.#stamp(),
        }, [this.#customerTopic('conference', conf.id)]);
      }
    }
    if (last) this.#conference = null;
  }

  #liveConference(conf, deleted = false) {
    return {
      id: conf.id,
      customer_id: this.roster.customerId,
      type: 'conference',
      status: conf.status,
      name: 'Daily stand-up',
      detail: '',
      data: {},
      timeout: 0,
      pre_flow_id: NIL,
      post_flow_id: NIL,
      conferencecall_ids: conf.members.slice(),
      recording_id: NIL,
      recording_ids: [],
      transcribe_id: NIL,
      transcribe_ids: [],
      tm_end: this.#stampOf(conf.ended),
      tm_create: this.#stamp(conf.created),
      tm_update: this.#stamp(),
      tm_delete: deleted ? this.#stamp() : null,
    };
  }

  // ---- SMS ----

  #inboundSms() {
    const from = this.#rng.phone();
    const text = this.#rng.pick(INBOUND_TEXTS);
    const id = this.#rng.uuid();
    if (this.#live) {
      this.#emit('message_created', this.#liveMessage(id, 'inbound', from, this.roster.companyNumber, text, 'received', this.#now));
    } else {
      this.#emit('message.received', {
        id,
        customer_id: this.roster.customerId,
        direction: 'inbound',
        source: { type: 'tel', target: from },
        destination: { type: 'tel', target: this.roster.companyNumber },
        text,
        tm_create: this.#stamp(),
      }, [this.#customerTopic('message', id)]);
    }
    if (!this.#rng.chance(0.7)) return;
    this.#at(this.#dur(3, 8), () => this.#replySms(from));
  }

  #replySms(to) {
    const id = this.#rng.uuid();
    const text = this.#rng.pick(REPLY_TEXTS);
    const created = this.#now;
    if (this.#live) {
      this.#emit('message_created', this.#liveMessage(id, 'outbound', this.roster.companyNumber, to, text, 'sent', created));
    } else {
      this.#emit('message.sent', {
        id,
        customer_id: this.roster.customerId,
        direction: 'outbound',
        source: { type: 'tel', target: this.roster.companyNumber },
        destination: { type: 'tel', target: to },
        text,
        status: 'sent',
        tm_create: this.#stamp(),
      }, [this.#customerTopic('message', id)]);
    }
    this.#at(this.#dur(1, 3), () => {
      const status = this.#rng.chance(0.92) ? 'delivered' : 'failed';
      if (this.#live) {
        this.#emit('message_updated', this.#liveMessage(id, 'outbound', this.roster.companyNumber, to, text, status, created));
      } else {
        this.#emit('message.delivery', { id, status, tm_update: this.#stamp() }, [this.#customerTopic('message', id)]);
      }
    });
  }

  #liveMessage(id, direction, from, to, text, status, created) {
    return {
      id,
      customer_id: this.roster.customerId,
      type: 'sms',
      source: { type: 'tel', target: from },
      targets: [{ destination: { type: 'tel', target: to }, status, parts: 1, tm_update: this.#stamp() }],
      text,
      direction,
      tm_create: this.#stamp(created),
      tm_update: this.#stamp(),
      tm_delete: null,
    };
  }
}

function strip(event) {
  const out = { event_type: event.event_type, timestamp: event.timestamp };
  if (event.topic !== undefined) out.topic = event.topic;
  out.data = event.data;
  return out;
}

/**
 * Generates the scenario's events without a server.
 * @param {object} [options] the same options as `start` plus `count` (default 100) or `until`
 *   (virtual milliseconds after the start)
 * @returns {{ event_type: string, timestamp: string, topic?: string, data: object }[]}
 *   `topic` is present in the documented dialect; live events are bare resources routed by the
 *   emulator.
 */
function generate(options = {}) {
  const o = normalise(options);
  const { until } = options;
  // Both bounds are capped so a typo cannot make a pure function run out of memory.
  if (until !== undefined && (typeof until !== 'number' || !Number.isFinite(until) || until < 0 || until > 7 * 86400000)) {
    throw invalid(`Expected milliseconds from 0 to 604800000 for until but received ${describe(until)}`);
  }
  if (o.count !== undefined && o.count > 1e7) {
    throw invalid(`Expected at most 10000000 for count but received ${o.count}`);
  }
  const count = o.count ?? (until === undefined ? 100 : 1e7);
  const sim = new Simulation(o);
  const out = [];
  const end = until === undefined ? Infinity : o.epoch + until;
  while (out.length < count && sim.peekTime() <= end) out.push(strip(sim.next()));
  return out;
}

/**
 * The scenario's fixed cast (customer, agents, queue) for the given seed and options.
 * @param {object} [options]
 */
function roster(options = {}) {
  const sim = new Simulation(normalise(options));
  const r = sim.roster;
  return {
    customerId: r.customerId,
    queueId: r.queueId,
    agents: r.agents.map((a) => ({ id: a.id, name: a.name, username: a.username, extension: a.extension })),
  };
}

/**
 * Runs the scenario against an emulator, publishing each event when its virtual time comes.
 * @param {{ publish: Function, dialect?: string }} emu
 * @param {object} [options] `rate` (events/s, default 20), `seed`, `dialect`, `customerId`,
 *   `agents` (default 5), `agentIds` (ids for the first agents), `durationScale` (default 1),
 *   `startTime`, `count` (stop after that many)
 * @returns {{ stop(): void, done: Promise<void>, readonly published: number, readonly error: Error|null,
 *   roster: object, seed: string|number }}
 */
function start(emu, options = {}) {
  if (emu === null || typeof emu !== 'object' || typeof emu.publish !== 'function') {
    throw invalid(`Expected an emulator with publish() for emu but received ${describe(emu)}`);
  }
  const o = normalise({ dialect: typeof emu.dialect === 'string' ? emu.dialect : undefined, ...options });
  const sim = new Simulation(o);
  const limit = o.count ?? Infinity;
  const wall0 = performance.now();
  let published = 0;
  let timer = null;
  let stopped = false;
  let error = null;
  let resolveDone;
  const done = new Promise((resolve) => { resolveDone = resolve; });

  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    resolveDone();
  };

  const tick = () => {
    timer = null;
    if (stopped) return;
    const now = o.epoch + (performance.now() - wall0);
    try {
      while (published < limit && sim.peekTime() <= now) {
        emu.publish(strip(sim.next()));
        published++;
      }
    } catch (err) {
      error = err;
      stop();
      return;
    }
    if (published >= limit) {
      stop();
      return;
    }
    const wait = Math.min(250, Math.max(1, sim.peekTime() - now));
    // Referenced like any running timer: a scenario keeps the process alive until stop(), until
    // `count` events are out, or until publish() throws (the emulator was stopped under it).
    timer = setTimeout(tick, wait);
  };
  tick();

  const r = sim.roster;
  return {
    stop,
    done,
    get published() { return published; },
    get error() { return error; },
    seed: o.seed,
    roster: {
      customerId: r.customerId,
      queueId: r.queueId,
      agents: r.agents.map((a) => ({ id: a.id, name: a.name, username: a.username, extension: a.extension })),
    },
  };
}

module.exports = start;
module.exports.start = start;
module.exports.generate = generate;
module.exports.roster = roster;
module.exports.Random = Random;
