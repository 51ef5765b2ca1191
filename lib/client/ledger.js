'use strict';

// The subscription ledger: which patterns are held by which Subscriptions, what is on the wire,
// which subscribe()/unsubscribe() calls wait for an answer, and how acks and refusals settle
// them. It never touches the socket itself: it hands pattern lists to the native handle the
// Connection owns.

const { RealtimeError } = require('../errors.js');
const {
  namingTopics, serverFrame, closedError, normaliseTopics, patternList,
} = require('./records.js');
const {
  Subscription, CREATE, RELEASE, END, HOLDS,
} = require('../subscription.js');
const { Entry } = require('./entry.js');

/**
 * The subscription book of one client.
 *
 * `conn` is the client's Connection (read: `native`, `final`, `state`, `dialect`, `opts`);
 * `hooks` are the facade's: `indexChanged()` (routing must be rebuilt), `refreshState()`,
 * `reportError(err)`; `grammar` the protocol's (lib/client/grammar.js: `socketOf` says which
 * patterns live on sockets of their own); `messages` the MessagesSockets those patterns open
 * (lib/client/messages.js), null for VoIPBIN.
 */
class Ledger {
  /** pattern -> Entry */
  entries = new Map();
  /** Natterbox group pattern -> its members' user topics (from native `members` records) */
  members = new Map();
  #toFlush = new Set();
  #flushScheduled = false;
  #flushGroups = [];     // new patterns per subscribe() call, for one message per call (live)
  #calls = new Set();
  #unsubCalls = new Set();
  #outstanding = [];
  #conn;
  #hooks;
  #owner;

  #socketOf;
  #messages;

  constructor(conn, hooks, grammar, messages) {
    this.#conn = conn;
    this.#hooks = hooks;
    this.#socketOf = grammar.socketOf;
    this.#messages = messages;
    this.#owner = {
      interestChanged: () => hooks.indexChanged(),
      release: (sub) => this.release(sub),
    };
  }

  /** Subscribe() calls and unsubscribe() calls waiting for the server. */
  get pending() {
    return this.#calls.size + this.#unsubCalls.size;
  }

  /** subscribe() calls waiting for their answer. */
  get subscribing() {
    return this.#calls.size;
  }

  /** Active (acknowledged) patterns, normalised and sorted. */
  activeTopics() {
    const out = [];
    for (const [p, e] of this.entries) if (e.everAcked && e.held) out.push(p);
    return out.sort();
  }

  /** Whether some held pattern is acknowledged on the current connection. */
  anyActive() {
    for (const e of this.entries.values()) {
      if (e.wire === 'active' && e.held) return true;
    }
    return false;
  }

  /**
   * Books a subscribe() call for validated, normalised patterns; resolves with its Subscription
   * once every pattern is acknowledged.
   */
  subscribe(list) {
    return new Promise((resolve, reject) => {
      const sub = new Subscription(CREATE, this.#owner, list);
      const call = { sub, patterns: list, waiting: new Set(), resolve, reject, timer: null };
      let inFlight = false;
      const fresh = [];
      for (const p of list) {
        let e = this.entries.get(p);
        if (!e) {
          e = new Entry();
          this.entries.set(p, e);
          this.#toFlush.add(p);
          fresh.push(p);
        }
        e.hold(sub);
        if (e.wire !== 'active') {
          e.addCall(call);
          call.waiting.add(p);
          if (e.wire === 'sent') inFlight = true;
        }
      }
      if (fresh.length > 0) this.#flushGroups.push(fresh);
      this.#hooks.indexChanged();
      if (call.waiting.size === 0) {
        resolve(sub);
        return;
      }
      this.#calls.add(call);
      if (inFlight) this.#startAckTimer(call);
      this.scheduleFlush();
    });
  }

  /** Removes every hold on validated patterns and tells the server; see RealtimeClient#unsubscribe. */
  unsubscribe(list) {
    const send = [];
    const interrupted = new Map();
    for (const p of list) {
      const e = this.entries.get(p);
      if (!e) continue;
      for (const call of e.calls()) interrupted.set(call, p);
      for (const sub of e.takeHolders()) sub[RELEASE](p);
      if (this.#forget(p, e)) send.push(p);
    }
    for (const [call, p] of interrupted) {
      this.#failCall(call, closedError(`unsubscribe() removed ${p} before the server acknowledged it`), []);
    }
    this.#hooks.indexChanged();
    this.#hooks.refreshState();
    return this.#sendUnsubscribe(send);
  }

  scheduleFlush() {
    if (this.#flushScheduled || !this.#conn.native) return;
    this.#flushScheduled = true;
    process.nextTick(() => this.flush());
  }

  // Sends every pattern subscribed in this tick in one native call (one wire message). The live
  // server answers a refused topic by closing the connection, so there each subscribe() call is
  // a native call of its own: native sends them one at a time and blames a close on exactly one.
  flush() {
    this.#flushScheduled = false;
    const groups = this.#flushGroups;
    this.#flushGroups = [];
    const native = this.#conn.native;
    if (!native || this.#conn.final || this.#toFlush.size === 0) return;
    const batches = [];
    if (this.#conn.dialect === 'live') {
      for (const group of groups) {
        const list = group.filter((p) => this.#toFlush.delete(p));
        if (list.length > 0) batches.push(list);
      }
    }
    if (this.#toFlush.size > 0) batches.push([...this.#toFlush]);
    this.#toFlush.clear();
    for (const list of batches) {
      for (const p of list) this.entries.get(p).given = true;
      const main = this.#onOwnSockets(list);
      if (main.length > 0) native.subscribe(main);
    }
  }

  // Opens the sockets of the patterns that have their own (Natterbox messages) and returns the
  // others. A socket that cannot start refuses its pattern.
  #onOwnSockets(list) {
    if (!this.#messages) return list;
    const main = [];
    for (const p of list) {
      if (this.#socketOf(p) !== 'messages') {
        main.push(p);
        continue;
      }
      const err = this.#messages.subscribe(p);
      if (err) this.#refuse(err.code, err.message, [p], 'subscribe');
    }
    return main;
  }

  /** A messages socket dropped and reconnects: its pattern waits for its resubscribe. */
  socketLost(pattern) {
    this.#outstanding = this.#outstanding.filter((m) => !m.topics.has(pattern));
    const e = this.entries.get(pattern);
    if (!e) return;
    e.wire = 'idle';
    for (const call of e.calls()) {
      if (call.timer) clearTimeout(call.timer);
      call.timer = null;
    }
    this.#hooks.refreshState();
  }

  /** A messages socket ended for good (AUTH_FAILED, ...): its pattern is refused with that error. */
  socketFailed(pattern, err) {
    this.#outstanding = this.#outstanding.filter((m) => !m.topics.has(pattern));
    if (this.entries.has(pattern)) {
      this.#refuse(err.code, err.message, [pattern], 'subscribe', { status: err.status, cause: err.cause });
    }
  }

  /** A group's members, as native learnt them from its snapshot. */
  setMembers(pattern, topics) {
    if (!this.entries.has(pattern) || !Array.isArray(topics)) return;
    this.members.set(pattern, topics.filter((t) => typeof t === 'string'));
    this.#hooks.indexChanged();
  }

  /**
   * Native put a subscribe or unsubscribe for these (normalised) patterns on the wire;
   * `request` is its id when the protocol numbers requests (answers carry it back).
   */
  onSent(action, topics, request) {
    if (topics.length === 0) return;
    this.#outstanding.push({ action, topics: new Set(topics), request: typeof request === 'number' ? request : null });
    if (action !== 'subscribe') return;
    for (const p of topics) {
      const e = this.entries.get(p);
      if (!e || e.wire === 'active') continue;
      e.wire = 'sent';
      for (const call of e.calls()) this.#startAckTimer(call);
    }
  }

  // In the live dialect the answer is the settle time itself, so the wait starts after it.
  #startAckTimer(call) {
    if (call.timer) return;
    const opts = this.#conn.opts;
    const ms = opts.ackTimeout + (this.#conn.dialect === 'live' ? opts.settleTime : 0);
    call.timer = setTimeout(() => {
      call.timer = null;
      const topics = [...call.waiting];
      this.#failCall(call, new RealtimeError('ACK_TIMEOUT',
        `The server did not acknowledge the subscription to ${topics.join(', ')} within ${ms} ms`,
        { topics, action: 'subscribe' }), []);
      this.#hooks.refreshState();
    }, ms);
    call.timer.unref();
  }

  /**
   * `auto` decided the live dialect: a subscribe in flight settles settleTime after the live
   * prefixes went out (now), so its wait for the answer restarts, extended like any live one.
   */
  liveDecided() {
    for (const call of this.#calls) {
      if (!call.timer) continue;
      clearTimeout(call.timer);
      call.timer = null;
      this.#startAckTimer(call);
    }
  }

  // Finds the wire message an ack or error answers: by its request id, by its topics, else the
  // oldest of its action.
  #takeOutstanding(action, topics, request) {
    const list = this.#outstanding;
    let idx = typeof request === 'number' ? list.findIndex((m) => m.request === request) : -1;
    if (idx >= 0) return list[idx];
    if (topics.length > 0) {
      idx = list.findIndex((m) => (!action || m.action === action) && topics.some((t) => m.topics.has(t)));
    } else {
      idx = list.findIndex((m) => !action || m.action === action);
    }
    if (idx < 0) return null;
    return list[idx];
  }

  /** A server record (ack or error) handed over by native. */
  onServer(rec) {
    const action = typeof rec.action === 'string' ? rec.action : '';
    const topics = normaliseTopics(rec.topics, this.entries);
    const msg = this.#takeOutstanding(action, topics, rec.request);
    if (rec.type === 'ack') {
      const acked = topics.length > 0 ? topics : (msg ? [...msg.topics] : []);
      if (msg) {
        for (const t of acked) msg.topics.delete(t);
        if (msg.topics.size === 0) this.#outstanding.splice(this.#outstanding.indexOf(msg), 1);
      }
      if ((msg ? msg.action : action) === 'unsubscribe') this.#ackUnsubscribe(acked);
      else this.#ackSubscribe(acked);
      return true;
    }
    if (rec.type !== 'error') return false;
    const code = typeof rec.code === 'string' && rec.code ? rec.code : 'INVALID_MESSAGE';
    const message = typeof rec.message === 'string' && rec.message ? rec.message : code;
    const refused = topics.length > 0 ? topics : (msg ? [...msg.topics] : []);
    const effective = msg ? msg.action : action;
    const frame = serverFrame(rec.raw);
    // An error answers its whole message: topics it does not name are taken as accepted.
    const accepted = msg ? [...msg.topics].filter((t) => !refused.includes(t)) : [];
    if (msg) this.#outstanding.splice(this.#outstanding.indexOf(msg), 1);
    if (effective === 'unsubscribe') {
      this.#failUnsubscribe(code, message, refused);
      return true;
    }
    if (!msg && !refused.some((t) => this.entries.has(t))) {
      this.#hooks.reportError(new RealtimeError(code, namingTopics(code, message, refused),
        { topics: refused, action: effective || undefined, frame }));
      return true;
    }
    this.#refuse(code, message, refused, effective || 'subscribe', { frame });
    if (accepted.length > 0) this.#ackSubscribe(accepted);
    return true;
  }

  #ackSubscribe(topics) {
    for (const p of topics) {
      const e = this.entries.get(p);
      if (!e || e.wire === 'active') continue;
      e.wire = 'active';
      e.everAcked = true;
      for (const call of e.takeCalls()) {
        call.waiting.delete(p);
        if (call.waiting.size === 0) this.#resolveCall(call);
      }
    }
    this.#hooks.refreshState();
  }

  // `details` go on every error made (the server's frame, an HTTP status).
  #refuse(code, message, refused, action, details = {}) {
    const orphaned = [];
    const failing = new Map();
    for (const p of refused) {
      const e = this.entries.get(p);
      if (!e) continue;
      for (const call of e.calls()) {
        if (!failing.has(call)) failing.set(call, []);
        failing.get(call).push(p);
      }
    }
    for (const [call, mine] of failing) {
      this.#failCall(call, new RealtimeError(code, namingTopics(code, message, mine), { ...details, topics: mine, action }), mine);
    }
    // Patterns held by subscriptions that had already resolved (a resubscribe after a reconnect
    // was refused): those subscriptions lose them, and the error goes to 'error'.
    for (const p of refused) {
      const e = this.entries.get(p);
      if (!e) continue;
      for (const sub of e.takeHolders()) sub[RELEASE](p);
      orphaned.push(p);
      this.#forget(p, e, true);
    }
    this.#hooks.indexChanged();
    if (orphaned.length > 0) {
      this.#hooks.reportError(new RealtimeError(code, namingTopics(code, message, orphaned), { ...details, topics: orphaned, action }));
    }
    this.#hooks.refreshState();
  }

  // Rejects a pending subscribe and releases everything it held (all or nothing). `refused`
  // patterns were never subscribed on the server and are only dropped locally.
  #failCall(call, err, refused) {
    if (!this.#calls.delete(call)) return;
    if (call.timer) clearTimeout(call.timer);
    call.timer = null;
    const send = [];
    for (const p of call.patterns) {
      const e = this.entries.get(p);
      if (!e) continue;
      e.deleteCall(call);
      e.unhold(call.sub);
      if (!e.held) {
        if (this.#forget(p, e, refused.includes(p))) send.push(p);
      }
    }
    call.sub[END]();
    this.#hooks.indexChanged();
    const native = this.#conn.native;
    if (send.length > 0 && native && !this.#conn.final) native.unsubscribe(send);
    call.reject(err);
  }

  #resolveCall(call) {
    if (!this.#calls.delete(call)) return;
    if (call.timer) clearTimeout(call.timer);
    call.timer = null;
    call.resolve(call.sub);
  }

  // Forgets a pattern nobody holds. Returns true when the server must be told (unsubscribe);
  // refused patterns and patterns never handed to native need no message.
  #forget(p, e, refused = false) {
    this.entries.delete(p);
    this.members.delete(p);
    if (this.#toFlush.delete(p)) return false;
    if (!e.given) return false;
    // A pattern with a socket of its own is unsubscribed by closing that socket.
    if (this.#messages && this.#socketOf(p) === 'messages') {
      this.#messages.release(p);
      return false;
    }
    if (refused) {
      const native = this.#conn.native;
      if (native && !this.#conn.final) native.drop([p]);
      return false;
    }
    return true;
  }

  /** Subscription#unsubscribe(): drops that Subscription's holds. */
  release(sub) {
    const send = [];
    for (const p of [...sub[HOLDS]]) {
      const e = this.entries.get(p);
      sub[RELEASE](p);
      if (!e) continue;
      e.unhold(sub);
      if (!e.held && this.#forget(p, e)) send.push(p);
    }
    sub[END]();
    this.#hooks.indexChanged();
    this.#hooks.refreshState();
    return this.#sendUnsubscribe(send);
  }

  #sendUnsubscribe(list) {
    const native = this.#conn.native;
    if (list.length === 0 || !native || this.#conn.final) return Promise.resolve();
    native.unsubscribe(list);
    const state = this.#conn.state;
    if (state !== 'connected' && state !== 'subscribed') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const call = { waiting: new Set(list), resolve, reject, timer: null };
      const ms = this.#conn.opts.ackTimeout;
      call.timer = setTimeout(() => {
        this.#unsubCalls.delete(call);
        reject(new RealtimeError('ACK_TIMEOUT',
          `The server did not acknowledge the unsubscribe from ${list.join(', ')} within ${ms} ms`,
          { topics: [...call.waiting], action: 'unsubscribe' }));
      }, ms);
      call.timer.unref();
      this.#unsubCalls.add(call);
    });
  }

  #ackUnsubscribe(topics) {
    for (const call of [...this.#unsubCalls]) {
      for (const t of topics) call.waiting.delete(t);
      if (call.waiting.size === 0) {
        clearTimeout(call.timer);
        this.#unsubCalls.delete(call);
        call.resolve();
      }
    }
  }

  #failUnsubscribe(code, message, topics) {
    let tied = false;
    for (const call of [...this.#unsubCalls]) {
      const mine = topics.filter((t) => call.waiting.has(t));
      if (mine.length === 0 && topics.length > 0) continue;
      tied = true;
      clearTimeout(call.timer);
      this.#unsubCalls.delete(call);
      call.reject(new RealtimeError(code, message, { topics: mine.length ? mine : [...call.waiting], action: 'unsubscribe' }));
      if (topics.length === 0) break;
    }
    if (!tied) this.#hooks.reportError(new RealtimeError(code, message, { topics, action: 'unsubscribe' }));
  }

  #settleUnsubscribes() {
    for (const call of this.#unsubCalls) {
      clearTimeout(call.timer);
      call.resolve();
    }
    this.#unsubCalls.clear();
  }

  // Every connection starts without subscriptions on the server: native resends the active set
  // with the next 'open', so acks are awaited again.
  connectionLost() {
    const own = (p) => this.#socketOf(p) !== 'main';
    this.#outstanding = this.#outstanding.filter((m) => [...m.topics].some(own));
    for (const [p, e] of this.entries) if (e.wire !== 'idle' && !own(p)) e.wire = 'idle';
    for (const call of this.#calls) {
      if (call.timer) clearTimeout(call.timer);
      call.timer = null;
    }
    this.#settleUnsubscribes();
  }

  /** The client ended: every waiting call is rejected and every Subscription ends. */
  finish(error) {
    this.connectionLost();
    const calls = [...this.#calls];
    this.#calls.clear();
    for (const call of calls) {
      if (call.timer) clearTimeout(call.timer);
      call.sub[END]();
      // The error the client ended with (AUTH_FAILED 401, ...) itself; CLOSED after close().
      call.reject(error || closedError('The client closed before the subscription was acknowledged'));
    }
    for (const e of this.entries.values()) for (const sub of e.holders()) sub[END]();
    this.entries.clear();
    this.members.clear();
    this.#toFlush.clear();
  }
}

module.exports = {
  Ledger, patternList, normaliseTopics, closedError,
};
