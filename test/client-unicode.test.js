'use strict';
// Non-ASCII text and JSON escapes in documented-dialect events: the native batch carries UTF-16
// offsets, so every field must come out exactly as sent, whatever mix of ASCII-only and
// non-ASCII events shares a batch.

const test = require('node:test');
const assert = require('node:assert/strict');
const ev = require('./helpers/events');
const { makeClient, startServer, until } = require('./helpers/util');

const T = { timeout: 20000 };

// Opaque resource ids (no ':' and no whitespace, so the grammar accepts them) made of 2-, 3- and
// 4-byte UTF-8; the last one ends in a surrogate pair, so that pair sits right at the boundary
// between the topic and the timestamp in the native text.
const IDS = ['caf\u00e9-\u00fc', '\u547c\u53eb-\u4e2d\u6587', '\u{1F600}-x-\u{1F44D}\u{1F3FD}', 'id-\u{1F600}'];

test('non-ASCII data and opaque resource ids arrive exactly as sent, in order', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-unicode' });
  await client.connect();
  await client.subscribe(ev.topics.calls);
  const got = [];
  client.on('event', (e) => got.push(e));

  const texts = ['plain ascii', 'caf\u00e9 cr\u00e8me', '\u4e2d\u6587\u6d4b\u8bd5', 'smile \u{1F600}',
    '\u{1F600}', '\u00e9', 'mixed \u00e9\u4e2d\u{1F600}\u{1F44D}\u{1F3FD} end'];
  const sent = [];
  for (let seq = 0; seq < 60; seq += 1) {
    const e = ev.callStatus({ seq, extra: { text: texts[seq % texts.length] } });
    if (seq % 3 === 1) {
      // A non-ASCII opaque id in the topic, matched by the `*` pattern.
      const id = IDS[seq % IDS.length];
      e.topic = `customer_id:${ev.CUSTOMER}:call:${id}`;
      e.data.id = id;
    }
    if (seq % 5 === 2) {
      // The data field starts with a surrogate pair's key and ends with one right before '}'.
      e.data = { '\u{1F600}': seq, seq, text: e.data.text, tail: 'x\u{1F600}' };
    }
    sent.push(e);
  }
  // Some frames alone, some back to back, so batches mix ASCII-only and non-ASCII events.
  await server.send(sent[0]);
  await until(() => got.length === 1, 'the first event');
  await server.send(...sent.slice(1, 30));
  await until(() => got.length === 30, '30 events');
  await server.send(...sent.slice(30));
  await until(() => got.length === sent.length, `${sent.length} events`);
  assert.equal(got.length, sent.length);
  for (let i = 0; i < sent.length; i += 1) {
    assert.deepStrictEqual(got[i], sent[i], `event ${i}`);
  }
  assert.equal(client.stats().delivered, sent.length);
});

test('an ASCII-only batch after a non-ASCII one keeps exact offsets', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-unicode-2' });
  await client.connect();
  await client.subscribe(ev.topics.calls);
  const got = [];
  client.on('event', (e) => got.push(e));
  const a = ev.callStatus({ seq: 1, extra: { text: '\u{1F600}\u{1F600}\u{1F600}' } });
  const b = ev.callStatus({ seq: 2 });
  const c = { ...ev.callStatus({ seq: 3 }), topic: `customer_id:${ev.CUSTOMER}:call:${IDS[3]}` };
  const d = ev.callStatus({ seq: 4 });
  await server.send(a);
  await until(() => got.length === 1, 'a');
  await server.send(b);
  await until(() => got.length === 2, 'b');
  await server.send(c, d);
  await until(() => got.length === 4, 'c and d');
  assert.deepStrictEqual(got, [a, b, c, d]);
});

test('JSON escapes in event_type and topic are delivered unescaped; escaped data parses equal', T, async (t) => {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-escapes' });
  await client.connect();
  await client.subscribe(ev.topics.calls);
  const got = [];
  const byType = [];
  client.on('event', (e) => got.push(e));
  client.on('call.status', (e) => byType.push(e));

  const timestamp = '2024-01-15T10:30:05.000000Z';
  // `\u0063` is 'c', `\u0035` is '5' (the customer id's first character), `\/` is '/'.
  const escapedCustomer = `\\u0035${ev.CUSTOMER.slice(1)}`;
  const frames = [
    `{"event_type":"\\u0063all.status","timestamp":"${timestamp}",` +
      `"topic":"customer_id:${ev.CUSTOMER}:call:${ev.CALL}","data":{"seq":1}}`,
    `{"event_type":"call.status","timestamp":"${timestamp}",` +
      `"topic":"customer_id:${escapedCustomer}:\\u0063all:${ev.CALL}","data":{"seq":2}}`,
    `{"event_type":"call\\u002estatus","timestamp":"2024-01-15T10:30:05.000000Z",` +
      `"topic":"customer_id:${ev.CUSTOMER}:call:caf\\u00e9-\\ud83d\\ude00","data":{"seq":3}}`,
    `{"event_type":"call.status","timestamp":"${timestamp}",` +
      `"topic":"customer_id:${ev.CUSTOMER}:call:${ev.CALL}",` +
      '"data":{"q":"say \\"hi\\"","b":"C:\\\\dir\\\\","ls":"a\\u2028b\\u2029c","sl":"x\\/y",' +
      '"nl":"l1\\nl2\\t\\u0000","e":"\\u00e9\\ud83d\\ude00","raw":"\u2028\u00e9\u{1F600}"}}',
  ];
  await server.sendRaw(...frames);
  await until(() => got.length === 4, '4 events');
  const base = { event_type: 'call.status', timestamp, topic: `customer_id:${ev.CUSTOMER}:call:${ev.CALL}` };
  assert.deepStrictEqual(got[0], { ...base, data: { seq: 1 } });
  assert.deepStrictEqual(got[1], { ...base, data: { seq: 2 } });
  assert.deepStrictEqual(got[2], {
    ...base, topic: `customer_id:${ev.CUSTOMER}:call:caf\u00e9-\u{1F600}`, data: { seq: 3 },
  });
  assert.deepStrictEqual(got[3], {
    ...base,
    data: {
      q: 'say "hi"', b: 'C:\\dir\\', ls: 'a\u2028b\u2029c', sl: 'x/y', nl: 'l1\nl2\t\u0000',
      e: '\u00e9\u{1F600}', raw: '\u2028\u00e9\u{1F600}',
    },
  });
  // The unescaped type is the one listeners are keyed by.
  assert.deepStrictEqual(byType, got);
  assert.equal(client.stats().delivered, 4);
});
