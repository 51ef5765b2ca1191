#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/prefilter.h"

namespace {

// Frames are copied next to inaccessible pages, once ending right before one and once starting
// right after one, so that a read outside [data, data + size) faults even without ASan.
class guarded_arena {
 public:
  static constexpr std::size_t kCapacity = 256 * 1024;

  guarded_arena() {
    page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t total = kCapacity + 2 * page_;
    void* base = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) throw std::runtime_error("mmap failed");
    base_ = static_cast<char*>(base);
    mprotect(base_, page_, PROT_NONE);
    mprotect(base_ + page_ + kCapacity, page_, PROT_NONE);
  }
  ~guarded_arena() { munmap(base_, kCapacity + 2 * page_); }
  guarded_arena(const guarded_arena&) = delete;
  guarded_arena& operator=(const guarded_arena&) = delete;

  const char* at_end(std::string_view text) {
    char* p = base_ + page_ + kCapacity - text.size();
    if (!text.empty()) std::memcpy(p, text.data(), text.size());
    return p;
  }
  const char* at_start(std::string_view text) {
    char* p = base_ + page_;
    if (!text.empty()) std::memcpy(p, text.data(), text.size());
    return p;
  }

 private:
  std::size_t page_ = 0;
  char* base_ = nullptr;
};

guarded_arena& arena() {
  static guarded_arena a;
  return a;
}

struct peeked {
  bool event = false;
  std::string topic;
  std::size_t offset = 0;  // of the topic in the frame
};

peeked record(const vr::topic_peek& p, const char* data, std::size_t size) {
  peeked out;
  out.event = p.event;
  if (p.event) {
    REQUIRE(p.topic.data() >= data);
    REQUIRE(p.topic.data() + p.topic.size() <= data + size);
    out.topic.assign(p.topic);
    out.offset = static_cast<std::size_t>(p.topic.data() - data);
  } else {
    REQUIRE(p.topic.empty());
  }
  return out;
}

constexpr vr::detail::prefilter_walk kWalks[] = {
    vr::detail::prefilter_walk::scalar, vr::detail::prefilter_walk::chunked,
    vr::detail::prefilter_walk::indexed_sse2, vr::detail::prefilter_walk::indexed_avx2};

// Runs what the io thread runs and every walk this build and processor have, at both guarded
// placements; all must agree.
peeked peek(std::string_view text) {
  REQUIRE(text.size() <= guarded_arena::kCapacity);
  const char* end_placed = arena().at_end(text);
  const peeked simd = record(vr::peek_event_topic(end_placed, text.size()), end_placed, text.size());
  std::vector<peeked> others;
  for (const char* placed : {end_placed, arena().at_start(text)}) {
    for (const auto walk : kWalks) {
      if (!vr::detail::prefilter_walk_available(walk)) continue;
      others.push_back(record(vr::detail::peek_event_topic_with(walk, placed, text.size()), placed, text.size()));
    }
  }
  for (const peeked& other : others) {
    INFO("walks disagree on: " << text);
    REQUIRE(other.event == simd.event);
    REQUIRE(other.topic == simd.topic);
    REQUIRE(other.offset == simd.offset);
  }
  return simd;
}

void check_event(std::string_view text, std::string_view topic) {
  INFO("frame: " << text);
  const peeked p = peek(text);
  CHECK(p.event);
  CHECK(p.topic == topic);
  if (p.event) CHECK(text.substr(p.offset, p.topic.size()) == topic);
}

void check_not_event(std::string_view text) {
  INFO("frame: " << text);
  const peeked p = peek(text);
  CHECK_FALSE(p.event);
  CHECK(p.topic.empty());
}

const vr::frame_view& classify(vr::documented_codec& codec, std::string& buffer, std::string_view text) {
  buffer.assign(text);
  buffer.append(simdjson::SIMDJSON_PADDING, ' ');
  return codec.classify(buffer.data(), text.size(), buffer.size());
}

const std::string kTopic =
    "customer_id:5e4a0680-804e-11ec-8477-2fbfd4c2d1c5:call:9c1f2a3e-0b4d-4c5e-8f6a-7b8c9d0e1f2a";

// The shape workload 3 sends (322 bytes; bench/native/prefilter_bench.cpp times the same frame).
const std::string kRealFrame =
    R"({"type":"event","event_type":"call_updated","topic":")" + kTopic +
    R"(","data":{"id":"9c1f2a3e-0b4d-4c5e-8f6a-7b8c9d0e1f2a","status":"progressing",)"
    R"("source":{"type":"tel","target":"+15551234567"},"destination":{"type":"tel","target":"+15559876543"}}})";

std::string event_with(std::string_view before, std::string_view after = "") {
  return "{" + std::string(before) + R"("event_type":"call.status","topic":"t:1","data":{})" +
         std::string(after) + "}";
}

}  // namespace

TEST_CASE("prefilter: the benchmark frame and the documented layout are events", "[prefilter]") {
  check_event(kRealFrame, kTopic);
  vr::documented_codec codec;
  std::string buffer;
  const auto& out = classify(codec, buffer, kRealFrame);
  REQUIRE(out.kind == vr::frame_kind::event);
  CHECK(out.topic == kTopic);

  check_event(R"({
        "event_type": "call.created",
        "timestamp": "2024-01-15T10:30:00.000000Z",
        "topic": "customer_id:abc123:call:xyz789",
        "data": {
            "id": "xyz789",
            "source": {
                "type": "tel",
                "target": "+15551234567"
            },
            "status": "ringing"
        }
    }
)",
              "customer_id:abc123:call:xyz789");
}

TEST_CASE("prefilter: member order does not matter", "[prefilter]") {
  check_event(R"({"topic":"a:b","event_type":"x","data":1})", "a:b");
  check_event(R"({"event_type":"x","data":1,"topic":"a:b"})", "a:b");
  check_event(R"({"data":{"k":[1,2,{"z":"}"}]},"event_type":"x","topic":"a:b"})", "a:b");
  check_event(R"({"data":[],"timestamp":null,"topic":"","event_type":""})", "");
  // The peek does not need data or timestamp; the codec then says malformed.
  check_event(R"({"event_type":"x","topic":"only"})", "only");
}

TEST_CASE("prefilter: topic and type inside nested values are ignored", "[prefilter]") {
  check_event(
      R"({"event_type":"x","data":{"topic":"nested","type":"ack","event_type":1},"topic":"top"})",
      "top");
  check_event(R"({"event_type":"x","topic":"top","data":[{"topic":"a"},["topic","type"],"type"]})",
              "top");
  check_event(R"({"event_type":"x","topic":"top","data":{"s":"\"topic\":\"evil\"","t":"}]}"}})",
              "top");
  check_event(R"({"extra":{"type":"error"},"event_type":"x","topic":"top","data":{}})", "top");
  // Without a top-level topic, nested ones do not count.
  check_not_event(R"({"event_type":"x","data":{"topic":"nested"}})");
}

TEST_CASE("prefilter: exactly one topic, a string without escapes", "[prefilter]") {
  check_not_event(R"({"event_type":"x","topic":"a","topic":"b","data":{}})");
  check_not_event(R"({"event_type":"x","topic":"a","data":{},"topic":"a"})");
  check_not_event(R"({"event_type":"x","topic":"a\"b","data":{}})");
  check_not_event(R"({"event_type":"x","topic":"a\\b","data":{}})");
  check_not_event(R"({"event_type":"x","topic":"\u0061","data":{}})");
  check_not_event(R"({"event_type":"x","topic":"a\/b","data":{}})");
  check_not_event(R"({"event_type":"x","topic":1,"data":{}})");
  check_not_event(R"({"event_type":"x","topic":null,"data":{}})");
  check_not_event(R"({"event_type":"x","topic":["a"],"data":{}})");
  check_not_event(R"({"event_type":"x","topic":{"a":1},"data":{}})");
  check_not_event(R"({"event_type":"x","data":{}})");
  // Keys that only look like "topic".
  check_not_event(R"({"event_type":"x","Topic":"a","data":{}})");
  check_not_event(R"({"event_type":"x","topics":["a"],"data":{}})");
  check_event(R"({"event_type":"x","topics":["a"],"topic":"b","data":{}})", "b");
}

TEST_CASE("prefilter: a key with a backslash gives up", "[prefilter]") {
  check_not_event(R"({"event_type":"x","\u0074opic":"a","data":{}})");
  check_not_event(R"({"event_type":"x","topic":"a","\u0074opic":"b","data":{}})");
  check_not_event(R"({"event_type":"x","topic":"a","d\u0061ta":{}})");
  check_not_event(R"({"ev\"ent":1,"event_type":"x","topic":"a","data":{}})");
  check_not_event(R"({"\\":1,"event_type":"x","topic":"a","data":{}})");
  check_not_event(R"({"event_type":"x","topic":"a","data":{},"ty\u0070e":"ack"})");
}

TEST_CASE("prefilter: type is looked at first", "[prefilter]") {
  check_not_event(event_with(R"("type":"ack",)"));
  check_not_event(event_with(R"("type":"error",)"));
  check_not_event(event_with("", R"(,"type":"ack")"));
  check_not_event(event_with(R"("type":"event",)", R"(,"type":"error")"));
  check_not_event(event_with(R"("type":1,)"));
  check_not_event(event_with(R"("type":null,)"));
  check_not_event(event_with(R"("type":true,)"));
  check_not_event(event_with(R"("type":{"a":"ack"},)"));
  check_not_event(event_with(R"("type":["ack"],)"));
  // Escapes could spell ack.
  check_not_event(event_with(R"("type":"\u0061ck",)"));
  check_not_event(event_with(R"("type":"ev\u0065nt",)"));
  check_event(event_with(R"("type":"event",)"), "t:1");
  check_event(event_with(R"("type":"",)"), "t:1");
  check_event(event_with(R"("type":"ACK",)"), "t:1");
  check_event(event_with(R"("type":"acks",)"), "t:1");
  check_event(event_with(R"("type":"ac",)"), "t:1");
  check_event(event_with(R"("type":"errors",)"), "t:1");
  check_event(event_with(R"("type":"event",)", R"(,"type":"message")"), "t:1");
}

TEST_CASE("prefilter: every event_type must be a string", "[prefilter]") {
  check_not_event(R"({"event_type":1,"topic":"a","data":{}})");
  check_not_event(R"({"event_type":null,"topic":"a","data":{}})");
  check_not_event(R"({"event_type":["x"],"topic":"a","data":{}})");
  check_not_event(R"({"event_type":{"x":1},"topic":"a","data":{}})");
  check_not_event(R"({"event_type":"x","topic":"a","data":{},"event_type":false})");
  check_not_event(R"({"event_type":false,"topic":"a","data":{},"event_type":"x"})");
  check_not_event(R"({"topic":"a","data":{}})");
  check_not_event(R"({"type":"event","topic":"a","data":{}})");
  check_event(R"({"event_type":"x","topic":"a","data":{},"event_type":"y"})", "a");
  // Escapes in event_type do not matter: only its presence and type are read.
  check_event(R"({"event_type":"c\u0061ll\"\\","topic":"a","data":{}})", "a");
}

TEST_CASE("prefilter: whitespace", "[prefilter]") {
  check_event(" \t\r\n{ \t\r\n\"event_type\" \n:\t\"x\" \r, \"topic\"\n:\n\"a\"\n,\"data\" : { } \n} \t\r\n",
              "a");
  check_event(event_with("") + "\n", "t:1");
  check_event("\n\n" + event_with(""), "t:1");
  // Only JSON's four whitespace bytes.
  check_not_event("\v" + event_with(""));
  check_not_event(event_with("") + "\f");
  check_not_event("\xEF\xBB\xBF" + event_with(""));
  check_not_event("\xC2\xA0" + event_with(""));
  check_not_event(event_with("") + std::string(1, '\0'));
  check_not_event(std::string(1, '\0') + event_with(""));
  check_not_event(R"({"event_type" "x","topic":"a","data":{}})");
  check_not_event(R"({"event_type":"x" "topic":"a","data":{}})");
}

TEST_CASE("prefilter: structure around the members", "[prefilter]") {
  check_not_event(event_with("") + "}");
  check_not_event(event_with("") + "x");
  check_not_event(event_with("") + event_with(""));
  check_not_event(event_with("") + ",");
  check_not_event(R"({"event_type":"x","topic":"a","data":{},})");
  check_not_event(R"({,"event_type":"x","topic":"a","data":{}})");
  check_not_event(R"({"event_type":"x",,"topic":"a","data":{}})");
  check_not_event(R"({"event_type":"x","topic":"a","data":})");
  check_not_event(R"({"event_type":"x","topic":"a","data"})");
  check_not_event(R"({"event_type":"x","topic":"a",data:1})");
  check_not_event(R"({"event_type":"x","topic":"a","data":{})");
  check_not_event(R"({"event_type":"x","topic":"a","data":{"k":"}"})");
  check_not_event(R"({"event_type":"x","topic":"a","data":"unterminated})");
  // Atoms are delimited, not checked: the full parse refuses the bad ones.
  check_event(R"({"event_type":"x","topic":"a","n":-1.5e3,"b":true,"z":null,"data":0})", "a");
  check_event(R"({"event_type":"x","topic":"a","data":nonsense})", "a");
}

TEST_CASE("prefilter: input that is not an object", "[prefilter]") {
  check_not_event("");
  check_not_event(" \n\t");
  check_not_event("{");
  check_not_event("{}");
  check_not_event("{ }");
  check_not_event("}");
  check_not_event(R"([{"event_type":"x","topic":"a","data":{}}])");
  check_not_event(R"("{\"event_type\":\"x\",\"topic\":\"a\"}")");
  check_not_event("null");
  check_not_event("1");
  check_not_event(std::string(64, '\0'));
  check_not_event(std::string(64, '{'));
  check_not_event(std::string(64, '"'));
  check_not_event(std::string(64, '\\'));
  CHECK_FALSE(vr::peek_event_topic(nullptr, 0).event);
  CHECK_FALSE(vr::detail::peek_event_topic_scalar(nullptr, 0).event);
}

TEST_CASE("prefilter: bytes the peek does not validate", "[prefilter]") {
  // Invalid UTF-8 and control bytes inside strings are left to the full parse.
  check_event(std::string(R"({"event_type":"x","topic":"a","data":")") +
                  std::string("\xFF\xFE\x01\x00\xC3", 5) + "\"}",
              "a");
  check_event(std::string(R"({"event_type":"x","topic":"a)") + "\xE9" + "\",\"data\":{}}",
              "a\xE9");
}

TEST_CASE("prefilter: every truncation of a frame is refused", "[prefilter]") {
  for (const std::string& full : {kRealFrame, event_with(R"("s":"\\\"\\",)", R"(,"e":[["\"]"]])")}) {
    for (std::size_t n = 0; n < full.size(); ++n) {
      INFO("length " << n);
      const peeked p = peek(std::string_view(full).substr(0, n));
      REQUIRE_FALSE(p.event);
    }
    REQUIRE(peek(full).event);
  }
  // With trailing whitespace, every cut after the closing brace still is an event.
  const std::string spaced = kRealFrame + " \n\t\r ";
  for (std::size_t n = kRealFrame.size(); n <= spaced.size(); ++n) {
    INFO("length " << n);
    CHECK(peek(std::string_view(spaced).substr(0, n)).topic == kTopic);
  }
}

TEST_CASE("prefilter: escapes at every offset of a 16- and a 64-byte block", "[prefilter]") {
  vr::documented_codec codec;
  std::string buffer;
  // Each escape is placed at every position relative to the blocks, inside nested data and
  // inside top-level strings; misreading one would move the end of the string and the result.
  const std::vector<std::string> tricky = {R"(\")", R"(\\)", R"(\\\")", R"(\"\\)", R"(\\\\)",
                                           R"(\"}]\")", R"(\u005c)"};
  for (const std::string& escape : tricky) {
    for (std::size_t pad = 0; pad < 80; ++pad) {
      const std::string filler(pad, 'a');
      const std::vector<std::string> frames = {
          R"({"event_type":"x","data":{"k":")" + filler + escape + R"("},"topic":"t"})",
          R"({"event_type":"x","data":{"a":[")" + filler + escape + R"(",{"q":")" + escape +
              R"("}]},"topic":"t"})",
          R"({"event_type":")" + filler + escape + R"(","topic":"t","data":{}})",
          R"({"timestamp":")" + filler + escape + R"(","event_type":"x","topic":"t","data":{}})",
          R"({)" + std::string(pad, ' ') + R"("event_type":"x","topic":"t","data":{"s":")" + escape +
              R"("}})",
      };
      for (const std::string& text : frames) {
        INFO("frame: " << text);
        // The frames are valid JSON: the codec agrees.
        const auto& out = classify(codec, buffer, text);
        REQUIRE(out.kind == vr::frame_kind::event);
        REQUIRE(out.topic == "t");
        check_event(text, "t");
      }
      // An escaped backslash ends right before a real closing quote: reading that quote as
      // escaped would swallow the rest of the frame.
      check_event(R"({"event_type":"x","data":{"k":")" + filler + R"(\\"},"topic":"t"})", "t");
      // An escaped quote does not close the string: the brace after it is text, and then the
      // frame ends inside the string.
      check_not_event(R"({"event_type":"x","topic":"t","data":{"k":")" + filler + R"(\"}})");
      // A topic whose only escape sits at this offset.
      check_not_event(R"({"event_type":"x","data":{},"topic":")" + filler + escape + R"("})");
    }
  }
}

TEST_CASE("prefilter: deep nesting is skipped without a limit", "[prefilter]") {
  const std::string deep = std::string(5000, '[') + std::string(5000, ']');
  check_event(R"({"event_type":"x","data":)" + deep + R"(,"topic":"t"})", "t");
  check_not_event(R"({"event_type":"x","data":)" + deep + "]" + R"(,"topic":"t"})");
  check_not_event(R"({"event_type":"x","topic":"t","data":)" + deep.substr(0, 9999) + "}");
  // The codec refuses what is too deep: malformed, which the guarantee allows.
  vr::documented_codec codec;
  std::string buffer;
  CHECK(classify(codec, buffer, R"({"event_type":"x","data":)" + deep + R"(,"topic":"t"})").kind ==
        vr::frame_kind::malformed);
}

namespace {

// Generates valid JSON frames from members that each touch one rule, and knows the answer the
// peek must give.
class frame_generator {
 public:
  explicit frame_generator(std::uint32_t seed) : rng_(seed) {}

  struct frame {
    std::string text;
    bool expect_event = false;
    std::string topic;
  };

  frame next() {
    frame f;
    int topics = 0;
    bool topic_plain = false, keys_plain = true, event_type_seen = false, event_types_strings = true,
         types_ok = true;
    std::vector<std::string> members;
    // Most frames start from a complete event so that the rules get checked one at a time.
    if (pick(10) < 7) {
      members.push_back(R"("event_type":)" + quoted(word()));
      f.topic = word() + ":" + word();
      members.push_back(R"("topic":)" + quoted(f.topic));
      members.push_back(R"("data":)" + value(0));
      ++topics;
      topic_plain = true;
      event_type_seen = true;
    }
    const int extra = pick(4);
    for (int i = 0; i < extra; ++i) {
      switch (pick(12)) {
        case 0:
          f.topic = word();
          members.push_back(R"("topic":)" + quoted(f.topic));
          topic_plain = ++topics == 1;
          break;
        case 1:
          members.push_back(R"("topic":)" + quoted(word() + escape() + word()));
          ++topics;
          topic_plain = false;
          break;
        case 2:
          members.push_back(R"("topic":)" + atom_or_container());
          ++topics;
          topic_plain = false;
          break;
        case 3:
          members.push_back(R"("event_type":)" + quoted(word() + (pick(2) ? escape() : "")));
          event_type_seen = true;
          break;
        case 4:
          members.push_back(R"("event_type":)" + atom_or_container());
          event_type_seen = true;
          event_types_strings = false;
          break;
        case 5: {
          static const char* const kinds[] = {"event", "ack", "error", "message", "", "acks"};
          const std::string t = kinds[pick(6)];
          members.push_back(R"("type":)" + quoted(t));
          if (t == "ack" || t == "error") types_ok = false;
          break;
        }
        case 6:
          members.push_back(pick(2) ? R"("type":"\u0061ck")" : R"("type":"ev\u0065nt")");
          types_ok = false;
          break;
        case 7:
          members.push_back(R"("type":)" + atom_or_container());
          types_ok = false;
          break;
        case 8: {
          static const char* const keys[] = {R"("\u0074opic")", R"("top\u0069c")", R"("d\u0061ta")",
                                             R"("\"")", R"("\\")"};
          members.push_back(std::string(keys[pick(5)]) + ":" + value(0));
          keys_plain = false;
          break;
        }
        case 9:
          members.push_back(R"("timestamp":)" + (pick(2) ? quoted(word()) : value(1)));
          break;
        case 10:
          // An event's data is an object (anything else is malformed for the codec).
          members.push_back(R"("data":{"k":)" + value(1) + "}");
          break;
        default:
          members.push_back(quoted(word()) + ":" + value(0));
          break;
      }
    }
    std::shuffle(members.begin(), members.end(), rng_);
    f.text = space() + "{" + space();
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i) f.text += space() + "," + space();
      const std::string& m = members[i];
      // Spaces around the colon that ends the key (words have no quotes, so the first `":`
      // past the opening quote).
      const std::size_t colon = m.find("\":", 1) + 1;
      f.text += m.substr(0, colon) + space() + ":" + space() + m.substr(colon + 1);
    }
    f.text += space() + "}" + space();
    f.expect_event = keys_plain && topics == 1 && topic_plain && event_type_seen &&
                     event_types_strings && types_ok;
    if (!f.expect_event) f.topic.clear();
    return f;
  }

  // A few bytes changed at random: mostly invalid JSON, sometimes not.
  std::string mutate(std::string text) {
    static const char kBytes[] = "\"\\{}[]:, \n0a\x00\xFF";
    const int edits = 1 + pick(3);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t at = static_cast<std::size_t>(pick(static_cast<int>(text.size())));
      const char byte = kBytes[pick(sizeof kBytes - 1)];
      switch (pick(4)) {
        case 0: text[at] = byte; break;
        case 1: text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), byte); break;
        case 2: text.erase(at, 1 + static_cast<std::size_t>(pick(4))); break;
        default: text.resize(at); break;
      }
    }
    return text;
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  std::string word() {
    static const char kChars[] = "abcxyz019_-.:";
    std::string w;
    const int n = pick(12);
    for (int i = 0; i < n; ++i) w += kChars[pick(sizeof kChars - 1)];
    return w;
  }
  std::string escape() {
    static const char* const kEscapes[] = {R"(\")", R"(\\)", R"(\/)", R"(\n)", R"(\u0041)", R"(\t)"};
    return kEscapes[pick(6)];
  }
  static std::string quoted(const std::string& s) { return "\"" + s + "\""; }
  std::string space() {
    static const char* const kSpaces[] = {"", "", "", " ", "\n  ", "\t", "\r\n"};
    return kSpaces[pick(7)];
  }
  std::string atom_or_container() {
    static const char* const kAtoms[] = {"0", "-12.5e3", "true", "false", "null", "[]", "{}",
                                         R"(["x"])", R"({"topic":"x"})"};
    return kAtoms[pick(9)];
  }
  std::string value(int depth) {
    switch (depth > 3 ? pick(3) : pick(6)) {
      case 0: return quoted(word() + (pick(3) ? "" : escape()) + word());
      case 1: return atom_or_container();
      case 2: return std::to_string(pick(100000));
      case 3: {
        std::string out = "[" + space();
        const int n = pick(4);
        for (int i = 0; i < n; ++i) out += (i ? "," : "") + space() + value(depth + 1) + space();
        return out + "]";
      }
      default: {
        static const char* const kKeys[] = {"topic", "type", "event_type", "id", "\\\"}", "k"};
        std::string out = "{" + space();
        const int n = pick(4);
        for (int i = 0; i < n; ++i) {
          out += std::string(i ? "," : "") + quoted(kKeys[pick(6)]) + space() + ":" + space() +
                 value(depth + 1);
        }
        return out + space() + "}";
      }
    }
  }

  std::mt19937 rng_;
};

}  // namespace

TEST_CASE("prefilter: differential against the full codec", "[prefilter]") {
  frame_generator gen(20240611);
  vr::documented_codec codec;
  simdjson::dom::parser dom;
  std::string buffer;
  std::size_t peeked_events = 0, codec_events = 0, codec_malformed = 0, refused = 0,
              mutated_valid = 0, mutated_events = 0;

  // The guarantee: a peeked event is an event with the same topic, or malformed.
  const auto check_guarantee = [&](const std::string& text, const peeked& p) {
    if (!p.event) return;
    const auto& out = classify(codec, buffer, text);
    INFO("frame: " << text << "\ncodec: " << static_cast<int>(out.kind) << " " << out.reason);
    REQUIRE((out.kind == vr::frame_kind::event || out.kind == vr::frame_kind::malformed));
    if (out.kind == vr::frame_kind::event) {
      REQUIRE(out.topic == p.topic);
      ++codec_events;
    } else {
      ++codec_malformed;
    }
  };

  for (int i = 0; i < 4000; ++i) {
    const auto f = gen.next();
    INFO("frame: " << f.text);
    simdjson::dom::element root;
    REQUIRE(dom.parse(simdjson::padded_string(f.text)).get(root) == simdjson::SUCCESS);
    const peeked p = peek(f.text);
    REQUIRE(p.event == f.expect_event);
    REQUIRE(p.topic == f.topic);
    if (p.event) {
      ++peeked_events;
    } else {
      ++refused;
    }
    check_guarantee(f.text, p);
    if (i < 300) {
      // No strict prefix of a frame ends its top-level object.
      const std::size_t last = f.text.find_last_of('}');
      for (std::size_t n = 0; n <= last; ++n) REQUIRE_FALSE(peek(f.text.substr(0, n)).event);
    }
    const std::string mutated = gen.mutate(f.text);
    const peeked m = peek(mutated);
    if (dom.parse(simdjson::padded_string(mutated)).get(root) == simdjson::SUCCESS) ++mutated_valid;
    if (m.event) ++mutated_events;
    // Invalid JSON is malformed for the codec, so the guarantee holds for any bytes.
    check_guarantee(mutated, m);
  }
  // Each kind of outcome was reached, so the checks above were not vacuous.
  CHECK(peeked_events > 800);
  CHECK(refused > 2000);
  // (Fewer than the peeked events: an event whose data is not an object is malformed.)
  CHECK(codec_events > 400);
  CHECK(codec_malformed > 50);
  CHECK(mutated_valid > 200);
  CHECK(mutated_events > 100);
}

// The scalar binary (vr_native_tests_scalar, built with VR_FORCE_SCALAR) must really run the
// portable walk, or the cases above would test the SSE2 one twice.
TEST_CASE("prefilter: the build takes the walk it was configured for", "[prefilter]") {
#if defined(VR_FORCE_SCALAR)
  CHECK_FALSE(vr::detail::prefilter_uses_sse2);
#elif defined(__SSE2__)
  CHECK(vr::detail::prefilter_uses_sse2);
#else
  CHECK_FALSE(vr::detail::prefilter_uses_sse2);
#endif
}

TEST_CASE("prefilter: the io thread takes the fastest walk it has", "[prefilter]") {
  using vr::detail::prefilter_walk;
  CHECK(vr::detail::prefilter_walk_available(prefilter_walk::scalar));
  if (!vr::detail::prefilter_uses_sse2) {
    CHECK(vr::detail::prefilter_walk_in_use() == prefilter_walk::scalar);
    CHECK_FALSE(vr::detail::prefilter_walk_available(prefilter_walk::indexed_sse2));
    return;
  }
  CHECK(vr::detail::prefilter_walk_available(prefilter_walk::chunked));
  CHECK(vr::detail::prefilter_walk_available(prefilter_walk::indexed_sse2));
  const auto expected = __builtin_cpu_supports("avx2") ? prefilter_walk::indexed_avx2 : prefilter_walk::indexed_sse2;
  CHECK(vr::detail::prefilter_walk_in_use() == expected);
}

// The indexed walks cover frames of 64 to 2,048 bytes without a backslash, in 64-byte words whose
// last one is read as the 64 bytes ending the frame. Every size around those edges, with the
// topic, a nested value and a closing bracket falling on every offset of a word.
TEST_CASE("prefilter: frames at every size around the indexed walk's edges", "[prefilter]") {
  int events = 0, variants = 0;
  for (std::size_t size : {std::size_t{40}, std::size_t{63}, std::size_t{64}, std::size_t{65}, std::size_t{127},
                           std::size_t{128}, std::size_t{129}, std::size_t{320}, std::size_t{2047},
                           std::size_t{2048}, std::size_t{2049}, std::size_t{2200}}) {
    for (std::size_t before = 0; before < 64 && before + 60 < size; ++before) {
      // Padding in a string member first moves everything after it by one byte per step.
      const std::string head = R"({"p":")" + std::string(before, 'x') + R"(","event_type":"e","data":{"a":[{"b":"}"}]},)";
      std::string frame = head + R"("topic":")";
      const std::string tail = R"("})";
      if (frame.size() + tail.size() > size) continue;
      const std::string topic(size - frame.size() - tail.size(), 't');
      frame += topic + tail;
      REQUIRE(frame.size() == size);
      check_event(frame, topic);
      ++events;
      // The same frame cut one byte short, and with its closing brace turned into a space
      // (and the topic's last byte into a brace): no longer a closed object.
      check_not_event(std::string_view(frame).substr(0, size - 1));
      std::string moved = frame;
      moved[size - 3] = '}';
      moved[size - 1] = ' ';
      check_not_event(moved);
      // A backslash anywhere sends the frame to the chunked walk, which must agree.
      std::string escaped = frame;
      escaped[before + 5] = '\\';
      peek(escaped);
      variants += 3;
    }
  }
  CHECK(events > 300);
  CHECK(variants > 900);
}
