'use strict';
// Documented-dialect events shaped like the seeds' "Event Type Reference", with real UUIDs
// (the seeds' `abc123` ids are not valid scope ids under the topic grammar).

const CUSTOMER = '5e4a0680-804e-11ec-8477-2fea5968d85b';
const OTHER_CUSTOMER = 'a1b2c3d4-0000-4000-8000-00000000beef';
const AGENT = 'eb1ac5c0-ff63-47e2-bcdb-5da9c336eb4b';
const CALL = '0b5a4b5e-2f3c-4f6e-9d1a-7c2b8e9f0a11';
const CALL2 = '9f0e1d2c-3b4a-4c5d-8e6f-001122334455';
const MESSAGE = '4c7d2a10-9e8f-4b3a-a1c2-d3e4f5a6b7c8';

const topics = {
  calls: `customer_id:${CUSTOMER}:call:*`,
  call: `customer_id:${CUSTOMER}:call:${CALL}`,
  messages: `customer_id:${CUSTOMER}:message:*`,
  everything: `customer_id:${CUSTOMER}:*:*`,
  agentCalls: `agent_id:${AGENT}:call:*`,
  otherCalls: `customer_id:${OTHER_CUSTOMER}:call:*`,
};

function ts(ms) {
  return new Date(Date.UTC(2024, 0, 15, 10, 30, 0) + ms).toISOString().replace('Z', '000Z');
}

/** A `call.status` event; `extra` is merged into `data` (for sequence numbers). */
function callStatus({ customer = CUSTOMER, call = CALL, seq = 0, extra = {} } = {}) {
  return {
    event_type: 'call.status',
    timestamp: ts(5000 + seq),
    topic: `customer_id:${customer}:call:${call}`,
    data: { id: call, status: 'answered', previous_status: 'ringing', tm_update: ts(5000 + seq), seq, ...extra },
  };
}

/** A `call.created` event. */
function callCreated({ customer = CUSTOMER, call = CALL } = {}) {
  return {
    event_type: 'call.created',
    timestamp: ts(0),
    topic: `customer_id:${customer}:call:${call}`,
    data: {
      id: call,
      customer_id: customer,
      direction: 'inbound',
      source: { type: 'tel', target: '+15551234567' },
      destination: { type: 'tel', target: '+15559876543' },
      status: 'ringing',
      tm_create: ts(0),
    },
  };
}

/** A `message.received` event. */
function messageReceived({ customer = CUSTOMER, id = MESSAGE, text = 'Hello, I need help with my order' } = {}) {
  return {
    event_type: 'message.received',
    timestamp: ts(0),
    topic: `customer_id:${customer}:message:${id}`,
    data: {
      id,
      customer_id: customer,
      direction: 'inbound',
      source: { type: 'tel', target: '+15551234567' },
      destination: { type: 'tel', target: '+15559876543' },
      text,
      tm_create: ts(0),
    },
  };
}

/** An `agent.status` event on the agent's own topic. */
function agentStatus({ agent = AGENT } = {}) {
  return {
    event_type: 'agent.status',
    timestamp: ts(0),
    topic: `agent_id:${agent}:agent:${agent}`,
    data: { agent_id: agent, status: 'available', previous_status: 'busy', tm_update: ts(0) },
  };
}

module.exports = {
  CUSTOMER, OTHER_CUSTOMER, AGENT, CALL, CALL2, MESSAGE, topics,
  callStatus, callCreated, messageReceived, agentStatus,
};
