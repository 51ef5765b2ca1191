'use strict';

// The addon is loaded (not started) here, so that a missing or broken binary is a
// NATIVE_LOAD_FAILED at require time rather than a failure at the first connect. Loading it
// starts no thread: the io thread starts with the first client, the emulator's with its start().
require('./native.js').loadBinding();

const { RealtimeClient } = require('./client.js');
const { RealtimeError, ERROR_CODES } = require('./errors.js');
const { Subscription } = require('./subscription.js');
const topicHelpers = require('./topic.js');

const topic = Object.freeze({
  parse: topicHelpers.parse,
  format: topicHelpers.format,
  customer: topicHelpers.customer,
  agent: topicHelpers.agent,
  matches: topicHelpers.matches,
  normalize: topicHelpers.normalize,
  normalise: topicHelpers.normalize,
  isUuid: topicHelpers.isUuid,
});

module.exports = { RealtimeClient, RealtimeError, Subscription, topic, ERROR_CODES };

// The emulator's JS layer (and its scenario code) is only loaded when asked for, so that a
// process that never touches it pays nothing for it.
Object.defineProperty(module.exports, 'Emulator', {
  enumerable: true,
  configurable: true,
  get() {
    return require('./emulator.js').Emulator;
  },
});
