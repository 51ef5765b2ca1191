'use strict';

// A pattern's entry in the subscription ledger (lib/client/ledger.js).

const NONE = Object.freeze([]);
const WIRE = ['idle', 'sent', 'active'];
const WIRE_MASK = 3;
const GIVEN = 4;
const EVER_ACKED = 8;

/**
 * A subscribed pattern's bookkeeping: the Subscriptions holding it, the subscribe() calls
 * waiting for its acknowledgement, and its state on the wire. Nearly every pattern has one
 * holder and, until it is acknowledged, one waiting call, so neither gets a Set until a second
 * one comes: a Set costs about 150 bytes of heap even when empty, and at 100,000 patterns the
 * two per pattern were more than half of the client's heap. A Set made for every pattern of a
 * bulk subscribe only to be dropped at its ack also outlived the young generation: the old
 * space kept the holes they left, megabytes of RSS. For the same reason the three flags share
 * one small integer (an object is 8 bytes smaller per field it does not have).
 */
class Entry {
  #state = 0;  // WIRE index | GIVEN | EVER_ACKED
  #calls = null;  // call | Set<call> (two or more) | null
  #holder = null;  // Subscription | Set<Subscription> | null

  /** Handed to native (sent, or to be sent with the next connection). */
  get given() {
    return (this.#state & GIVEN) !== 0;
  }

  set given(value) {
    this.#state = value ? this.#state | GIVEN : this.#state & ~GIVEN;
  }

  /** 'idle' | 'sent' | 'active' */
  get wire() {
    return WIRE[this.#state & WIRE_MASK];
  }

  set wire(value) {
    const i = WIRE.indexOf(value);
    if (i < 0) throw new TypeError(`unknown wire state ${value}`);
    this.#state = (this.#state & ~WIRE_MASK) | i;
  }

  /** Acknowledged at least once (on any connection). */
  get everAcked() {
    return (this.#state & EVER_ACKED) !== 0;
  }

  set everAcked(value) {
    this.#state = value ? this.#state | EVER_ACKED : this.#state & ~EVER_ACKED;
  }

  // A Set of holders always has two or more: it is made with two and turned back into the one
  // left when a release brings it down to one.
  get held() {
    return this.#holder !== null;
  }

  hold(sub) {
    const h = this.#holder;
    if (h === null) this.#holder = sub;
    else if (h instanceof Set) h.add(sub);
    else if (h !== sub) this.#holder = new Set([h, sub]);
  }

  unhold(sub) {
    const h = this.#holder;
    if (h === sub) {
      this.#holder = null;
    } else if (h instanceof Set && h.delete(sub) && h.size === 1) {
      this.#holder = h.values().next().value;
    }
  }

  /** The holders, as an iterable that later hold/unhold calls do not change. */
  holders() {
    const h = this.#holder;
    return h === null ? NONE : h instanceof Set ? [...h] : [h];
  }

  /** The holders, which the entry no longer has. */
  takeHolders() {
    const list = this.holders();
    this.#holder = null;
    return list;
  }

  /**
   * The subscribe() calls waiting for this pattern's acknowledgement, as an iterable that later
   * addCall/deleteCall calls do not change.
   */
  calls() {
    const c = this.#calls;
    return c === null ? NONE : c instanceof Set ? [...c] : [c];
  }

  // Like the holders: a Set only from the second call on, back to the call left at one.
  addCall(call) {
    const c = this.#calls;
    if (c === null) this.#calls = call;
    else if (c instanceof Set) c.add(call);
    else if (c !== call) this.#calls = new Set([c, call]);
  }

  deleteCall(call) {
    const c = this.#calls;
    if (c === call) {
      this.#calls = null;
    } else if (c instanceof Set && c.delete(call) && c.size === 1) {
      this.#calls = c.values().next().value;
    }
  }

  /** The waiting calls, which the entry no longer has. */
  takeCalls() {
    const list = this.calls();
    this.#calls = null;
    return list;
  }
}

module.exports = { Entry };
