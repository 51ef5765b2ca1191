'use strict';

// The agent's screen: one line per event it cares about. Loaded by index.html in Electron, and
// called by main.js under plain Node with the same `agent` API and a console sink.

/** The line shown for an event, or null for events the screen ignores. */
function describe({ event_type: type, data }) {
  switch (type) {
    case 'queue.joined': return `[New Call Alert] caller waiting in queue, position ${data.position}, about ${data.estimated_wait}s`;
    case 'call.assigned': return `[Customer: ${data.source.target}] offered to you after ${data.wait_time}s in queue`;
    case 'queue.connected': return `[Connected] call ${data.call_id.slice(0, 8)} after ${data.wait_time}s`;
    case 'call.ended': return `[Call ended] ${data.hangup_reason}, ${data.duration}s`;
    case 'message.received': return `[Chat] ${data.source.target}: ${data.text}`;
    default: return null;
  }
}

function startRenderer(agent, show) {
  agent.onEvent((event) => {
    const line = describe(event);
    if (line !== null) show(line);
  });
}

if (typeof window !== 'undefined' && window.agent) {
  const list = document.getElementById('events');
  startRenderer(window.agent, (line) => {
    const item = document.createElement('li');
    item.textContent = line;
    list.append(item);
  });
}

if (typeof module !== 'undefined') module.exports = { startRenderer, describe };
