'use strict';

// The dispatcher keeps the event names it saw lately and hands out the kept string for an equal
// name (lib/client/dispatch.js #name), and within one call knows a name it met by its span
// (#spanName: native mostly writes a name once per segment). Whatever the mix of names,
// written out each time or shared, every event must carry exactly the names its record holds,
// and be emitted under them.

const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
const { STRIDE, batch, dispatcher } = require('./helpers/dispatch-batch.js');

for (const share of [false, true]) {
  test(`events keep their own names through a mix of more distinct names than the dispatcher keeps${share ? ', names shared' : ''}`, () => {
    namesThroughMix(share);
  });
}

function namesThroughMix(share) {
  // 24 documented names and their live counterparts, so the kept names are evicted and found
  // again; names that are also Object.prototype members, indices or empty; one name a prefix of
  // another.
  const names = [];
  for (let i = 0; i < 24; i++) names.push({ type: `call.status${i}`, server: `call_state_${i}` });
  names.push({ type: '__proto__', server: 'constructor' }, { type: '0', server: 'toString' },
    { type: 'call.status', server: 'call.status1' }, { type: 'call', server: '' });
  const sent = [];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < names.length; i++) {
      // Each round visits every name once, in another order.
      const n = names[(i * [1, 3, 5][round] + round) % names.length];
      sent.push({ ...n, topic: `customer_id:c:call:${round}-${i}` });
    }
  }
  const emitter = new EventEmitter();
  const seen = [];
  emitter.on('event', (e) => seen.push(e));
  const byName = [];
  for (const name of ['call.status3', 'call_state_3', '__proto__', 'constructor', '0', 'toString', 'call', 'call.status1']) {
    emitter.on(name, (e) => byName.push(`${name} ${e.topic}`));
  }
  const d = dispatcher(emitter);
  // In two batches, so that names kept from the first are met again in another text.
  const half = Math.floor(sent.length / 2);
  const first = batch(sent.slice(0, half), {}, { share });
  const second = batch(sent.slice(half), {}, { share });
  // Shared, the events of one name in a call point at one span (the first call holds a whole
  // round and half of the next, so most names occur twice in it).
  const spans = new Map();
  let repeats = 0;
  sent.slice(0, half).forEach((e, i) => {
    const span = `${first[1][i * STRIDE + 1]}-${first[1][i * STRIDE + 2]}`;
    if (!spans.has(e.type)) spans.set(e.type, new Set());
    else repeats++;
    spans.get(e.type).add(span);
  });
  assert.equal(repeats, half - names.length);
  for (const [type, set] of spans) assert.equal(set.size, share ? 1 : sent.slice(0, half).filter((e) => e.type === type).length, type);
  d.onBatch(...first);
  d.onBatch(...second);

  assert.equal(seen.length, sent.length);
  seen.forEach((e, i) => {
    const want = sent[i];
    assert.equal(e.event_type, want.type, `event ${i}`);
    assert.equal(e.topic, want.topic, `event ${i}`);
    if (want.server) assert.equal(e.server_event_type, want.server, `event ${i}`);
    else assert.equal(Object.hasOwn(e, 'server_event_type'), false, `event ${i}`);
    assert.deepEqual(e.data, { n: 1 });
  });
  // Emitted under each of its names that has a listener, event_type first.
  const expected = [];
  const listened = new Set(['call.status3', 'call_state_3', '__proto__', 'constructor', '0', 'toString', 'call', 'call.status1']);
  for (const e of sent) {
    if (listened.has(e.type)) expected.push(`${e.type} ${e.topic}`);
    if (e.server && e.server !== e.type && listened.has(e.server)) expected.push(`${e.server} ${e.topic}`);
  }
  assert.deepEqual(byName, expected);
  // Per round: five listened event_types (call.status1, call.status3, __proto__, 0, call) and
  // four listened server names (call_state_3, constructor, toString, call.status1).
  assert.equal(expected.length, 27);
}
