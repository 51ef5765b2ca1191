'use strict';

// The events a client speaking Natterbox's CTI socket and messages socket delivers
// (docs/protocol-natterbox.md), in the node format of schema/events.js. `topic: 'messages'`
// marks events of the messages socket (topic org:O:user:U:messages). types/natterbox.d.ts and the Natterbox part of
// schema/EVENTS.md are generated from this file by schema/generate.js.

const str = (extra) => ({ type: 'string', ...extra });
const int = (extra) => ({ type: 'integer', ...extra });
const oneOf = (values, extra) => ({ type: 'string', enum: values, ...extra });
const opt = (node) => ({ ...node, optional: true });

const definitions = {
  UserPresenceData: {
    type: 'object',
    additional: true,
    description: 'One user\'s presence as a CTI `response` element carries it (the model document\'s ' +
      'UserPresenceData). Elements may be partial: an absent field is unchanged.',
    properties: {
      userId: {
        type: 'integer',
        description: 'Natterbox user id (a numeric string is accepted on the wire too)',
      },
      presence: opt(oneOf(['RINGING', 'ANSWERED', 'BRIDGED', ''], { description: 'call state; "" = idle' })),
      logicalDirection: opt(oneOf(['Inbound', 'Outbound', ''])),
      callChannelUUID: opt(str({ description: 'the call channel, or ""' })),
      availability: opt(str({ description: 'per-organisation display name, e.g. Available, On Call' })),
      availabilityStateId: opt(int()),
      availabilityProfileId: opt(int()),
    },
  },
  UserStatisticsData: {
    type: 'object',
    additional: true,
    description: 'The `data` of a messages socket push (INSERT, MODIFY, REMOVE), verbatim: the user\'s ' +
      'statistics record. A REMOVE may carry an empty userStatistics.',
    properties: {
      userStatistics: {
        type: 'object',
        description: 'the user\'s statistics',
        properties: {
          unreadMessages: opt(int({ description: 'unread omnichannel messages, a non-negative integer' })),
        },
      },
    },
  },
};

const presence = { ref: 'UserPresenceData' };
const statistics = { ref: 'UserStatisticsData' };

const events = {
  presence_updated: {
    summary: 'A user\'s presence as the server sent it (every element of every response, snapshots included)',
    data: presence,
  },
};
// Derived: the user's `presence` changed to this value (the event's data has it).
for (const [value, label] of [['RINGING', 'RINGING'], ['ANSWERED', 'ANSWERED'], ['BRIDGED', 'BRIDGED'], ['', 'idle ("")']]) {
  events[`presence_${value ? value.toLowerCase() : 'idle'}`] = {
    summary: `Derived: the user's presence changed to ${label}`,
    data: presence,
    presence: value,
  };
}
events.availability_changed = {
  summary: 'Derived: availabilityStateId or availability changed',
  data: presence,
};

for (const [op, verb] of [['INSERT', 'created'], ['MODIFY', 'updated'], ['REMOVE', 'deleted']]) {
  events[`userstatistics_${verb}`] = {
    summary: `Messages socket push ${op}: the user's statistics record was ${verb} (unread count)`,
    data: statistics,
    topic: 'messages',
  };
}

module.exports = { definitions, events };
