'use strict';

// The topic grammar and routing of each protocol, as the ledger and the dispatcher use them:
// `normalize(pattern)` validates (INVALID_TOPIC) and returns the normalised spelling;
// `createIndex()` makes the index events are routed through; `keysOf(pattern, members)` lists the
// keys a held pattern is indexed under; `dynamic` says whether those keys change while a pattern
// is held (a Natterbox group's members); `socketOf(pattern)` says which socket carries a pattern
// ('main', or 'messages': a Natterbox messages socket of its own).

const topicHelpers = require('../topic.js');
const { PatternIndex } = require('../events.js');
const natterbox = require('./natterbox.js');

const voipbin = Object.freeze({
  normalize: topicHelpers.normalize,
  createIndex: () => new PatternIndex(),
  keysOf: (pattern) => [pattern],
  socketOf: () => 'main',
  dynamic: false,
});

/**
 * @param {'voipbin' | 'natterbox'} protocol
 */
function grammarFor(protocol) {
  return protocol === 'natterbox' ? natterbox.grammar : voipbin;
}

module.exports = { grammarFor };
