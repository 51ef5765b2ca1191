#include <catch2/catch.hpp>

#include <cstdint>
#include <deque>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <simdjson.h>

#include "core/live_codec.h"
#include "core/topic.h"

namespace {

constexpr const char* C = "5013bc52-da9a-11ee-844f-2fa34248de28";
constexpr const char* A = "98765432-4321-4321-4321-210987654321";
constexpr const char* CALL = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";
constexpr const char* NIL = "00000000-0000-0000-0000-000000000000";

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (auto p : parts) s.append(p);
  return s;
}

// Holds a frame with the padding simdjson wants, like a socket buffer would.
struct padded {
  std::string buf;
  std::size_t size;
  explicit padded(std::string_view s) : buf(s), size(s.size()) {
    buf.resize(size + simdjson::SIMDJSON_PADDING, ' ');
  }
};

const vr::frame_view& classify(vr::live_codec& codec, const padded& p) {
  return codec.classify(p.buf.data(), p.size, p.buf.size());
}

// A codec plus the buffer of the frame it classified last: the views stay valid until the next call.
struct harness {
  vr::live_codec codec;
  std::string buf;
  const vr::frame_view& operator()(std::string_view frame) {
    buf.assign(frame);
    buf.resize(frame.size() + simdjson::SIMDJSON_PADDING, ' ');
    return codec.classify(buf.data(), frame.size(), buf.size());
  }
};

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// Raw text of the object member `key` of the object `json` (test-side, independent of the codec).
std::string member_raw(const std::string& json, std::string_view key) {
  simdjson::padded_string ps(json);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc = parser.iterate(ps);
  for (auto field : doc.get_object()) {
    if (std::string_view(field.unescaped_key(false)) != key) continue;
    simdjson::ondemand::object o = field.value().get_object();
    return trim(std::string_view(o.raw_json()));
  }
  FAIL("member " << key << " not found");
  return {};
}

struct fixture_line {
  std::string note, event_type, wire, frame;
};

std::vector<fixture_line> read_fixtures() {
  std::ifstream in(std::string(VR_TEST_DATA_DIR) + "/live-frames.jsonl");
  REQUIRE(in.good());
  std::vector<fixture_line> lines;
  std::string line;
  simdjson::dom::parser parser;
  while (std::getline(in, line)) {
    if (trim(line).empty()) continue;
    simdjson::dom::element e = parser.parse(line);
    fixture_line f;
    f.note = std::string(std::string_view(e["note"]));
    f.event_type = std::string(std::string_view(e["event_type"]));
    f.wire = std::string(std::string_view(e["wire"]));
    f.frame = member_raw(line, "frame");
    lines.push_back(std::move(f));
  }
  return lines;
}

struct expected {
  const char* event_type;
  std::string resource, topic, alt_topic, timestamp;
};

std::string ctopic(std::string_view resource, std::string_view id) {
  return cat({"customer_id:", C, ":", resource, ":", id});
}
std::string atopic(std::string_view resource, std::string_view id) {
  return cat({"agent_id:", A, ":", resource, ":", id});
}

const std::vector<expected>& fixture_expectations() {
  static const std::vector<expected> e = {
      {"call_ringing", "call", ctopic("call", CALL), atopic("call", CALL), "2026-10-07T10:30:01.120Z"},
      {"call_progressing", "call", ctopic("call", CALL), atopic("call", CALL), "2026-10-07T10:30:05.002Z"},
      {"call_hangup", "call", ctopic("call", CALL), atopic("call", CALL), "2026-10-07T10:34:12.500Z"},
      {"call_hangup", "call", ctopic("call", CALL), atopic("call", CALL), "2026-10-07T10:34:12.500Z"},
      {"message_created", "message", ctopic("message", "6f0c2b9e-1d7a-4c55-9a3e-0b1e2f3a4b5c"), "",
       "2026-10-07T10:31:00.000Z"},
      {"activeflow_updated", "activeflow", ctopic("activeflow", "74ac5405-7c70-4184-9388-1c9f8f8ce25f"), "",
       "2026-10-07T10:30:05.100Z"},
      {"queuecall_waiting", "queuecall", ctopic("queuecall", "3b7e6a52-9c1d-4f0e-8a2b-5d6c7e8f9a0b"),
       ctopic("queue", "3b7e6a52-9c1d-4f0e-8a2b-5d6c7e8f9a0b"), "2026-10-07T10:30:06.000Z"},
      {"queuecall_serviced", "queuecall", ctopic("queuecall", "3b7e6a52-9c1d-4f0e-8a2b-5d6c7e8f9a0b"),
       ctopic("queue", "3b7e6a52-9c1d-4f0e-8a2b-5d6c7e8f9a0b"), "2026-10-07T10:30:48.000Z"},
      {"agent_status_updated", "agent", ctopic("agent", A), "", "2026-10-07T10:30:48.100Z"},
      {"conference_updated", "conference", ctopic("conference", "c0f0a000-0000-4000-8000-000000000789"), "",
       "2026-10-07T10:30:10.000Z"},
      {"recording_finished", "recording", ctopic("recording", "5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"),
       atopic("recording", "5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"), "2026-10-07T10:34:12.600Z"},
      {"transcribe_done", "transcribe", ctopic("transcribe", "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"),
       ctopic("transcription", "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"), "2026-10-07T10:34:13.000Z"},
      {"transcript_created", "transcript", ctopic("transcript", "9b0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e"),
       ctopic("transcription", "9b0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e"), "2026-10-07T10:30:20.300Z"},
      {"call_hangup", "call", ctopic("call", CALL), atopic("call", CALL), "2026-10-07T10:34:12.500Z"},
  };
  return e;
}

// The live server publishes every event on a 4-part and a 5-part topic and delivers it once per
// subscribed prefix that matches one of them.
int deliveries(const std::vector<std::string>& prefixes, std::string_view scope, std::string_view resource,
               std::string_view event_type, std::string_view id) {
  const std::string four = cat({scope, ":", resource, ":", id});
  const std::string five = cat({scope, ":", resource, ":", event_type, ":", id});
  int n = 0;
  for (const auto& p : prefixes) {
    if (four.compare(0, p.size(), p) == 0) ++n;
    if (five.compare(0, p.size(), p) == 0) ++n;
  }
  return n;
}

// A small bare call, its status and times chosen by the test.
std::string call_frame(std::string_view status, std::string_view tm_create, std::string_view tm_update,
                       std::string_view tm_delete = "null") {
  return cat({R"({"id":")", CALL, R"(","customer_id":")", C, R"(","owner_type":"agent","owner_id":")", A,
              R"(","type":"flow","master_call_id":")", NIL, R"(","status":")", status,
              R"(","tm_create":)", tm_create, R"(,"tm_update":)", tm_update, R"(,"tm_delete":)", tm_delete,
              "}"});
}

}  // namespace

TEST_CASE("live_codec: every line of live-frames.jsonl", "[live]") {
  const auto lines = read_fixtures();
  const auto& want = fixture_expectations();
  REQUIRE(lines.size() == want.size());
  REQUIRE(lines.size() == 14);

  // The documented counterpart of each line (docs/protocol-voipbin.md, "Event names").
  const char* documented[] = {"call.status",    "call.status",      "call.ended",         "call.ended",
                              "message.received", "activeflow.updated", "queue.joined",   "queue.connected",
                              "agent.status",   "conference_updated", "recording.completed",
                              "transcription.completed", "transcript_created", "call.ended"};
  vr::live_codec codec;
  vr::dedupe_window window;
  std::vector<std::size_t> duplicates;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    const auto& w = want[i];
    INFO("line " << i + 1 << ": " << line.note);
    REQUIRE(line.event_type == w.event_type);

    const std::string data = line.wire == "wrapped" ? member_raw(line.frame, "data") : line.frame;
    padded p(line.frame);
    const auto& f = classify(codec, p);
    REQUIRE(f.kind == vr::frame_kind::event);
    CHECK(f.server_event_type == line.event_type);
    CHECK(f.event_type == documented[i]);
    CHECK(f.resource == w.resource);
    CHECK(f.topic == w.topic);
    CHECK(f.alt_topic == w.alt_topic);
    CHECK(f.timestamp == w.timestamp);
    CHECK(f.data == data);
    CHECK(f.dedupe_key != 0);
    // views point into the caller's buffer, not a copy, when it is padded
    CHECK(f.data.data() >= p.buf.data());
    CHECK(f.data.data() + f.data.size() <= p.buf.data() + p.size);
    if (window.seen_recently(f.dedupe_key)) duplicates.push_back(i + 1);

    // An unpadded buffer is copied first and gives the same answer.
    const std::string exact = line.frame;
    const auto& g = codec.classify(exact.data(), exact.size(), exact.size());
    REQUIRE(g.kind == vr::frame_kind::event);
    CHECK(g.server_event_type == line.event_type);
    CHECK(g.topic == w.topic);
    CHECK(g.alt_topic == w.alt_topic);
    CHECK(g.data == data);
  }
  // line 4 repeats line 3; line 14 is line 3 again in the old wrapper
  CHECK(duplicates == std::vector<std::size_t>{4, 14});
}

TEST_CASE("live_codec: lines whose event the payload cannot tell for sure", "[live]") {
  // Each line below has a twin live event with the same payload shape; the documented rule picks
  // the expected result, and the variant shows the other branch of the same rule.
  const auto lines = read_fixtures();
  harness run;
  struct ambiguous {
    std::size_t line;
    const char* picked;
    const char* twin;
  };
  const ambiguous table[] = {
      {1, "call_ringing", "call_created (an incoming call is created ringing; here tm_update moved on)"},
      {5, "message_created", "message_updated (tm_update equal to tm_create)"},
      {6, "activeflow_updated", "activeflow_created (tm_update differs from tm_create)"},
      {9, "agent_status_updated", "agent_updated (same agent payload)"},
      {10, "conference_updated", "conference_created (tm_update differs from tm_create)"},
      {13, "transcript_created", "a later transcript event (no status, no tm_update to tell them apart)"},
  };
  for (const auto& a : table) {
    INFO("line " << a.line << " twin " << a.twin);
    CHECK(run(lines[a.line - 1].frame).server_event_type == a.picked);
  }

  SECTION("agent: created when tm_update equals tm_create") {
    std::string frame = lines[8].frame;
    const std::string from = R"("tm_update":"2026-10-07T10:30:48.100Z")";
    frame.replace(frame.find(from), from.size(), R"("tm_update":"2026-01-02T09:00:00.000Z")");
    CHECK(run(frame).server_event_type == "agent_created");
  }
  SECTION("message: updated when tm_update moved on") {
    std::string frame = lines[4].frame;
    const std::string from = R"("tm_update":"2026-10-07T10:31:00.000Z","tm_delete")";
    frame.replace(frame.find(from), from.size(), R"("tm_update":"2026-10-07T10:31:02.000Z","tm_delete")");
    const auto& f = run(frame);
    CHECK(f.server_event_type == "message_updated");
    CHECK(f.timestamp == "2026-10-07T10:31:02.000Z");
  }
}

TEST_CASE("live_codec: status, deletion and time rules", "[live]") {
  harness run;
  const char* t1 = R"("2026-10-07T10:00:00.000Z")";
  const char* t2 = R"("2026-10-07T10:00:01.000Z")";
  // a call is created dialing or ringing: with tm_update still at tm_create that is the creation
  CHECK(run(call_frame("dialing", t1, t1)).server_event_type == "call_created");
  CHECK(run(call_frame("ringing", t1, "null")).server_event_type == "call_created");
  CHECK(run(call_frame("ringing", t1, t1)).event_type == "call.created");
  CHECK(run(call_frame("dialing", t1, t2)).server_event_type == "call_dialing");
  CHECK(run(call_frame("ringing", t1, t2)).event_type == "call.status");
  CHECK(run(call_frame("progressing", t1, t1)).server_event_type == "call_progressing");
  CHECK(run(call_frame("terminating", t1, t2)).server_event_type == "call_terminating");
  CHECK(run(call_frame("canceling", t1, t2)).server_event_type == "call_canceling");
  CHECK(run(call_frame("hangup", t1, t2, t2)).server_event_type == "call_deleted");
  // the legacy "never deleted" sentinel is not a deletion
  CHECK(run(call_frame("hangup", t1, t2, R"("9999-01-01 00:00:00.000000")")).server_event_type ==
        "call_hangup");
  // an unknown status falls back to created/updated by time
  CHECK(run(call_frame("parking", t1, t1)).server_event_type == "call_created");
  CHECK(run(call_frame("parking", t1, t2)).server_event_type == "call_updated");
  const auto& nulls = run(call_frame("ringing", "null", "null"));
  CHECK(nulls.timestamp.empty());
  CHECK(nulls.server_event_type == "call_ringing");
  CHECK(run(call_frame("ringing", t1, "null")).timestamp == "2026-10-07T10:00:00.000Z");

  const std::string q = cat({R"({"id":"3b7e6a52-9c1d-4f0e-8a2b-5d6c7e8f9a0b","customer_id":")", C,
                             R"(","service_agent_id":")", NIL, R"(","status":")"});
  const char* tail = R"(","tm_create":"2026-10-07T10:00:00.000Z","tm_update":"2026-10-07T10:00:02.000Z","tm_delete":null})";
  const std::pair<const char*, const char*> queue_events[] = {
      {"initiating", "queuecall_created"}, {"waiting", "queuecall_waiting"},
      {"connecting", "queuecall_connecting"}, {"service", "queuecall_serviced"},
      {"done", "queuecall_done"}, {"abandoned", "queuecall_abandoned"}, {"kicking", "queuecall_updated"},
  };
  for (const auto& [status, event] : queue_events)
    CHECK(run(q + status + tail).server_event_type == event);

  const std::string rec = cat({R"({"id":"5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b","customer_id":")", C,
                               R"(","owner_type":"agent","owner_id":")", A, R"(","format":"wav","status":")"});
  CHECK(run(rec + "recording" + tail).server_event_type == "recording_started");
  CHECK(run(rec + "ended" + tail).server_event_type == "recording_finished");

  const std::string gc = cat({R"({"id":"11111111-2222-4333-8444-555555555555","customer_id":")", C,
                              R"(","owner_type":"agent","owner_id":")", A,
                              R"(","master_call_id":")", NIL, R"(","answer_method":"hangup_others","status":")"});
  const auto& g = run(gc + "progressing" + tail);
  CHECK(g.server_event_type == "groupcall_progressing");
  CHECK(g.alt_topic == atopic("groupcall", "11111111-2222-4333-8444-555555555555"));
  CHECK(run(gc + "hangup" + tail).server_event_type == "groupcall_hangup");

  const std::string tr = cat({R"({"id":"7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d","customer_id":")", C,
                              R"(","language":"en-US","provider":"gcp","status":")"});
  CHECK(run(tr + "progressing" + tail).server_event_type == "transcribe_progressing");
}

TEST_CASE("live_codec: old wrapper versus resources with their own type", "[live]") {
  harness run;
  const std::string call = call_frame("hangup", R"("2026-10-07T10:00:00.000Z")", R"("2026-10-07T10:00:09.000Z")");

  SECTION("the wrapper gives the event and its inner data") {
    const std::string frame = R"({"type":"call_canceling","data":)" + call + "}";
    const auto& f = run(frame);
    REQUIRE(f.kind == vr::frame_kind::event);
    CHECK(f.server_event_type == "call_canceling");  // the wrapper's word, not the status
    CHECK(f.resource == "call");
    CHECK(f.data == call);
    CHECK(f.topic == ctopic("call", CALL));
    CHECK(f.alt_topic == atopic("call", CALL));
    CHECK(f.timestamp == "2026-10-07T10:00:09.000Z");
  }
  SECTION("wrapper with whitespace and the keys the other way round") {
    const std::string frame = "  {\"data\" :\n " + call + " \n, \"type\":\"call_hangup\"}\n";
    const auto& f = run(frame);
    REQUIRE(f.kind == vr::frame_kind::event);
    CHECK(f.server_event_type == "call_hangup");
    CHECK(f.data == call);
  }
  SECTION("a call whose type is flow is a bare call") {
    const auto& f = run(call);
    REQUIRE(f.kind == vr::frame_kind::event);
    CHECK(f.server_event_type == "call_hangup");
    CHECK(f.data == call);
  }
  SECTION("a conference with type and data is a bare conference") {
    const std::string conf = cat({R"({"id":"c0f0a000-0000-4000-8000-000000000789","customer_id":")", C,
                                  R"(","type":"conference","data":{"type":"x_y","data":{}},"status":"starting",)",
                                  R"("conferencecall_ids":[],"tm_create":"2026-10-07T10:00:00.000Z","tm_update":null})"});
    const auto& f = run(conf);
    REQUIRE(f.kind == vr::frame_kind::event);
    CHECK(f.server_event_type == "conference_created");
    CHECK(f.data == conf);
    CHECK(f.timestamp == "2026-10-07T10:00:00.000Z");
  }
  SECTION("exactly type and data, but type is not <resource>_<verb>") {
    for (const char* frame : {R"({"type":"conference","data":{}})", R"({"type":"Call_hangup","data":{}})",
                              R"({"type":"call__hangup","data":{}})", R"({"type":"call_","data":{}})"}) {
      INFO(frame);
      const auto& f = run(frame);
      CHECK(f.kind == vr::frame_kind::ignored);
      CHECK(f.reason == "object is neither an event nor a resource");
    }
  }
  SECTION("a third key makes it a (non-)resource, not a wrapper") {
    const auto& f = run(R"({"type":"call_hangup","data":)" + call + R"(,"x":1})");
    CHECK(f.kind == vr::frame_kind::ignored);
  }
  SECTION("wrapper whose data is not an object") {
    const auto& f = run(R"({"type":"call_hangup","data":"x"})");
    CHECK(f.kind == vr::frame_kind::malformed);
    CHECK(f.reason == "wrapped call_hangup event: data is not an object");
  }
  SECTION("wrapper whose data is no resource") {
    const auto& f = run(R"({"type":"call_hangup","data":{"id":"x"}})");
    CHECK(f.kind == vr::frame_kind::malformed);
    CHECK(f.reason == "call event without a customer_id UUID");
  }
  SECTION("wrapped multi-word events take the first word as the resource") {
    const std::string data = cat({R"({"id":"9b0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e","customer_id":")", C,
                                  R"(","transcribe_id":"7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"})"});
    const auto& f = run(R"({"type":"transcribe_speech_started","data":)" + data + "}");
    REQUIRE(f.kind == vr::frame_kind::event);
    CHECK(f.server_event_type == "transcribe_speech_started");
    CHECK(f.resource == "transcribe");
    CHECK(f.alt_topic == ctopic("transcription", "9b0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e"));
    CHECK(f.timestamp.empty());
  }
}

TEST_CASE("live_codec: owners, upper-case ids and escaped keys", "[live]") {
  harness run;
  SECTION("upper-case UUIDs are lower-cased in both topics") {
    const std::string frame = cat({R"({"id":"A1B2C3D4-E5F6-7890-ABCD-EF1234567890","customer_id":"5013BC52-DA9A-11EE-844F-2FA34248DE28",)",
                                   R"("owner_type":"agent","owner_id":"98765432-4321-4321-4321-210987654321","chained_call_ids":[],"status":"ringing"})"});
    const auto& f = run(frame);
    CHECK(f.topic == ctopic("call", CALL));
    CHECK(f.alt_topic == atopic("call", CALL));
  }
  SECTION("no agent topic for a nil owner, a non-agent owner, or a resource without owners") {
    const std::string nil_owner = cat({R"({"id":")", CALL, R"(","customer_id":")", C, R"(","owner_type":"agent","owner_id":")", NIL,
                                       R"(","chained_call_ids":[],"status":"ringing"})"});
    CHECK(run(nil_owner).alt_topic.empty());
    const std::string customer_owner = cat({R"({"id":")", CALL, R"(","customer_id":")", C, R"(","owner_type":"customer","owner_id":")", A,
                                            R"(","chained_call_ids":[],"status":"ringing"})"});
    CHECK(run(customer_owner).alt_topic.empty());
    const std::string flow = cat({R"({"id":"74ac5405-7c70-4184-9388-1c9f8f8ce25f","customer_id":")", C,
                                  R"(","owner_type":"agent","owner_id":")", A, R"(","executed_actions":[],"status":"running"})"});
    const auto& f = run(flow);
    CHECK(f.server_event_type == "activeflow_created");
    CHECK(f.alt_topic.empty());
  }
  SECTION("escaped keys are keys") {
    const std::string frame = cat({R"({"\u0069d":")", CALL, R"(","customer_id":")", C, R"(","hangup_\u0062y":"","status":"dialing"})"});
    const auto& f = run(frame);
    REQUIRE(f.kind == vr::frame_kind::event);
    CHECK(f.server_event_type == "call_dialing");
    CHECK(f.topic == ctopic("call", CALL));
  }
  SECTION("non-UUID ids are kept as they are") {
    const std::string frame = cat({R"({"id":"Msg-42","customer_id":")", C, R"(","targets":[]})"});
    CHECK(run(frame).topic == ctopic("message", "Msg-42"));
  }
}

TEST_CASE("live_codec: malformed and ignored frames", "[live]") {
  harness run;
  const std::string head = cat({R"({"id":")", CALL, R"(","customer_id":")", C, R"(","chained_call_ids":[],"metadata":)"});
  struct bad {
    std::string frame;
    vr::frame_kind kind;
    std::string reason;
  };
  const bad cases[] = {
      {"", vr::frame_kind::malformed, "empty frame"},
      {"hello", vr::frame_kind::malformed, "frame is not valid JSON: "},
      {R"({"id":"x")", vr::frame_kind::malformed, "frame is not valid JSON: "},
      {"{} x", vr::frame_kind::malformed, "frame is not valid JSON: "},
      {"[1,2]", vr::frame_kind::malformed, "frame is not a JSON object"},
      {"42", vr::frame_kind::malformed, "frame is not a JSON object"},
      {R"("text")", vr::frame_kind::malformed, "frame is not a JSON object"},
      {"null", vr::frame_kind::malformed, "frame is not a JSON object"},
      // errors deep inside values the codec never looks at still fail the frame
      {head + R"({"a":["\q"]}})", vr::frame_kind::malformed, "frame is not valid JSON: "},
      {head + R"({"a":[1,2,01]}})", vr::frame_kind::malformed, "frame is not valid JSON: "},
      {head + "{\"a\":[\"\xff\"]}}", vr::frame_kind::malformed, "frame is not valid JSON: "},
      {head + R"({"a":[tru]}})", vr::frame_kind::malformed, "frame is not valid JSON: "},
      {cat({R"({"id":")", CALL, R"(","chained_call_ids":[]})"}), vr::frame_kind::malformed,
       "call event without a customer_id UUID"},
      {cat({R"({"id":")", CALL, R"(","customer_id":"abc","chained_call_ids":[]})"}), vr::frame_kind::malformed,
       "call event without a customer_id UUID"},
      {cat({R"({"id":"a:b","customer_id":")", C, R"(","chained_call_ids":[]})"}), vr::frame_kind::malformed,
       "call event without a usable id"},
      {cat({R"({"id":7,"customer_id":")", C, R"(","chained_call_ids":[]})"}), vr::frame_kind::malformed,
       "call event without a usable id"},
      {cat({R"({"id":"x y","customer_id":")", C, R"(","chained_call_ids":[]})"}), vr::frame_kind::malformed,
       "call event without a usable id"},
      {cat({R"({"id":"abc","customer_id":")", C, R"(","colour":"red"})"}), vr::frame_kind::ignored,
       "resource abc has an unrecognised shape"},
      {"{}", vr::frame_kind::ignored, "object is neither an event nor a resource"},
      {R"({"type":"ping"})", vr::frame_kind::ignored, "object is neither an event nor a resource"},
  };
  for (const auto& c : cases) {
    INFO(c.frame);
    const auto& f = run(c.frame);
    CHECK(f.kind == c.kind);
    CHECK(f.reason.compare(0, c.reason.size(), c.reason) == 0);
    if (c.reason.back() == ' ') CHECK(f.reason.size() > c.reason.size());  // simdjson's words follow
    else CHECK(f.reason == c.reason);
    CHECK(f.topic.empty());
    CHECK(f.dedupe_key == 0);
  }
  // the codec carries on normally afterwards
  const std::string good = call_frame("ringing", "null", "null");
  const auto& f = run(good);
  CHECK(f.kind == vr::frame_kind::event);
  CHECK(f.reason.empty());
  CHECK(f.data == good);
}

TEST_CASE("live_codec: documented envelope, ack and error pass through", "[live]") {
  harness run;
  SECTION("envelope") {
    const auto& f = run(R"({"event_type":"call.status","timestamp":"2024-01-15T10:30:05.000000Z",)"
                                           R"("topic":"customer_id:abc123:call:xyz789","data": {"status":"answered"} })");
    REQUIRE(f.kind == vr::frame_kind::event);
    CHECK(f.event_type == "call.status");
    CHECK(f.timestamp == "2024-01-15T10:30:05.000000Z");
    CHECK(f.topic == "customer_id:abc123:call:xyz789");
    CHECK(f.data == R"({"status":"answered"})");
    CHECK(f.resource == "call");
    CHECK(f.alt_topic.empty());
    CHECK(f.dedupe_key == 0);
  }
  SECTION("envelope with a null timestamp") {
    const auto& f = run(R"({"event_type":"x","timestamp":null,"topic":"t","data":{"a":1} })");
    REQUIRE(f.kind == vr::frame_kind::event);
    CHECK(f.timestamp.empty());
    CHECK(f.data == R"({"a":1})");
    CHECK(f.resource.empty());
  }
  SECTION("envelope data that is not an object is malformed") {
    for (const char* value : {"12.5", "null", "[]", R"("s")", "true"}) {
      INFO(value);
      const auto& f = run(std::string(R"({"event_type":"x","topic":"t","data":)") + value + "}");
      CHECK(f.kind == vr::frame_kind::malformed);
      CHECK(f.reason == "event x: data is not an object");
    }
  }
  SECTION("duplicate envelope keys: the last one wins, as in JSON.parse") {
    const auto& f = run(R"({"event_type":"a","topic":"t1","data":{"n":1},"event_type":"b","topic":"t2","data":{"n":2}})");
    REQUIRE(f.kind == vr::frame_kind::event);
    CHECK(f.event_type == "b");
    CHECK(f.topic == "t2");
    CHECK(f.data == R"({"n":2})");
  }
  SECTION("broken envelopes") {
    CHECK(run(R"({"event_type":1,"topic":"t","data":{}})").reason == "event_type is not a string");
    CHECK(run(R"({"event_type":"x","data":{}})").reason == "event x has no topic string");
    CHECK(run(R"({"event_type":"x","topic":"t","timestamp":5,"data":{}})").reason ==
          "event x has a timestamp that is not a string");
    CHECK(run(R"({"event_type":"x","topic":"t"})").reason == "event x has no data");
  }
  SECTION("ack") {
    const std::string frame = R"({"type":"ack","action":"subscribe","topics":["a","b"],"status":"success"})";
    const auto& f = run(frame);
    REQUIRE(f.kind == vr::frame_kind::ack);
    CHECK(f.action == "subscribe");
    CHECK(f.topics == std::vector<std::string>{"a", "b"});
    CHECK(f.raw == frame);
  }
  SECTION("error") {
    const std::string frame = R"({"type":"error","action":"subscribe","topics":["a"],"code":"PERMISSION_DENIED","message":"no"})";
    const auto& f = run(frame);
    REQUIRE(f.kind == vr::frame_kind::error);
    CHECK(f.code == "PERMISSION_DENIED");
    CHECK(f.message == "no");
    CHECK(f.topics == std::vector<std::string>{"a"});
    CHECK(run(R"({"type":"error","topics":"a"})").reason == "error frame: topics is not an array");
    CHECK(run(R"({"type":"ack","topics":[1]})").reason ==
          "ack frame: topics holds a value that is not a string");
  }
}

TEST_CASE("live_codec: wire topics for documented patterns", "[live]") {
  using v = std::vector<std::string>;
  const std::string c = std::string("customer_id:") + C + ":";
  const std::string a = std::string("agent_id:") + A + ":";
  const std::string id = CALL;
  CHECK(vr::live_wire_topics(c + "call:*") == v{c + "call:call_"});
  CHECK(vr::live_wire_topics(c + "call:" + id) == v{c + "call:" + id});
  CHECK(vr::live_wire_topics(c + "*:*") == v{c});
  CHECK(vr::live_wire_topics(c + "*:" + id) == v{c});
  CHECK(vr::live_wire_topics(c + "queue:*") == v{c + "queuecall:queuecall_"});
  CHECK(vr::live_wire_topics(c + "queue:" + id) == v{c + "queuecall:" + id});
  CHECK(vr::live_wire_topics(c + "transcription:*") == v{c + "transcribe:transcribe_", c + "transcript:transcript_"});
  CHECK(vr::live_wire_topics(c + "transcription:" + id) == v{c + "transcribe:" + id, c + "transcript:" + id});
  CHECK(vr::live_wire_topics(a + "call:*") == v{a + "call:call_"});
  CHECK(vr::live_wire_topics(a + "*:*") == v{a});
  CHECK(vr::live_wire_topics(c + "message:Msg-42") == v{c + "message:Msg-42"});
  CHECK(vr::live_wire_topics("customer_id:5013BC52-DA9A-11EE-844F-2FA34248DE28:call:A1B2C3D4-E5F6-7890-ABCD-EF1234567890") ==
        v{c + "call:" + id});
  CHECK(vr::live_wire_topics(c + "call").empty());
  CHECK(vr::live_wire_topics(c + "call:x:y").empty());
  CHECK(vr::live_wire_topics("").empty());
  CHECK(vr::live_wire_topics(c + "Call:*").empty());
  CHECK(vr::live_wire_topics("customer_id:abc:call:*").empty());
  CHECK(vr::live_wire_topics(c + "call:ca*").empty());

  SECTION("each wanted event arrives once and neighbours do not collide") {
    const std::string cs = std::string("customer_id:") + C;
    CHECK(deliveries(vr::live_wire_topics(c + "call:*"), cs, "call", "call_hangup", id) == 1);
    CHECK(deliveries(vr::live_wire_topics(c + "call:" + id), cs, "call", "call_hangup", id) == 1);
    CHECK(deliveries(vr::live_wire_topics(c + "queue:*"), cs, "queuecall", "queuecall_waiting", id) == 1);
    CHECK(deliveries(vr::live_wire_topics(c + "transcription:*"), cs, "transcribe", "transcribe_done", id) == 1);
    CHECK(deliveries(vr::live_wire_topics(c + "transcription:*"), cs, "transcript", "transcript_created", id) == 1);
    CHECK(deliveries(vr::live_wire_topics(c + "conference:*"), cs, "conferencecall", "conferencecall_joined", id) == 0);
    CHECK(deliveries(vr::live_wire_topics(c + "ai:*"), cs, "aicall", "aicall_created", id) == 0);
    CHECK(deliveries(vr::live_wire_topics(c + "call:*"), cs, "call", "call_hangup", "b1b2c3d4-e5f6-7890-abcd-ef1234567890") == 1);
    CHECK(deliveries(vr::live_wire_topics(c + "call:" + id), cs, "call", "call_hangup", "b1b2c3d4-e5f6-7890-abcd-ef1234567890") == 0);
    // the naive 3-part prefix would double-deliver: this is what the translation avoids
    CHECK(deliveries({c + "call"}, cs, "call", "call_hangup", id) == 2);
    CHECK(deliveries(vr::live_wire_topics(c + "*:*"), cs, "call", "call_hangup", id) == 2);
  }
}

TEST_CASE("live_codec: local matching of derived topics against documented patterns", "[live]") {
  const auto lines = read_fixtures();
  vr::live_codec codec;
  auto matched = [&](std::initializer_list<std::string> patterns, std::size_t line) {
    vr::topic_matcher m;
    for (const auto& p : patterns) {
      std::string norm, err;
      REQUIRE(vr::normalize_pattern(p, norm, err));
      m.add(norm);
    }
    padded p(lines[line - 1].frame);
    std::string_view second;
    std::string first(vr::live_matched_topic(m, classify(codec, p), second));
    return second.empty() ? first : first + " + " + std::string(second);
  };
  const std::string c = std::string("customer_id:") + C + ":";
  const std::string a = std::string("agent_id:") + A + ":";
  const std::string qc = "3b7e6a52-9c1d-4f0e-8a2b-5d6c7e8f9a0b";
  CHECK(matched({c + "queue:*"}, 7) == ctopic("queue", qc));
  CHECK(matched({c + "queuecall:*"}, 7) == ctopic("queuecall", qc));
  CHECK(matched({c + "queue:" + qc}, 8) == ctopic("queue", qc));
  CHECK(matched({c + "transcription:*"}, 12) == ctopic("transcription", "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"));
  CHECK(matched({c + "transcription:*"}, 13) == ctopic("transcription", "9b0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e"));
  CHECK(matched({a + "call:*"}, 1) == atopic("call", CALL));
  CHECK(matched({a + "*:*"}, 11) == atopic("recording", "5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"));
  // both topics matched: each is reported, so a subscription on each receives the event
  CHECK(matched({c + "call:*", a + "call:*"}, 1) == ctopic("call", CALL) + " + " + atopic("call", CALL));
  CHECK(matched({c + "queue:*", c + "queuecall:*"}, 7) == ctopic("queuecall", qc) + " + " + ctopic("queue", qc));
  CHECK(matched({c + "*:*", c + "transcription:*"}, 13) ==
        ctopic("transcript", "9b0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e") + " + " +
            ctopic("transcription", "9b0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e"));
  CHECK(matched({c + "*:*"}, 14) == ctopic("call", CALL));
  CHECK(matched({c + "message:*"}, 1).empty());
  CHECK(matched({c + "queue:*"}, 9).empty());
  CHECK(matched({"agent_id:11111111-2222-4333-8444-555555555555:call:*"}, 1).empty());
}

TEST_CASE("live_codec: documented counterparts of live events", "[live]") {
  auto doc = [](std::string_view e, std::string_view status = {}, std::string_view direction = {}) {
    return std::string(vr::live_documented_event(e, status, direction));
  };
  CHECK(doc("call_created", "dialing") == "call.created");
  for (const char* e : {"call_dialing", "call_ringing", "call_progressing", "call_terminating", "call_canceling"})
    CHECK(doc(e) == "call.status");
  CHECK(doc("call_hangup", "hangup") == "call.ended");
  CHECK(doc("message_created", {}, "inbound") == "message.received");
  CHECK(doc("message_created", {}, "outbound") == "message.sent");
  CHECK(doc("message_created").empty());  // no direction: neither
  CHECK(doc("message_updated", {}, "outbound") == "message.delivery");
  CHECK(doc("activeflow_updated", "running") == "activeflow.updated");
  CHECK(doc("activeflow_updated", "ended") == "activeflow.completed");
  CHECK(doc("queuecall_waiting") == "queue.joined");
  CHECK(doc("queuecall_serviced") == "queue.connected");
  CHECK(doc("queuecall_done") == "queue.left");
  CHECK(doc("queuecall_abandoned") == "queue.left");
  CHECK(doc("agent_status_updated", "busy") == "agent.status");
  CHECK(doc("conference_updated", "terminated") == "conference.ended");
  CHECK(doc("conference_updated", "progressing").empty());
  CHECK(doc("recording_started") == "recording.started");
  CHECK(doc("recording_finished") == "recording.completed");
  CHECK(doc("transcribe_done") == "transcription.completed");
  for (const char* e : {"call_updated", "call_deleted", "groupcall_hangup", "message_deleted", "activeflow_created",
                        "activeflow_deleted", "queuecall_created", "queuecall_connecting", "queuecall_deleted",
                        "agent_created", "agent_updated", "conference_created", "conference_deleted",
                        "transcribe_created", "transcribe_progressing", "transcript_created", "call.status", ""})
    CHECK(doc(e).empty());

  // A wrapped frame maps through the same table, with the status and direction of its resource.
  vr::live_codec codec;
  padded p(std::string(R"({"type":"message_created","data":{"id":"m1","customer_id":")") + C +
           R"(","targets":[],"direction":"outbound","tm_create":"2026-10-07T10:00:00Z"}})");
  const auto& f = classify(codec, p);
  CHECK(f.event_type == "message.sent");
  CHECK(f.server_event_type == "message_created");
}

TEST_CASE("live_codec: permission checks before subscribing", "[live]") {
  using vr::live_credential;
  using vr::live_verdict;
  const std::string c = std::string("customer_id:") + C + ":";
  const std::string a = std::string("agent_id:") + A + ":";

  auto r = vr::live_permission_check(a + "call:*", live_credential::access_key, "");
  CHECK(r.verdict == live_verdict::deny);
  CHECK(r.code == "PERMISSION_DENIED");
  CHECK(r.message == "an access key belongs to no agent: the live server closes the connection on \"" + a + "call:*\"");

  r = vr::live_permission_check(a + "call:*", live_credential::jwt, "11111111-2222-4333-8444-555555555555");
  CHECK(r.verdict == live_verdict::deny);
  CHECK(r.code == "PERMISSION_DENIED");
  CHECK(r.message == "the token belongs to agent 11111111-2222-4333-8444-555555555555: the live server closes the "
                     "connection on another agent's topic \"" + a + "call:*\"");

  for (const char* agent : {A, "98765432-4321-4321-4321-210987654321", ""}) {
    r = vr::live_permission_check(a + "call:*", live_credential::jwt, agent);
    CHECK(r.verdict == live_verdict::ok);
    CHECK(r.code.empty());
    CHECK(r.message.empty());
  }
  CHECK(vr::live_permission_check(a + "call:*", live_credential::jwt, "98765432-4321-4321-4321-210987654321").verdict ==
        live_verdict::ok);
  CHECK(vr::live_permission_check(a + "recording:*", live_credential::jwt, A).verdict == live_verdict::ok);
  CHECK(vr::live_permission_check(a + "*:*", live_credential::jwt, A).verdict == live_verdict::ok);

  for (const char* resource : {"queue", "queuecall", "agent", "transcribe", "transcription", "message"}) {
    INFO(resource);
    r = vr::live_permission_check(a + resource + ":*", live_credential::jwt, A);
    CHECK(r.verdict == live_verdict::warn);
    CHECK(r.code.empty());
    CHECK(r.message == std::string("the live server never publishes ") + resource + " events on agent_id topics: \"" + a +
                           resource + ":*\" will receive nothing");
  }

  CHECK(vr::live_permission_check(c + "call:*", live_credential::access_key, "").verdict == live_verdict::ok);
  CHECK(vr::live_permission_check(c + "queue:*", live_credential::access_key, "").verdict == live_verdict::ok);
  r = vr::live_permission_check(c + "queue:q1", live_credential::jwt, "");
  CHECK(r.verdict == live_verdict::warn);
  CHECK(r.message == "live queue calls carry no queue id: \"" + c + "queue:q1\" only matches the queue call whose own id is q1");
  r = vr::live_permission_check(c + "conferencecall:*", live_credential::jwt, "");
  CHECK(r.verdict == live_verdict::warn);
  CHECK(r.message == "the live server never publishes conferencecall events: \"" + c + "conferencecall:*\" will receive nothing");
  r = vr::live_permission_check("customer_id:x", live_credential::jwt, "");
  CHECK(r.verdict == live_verdict::deny);
  CHECK(r.code == "INVALID_TOPIC");
  CHECK(r.message == "topic \"customer_id:x\" must have 4 segments <scope>:<scope_id>:<resource>:<resource_id>, found 2");
  r = vr::live_permission_check("agent_id:abc:call:*", live_credential::jwt, "");
  CHECK(r.verdict == live_verdict::deny);
  CHECK(r.code == "INVALID_TOPIC");
  CHECK(r.message == "scope_id \"abc\" is not a UUID");
}

TEST_CASE("live_codec: the dedupe key depends on every part and on where each part ends", "[live]") {
  vr::live_codec codec;
  const auto key = [&](std::string_view id, std::string_view tm_update, std::string_view status) {
    padded p(cat({R"({"id":")", id, R"(","customer_id":")", C, R"(","hangup_by":"","tm_create":"2026-01-01",)",
                  R"("tm_update":")", tm_update, R"(","status":")", status, R"("})"}));
    const auto& f = classify(codec, p);
    REQUIRE(f.kind == vr::frame_kind::event);
    CHECK(f.server_event_type == "call_updated");  // statuses no live event names
    return f.dedupe_key;
  };
  const std::uint64_t base = key("call-1", "2026-01-02x", "y");
  CHECK(base != 0);
  CHECK(key("call-1", "2026-01-02x", "y") == base);
  // The same bytes split at another place between tm_update and status.
  CHECK(key("call-1", "2026-01-02", "xy") != base);
  CHECK(key("call-2", "2026-01-02x", "y") != base);
  CHECK(key("call-1", "2026-01-03x", "y") != base);
  CHECK(key("call-1", "2026-01-02x", "z") != base);
  // Parts longer than a word and of every tail length hash apart from their neighbours.
  std::set<std::uint64_t> keys;
  for (std::size_t n = 1; n <= 24; ++n) keys.insert(key(std::string(n, 'a'), std::string(25 - n, 'b'), "q"));
  CHECK(keys.size() == 24);
}

TEST_CASE("live_codec: dedupe window", "[live]") {
  SECTION("FIFO eviction by arrival") {
    vr::dedupe_window w(3);
    CHECK(w.capacity() == 3);
    CHECK_FALSE(w.seen_recently(1));
    CHECK_FALSE(w.seen_recently(2));
    CHECK_FALSE(w.seen_recently(3));
    CHECK(w.size() == 3);
    CHECK(w.seen_recently(1));
    CHECK(w.seen_recently(2));
    CHECK(w.seen_recently(3));
    CHECK_FALSE(w.seen_recently(4));  // evicts 1
    CHECK(w.size() == 3);
    CHECK(w.seen_recently(2));
    CHECK_FALSE(w.seen_recently(1));  // 1 was evicted; now evicts 2
    CHECK_FALSE(w.seen_recently(2));  // evicts 3
    CHECK(w.seen_recently(4));
    CHECK(w.seen_recently(1));
    CHECK_FALSE(w.seen_recently(3));  // evicts 4
    CHECK_FALSE(w.seen_recently(4));
    CHECK(w.size() == 3);
  }
  SECTION("a repeated key keeps its place in line") {
    vr::dedupe_window w(2);
    CHECK_FALSE(w.seen_recently(10));
    CHECK_FALSE(w.seen_recently(20));
    CHECK(w.seen_recently(10));
    CHECK_FALSE(w.seen_recently(30));  // evicts 10, the oldest arrival
    CHECK_FALSE(w.seen_recently(10));
    CHECK(w.seen_recently(30));
  }
  SECTION("key 0, capacity 0 and clear") {
    vr::dedupe_window w(4);
    CHECK_FALSE(w.seen_recently(0));
    CHECK_FALSE(w.seen_recently(0));
    CHECK(w.size() == 0);
    vr::dedupe_window off(0);
    CHECK_FALSE(off.seen_recently(5));
    CHECK_FALSE(off.seen_recently(5));
    CHECK(off.size() == 0);
    CHECK_FALSE(w.seen_recently(5));
    w.clear();
    CHECK(w.size() == 0);
    CHECK_FALSE(w.seen_recently(5));
    CHECK(w.seen_recently(5));
  }
  SECTION("matches a reference model under heavy eviction") {
    for (std::size_t capacity : {1u, 2u, 7u, 8u, 64u, 4096u}) {
      INFO("capacity " << capacity);
      vr::dedupe_window w(capacity);
      std::deque<std::uint64_t> order;
      std::set<std::uint64_t> held;
      std::mt19937_64 rng(capacity);
      std::uniform_int_distribution<std::uint64_t> pick(1, capacity * 3 + 5);
      std::size_t hits = 0, model_hits = 0;
      bool same = true;
      for (int i = 0; i < 100000; ++i) {
        const std::uint64_t k = pick(rng);
        const bool got = w.seen_recently(k);
        const bool want = held.count(k) != 0;
        if (!want) {
          if (order.size() == capacity) {
            held.erase(order.front());
            order.pop_front();
          }
          order.push_back(k);
          held.insert(k);
        }
        hits += got;
        model_hits += want;
        if (got != want || w.size() != order.size()) {
          same = false;
          break;
        }
      }
      CHECK(same);
      CHECK(hits == model_hits);
      CHECK(hits > 0);
      CHECK(w.size() == capacity);
    }
  }
}
