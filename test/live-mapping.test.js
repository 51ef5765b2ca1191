'use strict';

// The live -> documented event table exists in two places that must agree: schema/events.js
// (which generates the typings and the table in docs/protocol-voipbin.md) and the native live
// codec, which applies it to every frame.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const schema = require('../schema/events');

const ROOT = path.resolve(__dirname, '..');

function nativeTable() {
  const source = fs.readFileSync(path.join(ROOT, 'native', 'core', 'live_names.cpp'), 'utf8');
  const start = source.indexOf('constexpr counterpart_row counterpart_table[] = {');
  assert.ok(start >= 0, 'live_names.cpp has counterpart_table');
  const body = source.slice(start, source.indexOf('};', start));
  const field = '("[^"]*"|\\{\\})';
  const row = new RegExp(`\\{${field}, ${field}, ${field}, ${field}\\}`, 'g');
  const text = (s) => (s === '{}' ? '' : s.slice(1, -1));
  return [...body.matchAll(row)].map((m) => ({
    live: text(m[1]), status: text(m[2]), direction: text(m[3]), documented: text(m[4]),
  }));
}

test('the native counterpart table is the schema table, row for row', () => {
  const expected = schema.counterparts.map((c) => ({
    live: c.live,
    status: (c.when && c.when.status) || '',
    direction: (c.when && c.when.direction) || '',
    documented: c.documented,
  }));
  assert.equal(expected.length, 21);
  assert.deepEqual(nativeTable(), expected);
});

test('every row names a live event and a documented event the schema knows', () => {
  for (const c of schema.counterparts) {
    assert.equal(schema.events[c.live]?.dialect, 'live', c.live);
    assert.equal(schema.events[c.documented]?.dialect, 'documented', c.documented);
    for (const key of Object.keys(c.when || {})) assert.ok(['status', 'direction'].includes(key), key);
  }
  // Documented events with no live counterpart, as docs/protocol-voipbin.md says.
  const mapped = new Set(schema.counterparts.map((c) => c.documented));
  const unmapped = Object.keys(schema.events).filter((n) => schema.events[n].dialect === 'documented' && !mapped.has(n));
  assert.deepEqual(unmapped, ['call.assigned', 'conference.joined', 'conference.left']);
});

test('docs/protocol-voipbin.md carries the generated table', () => {
  const docs = fs.readFileSync(path.join(ROOT, 'docs', 'protocol-voipbin.md'), 'utf8');
  for (const c of schema.counterparts) {
    const when = c.when ? Object.entries(c.when).map(([k, v]) => `\`${k}\` is \`${v}\``).join(', ') : 'always';
    assert.ok(docs.includes(`| \`${c.live}\` | ${when} | \`${c.documented}\` |`), `${c.live} -> ${c.documented}`);
  }
});
