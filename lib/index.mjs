import cjs from './index.js';

export const { RealtimeClient, RealtimeError, Subscription, topic, ERROR_CODES } = cjs;
export const Emulator = cjs.Emulator;
export default cjs;
