// The live dialect's names and subscription rules (live_codec.h): which documented event a live
// event stands for, the topics a pattern is subscribed under on the live server, and what the
// live server refuses or never publishes. The codec that reads live frames is live_codec.cpp.
#include <algorithm>
#include <iterator>
#include <string>

#include "core/codec.h"
#include "core/live_codec.h"
#include "core/topic.h"

namespace vr {
namespace {

// Live event -> documented counterpart (docs/protocol-voipbin.md, "Event names"). A row with a
// `status` or `direction` applies only when the resource has that value; rows are tried in order,
// so a conditional row comes before the unconditional one of the same event.
struct counterpart_row {
  std::string_view live;
  std::string_view status;     // empty = any
  std::string_view direction;  // empty = any
  std::string_view documented;
};

constexpr counterpart_row counterpart_table[] = {
    {"call_created", {}, {}, "call.created"},
    {"call_dialing", {}, {}, "call.status"},
    {"call_ringing", {}, {}, "call.status"},
    {"call_progressing", {}, {}, "call.status"},
    {"call_terminating", {}, {}, "call.status"},
    {"call_canceling", {}, {}, "call.status"},
    {"call_hangup", {}, {}, "call.ended"},
    {"message_created", {}, "inbound", "message.received"},
    {"message_created", {}, "outbound", "message.sent"},
    {"message_updated", {}, {}, "message.delivery"},
    {"activeflow_updated", "ended", {}, "activeflow.completed"},
    {"activeflow_updated", {}, {}, "activeflow.updated"},
    {"queuecall_waiting", {}, {}, "queue.joined"},
    {"queuecall_serviced", {}, {}, "queue.connected"},
    {"queuecall_done", {}, {}, "queue.left"},
    {"queuecall_abandoned", {}, {}, "queue.left"},
    {"agent_status_updated", {}, {}, "agent.status"},
    {"conference_updated", "terminated", {}, "conference.ended"},
    {"recording_started", {}, {}, "recording.started"},
    {"recording_finished", {}, {}, "recording.completed"},
    {"transcribe_done", {}, {}, "transcription.completed"},
};

constexpr std::string_view owned_resources[] = {"call", "groupcall", "recording",
                                                "conversation", "file", "chat"};

// Appends `s`, lower-cased when it is a UUID.
void append_lower_if_uuid(std::string& out, std::string_view s) {
  const bool uuid = is_uuid(s);
  for (char c : s) out.push_back(uuid && c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::string_view live_documented_event(std::string_view live_event, std::string_view status,
                                       std::string_view direction) noexcept {
  for (const auto& row : counterpart_table) {
    if (row.live != live_event) continue;
    if (!row.status.empty() && row.status != status) continue;
    if (!row.direction.empty() && row.direction != direction) continue;
    return row.documented;
  }
  return {};
}

std::string_view live_documented_alias(std::string_view live_resource) noexcept {
  if (live_resource == "queuecall") return "queue";
  if (live_resource == "transcribe" || live_resource == "transcript") return "transcription";
  return {};
}

bool live_has_owner(std::string_view resource) noexcept {
  return std::find(std::begin(owned_resources), std::end(owned_resources), resource) !=
         std::end(owned_resources);
}

std::vector<std::string> live_wire_topics(std::string_view pattern) {
  std::vector<std::string> out;
  std::string normal, error;
  topic_parts parts;
  if (!normalize_pattern(pattern, normal, error) || !split_topic(normal, parts)) return out;
  const std::string_view p[4] = {parts.scope, parts.scope_id, parts.resource, parts.resource_id};
  std::string prefix(p[0]);
  prefix.push_back(':');
  append_lower_if_uuid(prefix, p[1]);
  prefix.push_back(':');
  if (p[2] == "*") {
    out.push_back(std::move(prefix));
    return out;
  }
  std::string_view resources[2] = {p[2], {}};
  if (p[2] == "queue") {
    resources[0] = "queuecall";
  } else if (p[2] == "transcription") {
    resources[0] = "transcribe";
    resources[1] = "transcript";
  }
  for (std::string_view r : resources) {
    if (r.empty()) continue;
    std::string t = prefix;
    t.append(r);
    t.push_back(':');
    if (p[3] == "*") {
      t.append(r);
      t.push_back('_');
    } else {
      append_lower_if_uuid(t, p[3]);
    }
    out.push_back(std::move(t));
  }
  return out;
}

live_check live_permission_check(std::string_view pattern, live_credential credential,
                                 std::string_view agent_id) {
  live_check r;
  std::string normal;
  topic_parts parts;
  if (!normalize_pattern(pattern, normal, r.message) || !split_topic(normal, parts)) {
    r.verdict = live_verdict::deny;
    r.code = "INVALID_TOPIC";
    return r;
  }
  const std::string_view p[4] = {parts.scope, parts.scope_id, parts.resource, parts.resource_id};
  std::string quoted;
  append_json_string(quoted, normal);
  if (p[0] == "agent_id") {
    if (credential == live_credential::access_key) {
      r.verdict = live_verdict::deny;
      r.code = "PERMISSION_DENIED";
      r.message = "an access key belongs to no agent: the live server closes the connection on " + quoted;
      return r;
    }
    if (!agent_id.empty() && !iequals(agent_id, p[1])) {
      r.verdict = live_verdict::deny;
      r.code = "PERMISSION_DENIED";
      r.message = "the token belongs to agent " + std::string(agent_id) +
                  ": the live server closes the connection on another agent's topic " + quoted;
      return r;
    }
    if (p[2] != "*" && !live_has_owner(p[2])) {
      r.verdict = live_verdict::warn;
      r.message = "the live server never publishes " + std::string(p[2]) +
                  " events on agent_id topics: " + quoted + " will receive nothing";
      return r;
    }
  }
  if (p[2] == "conferencecall") {
    r.verdict = live_verdict::warn;
    r.message = "the live server never publishes conferencecall events: " + quoted + " will receive nothing";
  } else if (p[2] == "queue" && p[3] != "*") {
    r.verdict = live_verdict::warn;
    r.message = "live queue calls carry no queue id: " + quoted +
                " only matches the queue call whose own id is " + std::string(p[3]);
  }
  return r;
}

}  // namespace vr
