// topic_matcher at scale and against a plain model: large sets added, removed and added again,
// every wildcard shape of the grammar, the all-zero UUID, many prefixes coming and going.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/topic.h"

namespace {

const std::string kCustomer = "12345678-1234-1234-1234-123456789012";
const std::string kZero = "00000000-0000-0000-0000-000000000000";

std::string customer(std::string_view resource, std::string_view id) {
  return "customer_id:" + kCustomer + ":" + std::string(resource) + ":" + std::string(id);
}

// The i-th call id: ids that differ only in their last digits, as a server numbers them.
std::string call_id(std::uint64_t i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "0ddba11d-0000-4000-8000-%012llx", static_cast<unsigned long long>(i));
  return buf;
}

std::string upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

// The grammar's matching rule spelled out segment by segment (docs/protocol-voipbin.md): a pattern
// segment is '*' or equal to the topic's, UUIDs compared without regard to case.
bool model_matches(const std::set<std::string>& patterns, const std::string& topic) {
  vr::topic_parts t;
  if (!vr::split_topic(topic, t)) return false;
  auto fold = [](std::string_view s) {
    std::string out(s);
    if (vr::is_uuid(s))
      for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return out;
  };
  for (const std::string& pattern : patterns) {
    vr::topic_parts p;
    REQUIRE(vr::split_topic(pattern, p));
    if (p.scope != t.scope || p.scope_id != fold(t.scope_id)) continue;
    if (p.resource != "*" && p.resource != t.resource) continue;
    if (p.resource_id != "*" && p.resource_id != fold(t.resource_id)) continue;
    return true;
  }
  return false;
}

}  // namespace

TEST_CASE("topic_matcher: 100,000 UUID patterns added, removed and added again", "[topic]") {
  constexpr std::uint64_t kCount = 100000;
  vr::topic_matcher m;
  for (std::uint64_t i = 0; i < kCount; ++i) REQUIRE(m.add(customer("call", call_id(i))));
  CHECK(m.size() == kCount);
  std::uint64_t hits = 0;
  for (std::uint64_t i = 0; i < 2 * kCount; ++i) hits += m.matches(customer("call", call_id(i)));
  CHECK(hits == kCount);
  CHECK(m.matches(customer("call", upper(call_id(77)))));
  CHECK_FALSE(m.matches(customer("queue", call_id(77))));
  CHECK_FALSE(m.matches("agent_id:" + kCustomer + ":call:" + call_id(77)));

  // Every even id goes; the odd ones stay and the set shrinks its table as it empties.
  for (std::uint64_t i = 0; i < kCount; i += 2) REQUIRE(m.remove(customer("call", call_id(i))));
  CHECK_FALSE(m.remove(customer("call", call_id(0))));
  CHECK(m.size() == kCount / 2);
  hits = 0;
  for (std::uint64_t i = 0; i < kCount; ++i) {
    const bool hit = m.matches(customer("call", call_id(i)));
    CHECK(hit == (i % 2 == 1));
    hits += hit;
  }
  CHECK(hits == kCount / 2);
  const auto sorted = m.patterns();
  REQUIRE(sorted.size() == kCount / 2);
  CHECK(sorted.front() == customer("call", call_id(1)));
  CHECK(sorted[1] == customer("call", call_id(3)));
  CHECK(sorted.back() == customer("call", call_id(kCount - 1)));

  for (std::uint64_t i = 1; i < kCount; i += 2) REQUIRE(m.remove(customer("call", call_id(i))));
  CHECK(m.size() == 0);
  CHECK(m.patterns().empty());
  CHECK_FALSE(m.matches(customer("call", call_id(1))));

  for (std::uint64_t i = 0; i < kCount; ++i) REQUIRE(m.add(customer("call", call_id(i))));
  CHECK_FALSE(m.add(customer("call", call_id(kCount - 1))));
  CHECK(m.size() == kCount);
  hits = 0;
  for (std::uint64_t i = 0; i < 2 * kCount; ++i) hits += m.matches(customer("call", call_id(i)));
  CHECK(hits == kCount);
}

TEST_CASE("topic_matcher: every pattern shape, alone and together", "[topic]") {
  const std::string id = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";
  const std::string other = "a1b2c3d4-e5f6-7890-abcd-ef1234567891";
  const std::vector<std::string> topics = {
      customer("call", id),         customer("call", upper(id)), customer("call", other),
      customer("call", "abc"),      customer("call", "ABC"),     customer("queue", id),
      customer("queue", "abc"),     customer("call", kZero),     "agent_id:" + kCustomer + ":call:" + id,
      "customer_id:" + upper(kCustomer) + ":call:" + id,
  };
  struct shape {
    std::string pattern;
    std::vector<bool> hits;  // per topic above
  };
  const std::vector<shape> shapes = {
      {customer("call", id), {true, true, false, false, false, false, false, false, false, true}},
      {customer("call", "abc"), {false, false, false, true, false, false, false, false, false, false}},
      {customer("call", kZero), {false, false, false, false, false, false, false, true, false, false}},
      {customer("call", "*"), {true, true, true, true, true, false, false, true, false, true}},
      {customer("*", id), {true, true, false, false, false, true, false, false, false, true}},
      {customer("*", "abc"), {false, false, false, true, false, false, true, false, false, false}},
      {customer("*", "*"), {true, true, true, true, true, true, true, true, false, true}},
  };
  for (const shape& s : shapes) {
    INFO(s.pattern);
    vr::topic_matcher m;
    REQUIRE(m.add(s.pattern));
    CHECK(m.contains(s.pattern));
    CHECK(m.patterns() == std::vector<std::string>{s.pattern});
    for (std::size_t i = 0; i < topics.size(); ++i) {
      INFO(topics[i]);
      CHECK(m.matches(topics[i]) == s.hits[i]);
    }
    REQUIRE(m.remove(s.pattern));
    for (const std::string& t : topics) CHECK_FALSE(m.matches(t));
  }
  // All of them at once: each topic matches when any shape does; removing them one by one
  // leaves exactly the union of the rest.
  vr::topic_matcher m;
  for (const shape& s : shapes) REQUIRE(m.add(s.pattern));
  CHECK(m.size() == shapes.size());
  for (std::size_t k = 0; k < shapes.size(); ++k) {
    for (std::size_t i = 0; i < topics.size(); ++i) {
      bool want = false;
      for (std::size_t j = k; j < shapes.size(); ++j) want = want || shapes[j].hits[i];
      INFO(topics[i] << " with shapes from " << k);
      CHECK(m.matches(topics[i]) == want);
    }
    REQUIRE(m.remove(shapes[k].pattern));
  }
  CHECK(m.size() == 0);
}

TEST_CASE("topic_matcher: random adds and removes agree with the plain rule", "[topic]") {
  std::mt19937_64 rng(20261207);
  std::vector<std::string> scope_ids;
  for (int i = 0; i < 8; ++i) scope_ids.push_back(call_id(1000 + i));
  const std::vector<std::string> scopes = {"customer_id", "agent_id"};
  const std::vector<std::string> resources = {"call", "queue", "transcribe", "*"};
  std::vector<std::string> ids = {"*", kZero, "abc", "ABC", "x_1"};
  for (int i = 0; i < 30; ++i) ids.push_back(call_id(i));
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  auto pattern = [&] {
    return pick(scopes) + ":" + pick(scope_ids) + ":" + pick(resources) + ":" + pick(ids);
  };
  auto topic = [&] {
    std::string resource = pick(resources);
    std::string id = pick(ids);
    if (resource == "*") resource = "call";
    if (id == "*") id = call_id(rng() % 40);
    std::string scope_id = pick(scope_ids);
    if (rng() % 4 == 0) scope_id = upper(scope_id);
    if (rng() % 4 == 0 && vr::is_uuid(id)) id = upper(id);
    return pick(scopes) + ":" + scope_id + ":" + resource + ":" + id;
  };
  vr::topic_matcher m;
  std::set<std::string> model;
  for (int round = 0; round < 6000; ++round) {
    const std::string p = pattern();
    if (rng() % 3 == 0) {
      CHECK(m.remove(p) == (model.erase(p) == 1));
    } else {
      CHECK(m.add(p) == model.insert(p).second);
    }
    REQUIRE(m.size() == model.size());
    CHECK(m.contains(p) == (model.count(p) == 1));
    const std::string t = topic();
    INFO(t);
    CHECK(m.matches(t) == model_matches(model, t));
  }
  CHECK(m.patterns() == std::vector<std::string>(model.begin(), model.end()));
  for (const std::string& p : std::vector<std::string>(model.begin(), model.end())) REQUIRE(m.remove(p));
  CHECK(m.size() == 0);
  CHECK_FALSE(m.matches(customer("call", call_id(1))));
}

TEST_CASE("topic_matcher: many prefixes come and go", "[topic]") {
  vr::topic_matcher m;
  std::vector<std::string> patterns;
  for (int c = 0; c < 3000; ++c) {
    const std::string head = "customer_id:" + call_id(50000 + c);
    patterns.push_back(head + ":call:" + call_id(c));
    patterns.push_back(head + ":*:*");
  }
  for (const auto& p : patterns) REQUIRE(m.add(p));
  // Drop every other customer entirely, in an order that moves prefixes around.
  for (int c = 2998; c >= 0; c -= 2) {
    const std::string head = "customer_id:" + call_id(50000 + c);
    REQUIRE(m.remove(head + ":*:*"));
    REQUIRE(m.remove(head + ":call:" + call_id(c)));
  }
  CHECK(m.size() == 3000);
  for (int c = 0; c < 3000; ++c) {
    const std::string head = "customer_id:" + call_id(50000 + c);
    INFO(c);
    CHECK(m.matches(head + ":recording:" + call_id(c)) == (c % 2 == 1));
    CHECK(m.contains(head + ":call:" + call_id(c)) == (c % 2 == 1));
  }
}

TEST_CASE("topic_matcher: a colon or a capital at any place of any length agrees with the plain rule",
          "[topic]") {
  // matches() finds the colons and capitals 16 bytes at a time, the last block overlapping the one
  // before it: a colon or a capital letter is moved through every place of topics of every length,
  // short ones included, and the lengths around each multiple of 16.
  vr::topic_matcher m;
  std::set<std::string> model;
  const std::vector<std::string> patterns = {
      "customer_id:" + kCustomer + ":call:" + call_id(7), "customer_id:" + kCustomer + ":c:x",
      "customer_id:" + kCustomer + ":q:*", "agent_id:" + kCustomer + ":*:ab", "customer_id:" + kZero + ":r:" + kZero};
  for (const std::string& p : patterns) {
    REQUIRE(m.add(p));
    model.insert(p);
  }
  std::vector<std::string> bases;
  for (const std::string& p : patterns) bases.push_back(p);
  bases.push_back("customer_id:" + upper(kCustomer) + ":call:" + upper(call_id(7)));
  bases.push_back("a:b:c:d");
  bases.push_back("customer_id:" + kCustomer + ":q:" + std::string(40, 'z'));
  std::size_t checked = 0, matched = 0;
  for (const std::string& base : bases) {
    for (std::size_t cut = 0; cut <= base.size(); ++cut) {
      const std::string shorter = base.substr(0, cut);
      for (std::size_t at = 0; at <= shorter.size(); ++at) {
        for (const char c : {':', 'C', 'x'}) {
          std::string t = shorter;
          t.insert(at, 1, c);
          INFO(t);
          const bool expected = model_matches(model, t);
          CHECK(m.matches(t) == expected);
          ++checked;
          matched += expected ? 1 : 0;
        }
      }
      INFO(shorter);
      CHECK(m.matches(shorter) == model_matches(model, shorter));
    }
  }
  // The generated topics are not all misses: the unchanged and the appended-to ones match.
  CHECK(checked > 30000);
  CHECK(matched > 100);
}
