#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/codec.h"

namespace {

// A frame in a buffer with readable bytes past its end, as the transport hands it over. The
// padding holds JSON-looking garbage so that nothing can depend on what follows the frame.
class frame {
 public:
  explicit frame(std::string_view text) : size_(text.size()), buffer_(text) {
    for (std::size_t i = 0; i < simdjson::SIMDJSON_PADDING; ++i) buffer_.push_back("\"}],1"[i % 5]);
  }
  const vr::frame_view& classify(vr::documented_codec& codec) const {
    return codec.classify(buffer_.data(), size_, buffer_.size());
  }

 private:
  std::size_t size_;
  std::string buffer_;
};

std::string invalid(simdjson::error_code e) {
  return std::string("invalid JSON: ") + simdjson::error_message(e);
}

struct event_case {
  std::string event_type, timestamp, topic, data;
};

// Event examples from VoIPBIN's "Event Type Reference", laid out as the docs print them.
const std::vector<event_case> kDocumentedEvents = {
    {"call.created", "2024-01-15T10:30:00.000000Z", "customer_id:abc123:call:xyz789", R"({
            "id": "xyz789",
            "customer_id": "abc123",
            "direction": "inbound",
            "source": {
                "type": "tel",
                "target": "+15551234567"
            },
            "destination": {
                "type": "tel",
                "target": "+15559876543"
            },
            "status": "ringing",
            "tm_create": "2024-01-15T10:30:00.000000Z"
        })"},
    {"call.status", "2024-01-15T10:30:05.000000Z", "customer_id:abc123:call:xyz789", R"({
            "id": "xyz789",
            "status": "answered",
            "previous_status": "ringing",
            "tm_update": "2024-01-15T10:30:05.000000Z"
        })"},
    {"message.received", "2024-01-15T10:30:00.000000Z", "customer_id:abc123:message:msg789", R"({
            "id": "msg789",
            "customer_id": "abc123",
            "direction": "inbound",
            "source": {
                "type": "tel",
                "target": "+15551234567"
            },
            "destination": {
                "type": "tel",
                "target": "+15559876543"
            },
            "text": "Hello, I need help with my order",
            "tm_create": "2024-01-15T10:30:00.000000Z"
        })"},
    {"message.delivery", "2024-01-15T10:30:02.000000Z", "customer_id:abc123:message:msg789", R"({
            "id": "msg789",
            "status": "delivered",
            "tm_update": "2024-01-15T10:30:02.000000Z"
        })"},
    {"activeflow.updated", "2024-01-15T10:30:00.000000Z", "customer_id:abc123:activeflow:flow789",
     R"({
            "id": "flow789",
            "flow_id": "template123",
            "status": "executing",
            "current_action": {
                "id": "action456",
                "type": "play",
                "name": "welcome_message"
            },
            "tm_update": "2024-01-15T10:30:00.000000Z"
        })"},
    {"activeflow.completed", "2024-01-15T10:35:00.000000Z", "customer_id:abc123:activeflow:flow789",
     R"({
            "id": "flow789",
            "flow_id": "template123",
            "status": "completed",
            "result": "success",
            "tm_end": "2024-01-15T10:35:00.000000Z"
        })"},
    {"queue.joined", "2024-01-15T10:30:00.000000Z", "customer_id:abc123:queue:queue789", R"({
            "queue_id": "queue789",
            "call_id": "call456",
            "position": 3,
            "estimated_wait": 120,
            "tm_join": "2024-01-15T10:30:00.000000Z"
        })"},
    {"queue.connected", "2024-01-15T10:32:00.000000Z", "customer_id:abc123:queue:queue789", R"({
            "queue_id": "queue789",
            "call_id": "call456",
            "agent_id": "agent123",
            "wait_time": 120,
            "tm_connect": "2024-01-15T10:32:00.000000Z"
        })"},
    {"conference.joined", "2024-01-15T10:30:00.000000Z", "customer_id:abc123:conference:conf789",
     R"({
            "conference_id": "conf789",
            "call_id": "call456",
            "participant_count": 3,
            "tm_join": "2024-01-15T10:30:00.000000Z"
        })"},
    {"conference.left", "2024-01-15T10:45:00.000000Z", "customer_id:abc123:conference:conf789",
     R"({
            "conference_id": "conf789",
            "call_id": "call456",
            "participant_count": 2,
            "reason": "hangup",
            "tm_leave": "2024-01-15T10:45:00.000000Z"
        })"},
    {"agent.status", "2024-01-15T10:30:00.000000Z", "agent_id:agent123:agent:agent123", R"({
            "agent_id": "agent123",
            "status": "available",
            "previous_status": "busy",
            "tm_update": "2024-01-15T10:30:00.000000Z"
        })"},
    {"recording.completed", "2024-01-15T10:45:00.000000Z", "customer_id:abc123:recording:rec789",
     R"({
            "id": "rec789",
            "call_id": "call456",
            "duration": 300,
            "format": "wav",
            "size": 2400000,
            "reference_url": "https://storage.voipbin.net/recordings/rec789.wav",
            "tm_complete": "2024-01-15T10:45:00.000000Z"
        })"},
};

std::string event_frame(const event_case& c) {
  return "{\n        \"event_type\": \"" + c.event_type + "\",\n        \"timestamp\": \"" +
         c.timestamp + "\",\n        \"topic\": \"" + c.topic + "\",\n        \"data\": " + c.data +
         "\n    }\n";
}

std::string minimal_event(std::string_view data) {
  return R"({"event_type":"call.status","topic":"customer_id:abc123:call:xyz789","data":)" +
         std::string(data) + "}";
}

void check_malformed(vr::documented_codec& codec, std::string_view text,
                     const std::string& reason) {
  INFO("frame: " << text);
  const frame f(text);
  const auto& out = f.classify(codec);
  CHECK(out.kind == vr::frame_kind::malformed);
  CHECK(out.reason == reason);
  CHECK(out.event_type.empty());
  CHECK(out.data.empty());
  CHECK(out.raw.empty());
  CHECK(out.topics.empty());
}

}  // namespace

TEST_CASE("codec: every documented event example is an event", "[codec]") {
  vr::documented_codec codec;
  for (const auto& c : kDocumentedEvents) {
    INFO(c.event_type);
    const frame f(event_frame(c));
    const auto& out = f.classify(codec);
    REQUIRE(out.kind == vr::frame_kind::event);
    CHECK(out.event_type == c.event_type);
    CHECK(out.timestamp == c.timestamp);
    CHECK(out.topic == c.topic);
    CHECK(out.data == c.data);
    CHECK(out.reason.empty());
    CHECK(out.raw.empty());
    CHECK(out.topics.empty());
  }
}

TEST_CASE("codec: event fields in any order, escapes, optional timestamp", "[codec]") {
  vr::documented_codec codec;
  {
    const frame f(R"({"data":{"id":"x"} , "topic":"customer_id:abc:call:x","event_type":"call.ended"})");
    const auto& out = f.classify(codec);
    REQUIRE(out.kind == vr::frame_kind::event);
    CHECK(out.event_type == "call.ended");
    CHECK(out.topic == "customer_id:abc:call:x");
    CHECK(out.timestamp.empty());
    CHECK(out.data == R"({"id":"x"})");
  }
  {
    // Escaped keys and values are unescaped; `data` keeps its original text.
    const frame f(
        R"({"event\u005ftype":"call\u002estatus","topic":"customer_id:abc:call:caf\u00e9\/1",)"
        R"("timestamp":null,"data":{"t":"\u00e9\n"},"extra":{"deep":[1,{"x":null}]}})");
    const auto& out = f.classify(codec);
    REQUIRE(out.kind == vr::frame_kind::event);
    CHECK(out.event_type == "call.status");
    CHECK(out.topic == "customer_id:abc:call:caf\u00e9/1");
    CHECK(out.timestamp.empty());
    CHECK(out.data == R"({"t":"\u00e9\n"})");
  }
  {
    // `data` between other members, with brackets, quotes and backslashes inside its strings,
    // and long enough that its text is found 16 and 64 bytes at a time.
    const std::string data =
        R"({"s":"}\"{]","a":[{"b":"]\\"},{"c":"[["}],"pad":")" + std::string(80, 'x') + R"(","n":{"m":{}}})";
    const frame f(R"({"event_type":"a\"b","note":"{\\","data":)" + data + R"( ,"topic":"t","x":[{"y":"}"}]})");
    const auto& out = f.classify(codec);
    REQUIRE(out.kind == vr::frame_kind::event);
    CHECK(out.event_type == "a\"b");
    CHECK(out.data == data);
  }
  {
    // A top-level type other than ack/error does not hide an event.
    const frame f(R"({"type":"event","event_type":"agent.status","topic":"t","data":{}})");
    const auto& out = f.classify(codec);
    REQUIRE(out.kind == vr::frame_kind::event);
    CHECK(out.data == "{}");
  }
}

TEST_CASE("codec: data must be an object", "[codec]") {
  vr::documented_codec codec;
  for (const std::string value : {"{}", R"({"3":[null]})"}) {
    INFO(value);
    const frame f(minimal_event("  " + value + "\n "));
    const auto& out = f.classify(codec);
    REQUIRE(out.kind == vr::frame_kind::event);
    CHECK(out.data == value);
  }
  const std::vector<std::string> values = {
      "null",   "true", "false", "0", "5", "-1.5e+3", "1e400", "123456789012345678901234567890",
      R"("s")", "[]",   R"([1,"two",{"3":[null]}])"};
  for (const auto& value : values) {
    INFO(value);
    const frame f(minimal_event("  " + value + "\n "));
    const auto& out = f.classify(codec);
    CHECK(out.kind == vr::frame_kind::malformed);
    CHECK(out.reason == "data is not an object");
  }
}

TEST_CASE("codec: duplicate keys, the last one wins as in JSON.parse", "[codec]") {
  vr::documented_codec codec;
  const frame f(R"({"event_type":"a","topic":"t1","data":{"n":1},"event_type":"b","topic":"t2","data":{"n":2}})");
  const auto& out = f.classify(codec);
  REQUIRE(out.kind == vr::frame_kind::event);
  CHECK(out.event_type == "b");
  CHECK(out.topic == "t2");
  CHECK(out.data == R"({"n":2})");
  // The same frame through the on-demand path (nested deeper than the DOM path takes).
  const std::string deep = std::string(300, '[') + std::string(300, ']');
  const frame g(R"({"x":)" + deep + R"(,"event_type":"a","topic":"t1","data":{"n":1},"topic":"t2","data":{"n":2}})");
  const auto& slow = g.classify(codec);
  REQUIRE(slow.kind == vr::frame_kind::event);
  CHECK(slow.topic == "t2");
  CHECK(slow.data == R"({"n":2})");
}

TEST_CASE("codec: ack frames", "[codec]") {
  vr::documented_codec codec;
  const std::string text = R"({
        "type": "ack",
        "action": "subscribe",
        "topics": [
            "customer_id:abc123:call:*"
        ],
        "status": "success"
    })";
  const frame f("\n  " + text + " \r\n");
  const auto& out = f.classify(codec);
  REQUIRE(out.kind == vr::frame_kind::ack);
  CHECK(out.action == "subscribe");
  CHECK(out.topics == std::vector<std::string>{"customer_id:abc123:call:*"});
  CHECK(out.raw == text);
  CHECK(out.code.empty());
  CHECK(out.message.empty());

  const frame two(R"({"topics":["a","b\u0041"],"action":"unsubscribe","type":"ack"})");
  const auto& second = two.classify(codec);
  REQUIRE(second.kind == vr::frame_kind::ack);
  CHECK(second.action == "unsubscribe");
  CHECK(second.topics == std::vector<std::string>{"a", "bA"});
  CHECK(second.raw == R"({"topics":["a","b\u0041"],"action":"unsubscribe","type":"ack"})");
}

TEST_CASE("codec: error frames with each documented code", "[codec]") {
  vr::documented_codec codec;
  for (const std::string code :
       {"PERMISSION_DENIED", "INVALID_TOPIC", "INVALID_MESSAGE", "RATE_LIMITED"}) {
    INFO(code);
    const std::string text = R"({"type":"error","action":"subscribe","topics":["customer_id:abc123:call:*"],"code":")" +
                             code + R"(","message":"You do not have \"permission\""})";
    const frame f(text);
    const auto& out = f.classify(codec);
    REQUIRE(out.kind == vr::frame_kind::error);
    CHECK(out.action == "subscribe");
    CHECK(out.topics == std::vector<std::string>{"customer_id:abc123:call:*"});
    CHECK(out.code == code);
    CHECK(out.message == "You do not have \"permission\"");
    CHECK(out.raw == text);
  }
  // An error about the message as a whole need not name an action or topics.
  const frame bare(R"({"type":"error","code":"INVALID_MESSAGE","message":"bad"})");
  const auto& out = bare.classify(codec);
  REQUIRE(out.kind == vr::frame_kind::error);
  CHECK(out.action.empty());
  CHECK(out.topics.empty());
  CHECK(out.code == "INVALID_MESSAGE");
}

TEST_CASE("codec: wrong or missing fields", "[codec]") {
  vr::documented_codec codec;
  check_malformed(codec, R"({"event_type":5,"topic":"t","data":{}})", "event_type is not a string");
  check_malformed(codec, R"({"event_type":"x","data":{}})", "topic is missing");
  check_malformed(codec, R"({"event_type":"x","topic":["t"],"data":{}})", "topic is not a string");
  check_malformed(codec, R"({"event_type":"x","topic":"t"})", "data is missing");
  check_malformed(codec, R"({"event_type":"x","topic":"t","timestamp":1,"data":{}})",
                  "timestamp is not a string");
  check_malformed(codec, R"({"type":5})", "type is not a string");
  check_malformed(codec, R"({"type":"ack","topics":["a"]})", "action is missing");
  check_malformed(codec, R"({"type":"ack","action":"subscribe"})", "topics is missing");
  check_malformed(codec, R"({"type":"ack","action":"subscribe","topics":"a"})",
                  "topics is not an array of strings");
  check_malformed(codec, R"({"type":"ack","action":"subscribe","topics":["a",1]})",
                  "topics is not an array of strings");
  check_malformed(codec, R"({"type":"ack","action":"subscribe","topics":[],"status":true})",
                  "status is not a string");
  check_malformed(codec, R"({"type":"ack","action":null,"topics":[]})", "action is not a string");
  check_malformed(codec, R"({"type":"error","message":"m"})", "code is missing");
  check_malformed(codec, R"({"type":"error","code":"RATE_LIMITED"})", "message is missing");
  check_malformed(codec, R"({"type":"error","code":"RATE_LIMITED","message":{}})",
                  "message is not a string");
}

TEST_CASE("codec: invalid JSON anywhere is malformed", "[codec]") {
  vr::documented_codec codec;
  using namespace simdjson;
  check_malformed(codec, minimal_event(R"({"a":tru})"), invalid(T_ATOM_ERROR));
  check_malformed(codec, minimal_event(R"({"a":[fals]})"), invalid(F_ATOM_ERROR));
  check_malformed(codec, minimal_event(R"({"a":nul})"), invalid(N_ATOM_ERROR));
  check_malformed(codec, minimal_event("truex"), invalid(T_ATOM_ERROR));
  check_malformed(codec, minimal_event("nulll"), invalid(N_ATOM_ERROR));
  check_malformed(codec, minimal_event(R"({"a":1.2.3})"), invalid(NUMBER_ERROR));
  check_malformed(codec, minimal_event(R"({"a":01})"), invalid(NUMBER_ERROR));
  check_malformed(codec, minimal_event(R"([1.])"), invalid(NUMBER_ERROR));
  check_malformed(codec, minimal_event("-"), invalid(NUMBER_ERROR));
  check_malformed(codec, minimal_event(R"({"a":"\q"})"), invalid(STRING_ERROR));
  check_malformed(codec, minimal_event("{\"a\":\"\x01\"}"), invalid(UNESCAPED_CHARS));
  check_malformed(codec, minimal_event("{\"\xc3\x28\":1}"), invalid(UTF8_ERROR));
  check_malformed(codec, minimal_event("[1 2]"), invalid(TAPE_ERROR));
  check_malformed(codec, minimal_event(R"({"a":1,})"), invalid(TAPE_ERROR));
  // An unread string followed by ':' must not let the parser skip over the rest (fuzz finding).
  check_malformed(codec, R"({"event_type":"x","topic":"t","data":"a":{"b":1}})",
                  invalid(TAPE_ERROR));
  check_malformed(codec, R"({"":"t","data":"data":{"id":"x","s":0,1,truee,null]}})",
                  invalid(TAPE_ERROR));
  // Fields the client does not read are validated too.
  check_malformed(codec, R"({"event_type":"x","topic":"t","data":1,"extra":[1,nul]})",
                  invalid(N_ATOM_ERROR));
  check_malformed(codec, R"({"type":"pong","extra":{"a":01}})", invalid(NUMBER_ERROR));
}

TEST_CASE("codec: truncated, trailing, empty, binary and deep frames", "[codec]") {
  vr::documented_codec codec;
  using namespace simdjson;
  const std::string whole = minimal_event(R"({"a":[1,2]})");
  for (std::size_t cut = 1; cut < whole.size(); ++cut) {
    INFO("cut at " << cut);
    const frame f(whole.substr(0, cut));
    const auto& out = f.classify(codec);
    CHECK(out.kind == vr::frame_kind::malformed);
    CHECK(out.reason.rfind("invalid JSON: ", 0) == 0);
  }
  check_malformed(codec, whole + " x", invalid(INCOMPLETE_ARRAY_OR_OBJECT));
  check_malformed(codec, whole + "}", invalid(TRAILING_CONTENT));
  check_malformed(codec, whole + "\"", invalid(UNCLOSED_STRING));
  check_malformed(codec, "", "empty frame");
  check_malformed(codec, " \t\r\n ", "empty frame");
  check_malformed(codec, std::string("\xff\xfe\x00\x01\x80", 5), invalid(UTF8_ERROR));
  check_malformed(codec, std::string("{\0\0\0}", 5), invalid(TAPE_ERROR));
  check_malformed(codec, std::string(10000, '['), invalid(INCOMPLETE_ARRAY_OR_OBJECT));
  check_malformed(codec, std::string(10000, '[') + std::string(10000, ']'), invalid(DEPTH_ERROR));
  check_malformed(codec, minimal_event(std::string(10000, '[') + std::string(10000, ']')),
                  invalid(DEPTH_ERROR));
  std::string nested_objects;
  for (int i = 0; i < 5000; ++i) nested_objects += "{\"a\":";
  nested_objects += "1" + std::string(5000, '}');
  check_malformed(codec, nested_objects, invalid(DEPTH_ERROR));
  // 500 levels is within the limit.
  const frame ok(minimal_event("{\"a\":" + std::string(500, '[') + std::string(500, ']') + "}"));
  CHECK(ok.classify(codec).kind == vr::frame_kind::event);
}

TEST_CASE("codec: valid JSON that is not an object", "[codec]") {
  vr::documented_codec codec;
  using namespace simdjson;
  check_malformed(codec, "[1,2]", "not a JSON object");
  check_malformed(codec, "\"call.status\"", "not a JSON object");
  check_malformed(codec, " 42 ", "not a JSON object");
  check_malformed(codec, "null", "not a JSON object");
  check_malformed(codec, "tru", invalid(T_ATOM_ERROR));
  check_malformed(codec, "5 6", invalid(TRAILING_CONTENT));
  check_malformed(codec, "\"abc\" x", invalid(TRAILING_CONTENT));
  check_malformed(codec, "[1,2", invalid(INCOMPLETE_ARRAY_OR_OBJECT));
}

TEST_CASE("codec: ignored frames", "[codec]") {
  vr::documented_codec codec;
  const auto check_ignored = [&](std::string_view text, std::string_view reason) {
    INFO(text);
    const frame f(text);
    const auto& out = f.classify(codec);
    CHECK(out.kind == vr::frame_kind::ignored);
    CHECK(out.reason == reason);
  };
  check_ignored(R"({"type":"pong"})", R"(unknown type "pong")");
  check_ignored(R"({"type":"subscribe","topics":["customer_id:abc:call:*"]})",
                R"(unknown type "subscribe")");
  check_ignored(R"({"type":"a\"b"})", R"(unknown type "a\"b")");
}

TEST_CASE("codec: a frame with neither event_type nor type is malformed", "[codec]") {
  vr::documented_codec codec;
  for (const std::string text : {"{}", R"({"foo":1})", R"({"id":"x","status":"ringing","data":{"a":1}})"}) {
    INFO(text);
    const frame f(text);
    const auto& out = f.classify(codec);
    CHECK(out.kind == vr::frame_kind::malformed);
    CHECK(out.reason == "no event_type or type field");
  }
}

TEST_CASE("codec: results do not leak into the next frame", "[codec]") {
  vr::documented_codec codec;
  const frame ack(R"({"type":"ack","action":"subscribe","topics":["a","b"]})");
  REQUIRE(ack.classify(codec).topics.size() == 2);
  const frame event(minimal_event("{}"));
  const auto& out = event.classify(codec);
  REQUIRE(out.kind == vr::frame_kind::event);
  CHECK(out.topics.empty());
  CHECK(out.raw.empty());
  CHECK(out.action.empty());
  // The live dialect's extra fields stay unset in the documented codec.
  CHECK(out.alt_topic.empty());
  CHECK(out.resource.empty());
  CHECK(out.dedupe_key == 0);
  const frame bad("{");
  CHECK(bad.classify(codec).event_type.empty());
  const frame ignored(R"({"type":"x","topics":["a"]})");
  CHECK(ignored.classify(codec).topics.empty());
}

TEST_CASE("codec: a buffer without padding is refused", "[codec]") {
  vr::documented_codec codec;
  const std::string text = minimal_event("{}");
  const auto& out = codec.classify(text.data(), text.size(), text.size());
  CHECK(out.kind == vr::frame_kind::malformed);
  CHECK(out.reason == "frame buffer is not padded");
}

TEST_CASE("codec: encode", "[codec]") {
  CHECK(vr::documented_codec::encode("subscribe", {"a", "b"}) ==
        R"({"type":"subscribe","topics":["a","b"]})");
  CHECK(vr::documented_codec::encode("unsubscribe", {}) == R"({"type":"unsubscribe","topics":[]})");
  static const char kNasty[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f\0\u00e9\U0001F600";
  const std::string nasty(kNasty, sizeof kNasty - 1);
  CHECK(vr::documented_codec::encode("subscribe", {nasty}) ==
        "{\"type\":\"subscribe\",\"topics\":[\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f"
        "\\u0000\u00e9\U0001F600\"]}");

  // What encode writes parses back to the same strings.
  const std::string text = vr::documented_codec::encode("sub\"scribe", {nasty, "x"});
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(text).get(doc) == simdjson::SUCCESS);
  std::string_view type;
  REQUIRE(doc["type"].get(type) == simdjson::SUCCESS);
  CHECK(type == "sub\"scribe");
  simdjson::dom::array topics;
  REQUIRE(doc["topics"].get(topics) == simdjson::SUCCESS);
  std::vector<std::string> back;
  for (auto t : topics) back.emplace_back(std::string_view(t));
  CHECK(back == std::vector<std::string>{nasty, "x"});
}

TEST_CASE("append_json_string appends", "[codec]") {
  std::string out = "x=";
  vr::append_json_string(out, "a\tb");
  CHECK(out == "x=\"a\\tb\"");
  vr::append_json_string(out, "");
  CHECK(out == "x=\"a\\tb\"\"\"");
}
