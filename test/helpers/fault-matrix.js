'use strict';
// The fault matrix: every way a hostile server found to hurt the client, each run against a
// client in its own process (test/helpers/fault-child.js) over plain TCP or TLS. Every case
// checks the same four things: the client's memory stays bounded, its event loop stays
// responsive, the fault is reported with the documented code, and the stream goes on (an event
// sent after the fault arrives).

const assert = require('node:assert/strict');
const path = require('node:path');
const { fork } = require('node:child_process');
const { test } = require('node:test');
const { setTimeout: delay } = require('node:timers/promises');
const { HostileServer, frame, eventFrame } = require('./hostile-server.js');
const { certs } = require('./ws-server.js');

const CHILD = path.join(__dirname, 'fault-child.js');
const CUSTOMER = '5e4a0680-804e-11ec-8477-2fea5968d85b';
const CALL = '9b5c8a4e-1f0b-4c3f-9a0e-6f2d7c1b3a55';
const PATTERN = `customer_id:${CUSTOMER}:call:*`;
const TOPIC = `customer_id:${CUSTOMER}:call:${CALL}`;
const MB = 1024 * 1024;
// A 10 ms timer may fire this late at worst, on a loaded two-core machine. A client that hands JS
// unbounded batches missed a 250 ms interval for 20 s.
const MAX_LAG_MS = 1500;
const BASE_OPTIONS = { dialect: 'documented', reconnect: { initialDelay: 50, jitter: 0 }, heartbeat: false };

const good = (seq) => eventFrame(TOPIC, { seq });

/** Waits for the first message from `child` matching `predicate`. */
function message(child, predicate, what, ms = 20000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', on);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    function on(msg) {
      if (msg.kind === 'failed') {
        clearTimeout(timer);
        child.off('message', on);
        reject(new Error(`the client failed: ${msg.code} ${msg.message}`));
      } else if (predicate(msg)) {
        clearTimeout(timer);
        child.off('message', on);
        resolve(msg);
      }
    }
    child.on('message', on);
  });
}

async function until(predicate, what, ms = 20000) {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/**
 * Runs one case: the client subscribes, `attack(conn, server)` runs on that connection, then
 * `after` good events go out (on a new connection when the case expects a reconnect), and the
 * client's report comes back.
 */
async function runCase(t, secure, c) {
  const server = await HostileServer.start(secure ? { tls: certs.good() } : {});
  const subscribed = [];
  server.onSubscribed = (conn) => subscribed.push(conn);
  const child = fork(CHILD, [JSON.stringify({
    url: server.url,
    topic: PATTERN,
    options: { ...BASE_OPTIONS, ...c.options },
    ca: secure ? certs.ca() : undefined,
  })], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(async () => {
    child.kill();
    await exited;
    await server.close();
  });
  await message(child, (m) => m.kind === 'ready', 'the client to subscribe');
  const first = subscribed[0];
  await c.attack(first, server);
  let conn = first;
  if (c.reconnect) {
    await until(() => subscribed.length >= 2, 'the client to reconnect and subscribe again');
    conn = subscribed[1];
  }
  const arrived = message(child, (m) => m.kind === 'event' && m.seq === 'after', 'the event after the fault');
  await conn.write(good('after'));
  await arrived;
  const reportP = message(child, (m) => m.kind === 'report', 'the report');
  child.send('report');
  const report = await reportP;
  await exited;
  t.diagnostic(`RSS peak +${((report.peak - report.baseline) / MB).toFixed(1)} MB, kept ` +
    `+${((report.settled - report.baseline) / MB).toFixed(1)} MB, timer lag ${report.maxLag.toFixed(0)} ms, ` +
    `${report.errors.length} error reports`);
  return report;
}

/** Sums the counts of the reported errors with `code`. */
function reported(report, code) {
  return report.errors.filter((e) => e.code === code).reduce((n, e) => n + e.count, 0);
}

function checkBounds(report, { peakMb, settledMb = peakMb, maxLagMs = MAX_LAG_MS }) {
  const grew = (report.peak - report.baseline) / MB;
  const kept = (report.settled - report.baseline) / MB;
  assert.ok(grew < peakMb, `RSS grew by ${grew.toFixed(1)} MB (bound ${peakMb} MB)`);
  assert.ok(kept < settledMb, `RSS kept ${kept.toFixed(1)} MB after the case (bound ${settledMb} MB)`);
  assert.ok(report.maxLag < maxLagMs, `a 10 ms timer fired ${report.maxLag.toFixed(0)} ms late`);
}

// A close caused by a broken framing rule: the client answers with a close frame and reconnects.
function violation(bytes, reason) {
  return {
    reconnect: true,
    attack: (conn) => conn.write(bytes),
    check(report) {
      assert.deepEqual(report.closes, [{ code: 1002, willReconnect: true, error: 'PROTOCOL_ERROR' }]);
      assert.deepEqual(report.events, ['after']);
      assert.deepEqual(report.errors.map((e) => [e.code, e.count]), [['PROTOCOL_ERROR', 1]]);
      assert.equal(report.errors[0].message, `the server broke the WebSocket protocol: ${reason}`);
      checkBounds(report, { peakMb: 30 });
    },
  };
}

const FLOOD = 300000;

const CASES = {
  'malformed text frames at full speed: coalesced reports, bounded memory': {
    attack: (conn) => conn.flood(frame(1, '{x}'), FLOOD),
    check(report) {
      assert.equal(reported(report, 'MALFORMED_EVENT'), FLOOD);
      assert.ok(report.errors.every((e) => e.code === 'MALFORMED_EVENT'));
      assert.ok(report.errors.length <= FLOOD / 100, `${report.errors.length} reports for ${FLOOD} frames`);
      assert.match(report.errors[0].message, /^invalid JSON/);
      assert.deepEqual(report.events, ['after']);
      assert.deepEqual(report.closes, []);
      checkBounds(report, { peakMb: 40 });
    },
  },
  'binary frames at full speed: PROTOCOL_ERROR, coalesced': {
    attack: (conn) => conn.flood(frame(2, 'abc'), FLOOD),
    check(report) {
      assert.equal(reported(report, 'PROTOCOL_ERROR'), FLOOD);
      assert.ok(report.errors.length <= FLOOD / 100, `${report.errors.length} reports for ${FLOOD} frames`);
      assert.match(report.errors[0].message, /^unexpected binary frame of 3 bytes/);
      assert.deepEqual(report.events, ['after']);
      assert.deepEqual(report.closes, []);
      checkBounds(report, { peakMb: 40 });
    },
  },
  'acks for topics never subscribed, at full speed': {
    attack: (conn) => conn.flood(frame(1, JSON.stringify({
      type: 'ack', action: 'subscribe', topics: [`customer_id:${CUSTOMER}:message:*`], status: 'success',
    })), FLOOD / 3),
    check(report) {
      assert.deepEqual(report.events, ['after']);
      assert.deepEqual(report.closes, []);
      checkBounds(report, { peakMb: 60 });
    },
  },
  'pings while the server reads nothing: one pong waits, the peer is declared dead': {
    options: { heartbeat: { interval: 200, timeout: 200 } },
    reconnect: true,
    async attack(conn) {
      conn.stopReading();
      await conn.flood(frame(9, Buffer.alloc(125, 7)), Infinity);
    },
    check(report) {
      assert.deepEqual(report.closes, [{ code: 1006, willReconnect: true, error: 'HEARTBEAT_TIMEOUT' }]);
      assert.deepEqual(report.events, ['after']);
      checkBounds(report, { peakMb: 40 });
    },
  },
  'one dense 15 MB frame: parser memory is given back': {
    async attack(conn) {
      const filler = '0,'.repeat(7.5 * MB);
      await conn.write(frame(1, `{"event_type":"call.status","topic":"${TOPIC}","data":{"seq":"big","v":[${filler}0]}}`));
    },
    check(report) {
      assert.deepEqual(report.events, ['big', 'after']);
      assert.deepEqual(report.errors, []);
      // Reading data.seq makes the JS thread parse the 15 MB payload itself (JSON.parse of 7.5M
      // numbers): that is the listener's own work, so the lag bound here only rules out a hang.
      checkBounds(report, { peakMb: 400, settledMb: 100, maxLagMs: 10000 });
    },
  },
  'a header announcing 64 MiB, then silence and a drop: nothing reserved ahead': {
    options: { maxPayload: 64 * MB },
    reconnect: true,
    async attack(conn) {
      await conn.write(Buffer.concat([frame(1, Buffer.alloc(0), { length: 64 * MB - 1 }), Buffer.from('{"event_type"')]));
      await delay(300);
      conn.drop();
    },
    check(report) {
      assert.deepEqual(report.closes, [{ code: 1006, willReconnect: true, error: 'CLOSED' }]);
      assert.deepEqual(report.events, ['after']);
      checkBounds(report, { peakMb: 20 });
    },
  },
  'a header beyond maxPayload: PAYLOAD_TOO_LARGE at once': {
    reconnect: true,
    attack: (conn) => conn.write(frame(1, Buffer.alloc(0), { length: 2n ** 62n })),
    check(report) {
      assert.deepEqual(report.closes, [{ code: 1009, willReconnect: true, error: 'PAYLOAD_TOO_LARGE' }]);
      assert.deepEqual(report.events, ['after']);
      checkBounds(report, { peakMb: 20 });
    },
  },
  'a masked server frame: PROTOCOL_ERROR': violation(frame(1, '{}', { mask: true }), 'The WebSocket frame was masked'),
  'a reserved opcode: PROTOCOL_ERROR': violation(frame(3, 'x'), 'The WebSocket frame contained an illegal opcode'),
  'reserved bits set: PROTOCOL_ERROR': violation(frame(1, '{}', { rsv: 4 }), 'The WebSocket frame contained illegal reserved bits'),
  'a close frame with code 1005: PROTOCOL_ERROR': violation(frame(8, Buffer.from([0x03, 0xed])), 'The WebSocket close frame reason code was invalid'),
  'frames of no known shape are reported; the events around them arrive': {
    async attack(conn) {
      await conn.write(frame(1, '{"foo":1}'));
      await conn.write(good('mid'));
      await conn.write(frame(1, JSON.stringify({ event_type: 'call.status', topic: TOPIC, data: 5 })));
    },
    check(report) {
      assert.deepEqual(report.errors.map((e) => [e.code, e.count, e.message]), [
        ['MALFORMED_EVENT', 1, 'no event_type or type field'],
        ['MALFORMED_EVENT', 1, 'data is not an object'],
      ]);
      assert.deepEqual(report.events, ['mid', 'after']);
      checkBounds(report, { peakMb: 20 });
    },
  },
  'duplicate keys: the last one wins, as in JSON.parse': {
    attack: (conn) => conn.write(frame(1, `{"event_type":"call.status","topic":"customer_id:${CUSTOMER}:message:x",` +
      `"data":{"seq":"first"},"topic":"${TOPIC}","data":{"seq":"last"}}`)),
    check(report) {
      assert.deepEqual(report.events, ['last', 'after']);
      assert.deepEqual(report.errors, []);
      checkBounds(report, { peakMb: 20 });
    },
  },
};

/** Declares every case of the matrix over plain TCP (`secure` false) or TLS. */
function defineFaultMatrix(secure) {
  const label = secure ? 'wss' : 'ws';
  for (const [name, c] of Object.entries(CASES)) {
    test(`${label}: ${name}`, { timeout: 60000 }, async (t) => {
      const report = await runCase(t, secure, c);
      c.check(report);
    });
  }
}

module.exports = { defineFaultMatrix };
