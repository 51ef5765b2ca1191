// Topic grammar and the subscription matcher shared by the client and the emulator.
//
// Grammar: <scope>:<scope_id>:<resource>:<resource_id>
//   scope        customer_id | agent_id
//   scope_id     a UUID (any case on input, lower case once normalised)
//   resource     a lower-case identifier [a-z][a-z0-9_]*, or * in a pattern
//   resource_id  a UUID (lower-cased), another opaque id without ':' (kept as is), or * in a pattern
// '*' stands for a whole segment only ("ca*" is invalid). A concrete topic has no '*'.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vr {

struct topic_parts {
  std::string_view scope;
  std::string_view scope_id;
  std::string_view resource;
  std::string_view resource_id;
};

bool is_uuid(std::string_view s) noexcept;

// Validates a subscription pattern and returns it normalised (UUIDs lower-cased). On failure
// returns false and sets `error` to a message naming the segment and its value, for example
// `scope_id "abc" is not a UUID`. The same messages are produced by lib/topic.js.
bool normalize_pattern(std::string_view in, std::string& out, std::string& error);

// Splits a (normalised) topic into its four parts; false when it does not have four segments.
bool split_topic(std::string_view topic, topic_parts& out) noexcept;

// Set of normalised patterns answering "does any pattern match this concrete topic?" in
// constant time: at most four hash probes (exact, resource_id wildcard, resource wildcard, both),
// and only for the wildcard shapes that are present.
class topic_matcher {
 public:
  // Both take a normalised pattern. Return true when the set changed.
  bool add(std::string_view pattern);
  bool remove(std::string_view pattern);
  bool contains(std::string_view pattern) const;
  void clear();

  // `topic` is concrete. UUID segments are compared case-insensitively.
  bool matches(std::string_view topic) const;

  std::size_t size() const noexcept { return patterns_.size(); }
  std::vector<std::string> patterns() const;  // sorted

 private:
  struct hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  };
  std::unordered_map<std::string, std::uint32_t, hash, eq> patterns_;
  // count of patterns per wildcard shape: bit 0 = resource_id is '*', bit 1 = resource is '*'
  std::uint32_t shape_count_[4] = {0, 0, 0, 0};
  mutable std::string probe_;
};

}  // namespace vr
