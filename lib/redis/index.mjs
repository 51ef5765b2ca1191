import cjs from './index.js';

export const { bridge, consume, Bridge, Consumer, RedisSink, identity, DEFAULT_STREAM } = cjs;
export default cjs;
