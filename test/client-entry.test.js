'use strict';
// A ledger entry (lib/client/entry.js) keeps one holder and one waiting call without a Set, and
// a Set only while there are two or more.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Entry } = require('../lib/client/entry.js');

test('waiting calls: one is kept as it is, a second makes a Set, back to one when released', () => {
  const e = new Entry();
  const a = { name: 'a' };
  const b = { name: 'b' };
  assert.deepEqual([...e.calls()], []);
  e.addCall(a);
  e.addCall(a);
  assert.deepEqual([...e.calls()], [a]);
  e.addCall(b);
  assert.deepEqual([...e.calls()], [a, b]);
  // What calls() returned does not change with later additions and removals.
  const seen = e.calls();
  e.deleteCall(a);
  assert.deepEqual([...seen], [a, b]);
  assert.deepEqual([...e.calls()], [b]);
  e.deleteCall(a);
  assert.deepEqual([...e.calls()], [b]);
  e.addCall(a);
  assert.deepEqual(e.takeCalls(), [b, a]);
  assert.deepEqual([...e.calls()], []);
  e.addCall(a);
  assert.deepEqual(e.takeCalls(), [a]);
  assert.deepEqual(e.takeCalls(), []);
  e.addCall(b);
  e.deleteCall(b);
  assert.deepEqual([...e.calls()], []);
});

test('holders: one is kept as it is, a second makes a Set, back to one when released', () => {
  const e = new Entry();
  const s = { name: 's' };
  const u = { name: 'u' };
  assert.equal(e.held, false);
  e.hold(s);
  e.hold(s);
  assert.deepEqual([...e.holders()], [s]);
  e.hold(u);
  assert.deepEqual([...e.holders()], [s, u]);
  e.unhold(s);
  assert.deepEqual([...e.holders()], [u]);
  assert.deepEqual(e.takeHolders(), [u]);
  assert.equal(e.held, false);
});
