'use strict';

// The single source of truth for every event this package delivers: the documented dialect
// (VoIPBIN's public docs) and the live dialect (what production sends). types/, schema/EVENTS.md
// and the README event table are generated from this file by schema/generate.js, and
// schema/validate.js checks payloads against it.
//
// The export is plain data (JSON-serialisable). A type node is one of:
//   { type: 'string', format?: 'uuid' | 'date-time' | 'uri', enum?: [...] }
//   { type: 'integer' } | { type: 'number' } | { type: 'boolean' }
//   { type: 'array', items: <node> }
//   { type: 'object', properties?: { name: <node> }, additional?: boolean }
//       without `properties` it is a free-form JSON object; `additional: true` lets a described
//       object carry fields the schema does not name (the live server adds fields over time)
//   { ref: '<name in definitions>', status?: [...] }   status narrows a resource's `status`
// and any node used as a property may carry `optional: true` (may be absent), `nullable: true`
// (may be null) and `description`.

const str = (extra) => ({ type: 'string', ...extra });
const uuid = (extra) => ({ type: 'string', format: 'uuid', ...extra });
const time = (extra) => ({ type: 'string', format: 'date-time', ...extra });
const tm = (extra) => time({ nullable: true, ...extra });
const int = (extra) => ({ type: 'integer', ...extra });
const oneOf = (values, extra) => ({ type: 'string', enum: values, ...extra });
const arr = (items, extra) => ({ type: 'array', items, ...extra });
const obj = (properties, extra) => ({ type: 'object', properties, ...extra });
const open = (properties, extra) => obj(properties, { additional: true, ...extra });
const json = (extra) => ({ type: 'object', ...extra });
const ref = (name, extra) => ({ ref: name, ...extra });
const opt = (node) => ({ ...node, optional: true });

const definitions = {
  Address: obj({
    type: str({ description: 'address kind: tel, sip, extension, agent, email, ...' }),
    target: str({ description: 'the number, URI or id' })
  }, { description: 'A party of a call or message (documented dialect).' }),

  LiveAddress: open({
    type: str({ description: 'tel, sip, extension, agent, ...' }),
    target: str(),
    target_name: opt(str()),
    name: opt(str()),
    detail: opt(str())
  }, { description: 'A party of a call or message as the live server sends it.' }),

  LiveAction: open({
    id: uuid(),
    next_id: uuid(),
    type: str({ description: 'flow action type: answer, talk, play, ...' }),
    option: json({ description: 'action-specific options' }),
    tm_execute: tm()
  }, { description: 'A flow action (live dialect).' }),

  LiveMessageTarget: open({
    destination: ref('LiveAddress'),
    status: str({ description: 'per-destination delivery status: received, sent, delivered, failed, ...' }),
    parts: int(),
    tm_update: tm()
  }, { description: 'One destination of a live message.' }),

  LiveCall: open({
    id: uuid(),
    customer_id: uuid(),
    owner_type: str({ description: 'agent, or empty' }),
    owner_id: uuid(),
    flow_id: uuid(),
    activeflow_id: uuid(),
    type: oneOf(['flow', 'conference', 'sip-service']),
    master_call_id: uuid(),
    chained_call_ids: arr(uuid()),
    recording_id: uuid(),
    recording_ids: arr(uuid()),
    groupcall_id: uuid(),
    source: ref('LiveAddress'),
    destination: ref('LiveAddress'),
    status: oneOf(['dialing', 'ringing', 'progressing', 'terminating', 'canceling', 'hangup']),
    action: ref('LiveAction'),
    metadata: json(),
    direction: oneOf(['incoming', 'outgoing']),
    mute_direction: str({ description: 'empty, in, out or both' }),
    hangup_by: str({ description: 'empty until hangup; local or remote' }),
    hangup_reason: str({ description: 'empty until hangup; normal, busy, noanswer, ...' }),
    tm_progressing: tm(),
    tm_ringing: tm(),
    tm_hangup: tm(),
    tm_create: tm(),
    tm_update: tm(),
    tm_delete: tm()
  }, { description: 'A call resource (live dialect).' }),

  LiveGroupcall: open({
    id: uuid(),
    customer_id: uuid(),
    owner_type: opt(str()),
    owner_id: opt(uuid()),
    status: oneOf(['progressing', 'hangingup', 'hangup']),
    flow_id: opt(uuid()),
    source: opt(ref('LiveAddress', { nullable: true })),
    destinations: opt(arr(ref('LiveAddress'), { nullable: true })),
    master_call_id: opt(uuid()),
    master_groupcall_id: opt(uuid()),
    ring_method: opt(str({ description: 'ring_all, linear or empty' })),
    answer_method: opt(str({ description: 'hangup_others or empty' })),
    answer_call_id: opt(uuid()),
    call_ids: opt(arr(uuid(), { nullable: true })),
    answer_groupcall_id: opt(uuid()),
    groupcall_ids: opt(arr(uuid(), { nullable: true })),
    call_count: opt(int()),
    groupcall_count: opt(int()),
    dial_index: opt(int()),
    tm_create: opt(tm()),
    tm_update: opt(tm()),
    tm_delete: opt(tm())
  }, {
    description: 'A group call (one call ringing several destinations), live dialect.',
    note: 'No sample frame: fields from VoIPBIN\'s groupcall webhook struct; everything but id, customer_id and status may be omitted.'
  }),

  LiveRecording: open({
    id: uuid(),
    customer_id: uuid(),
    owner_type: str(),
    owner_id: uuid(),
    activeflow_id: uuid(),
    reference_type: str({ description: 'call or conference' }),
    reference_id: uuid(),
    status: oneOf(['initiating', 'recording', 'stopping', 'ended']),
    format: str({ description: 'wav, ...' }),
    on_end_flow_id: opt(uuid()),
    tm_start: tm(),
    tm_end: tm(),
    tm_create: tm(),
    tm_update: tm(),
    tm_delete: tm()
  }, { description: 'A recording (live dialect).' }),

  LiveMessage: open({
    id: uuid(),
    customer_id: uuid(),
    type: oneOf(['sms']),
    source: ref('LiveAddress'),
    targets: arr(ref('LiveMessageTarget')),
    text: str(),
    direction: oneOf(['outbound', 'inbound']),
    tm_create: tm(),
    tm_update: tm(),
    tm_delete: tm()
  }, { description: 'An SMS message (live dialect).' }),

  LiveActiveflow: open({
    id: uuid(),
    customer_id: uuid(),
    flow_id: uuid(),
    status: oneOf(['running', 'ended']),
    reference_type: str({ description: 'call, message, api, ...' }),
    reference_id: uuid(),
    reference_activeflow_id: uuid(),
    on_complete_flow_id: uuid(),
    current_action: ref('LiveAction'),
    forward_action_id: uuid(),
    executed_actions: arr(ref('LiveAction')),
    tm_create: tm(),
    tm_update: tm(),
    tm_delete: tm()
  }, { description: 'A running flow instance (live dialect).' }),

  LiveQueuecall: open({
    id: uuid(),
    customer_id: uuid(),
    reference_type: str({ description: 'call, ...' }),
    reference_id: uuid(),
    status: oneOf(['initiating', 'waiting', 'connecting', 'kicking', 'service', 'done', 'abandoned']),
    service_agent_id: uuid(),
    duration_waiting: int({ description: 'ms' }),
    duration_service: int({ description: 'ms' }),
    tm_create: tm(),
    tm_service: tm(),
    tm_update: tm(),
    tm_delete: tm()
  }, { description: 'A call waiting in or served by a queue (live dialect). It has no queue_id.' }),

  LiveAgent: open({
    id: uuid(),
    customer_id: uuid(),
    username: str(),
    name: str(),
    detail: str(),
    ring_method: str({ description: 'ringall, linear, ...' }),
    status: oneOf(['available', 'away', 'busy', 'offline', 'ringing']),
    permission: int({ description: 'permission bitmask' }),
    tag_ids: arr(uuid()),
    addresses: arr(ref('LiveAddress')),
    tm_create: tm(),
    tm_update: tm(),
    tm_delete: tm()
  }, { description: 'An agent (live dialect).' }),

  LiveConference: open({
    id: uuid(),
    customer_id: uuid(),
    type: str({ description: 'conference, connect, queue, ...' }),
    status: oneOf(['starting', 'progressing', 'terminating', 'terminated']),
    name: str(),
    detail: str(),
    data: json(),
    timeout: int({ description: 'seconds, 0 = none' }),
    pre_flow_id: uuid(),
    post_flow_id: uuid(),
    conferencecall_ids: arr(uuid()),
    recording_id: uuid(),
    recording_ids: arr(uuid()),
    transcribe_id: uuid(),
    transcribe_ids: arr(uuid()),
    tm_end: tm(),
    tm_create: tm(),
    tm_update: tm(),
    tm_delete: tm()
  }, { description: 'A conference (live dialect). Its own `type` and `data` are resource fields, not a wrapper.' }),

  LiveTranscribe: open({
    id: uuid(),
    customer_id: uuid(),
    activeflow_id: uuid(),
    on_end_flow_id: opt(uuid()),
    reference_type: str({ description: 'call, conference, recording, ...' }),
    reference_id: uuid(),
    status: oneOf(['progressing', 'done']),
    language: str({ description: 'BCP 47 tag, e.g. en-US' }),
    direction: str({ description: 'in, out or both' }),
    provider: str({ description: 'speech-to-text provider, e.g. gcp' }),
    tm_create: tm(),
    tm_update: tm(),
    tm_delete: tm()
  }, { description: 'A transcription session (live dialect; the docs call it "transcription").' }),

  LiveTranscript: open({
    id: uuid(),
    customer_id: uuid(),
    transcribe_id: uuid(),
    direction: str({ description: 'in or out' }),
    message: str(),
    tm_transcript: tm(),
    tm_create: tm()
  }, { description: 'One transcribed utterance (live dialect).' }),

  LiveSpeech: open({
    id: uuid({ description: 'a fresh id for every speech event' }),
    customer_id: uuid(),
    streaming_id: opt(uuid()),
    transcribe_id: uuid(),
    direction: str({ description: 'in or out' }),
    message: opt(str({ description: 'partial text; interim events only' })),
    tm_event: tm()
  }, {
    description: 'A voice-activity event of a streaming transcription (live dialect).',
    note: 'No sample frame: fields from VoIPBIN\'s streaming speech webhook struct.'
  })
};

// Live resource name -> definition name, in the order docs/protocol-voipbin.md lists them.
const resources = {
  call: 'LiveCall',
  groupcall: 'LiveGroupcall',
  recording: 'LiveRecording',
  message: 'LiveMessage',
  activeflow: 'LiveActiveflow',
  queuecall: 'LiveQueuecall',
  agent: 'LiveAgent',
  conference: 'LiveConference',
  transcribe: 'LiveTranscribe',
  transcript: 'LiveTranscript'
};

const CUSTOMER = 'abc123';

// Documented dialect. `source: 'example'` means the payload is the seeds' "Event Type Reference"
// example; `source: 'derived'` means the seeds name the event without an example, and `note`
// says what the shape was derived from. `customer_id` is optional wherever the seeds' example
// omits it (the emulator sends it so that the default topic can be derived).
function documented(name, summary, source, data, example, note) {
  const [resource] = name.split('.');
  const entry = { dialect: 'documented', resource, summary, source, data };
  if (note) entry.note = note;
  entry.examples = [{
    event_type: name,
    timestamp: example.timestamp,
    topic: example.topic || `customer_id:${CUSTOMER}:${resource}:${example.data.id}`,
    data: example.data
  }];
  return entry;
}

const callStatus = oneOf(['dialing', 'ringing', 'answered', 'hangup'], {
  description: 'the docs name ringing, answered and hangup; dialing is an outbound call before it rings'
});

const events = {
  'call.created': documented('call.created', 'New call initiated', 'example', obj({
    id: str(),
    customer_id: str(),
    direction: oneOf(['inbound', 'outbound']),
    source: ref('Address'),
    destination: ref('Address'),
    status: callStatus,
    tm_create: time()
  }), {
    timestamp: '2024-01-15T10:30:00.000000Z',
    data: {
      id: 'xyz789',
      customer_id: 'abc123',
      direction: 'inbound',
      source: { type: 'tel', target: '+15551234567' },
      destination: { type: 'tel', target: '+15559876543' },
      status: 'ringing',
      tm_create: '2024-01-15T10:30:00.000000Z'
    }
  }),

  'call.status': documented('call.status', 'Call state changed (ringing, answered, hangup)', 'example', obj({
    id: str(),
    customer_id: opt(str()),
    status: callStatus,
    previous_status: callStatus,
    tm_update: time()
  }), {
    timestamp: '2024-01-15T10:30:05.000000Z',
    data: {
      id: 'xyz789',
      status: 'answered',
      previous_status: 'ringing',
      tm_update: '2024-01-15T10:30:05.000000Z'
    }
  }),

  'call.ended': documented('call.ended', 'Call ended', 'derived', obj({
    id: str(),
    customer_id: opt(str()),
    direction: opt(oneOf(['inbound', 'outbound'])),
    source: opt(ref('Address')),
    destination: opt(ref('Address')),
    status: oneOf(['hangup']),
    previous_status: opt(callStatus),
    hangup_by: opt(str({ description: 'local or remote' })),
    hangup_reason: opt(str({ description: 'normal, busy, noanswer, ...' })),
    duration: opt(int({ description: 'seconds' })),
    tm_create: opt(time()),
    tm_hangup: time()
  }), {
    timestamp: '2024-01-15T10:35:00.000000Z',
    data: {
      id: 'xyz789',
      customer_id: 'abc123',
      status: 'hangup',
      previous_status: 'answered',
      hangup_by: 'remote',
      hangup_reason: 'normal',
      duration: 295,
      tm_hangup: '2024-01-15T10:35:00.000000Z'
    }
  }, 'The seeds name call.ended ("Remove from list") without an example: the shape follows call.status with the final status hangup, plus the hangup fields of the call resource and, optionally, the call.created fields.'),

  'call.assigned': documented('call.assigned', 'Call assigned to an agent (agent desktop)', 'derived', obj({
    id: str(),
    customer_id: opt(str()),
    agent_id: str(),
    queue_id: opt(str()),
    direction: opt(oneOf(['inbound', 'outbound'])),
    source: opt(ref('Address')),
    destination: opt(ref('Address')),
    wait_time: opt(int({ description: 'seconds the caller waited in the queue' })),
    tm_assign: time()
  }), {
    timestamp: '2024-01-15T10:32:00.000000Z',
    topic: 'agent_id:agent123:call:call456',
    data: {
      id: 'call456',
      customer_id: 'abc123',
      agent_id: 'agent123',
      queue_id: 'queue789',
      direction: 'inbound',
      source: { type: 'tel', target: '+15551234567' },
      destination: { type: 'tel', target: '+15559876543' },
      tm_assign: '2024-01-15T10:32:00.000000Z'
    }
  }, 'Named only by the agent desktop scenario ("Pop customer info", on agent_id:<agent>:call:*) without an example: the call id plus the assigned agent, the queue it came from and the parties, as call.created and queue.connected describe them.'),

  'message.received': documented('message.received', 'Incoming SMS/MMS received', 'example', obj({
    id: str(),
    customer_id: str(),
    direction: oneOf(['inbound']),
    source: ref('Address'),
    destination: ref('Address'),
    text: str(),
    tm_create: time()
  }), {
    timestamp: '2024-01-15T10:30:00.000000Z',
    data: {
      id: 'msg789',
      customer_id: 'abc123',
      direction: 'inbound',
      source: { type: 'tel', target: '+15551234567' },
      destination: { type: 'tel', target: '+15559876543' },
      text: 'Hello, I need help with my order',
      tm_create: '2024-01-15T10:30:00.000000Z'
    }
  }),

  'message.sent': documented('message.sent', 'Outgoing message sent', 'derived', obj({
    id: str(),
    customer_id: str(),
    direction: oneOf(['outbound']),
    source: ref('Address'),
    destination: ref('Address'),
    text: str(),
    status: opt(oneOf(['sent', 'failed'])),
    tm_create: time()
  }), {
    timestamp: '2024-01-15T10:31:00.000000Z',
    data: {
      id: 'msg790',
      customer_id: 'abc123',
      direction: 'outbound',
      source: { type: 'tel', target: '+15559876543' },
      destination: { type: 'tel', target: '+15551234567' },
      text: 'Thanks, an agent will call you back.',
      tm_create: '2024-01-15T10:31:00.000000Z'
    }
  }, 'Listed ("Outgoing message sent") without an example: the message.received shape with direction outbound and, optionally, the send status.'),

  'message.delivery': documented('message.delivery', 'Message delivery status update', 'example', obj({
    id: str(),
    customer_id: opt(str()),
    status: oneOf(['sent', 'delivered', 'failed'], {
      description: 'the example shows delivered; sent and failed are the other outcomes the docs imply'
    }),
    tm_update: time()
  }), {
    timestamp: '2024-01-15T10:30:02.000000Z',
    data: { id: 'msg789', status: 'delivered', tm_update: '2024-01-15T10:30:02.000000Z' }
  }),

  'activeflow.updated': documented('activeflow.updated', 'Flow action executed', 'example', obj({
    id: str(),
    customer_id: opt(str()),
    flow_id: str(),
    status: oneOf(['executing']),
    current_action: obj({
      id: str(),
      type: str({ description: 'play, talk, answer, ...' }),
      name: str()
    }),
    tm_update: time()
  }), {
    timestamp: '2024-01-15T10:30:00.000000Z',
    data: {
      id: 'flow789',
      flow_id: 'template123',
      status: 'executing',
      current_action: { id: 'action456', type: 'play', name: 'welcome_message' },
      tm_update: '2024-01-15T10:30:00.000000Z'
    }
  }),

  'activeflow.completed': documented('activeflow.completed', 'Flow execution completed', 'example', obj({
    id: str(),
    customer_id: opt(str()),
    flow_id: str(),
    status: oneOf(['completed']),
    result: str({ description: 'success, ...' }),
    tm_end: time()
  }), {
    timestamp: '2024-01-15T10:35:00.000000Z',
    data: {
      id: 'flow789',
      flow_id: 'template123',
      status: 'completed',
      result: 'success',
      tm_end: '2024-01-15T10:35:00.000000Z'
    }
  }),

  'conference.joined': documented('conference.joined', 'Participant joined conference', 'example', obj({
    conference_id: str(),
    customer_id: opt(str()),
    call_id: str(),
    participant_count: int(),
    tm_join: time()
  }), {
    timestamp: '2024-01-15T10:30:00.000000Z',
    topic: 'customer_id:abc123:conference:conf789',
    data: {
      conference_id: 'conf789',
      call_id: 'call456',
      participant_count: 3,
      tm_join: '2024-01-15T10:30:00.000000Z'
    }
  }),

  'conference.left': documented('conference.left', 'Participant left conference', 'example', obj({
    conference_id: str(),
    customer_id: opt(str()),
    call_id: str(),
    participant_count: int(),
    reason: str({ description: 'hangup, kicked, ...' }),
    tm_leave: time()
  }), {
    timestamp: '2024-01-15T10:45:00.000000Z',
    topic: 'customer_id:abc123:conference:conf789',
    data: {
      conference_id: 'conf789',
      call_id: 'call456',
      participant_count: 2,
      reason: 'hangup',
      tm_leave: '2024-01-15T10:45:00.000000Z'
    }
  }),

  'conference.ended': documented('conference.ended', 'Conference ended', 'derived', obj({
    conference_id: str(),
    customer_id: opt(str()),
    participant_count: int({ description: 'participants still present when it ended, normally 0' }),
    duration: opt(int({ description: 'seconds' })),
    tm_end: time()
  }), {
    timestamp: '2024-01-15T11:00:00.000000Z',
    topic: 'customer_id:abc123:conference:conf789',
    data: {
      conference_id: 'conf789',
      customer_id: 'abc123',
      participant_count: 0,
      duration: 1800,
      tm_end: '2024-01-15T11:00:00.000000Z'
    }
  }, 'Listed among the conference events without an example: the conference.left shape without a call, with the end time.'),

  'queue.joined': documented('queue.joined', 'Call entered queue', 'example', obj({
    queue_id: str(),
    customer_id: opt(str()),
    call_id: str(),
    position: int(),
    estimated_wait: int({ description: 'seconds' }),
    tm_join: time()
  }), {
    timestamp: '2024-01-15T10:30:00.000000Z',
    topic: 'customer_id:abc123:queue:queue789',
    data: {
      queue_id: 'queue789',
      call_id: 'call456',
      position: 3,
      estimated_wait: 120,
      tm_join: '2024-01-15T10:30:00.000000Z'
    }
  }),

  'queue.connected': documented('queue.connected', 'Call connected to agent', 'example', obj({
    queue_id: str(),
    customer_id: opt(str()),
    call_id: str(),
    agent_id: str(),
    wait_time: int({ description: 'seconds' }),
    tm_connect: time()
  }), {
    timestamp: '2024-01-15T10:32:00.000000Z',
    topic: 'customer_id:abc123:queue:queue789',
    data: {
      queue_id: 'queue789',
      call_id: 'call456',
      agent_id: 'agent123',
      wait_time: 120,
      tm_connect: '2024-01-15T10:32:00.000000Z'
    }
  }),

  'queue.left': documented('queue.left', 'Call left queue', 'derived', obj({
    queue_id: str(),
    customer_id: opt(str()),
    call_id: str(),
    reason: oneOf(['connected', 'abandoned', 'timeout', 'kicked']),
    wait_time: int({ description: 'seconds' }),
    tm_leave: time()
  }), {
    timestamp: '2024-01-15T10:33:00.000000Z',
    topic: 'customer_id:abc123:queue:queue789',
    data: {
      queue_id: 'queue789',
      customer_id: 'abc123',
      call_id: 'call457',
      reason: 'abandoned',
      wait_time: 75,
      tm_leave: '2024-01-15T10:33:00.000000Z'
    }
  }, 'Listed ("Queue entry, exit") without an example: the queue.connected shape without an agent, with the reason it left (the live queuecall ends done, abandoned or kicked; timeout is a queue\'s wait limit).'),

  'agent.status': documented('agent.status', 'Agent availability changed', 'example', obj({
    agent_id: str(),
    customer_id: opt(str()),
    status: oneOf(['available', 'away', 'busy', 'offline', 'ringing'], {
      description: 'the example shows available and busy; the rest are the agent statuses of the live resource'
    }),
    previous_status: oneOf(['available', 'away', 'busy', 'offline', 'ringing']),
    tm_update: time()
  }), {
    timestamp: '2024-01-15T10:30:00.000000Z',
    topic: 'agent_id:agent123:agent:agent123',
    data: {
      agent_id: 'agent123',
      status: 'available',
      previous_status: 'busy',
      tm_update: '2024-01-15T10:30:00.000000Z'
    }
  }),

  'recording.started': documented('recording.started', 'Recording started', 'derived', obj({
    id: str(),
    customer_id: opt(str()),
    call_id: str(),
    format: str({ description: 'wav, ...' }),
    tm_start: time()
  }), {
    timestamp: '2024-01-15T10:40:00.000000Z',
    data: {
      id: 'rec789',
      customer_id: 'abc123',
      call_id: 'call456',
      format: 'wav',
      tm_start: '2024-01-15T10:40:00.000000Z'
    }
  }, 'Listed ("Recording start") without an example: the recording.completed identity fields with the start time.'),

  'recording.completed': documented('recording.completed', 'Recording finished and available', 'example', obj({
    id: str(),
    customer_id: opt(str()),
    call_id: str(),
    duration: int({ description: 'seconds' }),
    format: str({ description: 'wav, ...' }),
    size: int({ description: 'bytes' }),
    reference_url: str({ format: 'uri' }),
    tm_complete: time()
  }), {
    timestamp: '2024-01-15T10:45:00.000000Z',
    data: {
      id: 'rec789',
      call_id: 'call456',
      duration: 300,
      format: 'wav',
      size: 2400000,
      reference_url: 'https://storage.voipbin.net/recordings/rec789.wav',
      tm_complete: '2024-01-15T10:45:00.000000Z'
    }
  }),

  'transcription.completed': documented('transcription.completed', 'Transcription results', 'derived', obj({
    id: str(),
    customer_id: opt(str()),
    call_id: str(),
    recording_id: opt(str()),
    language: str({ description: 'BCP 47 tag, e.g. en-US' }),
    text: str(),
    tm_complete: time()
  }), {
    timestamp: '2024-01-15T10:46:00.000000Z',
    data: {
      id: 'tr789',
      customer_id: 'abc123',
      call_id: 'call456',
      recording_id: 'rec789',
      language: 'en-US',
      text: 'I would like to check my order status.',
      tm_complete: '2024-01-15T10:46:00.000000Z'
    }
  }, 'Listed ("Transcription results") without an example: the recording.completed identity fields with the language and the transcribed text.')
};

// Live dialect: every event name the server puts on the socket, with the resource it carries.
// `status` lists the resource statuses the event is published with, where the event name fixes it.
const live = [
  ['call_created', 'call', 'Call created'],
  ['call_updated', 'call', 'Call changed'],
  ['call_dialing', 'call', 'Outbound call dialing', ['dialing']],
  ['call_ringing', 'call', 'Call ringing', ['ringing']],
  ['call_progressing', 'call', 'Call answered', ['progressing']],
  ['call_terminating', 'call', 'Call being torn down', ['terminating']],
  ['call_canceling', 'call', 'Outbound call being canceled', ['canceling']],
  ['call_hangup', 'call', 'Call hung up', ['hangup']],
  ['call_deleted', 'call', 'Call deleted'],
  ['groupcall_created', 'groupcall', 'Group call created'],
  ['groupcall_progressing', 'groupcall', 'Group call answered', ['progressing']],
  ['groupcall_hangup', 'groupcall', 'Group call hung up', ['hangup']],
  ['groupcall_deleted', 'groupcall', 'Group call deleted'],
  ['recording_started', 'recording', 'Recording started', ['recording']],
  ['recording_finished', 'recording', 'Recording finished', ['ended']],
  ['message_created', 'message', 'Message created (sent or received)'],
  ['message_updated', 'message', 'Message delivery status changed'],
  ['message_deleted', 'message', 'Message deleted'],
  ['activeflow_created', 'activeflow', 'Flow instance started'],
  ['activeflow_updated', 'activeflow', 'Flow instance moved to another action'],
  ['activeflow_deleted', 'activeflow', 'Flow instance deleted'],
  ['queuecall_created', 'queuecall', 'Call entered a queue'],
  ['queuecall_waiting', 'queuecall', 'Queued call waiting', ['waiting']],
  ['queuecall_connecting', 'queuecall', 'Queued call connecting to an agent', ['connecting']],
  ['queuecall_serviced', 'queuecall', 'Queued call connected to an agent', ['service']],
  ['queuecall_done', 'queuecall', 'Queued call finished', ['done']],
  ['queuecall_abandoned', 'queuecall', 'Queued call abandoned', ['abandoned']],
  ['queuecall_deleted', 'queuecall', 'Queued call deleted'],
  ['agent_created', 'agent', 'Agent created'],
  ['agent_updated', 'agent', 'Agent changed'],
  ['agent_deleted', 'agent', 'Agent deleted'],
  ['agent_status_updated', 'agent', 'Agent status changed'],
  ['conference_created', 'conference', 'Conference created'],
  ['conference_updated', 'conference', 'Conference changed'],
  ['conference_deleted', 'conference', 'Conference deleted'],
  ['transcribe_created', 'transcribe', 'Transcription started'],
  ['transcribe_progressing', 'transcribe', 'Transcription running', ['progressing']],
  ['transcribe_done', 'transcribe', 'Transcription finished', ['done']],
  ['transcribe_deleted', 'transcribe', 'Transcription deleted'],
  ['transcribe_speech_started', 'transcribe', 'Speech started (streaming transcription)', null, 'LiveSpeech'],
  ['transcribe_speech_interim', 'transcribe', 'Interim speech text (streaming transcription)', null, 'LiveSpeech'],
  ['transcribe_speech_ended', 'transcribe', 'Speech ended (streaming transcription)', null, 'LiveSpeech'],
  ['transcript_created', 'transcript', 'Transcript line created'],
  ['transcript_deleted', 'transcript', 'Transcript line deleted']
];

// Live event -> the documented event it is delivered as (event_type), the live name staying in
// server_event_type. `when` limits a row to a resource field's value; rows are tried in order.
// native/core/live_names.cpp holds the same table (test/live-mapping.test.js compares them), and
// docs/protocol-voipbin.md shows it with the reasons (generated from here).
const counterparts = [
  { live: 'call_created', documented: 'call.created' },
  { live: 'call_dialing', documented: 'call.status' },
  { live: 'call_ringing', documented: 'call.status' },
  { live: 'call_progressing', documented: 'call.status', why: 'progressing is the live word for answered' },
  { live: 'call_terminating', documented: 'call.status' },
  { live: 'call_canceling', documented: 'call.status' },
  { live: 'call_hangup', documented: 'call.ended', why: 'the live server sends one event for the hang-up' },
  { live: 'message_created', when: { direction: 'inbound' }, documented: 'message.received' },
  { live: 'message_created', when: { direction: 'outbound' }, documented: 'message.sent' },
  { live: 'message_updated', documented: 'message.delivery', why: 'a target\'s delivery status changed' },
  { live: 'activeflow_updated', when: { status: 'ended' }, documented: 'activeflow.completed' },
  { live: 'activeflow_updated', documented: 'activeflow.updated' },
  { live: 'queuecall_waiting', documented: 'queue.joined' },
  { live: 'queuecall_serviced', documented: 'queue.connected' },
  { live: 'queuecall_done', documented: 'queue.left', why: 'after being served' },
  { live: 'queuecall_abandoned', documented: 'queue.left', why: 'the caller gave up' },
  { live: 'agent_status_updated', documented: 'agent.status' },
  { live: 'conference_updated', when: { status: 'terminated' }, documented: 'conference.ended' },
  { live: 'recording_started', documented: 'recording.started' },
  { live: 'recording_finished', documented: 'recording.completed' },
  { live: 'transcribe_done', documented: 'transcription.completed' }
];

for (const [name, resource, summary, status, payload] of live) {
  const data = ref(payload || resources[resource]);
  if (status) data.status = status;
  const entry = { dialect: 'live', resource, summary, data };
  if (payload) entry.note = `Carries a ${payload} object, not the ${resource} resource.`;
  events[name] = entry;
}

module.exports = { definitions, resources, events, counterparts };
