// Topic grammar (topic.h); the matcher is in topic_matcher.cpp.
#include "core/topic.h"

#include <algorithm>
#include <string>

#include "core/codec.h"
#include "core/uuid_text.h"

namespace vr {

namespace {

constexpr std::size_t kMaxTopicLength = 512;
constexpr std::size_t kMaxResourceLength = 64;

#if !VR_UUID_SSSE3
// What each byte weighs in a UUID check: hex digits 0, '-' 1, anything else more than 36 dashes.
struct uuid_weights {
  std::uint8_t w[256];
  constexpr uuid_weights() : w() {
    for (int c = 0; c < 256; ++c) {
      const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      w[c] = hex ? 0 : c == '-' ? 1 : 64;
    }
  }
};
constexpr uuid_weights kUuidWeights;
#endif

constexpr char to_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? char(c + ('a' - 'A')) : c; }

void append_lower(std::string& out, std::string_view s) {
  for (char c : s) out.push_back(to_lower(c));
}

bool is_resource(std::string_view s) noexcept {
  if (s.empty() || s.size() > kMaxResourceLength) return false;
  if (s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin() + 1, s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Length of a character JS's \s class matches at the start of `s` (0 when there is none), so
// that lib/topic.js can use /[\s\x00-\x1f\x7f"\\]/ and refuse exactly the same ids.
std::size_t unicode_space_at(std::string_view s) noexcept {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  if (s.size() >= 2 && b(0) == 0xC2 && b(1) == 0xA0) return 2;  // U+00A0
  if (s.size() < 3) return 0;
  const unsigned cp = ((b(0) & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
  if ((b(0) & 0xF0) != 0xE0 || (b(1) & 0xC0) != 0x80 || (b(2) & 0xC0) != 0x80) return 0;
  const bool space = cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
                     cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000 ||
                     cp == 0xFEFF;
  return space ? 3 : 0;
}

bool is_resource_id(std::string_view s) noexcept {
  if (s.empty()) return false;
  if (s == "*") return true;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c <= 0x20 || c == 0x7F || c == '*' || c == '"' || c == '\\') return false;
    if (c >= 0x80 && unicode_space_at(s.substr(i)) != 0) return false;
  }
  return true;
}

bool fail(std::string& error, std::string_view prefix, std::string_view value,
          std::string_view suffix) {
  error.assign(prefix);
  append_json_string(error, value);
  error.append(suffix);
  return false;
}

}  // namespace

// Runs for every topic and, several times, for every live event: three 16-byte compares where
// SSE2 is there; elsewhere one branch-free pass instead of a test per byte (with the four dashes
// in place, the weights add up to exactly 4 only when every other byte is hex).
bool is_uuid(std::string_view s) noexcept {
  if (!uuid_text::uuid_shape(s)) return false;
#if VR_UUID_SSSE3
  return uuid_text::hex_digits_sse2(s.data());
#else
  unsigned sum = 0;
  for (std::size_t i = 0; i < 36; ++i) sum += kUuidWeights.w[static_cast<unsigned char>(s[i])];
  return sum == 4;
#endif
}

bool split_topic(std::string_view topic, topic_parts& out) noexcept {
  std::string_view* parts[4] = {&out.scope, &out.scope_id, &out.resource, &out.resource_id};
  std::size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    const auto colon = topic.find(':', start);
    if (colon == std::string_view::npos) return false;
    *parts[i] = topic.substr(start, colon - start);
    start = colon + 1;
  }
  const auto rest = topic.substr(start);
  if (rest.find(':') != std::string_view::npos) return false;
  out.resource_id = rest;
  return true;
}

bool normalize_pattern(std::string_view in, std::string& out, std::string& error) {
  if (in.size() > kMaxTopicLength) {
    error = "topic is longer than 512 characters";
    return false;
  }
  topic_parts p;
  if (!split_topic(in, p)) {
    const auto segments = std::count(in.begin(), in.end(), ':') + 1;
    return fail(error, "topic ", in,
                " must have 4 segments <scope>:<scope_id>:<resource>:<resource_id>, found " +
                    std::to_string(segments));
  }
  if (p.scope != "customer_id" && p.scope != "agent_id")
    return fail(error, "scope ", p.scope, " must be customer_id or agent_id");
  if (!is_uuid(p.scope_id)) return fail(error, "scope_id ", p.scope_id, " is not a UUID");
  if (p.resource != "*" && !is_resource(p.resource))
    return fail(error, "resource ", p.resource, " must be a lower-case identifier or *");
  if (!is_resource_id(p.resource_id))
    return fail(error, "resource_id ", p.resource_id,
                " must be a UUID, another id without ':' or *");

  out.clear();
  out.reserve(in.size());
  out.append(p.scope).push_back(':');
  append_lower(out, p.scope_id);
  out.push_back(':');
  out.append(p.resource).push_back(':');
  if (is_uuid(p.resource_id))
    append_lower(out, p.resource_id);
  else
    out.append(p.resource_id);
  return true;
}

}  // namespace vr
