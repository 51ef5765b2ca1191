'use strict';
// The reader's room (native/core/ws_frame.h) grows with a large message and with reads that
// fill it, and goes back down once the buffer is empty. Messages far larger than the room, with
// megabytes of small events right behind them, arrive whole and in order, three times over on
// one connection, while the room grows and shrinks around them.

const test = require('node:test');
const assert = require('node:assert/strict');
const ev = require('./helpers/events');
const { makeClient, startServer, until } = require('./helpers/util');

const T = { timeout: 60000 };

// About 1 KB of data per event, different for every seq.
function small(seq) {
  return ev.callStatus({ seq, extra: { pad: `${seq}-`.repeat(400).slice(0, 900) } });
}

async function subscribed(t) {
  const server = await startServer(t);
  const client = makeClient(t, { url: server.url, token: 'tok-room' });
  const got = [];
  const errors = [];
  client.on('event', (e) => got.push(e));
  client.on('error', (e) => errors.push(e));
  await client.connect();
  await client.subscribe(ev.topics.calls);
  return { server, client, got, errors };
}

for (const mb of [1, 3]) {
  test(`${mb} MB message then 3 MB of small events: every event arrives once, in order, intact`, T, async (t) => {
    const { server, client, got, errors } = await subscribed(t);
    const sent = [ev.callStatus({ seq: 0, extra: { pad: 'L'.repeat(mb << 20) } })];
    for (let seq = 1; sent.length < 3001; seq += 1) sent.push(small(seq));
    for (let round = 0; round < 3; round += 1) {
      got.length = 0;
      await server.send(...sent);
      await until(() => got.length >= sent.length, `${sent.length} events of round ${round}`, 30000);
      assert.equal(got.length, sent.length);
      for (let i = 0; i < sent.length; i += 1) assert.deepStrictEqual(got[i], sent[i], `round ${round}, event ${i}`);
    }
    assert.deepStrictEqual(errors, []);
    assert.equal(client.stats().malformed, 0);
    assert.equal(client.stats().delivered, 3 * sent.length);
  });
}
