'use strict';

// voip-realtime/redis: the bridge from a RealtimeClient into Redis Streams, and the processor
// helper that consumes them. Loading this module does not load ioredis; the first bridge() or
// consume() given a URL does.

const { Bridge, identity } = require('../bridge/index.js');
const { RedisSink, DEFAULT_STREAM } = require('./sink.js');
const { consume } = require('./consume.js');

const SINK_OPTIONS = ['redis', 'stream', 'maxlen', 'streamBy', 'dedupeWindow'];

/**
 * Starts appending every event `client` delivers to a Redis stream. Resolves once Redis answered
 * (the credential is proved); rejects with AUTH_FAILED, CONNECT_FAILED or INVALID_OPTION.
 * @param {{ client: object, redis: string | object, stream?: string, maxlen?: number,
 *   streamBy?: 'none' | 'resource', dedupeWindow?: number, batchSize?: number, highWaterMark?: number,
 *   retry?: object, onError?: (err: Error) => void }} options
 * @returns {Promise<Bridge>}
 */
async function bridge(options) {
  const o = options ?? {};
  const sinkOptions = {};
  for (const key of SINK_OPTIONS) if (o[key] !== undefined) sinkOptions[key] = o[key];
  const sink = new RedisSink(sinkOptions);
  const { client, batchSize, highWaterMark, retry, onError } = o;
  let b;
  try {
    b = new Bridge({ client, sink, batchSize, highWaterMark, retry, onError });
    await sink.ready();
  } catch (err) {
    await sink.close();
    throw err;
  }
  return b.start();
}

module.exports = { bridge, consume, identity, DEFAULT_STREAM };
