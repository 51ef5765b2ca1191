'use strict';
// `node throw-child.js <handled|unhandled> <url>`: a listener throws on the event with seq 1.
// handled: an uncaughtException handler checks it gets that very error, then the process waits
// for seq 3 and reports what arrived. unhandled: the process must die of it, with its stack.

const { RealtimeClient } = require('../..');
const { topics } = require('./events');

const [mode, url] = process.argv.slice(2);
const say = (line) => process.stdout.write(`${line}\n`);

let thrown;
const c = new RealtimeClient({ url, token: 'throw-token', heartbeat: false });
const seqs = [];
const caught = [];

if (mode === 'handled') {
  process.on('uncaughtException', (err) => {
    caught.push(err === thrown ? 'same' : `other: ${err && err.stack}`);
  });
}

c.on('call.status', function throwingListener(e) {
  seqs.push(e.data.seq);
  if (e.data.seq === 1) {
    // Made here so its stack names this listener.
    thrown = new Error('boom-from-listener');
    throw thrown;
  }
  if (e.data.seq === 3) {
    // The rethrow happens on a later tick; report once it had its chance.
    setTimeout(() => {
      say(JSON.stringify({ seqs, caught }));
      c.close();
    }, 50);
  }
});

c.connect()
  .then(() => c.subscribe(topics.calls))
  .then(() => say('ready'))
  .catch((err) => {
    process.stderr.write(`child failed: ${err && err.stack}\n`);
    process.exitCode = 1;
  });
