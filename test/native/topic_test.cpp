#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/topic.h"

namespace {

const std::string kCustomer = "12345678-1234-1234-1234-123456789012";
const std::string kUpper = "A1B2C3D4-E5F6-7890-ABCD-EF1234567890";
const std::string kLower = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";
const std::string kSegments =
    " must have 4 segments <scope>:<scope_id>:<resource>:<resource_id>, found ";
const std::string kIdRule = " must be a UUID, another id without ':' or *";

std::string error_of(std::string_view in) {
  std::string out = "untouched", error;
  if (vr::normalize_pattern(in, out, error)) return "accepted as " + out;
  CHECK(out == "untouched");
  return error;
}

std::string normalized(std::string_view in) {
  std::string out, error;
  REQUIRE(vr::normalize_pattern(in, out, error));
  CHECK(error.empty());
  return out;
}

std::string customer(std::string_view resource, std::string_view id) {
  return "customer_id:" + kCustomer + ":" + std::string(resource) + ":" + std::string(id);
}

}  // namespace

TEST_CASE("is_uuid accepts 8-4-4-4-12 hex digits in any case", "[topic]") {
  CHECK(vr::is_uuid(kCustomer));
  CHECK(vr::is_uuid(kUpper));
  CHECK(vr::is_uuid(kLower));
  CHECK(vr::is_uuid("00000000-0000-0000-0000-000000000000"));
  CHECK_FALSE(vr::is_uuid(""));
  CHECK_FALSE(vr::is_uuid("12345678-1234-1234-1234-12345678901"));    // 35 chars
  CHECK_FALSE(vr::is_uuid("12345678-1234-1234-1234-1234567890123"));  // 37 chars
  CHECK_FALSE(vr::is_uuid("12345678-1234-1234-1234-12345678901g"));
  CHECK_FALSE(vr::is_uuid("12345678_1234-1234-1234-123456789012"));
  CHECK_FALSE(vr::is_uuid("123456781-234-1234-1234-123456789012"));
  CHECK_FALSE(vr::is_uuid("{2345678-1234-1234-1234-12345678901}"));
}

TEST_CASE("is_uuid agrees with the grammar for every byte at every position", "[topic]") {
  // The reference: hex digits everywhere but at 8, 13, 18 and 23, which hold '-'.
  const auto reference = [](const std::string& s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
      const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (dash ? c != '-' : !hex) return false;
    }
    return true;
  };
  std::size_t accepted = 0;
  for (std::size_t at = 0; at < 36; ++at) {
    for (int b = 0; b < 256; ++b) {
      std::string s = kUpper;
      s[at] = static_cast<char>(b);
      INFO("byte " << b << " at " << at);
      CHECK(vr::is_uuid(s) == reference(s));
      accepted += reference(s) ? 1 : 0;
    }
  }
  CHECK(accepted == 32 * 22 + 4);  // 22 hex digits (either case) at 32 places, '-' at 4
  // Extra dashes anywhere, or fewer, are not a UUID.
  CHECK_FALSE(vr::is_uuid("--------------------------------A1B2"));
  CHECK_FALSE(vr::is_uuid("12345678-1234-1234-1234-12345678901-"));
  CHECK_FALSE(vr::is_uuid("12345678-1234-1234-1234-1234567890-2"));
}

TEST_CASE("split_topic needs exactly four segments", "[topic]") {
  vr::topic_parts p;
  REQUIRE(vr::split_topic("customer_id:abc:call:xyz", p));
  CHECK(p.scope == "customer_id");
  CHECK(p.scope_id == "abc");
  CHECK(p.resource == "call");
  CHECK(p.resource_id == "xyz");
  REQUIRE(vr::split_topic(":::", p));
  CHECK(p.scope.empty());
  CHECK(p.resource_id.empty());
  CHECK_FALSE(vr::split_topic("customer_id:abc:call", p));
  CHECK_FALSE(vr::split_topic("customer_id:abc:call:xyz:more", p));
  CHECK_FALSE(vr::split_topic("", p));
}

TEST_CASE("normalize_pattern: length limit", "[topic]") {
  const std::string head = customer("call", "");
  const std::string at_limit = head + std::string(512 - head.size(), 'x');
  REQUIRE(at_limit.size() == 512);
  CHECK(normalized(at_limit) == at_limit);
  CHECK(error_of(at_limit + "x") == "topic is longer than 512 characters");
  // The length check comes before the segment count.
  CHECK(error_of(std::string(600, ':')) == "topic is longer than 512 characters");
}

TEST_CASE("normalize_pattern: segment count", "[topic]") {
  CHECK(error_of("") == "topic \"\"" + kSegments + "1");
  CHECK(error_of("customer_id") == "topic \"customer_id\"" + kSegments + "1");
  CHECK(error_of("customer_id:" + kCustomer + ":call") ==
        "topic \"customer_id:" + kCustomer + ":call\"" + kSegments + "3");
  CHECK(error_of(customer("call", "*") + ":x") ==
        "topic \"" + customer("call", "*") + ":x\"" + kSegments + "5");
  CHECK(error_of("a\"b\\c\n") == "topic \"a\\\"b\\\\c\\n\"" + kSegments + "1");
}

TEST_CASE("normalize_pattern: scope", "[topic]") {
  CHECK(error_of("user_id:" + kCustomer + ":call:*") ==
        "scope \"user_id\" must be customer_id or agent_id");
  CHECK(error_of("Customer_id:" + kCustomer + ":call:*") ==
        "scope \"Customer_id\" must be customer_id or agent_id");
  CHECK(error_of(":" + kCustomer + ":call:*") == "scope \"\" must be customer_id or agent_id");
  // First failure wins: everything else is wrong too.
  CHECK(error_of("*:abc:CALL:") == "scope \"*\" must be customer_id or agent_id");
  CHECK(normalized("agent_id:" + kCustomer + ":queue:*") == "agent_id:" + kCustomer + ":queue:*");
}

TEST_CASE("normalize_pattern: scope_id", "[topic]") {
  CHECK(error_of("customer_id:abc:call:*") == "scope_id \"abc\" is not a UUID");
  CHECK(error_of("customer_id:*:call:*") == "scope_id \"*\" is not a UUID");
  CHECK(error_of("customer_id::call:*") == "scope_id \"\" is not a UUID");
  CHECK(error_of("customer_id:12345678-1234-1234-1234-12345678901g:CALL:") ==
        "scope_id \"12345678-1234-1234-1234-12345678901g\" is not a UUID");
  CHECK(error_of("agent_id:abc\t:call:*") == "scope_id \"abc\\t\" is not a UUID");
}

TEST_CASE("normalize_pattern: resource", "[topic]") {
  const std::string rule = " must be a lower-case identifier or *";
  const auto with = [](std::string_view r) { return customer(r, "*"); };
  CHECK(error_of(with("Call")) == "resource \"Call\"" + rule);
  CHECK(error_of(with("ca*")) == "resource \"ca*\"" + rule);
  CHECK(error_of(with("**")) == "resource \"**\"" + rule);
  CHECK(error_of(with("")) == "resource \"\"" + rule);
  CHECK(error_of(with("1call")) == "resource \"1call\"" + rule);
  CHECK(error_of(with("_call")) == "resource \"_call\"" + rule);
  CHECK(error_of(with("call-x")) == "resource \"call-x\"" + rule);
  CHECK(error_of(with("call x")) == "resource \"call x\"" + rule);
  const std::string longest = "a" + std::string(63, 'b');
  CHECK(normalized(with(longest)) == with(longest));
  CHECK(error_of(with(longest + "b")) == "resource \"" + longest + "b\"" + rule);
  CHECK(normalized(with("queue_call2")) == with("queue_call2"));
  CHECK(normalized(with("*")) == with("*"));
  // Checked before resource_id.
  CHECK(error_of(customer("X", "")) == "resource \"X\"" + rule);
}

TEST_CASE("normalize_pattern: resource_id", "[topic]") {
  const auto with = [](std::string_view id) { return customer("call", id); };
  CHECK(error_of(with("")) == "resource_id \"\"" + kIdRule);
  CHECK(error_of(with("ab*")) == "resource_id \"ab*\"" + kIdRule);
  CHECK(error_of(with("**")) == "resource_id \"**\"" + kIdRule);
  CHECK(error_of(with("a b")) == "resource_id \"a b\"" + kIdRule);
  CHECK(error_of(with("a\tb")) == "resource_id \"a\\tb\"" + kIdRule);
  CHECK(error_of(with("a\"b")) == "resource_id \"a\\\"b\"" + kIdRule);
  CHECK(error_of(with("a\\b")) == "resource_id \"a\\\\b\"" + kIdRule);
  CHECK(error_of(with(std::string("a\0b", 3))) == "resource_id \"a\\u0000b\"" + kIdRule);
  CHECK(error_of(with("a\x1f")) == "resource_id \"a\\u001f\"" + kIdRule);
  CHECK(error_of(with("a\x7f")) == "resource_id \"a\x7f\"" + kIdRule);
  // Unicode white space as JavaScript's \s knows it.
  for (const char* space : {"\u00a0", "\u1680", "\u2000", "\u200a", "\u2028", "\u2029",
                            "\u202f", "\u205f", "\u3000", "\ufeff"}) {
    const std::string id = std::string("x") + space + "y";
    CHECK(error_of(with(id)) == "resource_id \"" + id + "\"" + kIdRule);
  }
  // Other non-ASCII text is an opaque id.
  CHECK(normalized(with("caf\u00e9\u200b\U0001F600")) == with("caf\u00e9\u200b\U0001F600"));
  CHECK(normalized(with("xyz789")) == with("xyz789"));
  CHECK(normalized(with("ABC-def.1_2")) == with("ABC-def.1_2"));
}

TEST_CASE("normalize_pattern lower-cases UUIDs only", "[topic]") {
  const std::string upper_scope = "12345678-ABCD-1234-ABCD-123456789012";
  CHECK(normalized("customer_id:" + upper_scope + ":call:" + kUpper) ==
        "customer_id:12345678-abcd-1234-abcd-123456789012:call:" + kLower);
  CHECK(normalized(customer("call", "ABC")) == customer("call", "ABC"));
  CHECK(normalized(customer("call", "*")) == customer("call", "*"));
  CHECK(normalized(customer("*", "*")) == customer("*", "*"));
  CHECK(normalized(customer("*", kUpper)) == customer("*", kLower));
  // Output is replaced, not appended to.
  std::string out = "previous", error;
  REQUIRE(vr::normalize_pattern(customer("call", "*"), out, error));
  CHECK(out == customer("call", "*"));
}

TEST_CASE("topic_matcher: add, remove, contains, sizes", "[topic]") {
  vr::topic_matcher m;
  CHECK(m.size() == 0);
  CHECK(m.patterns().empty());
  CHECK(m.add(customer("call", "*")));
  CHECK_FALSE(m.add(customer("call", "*")));
  CHECK(m.add(customer("queue", kLower)));
  CHECK(m.add(customer("*", "*")));
  CHECK(m.add("agent_id:" + kCustomer + ":call:*"));
  CHECK_FALSE(m.add("not:four:segments"));
  CHECK(m.size() == 4);
  CHECK(m.contains(customer("call", "*")));
  CHECK_FALSE(m.contains(customer("call", kLower)));
  CHECK(m.patterns() == std::vector<std::string>{
                           "agent_id:" + kCustomer + ":call:*",
                           customer("*", "*"),
                           customer("call", "*"),
                           customer("queue", kLower),
                       });
  CHECK(m.remove(customer("*", "*")));
  CHECK_FALSE(m.remove(customer("*", "*")));
  CHECK_FALSE(m.remove(customer("message", "*")));
  CHECK(m.size() == 3);
  CHECK_FALSE(m.contains(customer("*", "*")));
  m.clear();
  CHECK(m.size() == 0);
  CHECK_FALSE(m.matches(customer("call", kLower)));
  CHECK(m.add(customer("call", "*")));
}

TEST_CASE("topic_matcher: exact pattern", "[topic]") {
  vr::topic_matcher m;
  REQUIRE(m.add(normalized(customer("call", kUpper))));
  CHECK(m.matches(customer("call", kLower)));
  CHECK(m.matches(customer("call", kUpper)));
  CHECK(m.matches("customer_id:12345678-1234-1234-1234-123456789012:call:A1b2C3d4-e5F6-7890-AbCd-"
                  "eF1234567890"));
  CHECK_FALSE(m.matches(customer("call", "a1b2c3d4-e5f6-7890-abcd-ef1234567891")));
  CHECK_FALSE(m.matches(customer("calls", kLower)));
  CHECK_FALSE(m.matches("agent_id:" + kCustomer + ":call:" + kLower));
  CHECK_FALSE(m.matches("customer_id:" + kLower + ":call:" + kLower));
  CHECK_FALSE(m.matches(customer("call", kLower) + ":extra"));
}

TEST_CASE("topic_matcher: non-UUID ids are compared exactly", "[topic]") {
  vr::topic_matcher m;
  REQUIRE(m.add(customer("call", "ABC")));
  CHECK(m.matches(customer("call", "ABC")));
  CHECK_FALSE(m.matches(customer("call", "abc")));
  CHECK_FALSE(m.matches(customer("call", "ABCD")));
}

TEST_CASE("topic_matcher: resource_id wildcard", "[topic]") {
  vr::topic_matcher m;
  REQUIRE(m.add(customer("queue", "*")));
  CHECK(m.matches(customer("queue", kUpper)));
  CHECK(m.matches(customer("queue", "queue789")));
  CHECK_FALSE(m.matches(customer("queuecall", kLower)));
  CHECK_FALSE(m.matches(customer("queu", kLower)));
  CHECK_FALSE(m.matches(customer("call", kLower)));
  CHECK_FALSE(m.matches("customer_id:" + kCustomer + ":queue"));
  CHECK_FALSE(m.matches(customer("queue", kLower) + ":" + kLower));
  // An upper-case scope_id in the concrete topic still matches.
  CHECK(m.matches("customer_id:12345678-1234-1234-1234-123456789012:queue:x"));
  REQUIRE(m.add("agent_id:" + kLower + ":call:*"));
  CHECK(m.matches("agent_id:" + kUpper + ":call:x"));
}

TEST_CASE("topic_matcher: resource wildcard", "[topic]") {
  vr::topic_matcher m;
  REQUIRE(m.add(customer("*", kLower)));
  CHECK(m.matches(customer("call", kLower)));
  CHECK(m.matches(customer("recording", kUpper)));
  CHECK_FALSE(m.matches(customer("call", "a1b2c3d4-e5f6-7890-abcd-ef1234567899")));
  CHECK_FALSE(m.matches(customer("call", kLower + "0")));
  CHECK_FALSE(m.matches("agent_id:" + kCustomer + ":call:" + kLower));
}

TEST_CASE("topic_matcher: both wildcards", "[topic]") {
  vr::topic_matcher m;
  REQUIRE(m.add(customer("*", "*")));
  CHECK(m.matches(customer("call", kLower)));
  CHECK(m.matches(customer("transcribe", "anything")));
  CHECK_FALSE(m.matches("agent_id:" + kCustomer + ":call:x"));
  CHECK_FALSE(m.matches("customer_id:" + kLower + ":call:x"));
  CHECK_FALSE(m.matches("customer_id:abc123:call:xyz789"));  // the docs' example ids
  CHECK_FALSE(m.matches("customer_id:" + kCustomer + ":call"));
  CHECK_FALSE(m.matches(customer("call", "x") + ":y"));
  CHECK_FALSE(m.matches(""));
  CHECK(m.remove(customer("*", "*")));
  CHECK_FALSE(m.matches(customer("call", kLower)));
}

TEST_CASE("topic_matcher: shapes are tracked across removal", "[topic]") {
  vr::topic_matcher m;
  REQUIRE(m.add(customer("call", "*")));
  REQUIRE(m.add(customer("call", "x")));
  CHECK(m.matches(customer("call", "y")));
  REQUIRE(m.remove(customer("call", "*")));
  CHECK_FALSE(m.matches(customer("call", "y")));
  CHECK(m.matches(customer("call", "x")));
  // A topic longer than any earlier probe needs a larger buffer; results stay right.
  const std::string long_id(400, 'z');
  REQUIRE(m.add(customer("call", long_id)));
  CHECK(m.matches(customer("call", long_id)));
  CHECK_FALSE(m.matches(customer("call", long_id + "z")));
}

TEST_CASE("topic_matcher: many patterns", "[topic]") {
  vr::topic_matcher m;
  for (int i = 0; i < 2000; ++i) REQUIRE(m.add(customer("call", "id" + std::to_string(i))));
  CHECK(m.size() == 2000);
  int hits = 0;
  for (int i = 0; i < 4000; ++i) hits += m.matches(customer("call", "id" + std::to_string(i)));
  CHECK(hits == 2000);
  const auto sorted = m.patterns();
  REQUIRE(sorted.size() == 2000);
  CHECK(sorted.front() == customer("call", "id0"));
  CHECK(sorted[1] == customer("call", "id1"));
  CHECK(sorted[2] == customer("call", "id10"));
  CHECK(sorted.back() == customer("call", "id999"));
}
