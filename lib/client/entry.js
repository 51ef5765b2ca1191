'use strict';

// A pattern's entry in the subscription ledger (lib/client/ledger.js).

const NONE = Object.freeze([]);

/**
 * A subscribed pattern's bookkeeping: the Subscriptions holding it, the subscribe() calls
 * waiting for its acknowledgement, and its state on the wire. Nearly every pattern has one
 * holder and, once acknowledged, no waiting call, so neither gets a Set until a second one
 * comes: a Set costs about 150 bytes of heap even when empty, and at 100,000 patterns the two
 * per pattern were more than half of the client's heap.
 */
class Entry {
  given = false;
  wire = 'idle';  // 'idle' | 'sent' | 'active'
  everAcked = false;
  #calls = null;  // Set<call> | null
  #holder = null;  // Subscription | Set<Subscription> | null

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

  /** The subscribe() calls waiting for this pattern's acknowledgement; iterate, do not keep. */
  calls() {
    return this.#calls ?? NONE;
  }

  addCall(call) {
    if (this.#calls === null) this.#calls = new Set();
    this.#calls.add(call);
  }

  deleteCall(call) {
    if (this.#calls !== null && this.#calls.delete(call) && this.#calls.size === 0) this.#calls = null;
  }

  /** The waiting calls, which the entry no longer has. */
  takeCalls() {
    const c = this.#calls;
    this.#calls = null;
    return c === null ? NONE : [...c];
  }
}

module.exports = { Entry };
