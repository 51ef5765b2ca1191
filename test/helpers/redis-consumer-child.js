'use strict';
// A processor that dies: consumes `stream` as `consumer` in `group`, acknowledges the first
// `ack` events (printing "acked <seq>" after each), then holds every later one unacknowledged
// (printing "held <seq>") until the parent kills it with SIGKILL.
// argv: redisUrl stream group consumer ack

const { consume } = require('../../lib/redis/index.js');

const [url, stream, group, consumer, ack] = process.argv.slice(2);
let handled = 0;
consume({
  redis: url,
  stream,
  group,
  consumer,
  concurrency: 8,
  idleTimeout: 60000,
  handler: (e) => {
    handled++;
    if (handled <= Number(ack)) {
      process.stdout.write(`acked ${e.data.seq}\n`);
      return undefined;
    }
    process.stdout.write(`held ${e.data.seq}\n`);
    return new Promise(() => {});
  },
}).then(() => process.stdout.write('ready\n'), (err) => {
  process.stderr.write(`${err.code}: ${err.message}\n`);
  process.exit(1);
});
