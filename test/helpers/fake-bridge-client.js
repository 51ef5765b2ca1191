'use strict';

// A stand-in for RealtimeClient in bridge tests: emits 'event' (call.status event k on topic
// customer_id:c:call:k with data {"seq":k}, or a message event), records pause()/resume().

const { EventEmitter } = require('node:events');
const { createEvent } = require('../../lib/events.js');

class FakeClient extends EventEmitter {
  calls = [];
  pause() {
    this.calls.push('pause');
  }

  resume() {
    this.calls.push('resume');
  }

  send(k, resource = 'call') {
    const type = resource === 'call' ? 'call.status' : 'message.received';
    this.emit('event', createEvent(type, `t${k}`, `customer_id:c:${resource}:${k}`, `{"seq":${k}}`));
  }
}

module.exports = { FakeClient };
