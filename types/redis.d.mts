// Declarations of the ESM entry of 'voip-realtime/redis' (lib/redis/index.mjs): the CommonJS
// declarations re-exported as an ES module, as types/index.d.mts does for the main entry.

import redis from './redis.js';

export * from './redis.js';
/** The CommonJS module object, as lib/redis/index.mjs exports it by default. */
export default redis;
