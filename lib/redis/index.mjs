import cjs from './index.js';

export const { bridge, consume, identity, DEFAULT_STREAM } = cjs;
export default cjs;
