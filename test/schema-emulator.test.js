'use strict';

// The schema and the emulator agree: the callcenter scenario runs on a real emulator in each
// dialect, everything it sends is received over the wire with the npm `ws` client, and every
// received frame validates against schema/events.js. The scenario is seeded, so
// `callcenter.generate()` with the same options is its exact published list: it gives each live
// frame its event type (bare live frames do not carry one) and the exact count per connection.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startEmulator, connect, nextEvent, delay } = require('./helpers/emulator-ws');
const callcenter = require('../lib/scenarios/callcenter.js');
const { validate, validateEvent } = require('../schema/validate.js');

const CUST = '5013bc52-da9a-11ee-844f-2fa34248de28';
// Fast and bounded: about 1.6 s of virtual (= wall) time, every kind of contact included.
const RUN = { seed: 'schema-emulator', rate: 2000, durationScale: 0.005, count: 3000, customerId: CUST };
// Resources the live server also routes on the owning agent's topics (docs/protocol-voipbin.md).
const OWNED = new Set(['call', 'groupcall', 'recording', 'conversation', 'file', 'chat']);
const T = { timeout: 60000 };

const resourceOf = (eventType) => eventType.split(/[._]/)[0];

/** Opens the customer's connection and one per agent, each with the token its topics need. */
async function openAll(t, emu, agents) {
  const customer = await connect(t, `${emu.url}?token=${emu.issueToken({ customerId: CUST, permissions: ['admin'] })}`);
  const perAgent = new Map();
  for (const agent of agents) {
    perAgent.set(agent.id, await connect(t, `${emu.url}?token=${emu.issueToken({ customerId: CUST, agentId: agent.id })}`));
  }
  return { customer, perAgent };
}

/** Runs the scenario to its end and returns its handle. */
async function runScenario(emu) {
  const handle = await emu.scenario('callcenter', RUN);
  await handle.done;
  assert.equal(handle.error, null);
  assert.equal(handle.published, RUN.count);
  return handle;
}

async function settle(peer, n) {
  await peer.waitFrames(n, 20000);
  await delay(200);
  assert.equal(peer.frames.length, n, 'no frame beyond the expected ones');
  assert.ok(peer.frames.every((f) => f.text !== undefined), 'text frames only');
}

test('documented: every callcenter event arrives once on its topic and validates, envelope included', T, async (t) => {
  const emu = await startEmulator(t, { customerId: CUST, pingInterval: 0, bufferSize: 1e6, rateLimit: 0 });
  const expected = callcenter.generate({ ...RUN, dialect: 'documented' });
  const { agents } = callcenter.roster(RUN);
  assert.equal(agents.length, 5);
  const { customer, perAgent } = await openAll(t, emu, agents);

  customer.send({ type: 'subscribe', topics: [`customer_id:${CUST}:*:*`] });
  for (const [id, peer] of perAgent) peer.send({ type: 'subscribe', topics: [`agent_id:${id}:*:*`] });
  for (const peer of [customer, ...perAgent.values()]) {
    await peer.waitFrames(1);
    assert.equal(peer.json[0].type, 'ack');
    peer.frames.length = 0;
  }

  await runScenario(emu);

  // Each event has one topic, so it reaches exactly one of the six connections, in publish order.
  const route = (e) => (e.topic.startsWith('customer_id:') ? customer : perAgent.get(e.topic.split(':')[1]));
  const want = new Map([[customer, []], ...[...perAgent.values()].map((p) => [p, []])]);
  for (const e of expected) {
    assert.ok(route(e), `a connection for ${e.topic}`);
    want.get(route(e)).push(e);
  }
  assert.ok(want.get(customer).length > 2000);
  assert.ok([...perAgent.values()].every((p) => want.get(p).length > 0), 'every agent gets events');

  const types = new Set();
  let received = 0;
  for (const [peer, events] of want) {
    await settle(peer, events.length);
    events.forEach((e, i) => {
      const text = peer.frames[i].text;
      const got = JSON.parse(text);
      assert.deepEqual(validateEvent(got, { strict: true, dialect: 'documented' }), [], text);
      // Byte for byte what the scenario published, keys in the documented order.
      assert.equal(text, JSON.stringify({ event_type: e.event_type, timestamp: e.timestamp, topic: e.topic, data: e.data }));
      types.add(got.event_type);
    });
    received += events.length;
  }
  assert.equal(received, RUN.count);
  assert.ok(types.size >= 15, [...types].join(', '));
  const s = emu.stats();
  assert.equal(s.eventsPublished, RUN.count);
  assert.equal(s.eventsSent, RUN.count);
  assert.equal(s.eventsDropped, 0);
});

for (const liveWrapper of [false, true]) {
  const form = liveWrapper ? '{type,data} wrapped' : 'bare';
  test(`live (${form}): every callcenter event arrives once per matching route and validates`, T, async (t) => {
    const emu = await startEmulator(t, { dialect: 'live', liveWrapper, customerId: CUST, pingInterval: 0, bufferSize: 1e6 });
    const expected = callcenter.generate({ ...RUN, dialect: 'live' });
    const { agents } = callcenter.roster(RUN);
    const { customer, perAgent } = await openAll(t, emu, agents);

    const subscribe = async (peer, topic) => {
      const applied = nextEvent(emu, 'subscribe', (e) => e.topics[0] === topic);
      peer.send({ type: 'subscribe', topics: [topic] });
      await applied;
    };
    await subscribe(customer, `customer_id:${CUST}:`);
    for (const [id, peer] of perAgent) await subscribe(peer, `agent_id:${id}:`);

    await runScenario(emu);

    // A scope prefix matches both topics of its scope (`...:<resource>:<id>` and
    // `...:<resource>:<event_type>:<id>`), so each event arrives twice in a row per connection.
    const want = new Map([[customer, expected], ...[...perAgent.keys()].map((id) => [perAgent.get(id), expected.filter((e) =>
      OWNED.has(resourceOf(e.event_type)) && e.data.owner_type === 'agent' && e.data.owner_id === id)])]);
    assert.ok([...perAgent.values()].every((p) => want.get(p).length > 0), 'every agent gets events');

    const types = new Set();
    let received = 0;
    for (const [peer, events] of want) {
      await settle(peer, 2 * events.length);
      events.forEach((e, i) => {
        for (const copy of [2 * i, 2 * i + 1]) {
          const text = peer.frames[copy].text;
          const frame = JSON.parse(text);
          let data = frame;
          if (liveWrapper) {
            // The wrapper names its type: validated on its own word, then checked against the list.
            assert.deepEqual(Object.keys(frame), ['type', 'data']);
            assert.deepEqual(validate(frame.type, frame.data, { strict: true, dialect: 'live' }), [], text);
            assert.equal(frame.type, e.event_type);
            data = frame.data;
          } else {
            assert.deepEqual(validate(e.event_type, frame, { strict: true, dialect: 'live' }), [], `${e.event_type} ${text}`);
          }
          assert.equal(JSON.stringify(data), JSON.stringify(e.data));
          types.add(e.event_type);
        }
      });
      received += 2 * events.length;
    }
    assert.ok(types.size >= 20, [...types].join(', '));
    const s = emu.stats();
    assert.equal(s.eventsPublished, RUN.count);
    assert.equal(s.eventsSent, received);
    assert.equal(s.eventsDropped, 0);
  });
}
