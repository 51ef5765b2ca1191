// The live dialect: what the production server really sends and understands (docs/protocol-voipbin.md
// section 2). Pure functions and small value types, no networking: the connection (client.cpp)
// owns one live_codec and one dedupe_window per socket and calls them on its strand. The codec is
// live_codec.cpp, the names and subscription rules live_names.cpp, the window dedupe_window.cpp.
//
// Frames. classify() accepts the three shapes production has used and fills the same frame_view
// the documented codec fills:
//   bare      the resource JSON itself (the current shape). Kind and event are inferred below.
//   wrapped   {"type":"<resource>_<verb>","data":{...}} (before 2026-07). Recognised only when the
//             object has exactly the two keys type and data and type looks like
//             [a-z][a-z0-9]*(_[a-z0-9]+)+ ; a call (type "flow"), a message (type "sms") or a
//             conference (type plus a data object, plus id and the rest) stays a bare resource.
//   envelope  the documented {event_type,timestamp,topic,data}, and ack/error frames, passed through
//             as the documented codec does (the emulator and a documented server send them).
//
// For wrapped and bare frames:
//   server_event_type  the live event name: wrapped: the wrapper's type verbatim; bare: inferred
//               (table below)
//   event_type  the documented counterpart of server_event_type (live_documented_event), or
//               server_event_type itself when the docs name none
//   resource    the live resource name (call, queuecall, transcribe, ...)
//   topic       customer_id:<customer_id>:<resource>:<id>, UUIDs lower-cased
//   alt_topic   the second topic the event is known under, or empty:
//               - owned resources (call, groupcall, recording, conversation, file, chat) with
//                 owner_type "agent" and a non-nil owner_id: agent_id:<owner_id>:<resource>:<id>
//               - resources the documented docs name differently: customer_id:<c>:queue:<id> for
//                 queuecall, customer_id:<c>:transcription:<id> for transcribe and transcript.
//               The two cases never meet (no aliased resource has an owner).
//   timestamp   tm_update, else tm_create; empty when both are null or absent
//   data        the raw resource JSON text (the wrapper's inner object), byte-exact, validated in
//               full (every nested value)
//   dedupe_key  non-zero hash of (resource, id, server_event_type, tm_update, status), tm_create standing
//               in when the resource has neither tm_update nor status (transcript)
// For envelope frames event_type/topic/timestamp/data come from the frame, resource is the
// topic's third segment, alt_topic and server_event_type are empty and dedupe_key is 0 (never
// de-duplicated).
//
// Bare inference. Kind: the first row whose distinctive top-level keys (any of them) are present.
//   transcript  tm_transcript (not transcribe_id: conferences have one too)
//   transcribe  language, provider
//   queuecall   service_agent_id, duration_waiting, duration_service
//   agent       username
//   groupcall   answer_method, groupcall_ids, answer_groupcall_id
//   call        chained_call_ids, master_call_id, hangup_by, hangup_reason, mute_direction
//   conference  conferencecall_ids, pre_flow_id, post_flow_id
//   recording   format, tm_start
//   activeflow  current_action, executed_actions, forward_action_id
//   message     targets
// Event, first rule that applies:
//   1. tm_delete is a time (not null, not the legacy 9999-... "never" sentinel): <resource>_deleted
//   2. call in dialing or ringing with a tm_create and tm_update null or equal to it: call_created
//      (a call starts in one of those, and a status change moves tm_update on)
//   3. status named by the resource's live events:
//        call       dialing ringing progressing terminating canceling hangup  -> call_<status>
//        groupcall  progressing hangup                                        -> groupcall_<status>
//        recording  recording -> recording_started, ended -> recording_finished
//        queuecall  initiating -> queuecall_created, waiting, connecting -> queuecall_<status>,
//                   service -> queuecall_serviced, done, abandoned -> queuecall_<status>
//        transcribe progressing done                                      -> transcribe_<status>
//   4. agent: agent_created when tm_update is null or equals tm_create, else agent_status_updated
//      (an agent_updated frame has the same shape; status changes are the frequent case)
//   5. otherwise <resource>_created when tm_update is null/absent or equals tm_create, else
//      <resource>_updated (message, activeflow, conference, transcript; and statuses no live event
//      names, e.g. a queuecall in "kicking").
// Inherently ambiguous (same payload for two live events): call_created vs a status change within
// the millisecond of creation, agent_updated vs agent_status_updated, *_created vs *_updated inside the same millisecond,
// transcribe_speech_* (not a transcribe resource payload; arrives only wrapped).
//
// Outcomes: not JSON, invalid JSON (syntax, UTF-8, escapes, numbers anywhere), a JSON value that is
// not an object, a wrapper whose data is not an object, and a recognised resource without a usable
// id or customer_id are `malformed` (reported: the client turns them into a MALFORMED_EVENT fault;
// production never sends such frames, so one means something is badly wrong). An object that is no
// resource at all (no id/customer_id) or whose kind cannot be recognised is `ignored` with a reason:
// nothing could route it to a topic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "core/codec.h"
#include "core/topic.h"

namespace vr {

class live_codec {
 public:
  // `capacity` is the number of readable bytes from `data`; with less than size + SIMDJSON_PADDING
  // the frame is copied first. The result and its views stay valid until the next call.
  const frame_view& classify(const char* data, std::size_t size, std::size_t capacity);
  // As documented_codec::release_memory; the unpadded-frame copy goes back too.
  void release_memory() noexcept;

 private:
  struct resource_fields;
  void scan(simdjson::dom::object object, resource_fields& f) const;
  const frame_view& resource_event(const resource_fields& f, std::string_view resource,
                                   std::string_view wrapped_type, std::string_view data);
  const frame_view& envelope(simdjson::dom::object object, const char* buf, std::size_t size,
                             std::size_t capacity);
  const frame_view& control(simdjson::dom::object object, std::string_view type, std::string_view raw);
  bool member_span(const char* buf, std::size_t size, std::size_t capacity, std::string_view key,
                   std::string_view& out);
  const frame_view& fail(std::string reason);
  const frame_view& ignore(std::string reason);
  void reset();

  simdjson::dom::parser dom_;
  simdjson::ondemand::parser spans_;
  std::vector<char> copy_;
  std::string event_type_;
  std::string topic_;
  std::string alt_topic_;
  frame_view out_;
};

// The resource a bare frame is, from the names of its top-level keys alone, by the kind table
// above (for the live prefilter, prefilter.h).
class live_kind_marks {
 public:
  void add(std::string_view key) noexcept;
  // The first row any of whose keys was added, or empty.
  std::string_view resource() const noexcept;

 private:
  std::uint64_t present_ = 0;
};

// The topic and alt_topic classify() gives a bare or wrapped `resource` event with these
// top-level values (`owner_type` and `owner_id` empty when absent or not strings). Returns false
// when classify() answers malformed instead: customer_id is not a UUID or id is no usable topic
// segment.
bool live_resource_topics(std::string_view customer_id, std::string_view resource, std::string_view id,
                          std::string_view owner_type, std::string_view owner_id, std::string& topic,
                          std::string& alt_topic);

// Prefixes to send to the live server for one normalised documented pattern, so that each wanted
// event arrives once where the server allows it and no other resource collides:
//   <s>:<id>:<r>:*      -> <s>:<id>:<r>:<r>_       (the 5-part <resource>:<event_type>:<id> form)
//   <s>:<id>:<r>:<rid>  -> <s>:<id>:<r>:<rid>      (the 4-part form)
//   <s>:<id>:*:*        -> <s>:<id>:               (everything, twice: dedupe_window removes it)
//   <s>:<id>:*:<rid>    -> <s>:<id>:               (the server has no middle wildcard; local
//                                                    matching keeps only that id)
// with the documented resources mapped to live ones: queue -> queuecall,
// transcription -> transcribe and transcript (two prefixes). UUIDs are lower-cased. Returns an
// empty list for a pattern the topic grammar (topic.h) rejects.
std::vector<std::string> live_wire_topics(std::string_view pattern);

// The documented event a live event stands for, given the resource's `status` and `direction`
// (empty when absent), or empty when the docs name no counterpart. The one table, with the
// reasons for each row, is in docs/protocol-voipbin.md ("Event names"):
//   call_created -> call.created; call_dialing|ringing|progressing|terminating|canceling ->
//   call.status; call_hangup -> call.ended; message_created -> message.received (inbound) or
//   message.sent (outbound); message_updated -> message.delivery; activeflow_updated ->
//   activeflow.completed (status ended) or activeflow.updated; queuecall_waiting -> queue.joined;
//   queuecall_serviced -> queue.connected; queuecall_done|abandoned -> queue.left;
//   agent_status_updated -> agent.status; conference_updated (status terminated) ->
//   conference.ended; recording_started -> recording.started; recording_finished ->
//   recording.completed; transcribe_done -> transcription.completed.
std::string_view live_documented_event(std::string_view live_event, std::string_view status,
                                       std::string_view direction) noexcept;

// The documented name of a live resource (queuecall -> queue, transcribe and transcript ->
// transcription), or empty when the names agree.
std::string_view live_documented_alias(std::string_view live_resource) noexcept;

// True for the resources the live server also publishes on agent_id routes.
bool live_has_owner(std::string_view resource) noexcept;

// The topic an event matches a subscription set under: `topic` when the matcher matches it, else
// `alt_topic` when that matches, else empty (the event is filtered out). Report the event to JS
// under the returned topic, so that a user's agent_id:... or documented queue/transcription pattern
// also matches it with topic.matches.
//
// `second` is set to alt_topic when both match: a subscription on each topic (customer_id:<c>:call:*
// beside agent_id:<a>:call:*, or queue:* beside queuecall:*) must each receive the event, under
// the topic that matched it.
inline std::string_view live_matched_topic(const topic_matcher& matcher, const frame_view& frame,
                                           std::string_view& second) {
  second = {};
  if (!frame.topic.empty() && matcher.matches(frame.topic)) {
    if (!frame.alt_topic.empty() && matcher.matches(frame.alt_topic)) second = frame.alt_topic;
    return frame.topic;
  }
  if (!frame.alt_topic.empty() && matcher.matches(frame.alt_topic)) return frame.alt_topic;
  return {};
}

enum class live_credential {
  jwt,         // ?token=: may belong to an agent
  access_key,  // ?accesskey= (or a direct token): never has an agent
};

enum class live_verdict {
  ok,
  warn,  // accepted by the server, but it can never deliver anything for this pattern
  deny,  // the server would close the connection for the whole subscribe message
};

struct live_check {
  live_verdict verdict = live_verdict::ok;
  std::string code;     // PERMISSION_DENIED for deny, empty otherwise
  std::string message;  // why (deny and warn)
};

// Client-side check of one normalised pattern before it is sent to the live server, which answers
// a refused topic by closing the socket (1006) for every topic of that message.
//   deny  INVALID_TOPIC with the grammar's message (topic.h) for an invalid pattern
//   deny  agent_id:... with an access key; agent_id:<x>:... when `agent_id` (the JWT's agent,
//         empty when unknown) is not x
//   warn  agent_id:<x>:<r>:... where r is a resource the server never routes to agents (anything
//         but call, groupcall, recording, conversation, file, chat); conferencecall (never
//         published); queue:<id> (live queue calls carry no queue id, so <id> can only equal a
//         queue call's id)
live_check live_permission_check(std::string_view pattern, live_credential credential,
                                 std::string_view agent_id);

// Bounded memory of recent dedupe keys: O(1) lookup and insert, FIFO eviction of the oldest key
// once `capacity` keys are held. A key seen again does not move (the window is about arrival).
class dedupe_window {
 public:
  explicit dedupe_window(std::size_t capacity = 4096);

  // True when `key` is held (a duplicate); otherwise remembers it and returns false. Key 0 means
  // "do not de-duplicate" and is never held. Capacity 0 disables the window.
  bool seen_recently(std::uint64_t key);

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return ring_.size(); }
  void clear();

 private:
  std::size_t home(std::uint64_t key) const noexcept;
  void erase(std::uint64_t key);

  std::vector<std::uint64_t> ring_;   // arrival order; ring_[next_] is the oldest once full
  std::vector<std::uint64_t> table_;  // open addressing, linear probing, 0 = empty slot
  std::size_t mask_ = 0;
  std::size_t next_ = 0;
  std::size_t size_ = 0;
};

}  // namespace vr
