'use strict';
// Hostile input at the edges of the API: options that must not reach the wire or a message, and
// event names from the server that must not reach lifecycle listeners.

const test = require('node:test');
const assert = require('node:assert/strict');
const { RealtimeClient, RealtimeError } = require('..');
const { RESERVED, emitEvent } = require('../lib/events.js');
const { EventEmitter } = require('node:events');

function invalid(options) {
  try {
    new RealtimeClient(options);
  } catch (err) {
    assert.ok(err instanceof RealtimeError);
    assert.equal(err.code, 'INVALID_OPTION');
    return err.message;
  }
  assert.fail('expected INVALID_OPTION');
}

test('maxPayload is capped at 64 MiB', () => {
  assert.equal(invalid({ maxPayload: 64 * 1024 * 1024 + 1 }),
    'Expected an integer >= 1 and <= 67108864 for maxPayload but received 67108865');
  assert.equal(invalid({ maxPayload: Number.MAX_SAFE_INTEGER }),
    'Expected an integer >= 1 and <= 67108864 for maxPayload but received 9007199254740991');
  assert.doesNotThrow(() => new RealtimeClient({ maxPayload: 64 * 1024 * 1024 }));
});

test('userAgent refuses NUL and other control characters', () => {
  for (const ua of ['a\u0000b', 'a\rb', 'a\nb', 'a\u001fb', 'a\u007fb']) {
    assert.equal(invalid({ userAgent: ua }),
      `Expected a string without control characters for userAgent but received ${JSON.stringify(ua)}`);
  }
  assert.doesNotThrow(() => new RealtimeClient({ userAgent: 'desk\tapp/1.0' }));
});

test('a token or access key that is not a string is not echoed in INVALID_OPTION', () => {
  const shown = [
    [{ token: 1234567890 }, 'a number'],
    [{ token: { jwt: 'sekret-obj' } }, 'an object'],
    [{ token: ['sekret-arr'] }, 'an array'],
    [{ token: true }, 'a boolean'],
    [{ accessKey: 98765432101n }, 'a bigint'],
    [{ token: null }, 'null'],
  ];
  for (const [options, what] of shown) {
    const name = Object.keys(options)[0];
    const message = invalid(options);
    assert.equal(message, `Expected a non-empty string without control characters for ${name} but received ${what}`);
    assert.ok(!/sekret|1234567890|98765432101/.test(message), message);
  }
});

test('a credential parameter is redacted in client.url however its name is encoded', () => {
  const cases = [
    ['ws://127.0.0.1:9/ws?to%6Ben=sekret-1&x=1', 'ws://127.0.0.1:9/ws?to%6Ben=***&x=1'],
    ['ws://127.0.0.1:9/ws?x=1&%74%6F%6B%65%6E=sekret-1', 'ws://127.0.0.1:9/ws?x=1&%74%6F%6B%65%6E=***'],
    ['ws://127.0.0.1:9/ws?access%4Bey=sekret-1', 'ws://127.0.0.1:9/ws?access%4Bey=***'],
    ['ws://127.0.0.1:9/ws?TOKEN=sekret-1', 'ws://127.0.0.1:9/ws?TOKEN=***'],
    ['ws://127.0.0.1:9/ws?tokens=public', 'ws://127.0.0.1:9/ws?tokens=public'],
  ];
  for (const [url, shown] of cases) {
    assert.equal(new RealtimeClient({ url }).url, shown);
  }
});

test('reconnect.resetAfter is validated', () => {
  assert.equal(invalid({ reconnect: { resetAfter: -1 } }),
    'Expected a number >= 0 and <= 2147483647 for reconnect.resetAfter but received -1');
  assert.doesNotThrow(() => new RealtimeClient({ reconnect: { resetAfter: 0 } }));
});

test('reserved event names: exactly the events the client emits of its own, plus EventEmitter\'s', () => {
  assert.deepEqual([...RESERVED].sort(), [
    'close', 'dialect', 'error', 'event', 'newListener', 'open', 'reconnecting', 'removeListener', 'state',
  ]);
  // A server event under each of them reaches 'event' listeners only.
  for (const name of RESERVED) {
    const emitter = new EventEmitter();
    const seen = [];
    emitter.on('event', (e) => seen.push(`event:${e.event_type}`));
    emitter.on(name, () => seen.push(name));
    emitEvent(emitter, { event_type: name, topic: 't', data: {} });
    // ('event' is emitted once, as itself: both listeners see that one emission.)
    assert.deepEqual(seen, name === 'event' ? ['event:event', 'event'] : [`event:${name}`], name);
  }
});

test('against a server that upgrades and drops, the delays grow; they start over once a connection stayed up for resetAfter', async (t) => {
  const { HostileServer } = require('./helpers/hostile-server.js');
  const { setTimeout: delay } = require('node:timers/promises');
  const server = await HostileServer.start();
  t.after(() => server.close());
  let drops = 3;
  server.onConnection = (conn) => {
    if (drops-- > 0) setImmediate(() => conn.drop());
  };
  const client = new RealtimeClient({
    url: server.url, dialect: 'documented', heartbeat: false,
    reconnect: { initialDelay: 20, jitter: 0, resetAfter: 300 },
  });
  t.after(() => client.close());
  const seen = [];
  client.on('reconnecting', (r) => seen.push([r.attempt, r.delay]));
  await client.connect();
  while (server.upgrades.length < 4 || seen.length < 3) await delay(10);
  assert.deepEqual(seen, [[1, 20], [2, 40], [3, 80]]);
  // The fourth connection stays up longer than resetAfter: the next drop starts at attempt 1.
  await delay(450);
  server.dropAll();
  while (seen.length < 4) await delay(10);
  assert.deepEqual(seen, [[1, 20], [2, 40], [3, 80], [1, 20]]);
});
