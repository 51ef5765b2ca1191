'use strict';
// Consumes `count` entries of `stream` (run with --expose-gc) and prints how much the heap grew
// from before the consumer started to after the last handler, both measured after a full GC,
// while the consumer is still running.
// argv: redisUrl stream count

const { consume } = require('../../lib/redis/index.js');

const [url, stream, count] = process.argv.slice(2);

async function main() {
  let handled = 0;
  let done;
  const all = new Promise((resolve) => { done = resolve; });
  global.gc();
  const before = process.memoryUsage().heapUsed;
  const c = await consume({
    redis: url, stream, group: 'g', consumer: 'c', concurrency: 16,
    handler: (e) => {
      if (typeof e.data.seq !== 'number') throw new Error('no seq');
      if (++handled === Number(count)) done();
    },
  });
  await all;
  // Let the last acknowledgements go out, then measure.
  await new Promise((resolve) => setTimeout(resolve, 100));
  global.gc();
  const grown = process.memoryUsage().heapUsed - before;
  process.stdout.write(`${JSON.stringify({ handled, acked: c.stats().acked, grownBytes: grown })}\n`);
  await c.close();
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
