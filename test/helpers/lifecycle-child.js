'use strict';
// Child process for the lifecycle tests: `node lifecycle-child.js <mode> <url>`.
// It prints progress lines the parent waits for and must end by itself unless the mode says it
// keeps the process alive.

const { RealtimeClient } = require('../..');
const { topics } = require('./events');

const [mode, url] = process.argv.slice(2);
const base = { url, token: 'child-token', reconnect: { initialDelay: 50, jitter: 0 }, heartbeat: false };
const say = (line) => process.stdout.write(`${line}\n`);

async function main() {
  switch (mode) {
    case 'construct-only': {
      const c = new RealtimeClient(base);
      say(`constructed ${c.state}`);
      return;
    }
    case 'close-twice': {
      const c = new RealtimeClient(base);
      await c.connect();
      await c.subscribe(topics.calls);
      await Promise.all([c.close(), c.close()]);
      await c.close();
      say(`closed ${c.state}`);
      return;
    }
    case 'close-after-event': {
      const c = new RealtimeClient(base);
      await c.connect();
      await c.subscribe(topics.calls);
      const got = new Promise((resolve) => c.once('call.status', resolve));
      say('ready');
      const e = await got;
      say(`event ${e.data.seq}`);
      await c.close();
      say('closed');
      return;
    }
    case 'unref': {
      const c = new RealtimeClient(base);
      await c.connect();
      await c.subscribe(topics.calls);
      c.unref();
      say(`unrefd ${c.state}`);
      return;
    }
    case 'unref-reconnecting': {
      const c = new RealtimeClient(base);
      c.unref();
      c.connect().catch(() => {});
      c.once('reconnecting', () => say('reconnecting'));
      return;
    }
    case 'keep-alive': {
      const c = new RealtimeClient(base);
      await c.connect();
      await c.subscribe(topics.calls);
      say('ready');
      return;
    }
    case 'keep-alive-reconnecting': {
      const c = new RealtimeClient(base);
      c.connect().catch(() => {});
      c.once('reconnecting', () => say('ready'));
      return;
    }
    case 'ref-again': {
      const c = new RealtimeClient(base);
      await c.connect();
      c.unref();
      c.ref();
      say('ready');
      return;
    }
    case 'exit-connecting': {
      const c = new RealtimeClient(base);
      c.on('state', (s) => { if (s === 'connecting') process.exit(7); });
      c.connect().catch(() => {});
      return;
    }
    case 'exit-connected': {
      const c = new RealtimeClient(base);
      await c.connect();
      process.exit(7);
      return;
    }
    case 'exit-subscribed': {
      const c = new RealtimeClient(base);
      await c.connect();
      await c.subscribe(topics.calls);
      c.on('event', () => process.exit(7));
      say('ready');
      return;
    }
    case 'exit-reconnecting': {
      const c = new RealtimeClient(base);
      c.on('state', (s) => { if (s === 'reconnecting') process.exit(7); });
      c.connect().catch(() => {});
      return;
    }
    case 'exit-closing': {
      const c = new RealtimeClient(base);
      await c.connect();
      c.close();
      process.exit(7);
      return;
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

main().catch((err) => {
  process.stderr.write(`child failed: ${err && err.stack}\n`);
  process.exitCode = 1;
});
