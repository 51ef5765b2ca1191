// The unmatched-event fast path (wire_dialect::unmatched_event over prefilter.h) against the slow
// path (the full classify, then matching), in both dialects, over generated topics, patterns and
// frames: a frame the fast path drops is never one a pattern wanted, and a frame a pattern wants
// whose body is broken still reaches the full parse and is reported as malformed.
#include <catch2/catch.hpp>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "core/prefilter.h"
#include "core/wire_dialect.h"

namespace {

const char* const kCustomers[] = {"5013bc52-da9a-11ee-844f-2fa34248de28", "11111111-2222-4333-8444-555555555555",
                                  "c0ffee00-0000-4000-8000-000000000001"};
const char* const kAgents[] = {"98765432-4321-4321-4321-210987654321", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"};
const char* const kIds[] = {"a1b2c3d4-e5f6-7890-abcd-ef1234567890", "b1a57000-0000-4000-8000-000000000063",
                            "0ddba11d-0000-4000-8000-000000000001", "plain-id-7"};
constexpr const char* kNil = "00000000-0000-0000-0000-000000000000";

class rng {
 public:
  explicit rng(std::uint32_t seed) : gen_(seed) {}
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(gen_); }
  bool chance(int percent) { return pick(100) < percent; }
  template <typename T, std::size_t N>
  const T& of(const T (&a)[N]) {
    return a[pick(static_cast<int>(N))];
  }
  std::mt19937& engine() { return gen_; }

 private:
  std::mt19937 gen_;
};

std::string upper(std::string s) {
  for (auto& c : s)
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 32);
  return s;
}

// A UUID as the server might spell it: usually lower case, sometimes not.
std::string spell(rng& r, const char* uuid) { return r.chance(15) ? upper(uuid) : std::string(uuid); }

// One wire_dialect with its own matcher, as a connection holds them.
struct connection {
  boost::asio::io_context ioc;
  vr::client_config config;
  vr::topic_matcher matcher;
  std::unique_ptr<vr::wire_dialect> wire;

  explicit connection(vr::dialect d) {
    config.wire_dialect = d;
    wire = std::make_unique<vr::wire_dialect>(
        ioc.get_executor(), config, matcher,
        vr::wire_hooks{[](std::string) {}, [](std::string_view) {}, [](std::string_view) {},
                       [] { return std::shared_ptr<void>(); }});
  }

  void add(const std::string& pattern) {
    std::string norm, error;
    REQUIRE(vr::normalize_pattern(pattern, norm, error));
    matcher.add(norm);
  }
};

struct outcome_counts {
  std::size_t dropped = 0, full_events = 0, delivered = 0, malformed = 0, wanted_broken = 0;
};

// Runs one frame through both paths and checks the guarantee. `wanted_broken`: the generator
// made a broken body under a topic the patterns match.
void check_frame(connection& c, const std::string& text, bool wanted_broken, outcome_counts& n) {
  INFO("frame: " << text);
  std::string buffer = text;
  buffer.append(64, '\0');
  const bool dropped = c.wire->unmatched_event(buffer.data(), text.size());
  const vr::frame_view& f = c.wire->classify(buffer.data(), text.size(), buffer.size());
  std::string_view second;
  const std::string_view topic = f.kind == vr::frame_kind::event ? c.wire->matched_topic(f, second) : std::string_view();
  if (f.kind == vr::frame_kind::event) ++n.full_events;
  if (!topic.empty()) ++n.delivered;
  if (f.kind == vr::frame_kind::malformed) ++n.malformed;
  if (dropped) {
    ++n.dropped;
    // Dropped: an event of the full path that matches nothing, or bytes the full path refuses
    // (then the peeked topic matched nothing either); never an ack, error or ignored frame.
    REQUIRE((f.kind == vr::frame_kind::event || f.kind == vr::frame_kind::malformed));
    REQUIRE(topic.empty());
  }
  if (wanted_broken) {
    ++n.wanted_broken;
    REQUIRE_FALSE(dropped);
    REQUIRE(f.kind == vr::frame_kind::malformed);
  }
}

// ---- documented dialect ---------------------------------------------------------------------

const char* const kDocResources[] = {"call", "queue", "conference", "recording", "transcription"};

std::string doc_topic(rng& r) {
  const bool agent = r.chance(25);
  std::string t = agent ? "agent_id:" : "customer_id:";
  t += spell(r, agent ? r.of(kAgents) : r.of(kCustomers));
  t += ':';
  t += r.of(kDocResources);
  t += ':';
  const char* id = r.of(kIds);
  t += vr::is_uuid(id) ? spell(r, id) : std::string(id);
  return t;
}

// A pattern over `resources`: exact, resource_id wildcard, or both wildcards.
template <std::size_t N>
std::string make_pattern(rng& r, const char* const (&resources)[N]) {
  const bool agent = r.chance(25);
  std::string p = agent ? "agent_id:" : "customer_id:";
  p += agent ? r.of(kAgents) : r.of(kCustomers);
  p += ':';
  const int shape = r.pick(4);
  p += shape == 3 ? "*" : r.of(resources);
  p += ':';
  p += shape == 0 || shape == 3 ? std::string("*") : std::string(r.of(kIds));
  return p;
}

// A documented frame under `topic`; `broken` says whether the body is one the codec refuses.
std::string doc_frame(rng& r, const std::string& topic, bool& broken) {
  broken = false;
  const std::string head = R"({"event_type":"call.status","timestamp":"2026-12-07T04:00:00.000Z","topic":")" + topic + '"';
  switch (r.pick(12)) {
    case 0:
      broken = true;
      return head + R"(,"data":{"id":nul}})";  // invalid literal inside data
    case 1:
      broken = true;
      return head + "}";  // no data
    case 2:
      broken = true;
      return head + R"(,"data":7})";  // data not an object
    case 3:
      broken = true;
      return head + ",\"data\":{\"name\":\"\x80\xC3\"}}";  // invalid UTF-8
    case 4:
      broken = true;
      return head + R"(,"data":{"a":[1,2}})";  // brackets that do not pair
    case 5:
      // An escaped topic: only the full parse can read it.
      return R"({"event_type":"call.status","timestamp":"2026-12-07T04:00:00.000Z","topic":"\u0063)" +
             topic.substr(1) + R"(","data":{}})";
    case 6:
      return R"({"type":"ack","action":"subscribe","topics":[")" + topic + R"("]})";
    default:
      return head + R"(,"data":{"id":"x","status":"ringing","nested":{"topic":"customer_id:)" +
             std::string(kCustomers[0]) + R"(:call:*","list":[1,{"a":"\"}"}]}}})";
  }
}

// ---- live dialect -----------------------------------------------------------------------------

struct live_kind {
  const char* resource;  // the live resource its marker key makes it
  const char* marker;    // a distinctive top-level member
};

const live_kind kLiveKinds[] = {
    {"call", R"("chained_call_ids":[],"type":"flow")"},
    {"call", R"("master_call_id":"00000000-0000-0000-0000-000000000000")"},
    {"queuecall", R"("service_agent_id":"98765432-4321-4321-4321-210987654321")"},
    {"transcribe", R"("language":"en-US")"},
    {"transcript", R"("tm_transcript":"2026-12-07T04:00:00.000Z")"},
    {"agent", R"("username":"ann")"},
    {"groupcall", R"("answer_method":"ring_all")"},
    {"conference", R"("conferencecall_ids":[])"},
    {"recording", R"("format":"wav")"},
    {"message", R"("targets":[{"id":"x"}])"},
};

const char* const kLivePatternResources[] = {"call", "queue", "queuecall", "transcription", "transcribe",
                                             "agent", "groupcall", "recording", "message", "conference"};

struct live_frame {
  std::string text;
  bool broken = false;  // the body is one the codec refuses
};

live_frame make_live_frame(rng& r) {
  live_frame f;
  const live_kind& kind = r.of(kLiveKinds);
  const char* customer = r.of(kCustomers);
  const char* id = r.of(kIds);
  std::vector<std::string> members;
  std::string customer_text = spell(r, customer);
  std::string id_text = vr::is_uuid(id) ? spell(r, id) : std::string(id);
  switch (r.pick(14)) {
    case 0:
      customer_text = "not-a-uuid";  // the full path: malformed
      break;
    case 1:
      id_text = "bad:id";  // no usable topic segment: malformed
      break;
    case 2:
      members.push_back(R"("id":"zzz")");  // a repeated key: the full path keeps the last
      break;
    default:
      break;
  }
  const bool escaped_id = r.chance(5);
  members.push_back(escaped_id ? R"("id":"\u0061)" + id_text.substr(1) + '"' : R"("id":")" + id_text + '"');
  if (!r.chance(4)) members.push_back(R"("customer_id":")" + customer_text + '"');
  if (r.chance(60)) {
    const char* owner = r.chance(15) ? kNil : r.of(kAgents);
    const bool agent = r.chance(80);
    members.push_back(std::string(R"("owner_type":")") + (agent ? "agent" : "customer") + '"');
    members.push_back(R"("owner_id":")" + spell(r, owner) + '"');
  }
  if (!r.chance(5)) members.push_back(kind.marker);
  members.push_back(R"("status":"progressing","tm_create":"2026-12-07T04:00:00.000Z","tm_update":null)");
  members.push_back(R"("source":{"id":"nested","customer_id":"5013bc52-da9a-11ee-844f-2fa34248de28","type":"tel"})");
  if (r.chance(4)) members.push_back(R"("event_type":"call.status")");  // an envelope key
  std::shuffle(members.begin(), members.end(), r.engine());
  std::string body;
  for (std::size_t i = 0; i < members.size(); ++i) body += (i ? "," : "") + members[i];
  switch (r.pick(10)) {
    case 0:
      f.broken = true;
      body += R"(,"x":nul)";
      break;
    case 1:
      f.broken = true;
      body += ",\"name\":\"\x80\"";
      break;
    case 2:
      f.broken = true;
      body += R"(,"a":[1,{"b":2]})";
      break;
    default:
      break;
  }
  f.text = "{" + body + "}";
  return f;
}

}  // namespace

TEST_CASE("fast path: documented frames dropped unparsed are never wanted; wanted broken ones are malformed",
          "[fastpath]") {
  rng r(20261207);
  outcome_counts n;
  for (int round = 0; round < 60; ++round) {
    connection c(vr::dialect::documented);
    const int patterns = 1 + r.pick(6);
    for (int i = 0; i < patterns; ++i) c.add(make_pattern(r, kDocResources));
    for (int i = 0; i < 300; ++i) {
      const std::string topic = doc_topic(r);
      bool broken = false;
      const std::string text = doc_frame(r, topic, broken);
      check_frame(c, text, broken && c.matcher.matches(topic), n);
    }
  }
  // Every outcome was reached, so the checks above were not vacuous.
  CHECK(n.dropped > 5000);
  CHECK(n.delivered > 1000);
  CHECK(n.malformed > 2000);
  CHECK(n.wanted_broken > 300);
}

TEST_CASE("fast path: live frames dropped unparsed are never wanted; wanted broken ones are malformed", "[fastpath]") {
  rng r(7);
  outcome_counts n;
  std::size_t peeked = 0;
  for (int round = 0; round < 60; ++round) {
    connection c(vr::dialect::live);
    const int patterns = 1 + r.pick(6);
    for (int i = 0; i < patterns; ++i) c.add(make_pattern(r, kLivePatternResources));
    for (int i = 0; i < 300; ++i) {
      const live_frame f = make_live_frame(r);
      // What the frame routes to, from the peek (checked against the full parse below).
      const vr::live_peek p = vr::peek_live_resource(f.text.data(), f.text.size());
      std::string topic, alt;
      const bool routed = !p.resource.empty() &&
                          vr::live_resource_topics(p.customer_id, p.resource, p.id, p.owner_type, p.owner_id, topic, alt);
      if (routed) {
        ++peeked;
        // The full parse derives the same topics, or refuses the bytes.
        std::string buffer = f.text;
        buffer.append(64, '\0');
        vr::live_codec codec;
        const vr::frame_view& full = codec.classify(buffer.data(), f.text.size(), buffer.size());
        INFO("frame: " << f.text);
        REQUIRE((full.kind == vr::frame_kind::event || full.kind == vr::frame_kind::malformed));
        if (full.kind == vr::frame_kind::event) {
          REQUIRE(full.topic == topic);
          REQUIRE(full.alt_topic == alt);
        }
      }
      const bool wanted = routed && (c.matcher.matches(topic) || (!alt.empty() && c.matcher.matches(alt)));
      check_frame(c, f.text, f.broken && wanted, n);
    }
  }
  CHECK(peeked > 8000);
  CHECK(n.dropped > 4000);
  CHECK(n.delivered > 500);
  CHECK(n.malformed > 2000);
  CHECK(n.wanted_broken > 100);
}

TEST_CASE("fast path: the live peek and the SIMD walk agree with the portable walk", "[fastpath]") {
  rng r(99);
  for (int i = 0; i < 3000; ++i) {
    const live_frame f = make_live_frame(r);
    const vr::live_peek a = vr::detail::peek_live_resource_scalar(f.text.data(), f.text.size());
    INFO("frame: " << f.text);
    using vr::detail::prefilter_walk;
    for (const auto walk : {prefilter_walk::chunked, prefilter_walk::indexed_sse2, prefilter_walk::indexed_avx2}) {
      const vr::live_peek b = vr::detail::peek_live_resource_with(walk, f.text.data(), f.text.size());
      REQUIRE(a.resource == b.resource);
      REQUIRE(a.customer_id.data() == b.customer_id.data());
      REQUIRE(a.id.data() == b.id.data());
      REQUIRE(a.owner_type == b.owner_type);
      REQUIRE(a.owner_id == b.owner_id);
    }
    const vr::live_peek c = vr::peek_live_resource(f.text.data(), f.text.size());
    REQUIRE(c.resource == a.resource);
    REQUIRE(c.id.data() == a.id.data());
  }
}
