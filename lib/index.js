'use strict';

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

// The emulator is only loaded when asked for, so that the client alone never pays for it.
Object.defineProperty(module.exports, 'Emulator', {
  enumerable: true,
  configurable: true,
  get() {
    return require('./emulator.js').Emulator;
  },
});
